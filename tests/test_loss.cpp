// Softmax and losses: against double references (PyTorch's formulas) on every ISA, all row
// lengths across the 16-element groups, leading dimensions, logits of +-1e4 (no inf/NaN), label
// smoothing, fused = separate passes, in place, thread and ISA-family invariance, bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/reference_loss.hpp"
#if defined(SIMDGRAD_TEST_ONEDNN)
#include "support/onednn_softmax.hpp"
#endif

namespace {

constexpr double kEps = 0x1p-24;  // unit roundoff of fp32

const std::vector<std::size_t>& col_sizes() {
  static const std::vector<std::size_t> s = {1,  2,  3,  4,  5,  7,  8,  9,  15, 16,  17,  31,
                                             32, 33, 47, 48, 63, 64, 65, 100, 255, 257, 1000};
  return s;
}

// Logits: moderate, wide, and extreme (+-1e4 mixed with moderate values in one row).
std::vector<float> logits_for(int kind, std::size_t n, unsigned seed) {
  std::vector<float> v = sgtest::uniform(n, -8, 8, seed);
  if (kind == 1) v = sgtest::uniform(n, -90, 90, seed);
  if (kind == 2) {
    std::vector<float> pick = sgtest::uniform(n, 0, 1, seed + 1);
    for (std::size_t i = 0; i < n; ++i)
      v[i] = pick[i] < 0.3f ? 1e4f : pick[i] < 0.6f ? -1e4f : v[i] * 1000;
  }
  return v;
}

std::vector<std::int32_t> targets_for(std::size_t rows, std::size_t classes, unsigned seed) {
  std::vector<float> u = sgtest::uniform(rows, 0, 1, seed);
  std::vector<std::int32_t> t(rows);
  for (std::size_t r = 0; r < rows; ++r)
    t[r] = std::min<std::int32_t>(static_cast<std::int32_t>(u[r] * classes),
                                  static_cast<std::int32_t>(classes) - 1);
  return t;
}

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

template <class F>
void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b, F&& what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!sgtest::same_bits(a[i], b[i])) {
      ADD_FAILURE() << what() << ": differs at " << i << ": " << a[i] << " vs " << b[i];
      return;
    }
}

}  // namespace

class LossIsa : public sgtest::PerIsa {};
SGTEST_INSTANTIATE_PER_ISA(LossIsa);

// ------------------------------------------------------------------------------ softmax

TEST_P(LossIsa, SoftmaxAndLogSoftmaxMatchReference) {
  for (int kind : {0, 1, 2})
    for (std::size_t c : col_sizes()) {
      const std::size_t rows = 3, ld = c + 5;
      std::vector<float> x = logits_for(kind, rows * ld, static_cast<unsigned>(c * 7 + kind));
      std::vector<float> y(rows * ld, -7.0f), ly(rows * ld, -7.0f);
      simdgrad::softmax_forward(x.data(), y.data(), rows, c, ld, ld);
      simdgrad::log_softmax_forward(x.data(), ly.data(), rows, c, ld, ld);
      for (std::size_t r = 0; r < rows; ++r) {
        const std::vector<double> ref = sgref::log_softmax_row(x.data() + r * ld, c);
        const double rmax = *std::max_element(x.begin() + r * ld, x.begin() + r * ld + c);
        double sum = 0;
        for (std::size_t j = 0; j < c; ++j) {
          const double p = std::exp(ref[j]);
          const float got = y[r * ld + j], lgot = ly[r * ld + j];
          sum += got;
          // p: the rounding of x - m (relative |x - m| u / 2 in e^(x-m)), exp (1 ulp), the sum
          // and the division: a few ulp more; below FLT_MIN, flushed to 0.
          const double xm = rmax - x[r * ld + j];
          ASSERT_LE(std::fabs(got - p), (4 + xm) * kEps * p + 1.2e-38)
              << "softmax kind " << kind << " c " << c << " r " << r << " j " << j;
          // log p = (x - m) - log s: bounded by the rounding of each term.
          const double scale = std::fabs(ref[j]) + std::log(static_cast<double>(c)) + 1;
          ASSERT_LE(std::fabs(lgot - ref[j]), 4 * kEps * scale)
              << "log_softmax kind " << kind << " c " << c << " r " << r << " j " << j;
        }
        EXPECT_NEAR(sum, 1.0, 1e-5);
        for (std::size_t j = c; j < ld; ++j) {
          ASSERT_EQ(y[r * ld + j], -7.0f) << "wrote into the padding";
          ASSERT_EQ(ly[r * ld + j], -7.0f);
        }
      }
      // In place gives the same bits.
      std::vector<float> ip = x, lip = x;
      simdgrad::softmax_forward(ip.data(), ip.data(), rows, c, ld, ld);
      simdgrad::log_softmax_forward(lip.data(), lip.data(), rows, c, ld, ld);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < c; ++j) {
          ASSERT_TRUE(sgtest::same_bits(ip[r * ld + j], y[r * ld + j]));
          ASSERT_TRUE(sgtest::same_bits(lip[r * ld + j], ly[r * ld + j]));
        }
    }
}

