// Softmax and loss kernels on vf. Included inside the ISA namespace after simd.hpp.
//
// Sums over a row or a block use 16 partial sums whatever the vector width (one vector on
// AVX-512, two on AVX2, four on SSE2/NEON, sixteen floats on scalar), folded in one fixed tree at
// the end: ISAs of the same formula family (fused: avx2, avx512, neon; unfused: sse2, scalar on
// x86-64) give the same bits, and the thread count never changes a result.
//
// The exponentials and logarithms are this file's own (loss_exp_neg, loss_exp, loss_log): the
// polynomials were fitted by Remez for this library; their accuracy is in docs/random.md.

constexpr std::size_t kLossGroup = 16;               // elements per group of partial sums
constexpr std::size_t kLossVecs = kLossGroup / kW;   // vectors per group

/// Lanes [0, k) of a vector (k <= kW).
inline vm loss_first_lanes(std::size_t k) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return k != 0;
#else
  alignas(64) static const float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return vf::load_aligned(iota) < splat(static_cast<float>(k));
#endif
}

inline float loss_lane0(vf v) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return v;
#else
  alignas(64) float b[kW];
  v.store_aligned(b);
  return b[0];
#endif
}

/// The fixed fold of 16 partial sums: b[i] += b[i + s] for s = 8, 4, 2, 1.
inline float loss_fold16(const vf* acc) {
  alignas(64) float b[kLossGroup];
  for (std::size_t g = 0; g < kLossVecs; ++g) store(b + g * kW, acc[g]);
  for (std::size_t s = kLossGroup / 2; s > 0; s /= 2)
    for (std::size_t i = 0; i < s; ++i) b[i] += b[i + s];
  return b[0];
}

inline float loss_hmax(vf v) {
#if defined(SIMDGRAD_ISA_SCALAR)
  return v;
#else
  alignas(64) float b[kW];
  v.store_aligned(b);
  float m = b[0];
  for (std::size_t i = 1; i < kW; ++i) m = b[i] > m ? b[i] : m;
  return m;
#endif
}

// ------------------------------------------------------------------ exp / log

/// e^x for x <= 88 (used for x <= 0: the arguments x - max of softmax): x = n ln2 + r, |r| <= ln2/2 (Cody-Waite),
/// e^r = 1 + r + r^2 P(r), P of degree 4 (Remez, relative error 3.1e-9), times 2^n by exponent
/// bits. 0 below -87.3365 (where e^x < FLT_MIN) and for -inf; NaN passes; exactly 1 at 0.
inline vf loss_exp_neg(vf x) {
  const vf xc = select(x < splat(-88.0f), splat(-88.0f), x);
  const vf n = round_near(xc * splat(1.44269504f));
  vf r = fnmadd(n, splat(0.693145751953125f), xc);
  r = fnmadd(n, splat(1.42860677e-06f), r);
  vf p = splat(1.381461276e-03f);
  p = fmadd(p, r, splat(8.368710056e-03f));
  p = fmadd(p, r, splat(4.166838899e-02f));
  p = fmadd(p, r, splat(1.666652113e-01f));
  p = fmadd(p, r, splat(4.999999404e-01f));
  const vf y = fmadd(r * r, p, r) + splat(1.0f);
  return select(x < splat(-87.33654f), splat(0.0f), y * pow2i(n));
}

/// e^x for any x: e^(x - 88) * e^88 above 88 (where 2^n would overflow the exponent field),
/// +inf above 88.72283 (where e^x > FLT_MAX).
inline vf loss_exp(vf x) {
  const vf big = splat(88.0f);
  const vm hi = x > big;
  const vf r = loss_exp_neg(select(hi, x - big, x));
  return select(x > splat(88.72283f), splat(INFINITY), select(hi, r * splat(1.6516363e+38f), r));
}

