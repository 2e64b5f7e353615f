#!/usr/bin/python3
"""Make the small ONNX fixtures of test/onnx*.test.ts with PyTorch, and the official SWAP scores they must give.

Run with Debian's python3-torch (the interpreter at /usr/bin/python3, torch 1.13):

    /usr/bin/python3 scripts/make_onnx_fixtures.py            # writes test/fixtures/onnx/

Every fixture is a tiny network exported with torch.onnx.export (do_constant_folding=False, so BatchNormalization
nodes stay BatchNormalization nodes). Weights are the official Gaussian init (Conv2d/Linear weight ~ N(0,1) drawn
by torch after torch.manual_seed, biases 0, BN weight 1 / bias 0). The expected score is computed here exactly as
the official SWAP code does (pym1024/SWAP src/metrics/swap.py): forward hooks on every nn.ReLU whose input is 4-D
store the output; the model is in train() mode (BN uses batch statistics); the outputs are flattened to (S, -1),
concatenated, binarised with sign(), transposed and counted with torch.unique(dim=0).

Inputs are the first S CIFAR-10 test images of data/cifar10_test_first20.bin, normalised with the CIFAR-10
mean/std in float64 and rounded once to float32: bit-identical to swapnas' defaultBatch(S).

Output: <name>.onnx files and expected.json (one entry per fixture).

    /usr/bin/python3 scripts/make_onnx_fixtures.py grad       # writes test/fixtures/grad/ (see make_grad_fixtures)
"""

import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "onnx")
CIFAR = os.path.join(REPO, "data", "cifar10_test_first20.bin")
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.247, 0.2435, 0.2616)


# --------------------------------------------------------------------------------------------------------------
# Inputs and the official count
# --------------------------------------------------------------------------------------------------------------

def cifar_batch(n):
    raw = np.fromfile(CIFAR, dtype=np.uint8).reshape(-1, 3073)[:n, 1:].reshape(n, 3, 32, 32)
    x = raw.astype(np.float64) / 255.0
    x = (x - np.array(MEAN).reshape(1, 3, 1, 1)) / np.array(STD).reshape(1, 3, 1, 1)
    return torch.from_numpy(x.astype(np.float32))


def gaussian_init(model):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def official_swap(model, x, train=True):
    """The official SWAP-Score: hooks on every nn.ReLU with a 4-D input, sign, unique rows.

    Runs on a copy: a train-mode forward updates the BN running statistics, which must not leak into the
    exported file or into another expectation."""
    model = copy.deepcopy(model)
    feats = []

    def hook(module, inputs, output):
        if inputs[0].dim() == 4:
            feats.append(output.detach())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    model.train(train)
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    if not feats:
        return {"swap": None, "hooked": 0, "recorded": 0}
    s = x.shape[0]
    acts = torch.cat([f.reshape(s, -1) for f in feats], dim=1)
    patterns = torch.sign(acts).t()
    return {
        "swap": int(torch.unique(patterns, dim=0).shape[0]),
        "hooked": len(feats),
        "recorded": int(acts.shape[1]),
    }


# --------------------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------------------

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


def relu_conv_bn(cin, cout, k, stride, pad):
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout))


def make_op(name, c):
    return {
        "none": lambda: Zero(),
        "skip_connect": lambda: Identity(),
        "nor_conv_1x1": lambda: relu_conv_bn(c, c, 1, 1, 0),
        "nor_conv_3x3": lambda: relu_conv_bn(c, c, 3, 1, 1),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }[name]()


def parse_arch(arch):
    nodes = []
    for group in arch.strip().split("+"):
        nodes.append([(e.split("~")[0], int(e.split("~")[1])) for e in group.strip().strip("|").split("|")])
    return nodes