TEST_P(LossIsa, SoftmaxBackwardMatchesReference) {
  for (std::size_t c : col_sizes()) {
    const std::size_t rows = 4;
    std::vector<float> x = logits_for(0, rows * c, static_cast<unsigned>(c));
    std::vector<float> dy = sgtest::uniform(rows * c, -1, 1, static_cast<unsigned>(c + 100));
    std::vector<float> y(rows * c), ly(rows * c), dx(rows * c), ldx(rows * c);
    simdgrad::softmax_forward(x.data(), y.data(), rows, c);
    simdgrad::log_softmax_forward(x.data(), ly.data(), rows, c);
    simdgrad::softmax_backward(y.data(), dy.data(), dx.data(), rows, c);
    simdgrad::log_softmax_backward(ly.data(), dy.data(), ldx.data(), rows, c);
    for (std::size_t r = 0; r < rows; ++r) {
      double dot = 0, sdy = 0, adot = 0, asdy = 0;
      for (std::size_t j = 0; j < c; ++j) {
        dot += static_cast<double>(dy[r * c + j]) * y[r * c + j];
        adot += std::fabs(static_cast<double>(dy[r * c + j]) * y[r * c + j]);
        sdy += dy[r * c + j];
        asdy += std::fabs(dy[r * c + j]);
      }
      for (std::size_t j = 0; j < c; ++j) {
        const std::size_t i = r * c + j;
        const double ref = y[i] * (dy[i] - dot);
        const double tol = 8 * kEps * (std::fabs(dy[i]) + adot) * y[i] + 1e-38;
        ASSERT_LE(std::fabs(dx[i] - ref), tol) << "softmax_backward c " << c << " j " << j;
        const double e = std::exp(static_cast<double>(ly[i]));
        const double lref = dy[i] - e * sdy;
        const double ltol = 8 * kEps * (std::fabs(dy[i]) + e * asdy) + 1e-38;
        ASSERT_LE(std::fabs(ldx[i] - lref), ltol) << "log_softmax_backward c " << c << " j " << j;
      }
    }
    // dx == dy in place.
    std::vector<float> ip = dy;
    simdgrad::softmax_backward(y.data(), ip.data(), ip.data(), rows, c);
    expect_same_bits(ip, dx, [&] { return "in place c " + std::to_string(c); });
  }
}

