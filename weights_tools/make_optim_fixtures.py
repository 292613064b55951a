#!/usr/bin/python3
"""Writes tests/data/optim/expected.json: PyTorch reference values for tests/test_optim.cpp.

Run with Debian's python3 (python3-torch 1.13): /usr/bin/python3 weights_tools/make_optim_fixtures.py
Everything is computed in float64 so the C++ double path can be compared tightly.

* optimisers: a few parameters, a few steps with fixed gradients; parameter values after every
  step for AdamW (NAFNet recipe: lr 1e-3, betas (0.9, 0.9), wd 1e-3), AdamW driven by a cosine
  schedule, and Adam with L2 weight decay (HINet betas (0.9, 0.99)).
* cosine: CosineAnnealingLR's lr at iteration t = 1..T_max+1, i.e. after t-1 scheduler steps.
* clip: torch.nn.utils.clip_grad_norm_(params, 0.01) on gradients above and below the limit.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "optim")
SHAPES = [[2, 3], [4], [1, 2, 2, 2]]
STEPS = 5


def flat(t):
    return t.detach().flatten().tolist()


def make_params(gen):
    return [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in SHAPES]


def make_grads(gen, scale):
    # Per step, per parameter; the second parameter gets larger gradients so moments differ in scale.
    return [[torch.randn(s, generator=gen, dtype=torch.float64) * scale * (10.0 if i == 1 else 1.0)
             for i, s in enumerate(SHAPES)] for _ in range(STEPS)]


def optimiser_case(kind, lr, betas, wd, cosine=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = make_params(gen)
    grads = make_grads(gen, 0.1)
    init = [flat(p) for p in params]
    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    opt = cls(params, lr=lr, betas=betas, eps=1e-8, weight_decay=wd)
    sched = None
    if cosine is not None:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cosine["t_max"], eta_min=cosine["eta_min"])
    lrs, after = [], []
    for step in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        opt.step()
        if sched is not None:
            sched.step()
        after.append([flat(p) for p in params])
    return {"kind": kind, "lr": lr, "betas": list(betas), "eps": 1e-8, "weight_decay": wd, "cosine": cosine,
            "shapes": SHAPES, "init": init, "grads": [[flat(g) for g in gs] for gs in grads], "lrs": lrs,
            "after": after}


def cosine_case(lr0, eta_min, t_max):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    lrs = []
    for _ in range(t_max + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"lr0": lr0, "eta_min": eta_min, "t_max": t_max, "lrs": lrs}


def clip_case(scale, seed):
    gen = torch.Generator().manual_seed(seed)
    params = make_params(gen)
    grads = make_grads(gen, scale)[0]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_(params, 0.01)
    return {"max_norm": 0.01, "shapes": SHAPES, "grads": [flat(g) for g in grads], "norm": float(norm),
            "clipped": [flat(p.grad) for p in params]}


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {
        "torch_version": torch.__version__,
        "optimisers": [
            optimiser_case("adamw", 1e-3, (0.9, 0.9), 1e-3, seed=1),
            optimiser_case("adamw", 1e-3, (0.9, 0.9), 1e-3, cosine={"t_max": 4, "eta_min": 1e-7}, seed=2),
            optimiser_case("adam", 2e-4, (0.9, 0.99), 1e-3, seed=3),
        ],
        "cosine": [cosine_case(1e-3, 1e-7, 10), cosine_case(2e-4, 1e-6, 200)],
        "clip": [clip_case(0.1, 4), clip_case(1e-4, 5)],
    }
    assert expected["clip"][0]["norm"] > 0.01 > expected["clip"][1]["norm"]
    assert all(math.isfinite(v) for c in expected["cosine"] for v in c["lrs"])
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
