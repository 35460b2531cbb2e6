// Batch normalization: argument checks, the fixed work partition, OpenMP, dispatch to the table.
//
// Determinism: every reduction is cut into pieces whose boundaries depend on the shape only
// (kChunk values per piece along a channel in the planes geometry, rows_per_block() rows in the
// rows geometry), each piece is summed by one kernel call, and the pieces' double-precision
// results are merged per channel in piece order. Threads only decide who computes which piece,
// so the result is bitwise the same for any thread count.
#include "simdgrad/batchnorm.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels/batchnorm_table.hpp"
#include "src/dispatch.hpp"
#include "src/parallel.hpp"
#include "src/validate.hpp"

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::BatchNormTable)

namespace simdgrad {
namespace {

using detail::fail;
namespace k = kernels;

constexpr std::size_t kChunk = 4096;               // values per reduction piece (planes)
constexpr std::size_t kMinPerThread = std::size_t{1} << 15;  // elements per thread, at least

const k::BatchNormTable& table() { return detail::active_table<k::BatchNormTable>(); }

// ------------------------------------------------------------------------------------ geometry

// How the data of one channel lies in memory. "planes": channel c is np contiguous runs of hw
// floats, run p at c * coff + p * pstride (NCHW; also NHWC/NC with C = 1, one run). "rows": M rows
// of C channels, row r at r * C (NHWC, NC; also NCHW with H*W = 1, which is the same memory).
struct Geo {
  std::size_t C = 0, M = 0, total = 0;
  bool planes = false;
  std::size_t np = 0, hw = 0, pstride = 0, coff = 0;
  std::size_t rows = 0;
};

Geo check_desc(const char* fn, const BatchNormDesc& d) {
  const int L = static_cast<int>(d.layout);
  if (L < 0 || L > 2)
    fail(fn, "d.layout is not a BatchNormLayout (value " + std::to_string(L) + ")");
  if (d.layout == BatchNormLayout::nc && (d.h != 1 || d.w != 1))
    fail(fn, "d.h and d.w must be 1 for BatchNormLayout::nc, got " + std::to_string(d.h) +
                 " x " + std::to_string(d.w));
  detail::check_positive(fn, "d.eps", d.eps);
  Geo g;
  const std::size_t hw = detail::checked_mul(fn, "d.h * d.w", d.h, d.w);
  g.C = d.c;
  g.M = detail::checked_mul(fn, "d.n * d.h * d.w", d.n, hw);
  g.total = detail::checked_mul(fn, "d.n * d.c * d.h * d.w", g.M, d.c);
  detail::check_count(fn, "d.n * d.c * d.h * d.w", g.total);
  const bool nchw = d.layout == BatchNormLayout::nchw;
  if (d.c == 1) {
    g.planes = true, g.np = 1, g.hw = g.M, g.pstride = g.M, g.coff = g.M;
  } else if (nchw && hw > 1) {
    g.planes = true, g.np = d.n, g.hw = hw, g.pstride = d.c * hw, g.coff = hw;
  } else {
    g.rows = g.M;
  }
  return g;
}

// The fixed partition of one channel's data into reduction pieces (planes geometry): runs of at
// least kChunk values are cut into kChunk pieces, shorter runs are grouped kChunk / hw at a time.
struct Pieces {
  std::size_t per_run = 0;  // pieces per run (hw >= kChunk), else 0
  std::size_t group = 0;    // runs per piece (hw < kChunk)
  std::size_t count = 0;
};
struct Piece {
  std::size_t off, planes, len;
};

Pieces pieces_of(const Geo& g) {
  Pieces p;
  if (g.hw >= kChunk) {
    p.per_run = (g.hw + kChunk - 1) / kChunk;
    p.count = g.np * p.per_run;
  } else {
    p.group = kChunk / g.hw;
    p.count = (g.np + p.group - 1) / p.group;
  }
  return p;
}

Piece piece(const Geo& g, const Pieces& ps, std::size_t i) {
  if (ps.per_run) {
    const std::size_t run = i / ps.per_run, part = i % ps.per_run;
    return {run * g.pstride + part * kChunk, 1, std::min(kChunk, g.hw - part * kChunk)};
  }
  const std::size_t p0 = i * ps.group;
  return {p0 * g.pstride, std::min(ps.group, g.np - p0), g.hw};
}

/// Rows per reduction block in the rows geometry (a function of C only): ~64K values per block,
/// at most 256 rows summed in one fp32 accumulator lane.
std::size_t rows_per_block(std::size_t C) {
  return std::clamp<std::size_t>(65536 / std::max<std::size_t>(C, 1), 16, 256);
}

// The rows geometry's tasks: row blocks times channel slabs (slabs only add parallelism; each
// channel's arithmetic does not depend on them).
struct RowTasks {
  std::size_t rb, nb, sw, ns;
  std::size_t count() const { return nb * ns; }
};
constexpr std::size_t kSlab = 64;  // channels per slab (rows geometry): task split and merge unit

RowTasks row_tasks(const Geo& g, int threads) {
  RowTasks t;
  t.rb = rows_per_block(g.C);
  t.nb = (g.rows + t.rb - 1) / t.rb;
  std::size_t ns = 1;
  // At least 8 tasks per thread (when the channels allow), so that the shares balance.
  const std::size_t want = 8 * static_cast<std::size_t>(threads);
  if (threads > 1 && t.nb < want) ns = std::min((g.C + 63) / 64, (want + t.nb - 1) / t.nb);
  t.sw = ((g.C + ns - 1) / ns + kSlab - 1) / kSlab * kSlab;
  t.ns = (g.C + t.sw - 1) / t.sw;
  return t;
}

/// Outputs of at least this many bytes (a core's L2 on current server parts) are written with
/// non-temporal stores, as oneDNN does: they would leave L2 anyway, and streaming them saves the
/// read-for-ownership of every output line. Smaller outputs stay in cache for the next layer.
constexpr std::size_t kStreamBytes = std::size_t{2} << 20;

/// kBnStream when the output `out` of g's shape is that large and every whole-vector store into it
/// is 64-byte aligned (the kernels' condition), else 0.
int stream_flag(const Geo& g, const void* out) {
  if (g.total * sizeof(float) < kStreamBytes || reinterpret_cast<std::uintptr_t>(out) % 64 != 0)
    return 0;
  const std::size_t stride = g.planes ? (g.C == 1 ? 16 : g.hw) : g.C;
  return stride % 16 == 0 ? k::kBnStream : 0;
}

// ------------------------------------------------------------------------------------ scratch

/// Per-thread scratch memory reused from call to call (it grows, never shrinks): a fresh
/// allocation of this size would be mmap-ed and page-faulted on every call.
struct Scratch {
  std::vector<double> d;
  std::vector<float> f;
};
Scratch& scratch(std::size_t nd, std::size_t nf) {
  thread_local Scratch s;
  if (s.d.size() < nd) s.d.resize(nd);
  if (s.f.size() < nf) s.f.resize(nf);
  return s;
}

// ----------------------------------------------------------------------------------- threading

/// Runs f(par) on `threads` threads (par = true: inside our parallel region) or on the caller.
template <class F>
void region(int threads, F&& f) {
  if (threads <= 1) {
    f(false);
    return;
  }
#pragma omp parallel num_threads(threads)
  f(true);
}

/// The calling thread's share [begin, end) of n tasks: contiguous, equal to within one.
inline void my_share(bool par, std::size_t n, std::size_t* begin, std::size_t* end) {
  if (!par) {
    *begin = 0, *end = n;
    return;
  }
  const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
  const std::size_t T = static_cast<std::size_t>(omp_get_num_threads());
  *begin = n * t / T, *end = n * (t + 1) / T;
}

/// f(i) for i < n, each thread its share, then a barrier (inside region(); else a plain loop).
template <class F>
void for_each(bool par, std::size_t n, F&& f) {
  std::size_t b, e;
  my_share(par, n, &b, &e);
  for (std::size_t i = b; i < e; ++i) f(i);
  if (par) {
#pragma omp barrier
  }
}

/// The same shares walked backwards: a second pass over data just read by for_each() starts
/// with what the first pass read last, which is still in cache.
template <class F>
void for_each_reversed(bool par, std::size_t n, F&& f) {
  std::size_t b, e;
  my_share(par, n, &b, &e);
  for (std::size_t i = e; i > b; --i) f(i - 1);
  if (par) {
#pragma omp barrier
  }
}

// -------------------------------------------------------------------------------- statistics

/// Shifted moments of a channel: s1 = sum(x - k0), s2 = sum((x - k0)^2) over n values.
struct Moments {
  double n = 0, k0 = 0, s1 = 0, s2 = 0;
};

/// Adds a piece of nb values summed about its own shift kb.
inline void merge(Moments& a, double nb, double kb, double s1b, double s2b) {
  if (a.n == 0) {
    a = {nb, kb, s1b, s2b};
    return;
  }
  const double d = kb - a.k0;
  a.s2 += s2b + d * (2.0 * s1b + nb * d);
  a.s1 += s1b + nb * d;
  a.n += nb;
}

struct FwdParams {
  const BatchNormDesc* d;
  const float *gamma, *beta;
  float *save_mean, *save_invstd, *running_mean, *running_var;
  double momentum;
};

/// Writes channel c's saved statistics and running update; returns its normalization constants
/// y = (x - m) * a + b, with m the fp32 mean and b absorbing the mean's rounding.
inline void finish_channel(const FwdParams& p, std::size_t c, double n, double k0, double s1,
                           double s2, float* m, float* a, float* b) {
  const double mr = s1 / n;
  const double mean = k0 + mr;
  double ss = s2 - s1 * mr;  // sum of squared deviations
  if (ss < 0) ss = 0;
  const double var = ss / n;
  const double invstd = 1.0 / std::sqrt(var + static_cast<double>(p.d->eps));
  const float mf = static_cast<float>(mean);
  p.save_mean[c] = mf;
  p.save_invstd[c] = static_cast<float>(invstd);
  const double gm = p.d->use_scale ? static_cast<double>(p.gamma[c]) : 1.0;
  const double bt = p.d->use_shift ? static_cast<double>(p.beta[c]) : 0.0;
  const double ad = gm * invstd;
  *m = mf;
  *a = static_cast<float>(ad);
  *b = static_cast<float>(bt - ad * (mean - static_cast<double>(mf)));
  if (p.running_mean) {
    const double mo = p.momentum;
    p.running_mean[c] =
        static_cast<float>(mo * mean + (1.0 - mo) * static_cast<double>(p.running_mean[c]));
    p.running_var[c] = static_cast<float>(mo * (ss / (n - 1.0)) +
                                          (1.0 - mo) * static_cast<double>(p.running_var[c]));
  }
}

// ------------------------------------------------------------------------------------ checking

struct Buf {
  const char* name;
  const void* p;
  std::size_t bytes;
  bool out;
};

/// Every output must be disjoint from every other buffer, except the exact aliases listed
/// (output name, input name).
void check_buffers(const char* fn, std::initializer_list<Buf> bufs,
                   std::initializer_list<std::pair<const char*, const char*>> aliases = {}) {
  const Buf* b = bufs.begin();
  const std::size_t n = bufs.size();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j || !b[i].out || (b[j].out && j < i)) continue;
      const auto* pi = static_cast<const unsigned char*>(b[i].p);
      const auto* pj = static_cast<const unsigned char*>(b[j].p);
      if (!detail::overlap(pi, b[i].bytes, pj, b[j].bytes)) continue;
      bool allowed = false;
      for (const auto& a : aliases)
        if ((std::string(a.first) == b[i].name && std::string(a.second) == b[j].name) ||
            (std::string(a.first) == b[j].name && std::string(a.second) == b[i].name))
          allowed = true;
      if (allowed && pi == pj && b[i].bytes == b[j].bytes) continue;
      fail(fn, std::string(b[i].name) + (allowed ? " partially overlaps " : " overlaps ") +
                   b[j].name +
                   (allowed ? " (only the same array, in place, or disjoint arrays are allowed)"
                            : ""));
    }
}

