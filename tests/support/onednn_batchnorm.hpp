#pragma once
// oneDNN 2.6 batch_normalization for a simdgrad BatchNormDesc (tests and benchmarks).
// Primitives and memory objects are created once, in the constructor, so that a call is exactly
// `execute` + `wait` (what a framework that caches its primitives pays). Flags: use_scale and
// use_shift (2.6's split form of use_scaleshift), fuse_norm_relu; inference adds
// use_global_stats. The pointers are wrapped, not copied: they must outlive the object.
#include <dnnl.hpp>
#include <simdgrad/batchnorm.hpp>

#include <cstddef>
#include <unordered_map>

namespace sgdnnl {

struct BnBuffers {
  const float* x = nullptr;
  float* y = nullptr;
  const float* gamma = nullptr;  // scale
  const float* beta = nullptr;   // shift
  float* mean = nullptr;         // forward training: written; inference, backward: read
  float* var = nullptr;          // biased variance, same
  const float* dy = nullptr;
  float* dx = nullptr;
  float* dgamma = nullptr;
  float* dbeta = nullptr;
};

class BatchNorm {
 public:
  BatchNorm(const simdgrad::BatchNormDesc& d, const BnBuffers& b)
      : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
    using dnnl::memory;
    using dnnl::normalization_flags;
    using dnnl::prop_kind;
    const auto N = static_cast<memory::dim>(d.n), C = static_cast<memory::dim>(d.c);
    const auto H = static_cast<memory::dim>(d.h), W = static_cast<memory::dim>(d.w);
    const memory::desc data =
        d.layout == simdgrad::BatchNormLayout::nc
            ? memory::desc({N, C}, memory::data_type::f32, memory::format_tag::nc)
            : memory::desc({N, C, H, W}, memory::data_type::f32,
                           d.layout == simdgrad::BatchNormLayout::nchw ? memory::format_tag::nchw
                                                                       : memory::format_tag::nhwc);
    const memory::desc chan({C}, memory::data_type::f32, memory::format_tag::a);
    normalization_flags f = normalization_flags::none;
    if (d.use_scale) f = f | normalization_flags::use_scale;
    if (d.use_shift) f = f | normalization_flags::use_shift;
    if (d.fuse_relu) f = f | normalization_flags::fuse_norm_relu;

    dnnl::batch_normalization_forward::primitive_desc train_pd(
        dnnl::batch_normalization_forward::desc(prop_kind::forward_training, data, d.eps, f),
        eng_);
    train_ = dnnl::batch_normalization_forward(train_pd);
    dnnl::batch_normalization_forward::primitive_desc infer_pd(
        dnnl::batch_normalization_forward::desc(prop_kind::forward_inference, data, d.eps,
                                                f | normalization_flags::use_global_stats),
        eng_);
    infer_ = dnnl::batch_normalization_forward(infer_pd);
    dnnl::batch_normalization_backward::primitive_desc bwd_pd(
        dnnl::batch_normalization_backward::desc(prop_kind::backward, data, data, d.eps, f),
        eng_, train_pd);
    bwd_ = dnnl::batch_normalization_backward(bwd_pd);

    auto wrap = [&](const memory::desc& md, const float* p) {
      return memory(md, eng_, const_cast<float*>(p));
    };
    const memory x = wrap(data, b.x), y = wrap(data, b.y), mean = wrap(chan, b.mean),
                 var = wrap(chan, b.var);
    train_args_ = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}, {DNNL_ARG_MEAN, mean},
                   {DNNL_ARG_VARIANCE, var}};
    infer_args_ = train_args_;
    if (d.use_scale) {
      const memory s = wrap(chan, b.gamma);
      train_args_[DNNL_ARG_SCALE] = s;
      infer_args_[DNNL_ARG_SCALE] = s;
    }
    if (d.use_shift) {
      const memory s = wrap(chan, b.beta);
      train_args_[DNNL_ARG_SHIFT] = s;
      infer_args_[DNNL_ARG_SHIFT] = s;
    }
    if (d.fuse_relu) {
      workspace_ = memory(train_pd.workspace_desc(), eng_);
      train_args_[DNNL_ARG_WORKSPACE] = workspace_;
    }
    if (b.dy && b.dx) {
      bwd_args_ = {{DNNL_ARG_SRC, x},       {DNNL_ARG_MEAN, mean},
                   {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_DIFF_DST, wrap(data, b.dy)},
                   {DNNL_ARG_DIFF_SRC, wrap(data, b.dx)}};
      if (d.use_scale) {
        bwd_args_[DNNL_ARG_SCALE] = wrap(chan, b.gamma);
        bwd_args_[DNNL_ARG_DIFF_SCALE] = wrap(chan, b.dgamma);
      }
      if (d.use_shift) {  // 2.6 asks for the shift even though diff_src does not depend on it
        bwd_args_[DNNL_ARG_SHIFT] = wrap(chan, b.beta);
        bwd_args_[DNNL_ARG_DIFF_SHIFT] = wrap(chan, b.dbeta);
      }
      if (d.fuse_relu) bwd_args_[DNNL_ARG_WORKSPACE] = workspace_;
    }
  }

  /// Writes y, mean, var (and, with fuse_relu, the workspace the backward reads).
  void forward_training() {
    train_.execute(strm_, train_args_);
    strm_.wait();
  }
  /// y from the given mean and var.
  void forward_inference() {
    infer_.execute(strm_, infer_args_);
    strm_.wait();
  }
  /// dx, dgamma, dbeta from x, dy, mean, var (and the last forward_training's workspace).
  void backward() {
    bwd_.execute(strm_, bwd_args_);
    strm_.wait();
  }

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::batch_normalization_forward train_, infer_;
  dnnl::batch_normalization_backward bwd_;
  dnnl::memory workspace_;
  std::unordered_map<int, dnnl::memory> train_args_, infer_args_, bwd_args_;
};

}  // namespace sgdnnl
