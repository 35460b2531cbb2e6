// Optimizer steps: every rule and several hyper-parameter sets on every ISA against the
// double-precision torch.optim references, over several steps, one tensor and lists of tensors of
// odd sizes and misaligned starts; the gradient scale and maximize; step 1 not reading the state;
// lists equal to tensor-by-tensor calls; ISA agreement; thread-count invariance; bad input.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/reference_optimizer.hpp"

namespace {

using simdgrad::AdagradParams;
using simdgrad::AdagradTensor;
using simdgrad::AdamParams;
using simdgrad::AdamTensor;
using simdgrad::LambParams;
using simdgrad::RmspropParams;
using simdgrad::RmspropTensor;
using simdgrad::SgdParams;
using simdgrad::SgdTensor;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// ------------------------------------------------------------------------------- adapters
// One per rule: its tensor struct, its step, its reference and its hyper-parameter cases.

struct Sgd {
  using P = SgdParams;
  using T = SgdTensor;
  static constexpr int kStates = 1;
  static constexpr const char* kName = "sgd";
  static bool uses(const P& hp, int) { return hp.momentum != 0; }
  static T make(float* p, const float* g, float* const* s, std::size_t n) {
    T t;
    t.param = p;
    t.grad = g;
    t.momentum_buffer = s[0];
    t.n = n;
    return t;
  }
  static void step(const P& hp, const T* t, std::size_t c, std::int64_t k, float sc) {
    simdgrad::sgd_step(hp, t, c, k, sc);
  }
  static void ref(const P& hp, std::int64_t k, double sc, double* p, const float* g,
                  double* const* s, std::size_t n) {
    sgref::sgd(hp, k, sc, p, g, s[0], n);
  }
  static std::vector<P> cases() {
    std::vector<P> c(6);
    c[0].lr = 0.1f;
    c[1].lr = 0.05f, c[1].momentum = 0.9f;
    c[2].lr = 0.1f, c[2].momentum = 0.9f, c[2].dampening = 0.3f, c[2].weight_decay = 0.01f;
    c[3].lr = 0.05f, c[3].momentum = 0.8f, c[3].nesterov = true, c[3].weight_decay = 1e-3f;
    c[4].lr = 0.1f, c[4].momentum = 0.5f, c[4].maximize = true;
    c[5].lr = 0.2f, c[5].weight_decay = 0.1f, c[5].maximize = true;
    return c;
  }
};

struct Adam {
  using P = AdamParams;
  using T = AdamTensor;
  static constexpr int kStates = 3;
  static constexpr const char* kName = "adam";
  static bool uses(const P& hp, int s) { return s < 2 || hp.amsgrad; }
  static T make(float* p, const float* g, float* const* s, std::size_t n) {
    T t;
    t.param = p;
    t.grad = g;
    t.exp_avg = s[0];
    t.exp_avg_sq = s[1];
    t.max_exp_avg_sq = s[2];
    t.n = n;
    return t;
  }
  static void step(const P& hp, const T* t, std::size_t c, std::int64_t k, float sc) {
    simdgrad::adam_step(hp, t, c, k, sc);
  }
  static void ref(const P& hp, std::int64_t k, double sc, double* p, const float* g,
                  double* const* s, std::size_t n) {
    sgref::adam(hp, k, sc, p, g, s[0], s[1], hp.amsgrad ? s[2] : nullptr, n);
  }
  static std::vector<P> cases() {
    std::vector<P> c(7);
    c[1].lr = 1e-2f, c[1].weight_decay = 0.1f;
    c[2].lr = 1e-2f, c[2].amsgrad = true;
    c[3] = simdgrad::adamw_params(1e-2f, 0.1f);
    c[4] = simdgrad::adamw_params(3e-3f, 0.05f);
    c[4].maximize = true, c[4].amsgrad = true, c[4].beta1 = 0.5f, c[4].beta2 = 0.9f,
    c[4].eps = 1e-6f;
    c[5].beta1 = 0.0f, c[5].beta2 = 0.0f, c[5].lr = 1e-2f;
    c[6].lr = 1e-2f, c[6].maximize = true, c[6].weight_decay = 0.01f;
    return c;
  }
};

struct Rmsprop {
  using P = RmspropParams;
  using T = RmspropTensor;
  static constexpr int kStates = 3;
  static constexpr const char* kName = "rmsprop";
  static bool uses(const P& hp, int s) {
    return s == 0 || (s == 1 && hp.momentum > 0) || (s == 2 && hp.centered);
  }
  static T make(float* p, const float* g, float* const* s, std::size_t n) {
    T t;
    t.param = p;
    t.grad = g;
    t.square_avg = s[0];
    t.momentum_buffer = s[1];
    t.grad_avg = s[2];
    t.n = n;
    return t;
  }
  static void step(const P& hp, const T* t, std::size_t c, std::int64_t k, float sc) {
    simdgrad::rmsprop_step(hp, t, c, k, sc);
  }
  static void ref(const P& hp, std::int64_t k, double sc, double* p, const float* g,
                  double* const* s, std::size_t n) {
    sgref::rmsprop(hp, k, sc, p, g, s[0], hp.momentum > 0 ? s[1] : nullptr,
                   hp.centered ? s[2] : nullptr, n);
  }
  static std::vector<P> cases() {
    std::vector<P> c(6);
    c[1].centered = true;
    c[2].momentum = 0.9f, c[2].lr = 1e-3f;
    c[3].centered = true, c[3].momentum = 0.5f, c[3].weight_decay = 0.01f, c[3].alpha = 0.9f;
    c[4].maximize = true, c[4].eps = 1e-4f;
    c[5].alpha = 0.0f, c[5].weight_decay = 0.1f, c[5].lr = 1e-3f;
    return c;
  }
};

struct Adagrad {
  using P = AdagradParams;
  using T = AdagradTensor;
  static constexpr int kStates = 1;
  static constexpr const char* kName = "adagrad";
  static bool uses(const P&, int) { return true; }
  static T make(float* p, const float* g, float* const* s, std::size_t n) {
    T t;
    t.param = p;
    t.grad = g;
    t.sum = s[0];
    t.n = n;
    return t;
  }
  static void step(const P& hp, const T* t, std::size_t c, std::int64_t k, float sc) {
    simdgrad::adagrad_step(hp, t, c, k, sc);
  }
  static void ref(const P& hp, std::int64_t k, double sc, double* p, const float* g,
                  double* const* s, std::size_t n) {
    sgref::adagrad(hp, k, sc, p, g, s[0], n);
  }
  static std::vector<P> cases() {
    std::vector<P> c(4);
    c[1].lr_decay = 0.1f, c[1].weight_decay = 0.01f, c[1].initial_accumulator_value = 0.1f;
    c[2].maximize = true, c[2].eps = 1e-6f;
    c[3].lr = 0.1f, c[3].initial_accumulator_value = 1.0f, c[3].lr_decay = 1.0f;
    return c;
  }
};

struct Lamb {
  using P = LambParams;
  using T = AdamTensor;
  static constexpr int kStates = 2;
  static constexpr const char* kName = "lamb";
  static bool uses(const P&, int) { return true; }
  static T make(float* p, const float* g, float* const* s, std::size_t n) {
    T t;
    t.param = p;
    t.grad = g;
    t.exp_avg = s[0];
    t.exp_avg_sq = s[1];
    t.n = n;
    return t;
  }
  static void step(const P& hp, const T* t, std::size_t c, std::int64_t k, float sc) {
    simdgrad::lamb_step(hp, t, c, k, sc);
  }
  static void ref(const P& hp, std::int64_t k, double sc, double* p, const float* g,
                  double* const* s, std::size_t n) {
    sgref::lamb(hp, k, sc, p, g, s[0], s[1], n);
  }
  static std::vector<P> cases() {
    std::vector<P> c(4);
    c[1].weight_decay = 0.0f, c[1].bias_correction = false;
    c[2].maximize = true, c[2].beta1 = 0.5f, c[2].lr = 1e-2f;
    c[3].weight_decay = 0.1f, c[3].eps = 1e-8f, c[3].beta2 = 0.99f;
    return c;
  }
};

// ---------------------------------------------------------------------------------- model
// A list of tensors in one pool (params and state carved with odd gaps, so most starts are
// misaligned), its fp32 gradients and a double-precision mirror for the reference.

template <class A>
struct Model {
  typename A::P hp;
  std::vector<std::size_t> sizes;
  std::vector<float> pool;
  std::vector<float*> param;
  std::vector<std::array<float*, 3>> state;
  std::vector<std::vector<float>> grad;
  std::vector<std::vector<double>> rp;
  std::vector<std::array<std::vector<double>, 3>> rs;
  std::vector<std::vector<double>> mag;  // sum over steps of |reference update|
  std::vector<typename A::T> tensors;

