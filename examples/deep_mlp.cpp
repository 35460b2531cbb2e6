// simdgrad-demo: a deep MLP trained on the CPU with simdgrad's kernels only, showing gradients
// vanish and explode, and the cures (ReLU + He init, batch normalization, clipping by global norm).
//
// Every configuration trains the same network shape on the same data from the same seed:
//   input (32) -> depth x [GEMM (+bias) -> (batch norm) -> activation -> (dropout)] -> GEMM -> 10
//   softmax cross-entropy with label smoothing, SGD with momentum (one fused multi-tensor step),
//   gradient health of every layer each step (one pass), optional clipping by global norm (the
//   clip coefficient is applied inside the optimizer step as its gradient scale).
// The data is synthetic (no data set ships with Debian's packages that this program may rely on):
// Gaussian inputs labelled by a fixed random teacher network, tanh(x A + c) B, argmax over 10
// classes, so the task is learnable and its chance level is known (loss ln 10 = 2.303).
//
// Output: per configuration, the per-layer gradient norms at a few steps, the loss curve, and what
// happened in words; a summary; the time per step broken down by kernel family; and a JSON file
// (--json) that tools/plot_demo.py turns into a PNG.
#include <simdgrad/simdgrad.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace sg = simdgrad;

namespace {

// ------------------------------------------------------------------------------ options
struct Options {
  std::size_t depth = 20, width = 128, batch = 128, steps = 300;
  std::size_t train = 8192, test = 2048, inputs = 32, classes = 10;
  std::uint64_t seed = 2026;
  int threads = 0;
  std::string isa, only, json = "out/demo.json";
  float label_smoothing = 0.05f;
  bool quiet = false;
};

void usage() {
  std::printf(
      "usage: simdgrad-demo [options]\n"
      "  --depth N        hidden layers (default 20)\n"
      "  --width N        units per hidden layer (default 128)\n"
      "  --batch N        batch size (default 128)\n"
      "  --steps N        training steps per configuration (default 300)\n"
      "  --threads N      OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
      "  --isa NAME       cap the ISA: scalar, sse2, avx2, avx512, neon\n"
      "  --config NAMES   comma-separated configurations to run (default: all)\n"
      "  --seed N         seed of data, init and dropout (default 2026)\n"
      "  --json PATH      write curves and gradient norms as JSON (default out/demo.json;\n"
      "                   '' to skip); tools/plot_demo.py draws them\n"
      "  --quiet          summary only\n"
      "  --list           list the configurations and exit\n");
}

// ------------------------------------------------------------------------------ configurations
enum class Init { normal, small_normal, he, xavier };

struct Config {
  std::string name;
  std::string what;  // one line for the reader
  sg::Activation act;
  Init init;
  float init_gain;  // multiplies the init's standard deviation
  bool batchnorm;
  float dropout;
  float lr, momentum;
  float clip;  // max global L2 norm; 0 = no clipping
};

std::vector<Config> configurations() {
  using A = sg::Activation;
  return {
      {"sigmoid-normal", "sigmoid, N(0,1) weights: saturated units", A::sigmoid,
       Init::normal, 1.0f, false, 0.0f, 0.1f, 0.9f, 0.0f},
      {"sigmoid-xavier", "sigmoid, Xavier init: each layer scales the gradient by <= 1/4",
       A::sigmoid, Init::xavier, 1.0f, false, 0.0f, 0.1f, 0.9f, 0.0f},
      {"relu-he", "ReLU with He (Kaiming) init: gradients keep their scale", A::relu, Init::he,
       1.0f, false, 0.0f, 0.05f, 0.9f, 0.0f},
      {"relu-he-bn", "ReLU + He + batch normalization (+ dropout 0.05)", A::relu, Init::he, 1.0f,
       true, 0.05f, 0.05f, 0.9f, 0.0f},
      {"relu-explode", "ReLU, init 1.3x He, learning rate 0.15, no clipping", A::relu,
       Init::he, 1.3f, false, 0.0f, 0.15f, 0.9f, 0.0f},
      {"relu-explode-clip", "the same with clipping by global L2 norm 1.0", A::relu, Init::he,
       1.3f, false, 0.0f, 0.15f, 0.9f, 1.0f},
  };
}

// ------------------------------------------------------------------------------ timing
enum Family { kGemm, kActivation, kBatchnorm, kDropout, kLoss, kHealthClip, kOptimizer, kFamilies };
const char* const kFamilyName[kFamilies] = {"gemm",  "activation",   "batchnorm", "dropout",
                                            "loss",  "health+clip", "optimizer"};

struct Timers {
  double sec[kFamilies] = {};
  template <class F>
  void time(Family f, F&& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sec[f] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

// ------------------------------------------------------------------------------ data
struct Data {
  std::vector<float> x;            // rows x inputs
  std::vector<std::int32_t> y;     // rows
  std::size_t rows = 0;
  double majority = 0;             // accuracy of always answering the most frequent class
};

// Gaussian inputs labelled by a fixed random teacher: argmax(tanh(x A + c) B).
void make_data(const Options& o, Data& train, Data& test) {
  const std::size_t hid = 32;
  std::vector<float> a(o.inputs * hid), c(hid), b(hid * o.classes);
  sg::random_normal({o.seed ^ 0x7eac4e2ull, 0}, a.data(), a.size(), 0.0f,
                    1.0f / std::sqrt(static_cast<float>(o.inputs)));
  sg::random_normal({o.seed ^ 0x7eac4e2ull, 1u << 24}, c.data(), c.size(), 0.0f, 0.5f);
  sg::random_normal({o.seed ^ 0x7eac4e2ull, 2u << 24}, b.data(), b.size(), 0.0f, 1.0f);
  auto fill = [&](Data& d, std::size_t rows, std::uint64_t stream) {
    d.rows = rows;
    d.x.resize(rows * o.inputs);
    d.y.resize(rows);
    sg::random_normal({o.seed, stream}, d.x.data(), d.x.size());
    std::vector<float> h(rows * hid), logits(rows * o.classes);
    sg::gemm(sg::MatLayout::row_major, sg::Trans::none, sg::Trans::none, rows, hid, o.inputs,
             1.0f, d.x.data(), o.inputs, a.data(), hid, 0.0f, h.data(), hid,
             sg::GemmEpilogue(c.data(), sg::Activation::tanh));
    sg::gemm(sg::MatLayout::row_major, sg::Trans::none, sg::Trans::none, rows, o.classes, hid,
             1.0f, h.data(), hid, b.data(), o.classes, 0.0f, logits.data(), o.classes);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* l = &logits[r * o.classes];
      d.y[r] = static_cast<std::int32_t>(std::max_element(l, l + o.classes) - l);
    }
    std::vector<std::size_t> freq(o.classes, 0);
    for (std::int32_t v : d.y) ++freq[static_cast<std::size_t>(v)];
    d.majority = static_cast<double>(*std::max_element(freq.begin(), freq.end())) /
                 static_cast<double>(rows);
  };
  fill(train, o.train, 0);
  fill(test, o.test, std::uint64_t{1} << 40);
}

// ------------------------------------------------------------------------------ the network
struct Layer {
  std::size_t in = 0, out = 0;
  bool bn = false, last = false;
  std::vector<float> w, b, dw, db, mw, mb;              // weights, bias, grads, momentum
  std::vector<float> gamma, beta, dgamma, dbeta, mg, mbeta;  // batch norm
  std::vector<float> mean, invstd, run_mean, run_var;
  std::vector<float> z, y;                              // pre-norm GEMM output, layer output
  std::vector<float> yd;                                // y after dropout (when dropout is on)
  const float* output() const { return yd.empty() ? y.data() : yd.data(); }
  std::vector<float> dz;                                // gradient scratch (batch x out)
};

struct Net {
  std::vector<Layer> layers;
  std::vector<float> input_grad;  // scratch: dX of the current layer
};

void init_net(const Options& o, const Config& cfg, Net& net) {
  net.layers.clear();
  std::size_t in = o.inputs;
  const std::size_t nl = o.depth + 1;
  for (std::size_t l = 0; l < nl; ++l) {
    Layer L;
    L.last = l + 1 == nl;
    L.in = in;
    L.out = L.last ? o.classes : o.width;
    L.bn = cfg.batchnorm && !L.last;
    L.w.resize(L.in * L.out);
    L.b.assign(L.out, 0.0f);
    const sg::RandomStream s{o.seed + 17, static_cast<std::uint64_t>(l) << 32};
    const sg::Fans fans = sg::fans_of(L.out, L.in);
    switch (cfg.init) {
      case Init::normal: sg::random_normal(s, L.w.data(), L.w.size(), 0.0f, cfg.init_gain); break;
      case Init::small_normal:
        sg::random_normal(s, L.w.data(), L.w.size(), 0.0f, 0.01f * cfg.init_gain);
        break;
      case Init::he:
        if (L.last)
          sg::xavier_normal(s, L.w.data(), L.w.size(), fans);
        else
          sg::kaiming_normal(s, L.w.data(), L.w.size(), fans, 0.0f, sg::FanMode::fan_in,
                             sg::Nonlinearity::relu);
        if (!L.last && cfg.init_gain != 1.0f)
          for (float& v : L.w) v *= cfg.init_gain;
        break;
      case Init::xavier: sg::xavier_normal(s, L.w.data(), L.w.size(), fans, cfg.init_gain); break;
    }
    L.dw.assign(L.w.size(), 0.0f);
    L.db.assign(L.out, 0.0f);
    L.mw.assign(L.w.size(), 0.0f);
    L.mb.assign(L.out, 0.0f);
    if (L.bn) {
      L.gamma.assign(L.out, 1.0f);
      L.beta.assign(L.out, 0.0f);
      L.dgamma.assign(L.out, 0.0f);
      L.dbeta.assign(L.out, 0.0f);
      L.mg.assign(L.out, 0.0f);
      L.mbeta.assign(L.out, 0.0f);
      L.mean.assign(L.out, 0.0f);
      L.invstd.assign(L.out, 0.0f);
      L.run_mean.assign(L.out, 0.0f);
      L.run_var.assign(L.out, 1.0f);
    }
    net.layers.push_back(std::move(L));
    in = o.width;
  }
}

// Forward pass over `rows` examples; returns a pointer to the logits (rows x classes).
const float* forward(const Options& o, const Config& cfg, Net& net, const float* x,
                     std::size_t rows, bool training, std::uint64_t step, Timers& t) {
  const float* in = x;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    Layer& L = net.layers[l];
    L.z.resize(rows * L.out);
    L.y.resize(rows * L.out);
    if (L.last) {
      t.time(kGemm, [&] {
        sg::gemm(sg::MatLayout::row_major, sg::Trans::none, sg::Trans::none, rows, L.out, L.in,
                 1.0f, in, L.in, L.w.data(), L.out, 0.0f, L.y.data(), L.out,
                 sg::GemmEpilogue(L.b.data()));
      });
    } else if (L.bn) {
      // GEMM without bias (batch norm's shift replaces it), then batch norm with fused ReLU, or
      // batch norm then the activation.
      t.time(kGemm, [&] {
        sg::gemm(sg::MatLayout::row_major, sg::Trans::none, sg::Trans::none, rows, L.out, L.in,
                 1.0f, in, L.in, L.w.data(), L.out, 0.0f, L.z.data(), L.out);
      });
      sg::BatchNormDesc d;
      d.layout = sg::BatchNormLayout::nc;
      d.n = rows;
      d.c = L.out;
      d.fuse_relu = cfg.act == sg::Activation::relu;
      t.time(kBatchnorm, [&] {
        if (training)
          sg::batchnorm_forward_training(d, L.z.data(), L.y.data(), L.gamma.data(),
                                         L.beta.data(), L.mean.data(), L.invstd.data(),
                                         L.run_mean.data(), L.run_var.data(), 0.1f);
        else
          sg::batchnorm_forward_inference(d, L.z.data(), L.y.data(), L.gamma.data(),
                                          L.beta.data(), L.run_mean.data(), L.run_var.data());
      });
      if (!d.fuse_relu)
        t.time(kActivation, [&] {
          sg::activation_forward(cfg.act, L.y.data(), L.y.data(), L.y.size());
        });
    } else {
      // y = act(x W + b): one GEMM with the bias and the activation fused into its epilogue
      t.time(kGemm, [&] {
        sg::gemm(sg::MatLayout::row_major, sg::Trans::none, sg::Trans::none, rows, L.out, L.in,
                 1.0f, in, L.in, L.w.data(), L.out, 0.0f, L.y.data(), L.out,
                 sg::GemmEpilogue(L.b.data(), cfg.act));
      });
    }
    L.yd.clear();
    if (training && cfg.dropout > 0 && !L.last) {
      L.yd.resize(L.y.size());
      t.time(kDropout, [&] {
        sg::dropout_forward({o.seed + 99, (step * net.layers.size() + l) << 24}, cfg.dropout,
                            L.y.data(), L.yd.data(), L.y.size());
      });
    }
    in = L.output();
  }
  return net.layers.back().y.data();
}

// Backward pass from dlogits (in the last layer's dz); fills dw, db (and dgamma, dbeta).
void backward(const Options& o, const Config& cfg, Net& net, const float* x, std::size_t rows,
              std::uint64_t step, Timers& t) {
  for (std::size_t l = net.layers.size(); l-- > 0;) {
    Layer& L = net.layers[l];
    const float* in = l == 0 ? x : net.layers[l - 1].output();
    float* dz = L.dz.data();  // holds dL/dy of this layer on entry
    if (!L.last) {
      if (cfg.dropout > 0 && !L.yd.empty())
        t.time(kDropout, [&] {
          sg::dropout_backward({o.seed + 99, (step * net.layers.size() + l) << 24}, cfg.dropout,
                               dz, dz, L.dz.size());
        });
      if (L.bn) {
        const bool fused = cfg.act == sg::Activation::relu;
        if (!fused)
          t.time(kActivation, [&] {
            // y holds act(bn(z)); the derivative of sigmoid/tanh/relu is a function of y
            sg::activation_backward_from_output(cfg.act, L.y.data(), dz, dz, L.dz.size());
          });
        sg::BatchNormDesc d;
        d.layout = sg::BatchNormLayout::nc;
        d.n = rows;
        d.c = L.out;
        d.fuse_relu = fused;
        t.time(kBatchnorm, [&] {
          sg::batchnorm_backward(d, L.z.data(), dz, L.mean.data(), L.invstd.data(),
                                 L.gamma.data(), dz, L.dgamma.data(), L.dbeta.data(),
                                 fused ? L.y.data() : nullptr);
        });
      } else {
        t.time(kActivation, [&] {
          sg::activation_backward_from_output(cfg.act, L.y.data(), dz, dz, L.dz.size());
        });
      }
    }
    // dW = X^T dZ, db = column sums of dZ, dX = dZ W^T
    t.time(kGemm, [&] {
      sg::gemm(sg::MatLayout::row_major, sg::Trans::transpose, sg::Trans::none, L.in, L.out,
               rows, 1.0f, in, L.in, dz, L.out, 0.0f, L.dw.data(), L.out);
      if (!L.bn) sg::column_sum(sg::MatLayout::row_major, rows, L.out, dz, L.out, 0.0f, L.db.data());
      if (l > 0) {
        Layer& P = net.layers[l - 1];
        sg::gemm(sg::MatLayout::row_major, sg::Trans::none, sg::Trans::transpose, rows, L.in,
                 L.out, 1.0f, dz, L.out, L.w.data(), L.out, 0.0f, P.dz.data(), L.in);
      }
    });
  }
}

// ------------------------------------------------------------------------------ training
struct Snapshot {
  std::size_t step;
  std::vector<double> layer_norm;  // L2 norm of dW per layer (input layer first)
};

struct Result {
  std::string name;
  std::vector<double> loss;        // per step (NaN once diverged)
  std::vector<Snapshot> snaps;
  std::string outcome;
  double final_loss = NAN, test_acc = NAN, first_last_ratio = NAN;
  std::size_t diverged_at = 0;     // step (1-based) where loss or gradients turned non-finite
  double ms_per_step = 0;
  Timers timers;
};

double accuracy(const Options& o, const Config& cfg, Net& net, const Data& d, Timers& t) {
  std::size_t right = 0;
  for (std::size_t r0 = 0; r0 < d.rows; r0 += o.batch) {
    const std::size_t rows = std::min(o.batch, d.rows - r0);
    const float* logits = forward(o, cfg, net, &d.x[r0 * o.inputs], rows, false, 0, t);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* l = logits + r * o.classes;
      if (std::max_element(l, l + o.classes) - l == d.y[r0 + r]) ++right;
    }
  }
  return static_cast<double>(right) / static_cast<double>(d.rows);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

Result train(const Options& o, const Config& cfg, const Data& train_set, const Data& test_set) {
  Result res;
  res.name = cfg.name;
  Net net;
  init_net(o, cfg, net);
  for (Layer& L : net.layers) L.dz.resize(o.batch * L.out);

  // the parameter list, in one order for the optimizer and for the health statistics
  std::vector<sg::SgdTensor> params;
  std::vector<sg::ConstTensorView> grads;
  std::vector<sg::TensorView> mgrads;
  auto add = [&](std::vector<float>& p, std::vector<float>& g, std::vector<float>& m) {
    params.push_back({p.data(), g.data(), m.data(), p.size()});
    grads.push_back({g.data(), g.size()});
  };
  for (Layer& L : net.layers) add(L.w, L.dw, L.mw);  // first: one tensor per layer's weights
  for (Layer& L : net.layers) {
    if (L.bn) {
      add(L.gamma, L.dgamma, L.mg);
      add(L.beta, L.dbeta, L.mbeta);
    } else {
      add(L.b, L.db, L.mb);
    }
  }
  std::vector<sg::GradHealth> health(grads.size());
  const std::size_t nl = net.layers.size();
  std::vector<std::size_t> snap_at = {1, std::max<std::size_t>(1, o.steps / 10),
                                      std::max<std::size_t>(1, o.steps / 2), o.steps};
  snap_at.erase(std::unique(snap_at.begin(), snap_at.end()), snap_at.end());

  sg::SgdParams hp;
  hp.lr = cfg.lr;
  hp.momentum = cfg.momentum;
  Timers& t = res.timers;
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t steps_run = 0;
  for (std::size_t step = 1; step <= o.steps; ++step) {
    const std::size_t nb = train_set.rows / o.batch;
    const std::size_t r0 = ((step - 1) % nb) * o.batch;
    const float* x = &train_set.x[r0 * o.inputs];
    const std::int32_t* y = &train_set.y[r0];
    const float* logits = forward(o, cfg, net, x, o.batch, true, step, t);
    float loss = 0;
    t.time(kLoss, [&] {
      loss = sg::softmax_cross_entropy(logits, y, o.batch, o.classes,
                                       net.layers.back().dz.data(), o.label_smoothing);
    });
    backward(o, cfg, net, x, o.batch, step, t);
    sg::GradHealth total;
    t.time(kHealthClip, [&] {
      total = sg::grad_health(grads.data(), grads.size(), 1e-8f, health.data(), health.size());
    });
    ++steps_run;
    const bool finite = std::isfinite(loss) && std::isfinite(total.l2_norm);
    res.loss.push_back(finite ? loss : NAN);
    if (std::find(snap_at.begin(), snap_at.end(), step) != snap_at.end() || !finite) {
      Snapshot s;
      s.step = step;
      for (std::size_t l = 0; l < nl; ++l) s.layer_norm.push_back(health[l].l2_norm);
      res.snaps.push_back(s);
    }
    if (!finite) {
      res.diverged_at = step;
      break;
    }
    float scale = 1.0f;
    if (cfg.clip > 0)
      t.time(kHealthClip, [&] { scale = sg::clip_coefficient(total.l2_norm, cfg.clip); });
    t.time(kOptimizer, [&] {
      sg::sgd_step(hp, params.data(), params.size(), static_cast<std::int64_t>(step), scale);
    });
  }
  res.ms_per_step = 1e3 *
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                    static_cast<double>(std::max<std::size_t>(1, steps_run));

  // what happened, in words
  const double l0 = res.loss.front();
  const Snapshot& first = res.snaps.front();
  res.first_last_ratio = first.layer_norm.front() / first.layer_norm.back();
  if (res.diverged_at) {
    res.outcome = "exploded: loss/gradients non-finite at step " + std::to_string(res.diverged_at);
    if (res.loss.size() >= 2)
      res.outcome += " (loss " + fmt("%.3g", l0) + " at step 1, " +
                     fmt("%.3g", res.loss[res.loss.size() - 2]) + " just before)";
  } else {
    std::size_t tail = std::min<std::size_t>(20, res.loss.size());
    double avg = 0;
    for (std::size_t i = res.loss.size() - tail; i < res.loss.size(); ++i) avg += res.loss[i];
    res.final_loss = avg / static_cast<double>(tail);
    Timers eval;  // not part of the per-step breakdown
    res.test_acc = accuracy(o, cfg, net, test_set, eval);
    // learned = clearly better than always answering the most frequent class
    const bool learned = res.test_acc > test_set.majority + 0.05;
    if (!learned && res.first_last_ratio < 1e-3)
      res.outcome = "vanished: the input layer's gradient is " + fmt("%.1e", res.first_last_ratio) +
                    " of the output layer's; test accuracy " + fmt("%.1f%%", 100 * res.test_acc) +
                    " = the most frequent class";
    else if (!learned)
      res.outcome = "did not learn: loss " + fmt("%.3f", l0) + " -> " + fmt("%.3f", res.final_loss) +
                    ", test accuracy " + fmt("%.1f%%", 100 * res.test_acc) +
                    " (the most frequent class: " + fmt("%.1f%%", 100 * test_set.majority) + ")";
    else
      res.outcome = "trained: loss " + fmt("%.3f", l0) + " -> " + fmt("%.3f", res.final_loss) +
                    ", test accuracy " + fmt("%.1f%%", 100 * res.test_acc);
  }
  return res;
}

// ------------------------------------------------------------------------------ reports
void print_result(const Options& o, const Config& cfg, const Result& r) {
  std::printf("\n== %s: %s\n", cfg.name.c_str(), cfg.what.c_str());
  if (!o.quiet) {
    std::printf("   per-layer gradient L2 norm ||dW|| (layer 1 = input side)\n   layer ");
    for (const Snapshot& s : r.snaps) std::printf(" %10s", ("step " + std::to_string(s.step)).c_str());
    std::printf("\n");
    const std::size_t nl = r.snaps.front().layer_norm.size();
    for (std::size_t l = 0; l < nl; ++l) {
      std::printf("   %5zu%s", l + 1, l + 1 == nl ? "*" : " ");
      for (const Snapshot& s : r.snaps) std::printf(" %10.3e", s.layer_norm[l]);
      std::printf("\n");
    }
    std::printf("   (* output layer)\n   loss:");
    const std::size_t every = std::max<std::size_t>(1, o.steps / 10);
    for (std::size_t i = 0; i < r.loss.size(); i += every)
      std::printf(" [%zu] %.4g", i + 1, r.loss[i]);
    if ((r.loss.size() - 1) % every) std::printf(" [%zu] %.4g", r.loss.size(), r.loss.back());
    std::printf("\n");
  }
  std::printf("   => %s\n", r.outcome.c_str());
}

void write_json(const std::string& path, const Options& o, const std::vector<Config>& cfgs,
                const std::vector<Result>& res) {
  if (path.empty()) return;
  const auto slash = path.find_last_of('/');
  if (slash != std::string::npos) {
    const std::string dir = path.substr(0, slash);
    const std::string cmd = "mkdir -p '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot create %s\n", dir.c_str());
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "simdgrad-demo: cannot write %s\n", path.c_str());
    return;
  }
  auto num = [](double v) { return std::isfinite(v) ? fmt("%.6g", v) : std::string("null"); };
  std::fprintf(f, "{\"depth\": %zu, \"width\": %zu, \"batch\": %zu, \"steps\": %zu, \"isa\": \"%s\", "
                  "\"threads\": %d, \"data\": \"synthetic teacher-labelled Gaussian, %zu inputs, %zu classes\",\n"
                  " \"configs\": [\n",
               o.depth, o.width, o.batch, o.steps, sg::isa_name(sg::active_isa()),
               sg::num_threads(), o.inputs, o.classes);
  for (std::size_t i = 0; i < res.size(); ++i) {
    const Result& r = res[i];
    std::fprintf(f, "  {\"name\": \"%s\", \"what\": \"%s\", \"outcome\": \"%s\", \"loss\": [",
                 r.name.c_str(), cfgs[i].what.c_str(), r.outcome.c_str());
    for (std::size_t s = 0; s < r.loss.size(); ++s)
      std::fprintf(f, "%s%s", s ? "," : "", num(r.loss[s]).c_str());
    std::fprintf(f, "], \"grad_norms\": [");
    for (std::size_t s = 0; s < r.snaps.size(); ++s) {
      std::fprintf(f, "%s{\"step\": %zu, \"layers\": [", s ? "," : "", r.snaps[s].step);
      for (std::size_t l = 0; l < r.snaps[s].layer_norm.size(); ++l)
        std::fprintf(f, "%s%s", l ? "," : "", num(r.snaps[s].layer_norm[l]).c_str());
      std::fprintf(f, "]}");
    }
    std::fprintf(f, "], \"ms_per_step\": %.4f}%s\n", r.ms_per_step, i + 1 < res.size() ? "," : "");
  }
  std::fprintf(f, " ]}\n");
  std::fclose(f);
  std::printf("\nwrote %s (plot: /usr/bin/python3 tools/plot_demo.py %s out/demo.png)\n",
              path.c_str(), path.c_str());
}