#if defined(SIMDGRAD_TEST_ONEDNN)
// oneDNN 2.6's softmax and logsoftmax primitives (forward and backward) compute the same
// functions: both within a few ulp of each other (each a few ulp from the double reference).
TEST_P(LossIsa, SoftmaxAgreesWithOnednn) {
  for (bool log : {false, true})
    for (std::size_t c : {1u, 7u, 16u, 33u, 100u, 1000u}) {
      const std::size_t rows = 6, n = rows * c;
      std::vector<float> x = logits_for(2, n, static_cast<unsigned>(c + 5));
      std::vector<float> dy = sgtest::uniform(n, -1, 1, static_cast<unsigned>(c + 6));
      std::vector<float> y(n), dx(n), ry(n), rdx(n);
      sgdnnl::Softmax ref(rows, c, log, x.data(), ry.data(), dy.data(), rdx.data());
      ref.forward();
      ref.backward();
      // The backward passes get the same y (oneDNN's forward output).
      if (log) {
        simdgrad::log_softmax_forward(x.data(), y.data(), rows, c);
        simdgrad::log_softmax_backward(ry.data(), dy.data(), dx.data(), rows, c);
      } else {
        simdgrad::softmax_forward(x.data(), y.data(), rows, c);
        simdgrad::softmax_backward(ry.data(), dy.data(), dx.data(), rows, c);
      }
      for (std::size_t r = 0; r < rows; ++r) {
        double sdy = 0;
        for (std::size_t j = 0; j < c; ++j) sdy += std::fabs(dy[r * c + j]);
        for (std::size_t j = 0; j < c; ++j) {
          const std::size_t i = r * c + j;
          // oneDNN's own log is off by up to ~24 ulp of 1 (its log_softmax of one class is
          // 1.43e-6, not 0).
          const double tol_y = log ? 32 * kEps * (std::fabs(ry[i]) + std::log(static_cast<double>(c)) + 1)
                                   : 8 * kEps * std::fabs(ry[i]) + 1.2e-38;
          ASSERT_LE(std::fabs(y[i] - ry[i]), tol_y) << (log ? "log" : "") << "softmax c " << c << " i " << i;
          const double tol_d = 16 * kEps * (std::fabs(dy[i]) + sdy) + 1e-38;
          ASSERT_LE(std::fabs(dx[i] - rdx[i]), tol_d) << (log ? "log" : "") << "softmax bwd c " << c << " i " << i;
        }
      }
    }
}
#endif

// -------------------------------------------------------------------------- cross-entropy

TEST_P(LossIsa, CrossEntropyMatchesPytorchFormula) {
  double worst_loss = 0, worst_grad = 0;
  for (int kind : {0, 1, 2})
    for (float eps : {0.0f, 0.1f, 0.5f, 1.0f})
      for (std::size_t c : col_sizes()) {
        const std::size_t rows = 5, ld = c + 3;
        std::vector<float> x = logits_for(kind, rows * ld, static_cast<unsigned>(3 * c + kind));
        std::vector<std::int32_t> t = targets_for(rows, c, static_cast<unsigned>(c));
        // Half the rows put the target on the most negative logit (the largest loss).
        if (kind == 2)
          for (std::size_t r = 0; r < rows; r += 2) x[r * ld + t[r]] = -1e4f;
        std::vector<float> dx(rows * ld, 3.0f);
        const float loss =
            simdgrad::softmax_cross_entropy(x.data(), t.data(), rows, c, dx.data(), eps, ld, ld);
        double ref = 0, abs_terms = 0;
        for (std::size_t r = 0; r < rows; ++r) {
          const double l = sgref::cross_entropy_row(x.data() + r * ld, c, t[r], eps);
          ref += l;
          abs_terms += std::fabs(l);
        }
        ref /= rows;
        ASSERT_TRUE(std::isfinite(loss)) << "kind " << kind << " c " << c;
        const double lerr = std::fabs(loss - ref) / std::max(abs_terms / rows, 1e-30);
        worst_loss = std::max(worst_loss, lerr);
        ASSERT_LE(lerr, 8 * kEps) << "loss kind " << kind << " eps " << eps << " c " << c << ": "
                                  << loss << " vs " << ref;
        for (std::size_t r = 0; r < rows; ++r) {
          const std::vector<double> g =
              sgref::cross_entropy_row_grad(x.data() + r * ld, c, t[r], eps);
          for (std::size_t j = 0; j < c; ++j) {
            const double gref = g[j] / rows;
            const double err = std::fabs(dx[r * ld + j] - gref) * rows;
            worst_grad = std::max(worst_grad, err);
            // p_j (a few ulp) minus the target weights: absolute error against 1 / rows.
            ASSERT_LE(err, 6 * kEps) << "grad kind " << kind << " eps " << eps << " c " << c
                                     << " r " << r << " j " << j << ": " << dx[r * ld + j]
                                     << " vs " << gref;
          }
          for (std::size_t j = c; j < ld; ++j) ASSERT_EQ(dx[r * ld + j], 3.0f) << "padding";
        }
      }
  RecordProperty("worst_loss_rel", std::to_string(worst_loss / kEps) + " u");
  RecordProperty("worst_grad_abs", std::to_string(worst_grad / kEps) + " u");
}