  Model(const typename A::P& h, std::vector<std::size_t> sz) : hp(h), sizes(std::move(sz)) {
    std::size_t total = 0;
    for (std::size_t n : sizes) total += (n + 3) * (1 + A::kStates);
    pool.assign(total + 16, kNaN);
    std::size_t off = 1;
    const std::size_t nt = sizes.size();
    param.resize(nt);
    state.resize(nt);
    grad.resize(nt);
    rp.resize(nt);
    rs.resize(nt);
    mag.resize(nt);
    for (std::size_t t = 0; t < nt; ++t) {
      const std::size_t n = sizes[t];
      param[t] = pool.data() + off;
      off += n + 1 + (t % 3);
      for (int s = 0; s < 3; ++s) {
        state[t][s] = nullptr;
        if (s < A::kStates && A::uses(hp, s)) {
          state[t][s] = pool.data() + off;
          off += n + 1 + ((t + s) % 2);
        }
      }
      const auto init = sgtest::uniform(n, -1.0f, 1.0f, 100 + static_cast<unsigned>(t));
      std::copy(init.begin(), init.end(), param[t]);
      rp[t].assign(init.begin(), init.end());
      for (int s = 0; s < 3; ++s) rs[t][s].assign(n, 0.0);
      mag[t].assign(n, 0.0);
      grad[t].assign(n, 0.0f);
    }
    for (std::size_t t = 0; t < nt; ++t)
      tensors.push_back(A::make(param[t], grad[t].data(), state[t].data(), sizes[t]));
  }

