#pragma once
// Lists of tensors (internal to the optimizer and clip families): overlap checks over a whole
// list, the thread split of the concatenated elements, and the fixed blocking of reductions.
//
// Element-wise updates: the concatenated elements of the list are cut into one contiguous range
// per thread (64-element aligned cuts); each thread runs the kernel on the pieces of the tensors
// its range covers. One parallel region per call, however many tensors; a list of small tensors
// costs what one tensor of the same total costs, plus one kernel call per tensor.
//
// Reductions: every tensor is cut into blocks of kBlock elements counted from its own start (the
// last block shorter). Each block's partial result goes to its own slot; a tensor's result adds
// its blocks' slots in order, the list's result adds the tensors' in order. The block cuts
// depend only on the tensor's length, so results are bitwise the same for any thread count and
// whatever other tensors are in the list. Threads take contiguous runs of blocks of about equal
// element counts.
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/parallel.hpp"
#include "src/validate.hpp"

namespace simdgrad::detail {

/// Name of tensors[i].field in messages ("tensor.field" for the one-tensor entry points).
/// `list` names the list ("grads[3].data").
inline std::string tensor_field(bool single, std::size_t i, const char* field,
                                const char* list = "tensors") {
  return (single ? std::string("tensor") : list + ("[" + std::to_string(i) + "]")) + "." + field;
}

/// Memory ranges of a list, for the overlap checks.
class RegionSet {
 public:
  explicit RegionSet(const char* list = "tensors") : list_(list) {}
  /// A buffer the call writes.
  void written(const void* p, std::size_t n_floats, std::size_t tensor, const char* field) {
    if (p && n_floats) w_.push_back(make(p, n_floats, tensor, field));
  }
  /// A buffer the call writes that is not a tensor's field (named as is in messages).
  void written_other(const void* p, std::size_t n_floats, const char* name) {
    if (p && n_floats) w_.push_back(make(p, n_floats, kOther, name));
  }
  /// A buffer the call only reads.
  void read(const void* p, std::size_t n_floats, std::size_t tensor, const char* field) {
    if (p && n_floats) r_.push_back(make(p, n_floats, tensor, field));
  }
  /// Throws unless the written buffers are pairwise disjoint and no read buffer overlaps a
  /// written one (read buffers may overlap each other).
  void check(const char* fn, bool single) {
    auto by_begin = [](const Region& a, const Region& b) {
      return a.begin < b.begin || (a.begin == b.begin && a.order < b.order);
    };
    std::sort(w_.begin(), w_.end(), by_begin);
    for (std::size_t i = 1; i < w_.size(); ++i)
      if (w_[i].begin < w_[i - 1].end) report(fn, single, w_[i - 1], w_[i]);
    for (const Region& r : r_) {
      // The written regions are disjoint and sorted: only the last one starting before r's end
      // can reach into r.
      auto it = std::lower_bound(w_.begin(), w_.end(), r.end,
                                 [](const Region& a, std::uintptr_t e) { return a.begin < e; });
      if (it != w_.begin() && (it - 1)->end > r.begin) report(fn, single, *(it - 1), r);
    }
  }

