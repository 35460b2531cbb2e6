// Activation functors on vf: fwd(x), bwd(x, dy) and, where f' is a function of y, bwd_y(y, dy).
// Included inside the ISA namespace after simd.hpp and math.hpp. The GEMM epilogue and fused
// batch-norm kernels reuse these, so an activation is written once for every family.
//
// NaN rules, the same for every op: a NaN x gives a NaN y; in backward a NaN x or dy gives NaN dx.

struct ReluOp {
  explicit ReluOp(float = 0.0f) {}
  // x <= 0 is false for NaN, so NaN passes through; relu(-0) = +0.
  vf fwd(vf x) const { return select(x <= splat(0.0f), splat(0.0f), x); }
  vf bwd(vf x, vf dy) const {
    const vf r = select(x > splat(0.0f), dy, dy * splat(0.0f));
    return select(is_nan(x), x, r);
  }
  vf bwd_y(vf y, vf dy) const { return bwd(y, dy); }
};

struct LeakyReluOp {
  float alpha;
  explicit LeakyReluOp(float a) : alpha(a) {}
  vf fwd(vf x) const { return select(x > splat(0.0f), x, x * splat(alpha)); }
  vf bwd(vf x, vf dy) const {
    const vf r = select(x > splat(0.0f), dy, dy * splat(alpha));
    return select(is_nan(x), x, r);
  }
  // Valid for alpha > 0 (sign of y is the sign of x).
  vf bwd_y(vf y, vf dy) const { return bwd(y, dy); }
};

struct HardswishOp {
  explicit HardswishOp(float = 0.0f) {}
  // y = x * clamp(x + 3, 0, 6) / 6. x + 3 is exact near the kink at -3 (no cancellation);
  // exactly 0 for x <= -3 (also for -inf), x for x >= 3.
  vf fwd(vf x) const {
    vf s = x + splat(3.0f);
    s = select(s < splat(0.0f), splat(0.0f), s);
    s = select(s > splat(6.0f), splat(6.0f), s);
    const vf y = (x * s) * splat(1.0f / 6.0f);
    return select(x <= splat(-3.0f), splat(0.0f), select(x >= splat(3.0f), x, y));
  }
  // dy/dx = 0 for x <= -3, 1 for x >= 3, (2x + 3)/6 = (x + 1.5)/3 between (oneDNN's convention
  // at the two kinks).
  vf bwd(vf x, vf dy) const {
    const vf d = (x + splat(1.5f)) * splat(1.0f / 3.0f);
    vf r = select(x >= splat(3.0f), dy, dy * d);
    r = select(x <= splat(-3.0f), dy * splat(0.0f), r);
    return select(is_nan(x), x, r);
  }
};
