#pragma once
// A persistent pool that splits [0, n) into contiguous chunks, one per thread, which the threads
// claim from a shared counter; the calling thread works too, so a pool of one thread is a plain
// loop, and a thread that is slow to wake finds its chunk already taken. (Smaller chunks, four
// per thread, balanced better in theory but measured 20% slower for 4096 CartPoles on two
// threads: each claim and chunk boundary costs more than the imbalance it removes.) Results
// never depend on the split: callers only hand it work whose items are independent.
//
// Workers spin briefly before sleeping because a vector-env step takes tens of microseconds and
// the next one usually follows at once; waking a sleeping thread costs about as much as the step.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "turborl/core/check.hpp"

namespace turborl {

class ThreadPool {
 public:
  static constexpr int kMaxThreads = 256;

  static constexpr std::chrono::microseconds kDefaultSpin{50};

  // `idle_spin`: how long a worker spins for the next job before it sleeps. Callers whose jobs
  // come at longer but regular intervals (an MCTS search: one job per simulation, the model's
  // call in between) may spin longer, trading a core's idle time for the wake-up.
  explicit ThreadPool(int num_threads, std::chrono::microseconds idle_spin = kDefaultSpin)
      : num_threads_(num_threads), idle_spin_(idle_spin) {
    TURBORL_CHECK(num_threads >= 1 && num_threads <= kMaxThreads, "num_threads must be in [1, ", kMaxThreads,
                  "], got ", num_threads);
    errors_.resize(size_t(num_threads) * kChunksPerThread);
    workers_.reserve(num_threads - 1);
    for (int worker = 1; worker < num_threads; ++worker) workers_.emplace_back([this, worker] { worker_loop(worker); });
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
      epoch_.fetch_add(1);
    }
    job_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  int num_threads() const { return num_threads_; }

  static constexpr int kChunksPerThread = 1;  // see the note at the top

  // Calls body(begin, end) on contiguous chunks covering [0, n), each exactly once, possibly
  // concurrently. Chunks are at least `min_chunk` long (shorter ones are not worth a hand-off),
  // so small n runs on the calling thread alone.
  template <class Body>
  void run_chunks(int64_t n, Body&& body, int64_t min_chunk = 1) {
    const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk));
    const int64_t chunks = std::min<int64_t>(int64_t(num_threads_) * kChunksPerThread, max_chunks);
    if (num_threads_ == 1 || chunks == 1 || n <= 0) {
      if (n > 0) body(int64_t(0), n);
      return;
    }
    job_body_ = &body;
    job_call_ = [](void* ctx, int64_t begin, int64_t end) { (*static_cast<Body*>(ctx))(begin, end); };
    job_n_ = n;
    job_chunks_ = int(chunks);
    next_chunk_.store(0, std::memory_order_relaxed);
    // Every worker acknowledges every job, including those with no chunk in it, so that no
    // worker can still be reading this job's fields when the next job overwrites them.
    pending_.store(num_threads_ - 1);
    epoch_.fetch_add(1);  // seq_cst, paired with the sleepers_ check in worker_loop
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ready_.notify_all();
    }

    run_claimed_chunks();

    if (!spin_until(kDefaultSpin, [&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      job_done_.wait(lock, [&] { return pending_.load() == 0; });
    }
    for (auto& error : errors_) {
      if (error) {
        std::exception_ptr first = error;
        for (auto& e : errors_) e = nullptr;
        std::rethrow_exception(first);
      }
    }
  }

 private:
  static void pause() {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
  }

  // Spins for at most about `limit`; returns whether the condition became true.
  template <class Condition>
  static bool spin_until(std::chrono::microseconds limit, Condition&& done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0;; ++i) {
      if (done()) return true;
      pause();
      if ((i & 255) == 255 && std::chrono::steady_clock::now() > deadline) return false;
    }
  }

  void run_claimed_chunks() {
    for (;;) {
      const int chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed);
      if (chunk >= job_chunks_) return;
      const int64_t begin = job_n_ * chunk / job_chunks_;
      const int64_t end = job_n_ * (chunk + 1) / job_chunks_;
      try {
        job_call_(job_body_, begin, end);
      } catch (...) {
        errors_[chunk] = std::current_exception();
      }
    }
  }

  void worker_loop(int worker) {
    // Epoch 0 is the pool's state before any job. Reading epoch_ here instead would skip a job
    // posted before this thread first ran.
    uint64_t seen = 0;
    for (;;) {
      if (!spin_until(idle_spin_, [&] { return epoch_.load(std::memory_order_acquire) != seen; })) {
        // Sleep. sleepers_ is raised before the epoch is checked again under the mutex, and
        // run_chunks bumps the epoch before reading sleepers_, so a job is never missed.
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        job_ready_.wait(lock, [&] { return epoch_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      seen = epoch_.load();
      if (stop_.load()) return;
      run_claimed_chunks();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        job_done_.notify_one();
      }
    }
  }

  const int num_threads_;
  const std::chrono::microseconds idle_spin_;
  std::vector<std::thread> workers_;
  std::vector<std::exception_ptr> errors_;
  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::condition_variable job_done_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> next_chunk_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  void* job_body_ = nullptr;
  void (*job_call_)(void*, int64_t, int64_t) = nullptr;
  int64_t job_n_ = 0;
  int job_chunks_ = 1;
};

}  // namespace turborl