  /// New gradients for step k: uniform, a per-tensor magnitude, some exact zeros.
  void make_grads(std::int64_t k) {
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      const float mag_t = t % 3 == 0 ? 1.0f : t % 3 == 1 ? 0.01f : 3.0f;
      // Copied into the existing storage: the tensors point at it.
      const auto g = sgtest::uniform(sizes[t], -mag_t, mag_t,
                                     static_cast<unsigned>(1000 * k + 7 * t + 1));
      std::copy(g.begin(), g.end(), grad[t].begin());
      for (std::size_t i = 5; i < sizes[t]; i += 37) grad[t][i] = 0.0f;
    }
  }

  void step(std::int64_t k, float scale) {
    A::step(hp, tensors.data(), tensors.size(), k, scale);
  }

  void ref_step(std::int64_t k, float scale) {
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      std::vector<double> before = rp[t];
      double* s[3] = {rs[t][0].data(), rs[t][1].data(), rs[t][2].data()};
      A::ref(hp, k, static_cast<double>(scale), rp[t].data(), grad[t].data(), s, sizes[t]);
      for (std::size_t i = 0; i < sizes[t]; ++i) mag[t][i] += std::fabs(rp[t][i] - before[i]);
    }
  }

  /// Compares params and the used state with the reference; k steps done.
  void check(const std::string& what, std::int64_t k) const {
    int failures = 0;
    for (std::size_t t = 0; t < sizes.size() && failures < 5; ++t) {
      const std::size_t n = sizes[t];
      double mag_max = 0;
      for (double m : mag[t]) mag_max = std::max(mag_max, m);
      for (std::size_t i = 0; i < n && failures < 5; ++i) {
        const double ref = rp[t][i];
        const double tol = 1e-5 * mag[t][i] + 1e-6 * mag_max +
                           4.0 * static_cast<double>(k) * std::ldexp(std::fabs(ref), -24);
        const double err = std::fabs(static_cast<double>(param[t][i]) - ref);
        if (!(err <= tol)) {
          ++failures;
          ADD_FAILURE() << what << " step " << k << " tensor " << t << " (n=" << n
                        << ") param[" << i << "] = " << param[t][i] << ", reference " << ref
                        << " (error " << err << ", tolerance " << tol << ")";
        }
      }
      for (int s = 0; s < A::kStates; ++s) {
        if (!A::uses(hp, s)) continue;
        double smax = 0;
        for (double x : rs[t][s]) smax = std::max(smax, std::fabs(x));
        for (std::size_t i = 0; i < n && failures < 5; ++i) {
          const double ref = rs[t][s][i];
          const double tol = 2e-5 * std::fabs(ref) + 2e-6 * smax + 1e-30;
          const double err = std::fabs(static_cast<double>(state[t][s][i]) - ref);
          if (!(err <= tol)) {
            ++failures;
            ADD_FAILURE() << what << " step " << k << " tensor " << t << " state " << s << "["
                          << i << "] = " << state[t][s][i] << ", reference " << ref
                          << " (error " << err << ")";
          }
        }
      }
    }
  }

  /// Everything the steps write, for bitwise comparisons.
  std::vector<float> snapshot() const {
    std::vector<float> out;
    for (std::size_t t = 0; t < sizes.size(); ++t) {
      out.insert(out.end(), param[t], param[t] + sizes[t]);
      for (int s = 0; s < 3; ++s)
        if (state[t][s]) out.insert(out.end(), state[t][s], state[t][s] + sizes[t]);
    }
    return out;
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!sgtest::same_bits(a[i], b[i])) return false;
  return true;
}

/// Sizes of a "model": every length 0..40 (all tails of every ISA), then odd larger ones.
std::vector<std::size_t> many_sizes() {
  std::vector<std::size_t> s;
  for (std::size_t n = 0; n <= 40; ++n) s.push_back(n);
  for (std::size_t n : {63, 64, 65, 127, 129, 255, 257, 1000, 2049, 4099}) s.push_back(n);
  return s;
}

constexpr float kScales[] = {1.0f, 0.5f, 1.0f, 0.25f, 2.0f};

