#!/usr/bin/python3
"""Writes the small PyTorch/safetensors fixtures of tests/test_torch_checkpoint.cpp and
tests/test_safetensors.cpp into tests/data/io/, with the expected values in expected.json.

Run with Debian's python3 (python3-torch): /usr/bin/python3 weights_tools/make_io_fixtures.py
Hostile files (bad CRC, truncation, evil pickles, ...) are built by the C++ tests from bytes.
"""
import collections
import json
import os
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "io")


def values(t):
    """Shape and float32 values; JSON has no infinities, so those are the strings "inf"/"-inf"."""
    flat = t.detach().to(torch.float32).flatten().tolist()
    return {"shape": list(t.shape), "values": [v if abs(v) != float("inf") else ("inf" if v > 0 else "-inf")
                                               for v in flat]}


def save(name, obj, **kw):
    torch.save(obj, os.path.join(OUT, name), **kw)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    expected = {}

    # 1. a bare state dict, as model.state_dict() returns it (OrderedDict + _metadata via BUILD)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 2, 1))
    sd = model.state_dict()
    save("bare.pth", sd)
    expected["bare.pth"] = {k: values(v) for k, v in sd.items()}

    # 2. the same archive re-zipped with deflate (python zipfile: no zip64, compressed entries)
    with zipfile.ZipFile(os.path.join(OUT, "bare.pth")) as src, \
            zipfile.ZipFile(os.path.join(OUT, "bare_deflate.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            # a fixed timestamp keeps the file byte-identical between runs
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2022, 1, 1, 0, 0, 0)), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    expected["bare_deflate.pth"] = expected["bare.pth"]

    # 3. {'params': ..., 'params_ema': ...} with DataParallel's module. prefix and non-tensor entries
    params = collections.OrderedDict(
        [("module.conv.weight", torch.randn(2, 1, 3, 3)), ("module.conv.bias", torch.randn(2))])
    ema = collections.OrderedDict(
        [("module.conv.weight", torch.randn(2, 1, 3, 3)), ("module.conv.bias", torch.randn(2))])
    save("params_module.pth", {"params": params, "params_ema": ema, "iter": 1000, "note": "fixture"})
    expected["params_module.pth"] = {k[len("module."):]: values(v) for k, v in params.items()}
    expected["params_module.pth#params_ema"] = {k[len("module."):]: values(v) for k, v in ema.items()}

    # 4. dtypes: half, bfloat16, double, a 0-d tensor, plus entries the reader must skip
    dt = collections.OrderedDict([
        ("half", (torch.randn(3, 4) * 100).half()),
        ("bf16", (torch.randn(5) * 1e3).bfloat16()),
        ("double", torch.randn(2, 2, 2, dtype=torch.float64)),
        ("scalar", torch.tensor(2.5)),
        ("special", torch.tensor([float("inf"), -float("inf"), 0.0, -0.0, 6.0e-8, 65504.0]).half()),
        ("num_batches_tracked", torch.tensor(7)),
        ("flag", True),
    ])
    save("dtypes.pth", {"state_dict": dt})
    expected["dtypes.pth"] = {k: values(v) for k, v in dt.items()
                              if torch.is_tensor(v) and v.is_floating_point()}

    # 5. views: non-contiguous, offsets, shared storage, stride 0, a Parameter, an empty tensor
    base = torch.randn(4, 6)
    views = collections.OrderedDict([
        ("transposed", base.t()),
        ("slice", base[1:3, ::2]),
        ("row0", base[0]),
        ("row3", base[3]),
        ("expanded", torch.randn(1, 3).expand(2, 3)),
        ("param", torch.nn.Parameter(torch.randn(3))),
        ("empty", torch.zeros(0, 3)),
        ("nchw_sliced", torch.randn(2, 3, 4, 5)[:, 1:, ::2, 1:4]),
    ])
    save("views.pth", views)
    expected["views.pth"] = {k: values(v) for k, v in views.items()}

    # 6. the legacy (pre-1.6) format, which we refuse (its bytes differ per run: keys are object ids)
    save("legacy.pth", {"w": torch.ones(2)}, _use_new_zipfile_serialization=False)

    # 7. a safetensors file from an independent writer (this script), all four float dtypes
    tensors = collections.OrderedDict([
        ("f32", torch.randn(2, 3)),
        ("f16", torch.randn(4).half()),
        ("bf16", torch.randn(1, 2, 1, 2).bfloat16()),
        ("f64", torch.randn(3, dtype=torch.float64)),
        ("scalar", torch.tensor(-1.25)),
    ])
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}
    header, blobs, offset = {"__metadata__": {"format": "pt", "tlc.train_size": "256"}}, [], 0
    for k, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dim() else t.reshape(1).view(torch.uint8).numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(OUT, "external.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    expected["external.safetensors"] = {k: values(v) for k, v in tensors.items()}

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, allow_nan=False)


if __name__ == "__main__":
    main()
