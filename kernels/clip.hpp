// Element-wise clipping kernels: scale by the clip coefficient, clamp by value. Included inside
// the ISA namespace after simd.hpp. In place; any length and alignment.

inline void scale_kernel(float* x, std::size_t n, float s) {
  const vf sv = splat(s);
  std::size_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const vf a = load(x + i), b = load(x + i + kW);
    store(x + i, a * sv);
    store(x + i + kW, b * sv);
  }
  for (; i + kW <= n; i += kW) store(x + i, load(x + i) * sv);
  if (i < n) store_partial(x + i, load_partial(x + i, n - i) * sv, n - i);
}

/// clamp(x, lo, hi) with NaN kept (both compares are false for NaN).
inline vf clamp_v(vf x, vf lo, vf hi) { return select(x < lo, lo, select(x > hi, hi, x)); }

inline void clamp_kernel(float* x, std::size_t n, float lo, float hi) {
  const vf l = splat(lo), h = splat(hi);
  std::size_t i = 0;
  for (; i + 2 * kW <= n; i += 2 * kW) {
    const vf a = load(x + i), b = load(x + i + kW);
    store(x + i, clamp_v(a, l, h));
    store(x + i + kW, clamp_v(b, l, h));
  }
  for (; i + kW <= n; i += kW) store(x + i, clamp_v(load(x + i), l, h));
  if (i < n) store_partial(x + i, clamp_v(load_partial(x + i, n - i), l, h), n - i);
}
