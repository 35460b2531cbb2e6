// Element-wise loop drivers: any length, any alignment, in place allowed (each vector is loaded
// before its result is stored). An Op provides fwd(x), bwd(x, dy) and, where it exists,
// bwd_y(y, dy), all on vf. Four independent vectors per iteration hide the latency of the longer
// formulas; the tail runs the same formula on a partial vector.
//
// Outputs larger than a core's L2 (kStreamElems, per call of a driver: per thread) that do not
// overwrite an input are written with non-temporal stores: they would leave the cache before they
// are read again anyway, and streaming them saves the read-for-ownership of each output line
// (3 memory streams instead of 4 in backward, 2 instead of 3 in forward). A head is peeled so
// that the streamed stores are aligned. The values are the same either way.

/// Elements from which one driver call streams its output (2 MiB of floats).
constexpr std::size_t kStreamElems = std::size_t{1} << 19;

/// On the streamed (memory-bound) path the inputs are also prefetched (simd.hpp prefetch_ahead,
/// 2 KiB ahead): with a formula of a few dozen instructions per vector the loop otherwise waits
/// for memory and computes in turn (measured: elu and hardswish at 16M ran at
/// 1 / (1 / compute rate + 1 / copy rate)).
template <bool NT>
inline void prefetch4(const float* p) {
  if constexpr (NT) prefetch_ahead(p, 4 * kW);
}

/// Whether out[0..n) is streamed: large, 4-byte aligned, and not one of the inputs.
inline bool stream_output(const float* out, std::size_t n, const float* in0, const float* in1) {
  return n >= kStreamElems && out != in0 && out != in1 &&
         reinterpret_cast<std::uintptr_t>(out) % sizeof(float) == 0;
}

/// Elements before out + k is aligned to the vector size (0 .. kW - 1).
inline std::size_t align_head(const float* out) {
  const std::size_t mis = (reinterpret_cast<std::uintptr_t>(out) / sizeof(float)) % kW;
  return mis ? kW - mis : 0;
}

template <bool NT, class Op>
void eltwise_fwd_body(const Op& op, const float* x, float* y, std::size_t i, std::size_t n) {
  for (; i + 4 * kW <= n; i += 4 * kW) {
    prefetch4<NT>(x + i);
    const vf a = load(x + i), b = load(x + i + kW), c = load(x + i + 2 * kW),
             d = load(x + i + 3 * kW);
    store_maybe_stream<NT>(y + i, op.fwd(a));
    store_maybe_stream<NT>(y + i + kW, op.fwd(b));
    store_maybe_stream<NT>(y + i + 2 * kW, op.fwd(c));
    store_maybe_stream<NT>(y + i + 3 * kW, op.fwd(d));
  }
  for (; i + kW <= n; i += kW) store_maybe_stream<NT>(y + i, op.fwd(load(x + i)));
  if (i < n) store_partial(y + i, op.fwd(load_partial(x + i, n - i)), n - i);
}

template <class Op>
void eltwise_fwd(const Op& op, const float* x, float* y, std::size_t n) {
  if (stream_output(y, n, x, x)) {
    const std::size_t h = align_head(y);
    if (h) store_partial(y, op.fwd(load_partial(x, h)), h);
    eltwise_fwd_body<true>(op, x, y, h, n);
    stream_fence();
  } else {
    eltwise_fwd_body<false>(op, x, y, 0, n);
  }
}

/// The backward drivers' body: out = f(u, dy) with u = x or y, on [i, n).
template <bool NT, class F>
void eltwise_binary_body(const F& f, const float* u, const float* dy, float* dx, std::size_t i,
                         std::size_t n) {
  for (; i + 4 * kW <= n; i += 4 * kW) {
    prefetch4<NT>(u + i);
    prefetch4<NT>(dy + i);
    const vf a = load(u + i), b = load(u + i + kW), c = load(u + i + 2 * kW),
             d = load(u + i + 3 * kW);
    const vf ga = load(dy + i), gb = load(dy + i + kW), gc = load(dy + i + 2 * kW),
             gd = load(dy + i + 3 * kW);
    store_maybe_stream<NT>(dx + i, f(a, ga));
    store_maybe_stream<NT>(dx + i + kW, f(b, gb));
    store_maybe_stream<NT>(dx + i + 2 * kW, f(c, gc));
    store_maybe_stream<NT>(dx + i + 3 * kW, f(d, gd));
  }
  for (; i + kW <= n; i += kW) store_maybe_stream<NT>(dx + i, f(load(u + i), load(dy + i)));
  if (i < n) {
    const std::size_t k = n - i;
    store_partial(dx + i, f(load_partial(u + i, k), load_partial(dy + i, k)), k);
  }
}

template <class F>
void eltwise_binary(const F& f, const float* u, const float* dy, float* dx, std::size_t n) {
  if (stream_output(dx, n, u, dy)) {
    const std::size_t h = align_head(dx);
    if (h) store_partial(dx, f(load_partial(u, h), load_partial(dy, h)), h);
    eltwise_binary_body<true>(f, u, dy, dx, h, n);
    stream_fence();
  } else {
    eltwise_binary_body<false>(f, u, dy, dx, 0, n);
  }
}

/// dx = dy f'(x).
template <class Op>
void eltwise_bwd(const Op& op, const float* x, const float* dy, float* dx, std::size_t n) {
  eltwise_binary([&op](vf a, vf g) { return op.bwd(a, g); }, x, dy, dx, n);
}

/// dx = dy f'(x) from y = f(x).
template <class Op>
void eltwise_bwd_y(const Op& op, const float* y, const float* dy, float* dx, std::size_t n) {
  eltwise_binary([&op](vf a, vf g) { return op.bwd_y(a, g); }, y, dy, dx, n);
}

// Table entry points: build the Op from alpha, run the driver.
template <class Op>
void fwd_entry(const float* x, float* y, std::size_t n, float alpha) {
  eltwise_fwd(Op(alpha), x, y, n);
}
template <class Op>
void bwd_entry(const float* x, const float* dy, float* dx, std::size_t n, float alpha) {
  eltwise_bwd(Op(alpha), x, dy, dx, n);
}
template <class Op>
void bwd_y_entry(const float* y, const float* dy, float* dx, std::size_t n, float alpha) {
  eltwise_bwd_y(Op(alpha), y, dy, dx, n);
}
