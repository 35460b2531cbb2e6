// Softmax and losses: argument checks, threading over fixed blocks, dispatch.
#include "simdgrad/loss.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/loss_table.hpp"
#include "src/dispatch.hpp"
#include "src/parallel.hpp"
#include "src/validate.hpp"

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::LossTable)

namespace simdgrad {
namespace {

using detail::fail;

const kernels::LossTable& table() { return detail::active_table<kernels::LossTable>(); }

// Work (elements) per thread below which a call stays on one thread.
constexpr std::size_t kMinPerThread = std::size_t{1} << 15;
// Elements per block of the element-wise losses; rows per block of cross-entropy hold about
// as many logits. Blocks depend on the problem size only, never on the thread count.
constexpr std::size_t kBlock = std::size_t{1} << 14;

/// A rows x cols matrix with leading dimension ld (0: cols): checks it and returns its span
/// in elements ((rows - 1) * ld + cols, 0 if empty).
struct Mat {
  const float* p;
  std::size_t ld, span;
};

Mat check_matrix(const char* fn, const char* name, const char* ldname, const float* p,
                 std::size_t rows, std::size_t cols, std::size_t ld) {
  if (ld == 0) ld = cols;
  if (ld < cols)
    fail(fn, std::string(ldname) + " must be >= cols (" + std::to_string(cols) + "), got " +
                 std::to_string(ld));
  std::size_t span = 0;
  if (rows != 0 && cols != 0) {
    span = detail::checked_mul(fn, "rows * ld", rows - 1, ld);
    if (span > std::numeric_limits<std::size_t>::max() - cols)
      fail(fn, "the extent of " + std::string(name) + " overflows size_t");
    span += cols;
  }
  detail::check_count(fn, name, span);
  detail::check_ptr(fn, name, p, span);
  return {p, ld, span};
}

/// out may be exactly in (same start and leading dimension) or disjoint from it.
void check_out_alias(const char* fn, const char* out_name, const Mat& out, const char* in_name,
                     const Mat& in) {
  if (out.p == in.p && out.ld == in.ld) return;
  if (detail::overlap(out.p, out.span, in.p, in.span))
    fail(fn, std::string(out_name) + " overlaps " + in_name +
                 " (only the same array with the same leading dimension, or disjoint arrays, "
                 "are allowed)");
}

void check_targets(const char* fn, const std::int32_t* t, std::size_t batch, std::size_t classes) {
  detail::check_ptr(fn, "targets", t, batch);
  if (batch != 0 && classes == 0) fail(fn, "classes must be > 0");
  for (std::size_t r = 0; r < batch; ++r)
    if (t[r] < 0 || static_cast<std::size_t>(t[r]) >= classes)
      fail(fn, "targets[" + std::to_string(r) + "] = " + std::to_string(t[r]) +
                   " is outside [0, classes = " + std::to_string(classes) + ")");
}

void check_smoothing(const char* fn, float eps) {
  detail::check_range(fn, "label_smoothing", eps, 0.0, 1.0);
}

// ---- softmax

void softmax_common(const char* fn, const float* x, float* y, std::size_t rows, std::size_t cols,
                    std::size_t ldx, std::size_t ldy, int log) {
  const Mat mx = check_matrix(fn, "x", "ldx", x, rows, cols, ldx);
  const Mat my = check_matrix(fn, "y", "ldy", y, rows, cols, ldy);
  check_out_alias(fn, "y", my, "x", mx);
  if (rows == 0 || cols == 0) return;
  const auto f = table().softmax;
  const std::size_t min_rows = std::max<std::size_t>(1, kMinPerThread / cols);
  detail::parallel_ranges(rows, min_rows, 1, [&](std::size_t b, std::size_t e) {
    f(x + b * mx.ld, mx.ld, y + b * my.ld, my.ld, e - b, cols, log);
  });
}

void softmax_bwd_common(const char* fn, const float* y, const float* dy, float* dx,
                        std::size_t rows, std::size_t cols, std::size_t ldy, std::size_t lddy,
                        std::size_t lddx, int log) {
  const Mat my = check_matrix(fn, "y", "ldy", y, rows, cols, ldy);
  const Mat mdy = check_matrix(fn, "dy", "lddy", dy, rows, cols, lddy);
  const Mat mdx = check_matrix(fn, "dx", "lddx", dx, rows, cols, lddx);
  check_out_alias(fn, "dx", mdx, "dy", mdy);
  check_out_alias(fn, "dx", mdx, "y", my);
  if (rows == 0 || cols == 0) return;
  const auto f = table().softmax_bwd;
  const std::size_t min_rows = std::max<std::size_t>(1, kMinPerThread / cols);
  detail::parallel_ranges(rows, min_rows, 1, [&](std::size_t b, std::size_t e) {
    f(y + b * my.ld, my.ld, dy + b * mdy.ld, mdy.ld, dx + b * mdx.ld, mdx.ld, e - b, cols, log);
  });
}

// ---- cross-entropy

/// Validates, runs the kernel over fixed row blocks, returns the mean loss.
float cross_entropy_common(const char* fn, const float* logits, const std::int32_t* targets,
                           std::size_t batch, std::size_t classes, float eps, std::size_t ld,
                           float* dlogits, std::size_t ldd, float dloss) {
  check_smoothing(fn, eps);
  detail::check_finite(fn, "dloss", dloss);
  const Mat mx = check_matrix(fn, "logits", "ld", logits, batch, classes, ld);
  Mat md{nullptr, 0, 0};
  if (dlogits) {
    md = check_matrix(fn, "dlogits", "ld_dlogits", dlogits, batch, classes, ldd);
    check_out_alias(fn, "dlogits", md, "logits", mx);
    detail::check_disjoint(fn, "dlogits", dlogits, md.span, "targets", targets, batch);
  }
  check_targets(fn, targets, batch, classes);
  if (batch == 0) return std::numeric_limits<float>::quiet_NaN();
  const auto f = table().cross_entropy;
  const float gscale = static_cast<float>(static_cast<double>(dloss) / static_cast<double>(batch));
  const std::size_t rpb = std::max<std::size_t>(1, kBlock / classes);
  const std::size_t nblocks = (batch + rpb - 1) / rpb;
  std::vector<double> part(nblocks);
  const int threads = detail::threads_for(batch * classes, kMinPerThread);
  detail::parallel_blocks(nblocks, threads, [&](std::size_t b) {
    const std::size_t r0 = b * rpb, r1 = std::min(batch, r0 + rpb);
    part[b] = f(logits + r0 * mx.ld, mx.ld, targets + r0, r1 - r0, classes, eps, gscale,
                dlogits ? dlogits + r0 * md.ld : nullptr, md.ld);
  });
  double total = 0;
  for (double v : part) total += v;
  return static_cast<float>(total / static_cast<double>(batch));
}

// ---- element-wise losses

float elementwise_common(const char* fn, kernels::ElementLossFn f, const char* xn, const float* x,
                         const char* yn, const float* y, std::size_t n, const char* dn, float* dx,
                         float dloss, double gmul) {
  detail::check_finite(fn, "dloss", dloss);
  detail::check_count(fn, "n", n);
  detail::check_ptr(fn, xn, x, n);
  detail::check_ptr(fn, yn, y, n);
  if (dx) {
    detail::check_alias(fn, dn, static_cast<const float*>(dx), xn, x, n);
    detail::check_alias(fn, dn, static_cast<const float*>(dx), yn, y, n);
  }
  if (n == 0) return std::numeric_limits<float>::quiet_NaN();
  const float gscale = static_cast<float>(gmul * dloss / static_cast<double>(n));
  const std::size_t nblocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(nblocks);
  const int threads = detail::threads_for(n, kMinPerThread);
  detail::parallel_blocks(nblocks, threads, [&](std::size_t b) {
    const std::size_t i0 = b * kBlock, len = std::min(n - i0, kBlock);
    part[b] = f(x + i0, y + i0, len, gscale, dx ? dx + i0 : nullptr);
  });
  double total = 0;
  for (double v : part) total += v;
  return static_cast<float>(total / static_cast<double>(n));
}

}  // namespace

void softmax_forward(const float* x, float* y, std::size_t rows, std::size_t cols,
                     std::size_t ldx, std::size_t ldy) {
  softmax_common("softmax_forward", x, y, rows, cols, ldx, ldy, 0);
}
void log_softmax_forward(const float* x, float* y, std::size_t rows, std::size_t cols,
                         std::size_t ldx, std::size_t ldy) {
  softmax_common("log_softmax_forward", x, y, rows, cols, ldx, ldy, 1);
}
void softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows,
                      std::size_t cols, std::size_t ldy, std::size_t lddy, std::size_t lddx) {
  softmax_bwd_common("softmax_backward", y, dy, dx, rows, cols, ldy, lddy, lddx, 0);
}
void log_softmax_backward(const float* y, const float* dy, float* dx, std::size_t rows,
                          std::size_t cols, std::size_t ldy, std::size_t lddy, std::size_t lddx) {
  softmax_bwd_common("log_softmax_backward", y, dy, dx, rows, cols, ldy, lddy, lddx, 1);
}

