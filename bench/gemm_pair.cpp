// simdgrad_gemm_pair: simdgrad's gemm against peers' sgemm on the same operands, the calls
// alternating in one loop (simdgrad, then each peer, round after round), each side's fastest call
// kept. On a shared machine whose speed drifts (boost clocks, neighbours) the alternation puts
// every side under the same conditions, which a benchmark that runs one side's repetitions after
// the other's does not; this is the cross-check for the GEMM rows of simdgrad_bench.
//
//   simdgrad_gemm_pair [--peer P[,P...]] [--epilogue E] [--min-time S] [--c-offset F]
//                      [--ab-offset F] M N K OPS [...]
//
// P: onednn (dnnl_sgemm, the default), openblas (cblas_sgemm, opened as simdgrad_bench opens
// it, bench/openblas_peer.hpp: OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs, Haswell on AVX2 ones
// or with SIMDGRAD_MAX_ISA=avx2, unless the environment sets it), blis (bli_sgemm, with
// BLIS_ARCH_TYPE skx or haswell likewise), or simdgrad (simdgrad's own gemm without an epilogue:
// with --epilogue, what the fused epilogue costs); e.g. --peer onednn,openblas,blis. With more
// than one thread OpenBLAS's pthread pool and the OpenMP threads of the others each spin for a
// while after their call, into the next side's call (1024^3 on 2 threads: OpenBLAS at 106
// GFLOPS here, 180 in simdgrad_bench): take multi-threaded figures against OpenBLAS from
// simdgrad_bench.
// --epilogue E fuses a bias (E = bias) or a bias and an activation (E = relu, gelu_erf, ...:
// simdgrad::activation_name's names) into simdgrad's side; the peers compute the plain product
// (the max diff column is then left empty).
// OPS is two letters, op(A) and op(B): NN, NT, TN, TT (row-major storage, minimal leading
// dimensions). Threads: OMP_NUM_THREADS (every side); SIMDGRAD_MAX_ISA caps the ISAs (with
// avx2, ONEDNN_MAX_CPU_ISA=AVX2 is set for oneDNN unless already set). Each case runs at least
// 40 rounds and --min-time seconds (default 1). C starts on a 64-byte boundary (as in
// simdgrad_bench) plus F floats (default 0; e.g. 4 for the 16-byte offset of a large malloc); A
// and B lie where std::vector puts them, or with --ab-offset F on a 64-byte boundary plus F
// floats (0: simdgrad_bench's placement, all three at the same offset in their pages). Prints
// simdgrad's GFLOPS, each peer's GFLOPS and ratio (peer time / simdgrad time: above 1, simdgrad
// is faster), the ratio to the fastest peer, and the largest difference between simdgrad's
// result and the first peer's.
#include <dnnl.h>
#include <simdgrad/simdgrad.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
#include "openblas_peer.hpp"
#endif
#if defined(SIMDGRAD_BENCH_BLIS)
#include "blis_peer.hpp"
#endif

namespace {

int usage() {
  std::fprintf(stderr, "usage: simdgrad_gemm_pair [--peer P[,P...]] [--epilogue E] [--min-time S] "
                       "[--c-offset F] [--ab-offset F] M N K OPS [...]\n"
                       "  P: onednn, openblas, blis or simdgrad (without the epilogue)\n"
                       "  E: bias, or an activation name (bias and activation)\n"
                       "  OPS: NN, NT, TN or TT (op(A), op(B)); row-major storage\n");
  return 2;
}

/// Deterministic data in [lo, hi) (a 32-bit LCG: the operands only need to be the same on both
/// sides and not all equal).
std::vector<float> uniform(std::size_t n, float lo, float hi, unsigned seed) {
  std::vector<float> v(n);
  unsigned x = seed * 2654435761u + 1u;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;
    e = lo + (hi - lo) * static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
  }
  return v;
}

enum class Peer { onednn, openblas, blis, simdgrad };

