#pragma once
// The activation family's kernel table (one per ISA). Plain data: no xsimd, included anywhere.
#include <cstddef>

#include "simdgrad/activation.hpp"

namespace simdgrad::kernels {

using ActFwdFn = void (*)(const float* x, float* y, std::size_t n, float alpha);
using ActBwdFn = void (*)(const float* src, const float* dy, float* dx, std::size_t n,
                          float alpha);

struct ActivationTable {
  ActFwdFn fwd[kActivationCount];
  ActBwdFn bwd[kActivationCount];    // from the forward input x
  ActBwdFn bwd_y[kActivationCount];  // from the forward output y; nullptr where f' is not f'(y)
};

}  // namespace simdgrad::kernels
