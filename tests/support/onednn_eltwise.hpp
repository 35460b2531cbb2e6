#pragma once
// oneDNN's eltwise primitive for a simdgrad activation (tests and benchmarks).
#include <dnnl.hpp>
#include <simdgrad/activation.hpp>

#include <cstddef>
#include <optional>

namespace sgdnnl {

struct EltwiseAlgo {
  dnnl::algorithm fwd, bwd_from_y;
  float alpha, beta;
  bool has_bwd_from_y;
};

/// The oneDNN algorithm that computes the same function; nullopt where oneDNN 2.6 has none (selu).
inline std::optional<EltwiseAlgo> algo_for(simdgrad::ActivationSpec a) {
  using A = dnnl::algorithm;
  using simdgrad::Activation;
  switch (a.kind) {
    case Activation::relu: return EltwiseAlgo{A::eltwise_relu, A::eltwise_relu_use_dst_for_bwd, 0.f, 0.f, true};
    case Activation::leaky_relu: return EltwiseAlgo{A::eltwise_relu, A::eltwise_relu_use_dst_for_bwd, a.alpha, 0.f, true};
    case Activation::elu: return EltwiseAlgo{A::eltwise_elu, A::eltwise_elu_use_dst_for_bwd, a.alpha, 0.f, true};
    case Activation::gelu_erf: return EltwiseAlgo{A::eltwise_gelu_erf, A::undef, 0.f, 0.f, false};
    case Activation::gelu_tanh: return EltwiseAlgo{A::eltwise_gelu_tanh, A::undef, 0.f, 0.f, false};
    case Activation::sigmoid: return EltwiseAlgo{A::eltwise_logistic, A::eltwise_logistic_use_dst_for_bwd, 0.f, 0.f, true};
    case Activation::tanh: return EltwiseAlgo{A::eltwise_tanh, A::eltwise_tanh_use_dst_for_bwd, 0.f, 0.f, true};
    case Activation::softplus: return EltwiseAlgo{A::eltwise_soft_relu, A::undef, 0.f, 0.f, false};
    case Activation::silu: return EltwiseAlgo{A::eltwise_swish, A::undef, 1.f, 0.f, false};
    case Activation::mish: return EltwiseAlgo{A::eltwise_mish, A::undef, 0.f, 0.f, false};
    case Activation::hardswish: return EltwiseAlgo{A::eltwise_hardswish, A::undef, 0.f, 0.f, false};
    default: return std::nullopt;
  }
}

/// Forward and backward eltwise primitives for n elements, created once and executed many times.
class Eltwise {
 public:
  Eltwise(const EltwiseAlgo& algo, std::size_t n, bool bwd_from_y = false)
      : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_),
        md_({static_cast<dnnl::memory::dim>(n)}, dnnl::memory::data_type::f32,
            dnnl::memory::format_tag::a),
        fwd_pd_(dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, algo.fwd, md_,
                                            algo.alpha, algo.beta),
                eng_),
        fwd_(fwd_pd_),
        bwd_from_y_(bwd_from_y) {
    const dnnl::algorithm b = bwd_from_y ? algo.bwd_from_y : algo.fwd;
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, b, md_, algo.alpha,
                                    algo.beta),
        eng_);
    bwd_pd_ = dnnl::eltwise_backward::primitive_desc(
        dnnl::eltwise_backward::desc(b, md_, md_, algo.alpha, algo.beta), eng_, hint);
    bwd_ = dnnl::eltwise_backward(bwd_pd_);
  }
  void forward(const float* x, float* y) {
    dnnl::memory src(md_, eng_, const_cast<float*>(x)), dst(md_, eng_, y);
    fwd_.execute(strm_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    strm_.wait();
  }
  /// src is x, or y when constructed with bwd_from_y.
  void backward(const float* src, const float* dy, float* dx) {
    dnnl::memory s(md_, eng_, const_cast<float*>(src)), g(md_, eng_, const_cast<float*>(dy)),
        d(md_, eng_, dx);
    bwd_.execute(strm_, {{bwd_from_y_ ? DNNL_ARG_DST : DNNL_ARG_SRC, s},
                         {DNNL_ARG_DIFF_DST, g},
                         {DNNL_ARG_DIFF_SRC, d}});
    strm_.wait();
  }

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::memory::desc md_;
  dnnl::eltwise_forward::primitive_desc fwd_pd_;
  dnnl::eltwise_forward fwd_;
  dnnl::eltwise_backward::primitive_desc bwd_pd_;
  dnnl::eltwise_backward bwd_;
  bool bwd_from_y_;
};

}  // namespace sgdnnl
