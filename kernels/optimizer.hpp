// Optimizer update kernels: one fused pass per update, each element's param, grad and state
// loaded once and stored once. Included inside the ISA namespace after simd.hpp and reduce.hpp.
// The formulas (and their torch.optim origin) are in include/simdgrad/optimizer.hpp; each
// variant V is a compile-time set of kernels/optimizer_table.hpp's bits.
//
// The arrays of one call are pairwise disjoint (src/optimizer.cpp checks it), so a vector's
// loads and stores may be ordered freely. Multiply-adds are explicit fmadd (fused where the ISA
// has FMA); sqrt and division are the IEEE vector instructions (vsqrt, vdiv): no libm call in
// any loop.

/// Loads and stores of one whole vector.
struct FullIO {
  static vf ld(const float* p) { return load(p); }
  static void st(float* p, vf v) { store(p, v); }
};
/// Loads and stores of the first k < kW lanes (the loaded padding lanes are zero).
struct TailIO {
  std::size_t k;
  vf ld(const float* p) const { return load_partial(p, k); }
  void st(float* p, vf v) const { store_partial(p, v, k); }
};

/// body(i, io) for every vector of [0, n): two per iteration, then the last whole one and the
/// partial tail. With an anchor (the array the kernel stores to), a partial head first brings
/// anchor + i to a vector boundary, so that the whole vectors after it neither load nor store
/// across cache lines wherever the caller's arrays share the anchor's alignment (tensors carved
/// from one arena at odd offsets: 64-byte loads at 4-byte offsets split a line every time). For
/// element-wise kernels only: the split of the elements does not change any element's result.
template <class Body>
inline void for_each_vector(std::size_t n, Body&& body, const float* anchor = nullptr) {
  std::size_t i = 0;
#if !defined(SIMDGRAD_ISA_SCALAR)
  if (anchor) {
    const std::size_t mis = (reinterpret_cast<std::uintptr_t>(anchor) / sizeof(float)) % kW;
    const std::size_t head = mis ? kW - mis : 0;
    if (head != 0 && n > head + 2 * kW &&
        reinterpret_cast<std::uintptr_t>(anchor) % sizeof(float) == 0) {
      body(std::size_t{0}, TailIO{head});
      i = head;
    }
  }
#endif
  for (; i + 2 * kW <= n; i += 2 * kW) {
    body(i, FullIO{});
    body(i + kW, FullIO{});
  }
  if (i + kW <= n) {
    body(i, FullIO{});
    i += kW;
  }
  if (i < n) body(i, TailIO{n - i});
}

/// torch's lerp(self, end, w) with the call's constants (see LerpConsts).
struct Lerp {
  vf coeff;
  vm from_end;
  explicit Lerp(const LerpConsts& c)
      : coeff(splat(c.coeff)), from_end(splat(c.from_end) > splat(0.0f)) {}
  vf operator()(vf self, vf end) const {
    return fmadd(coeff, end - self, select(from_end, end, self));
  }
};

// ------------------------------------------------------------------------------------- SGD

template <unsigned V>
void sgd_kernel(const SgdConsts& k, float* p, const float* g, float* buf, std::size_t n) {
  constexpr bool first = (V & kOptFirst) != 0;
  constexpr bool wd = (V & kSgdWd) != 0;
  constexpr unsigned mode = V / kSgdModeUnit;  // 0 plain, 1 momentum, 2 Nesterov
  const vf gs = splat(k.gscale), wdv = splat(k.weight_decay), mom = splat(k.momentum),
           omd = splat(k.one_minus_dampening), nlr = splat(k.neg_lr);
  for_each_vector(n, [&](std::size_t i, auto io) {
    vf gv = io.ld(g + i) * gs;
    const vf pv = io.ld(p + i);
    if constexpr (wd) gv = fmadd(wdv, pv, gv);
    if constexpr (mode != 0) {
      vf b;
      if constexpr (first) b = gv;
      else b = fmadd(io.ld(buf + i), mom, gv * omd);
      io.st(buf + i, b);
      if constexpr (mode == 2) gv = fmadd(mom, b, gv);
      else gv = b;
    }
    io.st(p + i, fmadd(nlr, gv, pv));
  }, p);
}

// ------------------------------------------------------------------------------ Adam/AdamW

