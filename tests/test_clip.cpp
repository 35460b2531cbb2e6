// Norms, clipping and gradient health on every ISA: against double (long double) references, on
// lists of odd sizes, with NaN, inf, all zeros, denormals and 1e30 values; thread-count and
// list-composition invariance; clip-by-norm fused into an optimizer step equal to clip then
// step; bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

using simdgrad::ConstTensorView;
using simdgrad::GradHealth;
using simdgrad::Norm;
using simdgrad::TensorView;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// A list of gradient tensors in one pool (odd gaps: misaligned starts).
struct Grads {
  std::vector<std::size_t> sizes;
  std::vector<float> pool;
  std::vector<float*> data;
  explicit Grads(std::vector<std::size_t> sz, float lo = -1.0f, float hi = 1.0f, unsigned seed = 3)
      : sizes(std::move(sz)) {
    std::size_t total = 0;
    for (std::size_t n : sizes) total += n + 2;
    pool = sgtest::uniform(total + 1, lo, hi, seed);
    std::size_t off = 1;
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      data.push_back(pool.data() + off);
      off += sizes[t] + 1 + t % 2;
    }
  }
  std::vector<ConstTensorView> views() const {
    std::vector<ConstTensorView> v;
    for (std::size_t t = 0; t < sizes.size(); ++t) v.push_back({data[t], sizes[t]});
    return v;
  }
  std::vector<TensorView> mviews() {
    std::vector<TensorView> v;
    for (std::size_t t = 0; t < sizes.size(); ++t) v.push_back({data[t], sizes[t]});
    return v;
  }
  std::vector<float> values() const {
    std::vector<float> out;
    for (std::size_t t = 0; t < sizes.size(); ++t) out.insert(out.end(), data[t], data[t] + sizes[t]);
    return out;
  }
};

/// Reference norm in long double (NaN if any NaN).
long double ref_norm(const std::vector<float>& x, Norm norm) {
  long double acc = 0;
  bool nan = false;
  for (float v : x) {
    const long double a = std::fabs(static_cast<long double>(v));
    if (std::isnan(v)) nan = true;
    if (norm == Norm::l1) acc += a;
    else if (norm == Norm::l2) acc += a * a;
    else acc = std::max(acc, a);
  }
  if (nan) return std::numeric_limits<long double>::quiet_NaN();
  return norm == Norm::l2 ? std::sqrt(acc) : acc;
}

void expect_norm(double got, long double ref, const std::string& what) {
  if (std::isnan(ref)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": got " << got << ", expected NaN";
  } else if (std::isinf(ref)) {
    EXPECT_EQ(got, static_cast<double>(ref)) << what;
  } else {
    EXPECT_LE(std::fabs(static_cast<long double>(got) - ref), 1e-12L * ref + 1e-300L)
        << what << ": got " << got << ", reference " << static_cast<double>(ref);
  }
}

std::vector<std::size_t> odd_sizes() {
  std::vector<std::size_t> s;
  for (std::size_t n = 0; n <= 40; ++n) s.push_back(n);
  for (std::size_t n : {63, 65, 255, 1000, 4099, 16383, 16384, 16385, 40000}) s.push_back(n);
  return s;
}

const Norm kNorms[] = {Norm::l1, Norm::l2, Norm::linf};

class Clip : public sgtest::PerIsa {};
SGTEST_INSTANTIATE_PER_ISA(Clip);

TEST_P(Clip, NormsMatchReference) {
  Grads g(odd_sizes(), -3.0f, 3.0f);
  const auto v = g.views();
  for (Norm norm : kNorms) {
    expect_norm(simdgrad::grad_norm(v.data(), v.size(), norm), ref_norm(g.values(), norm),
                "norm " + std::to_string(static_cast<int>(norm)));
    // One tensor at a time as well.
    for (std::size_t t = 0; t < v.size(); ++t) {
      const std::vector<float> x(g.data[t], g.data[t] + g.sizes[t]);
      expect_norm(simdgrad::grad_norm(&v[t], 1, norm), ref_norm(x, norm),
                  "tensor " + std::to_string(t));
    }
  }
  EXPECT_EQ(simdgrad::grad_norm(nullptr, 0), 0.0);
}