TEST_P(LossIsa, CrossEntropyExtremesAndPieces) {
  // Target on -1e4, all others +1e4: loss = 2e4 + log(c - 1); gradient finite.
  for (std::size_t c : {2u, 3u, 17u, 100u}) {
    std::vector<float> x(c, 1e4f);
    x[1] = -1e4f;
    const std::int32_t t = 1;
    std::vector<float> dx(c);
    const float loss = simdgrad::softmax_cross_entropy(x.data(), &t, 1, c, dx.data());
    EXPECT_NEAR(loss, 2e4 + std::log(static_cast<double>(c - 1)), 2e4 * 4 * kEps);
    EXPECT_TRUE(all_finite(dx));
    EXPECT_FLOAT_EQ(dx[1], -1.0f);
    // Equal logits: loss = log(c) whatever the smoothing.
    std::vector<float> e(c, 1e4f);
    for (float eps : {0.0f, 0.3f, 1.0f})
      EXPECT_NEAR(simdgrad::softmax_cross_entropy_forward(e.data(), &t, 1, c, eps),
                  std::log(static_cast<double>(c)), 4 * kEps * std::log(static_cast<double>(c)) + 1e-7);
  }
  // Forward-only, backward-only (with dloss) and fused agree bit for bit; in place too.
  const std::size_t rows = 37, c = 129;
  std::vector<float> x = logits_for(2, rows * c, 9);
  std::vector<std::int32_t> t = targets_for(rows, c, 10);
  std::vector<float> d1(rows * c), d2(rows * c), d3 = x;
  const float l1 = simdgrad::softmax_cross_entropy(x.data(), t.data(), rows, c, d1.data(), 0.2f);
  const float l2 = simdgrad::softmax_cross_entropy_forward(x.data(), t.data(), rows, c, 0.2f);
  simdgrad::softmax_cross_entropy_backward(x.data(), t.data(), rows, c, 1.0f, d2.data(), 0.2f);
  const float l3 = simdgrad::softmax_cross_entropy(d3.data(), t.data(), rows, c, d3.data(), 0.2f);
  EXPECT_TRUE(sgtest::same_bits(l1, l2));
  EXPECT_TRUE(sgtest::same_bits(l1, l3));
  expect_same_bits(d1, d2, [] { return std::string("backward vs fused"); });
  expect_same_bits(d1, d3, [] { return std::string("in place vs fused"); });
  // dloss scales the gradient.
  simdgrad::softmax_cross_entropy_backward(x.data(), t.data(), rows, c, 4.0f, d2.data(), 0.2f);
  for (std::size_t i = 0; i < d1.size(); ++i)
    ASSERT_NEAR(d2[i], 4 * d1[i], 8 * kEps * (std::fabs(4 * d1[i]) + 4.0f / rows));
  // An empty batch is NaN, as PyTorch's mean over nothing.
  EXPECT_TRUE(std::isnan(simdgrad::softmax_cross_entropy_forward(nullptr, nullptr, 0, 10)));
  // NaN in a row gives NaN for the loss.
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(simdgrad::softmax_cross_entropy_forward(x.data(), t.data(), rows, c)));
}

// ----------------------------------------------------------------------- BCE and MSE