class Cell(nn.Module):
    """NB201 InferCell: node j = sum over i < j of op_ij(node i)."""

    def __init__(self, nodes, c):
        super().__init__()
        self.sources = [[src for _, src in edges] for edges in nodes]
        self.edges = nn.ModuleList(nn.ModuleList(make_op(op, c) for op, _ in edges) for edges in nodes)

    def forward(self, x):
        states = [x]
        for ops, srcs in zip(self.edges, self.sources):
            total = None
            for op, src in zip(ops, srcs):
                y = op(states[src])
                total = y if total is None else total + y
            states.append(total)
        return states[-1]


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = relu_conv_bn(cin, cout, 3, 2, 1)
        self.conv_b = relu_conv_bn(cout, cout, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """NB201 macro network (xautodl TinyNetwork), C channels, N cells per stage."""

    def __init__(self, arch, C=4, N=1, classes=10):
        super().__init__()
        nodes = parse_arch(arch)
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers, c = [], C
        for stage in range(3):
            if stage > 0:
                layers.append(ResBlock(c, 2 * c))
                c *= 2
            layers.extend(Cell(nodes, c) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.pool(x).flatten(1))


class HeadNet(nn.Module):
    """Conv features with one nn.ReLU applied twice to the same tensor, and an MLP head with a ReLU on 2-D.

    Every op has an IR equivalent, so swapnas imports it (with --reinit)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.mix = nn.Conv2d(16, 8, 1, bias=False)
        self.fc1 = nn.Linear(8, 16)
        self.act2d = nn.ReLU()
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        y = self.bn1(self.conv1(x))
        a = self.relu(y)
        b = self.relu(y)  # the same nn.ReLU on the same tensor: recorded twice by the hooks, counts once
        z = self.bn2(self.conv2(a + b))
        z = self.pool(self.relu(z) + self.conv3(self.relu(z)))
        z = self.mix(torch.cat([z, self.relu(z)], dim=1))
        h = z.mean(dim=(2, 3))
        return self.fc2(self.act2d(self.fc1(h)))


class NoReluNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean(dim=(2, 3)))


class MlpNet(nn.Module):
    """Only ReLUs on 2-D tensors: the official hooks record nothing."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(4)
        self.fc1 = nn.Linear(3 * 8 * 8, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(self.pool(x).flatten(1))))


class FlatInputNet(nn.Module):
    """A model on flat (N, 3072) inputs that views them as 3x32x32 images first (`x.view(-1, 3, 32, 32)`, as a model
    fed flattened images writes it; with `size`, `x.view(x.size(0), 3, 32, 32)`, which a dynamic-batch export writes
    as Shape / Gather / Unsqueeze / Concat): conv-BN-ReLU twice, global pool, Linear. ONNX Runtime runs it on (N, F)
    batches; the IR takes the 3x32x32 map."""

    def __init__(self, size=False):
        super().__init__()
        self.size = size
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = x.view(x.size(0) if self.size else -1, 3, 32, 32)
        x = self.relu(self.b2(self.c2(self.relu(self.b1(self.c1(x))))))
        return self.fc(x.mean((2, 3)))


class NormNet(nn.Module):
    """nn.GroupNorm(2, 8) after a conv, nn.LayerNorm on the pooled features: torch.onnx (opset 13) writes them as
    Reshape → InstanceNormalization → Reshape and as ReduceMean / Sub / Pow / ... / Div (opset 17: LayerNormalization).
    Both import as the IR's `gn` op."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.gn = nn.GroupNorm(2, 8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.relu(self.c2(self.relu(self.gn(self.c1(x)))))
        return self.fc(self.ln(x.mean((2, 3))))


class LayerNormNet(NormNet):
    """NormNet without its GroupNorm: an nn.LayerNorm on the pooled features."""

    def __init__(self):
        super().__init__()
        self.gn = nn.Identity()


class PlainGroupNormNet(NormNet):
    """NormNet with nn.GroupNorm(2, 8, affine=False): torch.onnx still writes the Mul / Add, by Constant 1 and 0 of
    shape (1, 1, 1)."""

    def __init__(self):
        super().__init__()
        self.gn = nn.GroupNorm(2, 8, affine=False)


class InstNormNet(NormNet):
    """NormNet with an nn.InstanceNorm2d(8, affine=True) for its GroupNorm (one InstanceNormalization)."""

    def __init__(self):
        super().__init__()
        self.gn = nn.InstanceNorm2d(8, affine=True)


class SeNet(nn.Module):
    """Squeeze-and-excitation (GlobalAveragePool, 1x1 Convs, Sigmoid, Mul by the (N, C, 1, 1) gate) with a ReLU on an
    (N, C, 1, 1) tensor, which the official SWAP code records (a 4-D input)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(8, 4, 1, bias=True)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(4, 8, 1, bias=True)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        w = torch.sigmoid(self.fc2(self.relu(self.fc1(self.squeeze(x)))))
        x = self.body(x * w)
        return self.fc(x.mean(dim=(2, 3)))


