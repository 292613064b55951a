"""An independent PyTorch statement of the models in models/ and of TLC, written from the
project's TLC spec (sections 1-4 and 6, cited as "spec" below) to produce reference outputs
for the C++ library (weights_tools/make_fixtures.py, docs/FIXTURES.md).

Parameter names are the official state_dict keys (NAFNet, Baseline, HINet, Restormer); `unet` has
no official code and follows our own C++ layout (models/unet.hpp, docs/MODELS.md). Every model's
forward takes an image batch and returns the list of its outputs cropped to the input size.

TLC: every spatially aggregating module derives from `Aggregating`. `convert(model, ...)` runs one
calibration forward at the training size; each such module then fixes its window to
map * base // train per axis (the official calibration rule) and from then on aggregates locally (the official TLC modules).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Local aggregation primitives.

def _replicate_centred(valid, k1, k2):
    # Back to full size: (k-1)//2 before and k//2 after on each axis (as the official TLC code pads).
    return F.pad(valid, ((k2 - 1) // 2, k2 // 2, (k1 - 1) // 2, k1 // 2), mode='replicate')


def box_mean(x, kernel):
    """Stride-1 window mean, window clamped to the map and slid inward at the borders (the official clamped window),
    computed as in the TLC code: integral image with a zero first row/column, then 4 corners."""
    k1, k2 = min(x.shape[-2], kernel[0]), min(x.shape[-1], kernel[1])
    s = F.pad(x.cumsum(-1).cumsum(-2), (1, 0, 1, 0))
    valid = (s[..., k1:, k2:] - s[..., :-k1, k2:] - s[..., k1:, :-k2] + s[..., :-k1, :-k2]) / (k1 * k2)
    return _replicate_centred(valid, k1, k2)


def box_max(x, kernel):
    """Window maximum with the same window rule as box_mean (CBAM under TLC)."""
    k1, k2 = min(x.shape[-2], kernel[0]), min(x.shape[-1], kernel[1])
    return _replicate_centred(F.max_pool2d(x, (k1, k2), stride=1), k1, k2)


def window_starts(n, k):
    """Start offsets of the overlapping attention windows along one axis (the official adaptive stride)."""
    count = math.ceil(n / k)
    step = k if count == 1 else math.ceil((n - k) / (count - 1) - 1e-8)
    starts, i = [], 0
    while i + k < n:
        starts.append(i)
        i += step
    return starts + [n - k]


class Aggregating(nn.Module):
    """Base of the modules TLC converts. `kernel` None = global. While `calibration` holds
    ((base_h, base_w), (train_h, train_w)), the next forward fixes the kernel from its map size."""

    def __init__(self):
        super().__init__()
        self.kernel = None
        self.calibration = None

    def window(self, x):
        """The window to aggregate x over, or None when the aggregation is global."""
        h, w = x.shape[-2:]
        if self.calibration is not None:
            (bh, bw), (th, tw) = self.calibration
            self.kernel = (max(1, h * bh // th), max(1, w * bw // tw))
            self.calibration = None
        if self.kernel is None or (self.kernel[0] >= h and self.kernel[1] >= w):
            return None
        return self.kernel


def convert(model, train_h, train_w, scale=1.5, in_channels=3):
    """Test-time local conversion; returns {module name: (kh, kw)}."""
    base = (int(scale * train_h), int(scale * train_w))
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, Aggregating)]
    for _, m in layers:
        m.kernel, m.calibration = None, (base, (train_h, train_w))
    p = next(model.parameters())
    with torch.no_grad():
        model(torch.rand(1, in_channels, train_h, train_w, dtype=p.dtype, device=p.device))
    return {n: m.kernel for n, m in layers}


class AvgPool(Aggregating):
    def forward(self, x):
        k = self.window(x)
        return x.mean((2, 3), keepdim=True) if k is None else box_mean(x, k)


class MaxPool(Aggregating):
    def forward(self, x):
        k = self.window(x)
        return x.amax((2, 3), keepdim=True) if k is None else box_max(x, k)


class GroupNorm(Aggregating):
    """Affine group norm (biased variance). Local: per-pixel group statistics from window means of
    x and x^2 averaged over the group's channels (the official local group norm); with one channel per group this is
    the TLC LocalInstanceNorm2d (the official LocalInstanceNorm2d)."""

    def __init__(self, groups, channels, eps=1e-5):
        super().__init__()
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        n, c, h, w = x.shape
        g = self.groups
        k = self.window(x)
        xg = x.reshape(n, g, c // g, h, w)
        if k is None:
            mean = xg.mean((2, 3, 4), keepdim=True)
            var = xg.var((2, 3, 4), unbiased=False, keepdim=True)
        else:
            mean = box_mean(x, k).reshape(n, g, c // g, h, w).mean(2, keepdim=True)
            var = box_mean(x * x, k).reshape(n, g, c // g, h, w).mean(2, keepdim=True) - mean * mean
        y = ((xg - mean) / torch.sqrt(var + self.eps)).reshape(n, c, h, w)
        return y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)


class InstanceNorm2d(GroupNorm):
    def __init__(self, channels, eps=1e-5):
        super().__init__(channels, channels, eps)


# ---------------------------------------------------------------------------------------------
# Shared layers.

def conv(cin, cout, k=1, stride=1, pad=None, bias=True, groups=1):
    return nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 if pad is None else pad, bias=bias, groups=groups)


def simple_gate(x):
    a, b = x.chunk(2, dim=1)
    return a * b


class LayerNorm2d(nn.Module):
    """Per-pixel norm over channels; bias=False is Restormer's BiasFree form."""

    def __init__(self, c, eps, bias=True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c)) if bias else None

    def forward(self, x):
        var = x.var(1, unbiased=False, keepdim=True)
        centred = x - x.mean(1, keepdim=True) if self.bias is not None else x
        y = centred / torch.sqrt(var + self.eps) * self.weight.view(1, -1, 1, 1)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def se_layers(c, hidden):
    """Squeeze-excitation map: pool, 1x1, ReLU, 1x1, sigmoid (names *.1, *.3)."""
    return nn.Sequential(AvgPool(), conv(c, hidden), nn.ReLU(), conv(hidden, c), nn.Sigmoid())