TEST_P(LossIsa, BceWithLogitsMatchesReference) {
  for (std::size_t n : {1u, 2u, 5u, 15u, 16u, 17u, 33u, 255u, 256u, 257u, 1000u, 5000u}) {
    for (int kind : {0, 1, 2}) {
      std::vector<float> x = kind == 0 ? sgtest::uniform(n, -30, 30, static_cast<unsigned>(n))
                                       : logits_for(2, n, static_cast<unsigned>(n));
      std::vector<float> y = sgtest::uniform(n, 0, 1, static_cast<unsigned>(n + 1));
      if (kind != 1)
        for (float& v : y) v = v < 0.5f ? 0.0f : 1.0f;
      std::vector<float> dx(n);
      const float loss = simdgrad::bce_with_logits(x.data(), y.data(), n, dx.data());
      double ref = 0, abs_terms = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double l = sgref::bce_with_logits(x[i], y[i]);
        ref += l;
        abs_terms += std::fabs(l) + std::fabs(static_cast<double>(x[i])) * kEps;
      }
      ASSERT_TRUE(std::isfinite(loss));
      ASSERT_LE(std::fabs(loss - ref / n), 8 * kEps * abs_terms / n) << "n " << n << " kind " << kind;
      for (std::size_t i = 0; i < n; ++i) {
        const double g = (sgref::sigmoid(x[i]) - y[i]) / n;
        ASSERT_LE(std::fabs(dx[i] - g), 4 * kEps / n) << "n " << n << " i " << i << " x " << x[i];
      }
    }
  }
  // Large |x| with the matching label: the loss is log1p(e^-|x|), tiny but exact in relative terms.
  std::vector<float> x = {20.0f, -20.0f, 1e4f, -1e4f}, y = {1, 0, 1, 0}, dx(4);
  const float loss = simdgrad::bce_with_logits(x.data(), y.data(), 4, dx.data());
  EXPECT_NEAR(loss, 2 * std::log1p(std::exp(-20.0)) / 4, 4 * kEps * std::exp(-20.0));
  EXPECT_TRUE(all_finite(dx));
}

TEST_P(LossIsa, MseMatchesReference) {
  for (std::size_t n : {1u, 3u, 16u, 17u, 255u, 256u, 257u, 4097u}) {
    std::vector<float> p = sgtest::uniform(n, -5, 5, static_cast<unsigned>(n));
    std::vector<float> t = sgtest::uniform(n, -5, 5, static_cast<unsigned>(n + 9));
    std::vector<float> d(n);
    const float loss = simdgrad::mse(p.data(), t.data(), n, d.data());
    double ref = 0;
    for (std::size_t i = 0; i < n; ++i) ref += (static_cast<double>(p[i]) - t[i]) * (static_cast<double>(p[i]) - t[i]);
    ref /= n;
    ASSERT_LE(std::fabs(loss - ref), 8 * kEps * ref) << n;
    for (std::size_t i = 0; i < n; ++i) {
      const double g = 2.0 * (static_cast<double>(p[i]) - t[i]) / n;
      ASSERT_LE(std::fabs(d[i] - g), 3 * kEps * std::fabs(g) + 1e-45) << n << " " << i;
    }
    std::vector<float> d2(n);
    simdgrad::mse_backward(p.data(), t.data(), n, 3.0f, d2.data());
    EXPECT_TRUE(sgtest::same_bits(simdgrad::mse_forward(p.data(), t.data(), n), loss));
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_LE(std::fabs(d2[i] - 3 * d[i]), 4 * kEps * std::fabs(3 * d[i]) + 1e-45);
  }
  std::vector<float> bx = sgtest::uniform(100, -3, 3, 1), by = sgtest::uniform(100, 0, 1, 2), bd(100), bd2(100);
  simdgrad::bce_with_logits_backward(bx.data(), by.data(), 100, 1.0f, bd.data());
  const float bl = simdgrad::bce_with_logits(bx.data(), by.data(), 100, bd2.data());
  EXPECT_TRUE(sgtest::same_bits(bl, simdgrad::bce_with_logits_forward(bx.data(), by.data(), 100)));
  expect_same_bits(bd, bd2, [] { return std::string("bce backward vs fused"); });
  // In place: the gradient over the logits.
  simdgrad::bce_with_logits(bx.data(), by.data(), 100, bx.data());
  expect_same_bits(bx, bd2, [] { return std::string("bce in place"); });
  EXPECT_TRUE(std::isnan(simdgrad::mse_forward(nullptr, nullptr, 0)));
}

// ------------------------------------------------------------------ threads and ISAs