class PadNet(nn.Module):
    """nn.ZeroPad2d and F.pad: torch.onnx writes their pad lists as Shape/Gather/Slice/... arithmetic on a constant
    (not folded, even with constant folding on); an AvgPool2d that counts padded zeros exports as Pad + AveragePool,
    here a Pad of the F.pad's Pad (2 in all: at most half the pool's kernel, as PyTorch's pools and the IR require)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.zpad = nn.ZeroPad2d(1)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.AvgPool2d(5, 1, padding=1, count_include_pad=True)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.body(self.zpad(self.stem(x)))
        x = self.relu(self.pool(nn.functional.pad(x, (1, 1, 1, 1))))
        return self.fc(x.mean(dim=(2, 3)))


class ChunkNet(nn.Module):
    """ShuffleNet-v2's split: `x.chunk(2, 1)`, which torch.onnx writes as Slices whose bounds it computes from the
    channel count (Shape, Gather, Add, Div, Mul), one half through a conv, then concatenated."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.branch = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        a, b = self.stem(x).chunk(2, 1)
        return self.fc(torch.cat([a, self.branch(b)], 1).mean(dim=(2, 3)))


class FlatHeadNet(nn.Module):
    """A LeNet / VGG head: conv-BN(eps 1e-3)-ReLU-maxpool twice, the 8x8 map flattened by `view(x.size(0), -1)`
    into Linear-ReLU-Dropout-Linear (no global pool)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 5, padding=2, bias=False), nn.BatchNorm2d(6, eps=1e-3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8, eps=1e-3), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(8 * 8 * 8, 24), nn.ReLU(), nn.Dropout(0.0), nn.Linear(24, 10))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class Relu6Net(nn.Module):
    """MobileNetV2-style ReLU6 (exported as Clip(0, 6)) beside plain ReLUs: the official SWAP code hooks nn.ReLU
    only, so the ReLU6 outputs are computed (and clip what follows) but not recorded."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.expand = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.last = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.project(self.dw(self.expand(x)))
        return self.fc(self.last(x).mean(dim=(2, 3)))


class LeakyNet(nn.Module):
    """Darknet-style nn.LeakyReLU(0.1) (ONNX LeakyRelu) beside plain ReLUs: the official SWAP code hooks nn.ReLU only,
    so the leaky outputs are computed (their negative side reaches the next conv) but not recorded."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.1))
        self.a = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16),
                               nn.LeakyReLU(0.2))
        self.c = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.a(x)
        return self.fc(self.c(self.b(x)).mean(dim=(2, 3)))


class CeilNet(nn.Module):
    """GoogLeNet / SqueezeNet-style ceil-mode pools that add a last, partial window: MaxPool2d(3, 2, ceil_mode=True)
    after the stem, AvgPool2d(3, 2, padding=1, ceil_mode=True) (exported as Pad + AveragePool; its last windows overhang
    the padding) and AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False), with ReLUs after each."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.a = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool2 = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True)
        self.b = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pool3 = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
        self.c = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool1(self.stem(x))
        x = self.pool3(self.b(self.pool2(self.a(x))))
        return self.fc(self.c(x).mean(dim=(2, 3)))


