// Gradient norms, clipping and gradient health: argument checks over the whole list, the fixed
// blocking of reductions (src/multi_tensor.hpp), dispatch to the active ISA's table.
#include "simdgrad/clip.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/clip_table.hpp"
#include "src/dispatch.hpp"
#include "src/multi_tensor.hpp"
#include "src/validate.hpp"

SIMDGRAD_DECLARE_KERNEL_TABLE(simdgrad::kernels::ClipTable)

namespace simdgrad {
namespace {

using detail::fail;
using detail::fmt;

const kernels::ClipTable& table() { return detail::active_table<kernels::ClipTable>(); }

void check_norm(const char* fn, Norm norm) {
  if (norm != Norm::l1 && norm != Norm::l2 && norm != Norm::linf)
    fail(fn, "norm is not a Norm (value " + std::to_string(static_cast<int>(norm)) + ")");
}

/// Checks a list of views; `written` says whether the call writes them (then they must be
/// pairwise disjoint). extra(regions) registers any other buffer the call writes.
template <class View, class Extra>
std::size_t check_views(const char* fn, const char* list, const View* views, std::size_t count,
                        bool written, Extra&& extra) {
  if (count != 0 && views == nullptr)
    fail(fn, std::string(list) + " is null with " + std::to_string(count) + " tensors");
  detail::RegionSet rs(list);
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t n = views[i].n;
    const std::string name = std::string(list) + "[" + std::to_string(i) + "]";
    detail::check_count(fn, (name + ".n").c_str(), n);
    if (n != 0 && views[i].data == nullptr)
      fail(fn, name + ".data is null with " + std::to_string(n) + " elements");
    if (n > SIZE_MAX / sizeof(float) / 2 - total)
      fail(fn, std::string("the total element count of ") + list + " is too large");
    total += n;
    if (written) rs.written(views[i].data, n, i, "data");
    else rs.read(views[i].data, n, i, "data");
  }
  extra(rs);
  rs.check(fn, false);
  return total;
}
template <class View>
std::size_t check_views(const char* fn, const char* list, const View* views, std::size_t count,
                        bool written) {
  return check_views(fn, list, views, count, written, [](detail::RegionSet&) {});
}

template <class View>
auto size_of(const View* v) {
  return [v](std::size_t i) { return v[i].n; };
}

/// NaN-propagating max of two norms.
double max_nan(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  return a > b ? a : b;
}

/// The total norm of the list (validated).
template <class View>
double total_norm(const View* views, std::size_t count, std::size_t total, Norm norm) {
  if (total == 0) return 0.0;
  const kernels::ClipTable& t = table();
  const detail::BlockPlan plan(count, size_of(views));
  std::vector<double> part(plan.blocks.size());
  plan.run(detail::kListMinPerThread, [&](std::size_t bi, const detail::BlockPlan::Block& b) {
    const float* x = views[b.tensor].data + b.begin;
    switch (norm) {
      case Norm::l1: part[bi] = t.sum_abs(x, b.len); break;
      case Norm::l2: part[bi] = t.sum_sq(x, b.len); break;
      case Norm::linf: part[bi] = static_cast<double>(t.max_abs(x, b.len)); break;
    }
  });
  // Each tensor's blocks in order, then the tensors in order (as grad_health does).
  double acc = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    double ti = 0.0;
    for (std::size_t bi = plan.first[i]; bi < plan.first[i + 1]; ++bi)
      ti = norm == Norm::linf ? max_nan(ti, part[bi]) : ti + part[bi];
    acc = norm == Norm::linf ? max_nan(acc, ti) : acc + ti;
  }
  return norm == Norm::l2 ? std::sqrt(acc) : acc;
}

/// Element-wise kernel f(data, n) over a validated list of written views.
template <class F>
void for_each_view(const TensorView* views, std::size_t count, std::size_t total, F&& f) {
  detail::for_each_piece(count, size_of(views), total, detail::kListMinPerThread,
                         [&](std::size_t i, std::size_t b, std::size_t e) {
                           f(views[i].data + b, e - b);
                         });
}

}  // namespace

double grad_norm(const ConstTensorView* grads, std::size_t count, Norm norm) {
  const char* fn = "grad_norm";
  check_norm(fn, norm);
  const std::size_t total = check_views(fn, "grads", grads, count, false);
  return total_norm(grads, count, total, norm);
}

float clip_coefficient(double total_norm, float max_norm) {
  const char* fn = "clip_coefficient";
  detail::check_nonnegative(fn, "max_norm", max_norm);
  if (total_norm < 0.0) fail(fn, "total_norm must be >= 0 (or NaN), got " + fmt(total_norm));
  if (std::isnan(total_norm)) return std::numeric_limits<float>::quiet_NaN();
  const double c = static_cast<double>(max_norm) / (total_norm + 1e-6);
  return c < 1.0 ? static_cast<float>(c) : 1.0f;
}