namespace {
struct AllResults {
  std::vector<float> v;
};
AllResults run_all(std::size_t rows, std::size_t c, std::size_t n) {
  AllResults a;
  std::vector<float> x = logits_for(2, rows * c, 77);
  std::vector<std::int32_t> t = targets_for(rows, c, 78);
  std::vector<float> d(rows * c), y(rows * c);
  a.v.push_back(simdgrad::softmax_cross_entropy(x.data(), t.data(), rows, c, d.data(), 0.1f));
  a.v.insert(a.v.end(), d.begin(), d.end());
  simdgrad::softmax_forward(x.data(), y.data(), rows, c);
  a.v.insert(a.v.end(), y.begin(), y.end());
  simdgrad::softmax_backward(y.data(), x.data(), d.data(), rows, c);
  a.v.insert(a.v.end(), d.begin(), d.end());
  std::vector<float> bx = sgtest::uniform(n, -40, 40, 79), by = sgtest::uniform(n, 0, 1, 80);
  std::vector<float> bd(n);
  a.v.push_back(simdgrad::bce_with_logits(bx.data(), by.data(), n, bd.data()));
  a.v.insert(a.v.end(), bd.begin(), bd.end());
  a.v.push_back(simdgrad::mse(bx.data(), by.data(), n, bd.data()));
  return a;
}
}  // namespace

TEST(LossInvariance, ThreadCountDoesNotChangeResults) {
  const std::size_t rows = sgtest::big(512), c = 500, n = sgtest::big(std::size_t{1} << 18) + 7;
  AllResults ref;
  for (int th : {1, 2, 3, 4, 7}) {
    simdgrad::set_num_threads(th);
    AllResults r = run_all(rows, c, n);
    if (th == 1) {
      ref = r;
      continue;
    }
    expect_same_bits(ref.v, r.v, [th] { return std::to_string(th) + " threads"; });
  }
  simdgrad::set_num_threads(0);
}

TEST(LossInvariance, IsasOfOneFormulaFamilyAgreeBitwise) {
  const std::vector<simdgrad::Isa> isas = sgtest::test_isas();
  std::vector<AllResults> res;
  for (simdgrad::Isa isa : isas) {
    sgtest::IsaScope scope(isa);
    res.push_back(run_all(33, 301, 5001));
  }
  for (std::size_t a = 0; a < isas.size(); ++a)
    for (std::size_t b = a + 1; b < isas.size(); ++b)
      if (sgtest::same_formula(isas[a], isas[b]))
        expect_same_bits(res[a].v, res[b].v, [&] {
          return std::string(simdgrad::isa_name(isas[a])) + " vs " + simdgrad::isa_name(isas[b]);
        });
}

// ------------------------------------------------------------------------------ bad input

namespace {
template <class F>
void expect_error(F&& f, const std::string& fn, const std::string& arg) {
  try {
    f();
    ADD_FAILURE() << "no error from " << fn << " (" << arg << ")";
  } catch (const simdgrad::error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("simdgrad::" + fn + ":"), std::string::npos) << w;
    EXPECT_NE(w.find(arg), std::string::npos) << w;
  }
}
}  // namespace