class GateNet(nn.Module):
    """MobileNetV3 / EfficientNet gates: Hardswish (HardSigmoid + Mul), SiLU (Sigmoid + Mul), a squeeze-and-excitation
    block gated by nn.Hardsigmoid, and nn.ReLUs after them (the official SWAP code records only those)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.Hardswish())
        self.a = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
        self.fc1 = nn.Conv2d(16, 4, 1)
        self.relu = nn.ReLU()  # a module, as torchvision's (a functional relu is invisible to the official hooks)
        self.fc2 = nn.Conv2d(4, 16, 1)
        self.gate = nn.Hardsigmoid()
        self.c = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.b(self.a(self.stem(x)))
        x = x * self.gate(self.fc2(self.relu(self.fc1(nn.functional.adaptive_avg_pool2d(x, 1)))))
        return self.fc(self.c(x).mean(dim=(2, 3)))


class ActNet(nn.Module):
    """Smooth activations as modules (GELU, Tanh, ELU(0.5), SELU, Softplus, Mish, GELU's tanh form) between conv-BN layers, with
    nn.ReLUs after them: the official SWAP code records only the nn.ReLU outputs."""

    def __init__(self):
        super().__init__()
        cbn = lambda cin, cout, act, s=1: nn.Sequential(nn.Conv2d(cin, cout, 3, stride=s, padding=1, bias=False),
                                                        nn.BatchNorm2d(cout), act)
        self.stem = cbn(3, 8, nn.GELU())
        self.a = cbn(8, 8, nn.ReLU())
        self.b = cbn(8, 8, nn.Tanh())
        self.c = cbn(8, 8, nn.ELU(0.5))
        self.d = cbn(8, 16, nn.ReLU(), 2)
        self.e = cbn(16, 16, nn.SELU())
        self.f = cbn(16, 16, nn.Softplus())
        self.g = cbn(16, 16, nn.Mish())
        self.t = cbn(16, 16, nn.GELU(approximate="tanh"))
        self.h = cbn(16, 16, nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.a(self.stem(x))
        x = self.d(x + self.c(self.b(x)))
        return self.fc(self.h(self.t(self.g(self.f(self.e(x))))).mean(dim=(2, 3)))


class RectNet(nn.Module):
    """Rectangular convolutions (Inception's factorised 1x7 / 7x1, a (3, 5) conv of stride (2, 1), a depthwise
    (1, 5) of stride (1, 2), a (3, 1) dilated along the width, a (1, 3) padded only along the height) between
    BN and nn.ReLU, on a residual."""

    def __init__(self):
        super().__init__()
        cbr = lambda cin, cout, k, **kw: nn.Sequential(nn.Conv2d(cin, cout, k, bias=False, **kw), nn.BatchNorm2d(cout), nn.ReLU())
        self.stem = cbr(3, 8, 3, padding=1)
        self.a = cbr(8, 8, (1, 7), padding=(0, 3))
        self.b = cbr(8, 8, (7, 1), padding=(3, 0))
        self.down = cbr(8, 16, (3, 5), stride=(2, 1), padding=(1, 2))
        self.dw = cbr(16, 16, (1, 5), stride=(1, 2), padding=(0, 2), groups=16)
        self.dil = cbr(16, 16, (3, 1), padding=(1, 0), dilation=(1, 2))
        self.tall = cbr(16, 16, (1, 3), padding=(1, 0))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b(self.a(x))
        x = self.tall(self.dil(self.dw(self.down(x))))
        return self.fc(x.mean(dim=(2, 3)))


class SamePadNet(nn.Module):
    """TensorFlow's SAME padding as timm's Conv2dSame writes it (F.pad, then a conv without padding): a strided 3x3
    padded (0, 1, 0, 1) (left, right, top, bottom), a (2, 4) padded (1, 2, 0, 1), a depthwise strided 3x3 padded
    (0, 1, 0, 1); conv-BN-ReLU each, a residual."""

    def __init__(self):
        super().__init__()
        cbr = lambda cin, cout, k, **kw: nn.Sequential(nn.Conv2d(cin, cout, k, bias=False, **kw), nn.BatchNorm2d(cout), nn.ReLU())
        self.stem = cbr(3, 8, 3, stride=2)
        self.wide = cbr(8, 8, (2, 4))
        self.dw = cbr(8, 8, 3, stride=2, groups=8)
        self.pw = cbr(8, 16, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(F.pad(x, (0, 1, 0, 1)))
        x = x + self.wide(F.pad(x, (1, 2, 0, 1)))
        x = self.pw(self.dw(F.pad(x, (0, 1, 0, 1))))
        return self.fc(x.mean(dim=(2, 3)))


class PReluNet(nn.Module):
    """nn.PReLU() (one slope) and nn.PReLU(C) (one per channel) beside nn.ReLUs: only the nn.ReLU outputs are
    recorded; the slopes (0.25) are parameters."""

    def __init__(self):
        super().__init__()
        cbr = lambda cin, cout, act, s=1: nn.Sequential(nn.Conv2d(cin, cout, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(cout), act)
        self.stem = cbr(3, 8, nn.PReLU())
        self.a = cbr(8, 8, nn.ReLU())
        self.b = cbr(8, 8, nn.PReLU(8))
        self.d = cbr(8, 16, nn.ReLU(), 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b(self.a(x))
        return self.fc(self.d(x).mean(dim=(2, 3)))


class StrideZeroNet(nn.Module):
    """A DARTS reduction edge's `none` op (NASLib's Zero(stride=2): x[:, :, ::2, ::2].mul(0.), a Slice with step 2
    times 0) summed with a strided conv-BN edge, then nn.ReLUs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.edge = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8))
        self.relu = nn.ReLU()
        self.c = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.relu(self.edge(x) + x[:, :, ::2, ::2].mul(0.0))
        return self.fc(self.c(x).mean(dim=(2, 3)))


