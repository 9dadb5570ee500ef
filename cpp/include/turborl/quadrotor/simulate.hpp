#pragma once
// Raw quadrotor throughput: many airframes, many steps, no observations, rewards or resets
// (the measurement "Learning to Fly in Seconds" reports as simulated time per second). The
// set-points are held for all steps (zero-order hold), as in the paper's benchmark.
//
// Layout: state columns [kSimulateStateDim][n] (struct of arrays: the rigid body's 17 fields,
// then the disturbance's 6, the first 23 columns of Quadrotor-L2F-v0's state) and set-points
// as normalised actions [n][4]. Envs are processed in blocks of kLanes: a block's state is
// copied to a small local array (L1-resident), stepped `steps` times with the loop over lanes
// innermost so that the compiler vectorises it (16 float32 lanes with AVX-512), then written
// back. Every env's arithmetic is that of quadrotor::rk4_step, so a step here equals a step of
// the vector env bit for bit (both are compiled without FMA contraction).
#include <algorithm>
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/quadrotor/dynamics.hpp"

namespace turborl::quadrotor {

inline constexpr int kSimulateStateDim = kRigidBodyDim + 6;

template <class Real>
class BlockSimulator {
 public:
  static constexpr int kLanes = 64;

  // Steps envs [begin, end) of `columns` (n envs) `steps` times.
  [[gnu::noinline]] static void run(Real* __restrict columns, const float* __restrict actions, int64_t n,
                                    int64_t begin, int64_t end, int64_t steps, const Airframe<Real>& airframe,
                                    Real dt) {
    const Airframe<Real> a = airframe;  // a local copy: loads the compiler can hoist
    const Reciprocals<Real> inv = reciprocals(a);
    for (int64_t block = begin; block < end; block += kLanes) {
      const int lanes = int(std::min<int64_t>(kLanes, end - block));
      Block local;
      for (int k = 0; k < kSimulateStateDim; ++k) {
        for (int lane = 0; lane < kLanes; ++lane) {
          // Idle lanes of a partial block repeat the block's first env, so they stay finite.
          const int64_t env = block + (lane < lanes ? lane : 0);
          local.state[k][lane] = columns[k * n + env];
        }
      }
      for (int r = 0; r < kNumRotors; ++r) {
        for (int lane = 0; lane < kLanes; ++lane) {
          const int64_t env = block + (lane < lanes ? lane : 0);
          const Real action = Real(actions[env * kNumRotors + r]);
          const Real clamped = action < Real(-1) ? Real(-1) : (action > Real(1) ? Real(1) : action);
          local.setpoint[r][lane] = action_to_rpm(clamped, a);
        }
      }
      for (int64_t t = 0; t < steps; ++t) step_block(local, a, inv, dt);
      for (int k = 0; k < kSimulateStateDim; ++k) {
        for (int lane = 0; lane < lanes; ++lane) columns[k * n + block + lane] = local.state[k][lane];
      }
    }
  }

 private:
  struct Block {
    alignas(64) Real state[kSimulateStateDim][kLanes];
    alignas(64) Real setpoint[kNumRotors][kLanes];
  };

  TURBORL_INLINE static void step_block(Block& b, const Airframe<Real>& a, const Reciprocals<Real>& inv, Real dt) {
#pragma GCC ivdep
    for (int lane = 0; lane < kLanes; ++lane) {
      RigidBody<Real> s{b.state[0][lane],  b.state[1][lane],  b.state[2][lane],  b.state[3][lane],
                        b.state[4][lane],  b.state[5][lane],  b.state[6][lane],  b.state[7][lane],
                        b.state[8][lane],  b.state[9][lane],  b.state[10][lane], b.state[11][lane],
                        b.state[12][lane], {b.state[13][lane], b.state[14][lane], b.state[15][lane],
                                            b.state[16][lane]}};
      const Disturbance<Real> d{b.state[17][lane], b.state[18][lane], b.state[19][lane],
                                b.state[20][lane], b.state[21][lane], b.state[22][lane]};
      const Real setpoint[kNumRotors] = {b.setpoint[0][lane], b.setpoint[1][lane], b.setpoint[2][lane],
                                         b.setpoint[3][lane]};
      rk4_step(s, a, inv, d, setpoint, dt);
      b.state[0][lane] = s.px;
      b.state[1][lane] = s.py;
      b.state[2][lane] = s.pz;
      b.state[3][lane] = s.qw;
      b.state[4][lane] = s.qx;
      b.state[5][lane] = s.qy;
      b.state[6][lane] = s.qz;
      b.state[7][lane] = s.vx;
      b.state[8][lane] = s.vy;
      b.state[9][lane] = s.vz;
      b.state[10][lane] = s.wx;
      b.state[11][lane] = s.wy;
      b.state[12][lane] = s.wz;
      for (int r = 0; r < kNumRotors; ++r) b.state[13 + r][lane] = s.rpm[r];
    }
  }
};

}  // namespace turborl::quadrotor
