#!/usr/bin/env python3
"""PyTorch and ONNX Runtime baselines for bench/bench_nafnet.cpp (same cases, same output line).

NAFNet is restated here from the spec (shared/spec/TLC-SPEC.md section 2), with TLC's local average
pool of spec 6.1 (integral image, clamped window, calibration forward at the training size).
Benchmark-only: nothing in the build or CI runs this file.

Usage: torch_baseline.py CASE [reps] [threads] [torch|ort]
  CASE: fwd256_global, fwd256_tlc, fwd720_global, fwd720_tlc (NAFNet-GoPro-width32 forward under
        no_grad) or train (width 16, blocks 1,1,1,1/1/1,1,1,1, batch 8x3x64x64, PSNR loss, AdamW).
  ort: ONNX Runtime on the model exported from PyTorch (global forward cases only).
Prints `BACKEND CASE threads=T reps=R median_ms=... min_ms=... peak_rss_mb=... setup_rss_mb=...`.
"""
import math
import os
import resource
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    return -1.0


class LayerNorm2d(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / torch.sqrt(var + self.eps)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class LocalAvgPool(nn.Module):
    """Global average pool, or after calibration a stride-1 local mean (spec 6.1)."""

    def __init__(self):
        super().__init__()
        self.kernel = None  # (K1, K2), set by the calibration forward when converting
        self.base = None  # (B1, B2, Ht, Wt) while converting

    def forward(self, x):
        h, w = x.shape[2:]
        if self.base is not None and self.kernel is None:
            b1, b2, ht, wt = self.base
            self.kernel = (max(1, h * b1 // ht), max(1, w * b2 // wt))
        if self.kernel is None or (self.kernel[0] >= h and self.kernel[1] >= w):
            return x.mean((2, 3), keepdim=True)
        k1, k2 = min(h, self.kernel[0]), min(w, self.kernel[1])
        s = x.cumsum(dim=-1).cumsum(dim=-2)
        s = F.pad(s, (1, 0, 1, 0))
        v = (s[:, :, k1:, k2:] - s[:, :, :-k1, k2:] - s[:, :, k1:, :-k2] + s[:, :, :-k1, :-k2]) / (k1 * k2)
        return F.pad(v, ((k2 - 1) // 2, k2 // 2, (k1 - 1) // 2, k1 // 2), mode="replicate")


class NAFBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 2 * c, 1)
        self.conv2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.conv3 = nn.Conv2d(c, c, 1)
        self.sca = nn.Sequential(LocalAvgPool(), nn.Conv2d(c, c, 1))
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    @staticmethod
    def gate(x):
        a, b = x.chunk(2, dim=1)
        return a * b

    def forward(self, inp):
        x = self.gate(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + x * self.beta
        x = self.conv5(self.gate(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class NAFNet(nn.Module):
    def __init__(self, width, enc, middle, dec, img_channels=3):
        super().__init__()
        self.intro = nn.Conv2d(img_channels, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channels, 3, padding=1)
        self.encoders, self.downs, self.ups, self.decoders = (nn.ModuleList() for _ in range(4))
        c = width
        for n in enc:
            self.encoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, 2))
            c *= 2
        self.middle_blks = nn.Sequential(*[NAFBlock(c) for _ in range(middle)])
        for n in dec:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
        self.multiple = 2 ** len(enc)

    def forward(self, inp):
        h, w = inp.shape[2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            inp = F.pad(inp, (0, pw, 0, ph))
        x = self.intro(inp)
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            x = enc(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for dec, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            x = dec(up(x) + skip)
        return (self.ending(x) + inp)[:, :, :h, :w]


def convert_tlc(model, train=256, scale=1.5):
    """TLC: one calibration forward on noise at the training size fixes every pool's window."""
    base = int(scale * train)
    pools = [m for m in model.modules() if isinstance(m, LocalAvgPool)]
    for p in pools:
        p.kernel, p.base = None, (base, base, train, train)
    with torch.no_grad():
        model(torch.rand(1, 3, train, train))
    for p in pools:
        p.base = None


def psnr_loss(pred, target):
    mse = ((pred - target) ** 2).mean(dim=(1, 2, 3))
    return 10.0 / math.log(10.0) * torch.log(mse + 1e-8).mean()


def gopro_width32():
    return NAFNet(32, [1, 1, 1, 28], 1, [1, 1, 1, 1])


def main():
    case = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    backend = sys.argv[4] if len(sys.argv) > 4 else "torch"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    times = []

    def time_it(fn):
        setup = rss_mb()
        fn()  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return setup

    if case.startswith("fwd"):
        big = case.startswith("fwd720")
        model = gopro_width32().eval()
        if case.endswith("_tlc"):
            if backend == "ort":
                sys.exit("ort: only the global forward is exported")
            convert_tlc(model)
        x = torch.rand(1, 3, 720 if big else 256, 1280 if big else 256)
        if backend == "ort":
            import onnxruntime as ort
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "nafnet.onnx")
                with torch.no_grad():
                    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"], opset_version=17,
                                      dynamo=False)
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            xn = x.numpy()
            del model
            setup = time_it(lambda: sess.run(None, {"x": xn}))
        else:
            with torch.no_grad():
                setup = time_it(lambda: model(x))
    elif case == "train":
        model = NAFNet(16, [1, 1, 1, 1], 1, [1, 1, 1, 1]).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.9), weight_decay=0.0)
        x, y = torch.rand(8, 3, 64, 64), torch.rand(8, 3, 64, 64)

        def step():
            loss = psnr_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()

        setup = time_it(step)
    else:
        sys.exit(f"unknown case {case}")
    s = sorted(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{backend} {case} threads={torch.get_num_threads()} reps={reps} median_ms={s[len(s) // 2] * 1e3:.1f} "
          f"min_ms={s[0] * 1e3:.1f} peak_rss_mb={peak:.0f} setup_rss_mb={setup:.0f}", flush=True)


if __name__ == "__main__":
    main()
