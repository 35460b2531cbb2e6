#pragma once
// Counter-based random numbers (Philox-4x32-10), weight initialization and dropout, fp32.
//
// The stream. A seed names a stream of 32-bit words; a position in it is an element index
// (the offset). The word at position e is word j of the Philox-4x32-10 block
//   counter = (lo32(q), hi32(q), 0, 0),  key = (lo32(seed), hi32(seed)),
//   q = (e / 64) * 16 + (e % 16),  j = (e % 64) / 16,
// so every value is a function of (seed, e) only: the same numbers for any thread count, any
// ISA, any way a fill is split into calls (a fill of n1 then n2 values from offset o equals one
// fill of n1 + n2 values from o).
//
// The transforms (written without fused multiply-adds, so that every ISA, x86-64 and aarch64,
// gives the same bits):
//   uniform  u(e) = (w(e) >> 8) * 2^-24 in [0, 1);  random_uniform returns lo + (hi - lo) * u(e)
//            (hi itself only where the rounding of that expression reaches it).
//   normal   Box-Muller on the pairs of words (j = 0, 1) and (j = 2, 3) of one block:
//            r = sqrt(-2 log(v)), v = (w(e0) >> 1) * 2^-31 + 2^-32 in (0, 1],
//            z(e0) = r cos(2 pi u(e1)), z(e1) = r sin(2 pi u(e1)); |z| <= 6.67.
//            log, sin and cos are simdgrad's own polynomials (no libm); the normal values are
//            within a few ULP of Box-Muller evaluated in double on the same words (docs/random.md).
//   dropout  element e is kept iff u(e) >= p.
//
// Any length and alignment. Errors throw simdgrad::error before anything is written.
#include <array>
#include <cstddef>
#include <cstdint>

namespace simdgrad {

/// A position in a random stream: the seed (Philox key) and the element index of the first value.
struct RandomStream {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
};

/// Hands out consecutive, non-overlapping pieces of one stream: take(n) returns the current
/// position and advances it by n, so that successive fills never reuse a value.
class Generator {
 public:
  explicit Generator(std::uint64_t seed, std::uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  /// The current position; then advances by n. Throws simdgrad::error past 2^64 values.
  RandomStream take(std::uint64_t n);
  std::uint64_t seed() const noexcept { return seed_; }
  std::uint64_t offset() const noexcept { return offset_; }
  void set_offset(std::uint64_t offset) noexcept { offset_ = offset; }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_;
};

/// The Philox-4x32-10 block function (Salmon et al., SC'11; Random123's philox4x32 with 10
/// rounds), one block on the calling thread. Reproduces Random123's known-answer vectors.
std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter,
                                           std::array<std::uint32_t, 2> key) noexcept;

/// out[i] = w(s.offset + i): the raw 32-bit words of the stream.
void random_bits(RandomStream s, std::uint32_t* out, std::size_t n);

/// out[i] = lo + (hi - lo) * u(s.offset + i). lo < hi, both finite, hi - lo finite.
void random_uniform(RandomStream s, float* out, std::size_t n, float lo = 0.0f, float hi = 1.0f);

/// out[i] = mean + stddev * z(s.offset + i). mean finite, stddev finite and >= 0.
void random_normal(RandomStream s, float* out, std::size_t n, float mean = 0.0f,
                   float stddev = 1.0f);

/// Normal(mean, stddev) restricted to [a, b] (absolute bounds, as torch.nn.init.trunc_normal_):
/// exact rejection sampling per element (the attempt number is part of the Philox counter, so
/// the result does not depend on threads or ISA), with the proposal chosen for the interval:
/// the normal itself, a uniform on [a, b], or a translated exponential for intervals in one tail
/// (Robert 1995); every interval accepts at least ~30% of proposals. mean finite, stddev > 0
/// finite, a < b (either may be infinite). Uses the stream's positions [offset, offset + n) in a
/// counter domain of its own (it does not share values with random_uniform/random_normal).
void trunc_normal(RandomStream s, float* out, std::size_t n, float mean = 0.0f,
                  float stddev = 1.0f, float a = -2.0f, float b = 2.0f);

// ------------------------------------------------------------------------------ initialization

/// The fans of a weight tensor as PyTorch computes them: for a Linear weight [out, in]
/// fan_in = in, fan_out = out; for a convolution weight [out, in, k...] both are multiplied by
/// the receptive field (the product of the kernel sizes).
struct Fans {
  std::size_t fan_in = 0;
  std::size_t fan_out = 0;
};
/// Fans of a weight with out_features rows of in_features * receptive_field values.
Fans fans_of(std::size_t out_features, std::size_t in_features, std::size_t receptive_field = 1);

enum class FanMode : int { fan_in = 0, fan_out = 1 };

/// The nonlinearities of torch.nn.init.calculate_gain (linear also stands for the conv layers).
enum class Nonlinearity : int { linear = 0, sigmoid, tanh, relu, leaky_relu, selu };

/// torch.nn.init.calculate_gain: linear, sigmoid 1; tanh 5/3; relu sqrt(2);
/// leaky_relu sqrt(2 / (1 + slope^2)) (slope = param, finite); selu 3/4.
/// Throws simdgrad::error for a value outside the enum.
float calculate_gain(Nonlinearity nl, float param = 0.01f);

/// Xavier/Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
void xavier_uniform(RandomStream s, float* w, std::size_t n, Fans fans, float gain = 1.0f);
/// Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal(RandomStream s, float* w, std::size_t n, Fans fans, float gain = 1.0f);
/// He/Kaiming uniform: U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nl, a),
/// fan = fans.fan_in or fans.fan_out by mode. Defaults as torch.nn.init.kaiming_uniform_.
void kaiming_uniform(RandomStream s, float* w, std::size_t n, Fans fans, float a = 0.0f,
                     FanMode mode = FanMode::fan_in,
                     Nonlinearity nl = Nonlinearity::leaky_relu);
/// He/Kaiming normal: N(0, std^2), std = gain / sqrt(fan).
void kaiming_normal(RandomStream s, float* w, std::size_t n, Fans fans, float a = 0.0f,
                    FanMode mode = FanMode::fan_in, Nonlinearity nl = Nonlinearity::leaky_relu);

// ------------------------------------------------------------------------------------ dropout

/// Inverted dropout: y[i] = x[i] * (keep(i) ? 1 / (1 - p) : 0), keep(i) = u(s.offset + i) >= p.
/// (A dropped element is x * 0, as in PyTorch: -0 for negative x, NaN for NaN or inf.)
/// p in [0, 1). y == x (in place) is allowed. If mask is not null it receives the keep bits:
/// bit i % 8 of mask[i / 8] (ceil(n / 8) bytes, the unused high bits of the last byte zero).
void dropout_forward(RandomStream s, float p, const float* x, float* y, std::size_t n,
                     std::uint8_t* mask = nullptr);
/// dx[i] = dy[i] * (keep(i) ? 1 / (1 - p) : 0), the mask regenerated from the same (seed,
/// offset) as the forward: no mask storage. dx == dy is allowed.
void dropout_backward(RandomStream s, float p, const float* dy, float* dx, std::size_t n);
/// The same from the bits dropout_forward stored.
void dropout_backward(const std::uint8_t* mask, float p, const float* dy, float* dx,
                      std::size_t n);

}  // namespace simdgrad
