#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of tests/data/models/ (see docs/FIXTURES.md): one input
image (input.safetensors); for each model family a small config with seeded random weights
(<name>.pth, torch.save of {'params': state_dict}) and its global and TLC outputs on that image
(<name>.safetensors); manifest.json describing them. The references are computed in float64 from
the float32 weights and input, then stored as float32.

Usage: /usr/bin/python3 weights_tools/make_fixtures.py [out_dir]   (default tests/data/models)
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models as tm  # noqa: E402

# Neither side of 16 or 8, so every model pads; large enough that each TLC window is local.
INPUT_SHAPE = (1, 3, 45, 61)
SCALE = 1.5

UNET = {'width': '8', 'depth': '3', 'gn_groups': '4', 'reduction': '4'}
NAF = {'width': '8', 'enc_blocks': '1,1,1', 'middle_blocks': '1', 'dec_blocks': '1,1,1'}  # 3 levels: small weights
# name, arch, config, training size (h, w), gain on all conv weights, extra gain on the
# attention MLPs (SE / SCA / CBAM). PyTorch's default init shrinks the signal layer after layer
# and leaves the attention maps nearly constant; the gains make TLC change the output clearly
# while keeping it of order 1.
FIXTURES = [
    ('nafnet', 'nafnet', NAF, (16, 16), 1.25, 3),
    # Train 32: the level-0 window (48) covers the padded height (48) but not the width (64).
    ('baseline', 'baseline', dict(NAF, dw_expand='1', ffn_expand='2'), (32, 32), 1.5, 3),
] + [('unet_' + m, 'unet', dict(UNET, module=m), (8, 8), 1.5, 6)
       for m in ('none', 'in', 'hin', 'gn', 'se', 'cbam', 'ge')] + [
    # Train 24 is padded to 32 in the calibration forward, as in the official code.
    ('hinet', 'hinet', {'width': '8', 'depth': '3', 'hin_left': '1', 'hin_right': '2'}, (24, 24), 1.5, 1),
    # dim 6: hidden widths int(6k * 2.66) = 15, 31, 63, 127 all truncate. A non-square training
    # size; its narrower windows give three overlapping attention windows across the width.
    ('restormer', 'restormer', {'dim': '6', 'blocks': '1,1,1,1', 'refinement_blocks': '1', 'heads': '1,2,2,4'},
     (24, 16), 1.25, 1),
]


def randomise(model, gen, gain, attention_gain):
    """Scales the default init by the gains and gives non-trivial values where it would make a
    part inert: NAFNet/Baseline beta/gamma (init 0), norm affine parameters (init 1/0) and
    attention temperatures (init 1)."""
    norms = (tm.LayerNorm2d, tm.GroupNorm)
    with torch.no_grad():
        for mname, m in model.named_modules():
            for pname, p in m.named_parameters(recurse=False):
                noise = torch.randn(p.shape, generator=gen)
                if pname in ('beta', 'gamma'):
                    p.copy_(noise)
                elif isinstance(m, norms):
                    p.copy_(1 + 0.25 * noise if pname == 'weight' else 0.2 * noise)
                elif pname == 'temperature':
                    p.copy_(0.5 + 1.5 * torch.rand(p.shape, generator=gen))
                elif pname == 'weight' and p.dim() == 4:
                    attention = any(k in mname.split('.') for k in ('se', 'sca', 'mlp'))
                    p.mul_(gain * (attention_gain if attention else 1))


def test_image():
    """Spatially non-stationary content (a dark and a bright half, different per channel, a blob,
    a ramp, noise), so local statistics differ clearly from global ones."""
    _, c, h, w = INPUT_SHAPE
    yy = torch.linspace(0, 1, h).view(1, 1, h, 1).expand(1, 1, h, w)
    xx = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(1, 1, h, w)
    blob = torch.exp(-((yy - 0.3) ** 2 + (xx - 0.7) ** 2) / 0.01)
    halves = torch.cat([(xx > 0.4).double(), (yy > 0.6).double(), ((xx < 0.3) & (yy < 0.5)).double()], 1)
    noise = torch.rand(INPUT_SHAPE, generator=torch.Generator().manual_seed(1234), dtype=torch.double)
    img = 0.5 * halves + 0.3 * blob + 0.2 * xx * yy + 0.15 * noise
    return img[:, :c].clamp(0, 1).float().contiguous()


def save_safetensors(path, tensors, metadata):
    header, offset, blobs = {'__metadata__': metadata}, 0, []
    for name, t in tensors.items():
        data = t.detach().float().contiguous().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def make(out_dir, image, name, arch, cfg, train, gain, attention_gain, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the default init
    model = tm.make_model(arch, cfg).eval()
    randomise(model, gen, gain, attention_gain)
    torch.save({'params': model.state_dict()}, os.path.join(out_dir, name + '.pth'))

    ref = model.double()
    with torch.no_grad():
        global_out = ref(image.double())
        windows = tm.convert(ref, train[0], train[1], SCALE)
        tlc_out = ref(image.double())
    tensors = {}
    for i, (g, t) in enumerate(zip(global_out, tlc_out)):
        tensors[f'global.{i}'] = g
        tensors[f'tlc.{i}'] = t
    delta = max((g - t).abs().max().item() for g, t in zip(global_out, tlc_out))
    save_safetensors(os.path.join(out_dir, name + '.safetensors'), tensors, {'fixture': name})
    peak = max(t.abs().max().item() for t in tlc_out)
    print(f'{name:14s} params {sum(p.numel() for p in model.parameters()):7d}  '
          f'max|tlc - global| {delta:.4f}  max|out| {peak:.3f}')
    # Only the plain unet has nothing to convert; elsewhere the TLC reference must be distinct.
    assert delta > 1e-2 or not windows, f'{name}: TLC changes the output by only {delta}, it would test nothing'
    return {
        'name': name, 'arch': arch, 'config': cfg, 'train_h': train[0], 'train_w': train[1], 'scale': SCALE,
        'weights': name + '.pth', 'data': name + '.safetensors', 'outputs': len(global_out),
        'windows': {n: list(k) for n, k in windows.items()},
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', 'tests', 'data', 'models')
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    image = test_image()
    save_safetensors(os.path.join(out_dir, 'input.safetensors'), {'input': image}, {'fixture': 'input'})
    entries = [make(out_dir, image, *f, seed) for seed, f in enumerate(FIXTURES)]
    manifest = {'generator': 'weights_tools/make_fixtures.py', 'torch': torch.__version__, 'input': 'input.safetensors',
                'tolerance': 1e-4, 'fixtures': entries}
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
