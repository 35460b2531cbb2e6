#pragma once
// OpenBLAS as a GEMM peer of simdgrad_bench and simdgrad_gemm_pair, opened at run time with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) after OPENBLAS_CORETYPE is set: OpenBLAS reads it in its
// load-time constructor, so a linked OpenBLAS would have chosen its kernels before main (and
// BLIS, linked by simdgrad_bench, exports cblas_sgemm too).
#include <dlfcn.h>
#include <omp.h>
#include <sched.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace sgbench {

/// setenv(name, value) unless the variable is already set: the user's setting wins.
inline void setenv_default(const char* name, const std::string& value) {
  if (!std::getenv(name)) setenv(name, value.c_str(), 0);
}

/// While alive, the calling thread may run on every CPU of the OpenMP places (the CPUs the
/// process was started on, e.g. by taskset). With OMP_PROC_BIND set, libgomp binds the initial
/// thread to its first place, one CPU, and threads it creates inherit that mask: OpenBLAS's
/// pthread pool, created from this thread, then ran all its threads on one CPU (1024^3 with 2
/// threads at 92 GFLOPS, one core's speed; 180 with the pool created under the wide mask).
struct WideAffinity {
  cpu_set_t saved;
  bool restore = false;
  WideAffinity() {
    if (sched_getaffinity(0, sizeof saved, &saved) != 0) return;
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int p = 0; p < omp_get_num_places(); ++p) {
      std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(p)));
      omp_get_place_proc_ids(p, ids.data());
      for (int id : ids)
        if (id >= 0 && id < CPU_SETSIZE) CPU_SET(id, &all);
    }
    restore = CPU_COUNT(&all) > 0 && sched_setaffinity(0, sizeof all, &all) == 0;
  }
  ~WideAffinity() {
    if (restore) sched_setaffinity(0, sizeof saved, &saved);
  }
  WideAffinity(const WideAffinity&) = delete;
  WideAffinity& operator=(const WideAffinity&) = delete;
};

using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                            int, float, float*, int);
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

struct OpenBlas {
  CblasSgemm sgemm = nullptr;  // nullptr: the library did not load
  void (*set_threads)(int) = nullptr;
  std::string lib, core;       // the file cblas_sgemm came from, and the kernels it picked
};

/// Opens OpenBLAS (the shared object at `so`) once per process, with OPENBLAS_CORETYPE =
/// `coretype` unless the environment sets it.
inline const OpenBlas& openblas(const char* so, const char* coretype) {
  static const OpenBlas ob = [&] {
    OpenBlas o;
    setenv_default("OPENBLAS_CORETYPE", coretype);
    // Idle pool threads spin for 2^n cycles before sleeping (default n = 28, ~0.1 s): 2^20
    // (~0.4 ms) keeps them awake between the calls of one benchmark without stealing the
    // cores of the benchmarks that follow.
    setenv_default("OPENBLAS_THREAD_TIMEOUT", "20");
    const WideAffinity wide;  // the pool's threads are created here and by set_threads
    void* h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) return o;
    o.sgemm = reinterpret_cast<CblasSgemm>(dlsym(h, "cblas_sgemm"));
    o.set_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
    auto corename = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
    if (corename) o.core = corename();
    Dl_info info;
    if (o.sgemm && dladdr(reinterpret_cast<void*>(o.sgemm), &info) && info.dli_fname)
      o.lib = info.dli_fname;
    return o;
  }();
  return ob;
}

}  // namespace sgbench
