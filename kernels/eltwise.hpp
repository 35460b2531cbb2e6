// Element-wise loop drivers: any length, any alignment, in place allowed (each vector is loaded
// before its result is stored). An Op provides fwd(x), bwd(x, dy) and, where it exists,
// bwd_y(y, dy), all on vf. Four independent vectors per iteration hide the latency of the longer
// formulas; the tail runs the same formula on a partial vector.

template <class Op>
void eltwise_fwd(const Op& op, const float* x, float* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    const vf a = load(x + i), b = load(x + i + kW), c = load(x + i + 2 * kW),
             d = load(x + i + 3 * kW);
    store(y + i, op.fwd(a));
    store(y + i + kW, op.fwd(b));
    store(y + i + 2 * kW, op.fwd(c));
    store(y + i + 3 * kW, op.fwd(d));
  }
  for (; i + kW <= n; i += kW) store(y + i, op.fwd(load(x + i)));
  if (i < n) store_partial(y + i, op.fwd(load_partial(x + i, n - i)), n - i);
}

template <class Op>
void eltwise_bwd(const Op& op, const float* x, const float* dy, float* dx, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    const vf a = load(x + i), b = load(x + i + kW), c = load(x + i + 2 * kW),
             d = load(x + i + 3 * kW);
    const vf ga = load(dy + i), gb = load(dy + i + kW), gc = load(dy + i + 2 * kW),
             gd = load(dy + i + 3 * kW);
    store(dx + i, op.bwd(a, ga));
    store(dx + i + kW, op.bwd(b, gb));
    store(dx + i + 2 * kW, op.bwd(c, gc));
    store(dx + i + 3 * kW, op.bwd(d, gd));
  }
  for (; i + kW <= n; i += kW) store(dx + i, op.bwd(load(x + i), load(dy + i)));
  if (i < n) {
    const std::size_t k = n - i;
    store_partial(dx + i, op.bwd(load_partial(x + i, k), load_partial(dy + i, k)), k);
  }
}

template <class Op>
void eltwise_bwd_y(const Op& op, const float* y, const float* dy, float* dx, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    const vf a = load(y + i), b = load(y + i + kW), c = load(y + i + 2 * kW),
             d = load(y + i + 3 * kW);
    const vf ga = load(dy + i), gb = load(dy + i + kW), gc = load(dy + i + 2 * kW),
             gd = load(dy + i + 3 * kW);
    store(dx + i, op.bwd_y(a, ga));
    store(dx + i + kW, op.bwd_y(b, gb));
    store(dx + i + 2 * kW, op.bwd_y(c, gc));
    store(dx + i + 3 * kW, op.bwd_y(d, gd));
  }
  for (; i + kW <= n; i += kW) store(dx + i, op.bwd_y(load(y + i), load(dy + i)));
  if (i < n) {
    const std::size_t k = n - i;
    store_partial(dx + i, op.bwd_y(load_partial(y + i, k), load_partial(dy + i, k)), k);
  }
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