float softmax_cross_entropy_forward(const float* logits, const std::int32_t* targets,
                                    std::size_t batch, std::size_t classes, float label_smoothing,
                                    std::size_t ld) {
  return cross_entropy_common("softmax_cross_entropy_forward", logits, targets, batch, classes,
                              label_smoothing, ld, nullptr, 0, 1.0f);
}

void softmax_cross_entropy_backward(const float* logits, const std::int32_t* targets,
                                    std::size_t batch, std::size_t classes, float dloss,
                                    float* dlogits, float label_smoothing, std::size_t ld,
                                    std::size_t ld_dlogits) {
  const char* fn = "softmax_cross_entropy_backward";
  if (batch != 0 && classes != 0 && dlogits == nullptr)
    fail(fn, "dlogits is null with " + std::to_string(batch) + " rows");
  cross_entropy_common(fn, logits, targets, batch, classes, label_smoothing, ld, dlogits,
                       ld_dlogits, dloss);
}

float softmax_cross_entropy(const float* logits, const std::int32_t* targets, std::size_t batch,
                            std::size_t classes, float* dlogits, float label_smoothing,
                            std::size_t ld, std::size_t ld_dlogits) {
  const char* fn = "softmax_cross_entropy";
  if (batch != 0 && classes != 0 && dlogits == nullptr)
    fail(fn, "dlogits is null with " + std::to_string(batch) + " rows");
  return cross_entropy_common(fn, logits, targets, batch, classes, label_smoothing, ld, dlogits,
                              ld_dlogits, 1.0f);
}