/// log(x) for x > 0 finite normal (here: x >= 1): x = 2^e m, m in [sqrt(1/2), sqrt(2)),
/// log m = t + t^2 Q(t), t = m - 1, Q of degree 8 (Remez, relative error 4.1e-9). NaN passes.
inline vf loss_log(vf x) {
  const vi ix = to_bits(x) - vi(0x3f3504f3);
  const vi e = sra(ix, 23);
  const vf t = from_bits((ix & vi(0x007fffff)) + vi(0x3f3504f3)) - splat(1.0f);
  vf q = splat(-7.62177906e-02f);
  q = fmadd(q, t, splat(1.29044336e-01f));
  q = fmadd(q, t, splat(-1.32429876e-01f));
  q = fmadd(q, t, splat(1.41818251e-01f));
  q = fmadd(q, t, splat(-1.66090826e-01f));
  q = fmadd(q, t, splat(2.00019739e-01f));
  q = fmadd(q, t, splat(-2.50015830e-01f));
  q = fmadd(q, t, splat(3.33333257e-01f));
  q = fmadd(q, t, splat(-4.99999883e-01f));
  const vf lg = fmadd(t * t, q, t);
  const vf ef = to_float(e);
  const vf r = fmadd(ef, splat(0.693145751953125f), fmadd(ef, splat(1.42860677e-06f), lg));
  return select(is_nan(x), x, r);
}

// ------------------------------------------------------------------ element-wise losses

/// BCE with logits: l = (x >= 0 ? x (1 - y) : -x y) + log1p(e), e = e^-|x|;
/// g = sigmoid(x) - y, sigmoid = 1/(1+e) or e/(1+e). log1p(e) = log(u) + (e - (u - 1)) / u,
/// u = 1 + e (the rounding error of u is exact), one division shared with the sigmoid.
struct LossBceOp {
  void operator()(vf x, vf y, vf& l, vf& g) const {
    const vf e = loss_exp_neg(splat(0.0f) - vabs(x));
    const vf one = splat(1.0f);
    const vf u = one + e;
    const vf inv = vdiv(one, u);  // IEEE on every ISA (xsimd's / is not on NEON)
    const vf lp = fmadd(e - (u - one), inv, loss_log(u));
    const vm pos = x >= splat(0.0f);
    l = select(pos, x * (one - y), (splat(0.0f) - x) * y) + lp;
    g = select(pos, inv, e * inv) - y;
  }
};

struct LossMseOp {
  void operator()(vf x, vf y, vf& l, vf& g) const {
    const vf d = x - y;
    l = d * d;
    g = d + d;
  }
};

/// Sum of op's element losses over [0, n) in groups of 256 (16 partial sums each, folded, then
/// added in double); dx = gscale * g when kGrad.
template <class Op, bool kGrad>
double loss_elementwise(const float* x, const float* y, std::size_t n, float gscale, float* dx) {
  const Op op;
  const vf gs = splat(gscale), zero = splat(0.0f);
  double total = 0;
  for (std::size_t i0 = 0; i0 < n; i0 += 256) {
    const std::size_t len = (n - i0 < 256) ? n - i0 : 256;
    vf acc[kLossVecs];
    for (std::size_t g = 0; g < kLossVecs; ++g) acc[g] = zero;
    std::size_t j = i0;
    for (; j + kLossGroup <= i0 + len; j += kLossGroup)
      for (std::size_t g = 0; g < kLossVecs; ++g) {
        const std::size_t k = j + g * kW;
        vf l, gr;
        op(load(x + k), load(y + k), l, gr);
        acc[g] = acc[g] + l;
        if (kGrad) store(dx + k, gr * gs);
      }
    for (std::size_t g = 0; g < kLossVecs && j + g * kW < i0 + len; ++g) {
      const std::size_t k = j + g * kW;
      const std::size_t cnt = (i0 + len - k < kW) ? i0 + len - k : kW;
      vf l, gr;
      op(load_partial(x + k, cnt), load_partial(y + k, cnt), l, gr);
      acc[g] = acc[g] + select(loss_first_lanes(cnt), l, zero);
      if (kGrad) store_partial(dx + k, gr * gs, cnt);
    }
    total += static_cast<double>(loss_fold16(acc));
  }
  return total;
}