TEST(LossErrors, BadInputIsRejectedBeforeAnyWrite) {
  const std::size_t rows = 4, c = 8;
  std::vector<float> x(rows * c, 1.0f), d(rows * c, 9.0f);
  std::vector<std::int32_t> t = {0, 1, 2, 3};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float* px = x.data();
  float* pd = d.data();
  const std::int32_t* pt = t.data();
  const std::string ce = "softmax_cross_entropy", cef = "softmax_cross_entropy_forward",
                    ceb = "softmax_cross_entropy_backward";
  // Null pointers.
  expect_error([&] { simdgrad::softmax_cross_entropy(nullptr, pt, rows, c, pd); }, ce, "logits is null");
  expect_error([&] { simdgrad::softmax_cross_entropy(px, nullptr, rows, c, pd); }, ce, "targets is null");
  expect_error([&] { simdgrad::softmax_cross_entropy(px, pt, rows, c, nullptr); }, ce, "dlogits is null");
  expect_error([&] { simdgrad::softmax_cross_entropy_backward(px, pt, rows, c, 1.0f, nullptr); }, ceb,
               "dlogits is null");
  expect_error([&] { simdgrad::softmax_forward(nullptr, pd, rows, c); }, "softmax_forward", "x is null");
  expect_error([&] { simdgrad::log_softmax_forward(px, nullptr, rows, c); }, "log_softmax_forward",
               "y is null");
  expect_error([&] { simdgrad::softmax_backward(px, nullptr, pd, rows, c); }, "softmax_backward", "dy is null");
  expect_error([&] { simdgrad::log_softmax_backward(nullptr, px, pd, rows, c); }, "log_softmax_backward",
               "y is null");
  expect_error([&] { simdgrad::bce_with_logits(nullptr, px, 4, pd); }, "bce_with_logits", "logits is null");
  expect_error([&] { simdgrad::bce_with_logits_backward(px, nullptr, 4, 1.0f, pd); },
               "bce_with_logits_backward", "targets is null");
  expect_error([&] { simdgrad::bce_with_logits_backward(px, px, 4, 1.0f, nullptr); },
               "bce_with_logits_backward", "dlogits is null");
  expect_error([&] { simdgrad::mse(px, px, 4, nullptr); }, "mse", "dpred is null");
  expect_error([&] { simdgrad::mse_forward(px, nullptr, 4); }, "mse_forward", "target is null");
  expect_error([&] { simdgrad::mse_backward(nullptr, px, 4, 1.0f, pd); }, "mse_backward", "pred is null");
  // Targets out of range.
  for (std::int32_t bad : {-1, 8, 1000}) {
    std::vector<std::int32_t> tb = {0, 1, bad, 3};
    expect_error([&] { simdgrad::softmax_cross_entropy(px, tb.data(), rows, c, pd); }, ce,
                 "targets[2] = " + std::to_string(bad) + " is outside [0, classes = 8)");
    expect_error([&] { simdgrad::softmax_cross_entropy_forward(px, tb.data(), rows, c); }, cef, "targets[2]");
  }
  expect_error([&] { simdgrad::softmax_cross_entropy_forward(px, pt, rows, 0); }, cef, "classes must be > 0");
  // Label smoothing outside [0, 1].
  for (float eps : {-0.1f, 1.01f, nan})
    expect_error([&] { simdgrad::softmax_cross_entropy(px, pt, rows, c, pd, eps); }, ce, "label_smoothing");
  // dloss not finite.
  expect_error([&] { simdgrad::softmax_cross_entropy_backward(px, pt, rows, c, nan, pd); }, ceb, "dloss");
  expect_error([&] { simdgrad::mse_backward(px, px, 4, INFINITY, pd); }, "mse_backward", "dloss");
  // Leading dimensions.
  expect_error([&] { simdgrad::softmax_forward(px, pd, 2, c, 4); }, "softmax_forward", "ldx must be >= cols");
  expect_error([&] { simdgrad::softmax_cross_entropy(px, pt, 2, c, pd, 0.0f, 8, 7); }, ce, "ld_dlogits");
  // Overlap: partial, or the same start with another leading dimension.
  expect_error([&] { simdgrad::softmax_forward(pd, pd + 3, 2, c); }, "softmax_forward", "y overlaps x");
  expect_error([&] { simdgrad::softmax_forward(pd, pd, 2, 4, 8, 4); }, "softmax_forward", "y overlaps x");
  expect_error([&] { simdgrad::softmax_backward(pd, px, pd + 1, 2, c); }, "softmax_backward", "dx overlaps y");
  expect_error([&] { simdgrad::softmax_cross_entropy(pd, pt, 2, c, pd + 8); }, ce, "dlogits overlaps logits");
  auto* tt = reinterpret_cast<std::int32_t*>(pd + 8);
  expect_error([&] { simdgrad::softmax_cross_entropy(px, tt, 2, c, pd); }, ce, "dlogits overlaps targets");
  expect_error([&] { simdgrad::bce_with_logits(pd, px, 8, pd + 1); }, "bce_with_logits", "partially overlaps");
  expect_error([&] { simdgrad::mse(px, pd + 2, 8, pd); }, "mse", "partially overlaps");
  for (float v : d) EXPECT_EQ(v, 9.0f);
}
