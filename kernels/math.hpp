// Vectorized elementary functions on vf, one formula for every ISA. Included inside the ISA
// namespace after simd.hpp.
//
// Everything here is written in the simd.hpp vocabulary only (no xsimd math), branch free, so
// that the ISAs with fused multiply-adds (avx2, avx512, neon) give the same bits, and sse2 and
// scalar x86-64 (unfused) give the same bits as each other. Where a step must be exact
// (two_prod, the residuals below) the fused and unfused ISAs use different instructions for the
// same exact value.
//
// exp: Cody-Waite range reduction z = n ln2 + r, |r| <= ln2/2, with ln2 split so that n*kLn2Hi is
// exact for |n| < 512 (kLn2Hi has 15 significant bits) and z - n*kLn2Hi is exact (Sterbenz); n is
// rounded with the 1.5*2^23 shifter, whose low mantissa bits then hold n + bias, so 2^n comes from
// the exponent bits directly. e^r - 1 = r + r^2 q(r) keeps the small part apart from the 1, so
// e^z = s + s p1 (s = 2^n) is rounded once, and its rounding error (the residual) is exact.
//
// tanh, gelu_erf: piecewise polynomials, 8 pieces (half binades of a + offset, a = |x|), the
// coefficients picked per lane by an 8-entry table lookup (lut8).
//
// Coefficients: minimax fits of the relative error (Lawson's iteratively reweighted least squares
// on a dense grid in double precision), rounded to float one at a time from the lowest order up,
// re-fitting the remaining ones after each rounding; docs/accuracy.md has the script. The fit
// errors quoted are those of the polynomials with the float coefficients, in exact arithmetic.
// The accuracy of each activation, measured over all fp32 inputs: docs/accuracy.md.

