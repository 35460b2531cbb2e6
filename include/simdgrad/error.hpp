#pragma once
#include <stdexcept>
#include <string>

namespace simdgrad {

/// Thrown for every invalid argument, before any output is written.
/// what() reads "simdgrad::<function>: <argument> <what is wrong>".
class error : public std::invalid_argument {
 public:
  explicit error(const std::string& what) : std::invalid_argument(what) {}
};

}  // namespace simdgrad