 private:
  static constexpr std::size_t kOther = static_cast<std::size_t>(-1);
  std::string name(bool single, std::size_t tensor, const char* field) const {
    return tensor == kOther ? std::string(field) : tensor_field(single, tensor, field, list_);
  }
  struct Region {
    std::uintptr_t begin, end;
    std::size_t tensor, order;
    const char* field;
  };
  Region make(const void* p, std::size_t n, std::size_t tensor, const char* field) {
    const auto b = reinterpret_cast<std::uintptr_t>(p);
    return Region{b, b + n * sizeof(float), tensor, w_.size() + r_.size(), field};
  }
  [[noreturn]] void report(const char* fn, bool single, const Region& a, const Region& b) {
    const Region& x = a.order < b.order ? a : b;
    const Region& y = a.order < b.order ? b : a;
    fail(fn, name(single, y.tensor, y.field) + " overlaps " + name(single, x.tensor, x.field) +
                 (x.begin == y.begin && x.end == y.end ? " (the same memory)" : ""));
  }
  const char* list_;
  std::vector<Region> w_, r_;
};

/// Calls f(tensor, begin, end) for pieces covering every element of the list (size_of(i) is
/// tensor i's length, total their sum), on threads_for(total, min_per_thread) threads.
template <class SizeOf, class F>
void for_each_piece(std::size_t count, SizeOf&& size_of, std::size_t total,
                    std::size_t min_per_thread, F&& f) {
  const int threads = threads_for(total, min_per_thread);
  if (threads <= 1) {
    for (std::size_t i = 0; i < count; ++i)
      if (size_of(i)) f(i, std::size_t{0}, size_of(i));
    return;
  }
  std::vector<std::size_t> start(count + 1, 0);
  for (std::size_t i = 0; i < count; ++i) start[i + 1] = start[i] + size_of(i);
  std::size_t per = (total + threads - 1) / threads;
  per = (per + 63) / 64 * 64;
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t lo = std::min(total, t * per), hi = std::min(total, lo + per);
    if (lo < hi) {
      // First tensor ending after lo.
      std::size_t i = static_cast<std::size_t>(
          std::upper_bound(start.begin() + 1, start.end(), lo) - (start.begin() + 1));
      for (; i < count && start[i] < hi; ++i) {
        const std::size_t b = std::max(lo, start[i]) - start[i];
        const std::size_t e = std::min(hi, start[i + 1]) - start[i];
        if (b < e) f(i, b, e);
      }
    }
  }
}

/// The fixed blocking of a list for reductions.
struct BlockPlan {
  static constexpr std::size_t kBlock = 16384;
  struct Block {
    std::size_t tensor, begin, len;
  };
  std::vector<Block> blocks;        // tensor by tensor, in order
  std::vector<std::size_t> first;   // blocks of tensor i: [first[i], first[i + 1])
  std::vector<std::size_t> offset;  // element offset of each block in the concatenation
  std::size_t total = 0;

  template <class SizeOf>
  BlockPlan(std::size_t count, SizeOf&& size_of) : first(count + 1, 0) {
    for (std::size_t i = 0; i < count; ++i) {
      first[i] = blocks.size();
      const std::size_t n = size_of(i);
      for (std::size_t b = 0; b < n; b += kBlock) {
        blocks.push_back(Block{i, b, std::min(kBlock, n - b)});
        offset.push_back(total + b);
      }
      total += n;
    }
    first[count] = blocks.size();
  }

  /// Calls f(block_index, block) for every block, on threads_for(total, min_per_thread)
  /// threads, each taking a contiguous run of blocks.
  template <class F>
  void run(std::size_t min_per_thread, F&& f) const {
    const int threads = threads_for(total, min_per_thread);
    if (threads <= 1 || blocks.size() <= 1) {
      for (std::size_t b = 0; b < blocks.size(); ++b) f(b, blocks[b]);
      return;
    }
    const std::size_t per = (total + threads - 1) / threads;
#pragma omp parallel num_threads(threads)
    {
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      const std::size_t lo = t * per, hi = lo + per;
      const std::size_t b0 =
          static_cast<std::size_t>(std::lower_bound(offset.begin(), offset.end(), lo) - offset.begin());
      const std::size_t b1 =
          static_cast<std::size_t>(std::lower_bound(offset.begin(), offset.end(), hi) - offset.begin());
      for (std::size_t b = b0; b < b1; ++b) f(b, blocks[b]);
    }
  }
};

/// Elements below which a list runs on one thread: about 30-60 microseconds of streaming, so the
/// fork/join (a few microseconds) stays small.
constexpr std::size_t kListMinPerThread = std::size_t{1} << 16;

}  // namespace simdgrad::detail
