// Vectorized elementary functions on vf, one formula for every ISA. Included inside the ISA
// namespace after simd.hpp.