template <class Op>
double loss_elementwise_entry(const float* x, const float* y, std::size_t n, float gscale,
                              float* dx) {
  return dx ? loss_elementwise<Op, true>(x, y, n, gscale, dx)
            : loss_elementwise<Op, false>(x, y, n, gscale, nullptr);
}

// ------------------------------------------------------------------ row passes

/// max over a row (NaN may or may not win; a NaN row gives NaN later through the sums).
inline float loss_row_max(const float* x, std::size_t c) {
  vf m = splat(-INFINITY);
  std::size_t j = 0;
  for (; j + kW <= c; j += kW) {
    const vf v = load(x + j);
    m = select(v > m, v, m);
  }
  if (j < c) {
    const vf v = select(loss_first_lanes(c - j), load_partial(x + j, c - j), splat(-INFINITY));
    m = select(v > m, v, m);
  }
  return loss_hmax(m);
}

/// Calls f(k, v, valid, cnt) for the vectors of a row of c elements in groups of 16: v = the
/// vector at element k, g = its slot among the 16 partial sums; the last vectors are partial
/// (cnt < kW lanes loaded, the rest 0).
template <class F>
inline void loss_row_groups(const float* x, std::size_t c, F&& f) {
  std::size_t j = 0;
  for (; j + kLossGroup <= c; j += kLossGroup)
    for (std::size_t g = 0; g < kLossVecs; ++g) f(j + g * kW, g, load(x + j + g * kW), kW);
  for (std::size_t g = 0; g < kLossVecs && j + g * kW < c; ++g) {
    const std::size_t k = j + g * kW;
    const std::size_t cnt = (c - k < kW) ? c - k : kW;
    f(k, g, load_partial(x + k, cnt), cnt);
  }
}

/// sum_j e^(x_j - m) into s (storing e^(x_j - m) to e when e is not null), and sum_j (m - x_j)
/// into d when kDiff.
template <bool kDiff>
inline void loss_row_expsum(const float* x, std::size_t c, float m, float* e, float& s,
                            float& d) {
  const vf mv = splat(m), zero = splat(0.0f);
  vf as[kLossVecs], ad[kLossVecs];
  for (std::size_t g = 0; g < kLossVecs; ++g) as[g] = ad[g] = zero;
  loss_row_groups(x, c, [&](std::size_t k, std::size_t g, vf v, std::size_t cnt) {
    vf ev = loss_exp_neg(v - mv);
    vf dv = mv - v;
    if (cnt < kW) {
      const vm ok = loss_first_lanes(cnt);
      ev = select(ok, ev, zero);
      dv = select(ok, dv, zero);
      if (e) store_partial(e + k, ev, cnt);
    } else if (e) {
      store(e + k, ev);
    }
    as[g] = as[g] + ev;
    if (kDiff) ad[g] = ad[g] + dv;
  });
  s = loss_fold16(as);
  d = kDiff ? loss_fold16(ad) : 0.0f;
}

inline float loss_log_scalar(float s) { return loss_lane0(loss_log(splat(s))); }

/// y = a * y + b over a row, in place.
inline void loss_row_affine(float* y, std::size_t c, float a, float b) {
  const vf av = splat(a), bv = splat(b);
  std::size_t j = 0;
  for (; j + kW <= c; j += kW) store(y + j, fmadd(load(y + j), av, bv));
  if (j < c) store_partial(y + j, fmadd(load_partial(y + j, c - j), av, bv), c - j);
}

