// GEMM epilogue: bias and activation applied to a finished tile of C while it is in L1.
// Included inside the ISA namespace after simd.hpp and activation.hpp.

/// The identity "activation": the epilogue adds the bias only.
struct IdentityOp {
  explicit IdentityOp(float = 0.0f) {}
  vf fwd(vf x) const { return x; }
};

/// c rows [0, rows) x columns [0, ncols): x = c + bias (per column: bias_col[j], per row:
/// bias_row[i]; either may be null), c = op(x). Runs on a tile that was just stored (in L1).
template <class Op>
void gemm_tile_epilogue(float* c, std::size_t ldc, std::size_t rows, std::size_t ncols,
                        const float* bias_col, const float* bias_row, float act_alpha) {
  const Op op(act_alpha);
  // The whole vectors of the tile, four at a time (four independent evaluations of the
  // activation in flight, as in eltwise_fwd), walking the tile row by row.
  const std::size_t nfull = ncols / kW, total = rows * nfull;
  std::size_t i = 0, v = 0;
  auto next = [&](float*& p, vf& x) {
    p = c + i * ldc + v * kW;
    x = load(p);
    if (bias_col) x = x + load(bias_col + v * kW);
    if (bias_row) x = x + splat(bias_row[i]);
    if (++v == nfull) {
      v = 0;
      ++i;
    }
  };
  std::size_t q = 0;
  for (; q + 4 <= total; q += 4) {
    float* p0;
    float* p1;
    float* p2;
    float* p3;
    vf x0, x1, x2, x3;
    next(p0, x0);
    next(p1, x1);
    next(p2, x2);
    next(p3, x3);
    x0 = op.fwd(x0);
    x1 = op.fwd(x1);
    x2 = op.fwd(x2);
    x3 = op.fwd(x3);
    store(p0, x0);
    store(p1, x1);
    store(p2, x2);
    store(p3, x3);
  }
  for (; q < total; ++q) {
    float* p0;
    vf x0;
    next(p0, x0);
    store(p0, op.fwd(x0));
  }
  const std::size_t j = nfull * kW;
  if (j < ncols) {
    const std::size_t w = ncols - j;
    for (std::size_t r = 0; r < rows; ++r) {
      float* cr = c + r * ldc + j;
      vf x = load_partial(cr, w);
      if (bias_col) x = x + load_partial(bias_col + j, w);
      if (bias_row) x = x + splat(bias_row[r]);
      store_partial(cr, op.fwd(x), w);
    }
  }
}

using GemmEpilogueFn = void (*)(float* c, std::size_t ldc, std::size_t rows, std::size_t ncols,
                                const float* bias_col, const float* bias_row, float act_alpha);

