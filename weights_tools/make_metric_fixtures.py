#!/usr/bin/python3
"""Writes the PSNR/SSIM fixture used by tests/test_metrics.cpp.

Two small 8-bit RGB images (a smooth pattern with texture, and a noisy, slightly shifted copy) go
to tests/data/images/metric_{a,b}.png; the expected metrics go to tests/data/metric_fixture.json.
The metrics are an independent re-statement of spec/TLC-SPEC.md section 8 (the NAFNet/TLC
psnr_ssim.py), in float64: PSNR with max_value from img1, and the 3-D SSIM as one torch conv3d
with an 11x11x11 Gaussian over (H, W, C) after replicate padding of 5.

Run with Debian's python3 + numpy + torch:  /usr/bin/python3 weights_tools/make_metric_fixtures.py
"""
import json
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "tests", "data", "images")


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


def make_images():
    rng = np.random.default_rng(2022)
    h, w = 22, 26
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 90 * np.sin(x / 4.0) * np.cos(y / 5.0),
                     100 + 60 * np.cos((x + y) / 6.0),
                     140 + 110 * np.sin(x * y / 40.0)], axis=-1)
    base += rng.normal(0, 12, base.shape)  # texture
    a = np.clip(np.round(base), 0, 255).astype(np.uint8)  # saturates in places
    b = np.clip(np.round(np.roll(base, 1, axis=1) * 0.9 + 10 + rng.normal(0, 9, base.shape)), 0, 255).astype(np.uint8)
    return a, b


def psnr(img1, img2, crop_border):
    img1, img2 = img1.astype(np.float64), img2.astype(np.float64)
    if crop_border:
        img1 = img1[crop_border:-crop_border, crop_border:-crop_border]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border]
    mse = np.mean((img1 - img2) ** 2)
    max_value = 1.0 if img1.max() <= 1 else 255.0
    return float(20.0 * np.log10(max_value / np.sqrt(mse)))


def ssim3d(img1, img2, crop_border):
    img1, img2 = img1.astype(np.float64), img2.astype(np.float64)
    if crop_border:
        img1 = img1[crop_border:-crop_border, crop_border:-crop_border]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border]
    L = 1.0 if img1.max() <= 1 else 255.0
    C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    t = np.arange(11) - 5
    g = np.exp(-(t ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    k = torch.tensor(np.einsum("i,j,k->ijk", g, g, g))[None, None]

    def filt(v):  # v: H x W x C volume
        v = torch.tensor(v)[None, None]
        return F.conv3d(F.pad(v, (5, 5, 5, 5, 5, 5), mode="replicate"), k)[0, 0].numpy()

    mu1, mu2 = filt(img1), filt(img2)
    s11 = filt(img1 * img1) - mu1 ** 2
    s22 = filt(img2 * img2) - mu2 ** 2
    s12 = filt(img1 * img2) - mu1 * mu2
    m = ((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 ** 2 + mu2 ** 2 + C1) * (s11 + s22 + C2))
    return float(m.mean())


def main():
    a, b = make_images()
    write_png(os.path.join(IMAGES, "metric_a.png"), a)
    write_png(os.path.join(IMAGES, "metric_b.png"), b)
    # the float path sees the float32 values the C++ reader produces: uint8 / 255 in float32
    af, bf = a.astype(np.float32) / np.float32(255), b.astype(np.float32) / np.float32(255)
    out = {
        "images": ["images/metric_a.png", "images/metric_b.png"],
        "note": "img1 = metric_a (restored), img2 = metric_b (ground truth); made by weights_tools/make_metric_fixtures.py",
        "psnr_image": psnr(a, b, 0),
        "ssim_image": ssim3d(a, b, 0),
        "psnr_image_crop4": psnr(a, b, 4),
        "ssim_image_crop4": ssim3d(a, b, 4),
        "psnr_float": psnr(af, bf, 0),
        "ssim_float": ssim3d(af, bf, 0),
    }
    with open(os.path.join(ROOT, "tests", "data", "metric_fixture.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
