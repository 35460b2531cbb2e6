// simdgrad_bench main: Google Benchmark with a context naming the CPU, the ISA and the threads.
// The ISA is capped with SIMDGRAD_MAX_ISA (and oneDNN's with ONEDNN_MAX_CPU_ISA), the thread
// count with OMP_NUM_THREADS; pin with taskset and OMP_PROC_BIND=close.
#include <benchmark/benchmark.h>
#include <simdgrad/simdgrad.hpp>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const auto& f = simdgrad::cpu_features();
  benchmark::AddCustomContext("simdgrad_version", simdgrad::version());
  benchmark::AddCustomContext("cpu_brand", f.brand.empty() ? "unknown" : f.brand);
  benchmark::AddCustomContext("simdgrad_isa", simdgrad::isa_name(simdgrad::active_isa()));
  benchmark::AddCustomContext("cpu_isa", simdgrad::isa_name(simdgrad::cpu_isa()));
  benchmark::AddCustomContext("threads", std::to_string(simdgrad::num_threads()));
  if (const char* v = std::getenv("ONEDNN_MAX_CPU_ISA"))
    benchmark::AddCustomContext("onednn_max_cpu_isa", v);
  if (const char* v = std::getenv("OMP_PROC_BIND")) benchmark::AddCustomContext("omp_proc_bind", v);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