double seconds_of(const std::chrono::steady_clock::time_point& t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  double min_time = 1.0;
  long c_offset = 0, ab_offset = -1;
  std::string peer_list = "onednn", epi_name;
  int a = 1;
  for (; a + 1 < argc && std::strncmp(argv[a], "--", 2) == 0; a += 2) {
    const std::string opt = argv[a];
    if (opt == "--peer") {
      peer_list = argv[a + 1];
    } else if (opt == "--epilogue") {
      epi_name = argv[a + 1];
    } else if (opt == "--min-time") {
      min_time = std::atof(argv[a + 1]);
    } else if (opt == "--c-offset" || opt == "--ab-offset") {
      long& off = opt == "--c-offset" ? c_offset : ab_offset;
      off = std::atol(argv[a + 1]);
      if (off < 0 || off >= 16) return usage();
    } else {
      return usage();
    }
  }
  if (argc - a < 4 || (argc - a) % 4 != 0) return usage();
  // The epilogue: a bias, and the named activation unless E is "bias".
  bool with_act = false;
  simdgrad::ActivationSpec act{};
  if (!epi_name.empty() && epi_name != "bias") {
    for (int i = 0; i < simdgrad::kActivationCount && !with_act; ++i)
      if (epi_name == simdgrad::activation_name(static_cast<simdgrad::Activation>(i))) {
        act = simdgrad::ActivationSpec(static_cast<simdgrad::Activation>(i));
        with_act = true;
      }
    if (!with_act) return usage();
  }
  const char* cap = std::getenv("SIMDGRAD_MAX_ISA");
  const bool avx2 = simdgrad::active_isa() == simdgrad::Isa::avx2 ||
                    (cap && std::strcmp(cap, "avx2") == 0);
  // oneDNN capped to the same ISA (as simdgrad_bench does), before its first call; unless the
  // environment sets it.
  if (avx2) setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 0);
  std::vector<std::string> names;  // as given, for the table's header
  std::vector<Peer> peers;
  for (std::size_t p0 = 0; p0 <= peer_list.size();) {
    const std::size_t p1 = std::min(peer_list.find(',', p0), peer_list.size());
    names.push_back(peer_list.substr(p0, p1 - p0));
    p0 = p1 + 1;
  }
#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
  const sgbench::OpenBlas* ob = nullptr;