namespace mathc {
constexpr float kLog2e = 1.44269502f;
constexpr float kLn2Hi = 0.693145751953125f;         // 0x3f317200
constexpr float kLn2Lo = 1.42860677e-06f;            // ln2 - kLn2Hi
constexpr float kShifter = 12582912.0f;              // 1.5 * 2^23
constexpr float kTwo64 = 18446744073709551616.0f;    // 2^64
constexpr float kTwoM64 = 5.42101086242752217e-20f;  // 2^-64
constexpr float kInvSqrt2Pi = 0.398942292f;          // 1/sqrt(2 pi)

// e^r - 1 = r + r^2 q(r), |r| <= 0.3468: fit error 1.4e-08 relative to e^r - 1
constexpr float kExpm1Q[5] = {0.49999997f, 0.166665465f, 0.0416674353f, 0.00836626161f, 0.00138706609f};
// log(1 + e) = 2s + 2s^3 R(s^2), s = e / (2 + e) in [0, 1/3]: fit error 4.5e-09
constexpr float kLog1pR[4] = {0.333332062f, 0.200108916f, 0.139986038f, 0.140182093f};
// tanh(a), a in [0, 9.25]; pieces start at a = 0 0.25 0.75 1.25 2.25 3.25 5.25 7.25; fit error 3.2e-08 relative
alignas(32) constexpr float kTanhP[8][8] = {
    {0.0f, 0.244918659f, 0.635148942f, 0.848283648f, 0.978026092f, 0.996997654f, 0.999944925f, 0.999998987f},
    {1.0f, 0.940014839f, 0.59658581f, 0.280416667f, 0.0434649102f, 0.00599457882f, 0.000110144487f, 2.01643797e-06f},
    {-3.88099402e-08f, -0.230223298f, -0.378898114f, -0.237924516f, -0.042499233f, -0.00596391363f, -0.000109685359f, -1.47250171e-06f},
    {-0.333330423f, -0.25697732f, 0.0413549319f, 0.108799659f, 0.0269932467f, 0.00389894587f, 7.09931992e-05f, -1.12018472e-06f},
    {-7.19054733e-05f, 0.139339775f, 0.103256389f, -0.0146669662f, -0.0120081948f, -0.00181941199f, -3.16226215e-05f, 3.58964144e-06f},
    {0.134132966f, 0.0766465142f, -0.0773705244f, -0.0145609062f, 0.00351466448f, 0.000595956342f, 9.19833474e-06f, -3.24159578e-06f},
    {-0.00427718507f, -0.0879072472f, 0.0255529247f, 0.00978231337f, -0.000464061974f, -0.000122253885f, -1.4992105e-06f, 1.30501485e-06f},
    {-0.0444244705f, 0.0218198597f, -0.00486612087f, -0.00210380857f, -2.98071936e-05f, 1.16129677e-05f, 9.48029921e-08f, -1.98550751e-07f},
};
// gelu_erf, with Q(a) = P(N(0,1) > a) = erfc(a/sqrt2)/2: x Phi(x) = x - a Q(a) (x >= 0) or
// -a Q(a) (x < 0), a = |x|, and a Q(a) = e^(-a^2/2) M(a). M and G = M/a are smooth and bounded.
// M(a) = a Q(a) e^(a^2/2), a in [0, 15]; pieces start at a = 0 0.5 1 2 3 5 7 11; fit error 3.7e-08 relative
alignas(32) constexpr float kGeluM[8][8] = {
    {0.0f, 0.174809411f, 0.261578292f, 0.336203992f, 0.364541858f, 0.384596527f, 0.391254365f, 0.39572379f},
    {0.5f, 0.23755239f, 0.12421415f, 0.0426254384f, 0.0183126461f, 0.00519052753f, 0.00207815785f, 0.000571449811f},
    {-0.398941964f, -0.164731055f, -0.0752524883f, -0.0201077238f, -0.0069321217f, -0.00136960647f, -0.00041392268f, -7.56421286e-05f},
    {0.24998796f, 0.0910627618f, 0.0369809493f, 0.00785684492f, 0.00222535874f, 0.000313531113f, 7.11900357e-05f, 9.07169306e-06f},
    {-0.13282606f, -0.041676484f, -0.0156506151f, -0.00258330582f, -0.000636566197f, -6.62760358e-05f, -1.05373865e-05f, -1.17935292e-06f},
    {0.0615699701f, 0.0122958943f, 0.00565718347f, 0.000583285233f, 0.000157612565f, 1.31718598e-05f, 1.19222352e-06f, 1.869264e-07f},
    {-0.0236867759f, 0.00299840537f, -0.00155450823f, -4.84824886e-06f, -2.8945462e-05f, -2.19475328e-06f, -8.1682245e-08f, -2.55406025e-08f},
    {0.00564309116f, -0.00431611063f, 0.000231041442f, -3.18470484e-05f, 2.7263211e-06f, 2.05899127e-07f, 2.11696083e-09f, 1.68157388e-09f},
};
// G(a) = Q(a) e^(a^2/2), a in [0, 15]; pieces start at a = 0 0.5 1 2 3 5 7 11; fit error 3.6e-08 relative
alignas(32) constexpr float kGeluG[8][8] = {
    {0.5f, 0.349618822f, 0.261578292f, 0.168101996f, 0.121513948f, 0.0769193023f, 0.0558934808f, 0.03597489f},
    {-0.398942262f, -0.224132866f, -0.137363881f, -0.062738277f, -0.0344003141f, -0.0143457558f, -0.00768786157f, -0.00321849459f},
    {0.249999091f, 0.118797638f, 0.0621045791f, 0.0213147644f, 0.00915484689f, 0.00259551546f, 0.00103883247f, 0.000285711343f},
    {-0.13296546f, -0.0552937984f, -0.0250638723f, -0.00672181835f, -0.00230411254f, -0.000457502174f, -0.00013756672f, -2.51393176e-05f},
    {0.0623764768f, 0.0253899191f, 0.0091659585f, 0.0020327135f, 0.000542695518f, 7.97327375e-05f, 1.74690322e-05f, 2.16504736e-06f},
    {-0.0260539297f, -0.0169227738f, -0.00296318717f, -0.000634337077f, -0.000112404479f, -1.40007378e-05f, -1.96225233e-06f, -1.71413902e-07f},
    {0.00906950515f, 0.0156530328f, 0.000748689519f, 0.000198062524f, 1.73771241e-05f, 2.23346092e-06f, 1.62504662e-07f, 1.04695488e-08f},
    {-0.00194303563f, -0.00824340992f, -0.000104577288f, -3.91587455e-05f, -1.39706356e-06f, -2.10905981e-07f, -6.86891655e-09f, -3.35396405e-10f},
};
}  // namespace mathc