class GE(nn.Module):
    """Gather-Excite theta-minus: x * sigmoid(pool(x))."""

    def __init__(self):
        super().__init__()
        self.pool = AvgPool()

    def forward(self, x):
        return x * torch.sigmoid(self.pool(x))


class CBAM(nn.Module):
    """Channel attention from avg- and max-pool through a shared MLP, then 7x7 spatial attention
    over [channel mean, channel max]."""

    def __init__(self, c, hidden):
        super().__init__()
        self.avg_pool, self.max_pool = AvgPool(), MaxPool()
        self.mlp = nn.Sequential(conv(c, hidden), nn.ReLU(), conv(hidden, c))
        self.spatial = conv(2, 1, 7)

    def forward(self, x):
        y = x * torch.sigmoid(self.mlp(self.avg_pool(x)) + self.mlp(self.max_pool(x)))
        s = torch.cat([y.mean(1, keepdim=True), y.amax(1, keepdim=True)], 1)
        return y * torch.sigmoid(self.spatial(s))


class Restorer(nn.Module):
    """Zero-pads bottom/right to a multiple, runs `outputs`, crops every output back."""
    multiple = 16

    def forward(self, x):
        h, w = x.shape[-2:]
        m = self.multiple
        x = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m))
        return [o[..., :h, :w] for o in self.outputs(x)]


# ---------------------------------------------------------------------------------------------
# NAFNet and Baseline (Chen et al., ECCV 2022).

class NAFBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.conv2 = conv(c, 2 * c), conv(2 * c, 2 * c, 3, groups=2 * c)
        self.conv3 = conv(c, c)
        self.sca = nn.Sequential(AvgPool(), conv(c, c))
        self.conv4, self.conv5 = conv(c, 2 * c), conv(c, c)
        self.norm1, self.norm2 = LayerNorm2d(c, 1e-6), LayerNorm2d(c, 1e-6)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, inp):
        x = simple_gate(self.conv2(self.conv1(self.norm1(inp))))
        y = inp + self.conv3(x * self.sca(x)) * self.beta
        return y + self.conv5(simple_gate(self.conv4(self.norm2(y)))) * self.gamma


class BaselineBlock(nn.Module):
    def __init__(self, c, dw_expand, ffn_expand):
        super().__init__()
        d, f = dw_expand * c, ffn_expand * c
        self.conv1, self.conv2, self.conv3 = conv(c, d), conv(d, d, 3, groups=d), conv(d, c)
        self.se = se_layers(d, d // 2)
        self.conv4, self.conv5 = conv(c, f), conv(f, c)
        self.norm1, self.norm2 = LayerNorm2d(c, 1e-6), LayerNorm2d(c, 1e-6)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, inp):
        x = F.gelu(self.conv2(self.conv1(self.norm1(inp))))
        y = inp + self.conv3(x * self.se(x)) * self.beta
        return y + self.conv5(F.gelu(self.conv4(self.norm2(y)))) * self.gamma