constexpr std::size_t F = sizeof(float);

}  // namespace

// ------------------------------------------------------------------------------ forward train

void batchnorm_forward_training(const BatchNormDesc& d, const float* x, float* y,
                                const float* gamma, const float* beta, float* save_mean,
                                float* save_invstd, float* running_mean, float* running_var,
                                float momentum, std::uint8_t* relu_mask) {
  const char* fn = "batchnorm_forward_training";
  const Geo g = check_desc(fn, d);
  detail::check_range(fn, "momentum", momentum, 0.0, 1.0);
  if (g.C > 0 && g.M == 0)
    fail(fn, "d.n * d.h * d.w is 0: batch statistics need at least one value per channel");
  detail::check_ptr(fn, "x", x, g.total);
  detail::check_ptr(fn, "y", y, g.total);
  if (d.use_scale) detail::check_ptr(fn, "gamma", gamma, g.C);
  if (d.use_shift) detail::check_ptr(fn, "beta", beta, g.C);
  detail::check_ptr(fn, "save_mean", save_mean, g.C);
  detail::check_ptr(fn, "save_invstd", save_invstd, g.C);
  if ((running_mean == nullptr) != (running_var == nullptr))
    fail(fn, std::string(running_mean ? "running_var" : "running_mean") +
                 " is null while " + (running_mean ? "running_mean" : "running_var") +
                 " is given (give both or neither)");
  if (running_mean && g.C > 0 && g.M < 2)
    fail(fn, "running_var needs more than one value per channel (d.n * d.h * d.w = " +
                 std::to_string(g.M) + ") for the unbiased batch variance");
  if (relu_mask && !d.fuse_relu) fail(fn, "relu_mask is given but d.fuse_relu is false");
  const std::size_t cb = g.C * F;
  check_buffers(fn,
                {{"y", y, g.total * F, true},
                 {"x", x, g.total * F, false},
                 {"gamma", d.use_scale ? gamma : nullptr, cb, false},
                 {"beta", d.use_shift ? beta : nullptr, cb, false},
                 {"save_mean", save_mean, cb, true},
                 {"save_invstd", save_invstd, cb, true},
                 {"running_mean", running_mean, cb, true},
                 {"running_var", running_var, cb, true},
                 {"relu_mask", relu_mask, g.total, true}},
                {{"y", "x"}});
  if (g.total == 0) return;

  const k::BatchNormTable& T = table();
  const FwdParams p{&d, gamma, beta, save_mean, save_invstd, running_mean, running_var,
                    static_cast<double>(momentum)};
  const int relu = (d.fuse_relu ? 1 : 0) | stream_flag(g, y);
  const int threads = detail::threads_for(g.total, kMinPerThread);

  if (g.planes) {
    const Pieces ps = pieces_of(g);
    auto piece_stats = [&](std::size_t c, std::size_t i, double out[2]) -> Piece {
      const Piece pc = piece(g, ps, i);
      T.stats_planes(x + c * g.coff + pc.off, pc.planes, g.pstride, pc.len, out);
      return pc;
    };
    auto shift_of = [&](std::size_t c, const Piece& pc) {
      return static_cast<double>(x[c * g.coff + pc.off]);
    };
    if (threads <= 1 || g.C >= 4 * static_cast<std::size_t>(threads)) {
      // One channel per task, statistics then normalization while the channel is in cache.
      region(threads, [&](bool par) {
        for_each(par, g.C, [&](std::size_t c) {
          Moments mo;
          for (std::size_t i = 0; i < ps.count; ++i) {
            double out[2];
            const Piece pc = piece_stats(c, i, out);
            merge(mo, static_cast<double>(pc.planes * pc.len), shift_of(c, pc), out[0], out[1]);
          }
          float m, a, b;
          finish_channel(p, c, mo.n, mo.k0, mo.s1, mo.s2, &m, &a, &b);
          const std::size_t o = c * g.coff;
          T.norm_planes(x + o, y + o, relu_mask ? relu_mask + o : nullptr, g.np, g.pstride, g.hw,
                        m, a, b, relu);
        });
      });
    } else {
      // Few channels: pieces are the tasks; statistics, per-channel merge, normalization.
      const std::size_t tasks = g.C * ps.count;
      Scratch& sc = scratch(2 * tasks, 3 * g.C);
      double* ws = sc.d.data();
      float *cm = sc.f.data(), *ca = cm + g.C, *cbv = ca + g.C;
      region(threads, [&](bool par) {
        for_each(par, tasks, [&](std::size_t t) {
          piece_stats(t / ps.count, t % ps.count, &ws[2 * t]);
        });
        for_each(par, g.C, [&](std::size_t c) {
          Moments mo;
          for (std::size_t i = 0; i < ps.count; ++i) {
            const Piece pc = piece(g, ps, i);
            const double* w = &ws[2 * (c * ps.count + i)];
            merge(mo, static_cast<double>(pc.planes * pc.len), shift_of(c, pc), w[0], w[1]);
          }
          finish_channel(p, c, mo.n, mo.k0, mo.s1, mo.s2, &cm[c], &ca[c], &cbv[c]);
        });
        for_each_reversed(par, tasks, [&](std::size_t t) {
          const std::size_t c = t / ps.count;
          const Piece pc = piece(g, ps, t % ps.count);
          const std::size_t o = c * g.coff + pc.off;
          T.norm_planes(x + o, y + o, relu_mask ? relu_mask + o : nullptr, pc.planes, g.pstride,
                        pc.len, cm[c], ca[c], cbv[c], relu);
        });
      });
    }
    return;
  }

  // Rows geometry: row blocks summed into ws, merged per channel in block order.
  const std::size_t C = g.C;
  const RowTasks rt = row_tasks(g, threads);
  Scratch& sc = scratch(2 * rt.nb * C, 3 * C);
  double *ws1 = sc.d.data(), *ws2 = ws1 + rt.nb * C;
  float *cm = sc.f.data(), *ca = cm + C, *cbv = ca + C;
  auto block_stats = [&](std::size_t b, std::size_t j0, std::size_t nj) {
    const std::size_t r0 = b * rt.rb, nr = std::min(rt.rb, g.rows - r0);
    T.stats_rows(x + r0 * C + j0, nr, C, nj, &ws1[b * C + j0], &ws2[b * C + j0]);
  };
  // Channels [c0, c0 + nc), nc <= kSlab: merge the blocks in order, finish the channels.
  auto merge_slab = [&](std::size_t c0, std::size_t nc) {
    double k0[kSlab], s1[kSlab], s2[kSlab];
    double n = static_cast<double>(std::min(rt.rb, g.rows));
    for (std::size_t j = 0; j < nc; ++j) {
      k0[j] = x[c0 + j];
      s1[j] = ws1[c0 + j];
      s2[j] = ws2[c0 + j];
    }
    for (std::size_t b = 1; b < rt.nb; ++b) {
      const std::size_t r0 = b * rt.rb;
      const double nb = static_cast<double>(std::min(rt.rb, g.rows - r0));
      const float* kb = x + r0 * C + c0;
      const double* w1 = &ws1[b * C + c0];
      const double* w2 = &ws2[b * C + c0];
      for (std::size_t j = 0; j < nc; ++j) {
        const double dd = static_cast<double>(kb[j]) - k0[j];
        s2[j] += w2[j] + dd * (2.0 * w1[j] + nb * dd);
        s1[j] += w1[j] + nb * dd;
      }
      n += nb;
    }
    for (std::size_t j = 0; j < nc; ++j)
      finish_channel(p, c0 + j, n, k0[j], s1[j], s2[j], &cm[c0 + j], &ca[c0 + j],
                     &cbv[c0 + j]);
  };
  auto normalize = [&](std::size_t r0, std::size_t nr, std::size_t j0, std::size_t nj) {
    const std::size_t o = r0 * C + j0;
    T.norm_rows(x + o, y + o, relu_mask ? relu_mask + o : nullptr, nr, C, nj, &cm[j0], &ca[j0],
                &cbv[j0], relu);
  };
  // (Keeping a slab of channels in L2 between the passes, as the NCHW path keeps a channel, was
  // measured slower: the slab's rows are strided, and the prefetchers lose more than L2 saves.)
  const std::size_t nslab = (C + kSlab - 1) / kSlab;
  region(threads, [&](bool par) {
    for_each(par, rt.count(), [&](std::size_t t) {
      const std::size_t b = t / rt.ns, j0 = (t % rt.ns) * rt.sw;
      block_stats(b, j0, std::min(rt.sw, C - j0));
    });
    for_each(par, nslab, [&](std::size_t sl) {
      merge_slab(sl * kSlab, std::min(kSlab, C - sl * kSlab));
    });
    for_each_reversed(par, rt.count(), [&](std::size_t t) {
      const std::size_t b = t / rt.ns, j0 = (t % rt.ns) * rt.sw;
      const std::size_t r0 = b * rt.rb;
      normalize(r0, std::min(rt.rb, g.rows - r0), j0, std::min(rt.sw, C - j0));
    });
  });
}