template <unsigned V>
void adam_kernel(const AdamConsts& k, float* p, const float* g, float* m, float* v, float* vmax,
                 std::size_t n) {
  constexpr bool first = (V & kOptFirst) != 0;
  constexpr bool ams = (V & kAdamAmsgrad) != 0;
  constexpr unsigned wd = V / kAdamWdUnit;  // 0 none, 1 L2, 2 decoupled
  const Lerp lerp(k.m_lerp);
  const vf gs = splat(k.gscale), wdv = splat(k.weight_decay), dec = splat(k.decay),
           b2 = splat(k.beta2), c2 = splat(k.one_minus_beta2),
           nss = splat(k.neg_step_size), bc2s = splat(k.bc2_sqrt), eps = splat(k.eps),
           zero = splat(0.0f);
  for_each_vector(n, [&](std::size_t i, auto io) {
    vf gv = io.ld(g + i) * gs;
    const vf pv = io.ld(p + i);
    if constexpr (wd == 1) gv = fmadd(wdv, pv, gv);
    vf mv = first ? zero : io.ld(m + i);
    vf vv = first ? zero : io.ld(v + i);
    mv = lerp(mv, gv);
    vv = fmadd(c2 * gv, gv, vv * b2);
    vf s = vv;
    if constexpr (ams) {
      if constexpr (!first) s = max_nan(io.ld(vmax + i), vv);
      io.st(vmax + i, s);
    }
    const vf denom = vdiv(vsqrt(s), bc2s) + eps;
    const vf u = vdiv(nss * mv, denom);
    vf pn;
    if constexpr (wd == 2) pn = fmadd(pv, dec, u);
    else pn = pv + u;
    io.st(m + i, mv);
    io.st(v + i, vv);
    io.st(p + i, pn);
  }, p);
}

// --------------------------------------------------------------------------------- RMSprop

template <unsigned V>
void rmsprop_kernel(const RmspropConsts& k, float* p, const float* g, float* sq, float* buf,
                    float* gavg, std::size_t n) {
  constexpr bool first = (V & kOptFirst) != 0;
  constexpr bool wd = (V & kRmsWd) != 0;
  constexpr bool centered = (V & kRmsCentered) != 0;
  constexpr bool momentum = (V & kRmsMomentum) != 0;
  const Lerp lerp(k.avg_lerp);
  const vf gs = splat(k.gscale), wdv = splat(k.weight_decay), al = splat(k.alpha),
           oma = splat(k.one_minus_alpha), eps = splat(k.eps), mom = splat(k.momentum),
           nlr = splat(k.neg_lr), zero = splat(0.0f);
  for_each_vector(n, [&](std::size_t i, auto io) {
    vf gv = io.ld(g + i) * gs;
    const vf pv = io.ld(p + i);
    if constexpr (wd) gv = fmadd(wdv, pv, gv);
    vf s = first ? zero : io.ld(sq + i);
    s = fmadd(oma * gv, gv, s * al);
    io.st(sq + i, s);
    vf avg;
    if constexpr (centered) {
      vf ga = first ? zero : io.ld(gavg + i);
      ga = lerp(ga, gv);
      io.st(gavg + i, ga);
      avg = vsqrt(fnmadd(ga, ga, s));
    } else {
      avg = vsqrt(s);
    }
    avg = avg + eps;
    if constexpr (momentum) {
      vf b = first ? zero : io.ld(buf + i);
      b = fmadd(b, mom, vdiv(gv, avg));
      io.st(buf + i, b);
      io.st(p + i, fmadd(nlr, b, pv));
    } else {
      io.st(p + i, pv + vdiv(nlr * gv, avg));
    }
  }, p);
}

// --------------------------------------------------------------------------------- Adagrad

template <unsigned V>
void adagrad_kernel(const AdagradConsts& k, float* p, const float* g, float* sum,
                    std::size_t n) {
  constexpr bool first = (V & kOptFirst) != 0;
  constexpr bool wd = (V & kAdagradWd) != 0;
  const vf gs = splat(k.gscale), wdv = splat(k.weight_decay), init = splat(k.initial),
           eps = splat(k.eps), nclr = splat(k.neg_clr);
  for_each_vector(n, [&](std::size_t i, auto io) {
    vf gv = io.ld(g + i) * gs;
    const vf pv = io.ld(p + i);
    if constexpr (wd) gv = fmadd(wdv, pv, gv);
    vf s = first ? init : io.ld(sum + i);
    s = fmadd(gv, gv, s);
    io.st(sum + i, s);
    const vf sd = vsqrt(s) + eps;
    io.st(p + i, pv + vdiv(nclr * gv, sd));
  }, p);
}