TEST_P(Clip, NormsOfSpecialValues) {
  const std::size_t n = 1000;
  auto norms_of = [&](std::vector<float> x, const std::string& what) {
    const ConstTensorView v{x.data(), x.size()};
    for (Norm norm : kNorms)
      expect_norm(simdgrad::grad_norm(&v, 1, norm), ref_norm(x, norm),
                  what + " norm " + std::to_string(static_cast<int>(norm)));
  };
  norms_of(std::vector<float>(n, 0.0f), "zeros");
  norms_of(std::vector<float>(n, -0.0f), "negative zeros");
  for (std::size_t pos : {std::size_t{0}, std::size_t{7}, n - 1}) {
    auto x = sgtest::uniform(n, -1, 1);
    x[pos] = kNaN;
    norms_of(x, "NaN at " + std::to_string(pos));
    x[pos] = -kInf;
    norms_of(x, "-inf at " + std::to_string(pos));
    x[pos] = kNaN;
    x[(pos + 3) % n] = kInf;
    norms_of(x, "NaN and inf");
  }
  // Denormals: their squares (1e-90) vanish in fp32 but not in fp64.
  std::vector<float> d(n);
  for (std::size_t i = 0; i < n; ++i)
    d[i] = sgtest::from_bits(static_cast<std::uint32_t>(1 + i * 7919 % 0x7fffff)) *
           (i % 2 ? -1.0f : 1.0f);
  norms_of(d, "denormals");
  {
    const ConstTensorView v{d.data(), n};
    EXPECT_GT(simdgrad::grad_norm(&v, 1, Norm::l2), 0.0);
  }
  // 1e30: squares overflow fp32 but the norm (3.2e31) is a float.
  norms_of(std::vector<float>(n, 1e30f), "1e30");
  norms_of(std::vector<float>(n, -3.4e38f), "-3.4e38");
  auto mixed = sgtest::uniform(n, -1, 1);
  for (std::size_t i = 0; i < n; i += 13) mixed[i] = i % 2 ? 1e30f : -1e-40f;
  norms_of(mixed, "mixed 1e30, denormals");
  {
    const std::vector<float> big(n, 1e30f);
    const ConstTensorView v{big.data(), n};
    const double l2 = simdgrad::grad_norm(&v, 1, Norm::l2);
    EXPECT_TRUE(std::isfinite(l2));
    EXPECT_NEAR(l2 / (1e30 * std::sqrt(1000.0)), 1.0, 1e-7);
  }
}

TEST_P(Clip, ClipGradNormScalesOnlyBelowOne) {
  for (Norm norm : kNorms) {
    Grads g({100, 0, 37, 5000, 3});
    auto mv = g.mviews();
    const auto before = g.values();
    const long double ref = ref_norm(before, norm);
    const float max_norm = static_cast<float>(ref * 0.25);
    const double tn = simdgrad::clip_grad_norm(mv.data(), mv.size(), max_norm, norm);
    expect_norm(tn, ref, "returned norm");
    const float c = static_cast<float>(static_cast<double>(max_norm) / (tn + 1e-6));
    EXPECT_EQ(c, simdgrad::clip_coefficient(tn, max_norm));
    const auto after = g.values();
    for (std::size_t i = 0; i < after.size(); ++i)
      ASSERT_TRUE(sgtest::same_bits(after[i], before[i] * c)) << i;
    // Already below max_norm: nothing is written.
    Grads h({100, 37});
    auto hv = h.mviews();
    const auto hb = h.values();
    simdgrad::clip_grad_norm(hv.data(), hv.size(), 1e6f, norm);
    EXPECT_EQ(hb, h.values());
  }
  // All zeros: norm 0, coefficient max_norm / 1e-6 > 1: unchanged.
  std::vector<float> z(300, 0.0f);
  TensorView zv{z.data(), z.size()};
  EXPECT_EQ(simdgrad::clip_grad_norm(&zv, 1, 1.0f), 0.0);
  for (float x : z) EXPECT_EQ(sgtest::bits(x), 0u);
}

