#pragma once
// oneDNN eltwise for the benchmarks: primitives AND memory objects created once, outside the timed
// loop, so that a timed call is exactly `execute` + `wait` (what a framework that caches its
// primitives pays). The algorithm mapping is tests/support/onednn_eltwise.hpp's sgdnnl::algo_for.
#include <dnnl.hpp>

#include <cstddef>
#include <unordered_map>

#include "support/onednn_eltwise.hpp"

namespace sgbench {

class OnednnEltwise {
 public:
  /// Forward y = f(x) and backward dx = dy * f'(src), src = x, or y when bwd_from_y.
  /// The pointers are wrapped, not copied: they must outlive this object.
  OnednnEltwise(const sgdnnl::EltwiseAlgo& algo, std::size_t n, const float* x, float* y,
                const float* dy, float* dx, bool bwd_from_y)
      : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_),
        md_({static_cast<dnnl::memory::dim>(n)}, dnnl::memory::data_type::f32,
            dnnl::memory::format_tag::a) {
    using dnnl::prop_kind;
    dnnl::eltwise_forward::primitive_desc fwd_pd(
        dnnl::eltwise_forward::desc(prop_kind::forward_training, algo.fwd, md_, algo.alpha,
                                    algo.beta),
        eng_);
    fwd_ = dnnl::eltwise_forward(fwd_pd);
    const dnnl::algorithm b = bwd_from_y ? algo.bwd_from_y : algo.fwd;
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(prop_kind::forward_training, b, md_, algo.alpha, algo.beta),
        eng_);
    dnnl::eltwise_backward::primitive_desc bwd_pd(
        dnnl::eltwise_backward::desc(b, md_, md_, algo.alpha, algo.beta), eng_, hint);
    bwd_ = dnnl::eltwise_backward(bwd_pd);

    const dnnl::memory mx(md_, eng_, const_cast<float*>(x)), my(md_, eng_, y),
        mdy(md_, eng_, const_cast<float*>(dy)), mdx(md_, eng_, dx);
    fwd_args_ = {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}};
    bwd_args_ = {{bwd_from_y ? DNNL_ARG_DST : DNNL_ARG_SRC, bwd_from_y ? my : mx},
                 {DNNL_ARG_DIFF_DST, mdy},
                 {DNNL_ARG_DIFF_SRC, mdx}};
  }

  void forward() {
    fwd_.execute(strm_, fwd_args_);
    strm_.wait();
  }
  void backward() {
    bwd_.execute(strm_, bwd_args_);
    strm_.wait();
  }

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::memory::desc md_;
  dnnl::eltwise_forward fwd_;
  dnnl::eltwise_backward bwd_;
  std::unordered_map<int, dnnl::memory> fwd_args_, bwd_args_;
};

}  // namespace sgbench