class NAFNet(Restorer):
    """NAFNet (baseline=False) or Baseline UNet: intro, encoders + downs, middle, ups + skip add +
    decoders, ending + input."""

    def __init__(self, width, enc_blocks, middle_blocks, dec_blocks, baseline=False, dw_expand=2, ffn_expand=2, img=3):
        super().__init__()
        self.multiple = 2 ** len(enc_blocks)

        def stage(c, n):
            block = (lambda: BaselineBlock(c, dw_expand, ffn_expand)) if baseline else (lambda: NAFBlock(c))
            return nn.Sequential(*[block() for _ in range(n)])

        self.intro, self.ending = conv(img, width, 3), conv(width, img, 3)
        self.encoders, self.downs, self.ups, self.decoders = (nn.ModuleList() for _ in range(4))
        c = width
        for n in enc_blocks:
            self.encoders.append(stage(c, n))
            self.downs.append(conv(c, 2 * c, 2, 2))
            c *= 2
        self.middle_blks = stage(c, middle_blocks)
        for n in dec_blocks:
            self.ups.append(nn.Sequential(conv(c, 2 * c, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(stage(c, n))

    def outputs(self, inp):
        x, skips = self.intro(inp), []
        for enc, down in zip(self.encoders, self.downs):
            x = enc(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = dec(up(x) + skip)
        return [self.ending(x) + inp]


# ---------------------------------------------------------------------------------------------
# HINet blocks (Chen et al., CVPRW 2021), also the Table-7 `unet` (our design, docs/MODELS.md).

class UNetConvBlock(nn.Module):
    def __init__(self, cin, cout, downsample=False, slope=0.2, csff=False, module='none', gn_groups=8, reduction=4):
        super().__init__()
        self.slope, self.module = slope, module
        self.identity, self.conv_1, self.conv_2 = conv(cin, cout), conv(cin, cout, 3), conv(cout, cout, 3)
        if downsample and csff:
            self.csff_enc, self.csff_dec = conv(cout, cout, 3), conv(cout, cout, 3)
        hidden = max(1, cout // reduction)
        if module == 'in':
            self.norm = InstanceNorm2d(cout)
        elif module == 'hin':
            self.norm = InstanceNorm2d(cout // 2)
        elif module == 'gn':
            self.norm = GroupNorm(min(gn_groups, cout), cout)
        elif module == 'se':
            self.se = se_layers(cout, hidden)
        elif module == 'cbam':
            self.cbam = CBAM(cout, hidden)
        elif module == 'ge':
            self.ge = GE()
        self.downsample = conv(cout, cout, 4, 2, 1, bias=False) if downsample else None

    def forward(self, x, enc=None, dec=None):
        """Block output before the downsample."""
        o = self.conv_1(x)
        if self.module == 'hin':
            half = o.shape[1] // 2
            o = torch.cat([self.norm(o[:, :half]), o[:, half:]], 1)
        elif self.module in ('in', 'gn'):
            o = self.norm(o)
        o = F.leaky_relu(o, self.slope)
        o = F.leaky_relu(self.conv_2(o), self.slope)
        if self.module == 'se':
            o = o * self.se(o)
        elif self.module in ('cbam', 'ge'):
            o = getattr(self, self.module)(o)
        o = o + self.identity(x)
        if enc is not None and dec is not None:
            o = o + self.csff_enc(enc) + self.csff_dec(dec)
        return o


class UNetUpBlock(nn.Module):
    def __init__(self, cin, cout, slope):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, 2)
        self.conv_block = UNetConvBlock(cin, cout, slope=slope)

    def forward(self, x, bridge):
        return self.conv_block(torch.cat([self.up(x), bridge], 1))


def _encode(blocks, x, encs=None, decs=None):
    """Runs an encoder path; returns (deepest features, per-level outputs before downsampling)."""
    skips = []
    for i, block in enumerate(blocks):
        csff = encs is not None and block.downsample is not None
        o = block(x, encs[i] if csff else None, decs[-1 - i] if csff else None)
        if block.downsample is None:
            return o, skips
        skips.append(o)
        x = block.downsample(o)


def _decode(ups, skip_convs, x, skips):
    """Runs a decoder path; returns every up block's output, deepest first."""
    outs = []
    for up, skip_conv, s in zip(ups, skip_convs, reversed(skips)):
        x = up(x, skip_conv(s))
        outs.append(x)
    return outs


class UNet(Restorer):
    def __init__(self, width, depth, module='none', gn_groups=8, reduction=4, slope=0.2, img=3, module_from=0):
        super().__init__()
        self.multiple = 2 ** (depth - 1)
        self.conv_01 = conv(img, width, 3)
        widths = [width << i for i in range(depth)]
        self.down_path = nn.ModuleList(
            UNetConvBlock(widths[max(i - 1, 0)], widths[i], i + 1 < depth, slope, False,
                          module if i >= module_from else 'none', gn_groups, reduction)
            for i in range(depth))
        self.up_path = nn.ModuleList(UNetUpBlock(widths[i + 1], widths[i], slope) for i in reversed(range(depth - 1)))
        self.skip_conv = nn.ModuleList(conv(widths[i], widths[i], 3) for i in reversed(range(depth - 1)))
        self.last = conv(width, img, 3)

    def outputs(self, image):
        x, skips = _encode(self.down_path, self.conv_01(image))
        x = _decode(self.up_path, self.skip_conv, x, skips)[-1] if skips else x
        return [self.last(x) + image]


class SAM(nn.Module):
    def __init__(self, n_feat, img=3):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = conv(n_feat, n_feat, 3), conv(n_feat, img, 3), conv(img, n_feat, 3)

    def forward(self, x, x_img):
        img = self.conv2(x) + x_img
        return self.conv1(x) * torch.sigmoid(self.conv3(img)) + x, img


class HINet(Restorer):
    def __init__(self, width, depth, hin_left, hin_right, slope=0.2, img=3):
        super().__init__()
        self.multiple = 16
        widths = [width << i for i in range(depth)]

        def down_path(csff):
            return nn.ModuleList(
                UNetConvBlock(widths[max(i - 1, 0)], widths[i], i + 1 < depth, slope, csff,
                              'hin' if hin_left <= i <= hin_right else 'none') for i in range(depth))

        def up_path():
            return nn.ModuleList(UNetUpBlock(widths[i + 1], widths[i], slope) for i in reversed(range(depth - 1)))

        def skip_convs():
            return nn.ModuleList(conv(widths[i], widths[i], 3) for i in reversed(range(depth - 1)))

        self.conv_01, self.conv_02 = conv(img, width, 3), conv(img, width, 3)
        self.down_path_1, self.down_path_2 = down_path(False), down_path(True)
        self.up_path_1, self.up_path_2 = up_path(), up_path()
        self.skip_conv_1, self.skip_conv_2 = skip_convs(), skip_convs()
        self.sam12 = SAM(width, img)
        self.cat12 = conv(2 * width, width)
        self.last = conv(width, img, 3)

    def outputs(self, image):
        x, encs = _encode(self.down_path_1, self.conv_01(image))
        decs = _decode(self.up_path_1, self.skip_conv_1, x, encs)
        feat, out_1 = self.sam12(decs[-1], image)
        x = self.cat12(torch.cat([self.conv_02(image), feat], 1))
        x, blocks = _encode(self.down_path_2, x, encs, decs)
        x = _decode(self.up_path_2, self.skip_conv_2, x, blocks)[-1]
        return [out_1, self.last(x) + image]


# ---------------------------------------------------------------------------------------------
# Restormer (Zamir et al., CVPR 2022) with TLC's overlapping-window attention.

class Attention(Aggregating):
    """MDTA: channel-by-channel attention per head over the (window's) pixels."""

    def __init__(self, dim, heads, bias):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = conv(dim, 3 * dim, bias=bias)
        self.qkv_dwconv = conv(3 * dim, 3 * dim, 3, bias=bias, groups=3 * dim)
        self.project_out = conv(dim, dim, bias=bias)

    def attend(self, qkv):
        b, c3, h, w = qkv.shape
        q, k, v = (t.reshape(b, self.heads, c3 // 3 // self.heads, h * w) for t in qkv.chunk(3, 1))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        a = torch.softmax(q @ k.transpose(-2, -1) * self.temperature, -1)
        return (a @ v).reshape(b, c3 // 3, h, w)

    def forward(self, x):
        qkv = self.qkv_dwconv(self.qkv(x))
        kernel = self.window(x)
        if kernel is None:
            return self.project_out(self.attend(qkv))
        h, w = x.shape[-2:]
        k1, k2 = min(h, kernel[0]), min(w, kernel[1])
        total, count = torch.zeros_like(x), torch.zeros_like(x[:, :1])
        for i in window_starts(h, k1):
            for j in window_starts(w, k2):
                total[..., i:i + k1, j:j + k2] += self.attend(qkv[..., i:i + k1, j:j + k2])
                count[..., i:i + k1, j:j + k2] += 1
        return self.project_out(total / count)


class FeedForward(nn.Module):
    def __init__(self, dim, expansion, bias):
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = conv(dim, 2 * hidden, bias=bias)
        self.dwconv = conv(2 * hidden, 2 * hidden, 3, bias=bias, groups=2 * hidden)
        self.project_out = conv(hidden, dim, bias=bias)

    def forward(self, x):
        a, b = self.dwconv(self.project_in(x)).chunk(2, 1)
        return self.project_out(F.gelu(a) * b)


class RestormerNorm(nn.Module):
    def __init__(self, dim, with_bias):
        super().__init__()
        self.body = LayerNorm2d(dim, 1e-5, with_bias)

    def forward(self, x):
        return self.body(x)


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, expansion, bias, with_bias):
        super().__init__()
        self.norm1, self.norm2 = RestormerNorm(dim, with_bias), RestormerNorm(dim, with_bias)
        self.attn = Attention(dim, heads, bias)
        self.ffn = FeedForward(dim, expansion, bias)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class Body(nn.Module):
    """A named single child (OverlapPatchEmbed.proj, Downsample/Upsample.body)."""

    def __init__(self, name, child):
        super().__init__()
        self.add_module(name, child)
        self.name = name

    def forward(self, x):
        return getattr(self, self.name)(x)


class Restormer(Restorer):
    def __init__(self, dim, blocks, refinement, heads, expansion=2.66, bias=False, with_bias=True, img=3):
        super().__init__()
        self.multiple = 8

        def level(d, n, h):
            return nn.Sequential(*[TransformerBlock(d, h, expansion, bias, with_bias) for _ in range(n)])

        def down(c):
            return Body('body', nn.Sequential(conv(c, c // 2, 3, bias=False), nn.PixelUnshuffle(2)))

        def up(c):
            return Body('body', nn.Sequential(conv(c, 2 * c, 3, bias=False), nn.PixelShuffle(2)))

        d = dim
        self.patch_embed = Body('proj', conv(img, d, 3, bias=False))
        self.encoder_level1, self.down1_2 = level(d, blocks[0], heads[0]), down(d)
        self.encoder_level2, self.down2_3 = level(2 * d, blocks[1], heads[1]), down(2 * d)
        self.encoder_level3, self.down3_4 = level(4 * d, blocks[2], heads[2]), down(4 * d)
        self.latent = level(8 * d, blocks[3], heads[3])
        self.up4_3, self.reduce_chan_level3 = up(8 * d), conv(8 * d, 4 * d, bias=bias)
        self.decoder_level3 = level(4 * d, blocks[2], heads[2])
        self.up3_2, self.reduce_chan_level2 = up(4 * d), conv(4 * d, 2 * d, bias=bias)
        self.decoder_level2 = level(2 * d, blocks[1], heads[1])
        self.up2_1 = up(2 * d)
        self.decoder_level1 = level(2 * d, blocks[0], heads[0])
        self.refinement = level(2 * d, refinement, heads[0])
        self.output = conv(2 * d, img, 3, bias=bias)

    def outputs(self, inp):
        e1 = self.encoder_level1(self.patch_embed(inp))
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        x = self.latent(self.down3_4(e3))
        x = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(x), e3], 1)))
        x = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(x), e2], 1)))
        x = self.refinement(self.decoder_level1(torch.cat([self.up2_1(x), e1], 1)))
        return [self.output(x) + inp]


# ---------------------------------------------------------------------------------------------

def _ints(s):
    return [int(v) for v in s.split(',')]


def make_model(arch, cfg):
    """Builds a model from the same flat key -> string config as models::make_model."""
    g = cfg.get
    if arch in ('nafnet', 'baseline'):
        return NAFNet(int(g('width', '16')), _ints(g('enc_blocks', '1,1,1,1')), int(g('middle_blocks', '1')),
                      _ints(g('dec_blocks', '1,1,1,1')), arch == 'baseline', int(g('dw_expand', '2')),
                      int(g('ffn_expand', '2')), int(g('img_channels', '3')))
    if arch == 'unet':
        return UNet(int(g('width', '16')), int(g('depth', '3')), g('module', 'none'), int(g('gn_groups', '8')),
                    int(g('reduction', '4')), float(g('slope', '0.2')), int(g('img_channels', '3')),
                    int(g('module_from', '0')))
    if arch == 'hinet':
        return HINet(int(g('width', '64')), int(g('depth', '5')), int(g('hin_left', '3')), int(g('hin_right', '4')),
                     float(g('slope', '0.2')), int(g('img_channels', '3')))
    if arch == 'restormer':
        return Restormer(int(g('dim', '48')), _ints(g('blocks', '4,6,6,8')), int(g('refinement_blocks', '4')),
                         _ints(g('heads', '1,2,4,8')), float(g('ffn_expansion', '2.66')), g('bias', 'false') == 'true',
                         g('layer_norm', 'WithBias') == 'WithBias', int(g('img_channels', '3')))
    raise ValueError(f'unknown arch {arch!r}')