TEST_P(Clip, ClipGradNormNonFinite) {
  // torch semantics: a NaN total norm gives a NaN coefficient, applied; inf gives 0.
  auto x = sgtest::uniform(200, -1, 1);
  x[50] = kNaN;
  TensorView v{x.data(), x.size()};
  const auto saved = x;
  try {
    simdgrad::clip_grad_norm(&v, 1, 1.0f, Norm::l2, true);
    ADD_FAILURE() << "no error for a NaN norm with error_if_nonfinite";
  } catch (const simdgrad::error& e) {
    EXPECT_NE(std::string(e.what()).find("simdgrad::clip_grad_norm: the total norm of grads is nan"),
              std::string::npos)
        << e.what();
  }
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(sgtest::same_bits(x[i], saved[i]));
  EXPECT_TRUE(std::isnan(simdgrad::clip_grad_norm(&v, 1, 1.0f)));
  for (float y : x) EXPECT_TRUE(std::isnan(y));

  auto w = sgtest::uniform(200, -1, 1);
  w[10] = -kInf;
  TensorView wv{w.data(), w.size()};
  EXPECT_THROW(simdgrad::clip_grad_norm(&wv, 1, 1.0f, Norm::linf, true), simdgrad::error);
  EXPECT_EQ(simdgrad::clip_grad_norm(&wv, 1, 1.0f, Norm::l1), kInf);
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i == 10) {
      EXPECT_TRUE(std::isnan(w[i]));  // inf * 0
    } else {
      EXPECT_EQ(w[i], 0.0f);
    }
  }
  EXPECT_TRUE(std::isnan(simdgrad::clip_coefficient(NAN, 1.0f)));
  EXPECT_EQ(simdgrad::clip_coefficient(INFINITY, 1.0f), 0.0f);
  EXPECT_EQ(simdgrad::clip_coefficient(0.5, 1.0f), 1.0f);
  EXPECT_EQ(simdgrad::clip_coefficient(4.0, 1.0f), static_cast<float>(1.0 / (4.0 + 1e-6)));
}

TEST_P(Clip, ClipByValueAndWeights) {
  auto x = sgtest::uniform(1003, -5, 5);
  const float sp[] = {kNaN, kInf, -kInf, -0.0f, 0.0f, 1e30f, -1e30f, 1e-40f, 2.0f, -2.0f};
  for (std::size_t i = 0; i < 10; ++i) x[i * 97] = sp[i];
  const auto before = x;
  TensorView v{x.data(), x.size()};
  simdgrad::clip_grad_value(&v, 1, 2.0f);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float e = std::isnan(before[i]) ? before[i] : std::min(2.0f, std::max(-2.0f, before[i]));
    ASSERT_TRUE(sgtest::same_bits(x[i], e)) << i << ": " << before[i] << " -> " << x[i];
  }
  // inf leaves everything as it was.
  auto y = before;
  TensorView yv{y.data(), y.size()};
  simdgrad::clip_grad_value(&yv, 1, kInf);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_TRUE(sgtest::same_bits(y[i], before[i]));
  // Weights: asymmetric bounds, a list.
  Grads w({1, 17, 300, 0, 64}, -1.0f, 1.0f);
  auto wv = w.mviews();
  const auto wb = w.values();
  simdgrad::clip_weights(wv.data(), wv.size(), -0.01f, 0.5f);
  const auto wa = w.values();
  for (std::size_t i = 0; i < wa.size(); ++i)
    ASSERT_EQ(wa[i], std::min(0.5f, std::max(-0.01f, wb[i])));
}