float bce_with_logits_forward(const float* logits, const float* targets, std::size_t n) {
  return elementwise_common("bce_with_logits_forward", table().bce, "logits", logits, "targets",
                            targets, n, "dlogits", nullptr, 1.0f, 1.0);
}
void bce_with_logits_backward(const float* logits, const float* targets, std::size_t n,
                              float dloss, float* dlogits) {
  const char* fn = "bce_with_logits_backward";
  detail::check_ptr(fn, "dlogits", dlogits, n);
  elementwise_common(fn, table().bce, "logits", logits, "targets", targets, n, "dlogits", dlogits,
                     dloss, 1.0);
}
float bce_with_logits(const float* logits, const float* targets, std::size_t n, float* dlogits) {
  const char* fn = "bce_with_logits";
  detail::check_ptr(fn, "dlogits", dlogits, n);
  return elementwise_common(fn, table().bce, "logits", logits, "targets", targets, n, "dlogits",
                            dlogits, 1.0f, 1.0);
}

float mse_forward(const float* pred, const float* target, std::size_t n) {
  return elementwise_common("mse_forward", table().mse, "pred", pred, "target", target, n, "dpred",
                            nullptr, 1.0f, 1.0);
}
void mse_backward(const float* pred, const float* target, std::size_t n, float dloss,
                  float* dpred) {
  const char* fn = "mse_backward";
  detail::check_ptr(fn, "dpred", dpred, n);
  elementwise_common(fn, table().mse, "pred", pred, "target", target, n, "dpred", dpred, dloss, 1.0);
}
float mse(const float* pred, const float* target, std::size_t n, float* dpred) {
  const char* fn = "mse";
  detail::check_ptr(fn, "dpred", dpred, n);
  return elementwise_common(fn, table().mse, "pred", pred, "target", target, n, "dpred", dpred,
                            1.0f, 1.0);
}

}  // namespace simdgrad
