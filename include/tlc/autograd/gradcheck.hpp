#pragma once
// Finite-difference gradient check in double. The scalar probed is L = sum(f(inputs) * R) with a
// fixed random R, so every output element takes part; each input element's analytic dL/dx is
// compared with the central difference (L(x+eps) - L(x-eps)) / 2eps.
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tlc/autograd/backward.hpp"
#include "tlc/ops/reduce.hpp"

namespace tlc::autograd {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string message;  // the first mismatch, or empty
};

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
  std::uint64_t seed = 1234;
};

inline GradcheckResult gradcheck(const std::function<TensorD(const std::vector<TensorD>&)>& f,
                                 std::vector<TensorD> inputs, GradcheckOptions opt = {}) {
  for (auto& x : inputs) x = x.detach().clone();
  for (auto& x : inputs) x.requires_grad_(true);
  TensorD probe;
  auto loss_of = [&](const std::vector<TensorD>& in) {
    TensorD y = f(in);
    if (!probe.defined()) {
      Rng rng(opt.seed);
      probe = TensorD::uniform(y.shape(), rng, -1.0, 1.0);
    }
    return ops::sum(ops::mul(y, probe));
  };
  backward(loss_of(inputs));

  GradcheckResult result;
  NoGrad no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TensorD analytic = inputs[i].grad();
    double* px = inputs[i].data();
    for (index_t j = 0; j < inputs[i].numel(); ++j) {
      const double saved = px[j];
      px[j] = saved + opt.eps;
      const double lp = loss_of(inputs).item();
      px[j] = saved - opt.eps;
      const double lm = loss_of(inputs).item();
      px[j] = saved;
      const double numeric = (lp - lm) / (2 * opt.eps);
      const double a = analytic.defined() ? analytic.data()[j] : 0.0;
      const double err = std::abs(a - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (err > opt.atol + opt.rtol * std::abs(numeric) && result.ok) {
        result.ok = false;
        std::ostringstream os;
        os << "input " << i << " element " << j << ": analytic " << a << ", numeric " << numeric;
        result.message = os.str();
      }
    }
  }
  return result;
}

}  // namespace tlc::autograd
