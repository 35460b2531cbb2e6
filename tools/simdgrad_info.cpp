// simdgrad-info: version, CPU features as detected, the ISA in use and the thread count.
#include <cstdio>
#include <cstdlib>

#include <simdgrad/simdgrad.hpp>

int main() {
  using namespace simdgrad;
  const CpuFeatures& f = cpu_features();
  std::printf("simdgrad %s\n", version());
  std::printf("cpu:        %s (%s)\n", f.brand.empty() ? "unknown" : f.brand.c_str(),
              f.vendor.empty() ? "unknown vendor" : f.vendor.c_str());
  std::printf("features:  ");
  const struct { const char* name; bool on; } feats[] = {
      {"sse2", f.sse2},         {"sse4.1", f.sse41},      {"avx", f.avx},
      {"avx2", f.avx2},         {"fma", f.fma},           {"f16c", f.f16c},
      {"avx512f", f.avx512f},   {"avx512cd", f.avx512cd}, {"avx512bw", f.avx512bw},
      {"avx512dq", f.avx512dq}, {"avx512vl", f.avx512vl}, {"os-ymm", f.os_ymm},
      {"os-zmm", f.os_zmm},     {"neon", f.neon},         {"asimd-fma", f.asimd_fma}};
  for (const auto& x : feats)
    if (x.on) std::printf(" %s", x.name);
  std::printf("\n");
  std::printf("isa paths: ");
  for (Isa i : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon})
    if (isa_available(i)) std::printf(" %s", isa_name(i));
  std::printf("\n");
  const char* cap = std::getenv("SIMDGRAD_MAX_ISA");
  std::printf("cpu isa:    %s\n", isa_name(cpu_isa()));
  if (cap)
    std::printf("active isa: %s  (SIMDGRAD_MAX_ISA=%s)\n", isa_name(active_isa()), cap);
  else
    std::printf("active isa: %s\n", isa_name(active_isa()));
  std::printf("threads:    %d\n", num_threads());
  return 0;
}
