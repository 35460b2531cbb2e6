// CPU detection, the ISA cap, threads.
#include <cstdlib>

#include "common.hpp"

TEST(Cpu, CpuIsaIsAvailableAndCapWorks) {
  const simdgrad::Isa best = simdgrad::cpu_isa();
  EXPECT_TRUE(simdgrad::isa_available(best));
  EXPECT_TRUE(simdgrad::isa_available(simdgrad::Isa::scalar));
  for (simdgrad::Isa i : sgtest::test_isas()) {
    EXPECT_EQ(simdgrad::set_max_isa(i), i);
    EXPECT_EQ(simdgrad::active_isa(), i);
  }
  simdgrad::set_max_isa(best);
  EXPECT_EQ(simdgrad::active_isa(), best);
}

TEST(Cpu, DetectionMatchesCompilerView) {
  const auto& f = simdgrad::cpu_features();
#if defined(__x86_64__)
  EXPECT_TRUE(f.sse2);  // baseline of x86-64
  EXPECT_TRUE(simdgrad::isa_available(simdgrad::Isa::sse2));
  EXPECT_FALSE(simdgrad::isa_available(simdgrad::Isa::neon));
  __builtin_cpu_init();
  // the compiler's runtime check agrees about AVX2/AVX-512 (it does check XCR0 on GCC 12)
  EXPECT_EQ(f.avx2, __builtin_cpu_supports("avx2") != 0);
  EXPECT_EQ(f.avx512f, __builtin_cpu_supports("avx512f") != 0);
  if (simdgrad::isa_available(simdgrad::Isa::avx512)) {
    EXPECT_TRUE(f.avx512bw && f.avx512dq && f.avx512vl && f.avx512cd && f.os_zmm);
  }
#elif defined(__aarch64__)
  EXPECT_TRUE(f.neon);
  EXPECT_TRUE(simdgrad::isa_available(simdgrad::Isa::neon));
  EXPECT_FALSE(simdgrad::isa_available(simdgrad::Isa::avx2));
#endif
}

TEST(Cpu, ForeignIsaCapIsAnError) {
#if defined(__x86_64__)
  EXPECT_THROW(simdgrad::set_max_isa(simdgrad::Isa::neon), simdgrad::error);
#elif defined(__aarch64__)
  EXPECT_THROW(simdgrad::set_max_isa(simdgrad::Isa::avx2), simdgrad::error);
#endif
}

TEST(Cpu, ParseIsa) {
  EXPECT_EQ(simdgrad::parse_isa("AVX2"), simdgrad::Isa::avx2);
  EXPECT_EQ(simdgrad::parse_isa("scalar"), simdgrad::Isa::scalar);
  try {
    simdgrad::parse_isa("avx1024");
    ADD_FAILURE() << "no error";
  } catch (const simdgrad::error& e) {
    EXPECT_NE(std::string(e.what()).find("simdgrad::parse_isa: name 'avx1024'"), std::string::npos)
        << e.what();
  }
}

TEST(Cpu, Threads) {
  simdgrad::set_num_threads(3);
  EXPECT_EQ(simdgrad::num_threads(), 3);
  simdgrad::set_num_threads(0);
  EXPECT_GE(simdgrad::num_threads(), 1);
  EXPECT_THROW(simdgrad::set_num_threads(-1), simdgrad::error);
}

TEST(Cpu, FlushDenormals) {
  const bool before = simdgrad::set_flush_denormals(true);
  volatile float tiny = 1e-39f;
  volatile float r = tiny * 0.5f;
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_EQ(r, 0.0f);
#endif
  simdgrad::set_flush_denormals(before);
  r = tiny * 0.5f;
  if (!before) {
    EXPECT_NE(r, 0.0f);
  }
}