/// Reference health of one array.
GradHealth ref_health(const std::vector<float>& x, float thr) {
  GradHealth h;
  long double sq = 0, ab = 0;
  float mx = 0;
  bool nan = false;
  for (float v : x) {
    const float a = std::fabs(v);
    sq += static_cast<long double>(a) * a;
    ab += a;
    if (std::isnan(v)) {
      nan = true;
      ++h.nan_count;
    } else {
      mx = std::max(mx, a);
    }
    if (std::isinf(v)) ++h.inf_count;
    if (a < thr) ++h.below_count;
  }
  h.count = x.size();
  h.l2_norm = static_cast<double>(std::sqrt(sq));
  h.max_abs = nan ? kNaN : mx;
  h.mean_abs = x.empty() ? 0.0 : static_cast<double>(ab / x.size());
  h.fraction_below = x.empty() ? 0.0 : static_cast<double>(h.below_count) / x.size();
  return h;
}

void expect_health(const GradHealth& got, const GradHealth& ref, const std::string& what) {
  EXPECT_EQ(got.count, ref.count) << what;
  EXPECT_EQ(got.nan_count, ref.nan_count) << what;
  EXPECT_EQ(got.inf_count, ref.inf_count) << what;
  EXPECT_EQ(got.below_count, ref.below_count) << what;
  EXPECT_EQ(got.fraction_below, ref.fraction_below) << what;
  EXPECT_TRUE(sgtest::same_bits(got.max_abs, ref.max_abs))
      << what << ": max_abs " << got.max_abs << " vs " << ref.max_abs;
  expect_norm(got.l2_norm, ref.nan_count ? NAN : ref.l2_norm, what + " l2_norm");
  expect_norm(got.mean_abs, ref.nan_count ? NAN : ref.mean_abs, what + " mean_abs");
}

TEST_P(Clip, HealthMatchesReference) {
  Grads g(odd_sizes(), -1.0f, 1.0f, 11);
  // Specials in some tensors: NaN, inf, zeros, denormals, 1e30, values at the threshold.
  const float thr = 1e-3f;
  const float sp[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1e-40f, 1e30f, -1e30f, thr, -thr,
                      std::nextafter(thr, 0.0f)};
  for (std::size_t t = 3; t < g.sizes.size(); t += 5)
    for (std::size_t i = 0; i < g.sizes[t]; i += 3) g.data[t][i] = sp[(i + t) % 11];
  const auto v = g.views();
  std::vector<GradHealth> per(v.size());
  const GradHealth all = simdgrad::grad_health(v.data(), v.size(), thr, per.data(), per.size());
  for (std::size_t t = 0; t < v.size(); ++t)
    expect_health(per[t], ref_health(std::vector<float>(g.data[t], g.data[t] + g.sizes[t]), thr),
                  "tensor " + std::to_string(t));
  expect_health(all, ref_health(g.values(), thr), "total");
  EXPECT_GT(all.nan_count, 0u);
  EXPECT_GT(all.inf_count, 0u);

  // Clean gradients: finite totals; all zeros: everything below any positive threshold.
  std::vector<float> z(777, 0.0f);
  const ConstTensorView zv{z.data(), z.size()};
  const GradHealth hz = simdgrad::grad_health(&zv, 1, 1e-8f);
  EXPECT_EQ(hz.below_count, 777u);
  EXPECT_EQ(hz.fraction_below, 1.0);
  EXPECT_EQ(hz.l2_norm, 0.0);
  EXPECT_EQ(hz.max_abs, 0.0f);
  const GradHealth hz0 = simdgrad::grad_health(&zv, 1, 0.0f);
  EXPECT_EQ(hz0.below_count, 0u);
  const GradHealth none = simdgrad::grad_health(nullptr, 0, 1.0f);
  EXPECT_EQ(none.count, 0u);
  EXPECT_EQ(none.mean_abs, 0.0);
}