// ------------------------------------------------------------------------------------ LAMB

/// LAMB's update direction u = (m / bc1) / (sqrt(v) / sqrt(bc2) + eps) [+ weight_decay * p],
/// evaluated as (m * (1 / bc1)) / fma(sqrt(v), 1 / sqrt(bc2), eps): one division per element (LAMB
/// is not a torch.optim rule, so there is no torch rounding to follow; the double reference is
/// met all the same).
template <bool Wd>
inline vf lamb_direction(vf pv, vf mv, vf vv, vf rbc1, vf rbc2s, vf eps, vf wdv) {
  vf u = vdiv(mv * rbc1, fmadd(vsqrt(vv), rbc2s, eps));
  if constexpr (Wd) u = fmadd(wdv, pv, u);
  return u;
}

template <unsigned V>
void lamb_norms_kernel(const LambConsts& k, const float* p, const float* g, float* m, float* v,
                       std::size_t n, double* p_sq, double* u_sq) {
  constexpr bool first = (V & kOptFirst) != 0;
  constexpr bool wd = (V & kLambWd) != 0;
  const Lerp lerp(k.m_lerp);
  const vf gs = splat(k.gscale), b2 = splat(k.beta2),
           c2 = splat(k.one_minus_beta2), bc1 = splat(k.rbc1), bc2s = splat(k.rbc2_sqrt),
           eps = splat(k.eps), wdv = splat(k.weight_decay), zero = splat(0.0f);
  vd p0(0.0), p1(0.0), u0(0.0), u1(0.0);
  for_each_vector(n, [&](std::size_t i, auto io) {
    const vf gv = io.ld(g + i) * gs;
    const vf pv = io.ld(p + i);
    vf mv = first ? zero : io.ld(m + i);
    vf vv = first ? zero : io.ld(v + i);
    mv = lerp(mv, gv);
    vv = fmadd(c2 * gv, gv, vv * b2);
    io.st(m + i, mv);
    io.st(v + i, vv);
    // Padding lanes of a tail are zeros: u = 0 / (0 + eps) = 0 there, adding nothing.
    const vf u = lamb_direction<wd>(pv, mv, vv, bc1, bc2s, eps, wdv);
    add_sq_d(p0, p1, pv);
    add_sq_d(u0, u1, u);
  });
  *p_sq += hsum_d(p0 + p1);
  *u_sq += hsum_d(u0 + u1);
}

template <unsigned V>
void lamb_apply_kernel(const LambConsts& k, float neg_lr_trust, float* p, const float* m,
                       const float* v, std::size_t n) {
  constexpr bool wd = (V & kLambWd) != 0;
  const vf bc1 = splat(k.rbc1), bc2s = splat(k.rbc2_sqrt), eps = splat(k.eps),
           wdv = splat(k.weight_decay), step = splat(neg_lr_trust);
  for_each_vector(n, [&](std::size_t i, auto io) {
    const vf pv = io.ld(p + i);
    const vf u = lamb_direction<wd>(pv, io.ld(m + i), io.ld(v + i), bc1, bc2s, eps, wdv);
    io.st(p + i, fmadd(step, u, pv));
  }, p);
}

// ------------------------------------------------------------------------------ table fill

template <unsigned V>
inline void fill_sgd(SgdFn* t) {
  t[V] = sgd_kernel<V>;
  if constexpr (V > 0) fill_sgd<V - 1>(t);
}
template <unsigned V>
inline void fill_adam(AdamFn* t) {
  t[V] = adam_kernel<V>;
  if constexpr (V > 0) fill_adam<V - 1>(t);
}
template <unsigned V>
inline void fill_rmsprop(RmspropFn* t) {
  t[V] = rmsprop_kernel<V>;
  if constexpr (V > 0) fill_rmsprop<V - 1>(t);
}
template <unsigned V>
inline void fill_adagrad(AdagradFn* t) {
  t[V] = adagrad_kernel<V>;
  if constexpr (V > 0) fill_adagrad<V - 1>(t);
}
template <unsigned V>
inline void fill_lamb(LambNormsFn* norms, LambApplyFn* apply) {
  norms[V] = lamb_norms_kernel<V>;
  apply[V] = lamb_apply_kernel<V>;
  if constexpr (V > 0) fill_lamb<V - 1>(norms, apply);
}
