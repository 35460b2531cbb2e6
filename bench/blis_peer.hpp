#pragma once
// blis.h for simdgrad_bench and simdgrad_gemm_pair, without the warnings its headers raise under
// -Wall -Wextra.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <blis.h>
#pragma GCC diagnostic pop
