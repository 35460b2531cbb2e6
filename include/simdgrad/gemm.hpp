#pragma once
// General matrix multiply, fp32:  C = act(alpha * op(A) * op(B) + beta * C + bias)
//
//   op(A) is m x k, op(B) is k x n, C is m x n; op is none or transpose; matrices are row-major
//   or column-major (one layout for all three) with explicit leading dimensions, as in CBLAS
//   (cblas_sgemm(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)).
//   BLAS rules: beta = 0 means C is not read (NaN or garbage in C does not reach the result);
//   k = 0 or alpha = 0 gives C = beta * C and A, B are not read.
//   Leading dimensions: at least the length of a stored row (row-major) or column
//   (column-major), and at least 1.
//
// The optional epilogue is fused into the kernel: once a tile of C is final, while it is still
// in L1, bias[j] (one value per column j of C, j < n) is added and the activation applied, so
// a dense layer's forward pass y = act(x W + b) is one call:
//   gemm(MatLayout::row_major, Trans::none, Trans::none, batch, out, in, 1.0f, x, in, W, out,
//        0.0f, y, out, GemmEpilogue{b, Activation::relu});
//
// The backward products of that layer are gemm calls with transposes
//   dX = dY W^T : gemm(row_major, none, transpose, batch, in, out, 1, dY, out, W, out, 0, dX, in)
//   dW = X^T dY : gemm(row_major, transpose, none, in, out, batch, 1, X, in, dY, out, 0, dW, out)
// and the bias gradient is column_sum (db[j] = sum over rows i of dY[i][j]).
//
// Large problems run on OpenMP threads, split over blocks of rows and columns of C; one row of
// C (x W) is split over runs of k's fixed blocks, whose sums are then added in the order one
// thread adds them. So results are bitwise identical for any thread count. They are also
// bitwise identical across ISAs that fuse their multiply-adds (avx2, avx512, neon): each
// element of C is the same chain of fused multiply-adds over k, in blocks of a fixed size, on
// every path.
//
// Errors (simdgrad::error, thrown before C is written): a null pointer with a non-empty matrix,
// a leading dimension below its minimum, sizes whose element count overflows size_t, alpha or
// beta not finite, C sharing memory with A, B or the bias, a bad enum value or activation.
#include <cstddef>

#include <simdgrad/activation.hpp>

namespace simdgrad {

enum class MatLayout : int { row_major = 0, col_major = 1 };
enum class Trans : int { none = 0, transpose = 1 };

/// What is done to C after the product. Default: nothing.
struct GemmEpilogue {
  const float* bias = nullptr;  // n values, one per column of C; nullptr: no bias
  bool activate = false;        // apply act
  ActivationSpec act{};
  constexpr GemmEpilogue() = default;
  constexpr GemmEpilogue(const float* b) : bias(b) {}  // NOLINT: bias only
  constexpr GemmEpilogue(const float* b, ActivationSpec a) : bias(b), activate(true), act(a) {}
};

/// C = act(alpha * op(A) * op(B) + beta * C + bias) (see above).
void gemm(MatLayout layout, Trans transa, Trans transb, std::size_t m, std::size_t n,
          std::size_t k, float alpha, const float* a, std::size_t lda, const float* b,
          std::size_t ldb, float beta, float* c, std::size_t ldc,
          const GemmEpilogue& epilogue = GemmEpilogue());

/// sums[j] = sum over i of X[i][j] + beta * sums[j], for the m x n matrix X (layout, ldx as in
/// gemm); beta = 0: sums is not read. The bias gradient of a dense layer: db = column_sum(dY).
/// Rows are summed in a fixed order (independent of threads): for row-major X, even and odd
/// rows in two running sums added at the end (the same bits on every ISA); for column-major X,
/// vector partial sums along each column.
void column_sum(MatLayout layout, std::size_t m, std::size_t n, const float* x, std::size_t ldx,
                float beta, float* sums);

}  // namespace simdgrad