template <bool kLog>
void loss_softmax_rows_t(const float* x, std::size_t ldx, float* y, std::size_t ldy,
                         std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    const float m = loss_row_max(xr, cols);
    float s, d;
    if (!kLog) {
      loss_row_expsum<false>(xr, cols, m, yr, s, d);
      loss_row_affine(yr, cols, 1.0f / s, 0.0f);
    } else {
      loss_row_expsum<false>(xr, cols, m, nullptr, s, d);
      const vf mv = splat(m), lv = splat(loss_log_scalar(s));
      std::size_t j = 0;
      for (; j + kW <= cols; j += kW) store(yr + j, (load(xr + j) - mv) - lv);
      if (j < cols)
        store_partial(yr + j, (load_partial(xr + j, cols - j) - mv) - lv, cols - j);
    }
  }
}

void loss_softmax_rows(const float* x, std::size_t ldx, float* y, std::size_t ldy,
                       std::size_t rows, std::size_t cols, int log) {
  if (log)
    loss_softmax_rows_t<true>(x, ldx, y, ldy, rows, cols);
  else
    loss_softmax_rows_t<false>(x, ldx, y, ldy, rows, cols);
}

template <bool kLog>
void loss_softmax_bwd_rows_t(const float* y, std::size_t ldy, const float* dy, std::size_t lddy,
                             float* dx, std::size_t lddx, std::size_t rows, std::size_t cols) {
  const vf zero = splat(0.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* yr = y + r * ldy;
    const float* gr = dy + r * lddy;
    float* xr = dx + r * lddx;
    vf acc[kLossVecs];
    for (std::size_t g = 0; g < kLossVecs; ++g) acc[g] = zero;
    // sum_j dy_j y_j (softmax) or sum_j dy_j (log-softmax); partial lanes load as 0.
    loss_row_groups(gr, cols, [&](std::size_t k, std::size_t g, vf v, std::size_t cnt) {
      if (kLog) {
        acc[g] = acc[g] + v;
      } else {
        const vf yv = cnt < kW ? load_partial(yr + k, cnt) : load(yr + k);
        acc[g] = fmadd(v, yv, acc[g]);
      }
    });
    const vf sv = splat(loss_fold16(acc));
    auto grad = [&sv](vf yv, vf gv) { return kLog ? fnmadd(loss_exp(yv), sv, gv) : (gv - sv) * yv; };
    std::size_t j = 0;
    for (; j + kW <= cols; j += kW) store(xr + j, grad(load(yr + j), load(gr + j)));
    if (j < cols) {
      const std::size_t k = cols - j;
      store_partial(xr + j, grad(load_partial(yr + j, k), load_partial(gr + j, k)), k);
    }
  }
}

void loss_softmax_bwd_rows(const float* y, std::size_t ldy, const float* dy, std::size_t lddy,
                           float* dx, std::size_t lddx, std::size_t rows, std::size_t cols,
                           int log) {
  if (log)
    loss_softmax_bwd_rows_t<true>(y, ldy, dy, lddy, dx, lddx, rows, cols);
  else
    loss_softmax_bwd_rows_t<false>(y, ldy, dy, lddy, dx, lddx, rows, cols);
}

double loss_cross_entropy_rows(const float* x, std::size_t ldx, const std::int32_t* targets,
                               std::size_t rows, std::size_t cols, float eps, float gscale,
                               float* dx, std::size_t lddx) {
  double total = 0;
  const double w_target = 1.0 - static_cast<double>(eps);
  const double w_mean = static_cast<double>(eps) / static_cast<double>(cols);
  const float gb = -(gscale * (eps / static_cast<float>(cols)));
  const float gt = gscale * (1.0f - eps);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* er = dx ? dx + r * lddx : nullptr;
    const std::size_t t = static_cast<std::size_t>(targets[r]);
    const float xt = xr[t];  // read before the row is overwritten (dx may be x)
    const float m = loss_row_max(xr, cols);
    float s, d;
    loss_row_expsum<true>(xr, cols, m, er, s, d);
    total += static_cast<double>(loss_log_scalar(s)) +
             w_target * (static_cast<double>(m) - static_cast<double>(xt)) +
             w_mean * static_cast<double>(d);
    if (er) {
      loss_row_affine(er, cols, gscale / s, gb);
      er[t] -= gt;
    }
  }
  return total;
}
