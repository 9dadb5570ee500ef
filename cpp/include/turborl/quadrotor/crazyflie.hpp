#pragma once
// Crazyflie 2.1 airframe data, as "Learning to Fly in Seconds" (Eschmann, Albani & Loianno, RA-L
// 2024) identifies it (learning-to-fly: parameters/dynamics/crazy_flie.h). One header per airframe:
// the values are the defaults of the Quadrotor-L2F-v0 parameters, and every one of them can be
// overridden per env (set_params) for domain randomisation.

namespace turborl::quadrotor::crazyflie {

inline constexpr double kMass = 0.027;              // kg
inline constexpr double kGravity = 9.81;            // m/s^2, along -z (world)
inline constexpr double kInertiaXX = 3.85e-6;       // kg m^2 (J is diagonal)
inline constexpr double kInertiaYY = 3.85e-6;
inline constexpr double kInertiaZZ = 5.9675e-6;
inline constexpr double kThrustC0 = 0.0;            // thrust = c0 + c1 rpm + c2 rpm^2 [N]
inline constexpr double kThrustC1 = 0.0;
inline constexpr double kThrustC2 = 3.16e-10;
inline constexpr double kTorqueConstant = 0.005964552;  // yaw torque = thrust * constant [m]
inline constexpr double kMotorTimeConstant = 0.15;  // s, first-order lag of rpm behind its set-point
inline constexpr double kRpmMin = 0.0;
inline constexpr double kRpmMax = 21702.0;
inline constexpr double kArmX = 0.028;              // m, rotors at (+-arm_x, +-arm_y, 0)
inline constexpr double kArmY = 0.028;

}  // namespace turborl::quadrotor::crazyflie