/// hi = fl(a*b) and lo with hi + lo = a*b exactly (|a*b| well inside the normal range; on the
/// unfused ISAs Dekker's product, the factors split by clearing their low 12 mantissa bits).
inline vf two_prod(vf a, vf b, vf& lo) {
  const vf hi = a * b;
#if SIMDGRAD_FUSED
  lo = fmadd(a, b, -hi);
#else
  // split each factor into 12 + 12 significant bits by clearing the low mantissa bits (exact)
  const vi mask = vi(static_cast<std::int32_t>(0xFFFFF000u));
  const vf ah = from_bits(to_bits(a) & mask), bh = from_bits(to_bits(b) & mask);
  const vf al = a - ah, bl = b - bh;
  lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl;
#endif
  return hi;
}

/// e^r - 1 for |r| <= 0.3468 (reduced argument); fit error 1.4e-8 relative.
inline vf expm1_poly(vf r) {
  using namespace mathc;
  vf q = fmadd(splat(kExpm1Q[4]), r, splat(kExpm1Q[3]));
  q = fmadd(q, r, splat(kExpm1Q[2]));
  q = fmadd(q, r, splat(kExpm1Q[1]));
  q = fmadd(q, r, splat(kExpm1Q[0]));
  return fmadd(q * r, r, r);
}

/// e^z 2^Bias = s (1 + p1), s = 2^(n + Bias), p1 = e^r - 1.
struct ExpParts {
  vf s, p1;
};

/// The parts of e^(z + lo) 2^Bias, for n + Bias + 127 in [1, 254] (the caller clamps z); lo
/// (|lo| << 1) is added to the reduced argument, for arguments given as a sum z + lo.
template <int Bias>
inline ExpParts exp_core(vf z, vf lo) {
  using namespace mathc;
  const vf sh = splat(kShifter + static_cast<float>(127 + Bias));
  const vf t = fmadd(z, splat(kLog2e), sh);
  const vf n = t - sh;
  vf r = fnmadd(n, splat(kLn2Hi), z);  // exact
  r = fnmadd(n, splat(kLn2Lo), r) + lo;
  return {from_bits(shl(to_bits(t), 23)), expm1_poly(r)};
}
template <int Bias>
inline ExpParts exp_core(vf z) {
  using namespace mathc;
  const vf sh = splat(kShifter + static_cast<float>(127 + Bias));
  const vf t = fmadd(z, splat(kLog2e), sh);
  const vf n = t - sh;
  vf r = fnmadd(n, splat(kLn2Hi), z);
  r = fnmadd(n, splat(kLn2Lo), r);
  return {from_bits(shl(to_bits(t), 23)), expm1_poly(r)};
}

/// s (1 + p1) rounded once.
inline vf exp_join(ExpParts e) { return fmadd(e.s, e.p1, e.s); }