double clip_grad_norm(const TensorView* grads, std::size_t count, float max_norm, Norm norm,
                      bool error_if_nonfinite) {
  const char* fn = "clip_grad_norm";
  detail::check_nonnegative(fn, "max_norm", max_norm);
  check_norm(fn, norm);
  const std::size_t total = check_views(fn, "grads", grads, count, true);
  const double tn = total_norm(grads, count, total, norm);
  if (error_if_nonfinite && !std::isfinite(tn))
    fail(fn, "the total norm of grads is " + fmt(tn) +
                 " (error_if_nonfinite is set; no gradient was changed)");
  const double c = static_cast<double>(max_norm) / (tn + 1e-6);
  if (!(c >= 1.0)) {  // below 1, or NaN (torch's clamp(NaN, max=1) is NaN)
    const float s = static_cast<float>(c);
    const auto scale = table().scale;
    for_each_view(grads, count, total, [&](float* x, std::size_t n) { scale(x, n, s); });
  }
  return tn;
}

void clip_grad_value(const TensorView* grads, std::size_t count, float clip_value) {
  const char* fn = "clip_grad_value";
  if (!(clip_value >= 0.0f))
    fail(fn, "clip_value must be >= 0 (and not NaN), got " + fmt(clip_value));
  const std::size_t total = check_views(fn, "grads", grads, count, true);
  const auto clamp = table().clamp;
  for_each_view(grads, count, total,
                [&](float* x, std::size_t n) { clamp(x, n, -clip_value, clip_value); });
}

void clip_weights(const TensorView* params, std::size_t count, float lo, float hi) {
  const char* fn = "clip_weights";
  if (std::isnan(lo)) fail(fn, "lo must not be NaN");
  if (std::isnan(hi)) fail(fn, "hi must not be NaN");
  if (lo > hi) fail(fn, "lo must be <= hi, got lo " + fmt(lo) + " > hi " + fmt(hi));
  const std::size_t total = check_views(fn, "params", params, count, true);
  const auto clamp = table().clamp;
  for_each_view(params, count, total, [&](float* x, std::size_t n) { clamp(x, n, lo, hi); });
}

GradHealth grad_health(const ConstTensorView* grads, std::size_t count, float threshold,
                       GradHealth* per_tensor, std::size_t per_tensor_count) {
  const char* fn = "grad_health";
  detail::check_nonnegative(fn, "threshold", threshold);
  if (per_tensor != nullptr && per_tensor_count != count)
    fail(fn, "per_tensor_count (" + std::to_string(per_tensor_count) +
                 ") does not match the number of grads (" + std::to_string(count) + ")");
  if (per_tensor == nullptr && per_tensor_count != 0)
    fail(fn, "per_tensor is null with per_tensor_count " + std::to_string(per_tensor_count));
  const std::size_t total =
      check_views(fn, "grads", grads, count, false, [&](detail::RegionSet& rs) {
        rs.written_other(per_tensor, per_tensor ? count * sizeof(GradHealth) / sizeof(float) : 0,
                         "per_tensor");
      });

  const detail::BlockPlan plan(count, size_of(grads));
  std::vector<kernels::HealthPartial> part(plan.blocks.size());
  if (total != 0) {
    const auto health = table().health;
    plan.run(detail::kListMinPerThread,
             [&](std::size_t bi, const detail::BlockPlan::Block& b) {
               health(grads[b.tensor].data + b.begin, b.len, threshold, &part[bi]);
             });
  }
  auto finish = [](GradHealth& h, double sum_sq, double sum_abs) {
    h.l2_norm = std::sqrt(sum_sq);
    h.mean_abs = h.count ? sum_abs / static_cast<double>(h.count) : 0.0;
    h.fraction_below =
        h.count ? static_cast<double>(h.below_count) / static_cast<double>(h.count) : 0.0;
  };
  GradHealth all;
  double all_sq = 0.0, all_abs = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    GradHealth h;
    double sq = 0.0, ab = 0.0;
    for (std::size_t bi = plan.first[i]; bi < plan.first[i + 1]; ++bi) {
      const kernels::HealthPartial& p = part[bi];
      sq += p.sum_sq;
      ab += p.sum_abs;
      h.max_abs = static_cast<float>(max_nan(h.max_abs, p.max_abs));
      h.nan_count += p.nan_count;
      h.inf_count += p.inf_count;
      h.below_count += p.below_count;
    }
    h.count = grads[i].n;
    finish(h, sq, ab);
    if (per_tensor) per_tensor[i] = h;
    all_sq += sq;
    all_abs += ab;
    all.count += h.count;
    all.max_abs = static_cast<float>(max_nan(all.max_abs, h.max_abs));
    all.nan_count += h.nan_count;
    all.inf_count += h.inf_count;
    all.below_count += h.below_count;
  }
  finish(all, all_sq, all_abs);
  return all;
}

}  // namespace simdgrad
