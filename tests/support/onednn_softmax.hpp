#pragma once
// oneDNN 2.6 softmax / logsoftmax primitives (forward and backward) over the rows of a
// rows x cols row-major matrix (axis 1), created once and executed many times. The pointers are
// wrapped, not copied: they must outlive the object. Tests and benchmarks.
#include <dnnl.hpp>

#include <cstddef>
#include <unordered_map>

namespace sgdnnl {

class Softmax {
 public:
  Softmax(std::size_t rows, std::size_t cols, bool log, const float* x, float* y, const float* dy,
          float* dx)
      : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_),
        md_({static_cast<dnnl::memory::dim>(rows), static_cast<dnnl::memory::dim>(cols)},
            dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab) {
    using dnnl::prop_kind;
    if (log) {
      dnnl::logsoftmax_forward::primitive_desc fpd(
          dnnl::logsoftmax_forward::desc(prop_kind::forward_training, md_, 1), eng_);
      fwd_ = dnnl::logsoftmax_forward(fpd);
      dnnl::logsoftmax_backward::primitive_desc bpd(dnnl::logsoftmax_backward::desc(md_, md_, 1),
                                                    eng_, fpd);
      bwd_ = dnnl::logsoftmax_backward(bpd);
    } else {
      dnnl::softmax_forward::primitive_desc fpd(
          dnnl::softmax_forward::desc(prop_kind::forward_training, md_, 1), eng_);
      fwd_ = dnnl::softmax_forward(fpd);
      dnnl::softmax_backward::primitive_desc bpd(dnnl::softmax_backward::desc(md_, md_, 1), eng_,
                                                 fpd);
      bwd_ = dnnl::softmax_backward(bpd);
    }
    const dnnl::memory mx(md_, eng_, const_cast<float*>(x)), my(md_, eng_, y),
        mdy(md_, eng_, const_cast<float*>(dy)), mdx(md_, eng_, dx);
    fwd_args_ = {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}};
    bwd_args_ = {{DNNL_ARG_DST, my}, {DNNL_ARG_DIFF_DST, mdy}, {DNNL_ARG_DIFF_SRC, mdx}};
  }
  void forward() {
    fwd_.execute(strm_, fwd_args_);
    strm_.wait();
  }
  /// dx from y (the forward output) and dy.
  void backward() {
    bwd_.execute(strm_, bwd_args_);
    strm_.wait();
  }

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::memory::desc md_;
  dnnl::primitive fwd_, bwd_;
  std::unordered_map<int, dnnl::memory> fwd_args_, bwd_args_;
};

}  // namespace sgdnnl
