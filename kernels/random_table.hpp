#pragma once
// The random family's kernel table (one per ISA): Philox-4x32-10 stream fills, truncated normal,
// dropout. Plain data: no xsimd, included anywhere.
#include <cstddef>
#include <cstdint>

namespace simdgrad::kernels {

/// The ten round keys of Philox-4x32-10 for one seed (key + r * Weyl constants).
struct PhiloxKey {
  std::uint32_t k0[10];
  std::uint32_t k1[10];
};

/// A truncated normal in standard units: sample z from N(0, 1) restricted to [alpha, beta] by
/// rejection with the proposal `mode`, then out = clamp(mean + scale * z, lo, hi)
/// (scale = -stddev when the interval was mirrored to put it in the upper tail).
struct TruncNormalSpec {
  int mode;          // 0: normal proposal; 1: uniform on [alpha, beta]; 2: exponential (alpha > 0)
  float alpha, beta;
  float width;       // beta - alpha (mode 1)
  float x0sq;        // (the point of [alpha, beta] nearest 0)^2 (mode 1)
  float lambda;      // rate of the exponential proposal (mode 2)
  float inv_lambda;  // 1 / lambda
  float mean, scale, lo, hi;
};

/// Attempts per element before the rejection loop gives up (then the last proposal is clamped
/// into [lo, hi]). With an acceptance rate of at least 0.3 this happens with probability < 1e-150.
constexpr int kTruncMaxAttempts = 1024;

using RandBitsFn = void (*)(const PhiloxKey& key, std::uint64_t offset, std::uint32_t* out,
                            std::size_t n);
using RandUniformFn = void (*)(const PhiloxKey& key, std::uint64_t offset, float* out,
                               std::size_t n, float lo, float width);
using RandNormalFn = void (*)(const PhiloxKey& key, std::uint64_t offset, float* out,
                              std::size_t n, float mean, float stddev);
using RandTruncFn = void (*)(const PhiloxKey& key, const TruncNormalSpec& spec,
                             std::uint64_t offset, float* out, std::size_t n);
/// y = x * (u >= p ? scale : 0); mask (may be null) gets bit i for element i (byte-aligned start).
using DropoutFn = void (*)(const PhiloxKey& key, std::uint64_t offset, float p, float scale,
                           const float* x, float* y, std::size_t n, std::uint8_t* mask);
/// dx = dy * (bit i ? scale : 0).
using DropoutMaskFn = void (*)(const std::uint8_t* mask, float scale, const float* dy, float* dx,
                               std::size_t n);

struct RandomTable {
  RandBitsFn bits;
  RandUniformFn uniform;
  RandNormalFn normal;
  RandTruncFn trunc_normal;
  DropoutFn dropout;
  DropoutMaskFn dropout_mask;
};

}  // namespace simdgrad::kernels