TEST_P(Clip, ResultsIndependentOfThreadsAndOfTheList) {
  const std::vector<std::size_t> sizes = {sgtest::big(100003), 5, sgtest::big(70000), 0,
                                          sgtest::big(33333)};
  Grads g(sizes, -2.0f, 2.0f, 5);
  g.data[0][1234] = 1e30f;
  const auto v = g.views();
  auto run = [&]() {
    std::vector<double> out;
    for (Norm norm : kNorms) out.push_back(simdgrad::grad_norm(v.data(), v.size(), norm));
    std::vector<GradHealth> per(v.size());
    const GradHealth all = simdgrad::grad_health(v.data(), v.size(), 0.01f, per.data(), per.size());
    per.push_back(all);
    for (const auto& h : per) {
      out.push_back(h.l2_norm);
      out.push_back(h.mean_abs);
      out.push_back(h.max_abs);
      out.push_back(static_cast<double>(h.below_count));
    }
    return out;
  };
  simdgrad::set_num_threads(1);
  const auto one = run();
  for (int threads : {2, 3}) {
    simdgrad::set_num_threads(threads);
    const auto r = run();
    EXPECT_TRUE(r == one) << threads << " threads";
  }
  simdgrad::set_num_threads(0);
  // A tensor's statistics do not depend on the other tensors in the list.
  std::vector<GradHealth> per(v.size());
  simdgrad::grad_health(v.data(), v.size(), 0.01f, per.data(), per.size());
  for (std::size_t t = 0; t < v.size(); ++t) {
    const GradHealth alone = simdgrad::grad_health(&v[t], 1, 0.01f);
    EXPECT_EQ(alone.l2_norm, per[t].l2_norm) << t;
    EXPECT_EQ(alone.mean_abs, per[t].mean_abs) << t;
  }
}

TEST_P(Clip, FusedClipAndStepEqualsClipThenStep) {
  // Clip coefficient as the optimizer's grad_scale: the same bits as clipping the gradients
  // first, without writing them.
  const std::vector<std::size_t> sizes = {1000, 3, 257};
  Grads ga(sizes, -1, 1, 21), gb(sizes, -1, 1, 21);
  Grads pa(sizes, -1, 1, 22), pb(sizes, -1, 1, 22);
  std::vector<std::vector<float>> ma, va, mb, vb;
  std::vector<simdgrad::AdamTensor> ta, tb;
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    ma.emplace_back(sizes[t]);
    va.emplace_back(sizes[t]);
    mb.emplace_back(sizes[t]);
    vb.emplace_back(sizes[t]);
    ta.push_back({pa.data[t], ga.data[t], ma[t].data(), va[t].data(), nullptr, sizes[t]});
    tb.push_back({pb.data[t], gb.data[t], mb[t].data(), vb[t].data(), nullptr, sizes[t]});
  }
  const simdgrad::AdamParams hp = simdgrad::adamw_params(1e-2f, 0.1f);
  const auto gv = ga.views();
  const auto before = ga.values();
  const std::vector<float> fresh = gb.pool;
  for (int k = 1; k <= 3; ++k) {
    std::copy(fresh.begin(), fresh.end(), gb.pool.begin());  // this step's gradients
    const double tn = simdgrad::grad_norm(gv.data(), gv.size());
    simdgrad::adam_step(hp, ta.data(), ta.size(), k, simdgrad::clip_coefficient(tn, 2.0f));
    auto mv = gb.mviews();
    EXPECT_EQ(simdgrad::clip_grad_norm(mv.data(), mv.size(), 2.0f), tn);
    simdgrad::adam_step(hp, tb.data(), tb.size(), k);
  }
  EXPECT_EQ(pa.values(), pb.values());
  EXPECT_EQ(ga.values(), before) << "the fused path must not write the gradients";
}

// ------------------------------------------------------------------------------ bad input

template <class F>
void expect_error(F&& fn, const std::string& fn_name, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one about: " << what;
  } catch (const simdgrad::error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("simdgrad::" + fn_name + ": "), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg << "\n  (expected: " << what << ")";
  }
}