bool parse(int argc, char** argv, Options& o, bool& list) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "simdgrad-demo: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    auto count = [&](const char* what) -> std::size_t {
      const std::string v = next(what);
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (!end || *end || n == 0) {
        std::fprintf(stderr, "simdgrad-demo: %s must be a positive integer, got '%s'\n", what,
                     v.c_str());
        std::exit(2);
      }
      return static_cast<std::size_t>(n);
    };
    if (a == "--depth") o.depth = count("--depth");
    else if (a == "--width") o.width = count("--width");
    else if (a == "--batch") o.batch = count("--batch");
    else if (a == "--steps") o.steps = count("--steps");
    else if (a == "--threads") o.threads = static_cast<int>(count("--threads"));
    else if (a == "--seed") o.seed = count("--seed");
    else if (a == "--isa") o.isa = next("--isa");
    else if (a == "--config") o.only = next("--config");
    else if (a == "--json") o.json = next("--json");
    else if (a == "--quiet") o.quiet = true;
    else if (a == "--list") list = true;
    else if (a == "--help" || a == "-h") { usage(); std::exit(0); }
    else {
      std::fprintf(stderr, "simdgrad-demo: unknown option '%s'\n", a.c_str());
      usage();
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool list = false;
  if (!parse(argc, argv, o, list)) return 2;
  std::vector<Config> all = configurations(), cfgs;
  if (list) {
    for (const Config& c : all) std::printf("%-18s %s\n", c.name.c_str(), c.what.c_str());
    return 0;
  }
  try {
    if (!o.isa.empty()) sg::set_max_isa(sg::parse_isa(o.isa));
    if (o.threads > 0) sg::set_num_threads(o.threads);
  } catch (const sg::error& e) {
    std::fprintf(stderr, "simdgrad-demo: %s\n", e.what());
    return 2;
  }
  for (const Config& c : all)
    if (o.only.empty() || ("," + o.only + ",").find("," + c.name + ",") != std::string::npos)
      cfgs.push_back(c);
  if (cfgs.empty()) {
    std::fprintf(stderr, "simdgrad-demo: no configuration matches '%s' (see --list)\n",
                 o.only.c_str());
    return 2;
  }
  if (o.batch > o.train) o.batch = o.train;

  std::printf("simdgrad %s demo: %zu hidden layers x %zu units, batch %zu, %zu steps, SGD momentum\n",
              sg::version(), o.depth, o.width, o.batch, o.steps);
  std::printf("data: synthetic (no data set is at hand): %zu train / %zu test Gaussian inputs of %zu"
              " features,\n      labelled by a fixed random tanh teacher into %zu classes "
              "(chance: loss %.3f, accuracy %.0f%%)\n",
              o.train, o.test, o.inputs, o.classes, std::log(static_cast<double>(o.classes)),
              100.0 / static_cast<double>(o.classes));
  std::printf("cpu: %s, isa %s, %d threads\n", sg::cpu_features().brand.c_str(),
              sg::isa_name(sg::active_isa()), sg::num_threads());

  Data train_set, test_set;
  make_data(o, train_set, test_set);
  std::printf("      most frequent class: %.1f%% of the test set\n", 100 * test_set.majority);
  std::vector<Result> results;
  try {
    for (const Config& c : cfgs) {
      results.push_back(train(o, c, train_set, test_set));
      print_result(o, c, results.back());
    }
  } catch (const sg::error& e) {
    std::fprintf(stderr, "simdgrad-demo: %s\n", e.what());
    return 1;
  }

  std::printf("\n== summary (%zu hidden layers x %zu, %s, %d threads)\n", o.depth, o.width,
              sg::isa_name(sg::active_isa()), sg::num_threads());
  std::printf("%-18s %10s %9s %12s %9s  %s\n", "config", "loss", "test acc", "|dW1|/|dWL|",
              "ms/step", "outcome");
  for (const Result& r : results)
    std::printf("%-18s %10s %9s %12.2e %9.3f  %s\n", r.name.c_str(),
                std::isfinite(r.final_loss) ? fmt("%.4f", r.final_loss).c_str() : "nan",
                std::isfinite(r.test_acc) ? fmt("%.1f%%", 100 * r.test_acc).c_str() : "-",
                r.first_last_ratio, r.ms_per_step, r.outcome.c_str());

  std::printf("\n== where the time goes (ms per training step, by kernel family)\n%-18s", "config");
  for (int f = 0; f < kFamilies; ++f) std::printf(" %11s", kFamilyName[f]);
  std::printf(" %9s\n", "total");
  for (const Result& r : results) {
    const double steps = static_cast<double>(std::max<std::size_t>(1, r.loss.size()));
    double tot = 0;
    std::printf("%-18s", r.name.c_str());
    for (int f = 0; f < kFamilies; ++f) {
      std::printf(" %11.3f", 1e3 * r.timers.sec[f] / steps);
      tot += r.timers.sec[f];
    }
    std::printf(" %9.3f\n", 1e3 * tot / steps);
  }
  write_json(o.json, o, cfgs, results);
  return 0;
}
