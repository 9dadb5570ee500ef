#pragma once
// TURBORL_HD marks functions compiled for the host and, under nvcc, for the device too: physics
// and per-element kernels are written once, so the CPU tests cover the math the GPU runs.
#if defined(__CUDACC__)
#define TURBORL_HD __host__ __device__
#else
#define TURBORL_HD
#endif

// TURBORL_INLINE forces inlining of per-element functions (physics steps, fast sin/cos, episode
// bookkeeping). A loop over environments vectorises only if everything it calls is inlined, and
// GCC's heuristics stop inlining once a translation unit instantiates many environments.
#if defined(__CUDACC__)
#define TURBORL_INLINE __forceinline__
#elif defined(__GNUC__)
#define TURBORL_INLINE inline __attribute__((always_inline))
#else
#define TURBORL_INLINE inline
#endif
