#!/usr/bin/env python3
"""PyTorch and ONNX Runtime baselines for bench/bench_nafnet.cpp (same cases, same output line).

NAFNet and TLC come from weights_tools/torch_models.py, the project's PyTorch statement of the
models that also generates the test fixtures (TLC there: the official integral-image local mean and a
calibration forward at the training size).
Benchmark-only: nothing in the build or CI runs this file.

Usage: torch_baseline.py CASE [reps] [threads] [torch|ort|torch-cuda]
  CASE: fwd256_global, fwd256_tlc, fwd720_global, fwd720_tlc (NAFNet-GoPro-width32 forward under
        no_grad) or train (width 16, blocks 1,1,1,1/1/1,1,1,1, batch 8x3x64x64, PSNR loss, AdamW).
  ort: ONNX Runtime on the model exported from PyTorch (global forward cases only).
  torch-cuda: PyTorch on the first GPU (synchronised after every call; peak_gpu_mb added).
Prints `BACKEND CASE threads=T reps=R median_ms=... min_ms=... peak_rss_mb=... setup_rss_mb=...`.
"""
import math
import os
import resource
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights_tools"))
import torch_models as tm  # noqa: E402


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    return -1.0


def gopro_width32():
    return tm.NAFNet(32, [1, 1, 1, 28], 1, [1, 1, 1, 1])


def psnr_loss(pred, target):
    mse = ((pred - target) ** 2).mean(dim=(1, 2, 3))
    return 10.0 / math.log(10.0) * torch.log(mse + 1e-8).mean()


def main():
    case = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    backend = sys.argv[4] if len(sys.argv) > 4 else "torch"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    times = []
    dev = torch.device("cuda" if backend == "torch-cuda" else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def time_it(fn):
        setup = rss_mb()
        fn()  # warm-up
        sync()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        return setup

    if case.startswith("fwd"):
        big = case.startswith("fwd720")
        model = gopro_width32().eval().to(dev)
        if case.endswith("_tlc"):
            if backend == "ort":
                sys.exit("ort: only the global forward is exported")
            tm.convert(model, 256, 256, 1.5)
        x = torch.rand(1, 3, 720 if big else 256, 1280 if big else 256, device=dev)
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
                setup = time_it(lambda: model(x)[0])
    elif case == "train":
        model = tm.NAFNet(16, [1, 1, 1, 1], 1, [1, 1, 1, 1]).train().to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.9), weight_decay=0.0)
        x, y = torch.rand(8, 3, 64, 64, device=dev), torch.rand(8, 3, 64, 64, device=dev)

        def step():
            loss = psnr_loss(model(x)[0], y)
            loss.backward()
            opt.step()
            opt.zero_grad()

        setup = time_it(step)
    else:
        sys.exit(f"unknown case {case}")
    s = sorted(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{backend} {case} threads={torch.get_num_threads()} reps={reps} median_ms={s[len(s) // 2] * 1e3:.1f} "
          f"min_ms={s[0] * 1e3:.1f} peak_rss_mb={peak:.0f} setup_rss_mb={setup:.0f}"
          + (f" peak_gpu_mb={torch.cuda.max_memory_allocated() / 2**20:.0f}" if dev.type == "cuda" else ""), flush=True)


if __name__ == "__main__":
    main()
