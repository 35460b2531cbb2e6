#pragma once
// Independent scalar references for the random family: Philox-4x32-10 written from the
// algorithm's definition (Salmon et al., SC'11) in a different shape from the library's (the key
// is bumped before each round after the first), the stream layout of include/simdgrad/random.hpp,
// and the uniform/normal transforms evaluated in double. Shared by tests and benchmarks.
#include <array>
#include <cmath>
#include <cstdint>

namespace sgref {

/// Philox-4x32 with R rounds.
template <int R = 10>
inline std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> x,
                                               std::array<std::uint32_t, 2> k) {
  const std::uint64_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < R; ++round) {
    if (round > 0) {
      k[0] = static_cast<std::uint32_t>(k[0] + W0);
      k[1] = static_cast<std::uint32_t>(k[1] + W1);
    }
    const std::uint64_t a = M0 * x[0];  // x[0], x[2] are uint32: the products fit in 64 bits
    const std::uint64_t b = M1 * x[2];
    const std::uint32_t a_hi = static_cast<std::uint32_t>(a >> 32), a_lo = static_cast<std::uint32_t>(a);
    const std::uint32_t b_hi = static_cast<std::uint32_t>(b >> 32), b_lo = static_cast<std::uint32_t>(b);
    x = {b_hi ^ x[1] ^ k[0], b_lo, a_hi ^ x[3] ^ k[1], a_lo};
  }
  return x;
}

/// Word e of the stream `seed`: word (e % 64) / 16 of the block with counter
/// q = (e / 64) * 16 + e % 16 and key = seed.
inline std::uint32_t stream_word(std::uint64_t seed, std::uint64_t e) {
  const std::uint64_t q = (e / 64) * 16 + e % 16;
  const auto blk = philox4x32({static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(q >> 32),
                               0u, 0u},
                              {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  return blk[(e % 64) / 16];
}

/// The uniform value of a word: (w >> 8) * 2^-24, exact.
inline float unit24(std::uint32_t w) { return static_cast<float>(w >> 8) * 0x1p-24f; }

/// The Box-Muller radius input: float((w >> 1)) * 2^-31 + 2^-32, rounded to float.
inline float unit_open(std::uint32_t w) {
  const float a = static_cast<float>(static_cast<std::int32_t>(w >> 1)) * 0x1p-31f;  // exact
  return static_cast<float>(static_cast<double>(a) + 0x1p-32);
}

/// lo + width * u as the library rounds it: float product, then float sum (computed in double
/// and rounded, which is the correctly rounded float result: double has > 2 * 24 + 2 bits).
/// (volatile: the compiler may otherwise fold the casts into float operations and contract them
/// into a fused multiply-add, as GCC does for aarch64.)
inline float uniform_value(std::uint32_t w, float lo, float width) {
  const volatile float p = static_cast<float>(static_cast<double>(unit24(w)) * width);
  return static_cast<float>(static_cast<double>(p) + lo);
}

/// The standard normal at stream position e, Box-Muller in double on the same inputs.
inline double normal_value(std::uint64_t seed, std::uint64_t e) {
  const std::uint64_t base = e - (e % 64) % 32 + (e % 16);  // position of the radius word
  const std::uint64_t angle = base + 16;                      // position of the angle word
  const double u1 = unit_open(stream_word(seed, base));
  const double u2 = unit24(stream_word(seed, angle));
  const double r = std::sqrt(-2.0 * std::log(u1));
  // 2 pi u2 = k pi/2 + 2 pi f with f exact, so that cos(pi/2) is 0, not cos(double(pi/2)).
  const double k = std::nearbyint(4.0 * u2);
  const double t = 2.0 * 3.14159265358979323846 * (u2 - k / 4.0);
  const double s = std::sin(t), c = std::cos(t);
  const int q = static_cast<int>(k) & 3;
  const double sn = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
  const double cs = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
  return ((e % 32) < 16) ? r * cs : r * sn;
}

/// Standard normal CDF.
inline double norm_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace sgref