TEST(ClipErrors, BadArgumentsWriteNothing) {
  Grads g({100, 50});
  auto mv = g.mviews();
  const auto cv = g.views();
  const auto before = g.values();
  expect_error([&] { simdgrad::grad_norm(nullptr, 2); }, "grad_norm", "grads is null with 2");
  expect_error([&] { simdgrad::clip_grad_norm(nullptr, 1, 1.0f); }, "clip_grad_norm",
               "grads is null");
  {
    std::vector<ConstTensorView> bad = cv;
    bad[1].data = nullptr;
    expect_error([&] { simdgrad::grad_norm(bad.data(), 2); }, "grad_norm",
                 "grads[1].data is null with 50 elements");
    expect_error([&] { simdgrad::grad_health(bad.data(), 2, 0.1f); }, "grad_health",
                 "grads[1].data is null");
  }
  expect_error([&] { simdgrad::grad_norm(cv.data(), 2, static_cast<Norm>(7)); }, "grad_norm",
               "norm is not a Norm (value 7)");
  expect_error([&] { simdgrad::clip_grad_norm(mv.data(), 2, 1.0f, static_cast<Norm>(0)); },
               "clip_grad_norm", "norm is not a Norm");
  expect_error([&] { simdgrad::clip_grad_norm(mv.data(), 2, -1.0f); }, "clip_grad_norm",
               "max_norm must be finite and >= 0");
  expect_error([&] { simdgrad::clip_grad_norm(mv.data(), 2, kNaN); }, "clip_grad_norm",
               "max_norm");
  expect_error([&] { simdgrad::clip_grad_norm(mv.data(), 2, kInf); }, "clip_grad_norm",
               "max_norm");
  expect_error([&] { simdgrad::clip_coefficient(1.0, -2.0f); }, "clip_coefficient", "max_norm");
  expect_error([&] { simdgrad::clip_coefficient(-1.0, 2.0f); }, "clip_coefficient",
               "total_norm must be >= 0");
  expect_error([&] { simdgrad::clip_grad_value(mv.data(), 2, -1.0f); }, "clip_grad_value",
               "clip_value must be >= 0");
  expect_error([&] { simdgrad::clip_grad_value(mv.data(), 2, kNaN); }, "clip_grad_value",
               "clip_value");
  expect_error([&] { simdgrad::clip_weights(mv.data(), 2, 1.0f, -1.0f); }, "clip_weights",
               "lo must be <= hi");
  expect_error([&] { simdgrad::clip_weights(mv.data(), 2, kNaN, 1.0f); }, "clip_weights",
               "lo must not be NaN");
  expect_error([&] { simdgrad::clip_weights(mv.data(), 2, 0.0f, kNaN); }, "clip_weights",
               "hi must not be NaN");
  expect_error([&] { simdgrad::grad_health(cv.data(), 2, -1.0f); }, "grad_health", "threshold");
  expect_error([&] { simdgrad::grad_health(cv.data(), 2, kNaN); }, "grad_health", "threshold");
  // Mismatched list lengths.
  std::vector<GradHealth> per(3);
  expect_error([&] { simdgrad::grad_health(cv.data(), 2, 0.1f, per.data(), 3); }, "grad_health",
               "per_tensor_count (3) does not match the number of grads (2)");
  expect_error([&] { simdgrad::grad_health(cv.data(), 2, 0.1f, nullptr, 2); }, "grad_health",
               "per_tensor is null with per_tensor_count 2");
  // Overlapping gradients cannot be clipped (they are written); reading them is fine.
  std::vector<TensorView> ov = {{g.data[0], 100}, {g.data[0] + 60, 50}};
  expect_error([&] { simdgrad::clip_grad_norm(ov.data(), 2, 1e-3f); }, "clip_grad_norm",
               "grads[1].data overlaps grads[0].data");
  expect_error([&] { simdgrad::clip_grad_value(ov.data(), 2, 1e-3f); }, "clip_grad_value",
               "grads[1].data overlaps grads[0].data");
  expect_error([&] { simdgrad::clip_weights(ov.data(), 2, 0.0f, 0.1f); }, "clip_weights",
               "params[1].data overlaps params[0].data");
  std::vector<ConstTensorView> ovc = {{g.data[0], 100}, {g.data[0] + 60, 50}};
  EXPECT_NO_THROW(simdgrad::grad_norm(ovc.data(), 2));
  // per_tensor over the gradients.
  auto* alias = reinterpret_cast<GradHealth*>(g.data[0]);
  expect_error([&] { simdgrad::grad_health(cv.data(), 2, 0.1f, alias, 2); }, "grad_health",
               "per_tensor overlaps grads[0].data");
  EXPECT_EQ(before, g.values());
}

}  // namespace