/// e^z 2^Bias rounded once from an exact split (error ~0.55 ulp rather than ~1): with the
/// reduced argument r and its rounding error r_lo, h = 1 + r and its exact rounding error l,
/// e^r = h + (l + r_lo + r^2 q(r)), and s h is exact. z clamped by the caller as for exp_core.
template <int Bias>
inline vf exp_precise(vf z) {
  using namespace mathc;
  const vf sh = splat(kShifter + static_cast<float>(127 + Bias));
  const vf t = fmadd(z, splat(kLog2e), sh);
  const vf n = t - sh;
  const vf r1 = fnmadd(n, splat(kLn2Hi), z);  // exact
  const vf r = fnmadd(n, splat(kLn2Lo), r1);
  const vf r_lo = fnmadd(n, splat(kLn2Lo), r1 - r);
  const vf h = splat(1.0f) + r;
  const vf l = (r - (h - splat(1.0f))) + r_lo;  // r - (h - 1) is exact (Fast2Sum)
  vf q = fmadd(splat(kExpm1Q[4]), r, splat(kExpm1Q[3]));
  q = fmadd(q, r, splat(kExpm1Q[2]));
  q = fmadd(q, r, splat(kExpm1Q[1]));
  q = fmadd(q, r, splat(kExpm1Q[0]));
  const vf s = from_bits(shl(to_bits(t), 23));
  return fmadd(s, fmadd(q * r, r, l), s * h);
}

/// s (1 + p1) rounded once, and its rounding error (exact: s and the result are within a factor 2).
inline vf exp_join(ExpParts e, vf& lo) {
  const vf r = fmadd(e.s, e.p1, e.s);
  lo = fmadd(e.s, e.p1, e.s - r);
  return r;
}

/// e^z 2^64 for z <= 0 (z clamped at -120; NaN passes): a normal float, so that the caller
/// rounds subnormal results once, when it applies 2^-64.
inline vf exp_neg_x64(vf z) {
  return exp_join(exp_core<64>(vmax(splat(-120.0f), z)));
}

/// e^z for z <= 0: one rounding into the subnormal range, exactly 0 for z <= -104.
inline vf exp_neg(vf z) { return exp_neg_x64(z) * splat(mathc::kTwoM64); }

/// e^x - 1 for x <= 0 (x > 0 is clamped to 0; x < -30 to -30, where the result is -1; NaN passes):
/// 2^n (e^r - 1) + (2^n - 1), exact 2^n - 1, relative accuracy kept near 0 (n = 0: r = x).
inline vf expm1_neg(vf x) {
  const ExpParts e = exp_core<0>(vmin(splat(0.0f), vmax(splat(-30.0f), x)));
  return fmadd(e.s, e.p1, e.s - splat(1.0f));
}

/// -|x| (sets the sign bit; NaN stays NaN).
inline vf neg_abs(vf x) { return from_bits(to_bits(x) | to_bits(splat(-0.0f))); }

/// a - q d, exactly, for q d within a factor 2 of a (q an approximate quotient a/d): one fused
/// multiply-add, or Dekker's exact product on the unfused ISAs.
inline vf residual(vf a, vf q, vf d) {
#if SIMDGRAD_FUSED
  return fnmadd(q, d, a);
#else
  vf lo;
  const vf hi = two_prod(q, d, lo);
  return (a - hi) - lo;
#endif
}
inline vf one_minus_prod(vf q, vf d) { return residual(splat(1.0f), q, d); }

/// d = 2^-64 (1 + e^-x) as an exact sum dh + dl (Fast2Sum on the ordered pair, plus the rounding
/// error of e^-x), x clamped to [-120, 40] (sigmoid(40) rounds to 1). NaN passes.
inline vf sigmoid_den(vf x, vf& dl) {
  vf elo;
  const vf z = -vmin(splat(40.0f), vmax(splat(-120.0f), x));
  const vf e = exp_join(exp_core<-64>(z), elo);  // 2^-64 e^-x
  const vf one = splat(mathc::kTwoM64);
  const vf b = vmax(one, e), c = vmin(one, e);
  const vf dh = b + c;
  dl = (c - (dh - b)) + elo;
  return dh;
}

/// 2^64 sigmoid(x) = 1 / (dh + dl) (sigmoid_den) = q + q (r - q dl), q = 1/dh and r = 1 - q dh
/// the exact division residual: rounded once. Normal for every x; the caller applies 2^-64 in its
/// last rounding.
inline vf sigmoid_x64(vf x) {
  vf dl;
  const vf dh = sigmoid_den(x, dl);
  const vf q = vdiv(splat(1.0f), dh);
  return fmadd(q, fnmadd(q, dl, one_minus_prod(q, dh)), q);
}

