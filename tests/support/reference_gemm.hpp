#pragma once
// Double-precision reference for simdgrad::gemm and simdgrad::column_sum, with a forward error
// bound for the fp32 result (shared by tests and benchmarks).
#include <simdgrad/gemm.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

#include "support/reference_activation.hpp"

namespace sgref {

/// Element (r, c) of a stored matrix in `layout` with leading dimension ld.
inline std::size_t stored_index(simdgrad::MatLayout layout, std::size_t r, std::size_t c,
                                std::size_t ld) {
  return layout == simdgrad::MatLayout::row_major ? r * ld + c : r + c * ld;
}

/// op(X)(i, j) where X is stored in `layout` with leading dimension ld.
inline float op_at(simdgrad::MatLayout layout, simdgrad::Trans t, const float* x, std::size_t ld,
                   std::size_t i, std::size_t j) {
  return t == simdgrad::Trans::none ? x[stored_index(layout, i, j, ld)]
                                    : x[stored_index(layout, j, i, ld)];
}

/// Elements a stored rows x cols matrix spans (0 if empty).
inline std::size_t stored_span(simdgrad::MatLayout layout, std::size_t rows, std::size_t cols,
                               std::size_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return layout == simdgrad::MatLayout::row_major ? (rows - 1) * ld + cols
                                                  : (cols - 1) * ld + rows;
}

struct GemmRef {
  std::vector<double> value;  // m*n, row-major (i*n + j), the exact-ish result
  std::vector<double> bound;  // m*n, bound on |fp32 result - value|
};

/// The result of gemm(...) computed in double, with the error bound of an fp32 evaluation that
/// sums the k products in any order with fused or unfused multiply-adds:
///   |err_pre| <= (k + 3) u (|alpha| sum|a||b|) + 3 u |beta c| + 2 u |bias| (u = 2^-24, + slack)
/// and after the activation (Lipschitz constant <= 1.5 for the family) plus its own `act_ulp`.
inline GemmRef gemm_reference(simdgrad::MatLayout layout, simdgrad::Trans ta, simdgrad::Trans tb,
                              std::size_t m, std::size_t n, std::size_t k, float alpha,
                              const float* a, std::size_t lda, const float* b, std::size_t ldb,
                              float beta, const float* c, std::size_t ldc,
                              const simdgrad::GemmEpilogue& ep, double act_ulp = 4.0) {
  GemmRef r;
  r.value.assign(m * n, 0.0);
  r.bound.assign(m * n, 0.0);
  const double u = std::ldexp(1.0, -24);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double dot = 0, absdot = 0;
      if (alpha != 0.0f)
        for (std::size_t p = 0; p < k; ++p) {
          const double x = static_cast<double>(op_at(layout, ta, a, lda, i, p)) *
                           op_at(layout, tb, b, ldb, p, j);
          dot += x;
          absdot += std::fabs(x);
        }
      double v = static_cast<double>(alpha) * dot;
      double bnd = 2.0 * (static_cast<double>(k) + 3.0) * u * std::fabs(alpha) * absdot;
      if (beta != 0.0f) {
        const double bc = static_cast<double>(beta) * c[stored_index(layout, i, j, ldc)];
        v += bc;
        bnd += 3.0 * u * std::fabs(bc);
      }
      if (ep.bias) {
        v += ep.bias[j];
        bnd += 2.0 * u * (std::fabs(v) + std::fabs(ep.bias[j]));
      }
      if (ep.activate) {
        const double y = forward(ep.act, v);
        bnd = 1.5 * bnd + act_ulp * 2.0 * u * std::fabs(y);
        v = y;
      }
      r.value[i * n + j] = v;
      r.bound[i * n + j] = bnd + 1e-37;
    }
  return r;
}

/// Column sums in double: out[j] = sum_i X(i, j) + beta*sums0[j]; bound for an fp32 evaluation.
inline void column_sum_reference(simdgrad::MatLayout layout, std::size_t m, std::size_t n,
                                 const float* x, std::size_t ldx, float beta, const float* sums0,
                                 std::vector<double>& value, std::vector<double>& bound) {
  value.assign(n, 0.0);
  bound.assign(n, 0.0);
  const double u = std::ldexp(1.0, -24);
  for (std::size_t j = 0; j < n; ++j) {
    double s = 0, as = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double v = x[stored_index(layout, i, j, ldx)];
      s += v;
      as += std::fabs(v);
    }
    double bnd = 2.0 * (static_cast<double>(m) + 2.0) * u * as;
    if (beta != 0.0f) {
      const double b = static_cast<double>(beta) * sums0[j];
      s += b;
      bnd += 3.0 * u * std::fabs(b);
    }
    value[j] = s;
    bound[j] = bnd + 1e-37;
  }
}

}  // namespace sgref

