#pragma once
// simdgrad: hand-vectorized CPU kernels for training neural networks.
#include <simdgrad/version.hpp>
#include <simdgrad/error.hpp>
#include <simdgrad/cpu.hpp>
#include <simdgrad/activation.hpp>
#include <simdgrad/batchnorm.hpp>
#include <simdgrad/gemm.hpp>
#include <simdgrad/random.hpp>
#include <simdgrad/optimizer.hpp>
#include <simdgrad/clip.hpp>
#include <simdgrad/loss.hpp>