/// 1 / (1 + e^-x): exactly 1 for x >= 17.33 and +inf, exactly 0 for x <= -104 and -inf, one
/// rounding into the subnormal range.
inline vf sigmoid_v(vf x) { return sigmoid_x64(x) * splat(mathc::kTwoM64); }

/// Piece index of a >= 0 (half binades of a + offset) and u = a - start of the piece, exact
/// (a + offset may round a onto the next piece; u is then a few ulps below 0, inside the fits).
inline vi piece8(vf a, float offset, vf& u) {
  const vi b = to_bits(a + splat(offset));
  const vi idx = srl(b, 22) - (srl(to_bits(splat(offset)), 22));
  const vf start = from_bits(b & vi(static_cast<std::int32_t>(0xFFC00000u))) - splat(offset);
  u = a - start;
  return idx;
}

/// sum_k c[k][idx] u^k, k = 0..7, by Horner's rule.
inline vf piecewise_poly7(const float (*c)[8], vi idx, vf u) {
  vf p = lut8(c[7], idx);
  p = fmadd(p, u, lut8(c[6], idx));
  p = fmadd(p, u, lut8(c[5], idx));
  p = fmadd(p, u, lut8(c[4], idx));
  p = fmadd(p, u, lut8(c[3], idx));
  p = fmadd(p, u, lut8(c[2], idx));
  p = fmadd(p, u, lut8(c[1], idx));
  return fmadd(p, u, lut8(c[0], idx));
}

/// tanh(x): a piecewise polynomial in |x| (kTanhP), exactly +-1 for |x| >= 9.1, exact for tiny x.
inline vf tanh_v(vf x) {
  const vf a = vmin(splat(9.25f), vabs(x));
  vf u;
  const vi idx = piece8(a, 0.75f, u);
  vf t = piecewise_poly7(mathc::kTanhP, idx, u);
  t = select(a > splat(9.1f), splat(1.0f), t);
  return from_bits(to_bits(t) | (to_bits(x) & to_bits(splat(-0.0f))));
}

/// log(1 + e) = h + l for e in [0, 1] with the rounding error elo of e (returns h, sets l, |l| <<
/// |h|): 2 atanh(s) = 2s + 2s^3 R(s^2), s = e / (2 + e) = q + c, q the rounded quotient and c its
/// correction for the division residual, the rounding of 2 + e (exact by Fast2Sum) and elo; h = 2q
/// and l = 2c + 2s^3 R, so that the caller rounds the sum once.
inline vf log1p_small_hl(vf e, vf elo, vf& l) {
  using namespace mathc;
  const vf dh = splat(2.0f) + e;
  const vf dl = (e - (dh - splat(2.0f))) + elo;
  const vf q = vdiv(e, dh);
  // (e + elo) / (dh + dl) = q + (r + elo - q dl) / dh, r = e - q dh, and 1/dh = (1 - q) / 2
  const vf c = (fnmadd(q, dl, elo) + residual(e, q, dh)) * fnmadd(q, splat(0.5f), splat(0.5f));
  const vf s2 = q * q;
  vf p = fmadd(splat(kLog1pR[3]), s2, splat(kLog1pR[2]));
  p = fmadd(p, s2, splat(kLog1pR[1]));
  p = fmadd(p, s2, splat(kLog1pR[0]));
  const vf h = q + q;
  l = fmadd(h, s2 * p, c + c);
  return h;
}

/// s + err = a + b exactly (Knuth's TwoSum, either order of magnitude; finite a, b).
inline vf two_sum(vf a, vf b, vf& err) {
  const vf s = a + b;
  const vf bb = s - a;
  err = (a - (s - bb)) + (b - bb);
  return s;
}

/// e^(-a^2/2) 2^64 for a in [0, 14.5] (a^2 split exactly into hi + lo).
inline vf exp_neg_half_sq_x64(vf a) {
  vf lo;
  const vf hi = two_prod(a, a * splat(-0.5f), lo);
  return exp_join(exp_core<64>(hi, lo));
}