#if defined(SIMDGRAD_TEST_ONEDNN) || defined(SIMDGRAD_BENCH_ONEDNN)
#include <dnnl.hpp>

#include "support/onednn_eltwise.hpp"

namespace sgdnnl {

/// Strides of op(X) (rows x cols) stored in `layout` with leading dimension ld.
inline dnnl::memory::dims op_strides(simdgrad::MatLayout layout, simdgrad::Trans t,
                                     std::size_t ld) {
  const auto l = static_cast<dnnl::memory::dim>(ld);
  const bool rm = (layout == simdgrad::MatLayout::row_major) == (t == simdgrad::Trans::none);
  return rm ? dnnl::memory::dims{l, 1} : dnnl::memory::dims{1, l};
}

/// oneDNN's matmul primitive for C = act(alpha*op(A) op(B) + bias + beta*C) (alpha through the
/// output scale, beta through a sum post-op, the activation through an eltwise post-op); built
/// once, executed many times. `ok` is false where oneDNN has no such eltwise (selu).
class Matmul {
 public:
  Matmul(simdgrad::MatLayout layout, simdgrad::Trans ta, simdgrad::Trans tb, std::size_t m,
         std::size_t n, std::size_t k, float alpha, std::size_t lda, std::size_t ldb, float beta,
         std::size_t ldc, const simdgrad::GemmEpilogue& ep)
      : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
    using md = dnnl::memory::desc;
    const auto f32 = dnnl::memory::data_type::f32;
    const auto M = static_cast<dnnl::memory::dim>(m), N = static_cast<dnnl::memory::dim>(n),
               K = static_cast<dnnl::memory::dim>(k);
    a_md_ = md({M, K}, f32, op_strides(layout, ta, lda));
    b_md_ = md({K, N}, f32, op_strides(layout, tb, ldb));
    c_md_ = md({M, N}, f32, op_strides(layout, simdgrad::Trans::none, ldc));
    has_bias_ = ep.bias != nullptr;
    bias_md_ = md({1, N}, f32, dnnl::memory::dims{N, 1});
    dnnl::primitive_attr attr;
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    dnnl::post_ops po;
    if (beta != 0.0f) po.append_sum(beta);
    if (ep.activate) {
      const auto al = algo_for(ep.act);
      if (!al) {
        ok = false;
        return;
      }
      po.append_eltwise(1.0f, al->fwd, al->alpha, al->beta);
    }
    attr.set_post_ops(po);
    const auto d = has_bias_ ? dnnl::matmul::desc(a_md_, b_md_, bias_md_, c_md_)
                             : dnnl::matmul::desc(a_md_, b_md_, c_md_);
    pd_ = dnnl::matmul::primitive_desc(d, attr, eng_);
    prim_ = dnnl::matmul(pd_);
    ok = true;
  }
  void run(const float* a, const float* b, const float* bias, float* c) {
    dnnl::memory am(a_md_, eng_, const_cast<float*>(a)), bm(b_md_, eng_, const_cast<float*>(b)),
        cm(c_md_, eng_, c);
    if (has_bias_) {
      dnnl::memory biasm(bias_md_, eng_, const_cast<float*>(bias));
      prim_.execute(strm_, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_BIAS, biasm},
                            {DNNL_ARG_DST, cm}});
    } else {
      prim_.execute(strm_, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    }
    strm_.wait();
  }
  bool ok = false;

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::memory::desc a_md_, b_md_, c_md_, bias_md_;
  bool has_bias_ = false;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
};

/// dnnl_sgemm for either layout (column-major as the row-major transposed problem).
inline void sgemm(simdgrad::MatLayout layout, simdgrad::Trans ta, simdgrad::Trans tb,
                  std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                  std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc) {
  const char TA = ta == simdgrad::Trans::none ? 'N' : 'T';
  const char TB = tb == simdgrad::Trans::none ? 'N' : 'T';
  using D = dnnl_dim_t;
  if (layout == simdgrad::MatLayout::row_major)
    dnnl_sgemm(TA, TB, D(m), D(n), D(k), alpha, a, D(lda), b, D(ldb), beta, c, D(ldc));
  else
    dnnl_sgemm(TB, TA, D(n), D(m), D(k), alpha, b, D(ldb), a, D(lda), beta, c, D(ldc));
}

}  // namespace sgdnnl
#endif