class FocusNet(nn.Module):
    """YOLOv5's Focus stem: the four strided windows x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2],
    x[..., 1::2, 1::2] concatenated (space to depth), then conv-BN-ReLU; a CIFAR ResNet option-A shortcut
    (F.pad(x[:, :, ::2, ::2]) with zero channels either side) beside a strided conv-BN; nn.ReLUs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(12, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16))
        self.relu = nn.ReLU()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)
        x = self.stem(x)
        x = self.relu(self.down(x) + F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 4, 4)))
        return self.fc(x.mean(dim=(2, 3)))


class EcaNet(nn.Module):
    """Efficient channel attention, written as its authors' code (nn.AdaptiveAvgPool2d, squeeze(-1).transpose(-1,
    -2), nn.Conv1d(1, 1, 3), transpose and unsqueeze back, nn.Sigmoid) and as timm's (mean over (2, 3) viewed as
    (b, 1, -1), nn.Conv1d(1, 1, 5), its sigmoid gate on that (b, 1, c) tensor, viewed as (b, -1, 1, 1)), each gating
    its map; nn.ReLUs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.eca1 = nn.Conv1d(1, 1, 3, padding=1, bias=False)
        self.gate = nn.Sigmoid()
        self.body = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.eca2 = nn.Conv1d(1, 1, 5, padding=2, bias=False)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        y = self.eca1(self.pool(x).squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        x = self.body(x * self.gate(y).expand_as(x))
        y = self.eca2(x.mean((2, 3)).view(x.shape[0], 1, -1))
        x = self.relu(x * self.gate(y).view(x.shape[0], -1, 1, 1).expand_as(x))
        return self.fc(x.mean(dim=(2, 3)))


class BamSimAmNet(nn.Module):
    """Attention by broadcasting: SimAM (parameter-free: (x - mean)^2 over its plane's sum, a Pow, a ReduceSum, a Div
    by a broadcast tensor, an nn.Sigmoid) and BAM (a Linear-BatchNorm1d-ReLU-Linear channel gate unsqueezed and
    expanded, a one-channel spatial gate of 1x1 and dilated 3x3 convs expanded, 1 + sigmoid of their product); nn.ReLUs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.sim = nn.Sigmoid()
        self.gate_c = nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 8))
        self.gate_s = nn.Sequential(nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4), nn.ReLU(),
                                    nn.Conv2d(4, 4, 3, padding=2, dilation=2), nn.BatchNorm2d(4), nn.ReLU(),
                                    nn.Conv2d(4, 1, 1))
        self.body = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        d = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
        x = x * self.sim(d / (4 * (d.sum(dim=[2, 3], keepdim=True) / (x.shape[2] * x.shape[3] - 1) + 1e-4)) + 0.5)
        ca = self.gate_c(x.mean(dim=(2, 3))).unsqueeze(2).unsqueeze(3).expand_as(x)
        x = self.body((1 + torch.sigmoid(ca * self.gate_s(x).expand_as(x))) * x)
        return self.fc(x.mean(dim=(2, 3)))


class StatsBnNet(nn.Module):
    """NB201 search-cell convolutions: ReLU, a biased conv, BatchNorm2d(affine=False, track_running_stats=False),
    which torch.onnx writes with its batch statistics computed in the graph (a fixed batch only: the export needs
    the batch size), beside tracked BNs; the official SWAP code records the nn.ReLU outputs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8, affine=False, track_running_stats=False))
        self.b = nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8, affine=False, track_running_stats=False))
        self.last = nn.Sequential(nn.BatchNorm2d(8), nn.ReLU())
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b(self.a(x))
        return self.fc(self.last(x).mean(dim=(2, 3)))