// -------------------------------------------------------------------------- forward inference

void batchnorm_forward_inference(const BatchNormDesc& d, const float* x, float* y,
                                 const float* gamma, const float* beta, const float* mean,
                                 const float* var) {
  const char* fn = "batchnorm_forward_inference";
  const Geo g = check_desc(fn, d);
  detail::check_ptr(fn, "x", x, g.total);
  detail::check_ptr(fn, "y", y, g.total);
  if (d.use_scale) detail::check_ptr(fn, "gamma", gamma, g.C);
  if (d.use_shift) detail::check_ptr(fn, "beta", beta, g.C);
  detail::check_ptr(fn, "mean", mean, g.C);
  detail::check_ptr(fn, "var", var, g.C);
  const std::size_t cb = g.C * F;
  check_buffers(fn,
                {{"y", y, g.total * F, true},
                 {"x", x, g.total * F, false},
                 {"gamma", d.use_scale ? gamma : nullptr, cb, false},
                 {"beta", d.use_shift ? beta : nullptr, cb, false},
                 {"mean", mean, cb, false},
                 {"var", var, cb, false}},
                {{"y", "x"}});
  if (g.total == 0) return;

  const k::BatchNormTable& T = table();
  const int relu = (d.fuse_relu ? 1 : 0) | stream_flag(g, y);
  Scratch& sc = scratch(0, 2 * g.C);
  float *ca = sc.f.data(), *cbv = ca + g.C;
  for (std::size_t c = 0; c < g.C; ++c) {
    const double gm = d.use_scale ? static_cast<double>(gamma[c]) : 1.0;
    ca[c] = static_cast<float>(
        gm / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(d.eps)));
    cbv[c] = d.use_shift ? beta[c] : 0.0f;
  }
  if (g.planes && g.C > 1) {
    // NCHW in memory order: image n's channels one after another, split across threads.
    const std::size_t C = g.C, hw = g.hw;
    detail::parallel_ranges(g.np * C, std::max<std::size_t>(1, kMinPerThread / hw), 1,
                            [&](std::size_t q0, std::size_t q1) {
                              while (q0 < q1) {
                                const std::size_t c = q0 % C, cnt = std::min(q1 - q0, C - c);
                                T.norm_seq(x + q0 * hw, y + q0 * hw, cnt, hw, mean + c, ca + c,
                                           cbv + c, relu);
                                q0 += cnt;
                              }
                            });
    return;
  }
  if (g.planes) {  // C = 1: one run
    detail::parallel_ranges(g.hw, kMinPerThread, 64, [&](std::size_t i0, std::size_t i1) {
      T.norm_planes(x + i0, y + i0, nullptr, 1, i1 - i0, i1 - i0, mean[0], ca[0], cbv[0], relu);
    });
    return;
  }
  const std::size_t C = g.C;
  detail::parallel_ranges(g.rows, std::max<std::size_t>(1, kMinPerThread / C), 1,
                          [&](std::size_t r0, std::size_t r1) {
                            T.norm_rows(x + r0 * C, y + r0 * C, nullptr, r1 - r0, C, C, mean,
                                        ca, cbv, relu);
                          });
}

