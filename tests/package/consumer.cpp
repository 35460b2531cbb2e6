// A user program built against the installed package (find_package and pkg-config).
#include <simdgrad/simdgrad.hpp>

#include <cstdio>

int main() {
  float x[5] = {-2.0f, -0.0f, 0.0f, 1.5f, 3.0f}, y[5];
  simdgrad::activation_forward(simdgrad::Activation::relu, x, y, 5);
  const bool ok = y[0] == 0.0f && y[3] == 1.5f && y[4] == 3.0f;
  std::printf("simdgrad %s on %s: %s\n", simdgrad::version(),
              simdgrad::isa_name(simdgrad::active_isa()), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
