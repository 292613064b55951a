#pragma once
// The whole header-only library.
#include "tlc/autograd/backward.hpp"
#include "tlc/autograd/gradcheck.hpp"
#include "tlc/autograd/grad_mode.hpp"
#include "tlc/core/thread_pool.hpp"
#include "tlc/ops/elementwise.hpp"
#include "tlc/ops/reduce.hpp"
#include "tlc/ops/shape_ops.hpp"
#include "tlc/tensor/tensor.hpp"
