#pragma once
// The batch-normalization family's kernel table (one per ISA). Plain data: no xsimd.
//
// Two shapes of work, both written for every ISA:
//  - "planes" (NCHW): `planes` contiguous runs of `len` floats, plane p starting at p * stride;
//    vectorized along the run (the spatial dimension of one channel). One call covers one chunk
//    of one channel; its scalar per-channel constants come by value.
//  - "rows" (NHWC, NC): `rows` rows of `nch` channels, row r starting at r * ld; vectorized across
//    the channels (contiguous). Per-channel constants and results are arrays of nch values.
// x, y, dy, dx, relu_y and the byte masks share one layout, so one offset addresses them all.
//
// Relu modes: forward kRelu applies max(y, 0) (and writes `mask` bytes, 1 where y > 0, when it is
// not null); backward kReluY takes g = dy where relu_y > 0, kReluMask where mask[i] != 0.
#include <cstddef>
#include <cstdint>

namespace simdgrad::kernels {

enum BnRelu : int { kBnPlain = 0, kBnReluY = 1, kBnReluMask = 2 };
/// OR-ed into the relu argument of the kernels that write y or dx: write the output with
/// non-temporal stores. The caller guarantees that every whole-vector store is 64-byte aligned
/// (output 64-byte aligned, run and row strides multiples of 16 floats).
constexpr int kBnStream = 8;

/// Statistics of one chunk about its shift K = x[0]: out[0] = sum(x - K), out[1] = sum((x - K)^2).
using BnStatsPlanesFn = void (*)(const float* x, std::size_t planes, std::size_t stride,
                                 std::size_t len, double out[2]);
/// y = (x - m) * a + b, then ReLU when relu != 0 (mask optional, only with relu).
using BnNormPlanesFn = void (*)(const float* x, float* y, std::uint8_t* mask, std::size_t planes,
                                std::size_t stride, std::size_t len, float m, float a, float b,
                                int relu);
/// `planes` consecutive runs of `len` floats (run q at q * len), run q normalized with m[q], a[q],
/// b[q] as BnNormPlanesFn does (no mask): NCHW in memory order, one image's channels after another.
using BnNormSeqFn = void (*)(const float* x, float* y, std::size_t planes, std::size_t len,
                             const float* m, const float* a, const float* b, int relu);
/// out[0] = sum(g), out[1] = sum(g * (x - m)), out[2] = sum(x - m); g as `relu` (BnRelu) says.
using BnBwdReducePlanesFn = void (*)(const float* x, const float* dy, const float* relu_y,
                                     const std::uint8_t* mask, std::size_t planes,
                                     std::size_t stride, std::size_t len, float m, int relu,
                                     double out[3]);
/// dx = (x - m) * bx + (g * bg + c).
using BnBwdDxPlanesFn = void (*)(const float* x, const float* dy, const float* relu_y,
                                 const std::uint8_t* mask, float* dx, std::size_t planes,
                                 std::size_t stride, std::size_t len, float m, float bg, float bx,
                                 float c, int relu);

/// Per channel j < nch, about the shift K[j] = x[j] (the first row):
/// s1[j] = sum_r(x - K), s2[j] = sum_r((x - K)^2).
using BnStatsRowsFn = void (*)(const float* x, std::size_t rows, std::size_t ld, std::size_t nch,
                               double* s1, double* s2);
/// y = (x - m[j]) * a[j] + b[j], then ReLU when relu != 0.
using BnNormRowsFn = void (*)(const float* x, float* y, std::uint8_t* mask, std::size_t rows,
                              std::size_t ld, std::size_t nch, const float* m, const float* a,
                              const float* b, int relu);
/// sdy[j] = sum(g), sdyx[j] = sum(g * (x - m[j])), sx[j] = sum(x - m[j]).
using BnBwdReduceRowsFn = void (*)(const float* x, const float* dy, const float* relu_y,
                                   const std::uint8_t* mask, std::size_t rows, std::size_t ld,
                                   std::size_t nch, const float* m, int relu, double* sdy,
                                   double* sdyx, double* sx);
/// dx = (x - m[j]) * bx[j] + (g * bg[j] + c[j]).
using BnBwdDxRowsFn = void (*)(const float* x, const float* dy, const float* relu_y,
                               const std::uint8_t* mask, float* dx, std::size_t rows,
                               std::size_t ld, std::size_t nch, const float* m, const float* bg,
                               const float* bx, const float* c, int relu);

struct BatchNormTable {
  BnStatsPlanesFn stats_planes;
  BnNormPlanesFn norm_planes;
  BnNormSeqFn norm_seq;
  BnBwdReducePlanesFn bwd_reduce_planes;
  BnBwdDxPlanesFn bwd_dx_planes;
  BnStatsRowsFn stats_rows;
  BnNormRowsFn norm_rows;
  BnBwdReduceRowsFn bwd_reduce_rows;
  BnBwdDxRowsFn bwd_dx_rows;
};

}  // namespace simdgrad::kernels