class ShuffleNet(nn.Module):
    """ShuffleNetV2 units (torchvision's channel_shuffle: view, transpose(1, 2), view; x.chunk(2, 1)), a stride-1
    unit then a stride-2 one, each ending in a channel shuffle that the next unit's ReLUs see."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(4, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False), nn.BatchNorm2d(4),
                                nn.Conv2d(4, 4, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.l = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False), nn.BatchNorm2d(8),
                               nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.r = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                               nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False), nn.BatchNorm2d(8),
                               nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.last = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, 10)

    @staticmethod
    def shuffle(x, groups):
        n, c, h, w = x.size()
        return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)

    def forward(self, x):
        x = self.stem(x)
        x1, x2 = x.chunk(2, dim=1)
        x = self.shuffle(torch.cat((x1, self.b2(x2)), 1), 2)
        x = self.shuffle(torch.cat((self.l(x), self.r(x)), 1), 2)
        return self.fc(self.last(x).mean(dim=(2, 3)))


# --------------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------------

ARCH_A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
ARCH_B = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|none~2|"


def export(model, name, opset, train=True, dynamic=False, batch=16, flat=False):
    path = os.path.join(OUT, name + ".onnx")
    x = cifar_batch(batch)
    x = x.flatten(1) if flat else x
    kwargs = dict(
        export_params=True,
        opset_version=opset,
        do_constant_folding=False,
        training=torch.onnx.TrainingMode.TRAINING if train else torch.onnx.TrainingMode.EVAL,
        input_names=["input"],
        output_names=["logits"],
    )
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "N"}, "logits": {0: "N"}}
    # Exporting runs the model, which in train mode updates the BN running statistics; they are not used in
    # train mode, and are kept as they are (non-trivial values) in the file.
    model.train(train)
    torch.onnx.export(model, x, path, **kwargs)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    entries = {}

    def add(name, model, opset, batches, train=True, dynamic=False, seed=0, note="", flat=False):
        path = export(model, name, opset, train=train, dynamic=dynamic, batch=batches[0], flat=flat)
        e = {
            "file": os.path.basename(path),
            "opset": opset,
            "exported_training_mode": train,
            "dynamic_batch": dynamic,
            "torch": torch.__version__,
            "weights": "torch.manual_seed(%d) then official Gaussian init" % seed,
            "inputs": "first S CIFAR-10 test images (data/cifar10_test_first20.bin), CIFAR-10 mean/std",
            "note": note,
            "expected": {},
        }
        for s in batches:
            x = cifar_batch(s).flatten(1) if flat else cifar_batch(s)
            e["expected"][str(s)] = official_swap(model, x, train=True)
            if not train:
                e["expected_eval_bn"] = {str(s): official_swap(model, x, train=False)}
        entries[name] = e
        print("%-22s %7d bytes  %s" % (name, os.path.getsize(path), json.dumps(e["expected"])))

    torch.manual_seed(0)
    m = TinyNetwork(ARCH_A, C=4, N=1)
    gaussian_init(m)
    add("nb201_a_opset17", m, 17, [16], note="NB201 C=4 N=1 " + ARCH_A + "; fixed batch 16")

    torch.manual_seed(1)
    m = TinyNetwork(ARCH_B, C=4, N=1)
    gaussian_init(m)
    add("nb201_b_opset13", m, 13, [16, 12], dynamic=True, seed=1, note="NB201 C=4 N=1 " + ARCH_B + "; opset 13 (5-output BN), dynamic batch")

    torch.manual_seed(2)
    m = TinyNetwork(ARCH_A, C=4, N=1)
    gaussian_init(m)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_(0, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    add("nb201_a_eval", m, 17, [16], train=False, dynamic=True, seed=2,
        note="NB201 C=4 N=1 exported in eval mode with random running statistics. PyTorch's eval-mode export folds "
             "every Conv+BN pair into the Conv (even without constant folding); only the final BN stays, with "
             "training_mode=0. expected_eval_bn is the official count with the model in eval mode: what the file "
             "computes. expected (train mode) cannot be recovered from the file.")

    # Models with Gaussian weights: (name, class, opset, seed, note); each draws from its own seed.
    models = [
        ("headnet", HeadNet, 17, 3,
         "one nn.ReLU applied twice to the same tensor; ReLU on a 2-D tensor in the head (ignored); concat, maxpool, conv bias, mean"),
        ("senet", SeNet, 17, 4, "squeeze-excitation: Sigmoid, Mul by the (N, C, 1, 1) gate, a recorded ReLU on (N, C, 1, 1)"),
        ("norelu", NoReluNet, 17, 5, "no ReLU at all"),
        ("mlp2d", MlpNet, 17, 6, "only a ReLU on a 2-D tensor"),
        ("padnet", PadNet, 13, 7,
         "nn.ZeroPad2d, F.pad, AvgPool2d(5, padding=1, count_include_pad=True): pad lists computed from constants"),
        ("chunknet", ChunkNet, 13, 8, "x.chunk(2, 1): Slice bounds computed from the channel count"),
        ("flathead", FlatHeadNet, 13, 9,
         "a map flattened into Linear-ReLU-Dropout-Linear (no global pool); BatchNorm eps 1e-3"),
        ("relu6net", Relu6Net, 13, 10, "nn.ReLU6 (Clip(0, 6)) beside nn.ReLU: only the nn.ReLU outputs are recorded"),
        ("leakynet", LeakyNet, 13, 11,
         "nn.LeakyReLU(0.1), (0.2) beside nn.ReLU: only the nn.ReLU outputs are recorded"),
        ("ceilnet", CeilNet, 13, 12,
         "ceil-mode max and average pools (one counting its padding) that add a last, partial window"),
        ("shufflenet", ShuffleNet, 13, 13, "ShuffleNetV2 units: x.chunk(2, 1), concat, channel_shuffle (view, transpose, view)"),
        ("gatenet", GateNet, 13, 14, "Hardswish, SiLU and a Hardsigmoid squeeze-and-excitation beside nn.ReLUs"),
        ("stridezero", StrideZeroNet, 13, 17, "DARTS's none on a reduction edge: x[:, :, ::2, ::2].mul(0.) (a Slice with step 2 times 0)"),
        ("focusnet", FocusNet, 13, 26,
         "YOLOv5's Focus (four strided windows concatenated) and an option-A shortcut (F.pad of x[:, :, ::2, ::2] over the channels)"),
        ("ecanet", EcaNet, 13, 27,
         "ECA as its authors write it (squeeze, transpose, nn.Conv1d, transpose, unsqueeze) and as timm does (view as (b, 1, -1), nn.Conv1d, view back); dynamic batch"),
        ("bamsimam", BamSimAmNet, 13, 28,
         "SimAM (Pow, ReduceSum, a Div by a broadcast tensor) and BAM (a channel gate unsqueezed and expanded, a one-channel spatial gate expanded, 1 + sigmoid of their product); dynamic batch"),
        ("rectnet", RectNet, 13, 18,
         "rectangular convolutions: 1x7, 7x1, (3, 5) of stride (2, 1), depthwise (1, 5) of stride (1, 2), (3, 1), (1, 3) padded along the height"),
        ("samepadnet", SamePadNet, 13, 19,
         "TensorFlow's SAME padding (timm's Conv2dSame): F.pad (0, 1, 0, 1) before strided convs, (1, 2, 0, 1) before a (2, 4)"),
        ("prelunet", PReluNet, 13, 20, "nn.PReLU() and nn.PReLU(8) beside nn.ReLUs: only the nn.ReLU outputs are recorded"),
        ("actnet", ActNet, 13, 15,
         "nn.GELU, nn.Tanh, nn.ELU(0.5), nn.SELU, nn.Softplus, nn.Mish, nn.GELU(approximate='tanh') beside nn.ReLUs: only the nn.ReLU outputs are recorded"),
        ("normnet", NormNet, 13, 22, "nn.GroupNorm and nn.LayerNorm (opset 13 decompositions)"),
        ("layernorm", LayerNormNet, 13, 23, "nn.LayerNorm on the pooled features (opset 13: ReduceMean, Sub, Pow, ...)"),
        ("gnplain", PlainGroupNormNet, 13, 25, "nn.GroupNorm(2, 8, affine=False): Mul / Add by constants 1 and 0"),
        ("instnorm17", InstNormNet, 17, 24,
         "nn.InstanceNorm2d(affine=True) and nn.LayerNorm at opset 17 (InstanceNormalization, LayerNormalization)"),
    ]
    for name, cls, opset, seed, note in models:
        torch.manual_seed(seed)
        m = cls()
        gaussian_init(m)
        add(name, m, opset, [16], dynamic=True, seed=seed, note=note)

    # torch.onnx needs a fixed batch to write a BN without running statistics
    torch.manual_seed(16)
    m = StatsBnNet()
    gaussian_init(m)
    add("statsbn", m, 13, [16], dynamic=False, seed=16,
        note="BatchNorm2d(affine=False, track_running_stats=False) (NB201 search cells): batch statistics computed in the graph; fixed batch 16")

    torch.manual_seed(21)
    m = FlatInputNet()
    gaussian_init(m)
    add("flatinput", m, 13, [16], dynamic=True, seed=21, flat=True,
        note="flat (N, 3072) input viewed as 3x32x32 images (the CIFAR batch flattened); dynamic batch")

    torch.manual_seed(22)
    m = FlatInputNet(size=True)
    gaussian_init(m)
    add("flatsize", m, 13, [16], dynamic=True, seed=22, flat=True,
        note="flat (N, 3072) input viewed as x.view(x.size(0), 3, 32, 32): Shape / Gather / Unsqueeze / Concat; dynamic batch")

    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(entries, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    if sys.argv[1:] == ["grad"]:
        from make_grad_fixtures import main as grad_main

        sys.exit(grad_main())
    sys.exit(main())