template <class A>
void run_against_reference(const std::vector<std::size_t>& sizes, int steps) {
  const auto cases = A::cases();
  for (std::size_t c = 0; c < cases.size(); ++c) {
    Model<A> m(cases[c], sizes);
    const std::string what = std::string(A::kName) + " case " + std::to_string(c) + " on " +
                             simdgrad::isa_name(simdgrad::active_isa());
    for (int k = 1; k <= steps; ++k) {
      m.make_grads(k);
      m.step(k, kScales[(k - 1) % 5]);
      m.ref_step(k, kScales[(k - 1) % 5]);
      m.check(what, k);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// ---------------------------------------------------------------------------------- tests

class Optimizers : public sgtest::PerIsa {};
SGTEST_INSTANTIATE_PER_ISA(Optimizers);

template <class A>
void one_and_many() {
  run_against_reference<A>({1003}, 5);
  run_against_reference<A>(many_sizes(), 4);
}

TEST_P(Optimizers, SgdMatchesReference) { one_and_many<Sgd>(); }
TEST_P(Optimizers, AdamMatchesReference) { one_and_many<Adam>(); }
TEST_P(Optimizers, RmspropMatchesReference) { one_and_many<Rmsprop>(); }
TEST_P(Optimizers, AdagradMatchesReference) { one_and_many<Adagrad>(); }
TEST_P(Optimizers, LambMatchesReference) { one_and_many<Lamb>(); }

TEST_P(Optimizers, AdamLongRunBiasCorrection) {
  // 60 steps: the bias corrections fade out; still within tolerance of the reference.
  for (auto hp : {AdamParams{}, simdgrad::adamw_params(1e-2f, 0.1f)}) {
    hp.amsgrad = true;
    Model<Adam> m(hp, {517, 33});
    for (int k = 1; k <= 60; ++k) {
      m.make_grads(k);
      m.step(k, 1.0f);
      m.ref_step(k, 1.0f);
    }
    m.check("adam 60 steps", 60);
  }
}

TEST_P(Optimizers, LambTrustRatiosMatchReference) {
  LambParams hp;
  hp.weight_decay = 0.05f;
  Model<Lamb> m(hp, {0, 300, 17, 1000});
  for (int k = 1; k <= 3; ++k) {
    m.make_grads(k);
    std::vector<float> r(4, -1.0f);
    simdgrad::lamb_step(hp, m.tensors.data(), m.tensors.size(), k, 1.0f, r.data());
    for (std::size_t t = 0; t < 4; ++t) {
      double* s[3] = {m.rs[t][0].data(), m.rs[t][1].data(), nullptr};
      const double ref = sgref::lamb(hp, k, 1.0, m.rp[t].data(), m.grad[t].data(), s[0], s[1],
                                     m.sizes[t]);
      EXPECT_NEAR(r[t], ref, 1e-5 * ref) << "tensor " << t << " step " << k;
    }
  }
  // A zero parameter tensor has ||p|| = 0: trust ratio 1.
  std::vector<float> p(64, 0.0f), g(64, 1.0f), mm(64), vv(64);
  AdamTensor t{p.data(), g.data(), mm.data(), vv.data(), nullptr, 64};
  float r = 0.0f;
  simdgrad::lamb_step(LambParams{}, t, 1, 1.0f, &r);
  EXPECT_EQ(r, 1.0f);
}

TEST_P(Optimizers, GradScaleEqualsPrescaledGradients) {
  // The rule sees grad_scale * grad, rounded once: the same bits as scaling beforehand.
  for (float s : {0.37f, 3.0f, 0.0f}) {
    Model<Adam> a(Adam::cases()[3], {333, 16}), b(Adam::cases()[3], {333, 16});
    for (int k = 1; k <= 3; ++k) {
      a.make_grads(k);
      b.make_grads(k);
      for (auto& g : b.grad)
        for (float& x : g) x = x * s;
      a.step(k, s);
      b.step(k, 1.0f);
    }
    EXPECT_TRUE(same_bits(a.snapshot(), b.snapshot())) << "scale " << s;
  }
}

TEST_P(Optimizers, MaximizeEqualsNegatedGradients) {
  auto check = [](auto adapter, typename decltype(adapter)::P hp) {
    using A = decltype(adapter);
    auto neg = hp;
    hp.maximize = true;
    neg.maximize = false;
    Model<A> a(hp, {101, 7}), b(neg, {101, 7});
    for (int k = 1; k <= 3; ++k) {
      a.make_grads(k);
      b.make_grads(k);
      for (auto& g : b.grad)
        for (float& x : g) x = -x;
      a.step(k, 0.5f);
      b.step(k, 0.5f);
    }
    EXPECT_TRUE(same_bits(a.snapshot(), b.snapshot())) << A::kName;
  };
  check(Sgd{}, Sgd::cases()[2]);
  check(Adam{}, Adam::cases()[4]);
  check(Rmsprop{}, Rmsprop::cases()[3]);
  check(Adagrad{}, Adagrad::cases()[1]);
  check(Lamb{}, Lamb::cases()[0]);
}

TEST_P(Optimizers, FirstStepDoesNotReadState) {
  // Model fills the state with NaN before step 1; the step must initialize it.
  auto check = [](auto adapter) {
    using A = decltype(adapter);
    for (const auto& hp : A::cases()) {
      Model<A> m(hp, {77, 16, 5});
      m.make_grads(1);
      m.step(1, 1.0f);
      for (float x : m.snapshot()) ASSERT_FALSE(std::isnan(x)) << A::kName;
    }
  };
  check(Sgd{});
  check(Adam{});
  check(Rmsprop{});
  check(Adagrad{});
  check(Lamb{});
}

TEST_P(Optimizers, ListEqualsTensorByTensor) {
  auto check = [](auto adapter, const typename decltype(adapter)::P& hp) {
    using A = decltype(adapter);
    const std::vector<std::size_t> sizes = {3, 0, 250, 17, 1, 64, 1000};
    Model<A> whole(hp, sizes), each(hp, sizes);
    for (int k = 1; k <= 3; ++k) {
      whole.make_grads(k);
      each.make_grads(k);
      whole.step(k, 1.0f);
      for (std::size_t t = 0; t < sizes.size(); ++t) A::step(hp, &each.tensors[t], 1, k, 1.0f);
    }
    EXPECT_TRUE(same_bits(whole.snapshot(), each.snapshot())) << A::kName;
  };
  check(Sgd{}, Sgd::cases()[3]);
  check(Adam{}, Adam::cases()[2]);
  check(Rmsprop{}, Rmsprop::cases()[3]);
  check(Adagrad{}, Adagrad::cases()[1]);
  check(Lamb{}, Lamb::cases()[3]);
}

TEST_P(Optimizers, SingleTensorOverloadEqualsList) {
  Model<Adam> a(Adam::cases()[1], {999}), b(Adam::cases()[1], {999});
  for (int k = 1; k <= 2; ++k) {
    a.make_grads(k);
    b.make_grads(k);
    simdgrad::adam_step(a.hp, a.tensors[0], k, 0.5f);
    simdgrad::adam_step(b.hp, b.tensors.data(), 1, k, 0.5f);
  }
  EXPECT_TRUE(same_bits(a.snapshot(), b.snapshot()));
}

TEST_P(Optimizers, IsasWithTheSameFormulaAgreeBitForBit) {
  // Element-wise rules evaluate one formula per element: ISAs that fuse the same multiply-adds
  // give the same bits (LAMB's norms are sums in ISA-dependent order: not compared).
  const simdgrad::Isa mine = GetParam();
  auto run = [](auto adapter, const typename decltype(adapter)::P& hp) {
    using A = decltype(adapter);
    Model<A> m(hp, many_sizes());
    for (int k = 1; k <= 3; ++k) {
      m.make_grads(k);
      m.step(k, 0.75f);
    }
    return m.snapshot();
  };
  for (simdgrad::Isa other : sgtest::test_isas()) {
    if (other == mine || !sgtest::same_formula(mine, other)) continue;
    auto both = [&](auto adapter, const typename decltype(adapter)::P& hp) {
      const auto x = run(adapter, hp);
      std::vector<float> y;
      {
        sgtest::IsaScope scope(other);
        y = run(adapter, hp);
      }
      simdgrad::set_max_isa(mine);
      EXPECT_TRUE(same_bits(x, y)) << decltype(adapter)::kName << " " << simdgrad::isa_name(mine)
                                   << " vs " << simdgrad::isa_name(other);
    };
    for (const auto& hp : Sgd::cases()) both(Sgd{}, hp);
    for (const auto& hp : Adam::cases()) both(Adam{}, hp);
    for (const auto& hp : Rmsprop::cases()) both(Rmsprop{}, hp);
    for (const auto& hp : Adagrad::cases()) both(Adagrad{}, hp);
  }
}

TEST_P(Optimizers, ResultsIndependentOfThreadCount) {
  // Large enough for 2 and 3 threads (64Ki elements each at least).
  const std::vector<std::size_t> sizes = {sgtest::big(70001), 3, sgtest::big(65537), 0,
                                          sgtest::big(20011), sgtest::big(40000)};
  auto check = [&](auto adapter, const typename decltype(adapter)::P& hp) {
    using A = decltype(adapter);
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      simdgrad::set_num_threads(threads);
      Model<A> m(hp, sizes);
      for (int k = 1; k <= 2; ++k) {
        m.make_grads(k);
        m.step(k, 0.5f);
      }
      if (threads == 1) first = m.snapshot();
      else EXPECT_TRUE(same_bits(first, m.snapshot())) << A::kName << " threads " << threads;
    }
    simdgrad::set_num_threads(0);
  };
  check(Sgd{}, Sgd::cases()[2]);
  check(Adam{}, Adam::cases()[4]);
  check(Rmsprop{}, Rmsprop::cases()[3]);
  check(Adagrad{}, Adagrad::cases()[1]);
  check(Lamb{}, Lamb::cases()[3]);
}

TEST_P(Optimizers, SpecialGradientsPropagateLikeTorch) {
  // A NaN gradient makes that element's param and state NaN; an infinite one too (inf/inf);
  // other elements are untouched by them.
  std::vector<float> p(40, 0.5f), g(40, 0.1f), m(40, 0.0f), v(40, 0.0f);
  g[3] = kNaN;
  g[17] = std::numeric_limits<float>::infinity();
  AdamTensor t{p.data(), g.data(), m.data(), v.data(), nullptr, 40};
  simdgrad::adam_step(AdamParams{}, t, 1);
  EXPECT_TRUE(std::isnan(p[3]) && std::isnan(m[3]) && std::isnan(v[3]));
  EXPECT_TRUE(std::isnan(p[17]));
  for (std::size_t i = 0; i < 40; ++i) {
    if (i != 3 && i != 17) {
      EXPECT_NEAR(p[i], 0.5f - 1e-3f, 1e-7f) << i;
    }
  }
  // Zero weight decay is skipped, as in torch: an infinite param stays inf (0 * inf is not used).
  std::vector<float> q(8, std::numeric_limits<float>::infinity()), h(8, 1.0f);
  SgdParams sp;
  sp.lr = 0.1f;
  simdgrad::sgd_step(sp, SgdTensor{q.data(), h.data(), nullptr, 8}, 1);
  for (float x : q) EXPECT_EQ(x, std::numeric_limits<float>::infinity());
}

// ------------------------------------------------------------------------------ bad input

/// Expects fn() to throw simdgrad::error whose message names fn_name and contains `what`.
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

struct AdamBufs {
  std::vector<float> p, g, m, v, x;
  explicit AdamBufs(std::size_t n)
      : p(sgtest::uniform(n, -1, 1, 1)), g(sgtest::uniform(n, -1, 1, 2)),
        m(sgtest::uniform(n, 0, 1, 3)), v(sgtest::uniform(n, 0, 1, 4)),
        x(sgtest::uniform(n, 0, 1, 5)) {}
  AdamTensor tensor() {
    return AdamTensor{p.data(), g.data(), m.data(), v.data(), x.data(), p.size()};
  }
  std::vector<float> all() const {
    std::vector<float> a = p;
    for (const auto* b : {&g, &m, &v, &x}) a.insert(a.end(), b->begin(), b->end());
    return a;
  }
};

TEST(OptimizerErrors, BadHyperParameters) {
  AdamBufs b(64);
  const auto before = b.all();
  const AdamTensor t = b.tensor();
  auto adam = [&](auto edit, const char* what) {
    AdamParams hp;
    edit(hp);
    expect_error([&] { simdgrad::adam_step(hp, t, 1); }, "adam_step", what);
  };
  adam([](AdamParams& h) { h.lr = -1e-3f; }, "hp.lr must be finite and >= 0");
  adam([](AdamParams& h) { h.lr = kNaN; }, "hp.lr");
  adam([](AdamParams& h) { h.lr = std::numeric_limits<float>::infinity(); }, "hp.lr");
  adam([](AdamParams& h) { h.beta1 = 1.0f; }, "hp.beta1 must be in [0, 1)");
  adam([](AdamParams& h) { h.beta1 = -0.1f; }, "hp.beta1 must be in [0, 1)");
  adam([](AdamParams& h) { h.beta2 = kNaN; }, "hp.beta2 must be in [0, 1)");
  adam([](AdamParams& h) { h.beta2 = 1.5f; }, "hp.beta2");
  adam([](AdamParams& h) { h.eps = 0.0f; }, "hp.eps must be finite and > 0");
  adam([](AdamParams& h) { h.eps = -1e-8f; }, "hp.eps");
  adam([](AdamParams& h) { h.eps = kNaN; }, "hp.eps");
  adam([](AdamParams& h) { h.weight_decay = -0.1f; }, "hp.weight_decay");
  adam([](AdamParams& h) { h.weight_decay = kNaN; }, "hp.weight_decay");
  expect_error([&] { simdgrad::adam_step(AdamParams{}, t, 0); }, "adam_step", "step must be >= 1");
  expect_error([&] { simdgrad::adam_step(AdamParams{}, t, -5); }, "adam_step", "step");
  expect_error([&] { simdgrad::adam_step(AdamParams{}, t, 1, kNaN); }, "adam_step",
               "grad_scale must be finite and >= 0");
  expect_error([&] { simdgrad::adam_step(AdamParams{}, t, 1, -1.0f); }, "adam_step",
               "grad_scale");
  expect_error([&] { simdgrad::adam_step(AdamParams{}, t, 1, INFINITY); }, "adam_step",
               "grad_scale");

  SgdTensor st{b.p.data(), b.g.data(), b.m.data(), 64};
  auto sgd = [&](auto edit, const char* what) {
    SgdParams hp;
    hp.momentum = 0.9f;
    edit(hp);
    expect_error([&] { simdgrad::sgd_step(hp, st, 2); }, "sgd_step", what);
  };
  sgd([](SgdParams& h) { h.lr = -0.1f; }, "hp.lr");
  sgd([](SgdParams& h) { h.momentum = -0.5f; }, "hp.momentum");
  sgd([](SgdParams& h) { h.momentum = kNaN; }, "hp.momentum");
  sgd([](SgdParams& h) { h.dampening = 1.5f; }, "hp.dampening must be in [0, 1]");
  sgd([](SgdParams& h) { h.dampening = kNaN; }, "hp.dampening");
  sgd([](SgdParams& h) { h.weight_decay = -1.0f; }, "hp.weight_decay");
  sgd([](SgdParams& h) { h.nesterov = true, h.dampening = 0.1f; }, "hp.nesterov requires");
  sgd([](SgdParams& h) { h.nesterov = true, h.momentum = 0.0f; }, "hp.nesterov requires");

  RmspropTensor rt{b.p.data(), b.g.data(), b.m.data(), b.v.data(), b.x.data(), 64};
  auto rms = [&](auto edit, const char* what) {
    RmspropParams hp;
    edit(hp);
    expect_error([&] { simdgrad::rmsprop_step(hp, rt, 2); }, "rmsprop_step", what);
  };
  rms([](RmspropParams& h) { h.lr = -1.0f; }, "hp.lr");
  rms([](RmspropParams& h) { h.alpha = 1.0f; }, "hp.alpha must be in [0, 1)");
  rms([](RmspropParams& h) { h.alpha = kNaN; }, "hp.alpha");
  rms([](RmspropParams& h) { h.eps = 0.0f; }, "hp.eps");
  rms([](RmspropParams& h) { h.momentum = -0.9f; }, "hp.momentum");
  rms([](RmspropParams& h) { h.weight_decay = kNaN; }, "hp.weight_decay");

  AdagradTensor at{b.p.data(), b.g.data(), b.m.data(), 64};
  auto ada = [&](auto edit, const char* what) {
    AdagradParams hp;
    edit(hp);
    expect_error([&] { simdgrad::adagrad_step(hp, at, 2); }, "adagrad_step", what);
  };
  ada([](AdagradParams& h) { h.lr = kNaN; }, "hp.lr");
  ada([](AdagradParams& h) { h.lr_decay = -0.1f; }, "hp.lr_decay");
  ada([](AdagradParams& h) { h.weight_decay = -0.1f; }, "hp.weight_decay");
  ada([](AdagradParams& h) { h.initial_accumulator_value = -1.0f; },
      "hp.initial_accumulator_value");
  ada([](AdagradParams& h) { h.eps = -1e-10f; }, "hp.eps");

  auto lamb = [&](auto edit, const char* what) {
    LambParams hp;
    edit(hp);
    expect_error([&] { simdgrad::lamb_step(hp, t, 2); }, "lamb_step", what);
  };
  lamb([](LambParams& h) { h.lr = -1.0f; }, "hp.lr");
  lamb([](LambParams& h) { h.beta1 = 1.0f; }, "hp.beta1");
  lamb([](LambParams& h) { h.beta2 = -0.5f; }, "hp.beta2");
  lamb([](LambParams& h) { h.eps = 0.0f; }, "hp.eps");
  lamb([](LambParams& h) { h.weight_decay = kNaN; }, "hp.weight_decay");

  EXPECT_TRUE(same_bits(before, b.all())) << "a rejected call wrote memory";
}

TEST(OptimizerErrors, NullPointers) {
  AdamBufs b(32);
  const auto before = b.all();
  AdamTensor t = b.tensor();
  expect_error([&] { simdgrad::adam_step(AdamParams{}, nullptr, 3, 1); }, "adam_step",
               "tensors is null with 3 tensors");
  for (int field = 0; field < 4; ++field) {
    AdamTensor u = t;
    const char* names[] = {"tensor.param", "tensor.grad", "tensor.exp_avg", "tensor.exp_avg_sq"};
    if (field == 0) u.param = nullptr;
    if (field == 1) u.grad = nullptr;
    if (field == 2) u.exp_avg = nullptr;
    if (field == 3) u.exp_avg_sq = nullptr;
    expect_error([&] { simdgrad::adam_step(AdamParams{}, u, 2); }, "adam_step",
                 std::string(names[field]) + " is null with 32 elements");
  }
  {
    AdamTensor u = t;
    u.max_exp_avg_sq = nullptr;
    AdamParams hp;
    hp.amsgrad = true;
    expect_error([&] { simdgrad::adam_step(hp, u, 2); }, "adam_step",
                 "tensor.max_exp_avg_sq is null");
    // Without amsgrad the buffer is not needed.
    hp.amsgrad = false;
    AdamBufs c(32);
    AdamTensor w = c.tensor();
    w.max_exp_avg_sq = nullptr;
    EXPECT_NO_THROW(simdgrad::adam_step(hp, w, 2));
  }
  // In a list, the index is named.
  std::vector<AdamTensor> list = {t, t};
  AdamBufs c(32);
  list[1] = c.tensor();
  list[1].exp_avg = nullptr;
  expect_error([&] { simdgrad::adam_step(AdamParams{}, list.data(), 2, 2); }, "adam_step",
               "tensors[1].exp_avg is null with 32 elements");
  SgdParams sp;
  sp.momentum = 0.9f;
  expect_error([&] { simdgrad::sgd_step(sp, SgdTensor{b.p.data(), b.g.data(), nullptr, 32}, 2); },
               "sgd_step", "tensor.momentum_buffer is null");
  RmspropParams rp;
  rp.centered = true;
  expect_error(
      [&] {
        simdgrad::rmsprop_step(rp, RmspropTensor{b.p.data(), b.g.data(), b.m.data(), nullptr,
                                                 nullptr, 32}, 2);
      },
      "rmsprop_step", "tensor.grad_avg is null");
  expect_error(
      [&] { simdgrad::adagrad_step(AdagradParams{}, AdagradTensor{b.p.data(), b.g.data(), nullptr, 32}, 2); },
      "adagrad_step", "tensor.sum is null");
  // Null pointers with n == 0 are fine.
  EXPECT_NO_THROW(simdgrad::adam_step(AdamParams{}, AdamTensor{}, 1));
  EXPECT_NO_THROW(simdgrad::adam_step(AdamParams{}, nullptr, 0, 1));
  EXPECT_TRUE(same_bits(before, b.all()));
}

TEST(OptimizerErrors, AliasingIsRejectedAndNothingWritten) {
  std::vector<float> pool = sgtest::uniform(1024, -1, 1, 9);
  const auto before = pool;
  float* a = pool.data();
  auto adam = [&](AdamTensor t, const char* what) {
    expect_error([&] { simdgrad::adam_step(AdamParams{}, t, 2); }, "adam_step", what);
  };
  // param == grad (full), param partially over exp_avg, exp_avg == exp_avg_sq, grad over state.
  adam(AdamTensor{a, a, a + 100, a + 200, nullptr, 50},
       "tensor.grad overlaps tensor.param (the same memory)");
  adam(AdamTensor{a, a + 300, a + 25, a + 200, nullptr, 50},
       "tensor.exp_avg overlaps tensor.param");
  adam(AdamTensor{a, a + 300, a + 100, a + 100, nullptr, 50},
       "tensor.exp_avg_sq overlaps tensor.exp_avg (the same memory)");
  adam(AdamTensor{a, a + 110, a + 100, a + 200, nullptr, 50},
       "tensor.exp_avg overlaps tensor.grad");
  {
    AdamParams hp;
    hp.amsgrad = true;
    expect_error(
        [&] { simdgrad::adam_step(hp, AdamTensor{a, a + 300, a + 100, a + 200, a + 249, 50}, 2); },
        "adam_step", "tensor.max_exp_avg_sq overlaps tensor.exp_avg_sq");
  }
  // Across the list: a param over another tensor's param or state, a grad over another's param.
  std::vector<AdamTensor> list = {AdamTensor{a, a + 300, a + 100, a + 200, nullptr, 50},
                                  AdamTensor{a + 40, a + 350, a + 400, a + 500, nullptr, 50}};
  expect_error([&] { simdgrad::adam_step(AdamParams{}, list.data(), 2, 2); }, "adam_step",
               "tensors[1].param overlaps tensors[0].param");
  list[1] = AdamTensor{a + 600, a + 350, a + 420, a + 500, nullptr, 50};
  list[1].exp_avg = a + 220;
  expect_error([&] { simdgrad::adam_step(AdamParams{}, list.data(), 2, 2); }, "adam_step",
               "tensors[1].exp_avg overlaps tensors[0].exp_avg_sq");
  list[1] = AdamTensor{a + 600, a + 10, a + 420, a + 500, nullptr, 50};
  expect_error([&] { simdgrad::adam_step(AdamParams{}, list.data(), 2, 2); }, "adam_step",
               "tensors[1].grad overlaps tensors[0].param");
  // Two tensors sharing one gradient is allowed (reads only).
  {
    std::vector<float> q = pool;
    float* b = q.data();
    std::vector<AdamTensor> ok = {AdamTensor{b, b + 300, b + 100, b + 200, nullptr, 50},
                                  AdamTensor{b + 600, b + 300, b + 700, b + 800, nullptr, 50}};
    EXPECT_NO_THROW(simdgrad::adam_step(AdamParams{}, ok.data(), 2, 2));
  }
  // The other rules check their own buffers.
  SgdParams sp;
  sp.momentum = 0.9f;
  expect_error([&] { simdgrad::sgd_step(sp, SgdTensor{a, a + 100, a + 10, 50}, 2); }, "sgd_step",
               "tensor.momentum_buffer overlaps tensor.param");
  RmspropParams rp;
  rp.centered = true;
  rp.momentum = 0.5f;
  expect_error(
      [&] {
        simdgrad::rmsprop_step(rp, RmspropTensor{a, a + 100, a + 200, a + 300, a + 330, 50}, 2);
      },
      "rmsprop_step", "tensor.grad_avg overlaps tensor.momentum_buffer");
  expect_error(
      [&] { simdgrad::adagrad_step(AdagradParams{}, AdagradTensor{a, a + 100, a + 149, 50}, 2); },
      "adagrad_step", "tensor.sum overlaps tensor.grad");
  float* trust = a + 120;
  expect_error(
      [&] {
        simdgrad::lamb_step(LambParams{}, AdamTensor{a, a + 300, a + 100, a + 200, nullptr, 50},
                            2, 1.0f, trust);
      },
      "lamb_step", "trust_ratio overlaps tensor.exp_avg");
  EXPECT_TRUE(same_bits(before, pool)) << "a rejected call wrote memory";
}

}  // namespace
