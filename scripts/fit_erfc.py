#!/usr/bin/env python3
"""Fits the polynomial of cpu::normal_cdf8 (include/tlc/ops/cpu/vec_math.hpp).

erfc(z) = t * exp(-z^2) * exp(P(t - 1/2)) with t = 2 / (2 + z), z >= 0: P is fitted by least
squares to log(erfc(z) / t) + z^2 on z in [0, 10] (degree 10). Centring the variable at 1/2 keeps
the coefficients small, so that evaluating P in float adds little error. Prints the coefficients,
highest degree first, and the relative error of erfc in double and with P evaluated in float.
Needs numpy; run by hand, never at build or run time.
"""
import math

import numpy as np

z = np.linspace(0.0, 10.0, 200001)
t = 2.0 / (2.0 + z)
target = np.array([math.log(math.erfc(v)) for v in z]) - np.log(t) + z * z
u = t - 0.5
c = np.polynomial.polynomial.polyfit(u, target, 10)
print("coefficients:", ", ".join("%.9ef" % v for v in c[::-1]))
print("relative error of erfc, double:", np.max(np.abs(np.expm1(np.polynomial.polynomial.polyval(u, c) - target))))
cf, uf = c.astype(np.float32), u.astype(np.float32)
acc = np.full_like(uf, cf[-1])
for k in range(len(cf) - 2, -1, -1):
    acc = (acc.astype(np.float64) * uf + cf[k]).astype(np.float32)
print("relative error of erfc, P in float:", np.max(np.abs(np.expm1(acc.astype(np.float64) - target))))