// ------------------------------------------------------------------------------------ backward

void batchnorm_backward(const BatchNormDesc& d, const float* x, const float* dy,
                        const float* save_mean, const float* save_invstd, const float* gamma,
                        float* dx, float* dgamma, float* dbeta, const float* relu_y,
                        const std::uint8_t* relu_mask) {
  const char* fn = "batchnorm_backward";
  const Geo g = check_desc(fn, d);
  if (g.C > 0 && g.M == 0)
    fail(fn, "d.n * d.h * d.w is 0: the batch statistics need at least one value per channel");
  detail::check_ptr(fn, "x", x, g.total);
  detail::check_ptr(fn, "dy", dy, g.total);
  detail::check_ptr(fn, "dx", dx, g.total);
  detail::check_ptr(fn, "save_mean", save_mean, g.C);
  detail::check_ptr(fn, "save_invstd", save_invstd, g.C);
  if (d.use_scale) detail::check_ptr(fn, "gamma", gamma, g.C);
  if (d.fuse_relu) {
    if (!relu_y && !relu_mask && g.total > 0)
      fail(fn, "relu_y and relu_mask are both null with d.fuse_relu (give one of them)");
    if (relu_y && relu_mask) fail(fn, "relu_y and relu_mask are both given (give one of them)");
  } else if (relu_y || relu_mask) {
    fail(fn, std::string(relu_y ? "relu_y" : "relu_mask") + " is given but d.fuse_relu is false");
  }
  const std::size_t cb = g.C * F;
  check_buffers(fn,
                {{"dx", dx, g.total * F, true},
                 {"x", x, g.total * F, false},
                 {"dy", dy, g.total * F, false},
                 {"relu_y", relu_y, g.total * F, false},
                 {"relu_mask", relu_mask, g.total, false},
                 {"save_mean", save_mean, cb, false},
                 {"save_invstd", save_invstd, cb, false},
                 {"gamma", d.use_scale ? gamma : nullptr, cb, false},
                 {"dgamma", dgamma, cb, true},
                 {"dbeta", dbeta, cb, true}},
                {{"dx", "x"}, {"dx", "dy"}, {"dx", "relu_y"}});
  if (g.total == 0) return;

  const k::BatchNormTable& T = table();
  const int relu = !d.fuse_relu ? k::kBnPlain : relu_y ? k::kBnReluY : k::kBnReluMask;
  const int wr = relu | stream_flag(g, dx);  // the dx kernels' mode
  const double M = static_cast<double>(g.M);
  // Channel c's constants of dx = (x - m) * bx + (g * bg + cc), from its three sums.
  auto finish = [&](std::size_t c, double sdy, double sdyx, double sx, float* bg, float* bx,
                    float* cc) {
    const double s = static_cast<double>(save_invstd[c]);
    const double gm = d.use_scale ? static_cast<double>(gamma[c]) : 1.0;
    const double delta = sx / M;            // mean(x) - save_mean
    const double gxc = sdyx - delta * sdy;  // sum(g * (x - mean))
    if (dgamma) dgamma[c] = static_cast<float>(gxc * s);
    if (dbeta) dbeta[c] = static_cast<float>(sdy);
    const double a = gm * s;
    const double b = -(a * s * s) * gxc / M;
    *bg = static_cast<float>(a);
    *bx = static_cast<float>(b);
    *cc = static_cast<float>(-a * sdy / M - b * delta);
  };
  const int threads = detail::threads_for(g.total, kMinPerThread);

  if (g.planes) {
    const Pieces ps = pieces_of(g);
    auto piece_sums = [&](std::size_t c, std::size_t i, double out[3]) {
      const Piece pc = piece(g, ps, i);
      const std::size_t o = c * g.coff + pc.off;
      T.bwd_reduce_planes(x + o, dy + o, relu_y ? relu_y + o : nullptr,
                          relu_mask ? relu_mask + o : nullptr, pc.planes, g.pstride, pc.len,
                          save_mean[c], relu, out);
    };
    if (threads <= 1 || g.C >= 4 * static_cast<std::size_t>(threads)) {
      region(threads, [&](bool par) {
        for_each(par, g.C, [&](std::size_t c) {
          double s0 = 0, s1 = 0, s2 = 0;
          for (std::size_t i = 0; i < ps.count; ++i) {
            double out[3];
            piece_sums(c, i, out);
            s0 += out[0], s1 += out[1], s2 += out[2];
          }
          float bg, bx, cc;
          finish(c, s0, s1, s2, &bg, &bx, &cc);
          const std::size_t o = c * g.coff;
          T.bwd_dx_planes(x + o, dy + o, relu_y ? relu_y + o : nullptr,
                          relu_mask ? relu_mask + o : nullptr, dx + o, g.np, g.pstride, g.hw,
                          save_mean[c], bg, bx, cc, wr);
        });
      });
    } else {
      const std::size_t tasks = g.C * ps.count;
      Scratch& sc = scratch(3 * tasks, 3 * g.C);
      double* ws = sc.d.data();
      float *cbg = sc.f.data(), *cbx = cbg + g.C, *ccc = cbx + g.C;
      region(threads, [&](bool par) {
        for_each(par, tasks, [&](std::size_t t) {
          piece_sums(t / ps.count, t % ps.count, &ws[3 * t]);
        });
        for_each(par, g.C, [&](std::size_t c) {
          double s0 = 0, s1 = 0, s2 = 0;
          for (std::size_t i = 0; i < ps.count; ++i) {
            const double* w = &ws[3 * (c * ps.count + i)];
            s0 += w[0], s1 += w[1], s2 += w[2];
          }
          finish(c, s0, s1, s2, &cbg[c], &cbx[c], &ccc[c]);
        });
        for_each_reversed(par, tasks, [&](std::size_t t) {
          const std::size_t c = t / ps.count;
          const Piece pc = piece(g, ps, t % ps.count);
          const std::size_t o = c * g.coff + pc.off;
          T.bwd_dx_planes(x + o, dy + o, relu_y ? relu_y + o : nullptr,
                          relu_mask ? relu_mask + o : nullptr, dx + o, pc.planes, g.pstride,
                          pc.len, save_mean[c], cbg[c], cbx[c], ccc[c], wr);
        });
      });
    }
    return;
  }

  const std::size_t C = g.C;
  const RowTasks rt = row_tasks(g, threads);
  Scratch& sc = scratch(3 * rt.nb * C, 3 * C);
  double* ws = sc.d.data();
  float *cbg = sc.f.data(), *cbx = cbg + C, *ccc = cbx + C;
  auto block_sums = [&](std::size_t b, std::size_t j0, std::size_t nj) {
    const std::size_t r0 = b * rt.rb, nr = std::min(rt.rb, g.rows - r0);
    const std::size_t o = r0 * C + j0;
    double* w = &ws[3 * b * C + j0];
    T.bwd_reduce_rows(x + o, dy + o, relu_y ? relu_y + o : nullptr,
                      relu_mask ? relu_mask + o : nullptr, nr, C, nj, save_mean + j0, relu, w,
                      w + C, w + 2 * C);
  };
  auto merge_slab = [&](std::size_t c0, std::size_t nc) {
    double s0[kSlab] = {}, s1[kSlab] = {}, s2[kSlab] = {};
    for (std::size_t b = 0; b < rt.nb; ++b) {
      const double* w = &ws[3 * b * C + c0];
      for (std::size_t j = 0; j < nc; ++j) {
        s0[j] += w[j];
        s1[j] += w[C + j];
        s2[j] += w[2 * C + j];
      }
    }
    for (std::size_t j = 0; j < nc; ++j)
      finish(c0 + j, s0[j], s1[j], s2[j], &cbg[c0 + j], &cbx[c0 + j], &ccc[c0 + j]);
  };
  auto grad = [&](std::size_t r0, std::size_t nr, std::size_t j0, std::size_t nj) {
    const std::size_t o = r0 * C + j0;
    T.bwd_dx_rows(x + o, dy + o, relu_y ? relu_y + o : nullptr,
                  relu_mask ? relu_mask + o : nullptr, dx + o, nr, C, nj, save_mean + j0,
                  &cbg[j0], &cbx[j0], &ccc[j0], wr);
  };
  const std::size_t nslab = (C + kSlab - 1) / kSlab;
  region(threads, [&](bool par) {
    for_each(par, rt.count(), [&](std::size_t t) {
      const std::size_t b = t / rt.ns, j0 = (t % rt.ns) * rt.sw;
      block_sums(b, j0, std::min(rt.sw, C - j0));
    });
    for_each(par, nslab, [&](std::size_t sl) {
      merge_slab(sl * kSlab, std::min(kSlab, C - sl * kSlab));
    });
    for_each_reversed(par, rt.count(), [&](std::size_t t) {
      const std::size_t b = t / rt.ns, j0 = (t % rt.ns) * rt.sw;
      const std::size_t r0 = b * rt.rb;
      grad(r0, std::min(rt.rb, g.rows - r0), j0, std::min(rt.sw, C - j0));
    });
  });
}

}  // namespace simdgrad