#endif
  const std::string epi_desc = epi_name.empty() ? ""
                               : with_act       ? ", epilogue bias + " + epi_name
                                                : ", epilogue bias";
  std::printf("simdgrad %s (isa %s, %d threads%s) against:\n", simdgrad::version(),
              simdgrad::isa_name(simdgrad::active_isa()), simdgrad::num_threads(),
              epi_desc.c_str());
  for (const std::string& peer : names) {
    if (peer == "onednn") {
      peers.push_back(Peer::onednn);
      std::printf("  onednn: dnnl_sgemm\n");
    } else if (peer == "simdgrad") {
      peers.push_back(Peer::simdgrad);
      std::printf("  simdgrad: simdgrad's gemm without an epilogue\n");
    } else if (peer == "openblas") {
      peers.push_back(Peer::openblas);
#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
      ob = &sgbench::openblas(SIMDGRAD_BENCH_OPENBLAS_SO, avx2 ? "Haswell" : "SkylakeX");
      if (!ob->sgemm) {
        std::fprintf(stderr, "simdgrad_gemm_pair: %s did not load\n", SIMDGRAD_BENCH_OPENBLAS_SO);
        return 1;
      }
      if (ob->set_threads) {
        const sgbench::WideAffinity wide;
        ob->set_threads(simdgrad::num_threads());
      }
      std::printf("  openblas: cblas_sgemm, %s kernels, %s\n", ob->core.c_str(), ob->lib.c_str());
#else
      std::fprintf(stderr, "simdgrad_gemm_pair: built without OpenBLAS\n");
      return 1;
#endif
    } else if (peer == "blis") {
      peers.push_back(Peer::blis);
#if defined(SIMDGRAD_BENCH_BLIS)
      const std::string arch =
          std::to_string(static_cast<int>(avx2 ? BLIS_ARCH_HASWELL : BLIS_ARCH_SKX));
      setenv("BLIS_ARCH_TYPE", arch.c_str(), 0);  // unless the environment sets it
      bli_init();
      bli_thread_set_num_threads(simdgrad::num_threads());
      std::printf("  blis: bli_sgemm, %s kernels\n", bli_arch_string(bli_arch_query_id()));
#else
      std::fprintf(stderr, "simdgrad_gemm_pair: built without BLIS\n");
      return 1;
#endif
    } else {
      return usage();
    }
  }
  std::printf("%6s %6s %6s %3s %9s", "m", "n", "k", "op", "simdgrad");
  for (const std::string& peer : names) std::printf(" %9s %6s", peer.c_str(), "ratio");
  std::printf(" %6s %9s\n", "best", "max diff");
  for (; a + 3 < argc; a += 4) {
    const long m = std::atol(argv[a]), n = std::atol(argv[a + 1]), k = std::atol(argv[a + 2]);
    const std::string ops = argv[a + 3];
    if (m <= 0 || n <= 0 || k <= 0 || ops.size() != 2 || (ops[0] != 'N' && ops[0] != 'T') ||
        (ops[1] != 'N' && ops[1] != 'T'))
      return usage();
    const bool ta = ops[0] == 'T', tb = ops[1] == 'T';
    const auto A0 = uniform(static_cast<std::size_t>(m * k), -0.5f, 0.5f, 1);
    const auto B0 = uniform(static_cast<std::size_t>(k * n), -0.5f, 0.5f, 2);
    std::vector<float> A_buf(A0.size() + 32), B_buf(B0.size() + 32);
    auto place = [&](std::vector<float>& buf, const std::vector<float>& src, long off) {
      float* p = buf.data();
      if (off >= 0) {
        const auto addr = reinterpret_cast<std::uintptr_t>(p);
        p += ((64 - addr % 64) % 64) / sizeof(float) + static_cast<std::size_t>(off);
      }
      std::copy(src.begin(), src.end(), p);
      return p;
    };
    struct V { const float* p; const float* data() const { return p; } };
    const V A{place(A_buf, A0, ab_offset)}, B{place(B_buf, B0, ab_offset)};
    // C of both sides at the same offset from a 64-byte boundary.
    const std::size_t mn = static_cast<std::size_t>(m * n);
    // simdgrad's C and each peer's own C: every side finds its C as it left it one round ago
    // (with one C shared by the peers, each peer found the C the peer before it had just
    // written, still in cache, while simdgrad's was older: where writing C is most of the time,
    // 1024 x 4096 x 32, that favoured the peers by 5-10%).
    std::vector<std::vector<float>> c_bufs(peers.size() + 1, std::vector<float>(mn + 32));
    const auto at_offset = [&](std::vector<float>& v) {
      const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
      const std::size_t skip = ((64 - addr % 64) % 64) / sizeof(float);
      return v.data() + skip + static_cast<std::size_t>(c_offset);
    };
    float* const c1 = at_offset(c_bufs[0]);
    const long lda = ta ? m : k, ldb = tb ? k : n;
    const auto bias = uniform(static_cast<std::size_t>(n), -0.5f, 0.5f, 3);
    simdgrad::GemmEpilogue epi;
    if (!epi_name.empty())
      epi = with_act ? simdgrad::GemmEpilogue(bias.data(), act) : simdgrad::GemmEpilogue(bias.data());
    const auto simdgrad_gemm = [&](float* c, const simdgrad::GemmEpilogue& e) {
      simdgrad::gemm(simdgrad::MatLayout::row_major,
                     ta ? simdgrad::Trans::transpose : simdgrad::Trans::none,
                     tb ? simdgrad::Trans::transpose : simdgrad::Trans::none,
                     static_cast<std::size_t>(m), static_cast<std::size_t>(n),
                     static_cast<std::size_t>(k), 1.0f, A.data(), static_cast<std::size_t>(lda),
                     B.data(), static_cast<std::size_t>(ldb), 0.0f, c,
                     static_cast<std::size_t>(n), e);
    };
    const auto ours = [&] { simdgrad_gemm(c1, epi); };
    const auto theirs = [&](std::size_t q) {
      const Peer peer = peers[q];
      float* const c2 = at_offset(c_bufs[q + 1]);
      if (peer == Peer::simdgrad) {
        simdgrad_gemm(c2, simdgrad::GemmEpilogue());
        return;
      }
#if defined(SIMDGRAD_BENCH_OPENBLAS_SO)
      if (peer == Peer::openblas) {
        using sgbench::kCblasNoTrans, sgbench::kCblasTrans;
        ob->sgemm(sgbench::kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans,
                  tb ? kCblasTrans : kCblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                  static_cast<int>(k), 1.0f, A.data(), static_cast<int>(lda), B.data(),
                  static_cast<int>(ldb), 0.0f, c2, static_cast<int>(n));
        return;
      }
#endif
#if defined(SIMDGRAD_BENCH_BLIS)
      if (peer == Peer::blis) {
        float one = 1.0f, zero = 0.0f;
        bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                  m, n, k, &one, const_cast<float*>(A.data()), lda, 1,
                  const_cast<float*>(B.data()), ldb, 1, &zero, c2, n, 1);
        return;
      }
#endif
      dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, A.data(), lda, B.data(), ldb,
                 0.0f, c2, n);
    };
    double best1 = 1e30, total = 0;
    std::vector<double> best(peers.size(), 1e30);
    for (int r = 0; (r < 40 || total < min_time) && r < 100000; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      ours();
      double s = seconds_of(t0);
      best1 = std::min(best1, s);
      total += s;
      for (std::size_t q = 0; q < peers.size(); ++q) {
        t0 = std::chrono::steady_clock::now();
        theirs(q);
        s = seconds_of(t0);
        best[q] = std::min(best[q], s);
        total += s;
      }
    }
    const float* const c2 = at_offset(c_bufs[1]);  // the first peer's C, for the difference
    double diff = 0;
    for (std::size_t i = 0; i < mn; ++i)
      diff = std::max(diff, static_cast<double>(std::fabs(c1[i] - c2[i])));
    const double flop = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                        static_cast<double>(k) * 1e-9;
    char diff_s[16] = "-";
    if (epi_name.empty()) std::snprintf(diff_s, sizeof diff_s, "%.1e", diff);
    std::printf("%6ld %6ld %6ld %3s %9.1f", m, n, k, ops.c_str(), flop / best1);
    for (double t : best) std::printf(" %9.1f %6.3f", flop / t, t / best1);
    std::printf(" %6.3f %9s\n", *std::min_element(best.begin(), best.end()) / best1, diff_s);
  }
  return 0;
}
