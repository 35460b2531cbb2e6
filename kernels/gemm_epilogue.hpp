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
  for (std::size_t i = 0; i < rows; ++i) {
    float* cr = c + i * ldc;
    const bool hb = bias_row != nullptr;
    const vf rb = splat(hb ? bias_row[i] : 0.0f);
    std::size_t j = 0;
    for (; j + kW <= ncols; j += kW) {
      vf x = load(cr + j);
      if (bias_col) x = x + load(bias_col + j);
      if (hb) x = x + rb;
      store(cr + j, op.fwd(x));
    }
    if (j < ncols) {
      const std::size_t w = ncols - j;
      vf x = load_partial(cr + j, w);
      if (bias_col) x = x + load_partial(bias_col + j, w);
      if (hb) x = x + rb;
      store_partial(cr + j, op.fwd(x), w);
    }
  }
}

using GemmEpilogueFn = void (*)(float* c, std::size_t ldc, std::size_t rows, std::size_t ncols,
                                const float* bias_col, const float* bias_row, float act_alpha);

