#!/usr/bin/python3
"""Expected values of the zero-cost proxies, computed by their OFFICIAL implementations, for test/proxies-*.test.ts.

Run with Debian's python3-torch (torch 1.13) and the official repositories checked out somewhere (any commit; the
ones used are recorded in expected.json):

    /usr/bin/python3 scripts/make_proxy_fixtures.py \\
        --zc /tmp/official/zero-cost-nas --naslib /tmp/official/NASLib --zico /tmp/official/ZiCo \\
        --meco /tmp/official/MeCo --aznas /tmp/official/AZ-NAS --vkdnw /tmp/official/VKDNW --zennas /tmp/official/ZenNAS

Nothing from those repositories is copied here: their measure modules are imported from the given paths and called
on small PyTorch networks defined below. Each network is exported to ONNX with its weights (BatchNormalization in
training mode, no constant folding) next to the inputs/labels the official code saw, so swapnas can score the very
same weights and data and must reproduce the numbers in expected.json.

Stubs (only what cannot be avoided, none of them touches a computation):
- `torch.nn.Module.cuda` / `torch.Tensor.cuda` return their receiver: ZiCo, AZ-NAS and VKDNW call `.cuda()`
  unconditionally and this machine has no GPU. For ZiCo the network's zero_grad frees gradients (see run_zico).
- Imports the measure code never uses at the lines we call: `tensorwatch` (NASLib's model_stats), the NASLib
  package `__init__`s (they import every predictor), ZiCo/ZenNAS `global_utils`/`ModelLoader` (CLI helpers),
  MeCo's NB201 script imports (`foresight.dataset` needs torchvision, which is not installed; `models`, NB201 API),
  VKDNW's `scipy.stats.chisquare` (unused) and `torch.func` (torch >= 2.0 name): mapped to torch 1.13's
  `torch.nn.utils.stateless.functional_call` (given the merged dict where torch 2 merges a (params, buffers)
  tuple itself) and functorch's `jacrev`/`vmap`, the same functions under their old names.

Random draws inside the official functions (re-initialisation, Gaussian inputs, Rademacher cotangents) come from
torch's global RNG. The generator seeds it, calls the official function, then re-seeds and replays the same draws in
the same order with the official init functions to recover the exact tensors the official code used; those tensors
(weights in the ONNX file, inputs, cotangents as .npy) are what the swapnas tests feed in.
"""

import argparse
import copy
import functools
import importlib.util
import json
import os
import struct
import subprocess
import sys
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
# the Python client's export steps (one writer of each): the parameter list, the pass-through calls' nodes
from swapnas.torch_export import show_pass_through_calls, with_parameter_list  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "proxies")
CIFAR = os.path.join(REPO, "data", "cifar10_test_first20.bin")
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.247, 0.2435, 0.2616)


# --------------------------------------------------------------------------------------------------------------
# Networks: leaf modules registered in execution order directly on the root (so named_parameters() order is graph
# order and every hooked module is a leaf); additions and concatenations are functional, as in most PyTorch code.
# --------------------------------------------------------------------------------------------------------------


class PooledHead:
    """What the official code reads of a network with a global pool before its Linear `fc`, from its `features(x)`
    (block outputs, map before the pool): `forward_pre_GAP` (Zen), `extract_cell_features` (AZ-NAS), `forward`."""

    def forward_pre_GAP(self, x):
        return self.features(x)[1]

    forward_before_global_avg_pool = forward_pre_GAP

    def extract_cell_features(self, x):
        return self.features(x)[0]

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.forward_pre_GAP(x)), 1))


class ResNetish(PooledHead, nn.Module):
    """Conv-BN-ReLU stem, a residual block, a strided reduction with an avg-pool+1x1 shortcut, BN-ReLU-GAP-Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.stem_relu = nn.ReLU()
        self.a_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.a_bn = nn.BatchNorm2d(c)
        self.a_relu = nn.ReLU()
        self.b_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b_bn = nn.BatchNorm2d(c)
        self.res_relu = nn.ReLU()
        self.r_conv = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.r_bn = nn.BatchNorm2d(2 * c)
        self.r_relu = nn.ReLU()
        self.r_pool = nn.AvgPool2d(2, 2)
        self.r_short = nn.Conv2d(c, 2 * c, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(2 * c)
        self.head_relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        """Block outputs (AZ-NAS `extract_cell_features`) and the map before global pooling (Zen)."""
        f0 = self.stem_relu(self.stem_bn(self.stem(x)))
        f1 = self.res_relu(f0 + self.b_bn(self.b_conv(self.a_relu(self.a_bn(self.a_conv(f0))))))
        f2 = self.r_bn(self.r_conv(self.r_relu(f1))) + self.r_short(self.r_pool(f1))
        pre = self.head_relu(self.head_bn(f2))
        return [f0, f1, f2], pre


class Branchy(PooledHead, nn.Module):
    """Conv with bias + non-affine BN, a max-pool branch concatenated with a dilated depthwise/pointwise branch,
    an avg-pool without padded counts, a biased 1x1 conv, GAP and Linear."""

    def __init__(self, classes=5, c=6, affine=False):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=True)
        self.stem_bn = nn.BatchNorm2d(c, affine=affine)
        self.stem_relu = nn.ReLU()
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.dw = nn.Conv2d(c, c, 3, padding=2, dilation=2, groups=c, bias=False)
        self.pw = nn.Conv2d(c, c, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(c)
        self.cat_relu = nn.ReLU()
        self.avg = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.mix = nn.Conv2d(2 * c, 10, 1, bias=True)
        self.mix_bn = nn.BatchNorm2d(10)
        self.mix_relu = nn.ReLU()
        self.down = nn.Conv2d(10, 12, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(12)
        self.down_relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, classes)

    def features(self, x):
        f0 = self.stem_relu(self.stem_bn(self.stem(x)))
        f1 = self.cat_relu(torch.cat([self.pool(f0), self.pw_bn(self.pw(self.dw(f0)))], 1))
        f2 = self.mix_relu(self.mix_bn(self.mix(self.avg(f1))))
        f3 = self.down_relu(self.down_bn(self.down(f2)))
        return [f0, f1, f2, f3], f3


class LeNetBN(nn.Module):
    """A LeNet / VGG-style classifier: conv-BN(eps 1e-3)-ReLU-maxpool stages, the map flattened into
    Linear-ReLU-Dropout-Linear (no global pool, so no forward_pre_GAP: zen does not apply). No conv bias before a
    BN: its gradient is zero but for float32 residue, which ZiCo divides by its spread (the official float32 value
    then differs from float64 by 6e-4 on this network; docs/zero-cost-proxies.md)."""

    def __init__(self, classes=10):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 5, padding=2, bias=False)
        self.b1 = nn.BatchNorm2d(6, eps=1e-3)
        self.r1 = nn.ReLU()
        self.p1 = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(6, 12, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(12, eps=1e-3)
        self.r2 = nn.ReLU()
        self.p2 = nn.MaxPool2d(2)
        self.f1 = nn.Linear(12 * 8 * 8, 32)
        self.r3 = nn.ReLU()
        self.drop = nn.Dropout(0.0)
        self.fc = nn.Linear(32, classes)

    def features(self, x):
        f0 = self.p1(self.r1(self.b1(self.c1(x))))
        f1 = self.p2(self.r2(self.b2(self.c2(f0))))
        return [f0, f1], f1

    def extract_cell_features(self, x):
        return self.features(x)[0]

    def head(self, pre):
        return self.fc(self.drop(self.r3(self.f1(pre.view(pre.size(0), -1)))))

    def forward(self, x):
        return self.head(self.features(x)[1])


class InvertedResiduals(PooledHead, nn.Module):
    """MobileNet-style: a conv-BN-activation stem, inverted residual blocks (1x1 expand-BN-act, 3x3 depthwise-BN-act,
    an optional squeeze-and-excitation module, 1x1 project-BN; the first with its identity shortcut), a 1x1
    conv-BN-act, GAP and Linear. Leaf modules on the root (MeCo hooks every module, a block container's output too,
    which an ONNX file cannot show) but for the SE blocks; activation modules are named `<layer>_<act>`."""

    def __init__(self, classes, c, act, blocks, last_act, name):
        super().__init__()
        self.act = name
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        setattr(self, f"stem_{name}", act())
        for k, (e, stride, block_act, gate) in enumerate(blocks):
            setattr(self, f"pw{k}", nn.Conv2d(c, e, 1, bias=False))
            setattr(self, f"pw{k}_bn", nn.BatchNorm2d(e))
            setattr(self, f"pw{k}_{name}", block_act())
            setattr(self, f"dw{k}", nn.Conv2d(e, e, 3, stride=stride, padding=1, groups=e, bias=False))
            setattr(self, f"dw{k}_bn", nn.BatchNorm2d(e))
            setattr(self, f"dw{k}_{name}", block_act())
            if gate:
                setattr(self, f"se{k}", SqueezeExcite(e, e // 4, gate()))
            setattr(self, f"pj{k}", nn.Conv2d(e, c, 1, bias=False))
            setattr(self, f"pj{k}_bn", nn.BatchNorm2d(c))
        self.last = nn.Conv2d(c, 4 * c, 1, bias=False)
        self.last_bn = nn.BatchNorm2d(4 * c)
        setattr(self, f"last_{name}", last_act())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * c, classes)

    def unit(self, layer, x):
        return getattr(self, f"{layer}_{self.act}")(getattr(self, f"{layer}_bn")(getattr(self, layer)(x)))

    def block(self, k, x):
        y = self.unit(f"dw{k}", self.unit(f"pw{k}", x))
        se = getattr(self, f"se{k}", None)
        return getattr(self, f"pj{k}_bn")(getattr(self, f"pj{k}")(se(y) if se else y))

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.block(0, f0)
        f2 = self.block(1, f1)
        return [f0, f1, f2], self.unit("last", f2)


class MobileV2ish(InvertedResiduals):
    """MobileNetV2-style: ReLU6 everywhere (exported as Clip(0, 6)), no squeeze-and-excitation, the second block
    strided."""

    def __init__(self, classes=10, c=8):
        blocks = [(3 * c, 1, nn.ReLU6, None), (2 * c, 2, nn.ReLU6, None)]
        super().__init__(classes, c, nn.ReLU6, blocks, nn.ReLU6, "relu")


class MlpHead(PooledHead, nn.Module):
    """A pooled network with an MLP head: conv-BN-ReLU stem, a strided conv-BN-ReLU, GAP, then
    Linear-BatchNorm1d(eps 1e-3, trained-looking γ, β)-ReLU-Linear on the flat features (BatchNorm1d normalises each
    feature over the batch; zen's BN-variance term and the official inits read BatchNorm2d only)."""

    def __init__(self, classes=10, c=8, hidden=24):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.stem_relu = nn.ReLU()
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(2 * c)
        self.down_relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.f1 = nn.Linear(2 * c, hidden)
        self.f1_bn = nn.BatchNorm1d(hidden, eps=1e-3)
        self.f1_relu = nn.ReLU()
        self.fc = nn.Linear(hidden, classes)
        with torch.no_grad():
            self.f1_bn.weight.uniform_(0.5, 1.5)
            self.f1_bn.bias.uniform_(-0.2, 0.2)

    def features(self, x):
        f0 = self.stem_relu(self.stem_bn(self.stem(x)))
        f1 = self.down_relu(self.down_bn(self.down(f0)))
        return [f0, f1], f1

    def head(self, pre):
        return self.fc(self.f1_relu(self.f1_bn(self.f1(torch.flatten(self.gap(pre), 1)))))

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


class LeakyNet(PooledHead, nn.Module):
    """A Darknet-style network: conv-BN-LeakyReLU(0.1) stem, a max-pool, a residual block (1x1 then 3x3
    conv-BN-LeakyReLU, the second at slope 0.2) with its identity shortcut, a strided conv-BN-ReLU (a plain
    nn.ReLU beside the leaky ones), GAP and Linear. NASLib's nwot hooks nn.LeakyReLU (its type name holds "ReLU"),
    MeCo hooks every module, SWAP only nn.ReLU."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.stem_act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)
        self.a = nn.Conv2d(c, c // 2, 1, bias=False)
        self.a_bn = nn.BatchNorm2d(c // 2)
        self.a_act = nn.LeakyReLU(0.1)
        self.b = nn.Conv2d(c // 2, c, 3, padding=1, bias=False)
        self.b_bn = nn.BatchNorm2d(c)
        self.b_act = nn.LeakyReLU(0.2)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(2 * c)
        self.down_relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.pool(self.stem_act(self.stem_bn(self.stem(x))))
        f1 = f0 + self.b_act(self.b_bn(self.b(self.a_act(self.a_bn(self.a(f0))))))
        f2 = self.down_relu(self.down_bn(self.down(f1)))
        return [f0, f1, f2], f2


class CeilPools(PooledHead, nn.Module):
    """GoogLeNet / SqueezeNet-style ceil-mode pools that add a last, partial window: conv-BN-ReLU stem,
    MaxPool2d(3, 2, ceil_mode=True), an inception-style block (1x1 | 1x1-3x3 | MaxPool2d(3, 1, 1, ceil_mode=True)-1x1,
    concatenated), AvgPool2d(3, 2, padding=1, ceil_mode=True) (its last windows overhang the padding: PyTorch divides
    them by their extent within the padded input), conv-BN-ReLU, AvgPool2d(2, 2, ceil_mode=True,
    count_include_pad=False), GAP and Linear. On synflow_bn's one all-ones sample the max-pool after the stem gives
    a constant map (the BN'd interior is the largest value of every window), which the next BN sends to 0: the
    official synflow_bn is float64 noise (4e-7, against synflow's 2e3), and so is swapnas's."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.stem_relu = nn.ReLU()
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        for name, cin, cout, k in (("b1", c, 4, 1), ("b2a", c, 4, 1), ("b2b", 4, 6, 3), ("b3", c, 4, 1)):
            setattr(self, name, nn.Conv2d(cin, cout, k, padding=k // 2, bias=False))
            setattr(self, f"{name}_bn", nn.BatchNorm2d(cout))
            setattr(self, f"{name}_relu", nn.ReLU())
        self.b3_pool = nn.MaxPool2d(3, 1, 1, ceil_mode=True)
        self.pool2 = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True)
        self.mix = nn.Conv2d(14, 16, 3, padding=1, bias=False)
        self.mix_bn = nn.BatchNorm2d(16)
        self.mix_relu = nn.ReLU()
        self.pool3 = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def unit(self, name, x):
        return getattr(self, f"{name}_relu")(getattr(self, f"{name}_bn")(getattr(self, name)(x)))

    def features(self, x):
        f0 = self.pool1(self.stem_relu(self.stem_bn(self.stem(x))))
        f1 = torch.cat([self.unit("b1", f0), self.unit("b2b", self.unit("b2a", f0)), self.unit("b3", self.b3_pool(f0))], 1)
        pre = self.pool3(self.unit("mix", self.pool2(f1)))
        # AZ-NAS's block features: the later maps (5x5, 3x3 from 8x8) are no integer downsampling, where the
        # official pixel_unshuffle fails
        return [f0, f1], pre


def channel_shuffle(x, groups):
    """torchvision's ShuffleNetV2 channel_shuffle: view (N, g, C/g, H, W), transpose(1, 2), view back."""
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


class ShuffleV2(PooledHead, nn.Module):
    """ShuffleNetV2 units as torchvision writes them, leaf modules on the root: a conv-BN-ReLU stem, a stride-1
    unit (x.chunk(2, 1), the second half through 1x1-BN-ReLU, depthwise 3x3-BN, 1x1-BN-ReLU, concatenated with the
    first, channel_shuffle in 2 groups), a stride-2 unit (both branches on the whole input), conv-BN-ReLU, GAP and
    Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.stem_relu = nn.ReLU()
        h = c // 2
        for name, cin, cout, k, stride, groups, relu in (
            ("a1", h, h, 1, 1, 1, True), ("a2", h, h, 3, 1, h, False), ("a3", h, h, 1, 1, 1, True),
            ("l1", c, c, 3, 2, c, False), ("l2", c, c, 1, 1, 1, True),
            ("r1", c, c, 1, 1, 1, True), ("r2", c, c, 3, 2, c, False), ("r3", c, c, 1, 1, 1, True),
            ("last", 2 * c, 4 * c, 1, 1, 1, True),
        ):
            setattr(self, name, nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False))
            setattr(self, f"{name}_bn", nn.BatchNorm2d(cout))
            if relu:
                setattr(self, f"{name}_relu", nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * c, classes)

    def unit(self, name, x):
        y = getattr(self, f"{name}_bn")(getattr(self, name)(x))
        return getattr(self, f"{name}_relu")(y) if hasattr(self, f"{name}_relu") else y

    def features(self, x):
        f0 = self.stem_relu(self.stem_bn(self.stem(x)))
        x1, x2 = f0.chunk(2, dim=1)
        f1 = channel_shuffle(torch.cat((x1, self.unit("a3", self.unit("a2", self.unit("a1", x2)))), 1), 2)
        left = self.unit("l2", self.unit("l1", f1))
        right = self.unit("r3", self.unit("r2", self.unit("r1", f1)))
        f2 = channel_shuffle(torch.cat((left, right), 1), 2)
        return [f0, f1, f2], self.unit("last", f2)


class SqueezeExcite(nn.Module):
    """torchvision's SqueezeExcitation: GAP (a module), 1x1 conv, ReLU, 1x1 conv, gate (nn.Sigmoid or
    nn.Hardsigmoid), returning scale * x (MeCo hooks this module's output, the product)."""

    def __init__(self, c, squeeze, gate):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.gate = gate

    def forward(self, x):
        return self.gate(self.fc2(self.relu(self.fc1(self.avgpool(x))))) * x


class MobileV3ish(InvertedResiduals):
    """MobileNetV3 / EfficientNet-style gates: a Hardswish stem; a block with Hardswish and a squeeze-and-excitation
    gated by nn.Hardsigmoid; a strided one with SiLU and a sigmoid squeeze-and-excitation; a 1x1 conv-BN-SiLU."""

    def __init__(self, classes=10, c=8):
        blocks = [(3 * c, 1, nn.Hardswish, nn.Hardsigmoid), (2 * c, 2, nn.SiLU, nn.Sigmoid)]
        super().__init__(classes, c, nn.Hardswish, blocks, nn.SiLU, "act")


class Units(PooledHead):
    """A network of named conv -> BN -> activation units (modules `name`, `name_bn`, `name_act`), GAP and Linear."""

    def unit(self, name, x):
        return getattr(self, name + "_act")(getattr(self, name + "_bn")(getattr(self, name)(x)))

    def same_unit(self, name, cin, cout, k, act, stride=1):
        """A unit of a k x k conv (padding k // 2, no bias), BN and `act`."""
        setattr(self, name, nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False))
        setattr(self, name + "_bn", nn.BatchNorm2d(cout))
        setattr(self, name + "_act", act)

    def encoder(self, c):
        """Conv-BN-ReLU units `stem` (3 -> c), `down` (c -> 2c, stride 2) and `deep` (2c -> 2c, stride 2)."""
        self.same_unit("stem", 3, c, 3, nn.ReLU())
        self.same_unit("down", c, 2 * c, 3, nn.ReLU(), 2)
        self.same_unit("deep", 2 * c, 2 * c, 3, nn.ReLU(), 2)

    def encode(self, x):
        """The maps of `encoder`'s three units."""
        f0 = self.unit("stem", x)
        f1 = self.unit("down", f0)
        return f0, f1, self.unit("deep", f1)

    def pooled_head(self, c, classes):
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)


class ActsNet(Units, nn.Module):
    """Smooth activation modules: a conv-BN-GELU stem; a residual block of conv-BN-Tanh and conv-BN-ELU(0.5); a
    strided conv-BN-Mish; a 1x1 conv-BN-Softplus; a conv-BN-SELU; a 1x1 conv-BN-GELU(approximate='tanh'); a
    conv-BN-ReLU (an nn.ReLU for SWAP and nwot);
    GAP and Linear. MeCo hooks every module; NASLib's nwot and SWAP only the nn.ReLU."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbn = self.same_unit
        cbn("stem", 3, c, 3, nn.GELU())
        cbn("a", c, c, 3, nn.Tanh())
        cbn("b", c, c, 3, nn.ELU(0.5))
        cbn("down", c, 2 * c, 3, nn.Mish(), 2)
        cbn("p", 2 * c, 2 * c, 1, nn.Softplus())
        cbn("q", 2 * c, 2 * c, 3, nn.SELU())
        cbn("t", 2 * c, 2 * c, 1, nn.GELU(approximate="tanh"))
        cbn("r", 2 * c, 2 * c, 3, nn.ReLU())
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("b", self.unit("a", f0))
        f2 = self.unit("r", self.unit("t", self.unit("q", self.unit("p", self.unit("down", f1)))))
        return [f0, f1, f2], f2


class RectConvs(Units, nn.Module):
    """Rectangular windows: a conv-BN-ReLU stem; an Inception-style block of a 1x1 branch, a 1x7 -> 7x1 branch and a
    3x1 (dilated along the height) -> 1x3 branch, concatenated, plus a residual; a (3, 5) conv of stride (2, 1); a
    depthwise (1, 5) conv of stride (1, 2) with bias; a grouped (3, 1) conv with bias; a (1, 3) conv padded only
    along the height (output 10x6, after AZ-NAS's last block feature); GAP and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        def cbr(name, cin, cout, k, bias=False, **kw):
            setattr(self, name, nn.Conv2d(cin, cout, k, bias=bias, **kw))
            setattr(self, name + "_bn", nn.BatchNorm2d(cout))
            setattr(self, name + "_act", nn.ReLU())
        cbr("stem", 3, c, 3, padding=1)
        cbr("b1", c, c, 1)
        cbr("b2a", c, c, (1, 7), padding=(0, 3))
        cbr("b2b", c, c, (7, 1), padding=(3, 0))
        cbr("b3a", c, c, (3, 1), padding=(2, 0), dilation=(2, 1))
        cbr("b3b", c, c, (1, 3), padding=(0, 1))
        cbr("mix", 3 * c, c, 1)
        cbr("down", c, 2 * c, (3, 5), stride=(2, 1), padding=(1, 2))
        cbr("dw", 2 * c, 2 * c, (1, 5), bias=True, stride=(1, 2), padding=(0, 2), groups=2 * c)
        cbr("grp", 2 * c, 2 * c, (3, 1), bias=True, padding=(1, 0), groups=2)
        cbr("tall", 2 * c, 2 * c, (1, 3), padding=(1, 0))
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        cat = torch.cat([self.unit("b1", f0), self.unit("b2b", self.unit("b2a", f0)), self.unit("b3b", self.unit("b3a", f0))], 1)
        f1 = f0 + self.unit("mix", cat)
        f2 = self.unit("grp", self.unit("dw", self.unit("down", f1)))
        return [f0, f1, f2], self.unit("tall", f2)


class SamePad(Units, nn.Module):
    """TensorFlow's SAME padding as timm's Conv2dSame writes it, F.pad before a conv without padding: a strided 3x3
    stem padded (0, 1, 0, 1) (left, right, top, bottom: the extra pixel after the map); a (2, 4) conv padded
    (1, 2, 0, 1) (more before than after); a depthwise strided 3x3 padded (0, 1, 0, 1) with bias; a 1x1 conv; GAP
    and Linear. (Functional padding: MeCo hooks every module, an nn.ZeroPad2d's output too, which the ONNX file
    cannot tell from F.pad.)"""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.pads = {}
        def cbr(name, cin, cout, k, pads, bias=False, **kw):
            self.pads[name] = pads
            setattr(self, name, nn.Conv2d(cin, cout, k, bias=bias, **kw))
            setattr(self, name + "_bn", nn.BatchNorm2d(cout))
            setattr(self, name + "_act", nn.ReLU())
        cbr("stem", 3, c, 3, (0, 1, 0, 1), stride=2)
        cbr("wide", c, c, (2, 4), (1, 2, 0, 1))
        cbr("dw", c, c, 3, (0, 1, 0, 1), bias=True, stride=2, groups=c)
        cbr("pw", c, 2 * c, 1, (0, 0, 0, 0))
        self.pooled_head(2 * c, classes)

    def unit(self, name, x):
        return super().unit(name, F.pad(x, self.pads[name]))

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("wide", f0)
        f2 = self.unit("pw", self.unit("dw", f1))
        return [f0, f1, f2], f2


class PReluNet(Units, nn.Module):
    """nn.PReLU as face-recognition backbones use it: a conv-BN-PReLU() stem (one learned slope), a residual
    conv-BN-PReLU(C) (one per channel), a strided conv-BN-ReLU (an nn.ReLU for SWAP), a 1x1 conv-BN-PReLU(2C); GAP
    and Linear. The slopes hold PyTorch's 0.25; no official proxy differentiates them (Conv2d / Linear weights only),
    params counts them, nwot hooks them ("ReLU" is in the type name), SWAP does not."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.PReLU())
        cbr("a", c, c, 3, nn.PReLU(c))
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        cbr("b", 2 * c, 2 * c, 1, nn.PReLU(2 * c))
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("a", f0)
        f2 = self.unit("b", self.unit("down", f1))
        return [f0, f1, f2], f2


class PReluTrained(PReluNet):
    """PReluNet with trained-looking slopes (face-recognition backbones with their own weights): the stem's one slope
    negative, the residual PReLU(C)'s slopes of both signs and an exact 0, the 1x1 PReLU(2C)'s uniform in [-0.5, 1);
    then GAP, Linear-PReLU(hidden) on the flat features, Linear. NASLib's nwot hooks each PReLU and reads its input's
    signs (which a negative slope turns); synflow's |state_dict| takes |slope|; no official proxy differentiates the
    slopes."""

    def __init__(self, classes=10, c=8, hidden=12):
        super().__init__(classes, c)
        self.h = nn.Linear(2 * c, hidden)
        self.h_act = nn.PReLU(hidden)
        self.fc = nn.Linear(hidden, classes)
        with torch.no_grad():
            self.stem_act.weight.fill_(-0.2)
            self.a_act.weight.copy_(torch.linspace(-0.6, 0.8, c))
            self.a_act.weight[c // 2] = 0.0
            self.b_act.weight.uniform_(-0.5, 1.0)
            self.h_act.weight.uniform_(-1.0, 1.0)

    def head(self, pre):
        return self.fc(self.h_act(self.h(torch.flatten(self.gap(pre), 1))))

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


class PReluChannels(PReluTrained):
    """PReluTrained with one slope per channel everywhere (MobileFaceNet's and IR-SE's nn.PReLU(C)), where the
    official VKDNW runs (a one-slope nn.PReLU() makes it raise): the stem's slopes of both signs and an exact 0, the
    residual PReLU(C) left at PyTorch's 0.25 (the leaky relu with learned slopes), a second 3x3 conv-BN after the
    1x1 unit whose activation calls the 1x1 unit's PReLU(2C) again (one parameter, two calls), then the flat
    PReLU(hidden) head. VKDNW's Jacobian columns include each slope tensor's first value."""

    def __init__(self, classes=10, c=8, hidden=12):
        super().__init__(classes, c, hidden)
        self.stem_act = nn.PReLU(c)  # replaces the one-slope PReLU() in its place of named_parameters()
        self.b2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=False)
        self.b2_bn = nn.BatchNorm2d(2 * c)
        with torch.no_grad():
            self.stem_act.weight.copy_(torch.linspace(-0.6, 0.8, c))
            self.stem_act.weight[c // 2] = 0.0
            self.a_act.weight.fill_(0.25)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("a", f0)
        f2 = self.unit("b", self.unit("down", f1))
        f3 = f2 + self.b_act(self.b2_bn(self.b2(f2)))
        return [f0, f1, f3], f3


class PReluPair(Units, nn.Module):
    """Two nn.PReLU(C) modules of equal slopes (PyTorch's initial 0.25, as every model holds them before training):
    a stem's, and a residual unit's, which a further conv-BN calls again; then a strided conv-BN-ReLU, GAP and Linear.
    The second call's slopes are the residual unit's tensor, not the stem's: VKDNW's Jacobian column of that tensor
    sums the two calls of its own module."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.PReLU(c))
        cbr("a", c, c, 3, nn.PReLU(c))
        self.b = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b_bn = nn.BatchNorm2d(c)
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("a", f0)
        f2 = self.unit("down", self.a_act(self.b_bn(self.b(f1))))
        return [f0, f1, f2], f2


class AvgPoolHead(Units, nn.Module):
    """The common CIFAR ResNet head (kuangliu's pytorch-cifar: `F.avg_pool2d(out, 4)`): a conv-BN-ReLU stem, a residual
    conv-BN-ReLU, a strided conv-BN-ReLU, then F.avg_pool2d with one window over the whole map (traced as an
    AveragePool of that kernel, not a global pool), flatten, Linear. Zen's forward_pre_GAP is the map before it."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("a", f0)
        f2 = self.unit("down", f1)
        return [f0, f1, f2], f2

    def head(self, pre):
        return self.fc(torch.flatten(F.avg_pool2d(pre, int(pre.shape[-1])), 1))

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


class ConcatPoolHead(Units, nn.Module):
    """fastai's vision head: a conv-BN-ReLU stem, a residual conv-BN-ReLU, a strided conv-BN-ReLU, then
    AdaptiveConcatPool2d (AdaptiveMaxPool2d(1) and AdaptiveAvgPool2d(1) of the map, concatenated), Flatten,
    BatchNorm1d, Dropout, Linear, ReLU, BatchNorm1d, Linear. The Dropout's p is 0 here (fastai's 0.25 drops random
    units in the official code's train mode, which no implementation can replay; swapnas imports it as identity).
    Zen's forward_pre_GAP is the map both pools read; MeCo's one image meets a train-mode BatchNorm1d, where the
    official code raises."""

    def __init__(self, classes=10, c=8, hidden=12):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        self.mp = nn.AdaptiveMaxPool2d(1)
        self.ap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(4 * c), nn.Dropout(0.0), nn.Linear(4 * c, hidden),
                                nn.ReLU(), nn.BatchNorm1d(hidden), nn.Linear(hidden, classes))

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("a", f0)
        f2 = self.unit("down", f1)
        return [f0, f1, f2], f2

    def head(self, pre):
        return self.fc(torch.cat([self.mp(pre), self.ap(pre)], 1))

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


class UpsampleNet(Units, nn.Module):
    """Nearest-neighbour upsampling (an FPN's top-down path, a U-Net's skip concat): a conv-BN-ReLU stem, two strided
    conv-BN-ReLU units; the deepest map through nn.Upsample(scale_factor=2) added to the middle one, that sum through
    F.interpolate(size=the stem's map) added to a biased 1x1 lateral conv of the stem, concatenated with the deepest
    map through F.interpolate(scale_factor=4), a conv-BN-ReLU; GAP and Linear. torch.onnx writes each as a Resize
    (mode nearest, 'asymmetric', 'floor'), with scales or with sizes computed from the stem's shape."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        self.encoder(c)
        self.lat = nn.Conv2d(c, 2 * c, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        cbr("fuse", 4 * c, 2 * c, 3, nn.ReLU())
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0, f1, f2 = self.encode(x)
        p1 = f1 + self.up(f2)
        p0 = self.lat(f0) + F.interpolate(p1, size=f0.shape[-2:], mode="nearest")
        f3 = self.unit("fuse", torch.cat([p0, F.interpolate(f2, scale_factor=4.0, mode="nearest")], 1))
        # AZ-NAS's progressivity unshuffles each block feature to the next one's smaller size: the encoder's
        return [f0, f1, f2], f3


class BilinearNet(UpsampleNet):
    """Bilinear resizes (DeepLab's and FCN's heads, FPN variants): UpsampleNet's modules with its nn.Upsample bilinear
    (scale_factor=2, align_corners=False), added to the middle map; that sum through F.interpolate(size=the stem's
    map, mode='bilinear', align_corners=False) added to the biased 1x1 lateral of the stem; the deepest map through
    F.interpolate(size=(13, 9), align_corners=True) (a ratio that is no integer, down one axis and up the other),
    resized back to the stem's size and concatenated; a conv-BN-ReLU; GAP and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__(classes, c)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def features(self, x):
        f0, f1, f2 = self.encode(x)
        p1 = f1 + self.up(f2)
        p0 = self.lat(f0) + F.interpolate(p1, size=f0.shape[-2:], mode="bilinear", align_corners=False)
        odd = F.interpolate(f2, size=(13, 9), mode="bilinear", align_corners=True)
        side = F.interpolate(odd, size=f0.shape[-2:], mode="bilinear", align_corners=False)
        f3 = self.unit("fuse", torch.cat([p0, side], 1))
        # AZ-NAS unshuffles each block feature to the next one's smaller size: the encoder's
        return [f0, f1, f2], f3


class DecoderNet(Units, nn.Module):
    """Transposed convolutions (nn.ConvTranspose2d: a U-Net's or an autoencoder's decoder, TransNAS-Bench-101's dense
    tasks): a conv-BN-ReLU stem and two strided conv-BN-ReLU units down to a quarter of the map; up by a biased 3x3
    of stride 2 with output_padding 1, BN, ReLU, added to the middle map; up by a grouped 4x4 of stride 2 and
    padding 1 without bias (DCGAN's), a LeakyReLU, added to the stem's map; a dilated 3x3 of stride 1 (padding 2);
    a rectangular (1, 3) with output padding along the width on a stride (1, 2), BN, ReLU; GAP and Linear. The
    official proxies' isinstance tests skip nn.ConvTranspose2d (it is no nn.Conv2d); Θ and VKDNW count it."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.encoder(c)
        self.up1 = nn.ConvTranspose2d(2 * c, 2 * c, 3, stride=2, padding=1, output_padding=1)
        self.bn1 = nn.BatchNorm2d(2 * c)
        self.up2 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, groups=2, bias=False)
        self.leaky = nn.LeakyReLU(0.2)
        self.dil = nn.ConvTranspose2d(c, c, 3, padding=2, dilation=2)
        self.wide = nn.ConvTranspose2d(c, c, (1, 3), stride=(1, 2), padding=(0, 1), output_padding=(0, 1))
        self.bn2 = nn.BatchNorm2d(c)
        self.pooled_head(c, classes)

    def features(self, x):
        f0, f1, f2 = self.encode(x)
        p1 = f1 + F.relu(self.bn1(self.up1(f2)))
        p0 = f0 + self.leaky(self.up2(p1))
        f3 = F.relu(self.bn2(self.wide(self.dil(p0))))
        # AZ-NAS unshuffles each block feature to the next one's smaller size: the encoder's
        return [f0, f1, f2], f3


class OptionA(nn.Module):
    """The CIFAR ResNets' option-A shortcut (akamaster/pytorch_resnet_cifar10's LambdaLayer): every other row and
    column, zero channels on both sides (`F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p))`)."""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)


class ShortcutA(Units, nn.Module):
    """Parameter-free shortcuts that change the shape: a conv-BN-ReLU stem; a residual unit; a strided unit whose
    shortcut is option A (subsampled, zero channels either side: the CIFAR ResNet-20/32/56 of the paper); a strided
    unit whose shortcut is PyramidNet's (average-pooled, then `torch.cat` with `torch.zeros` channels); GAP, Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        cbr("b", c, 2 * c, 3, nn.ReLU(), 2)
        self.b_short = OptionA(c // 2)
        cbr("d", 2 * c, 3 * c, 3, nn.ReLU(), 2)
        self.d_pool = nn.AvgPool2d(2)
        self.pooled_head(3 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = F.relu(f0 + self.unit("a", f0))
        f2 = F.relu(self.unit("b", f1) + self.b_short(f1))
        p = self.d_pool(f2)
        zeros = torch.zeros(p.shape[0], p.shape[1] // 2, p.shape[2], p.shape[3])
        f3 = F.relu(self.unit("d", f2) + torch.cat([p, zeros], 1))
        return [f0, f1, f2, f3], f3


class Cbam(nn.Module):
    """CBAM (Woo et al., 2018) as its reference code writes it: a channel gate from the average and maximum pools
    through one shared MLP of 1x1 convs, then a spatial gate from the channels' mean and maximum (torch.mean /
    torch.max over dim 1, keepdim) through a 7x7 conv and a sigmoid, broadcast over the channels."""

    def __init__(self, c, r=4):
        super().__init__()
        self.mlp = nn.Sequential(nn.Conv2d(c, c // r, 1, bias=False), nn.ReLU(), nn.Conv2d(c // r, c, 1, bias=False))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3, bias=False)

    def forward(self, x):
        x = x * torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1)))
        mean = torch.mean(x, dim=1, keepdim=True)
        top, _ = torch.max(x, dim=1, keepdim=True)
        return x * torch.sigmoid(self.spatial(torch.cat([mean, top], 1)))


class CbamNet(Units, nn.Module):
    """CBAM in residual blocks: a conv-BN-ReLU stem; a block conv-BN-ReLU-conv-BN, CBAM, the input added, ReLU; a
    strided conv-BN-ReLU; a second such block; GAP and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        cbr("a2", c, c, 3, nn.Identity())
        self.a_cbam = Cbam(c)
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        cbr("b", 2 * c, 2 * c, 3, nn.ReLU())
        cbr("b2", 2 * c, 2 * c, 3, nn.Identity())
        self.b_cbam = Cbam(2 * c)
        self.relu = nn.ReLU()
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = self.relu(f0 + self.a_cbam(self.unit("a2", self.unit("a", f0))))
        f2 = self.unit("down", f1)
        f3 = self.relu(f2 + self.b_cbam(self.unit("b2", self.unit("b", f2))))
        return [f0, f1, f3], f3


class SELinear(nn.Module):
    """Squeeze-and-excitation with nn.Linear layers (senet.pytorch's SELayer): the pooled features viewed flat,
    Linear-ReLU-Linear-Sigmoid, viewed back as (b, c, 1, 1) and expanded over the map (`expand_as`)."""

    def __init__(self, c, r=4):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(), nn.Linear(c // r, c, bias=False),
                                nn.Sigmoid())

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        y = self.fc(F.adaptive_avg_pool2d(x, 1).view(b, c)).view(b, c, 1, 1)
        return x * y.expand_as(x)


class CbamReference(nn.Module):
    """CBAM as its authors' code writes it (Jongchan/attention-module): a channel gate of one Flatten-Linear-ReLU-
    Linear MLP on the average and the maximum pool, `sigmoid(sum).unsqueeze(2).unsqueeze(3).expand_as(x)`; a
    ChannelPool `cat(max(x, 1)[0].unsqueeze(1), mean(x, 1).unsqueeze(1))` (channel axes dropped, then restored), a
    7x7 conv-BN, a sigmoid gate."""

    def __init__(self, c, r=4):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(c, c // r), nn.ReLU(), nn.Linear(c // r, c))
        self.spatial = nn.Sequential(nn.Conv2d(2, 1, 7, padding=3, bias=False), nn.BatchNorm2d(1))

    def forward(self, x):
        h, w = int(x.shape[2]), int(x.shape[3])
        att = self.mlp(F.avg_pool2d(x, (h, w), stride=(h, w))) + self.mlp(F.max_pool2d(x, (h, w), stride=(h, w)))
        x = x * torch.sigmoid(att).unsqueeze(2).unsqueeze(3).expand_as(x)
        pooled = torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class SELinearNet(Units, nn.Module):
    """Gates computed by nn.Linear layers: a conv-BN-ReLU stem; a residual block with senet.pytorch's SE; a strided
    conv-BN-ReLU; a residual block with CBAM as its authors' code writes it; GAP and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        self.a_se = SELinear(c)
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        cbr("b", 2 * c, 2 * c, 3, nn.ReLU())
        self.b_cbam = CbamReference(2 * c)
        self.relu = nn.ReLU()
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = self.relu(f0 + self.a_se(self.unit("a", f0)))
        f2 = self.unit("down", f1)
        f3 = self.relu(f2 + self.b_cbam(self.unit("b", f2)))
        return [f0, f1, f3], f3


class EcaOfficial(nn.Module):
    """ECA as its authors' code writes it (BangguWu/ECANet `eca_layer`): an nn.AdaptiveAvgPool2d(1), the pooled map
    squeezed and transposed to (b, 1, c), an nn.Conv1d(1, 1, k) over the channels, transposed and unsqueezed back, an
    nn.Sigmoid gate expanded over the map."""

    def __init__(self, k=3):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * self.sigmoid(y).expand_as(x)


class EcaTimm(nn.Module):
    """ECA as timm writes it (`EcaModule`): the mean over (2, 3) viewed as (b, 1, -1), an nn.Conv1d(1, 1, k), its
    gate (an nn.Sigmoid) on that (b, 1, c) tensor, viewed as (b, -1, 1, 1), expanded over the map."""

    def __init__(self, k=5):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        y = self.conv(x.mean((2, 3)).view(x.shape[0], 1, -1))
        return x * self.gate(y).view(x.shape[0], -1, 1, 1).expand_as(x)


class EcaNet(Units, nn.Module):
    """Efficient channel attention: a conv-BN-ReLU stem; a residual block with the authors' ECA (k = 3); a strided
    conv-BN-ReLU; a residual block with timm's ECA (k = 5); GAP and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        cbr("a2", c, c, 3, nn.Identity())
        self.a_eca = EcaOfficial(3)
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        cbr("b", 2 * c, 2 * c, 3, nn.ReLU())
        self.b_eca = EcaTimm(5)
        self.relu = nn.ReLU()
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = self.relu(f0 + self.a_eca(self.unit("a2", self.unit("a", f0))))
        f2 = self.unit("down", f1)
        f3 = self.relu(f2 + self.b_eca(self.unit("b", f2)))
        return [f0, f1, f3], f3


class BamGate(nn.Module):
    """BAM as its authors' code writes it (Jongchan/attention-module `BAM`): a channel gate (the map's average pool
    over its whole plane, Flatten, Linear-BatchNorm1d-ReLU-Linear, unsqueezed twice and expanded over the map), a
    spatial gate (1x1 conv-BN-ReLU, two 3x3 convs of dilation 2 with BN-ReLU, a 1x1 conv to one channel, expanded
    over the map), and `1 + sigmoid(channel * spatial)` times the map; `combine="sum"`: the paper's sum of the two."""

    def __init__(self, c, r=4, combine="mul"):
        super().__init__()
        self.combine = combine
        self.gate_c = nn.Sequential(nn.Flatten(), nn.Linear(c, c // r), nn.BatchNorm1d(c // r), nn.ReLU(),
                                    nn.Linear(c // r, c))
        layers = [nn.Conv2d(c, c // r, 1), nn.BatchNorm2d(c // r), nn.ReLU()]
        for _ in range(2):
            layers += [nn.Conv2d(c // r, c // r, 3, padding=2, dilation=2), nn.BatchNorm2d(c // r), nn.ReLU()]
        self.gate_s = nn.Sequential(*layers, nn.Conv2d(c // r, 1, 1))

    def forward(self, x):
        k = int(x.shape[2])
        ca = self.gate_c(F.avg_pool2d(x, k, stride=k)).unsqueeze(2).unsqueeze(3).expand_as(x)
        sa = self.gate_s(x).expand_as(x)
        return (1 + torch.sigmoid(ca * sa if self.combine == "mul" else ca + sa)) * x


class SimAM(nn.Module):
    """SimAM as its authors' code writes it (ZjjConan/SimAM `simam_module`): parameter-free, each unit's energy
    (x - mean)^2 / (4 (sum of (x - mean)^2 / (h w - 1) + lambda)) + 1/2 through an nn.Sigmoid, times the map."""

    def __init__(self, e_lambda=1e-4):
        super().__init__()
        self.activaton = nn.Sigmoid()
        self.e_lambda = e_lambda

    def forward(self, x):
        n = x.shape[2] * x.shape[3] - 1
        d = (x - x.mean(dim=[2, 3], keepdim=True)).pow(2)
        return x * self.activaton(d / (4 * (d.sum(dim=[2, 3], keepdim=True) / n + self.e_lambda)) + 0.5)


class BamSimAm(Units, nn.Module):
    """Attention by broadcasting: a conv-BN-ReLU stem; a residual block (conv-BN-ReLU, conv-BN) with SimAM; BAM (the
    authors' product of the gates) after it; a strided conv-BN-ReLU; BAM with the paper's sum of the gates; a residual
    block with SimAM; GAP and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("a", c, c, 3, nn.ReLU())
        self.a2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.a2_bn = nn.BatchNorm2d(c)
        self.a_sim = SimAM()
        self.a_relu = nn.ReLU()
        self.bam1 = BamGate(c)
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        self.bam2 = BamGate(2 * c, combine="sum")
        cbr("b", 2 * c, 2 * c, 3, nn.ReLU())
        self.b2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=False)
        self.b2_bn = nn.BatchNorm2d(2 * c)
        self.b_sim = SimAM()
        self.b_relu = nn.ReLU()
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = self.bam1(self.a_relu(f0 + self.a_sim(self.a2_bn(self.a2(self.unit("a", f0))))))
        f2 = self.bam2(self.unit("down", f1))
        f3 = self.b_relu(f2 + self.b_sim(self.b2_bn(self.b2(self.unit("b", f2)))))
        return [f0, f1, f3], f3


class Branches(nn.Module):
    """Two branches of one map returned as a tuple (HRNet's and OctConv's modules return several maps): a 3x3
    conv-BN-ReLU and a 1x1 conv-BN-ReLU."""

    def __init__(self, c):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x):
        return self.a(x), self.b(x)


class TupleNet(Units, nn.Module):
    """A module returning a tuple: a conv-BN-ReLU stem; `Branches` whose two maps are added; a strided conv-BN-ReLU;
    GAP and Linear. MeCo's official hook reads the tuple's first map as one image's output and raises."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        self.pair = Branches(c)
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        a, b = self.pair(f0)
        f1 = a + b
        f2 = self.unit("down", f1)
        return [f0, f1, f2], f2


class SplitNet(Units, nn.Module):
    """torch.split along the channels (one ONNX Split; torch.chunk writes Slices): a conv-BN-ReLU stem, a Res2Net
    block (1x1 conv-BN-ReLU, split in 4 equal parts, each part after the first through a 3x3 conv-BN-ReLU with the
    previous part's output added, concatenated, 1x1 conv-BN, the input added, ReLU), a strided conv-BN-ReLU split in
    unequal parts (4 and 12 channels) of which the second goes through a 1x1 conv-BN-ReLU, concatenated; GAP and
    Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbr = self.same_unit
        cbr("stem", 3, c, 3, nn.ReLU())
        cbr("r1", c, c, 1, nn.ReLU())
        for k in (2, 3, 4):
            cbr(f"r{k}", c // 4, c // 4, 3, nn.ReLU())
        self.r5 = nn.Conv2d(c, c, 1, bias=False)
        self.r5_bn = nn.BatchNorm2d(c)
        self.r_relu = nn.ReLU()
        cbr("down", c, 2 * c, 3, nn.ReLU(), 2)
        cbr("b", 12, 12, 1, nn.ReLU())
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        parts = torch.split(self.unit("r1", f0), f0.shape[1] // 4, dim=1)
        ys = [parts[0]]
        for k in (1, 2, 3):
            ys.append(self.unit(f"r{k + 1}", parts[k] if k == 1 else parts[k] + ys[-1]))
        f1 = self.r_relu(self.r5_bn(self.r5(torch.cat(ys, 1))) + f0)
        a, b = torch.split(self.unit("down", f1), [4, 12], dim=1)
        f2 = torch.cat([a, self.unit("b", b)], 1)
        return [f0, f1, f2], f2


class CeluNet(Units, nn.Module):
    """nn.CELU (opset 12's Celu): a conv-BN-CELU(0.5) stem, a residual conv-BN-CELU() (alpha 1), a strided
    conv-BN-CELU(1.7), a 1x1 conv-BN-ReLU (an nn.ReLU for SWAP and nwot); GAP and Linear. MeCo hooks every module;
    NASLib's nwot and SWAP only the nn.ReLU."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        cbn = self.same_unit
        cbn("stem", 3, c, 3, nn.CELU(0.5))
        cbn("a", c, c, 3, nn.CELU())
        cbn("down", c, 2 * c, 3, nn.CELU(1.7), 2)
        cbn("r", 2 * c, 2 * c, 1, nn.ReLU())
        self.pooled_head(2 * c, classes)

    def features(self, x):
        f0 = self.unit("stem", x)
        f1 = f0 + self.unit("a", f0)
        f2 = self.unit("r", self.unit("down", f1))
        return [f0, f1, f2], f2


class ResidualUnit(nn.Module):
    """torchvision's BasicBlock layout: conv-BN-ReLU, conv-BN, the input added, and the same nn.ReLU called again."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + x)


class Containers(PooledHead, nn.Module):
    """Modules inside modules, as torchvision writes them; MeCo's official hooks fire on every module, containers
    included, so an output a container shares with its last child counts twice. A Sequential stem ending in an
    nn.ReLU; a ResidualUnit (its nn.ReLU called twice, a functional addition); a strided Sequential holding a nested
    Sequential that ends in a BN; a functional F.relu and F.avg_pool2d (no modules: no hooks, nwot and MeCo skip them)
    before the pooled head."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.unit = ResidualUnit(c)
        inner = nn.Sequential(nn.Conv2d(2 * c, 2 * c, 1, bias=False), nn.BatchNorm2d(2 * c))
        self.down = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                                  nn.ReLU(), inner)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem(x)
        f1 = self.unit(f0)
        f2 = self.down(f1)
        return [f0, f1, f2], F.avg_pool2d(F.relu(f2), 3, stride=1, padding=1)


class Tied(PooledHead, nn.Module):
    """Modules called more than once, so that one parameter tensor has several uses: PyTorch sums the uses' gradients
    into it and counts it once. A conv-BN-ReLU Sequential applied twice in a chain (conv, BN γ/β tied), a biased 1x1
    conv applied to two branches that are then added, and a strided conv reused on the pooled map's two halves'
    sum; the head is a plain global pool and Linear."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.mix = nn.Conv2d(c, c, 1, bias=True)
        self.pool = nn.AvgPool2d(3, 1, 1)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(2 * c)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem(x)
        f1 = self.block(self.block(f0))
        f1 = self.mix(f1) + self.mix(self.pool(f0))
        f2 = self.relu(self.down_bn(self.down(f1)))
        return [f0, f1, f2], f2


class Functional(PooledHead, nn.Module):
    """Parameters applied with F.conv2d rather than by nn.Conv2d modules: a weight tied by hand (`self.w`, used twice
    in a chain) and a single-use weight with its bias (`self.v`, `self.vb`). The official proxies iterate over
    Conv2d / Linear modules and leave both out (their inits too); params and VKDNW's named_parameters count them.
    The chain's two calls share one non-affine BatchNorm module (one running variance, which Zen reads)."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.w = nn.Parameter(torch.randn(c, c, 3, 3) * (2 / (9 * c)) ** 0.5)
        self.bn = nn.BatchNorm2d(c, affine=False)
        self.v = nn.Parameter(torch.randn(2 * c, c, 1, 1) * (1 / c) ** 0.5)
        self.vb = nn.Parameter(0.1 * torch.randn(2 * c))
        self.down = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1, bias=True)
        self.down_bn = nn.BatchNorm2d(2 * c)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem(x)
        h = F.relu(self.bn(F.conv2d(f0, self.w, padding=1)))
        f1 = F.relu(self.bn(F.conv2d(h, self.w, padding=1))) + f0
        f2 = self.relu(self.down_bn(self.down(F.conv2d(f1, self.v, self.vb))))
        return [f0, f1, f2], f2


class CallOrder(PooledHead, nn.Module):
    """More than 128 parameter tensors (VKDNW reads index 0 of the first 128 in named_parameters() order), in modules
    registered in another order than they are called: 36 conv-BN-ReLU branches held in a ModuleList, applied last
    first in two stages of 18 parallel branches each (summed), so the tensors VKDNW picks are not the first ones the
    graph reaches."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.units = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=True), nn.BatchNorm2d(c), nn.ReLU()) for _ in range(36))
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)

    def features(self, x):
        f0 = self.stem(x)
        units = list(reversed(self.units))
        f1 = f0 + sum(u(f0) for u in units[:18])
        f2 = f1 + sum(u(f1) for u in units[18:])
        return [f0, f1, f2], f2


class Arith(PooledHead, nn.Module):
    """Arithmetic with Python numbers, each a Mul / Div / Add / Sub / Neg by a scalar constant in the file (a function,
    which no hook sees): the input normalised as (x - 0.45) / 0.225, a residual branch scaled by 0.5 less 0.1 of its
    input (a product with the constant first, a difference of tensors), a map subtracted from 1.5 and a BN output
    negated, and the pooled features doubled and shifted by 1 before the head (flat tensors)."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.branch = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(2 * c)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem((x - 0.45) / 0.225)
        f1 = f0 + self.branch(f0) * 0.5 - 0.1 * f0
        f2 = self.relu(-self.down_bn(self.down(1.5 - f1)))
        return [f0, f1, f2], f2

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.forward_pre_GAP(x)), 1) * 2.0 + 1.0)


class FlatMlp(nn.Module):
    """An MLP on flat (N, F) inputs, exported with a 2-D input (CIFAR images average-pooled to 4x4 and flattened: 48
    features): Linear-ReLU, a residual Linear-ReLU added to its input, Linear-LeakyReLU(0.1), then the classifier.
    No feature map: zen has no map before a global pool; AZ-NAS's official code reads (N, C, H, W) block features
    and raises on flat ones (recorded); VKDNW runs on a flat batch given as its loader."""

    def __init__(self, classes=10, f=48, h=32, k=24):
        super().__init__()
        self.f1 = nn.Linear(f, h)
        self.r1 = nn.ReLU()
        self.f2 = nn.Linear(h, h)
        self.r2 = nn.ReLU()
        self.f3 = nn.Linear(h, k)
        self.r3 = nn.LeakyReLU(0.1)
        self.fc = nn.Linear(k, classes)

    def extract_cell_features(self, x):
        h1 = self.r1(self.f1(x))
        h2 = h1 + self.r2(self.f2(h1))
        return [h1, h2, self.r3(self.f3(h2))]

    def forward(self, x):
        return self.fc(self.extract_cell_features(x)[-1])


class ViewNet(PooledHead, nn.Module):
    """A CNN on flat (N, 768) inputs that views them as 3x16x16 images first, `x.view(x.size(0), 3, 16, 16)` (a model
    fed flattened images; CIFAR images pooled to 16x16 and flattened): conv-BN-ReLU, a residual conv-BN-ReLU, a
    strided conv-BN-ReLU, global pool, Linear. The official random-input code draws flat inputs of the file's shape
    (VKDNW and AZ-NAS given them as their loader)."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.res = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.down = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                                  nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem(x.view(x.size(0), 3, 16, 16))
        f1 = f0 + self.res(f0)
        f2 = self.down(f1)
        return [f0, f1, f2], f2


class Norms(PooledHead, nn.Module):
    """The normalisations the IR's `gn` op covers, with trained-looking γ, β: a conv-BN-ReLU stem, a conv-GroupNorm(2)
    -ReLU block added to it, a strided conv-InstanceNorm2d(affine)-ReLU, a conv-InstanceNorm2d(no affine)-ReLU, then
    the pooled features through nn.LayerNorm and a ReLU before the classifier (opset 13: GroupNorm as Reshape →
    InstanceNormalization → Reshape → Mul → Add, LayerNorm as ReduceMean / Sub / Pow / ... / Div → Mul → Add)."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.g_conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.gn = nn.GroupNorm(2, c)
        self.g_relu = nn.ReLU()
        self.down = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False),
                                  nn.InstanceNorm2d(2 * c, affine=True), nn.ReLU())
        self.plain = nn.Sequential(nn.Conv2d(2 * c, 2 * c, 1, bias=True), nn.InstanceNorm2d(2 * c), nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.ln = nn.LayerNorm(2 * c)
        self.ln_relu = nn.ReLU()
        self.fc = nn.Linear(2 * c, classes)
        with torch.no_grad():
            for m in (self.gn, self.down[1], self.ln):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)

    def features(self, x):
        f0 = self.stem(x)
        f1 = f0 + self.g_relu(self.gn(self.g_conv(f0)))
        f2 = self.down(f1)
        f3 = self.plain(f2)
        return [f0, f1, f2, f3], f3

    def forward(self, x):
        return self.fc(self.ln_relu(self.ln(torch.flatten(self.gap(self.forward_pre_GAP(x)), 1))))


class LayerNorm2d(nn.LayerNorm):
    """timm's LayerNorm2d: nn.LayerNorm over a map's channels, between permutes to channels-last and back."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelsFirstLayerNorm(nn.Module):
    """The official ConvNeXt's LayerNorm with data_format="channels_first": the mean and biased variance over a map's
    channels written out (x.mean(1, keepdim=True), ...), then weight[:, None, None] * x + bias[:, None, None]."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvNextBlock(nn.Module):
    """ConvNeXt's block without its layer scale: a depthwise 7x7 conv, then channels-last nn.LayerNorm, nn.Linear to
    4C, the activation, nn.Linear back to C, permuted back and added to the input."""

    def __init__(self, c, act):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = act
        self.pwconv2 = nn.Linear(4 * c, c)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class ConvNextish(PooledHead, nn.Module):
    """A small ConvNeXt: a 2x2 stride-2 patchify stem and LayerNorm2d, a block with GELU, a LayerNorm2d and 2x2
    stride-2 downsampling conv, a block with ReLU, then the pooled features through nn.LayerNorm and the classifier
    (`norm2d`: the stem's and downsampling's LayerNorm over channels; `head2d`: timm's head instead, LayerNorm2d of
    the pooled (N, C, 1, 1) map before the flatten). γ, β of every LayerNorm drawn away from 1 and 0."""

    def __init__(self, classes=10, c=8, norm2d=LayerNorm2d, head2d=False):
        super().__init__()
        self.head2d = head2d
        self.stem = nn.Sequential(nn.Conv2d(3, c, 2, stride=2), norm2d(c, eps=1e-6))
        self.block1 = ConvNextBlock(c, nn.GELU())
        self.down = nn.Sequential(norm2d(c, eps=1e-6), nn.Conv2d(c, 2 * c, 2, stride=2))
        self.block2 = ConvNextBlock(2 * c, nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.norm = (LayerNorm2d if head2d else nn.LayerNorm)(2 * c, eps=1e-6)
        self.fc = nn.Linear(2 * c, classes)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (nn.LayerNorm, ChannelsFirstLayerNorm)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.2)

    def features(self, x):
        f0 = self.stem(x)
        f1 = self.block1(f0)
        f2 = self.block2(self.down(f1))
        return [f0, f1, f2], f2

    def forward(self, x):
        pooled = self.gap(self.forward_pre_GAP(x))
        if self.head2d:
            return self.fc(torch.flatten(self.norm(pooled), 1))
        return self.fc(self.norm(torch.flatten(pooled, 1)))


class NormTied(PooledHead, nn.Module):
    """One nn.GroupNorm(2) module called after two convolutions and one nn.LayerNorm called on two feature vectors
    (its γ, β tied: PyTorch accumulates both calls' gradients into one tensor; Θ counts it once)."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.c1 = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.c2 = nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False)
        self.gn = nn.GroupNorm(2, c)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.mid = nn.Linear(c, c)
        self.ln = nn.LayerNorm(c)
        self.fc = nn.Linear(c, classes)
        with torch.no_grad():
            for m in (self.gn, self.ln):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)

    def features(self, x):
        f0 = self.relu(self.gn(self.c1(x)))
        f1 = self.relu(self.gn(self.c2(f0)))
        return [f0, f1], f1

    def forward(self, x):
        h = self.ln(torch.flatten(self.gap(self.forward_pre_GAP(x)), 1))
        return self.fc(self.relu(self.ln(self.mid(self.relu(h)))))


class Tail(PooledHead, nn.Module):
    """A classifier that returns its logits through a tail, as tutorial networks do: nn.LogSoftmax(dim=1) (the
    MNIST example's), F.softmax(dim=1) or nn.Sigmoid. The official code reads whatever the model returns as its
    logits: the loss-based proxies take the cross-entropy of it, jacov / epe_nas / synflow its sum, VKDNW its
    Jacobian (a LogSoftmax leaves the cross-entropy unchanged, a Softmax or Sigmoid does not)."""

    def __init__(self, classes=10, c=8, tail="log_softmax"):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                                   nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)
        self.kind = tail
        if tail == "log_softmax":
            self.tail = nn.LogSoftmax(dim=1)
        elif tail == "sigmoid":
            self.tail = nn.Sigmoid()

    def features(self, x):
        f0 = self.stem(x)
        f1 = self.block(f0)
        return [f0, f1], f1

    def head(self, pre):
        z = self.fc(torch.flatten(self.gap(pre), 1))
        return F.softmax(z, dim=1) if self.kind == "softmax" else self.tail(z)

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


class ChanArith(PooledHead, nn.Module):
    """Arithmetic with one constant per channel: the input normalised inside the model, (x - mean) / std with the
    statistics as registered buffers of shape (1, 3, 1, 1) (initializers in the file); a map scaled per channel by a
    tensor the module holds as a plain attribute (a Constant in the file); the pooled features shifted per feature
    before the head."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.49, 0.48, 0.45]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.24, 0.26]).view(1, 3, 1, 1))
        self.gains = torch.tensor([0.5, -1.0, 2.0, 0.25, 1.5, -0.75, 1.0, 3.0]).view(1, c, 1, 1)
        self.shifts = torch.linspace(-1.0, 1.0, 2 * c).view(1, 2 * c)
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                                   nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem((x - self.mean) / self.std)
        f1 = self.block(f0 * self.gains)
        return [f0, f1], f1

    def head(self, pre):
        return self.fc(torch.flatten(self.gap(pre), 1) + self.shifts)

    def forward(self, x):
        return self.head(self.forward_pre_GAP(x))


class StateArith(ChanArith):
    """ChanArith's layers with registered buffers of both signs in the arithmetic (state_dict entries, which
    synflow's |state_dict| makes positive): the input normalised by a mean with a negative entry, a map scaled per
    channel by a layer-scale-like buffer of mixed signs, a scalar buffer added, an element of a buffer (Gather), a
    per-channel buffer minus the map (c - x), a scalar buffer subtracted (x - c) and a window of a buffer (Slice)
    subtracted. Also exported with constant folding (the gamma view becomes an `onnx::Mul_k` initializer)."""

    def __init__(self, classes=10, c=8):
        super().__init__(classes, c)
        self.register_buffer("mean", torch.tensor([0.49, -0.2, 0.45]).view(1, 3, 1, 1))
        self.register_buffer("gamma", torch.tensor([0.5, -1.0, 2.0, -0.25, 1.5, -0.75, 1.0, 3.0]))
        self.register_buffer("bias0", torch.tensor(-0.3))
        self.register_buffer("offset", torch.linspace(-1.0, 1.0, 2 * c).view(1, 2 * c, 1, 1))
        self.register_buffer("drift", torch.tensor(-0.7))
        self.register_buffer("temp", torch.tensor([-1.5, 2.0]))
        self.register_buffer("off", torch.linspace(-0.5, 0.5, 4 * c).view(1, 4 * c, 1, 1))

    def head(self, pre):
        return self.fc(torch.flatten(self.gap(pre), 1))

    def features(self, x):
        f0 = self.stem((x - self.mean) / self.std)
        f1 = self.block(f0 * self.gamma.view(1, -1, 1, 1) + self.bias0) * self.temp[0]
        return [f0, f1], (self.offset - f1) - self.drift - self.off[:, : f1.shape[1]]


class Zero(nn.Module):
    """NB201's `none` edge as its search model writes it: x.mul(0.) (torch.onnx: Mul by 0)."""

    def forward(self, x):
        return x.mul(0.0)


class SearchCells(PooledHead, nn.Module):
    """NB201 search-model cells (ReLU, a biased conv, BatchNorm2d(affine=False, track_running_stats=False): batch
    statistics in eval mode too, which torch.onnx writes as a subgraph computing them), a `none` edge (x.mul(0.)), a
    3x3 average pool not counting its padding, a ResNet reduction block (tracked, affine BNs), a BN-ReLU before the
    global pool. Leaf modules only (MeCo hooks every module, containers included). NASLib's zen reads running_var and
    ZenNAS fills BN weights: neither runs on such BNs (as on zero-cost-nas's NB201 model)."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        for cell, w in (("e1", c), ("e2", 2 * c)):
            for edge, k in (("a", 3), ("b", 1), ("c", 3)):
                setattr(self, f"{cell}{edge}_relu", nn.ReLU())
                setattr(self, f"{cell}{edge}", nn.Conv2d(w, w, k, padding=k // 2, bias=True))
                setattr(self, f"{cell}{edge}_bn", nn.BatchNorm2d(w, affine=False, track_running_stats=False))
            setattr(self, f"{cell}_pool", nn.AvgPool2d(3, 1, 1, count_include_pad=False))
            setattr(self, f"{cell}_none", Zero())
        for name, cin in (("ra", c), ("rb", 2 * c)):
            setattr(self, f"{name}_relu", nn.ReLU())
            setattr(self, name, nn.Conv2d(cin, 2 * c, 3, stride=2 if name == "ra" else 1, padding=1, bias=False))
            setattr(self, f"{name}_bn", nn.BatchNorm2d(2 * c))
        self.rs_pool = nn.AvgPool2d(2, 2)
        self.rs = nn.Conv2d(c, 2 * c, 1, bias=False)
        self.last_bn = nn.BatchNorm2d(2 * c)
        self.last_relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def unit(self, name, x):
        return getattr(self, name + "_bn")(getattr(self, name)(getattr(self, name + "_relu")(x)))

    def cell(self, e, x):
        n1 = self.unit(e + "a", x)
        n2 = getattr(self, e + "_pool")(x) + self.unit(e + "b", n1)
        return x + getattr(self, e + "_none")(n1) + self.unit(e + "c", n2)

    def features(self, x):
        f0 = self.stem_bn(self.stem(x))
        f1 = self.cell("e1", f0)
        r = self.unit("rb", self.unit("ra", f1)) + self.rs(self.rs_pool(f1))
        f2 = self.cell("e2", r)
        return [f0, f1, f2], self.last_relu(self.last_bn(f2))


class ConvNextScaled(ConvNextBlock):
    """The official ConvNeXt block: its layer scale gamma (C,) an nn.Parameter scaling the channels-last map."""

    def __init__(self, c, act, gamma):
        super().__init__(c, act)
        self.gamma = nn.Parameter(gamma)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class DropPath(nn.Module):
    """timm's DropPath: the input itself at rate 0 (or in eval mode), as timm builds it for drop_path_rate 0."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class PassThroughNet(PooledHead, nn.Module):
    """Modules that return their input, each of which MeCo's official hooks read: an nn.Identity stem norm on the
    model's input, an empty nn.Sequential shortcut, timm's DropPath at rate 0 before a residual add, an nn.Identity
    in a Sequential, and a downsampling block whose nn.Identity follows its strided convolution."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.norm = nn.Identity()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.conv = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.Identity())
        self.shortcut = nn.Sequential()
        self.drop_path = DropPath(0.0)
        self.relu = nn.ReLU()
        self.down = nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                                  nn.ReLU(), nn.Identity())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def features(self, x):
        f0 = self.stem(self.norm(x))
        f1 = self.relu(self.shortcut(f0) + self.drop_path(self.conv(f0)))
        f2 = self.down(f1)
        return [f0, f1, f2], f2


class LayerScaleNet(PooledHead, nn.Module):
    """nn.Parameters read in arithmetic, each of a form common in the wild, with a registered buffer beside them: the
    input normalised by buffers; the official ConvNeXt's layer scale `gamma * x` (C,) on its channels-last map;
    torchvision's `layer_scale * y` (C, 1, 1) on a map; a ReZero gain `x + alpha * f(x)` read twice (one tensor,
    two reads); a learned shift per channel; a learned scalar subtracted; the logits over a learned temperature.
    Values drawn away from their usual initial ones (and of both signs), so that each term shows."""

    def __init__(self, classes=10, c=8):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.4, -0.1, 0.3]).view(1, 3, 1, 1))
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.block = ConvNextScaled(c, nn.GELU(), torch.linspace(-0.8, 1.2, c))
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.layer_scale = nn.Parameter(torch.linspace(0.5, -0.6, c).view(c, 1, 1))
        self.conv2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * c)
        self.alpha = nn.Parameter(torch.tensor(0.3))
        self.shift = nn.Parameter(torch.linspace(-0.2, 0.25, 2 * c).view(1, 2 * c, 1, 1))
        self.offset = nn.Parameter(torch.tensor(0.15))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)
        self.temp = nn.Parameter(torch.tensor(1.7))

    def features(self, x):
        f0 = self.relu(self.stem_bn(self.stem(x - self.mean)))
        f1 = self.block(f0)
        f2 = f1 + self.layer_scale * self.relu(self.bn(self.conv(f1)))
        f3 = self.relu(self.bn2(self.conv2(f2)))
        f4 = f3 + self.alpha * self.relu(f3 + self.shift)
        return [f0, f1, f2, f4], (f4 + self.alpha * f4) - self.offset

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.forward_pre_GAP(x)), 1)) / self.temp


class WithFeatures(nn.Module):
    """Export wrapper: logits first, then the AZ-NAS block features as extra graph outputs."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        feats, pre = self.net.features(x)
        head = getattr(self.net, "head", None)
        return (head(pre) if head else self.net.fc(torch.flatten(self.net.gap(pre), 1)), *feats)


class PairOutput(nn.Module):
    """VKDNW's NB201 model returns (features, logits); this adds no parameters and keeps named_parameters order."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        y = self.net(x)
        return y, y


# --------------------------------------------------------------------------------------------------------------
# Loading the official code
# --------------------------------------------------------------------------------------------------------------


def stub(name, path=None, **attrs):
    m = types.ModuleType(name)
    if path is not None:
        m.__path__ = [path]
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_official(a):
    torch.nn.Module.cuda = lambda self, *args, **kw: self
    torch.Tensor.cuda = lambda self, *args, **kw: self
    off = {}
    # Zero-cost-NAS: the real package and harness (find_measures).
    sys.path.insert(0, a.zc)
    from foresight.pruners import predictive as zc_predictive

    off["zc"] = zc_predictive
    sys.path.remove(a.zc)
    for k in [k for k in sys.modules if k == "foresight" or k.startswith("foresight.")]:
        del sys.modules[k]
    # NASLib: its pruners package (the same harness plus epe_nas, nwot, zen) without the naslib package imports.
    base = os.path.join(a.naslib, "naslib")
    stub("tensorwatch", ModelStats=object)  # only an annotation at import time
    stub("naslib", base)
    stub("naslib.predictors", os.path.join(base, "predictors"))
    stub("naslib.predictors.utils", os.path.join(base, "predictors", "utils"))
    from naslib.predictors.utils.pruners import predictive as nl_predictive

    off["naslib"] = nl_predictive
    # ZiCo and ZenNAS: single files; their CLI helper imports are stubbed.
    stub("global_utils")
    stub("ModelLoader")
    off["zico"] = load_file("official_zico", os.path.join(a.zico, "ZeroShotProxy", "compute_zico.py"))
    off["zennas"] = load_file("official_zen", os.path.join(a.zennas, "ZeroShotProxy", "compute_zen_score.py"))
    # MeCo: the NB201 correlation script's get_score (what produced the paper's NB201 numbers).
    stub("foresight", os.path.join(a.meco, "correlation", "foresight"), torch=torch, os=os)
    stub("foresight.dataset", torch=torch, os=os)
    stub("foresight.models")
    stub("foresight.models.nasbench2")
    stub("foresight.weight_initializers", init_net=None)
    stub("models", get_cell_based_tiny_net=None)
    off["meco"] = load_file("official_meco_nb201", os.path.join(a.meco, "correlation", "NAS_Bench_201.py"))
    for k in ["foresight", "foresight.dataset", "foresight.models", "foresight.models.nasbench2",
              "foresight.weight_initializers", "models"]:
        del sys.modules[k]
    # AZ-NAS and VKDNW (NB201 code).
    off["az"] = load_file("official_az", os.path.join(a.aznas, "NB201", "ZeroShotProxy", "compute_az_nas_score.py"))
    import functorch
    from torch.nn.utils.stateless import functional_call as call_one_dict

    def functional_call(module, dicts, args):
        # torch >= 2.0 accepts a tuple of dicts (parameters, buffers) and merges them; 1.13 takes one dict.
        merged = {}
        for d in dicts if isinstance(dicts, tuple) else (dicts,):
            merged.update(d)
        return call_one_dict(module, merged, args)

    stub("torch.func", functional_call=functional_call, jacrev=functorch.jacrev, vmap=functorch.vmap)
    stub("scipy", None)
    stub("scipy.stats", chisquare=None)
    off["vk"] = load_file("official_vkdnw", os.path.join(a.vkdnw, "NB201", "ZeroShotProxy", "compute_vkdnw_score.py"))
    return off


def commit_of(path):
    """The checkout's commit: `git rev-parse HEAD`, or the first line of a `.commit` file (for `git archive` copies)."""
    try:
        return subprocess.check_output(["git", "-C", path, "rev-parse", "HEAD"], text=True,
                                       stderr=subprocess.DEVNULL).strip()
    except Exception:
        marker = os.path.join(path, ".commit")
        return open(marker).readline().strip() if os.path.exists(marker) else "unknown"


# --------------------------------------------------------------------------------------------------------------
# Data and export
# --------------------------------------------------------------------------------------------------------------


def cifar(n, offset=0):
    raw = np.fromfile(CIFAR, dtype=np.uint8).reshape(-1, 3073)[offset : offset + n]
    y = raw[:, 0].astype(np.int64)
    x = raw[:, 1:].reshape(n, 3, 32, 32).astype(np.float64) / 255.0
    x = (x - np.array(MEAN).reshape(1, 3, 1, 1)) / np.array(STD).reshape(1, 3, 1, 1)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


def save_npy(name, t):
    np.save(os.path.join(OUT, name), t.detach().cpu().numpy())
    return name


def export(model, name, x, output_names=("logits",), fold=False, parameter_list=False, pass_through=False):
    """ONNX with the model's weights; a copy is traced so the train-mode forward leaves `model` untouched. `fold`:
    torch.onnx's default constant folding (a GroupNorm's γ, β views become initializers named `onnx::Mul_k`).
    `parameter_list`: the file's metadata names the model's parameters, as the Python client's export writes it;
    `pass_through`: calls returning their input leave an Identity node, as the client's export writes them."""
    path = os.path.join(OUT, name)
    m = copy.deepcopy(model).train()
    if pass_through:
        show_pass_through_calls(m)
    # Tracing runs a train-mode forward, which would move the running statistics written to the file; with
    # momentum 0 they stay those of `model` (eval-mode BN in VKDNW and Zen's running_var read them).
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mod.momentum = 0.0
    torch.onnx.export(
        m,
        x,
        path,
        export_params=True,
        opset_version=13,
        do_constant_folding=fold,
        training=torch.onnx.TrainingMode.TRAINING,
        input_names=["input"],
        output_names=list(output_names),
    )
    if parameter_list:
        with open(path, "rb") as fh:
            data = with_parameter_list(fh.read(), model)
        with open(path, "wb") as fh:
            fh.write(data)
    return name


export_file = export


def write_bn_momentum(name, momentum):
    """Write PyTorch's BN `momentum` into an exported file's BatchNormalization nodes (ONNX momentum = 1 - it).

    `export` freezes the running statistics with momentum 0 while tracing, so the file says ONNX momentum 1.
    Debian has no `onnx` package: each AttributeProto `momentum` is its name field (tag 0x0a, length 8) followed by
    its float field (tag 0x15, 4 little-endian bytes); the float is rewritten in place, so no length changes.
    """
    path = os.path.join(OUT, name)
    raw = bytearray(open(path, "rb").read())
    key, n, i = b"\x0a\x08momentum\x15", 0, 0
    while (i := raw.find(key, i)) >= 0:
        j = i + len(key)
        assert struct.unpack("<f", raw[j:j + 4])[0] == 1.0, "export() writes ONNX momentum 1"
        raw[j:j + 4] = struct.pack("<f", 1.0 - momentum)
        n, i = n + 1, j + 4
    assert n > 0, f"no BatchNormalization momentum in {name}"
    open(path, "wb").write(bytes(raw))
    return name


def zen_momentum_fixture(off, shape, seed, momentum):
    """NASLib zen of a fresh ResNetish with every BN's momentum set (not PyTorch's 0.1), the file saying so."""
    torch.manual_seed(0)
    m = ResNetish(10).train()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = momentum
    # NASLib's find_measures gives a network its get_prunable_copy; calc_measure alone expects it there
    m.get_prunable_copy = types.MethodType(off["naslib"].copynet, m)
    zen, (zm, zx, zmix) = run_zen_naslib(off, m, torch.zeros(shape), None, seed)
    onnx = write_bn_momentum(export(zm, "resnetish-zen-m.onnx", zx), momentum)
    return {"momentum": momentum, "value": zen, "onnx": onnx, "inputs": save_npy("resnetish-zen-m-x.npy", zx),
            "mixup": save_npy("resnetish-zen-m-mix.npy", zmix)}


def f(v):
    v = float(v)
    return v if np.isfinite(v) else str(v)


# --------------------------------------------------------------------------------------------------------------
# The official proxies
# --------------------------------------------------------------------------------------------------------------

ZC_MEASURES = ["grad_norm", "snip", "grasp", "fisher", "jacob_cov", "plain", "synflow", "synflow_bn"]
# l2_norm through NASLib: ZC's l2_norm does not accept the loss_fn its own harness passes.
NL_MEASURES = ["epe_nas", "nwot", "jacov", "l2_norm"]


def loader(x, y):
    return [(x, y)]


def or_error(fn):
    """The official value, or {"error": message} where the official code raises (PyTorch refuses a train-mode
    BatchNorm of one value per channel: synflow_bn's and MeCo's one-sample batch on a BatchNorm1d; torch 1.13 has
    no second derivative of hardsigmoid / hardswish, which GraSP's Hessian-vector product needs; fisher's backward
    hook deletes the activation its forward hook kept, so a module called twice finds none the second time)."""
    try:
        return fn()
    except (ValueError, RuntimeError, AttributeError) as e:
        return {"error": str(e)}


class HardsigmoidAsRelu6(nn.Module):
    """relu6(x + 3) / 6: PyTorch's hardsigmoid (the same values and gradient), with a second derivative in torch 1.13."""

    def forward(self, x):
        return F.relu6(x + 3) / 6


class HardswishAsRelu6(nn.Module):
    """x * relu6(x + 3) / 6: PyTorch's hardswish, with a second derivative in torch 1.13."""

    def forward(self, x):
        return x * F.relu6(x + 3) / 6


def without_hard_gates(net):
    """A copy of `net` with nn.Hardsigmoid / nn.Hardswish replaced by their relu6 compositions (same function)."""
    m = copy.deepcopy(net)
    for parent in m.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Hardsigmoid):
                setattr(parent, name, HardsigmoidAsRelu6())
            elif isinstance(child, nn.Hardswish):
                setattr(parent, name, HardswishAsRelu6())
    return m


def run_zc(off, net, x, y, classes):
    # ZC's find_measures moves the net to the CPU and computes each measure on a fresh copy (l2_norm on the net),
    # so a measure at a time gives the same values.
    one = lambda k: off["zc"].find_measures(net, loader(x, y), ("random", 1, classes), torch.device("cpu"),
                                            measure_names=[k])[k]
    vals = {k: or_error(lambda: one(k)) for k in ZC_MEASURES}
    # where torch 1.13 lacks hardsigmoid's second derivative, the official measure on the same function written
    # with relu6 (which has one)
    for k, v in vals.items():
        if isinstance(v, dict) and "hardsigmoid_backward" in v["error"] + str(v.get("error")):
            alt = without_hard_gates(net)
            v["equivalent"] = f(off["zc"].find_measures(alt, loader(x, y), ("random", 1, classes), torch.device("cpu"),
                                                       measure_names=[k])[k])
    return {k: v if isinstance(v, dict) else f(float(v)) for k, v in vals.items()}


def run_naslib(off, net, x, y, classes):
    # NASLib's find_measures returns the score of one measure (the ZeroCost predictor asks for one at a time).
    return {k: f(off["naslib"].find_measures(net, loader(x, y), ("random", 1, classes), torch.device("cpu"),
                                             F.cross_entropy, measure_names=[k])) for k in NL_MEASURES}


def run_zico(off, net, batches):
    # ZiCo stores `grad.cpu().numpy()` per batch: on a GPU (or with torch >= 2.0, whose zero_grad frees the
    # gradients) every batch gets its own array; on torch 1.13's CPU path all entries would alias one buffer that
    # zero_grad() clears in place. zero_grad(set_to_none=True) restores the intended (GPU) behaviour.
    m = copy.deepcopy(net)
    m.zero_grad = lambda set_to_none=True: nn.Module.zero_grad(m, set_to_none=True)
    return f(off["zico"].getzico(m, batches, F.cross_entropy))


def run_meco(off, net, x1):
    v = or_error(lambda: off["meco"].get_score(copy.deepcopy(net), x1, torch.device("cpu"), measure="meco"))
    return v if isinstance(v, dict) else f(v)


def replay_zen(off_init, net, shape, seed, gamma=1e-2):
    """Re-seed and redo the official draws: init (official function), input, input2; the mixed input as computed."""
    torch.manual_seed(seed)
    m = copy.deepcopy(net)
    off_init(m)
    inp = torch.randn(size=list(shape), dtype=torch.float32)
    inp2 = torch.randn(size=list(shape), dtype=torch.float32)
    return m, inp, inp + gamma * inp2


def run_zen_naslib(off, net, x, y, seed):
    torch.manual_seed(seed)
    v = off["naslib"].measures.calc_measure("zen", net, torch.device("cpu"), x, y, loss_fn=None, split_data=1)
    init = sys.modules["naslib.predictors.utils.pruners.measures.zen"].network_weight_gaussian_init
    return f(v), replay_zen(init, net, x.shape, seed)


def run_zen_zennas(off, net, shape, seed):
    torch.manual_seed(seed)
    info = off["zennas"].compute_nas_score(None, copy.deepcopy(net), 1e-2, shape[2], shape[0], repeat=1)
    return f(info["avg_nas_score"]), replay_zen(off["zennas"].network_weight_gaussian_init, net, shape, seed)


def run_az(off, net, shape, seed):
    # a flat (N, F) input (a model that views it as images): the official code draws (N, 3, H, W) images unless it is
    # given a loader, so a flat Gaussian batch, drawn apart from the seeded stream, is given as one
    given = torch.randn(size=list(shape), generator=torch.Generator().manual_seed(seed)) if len(shape) == 2 else None
    torch.manual_seed(seed)
    info = off["az"].compute_nas_score(copy.deepcopy(net), None, None if given is None else [(given,)],
                                       None if given is not None else shape[2], shape[0])
    # Replay: kaiming init (official), Gaussian input, then one Bernoulli draw per block pair, last pair first.
    torch.manual_seed(seed)
    m = copy.deepcopy(net).train()
    off["az"].init_model(m, "kaiming_norm_fanin")
    inp = torch.randn(size=list(shape), dtype=torch.float32) if given is None else given
    feats = copy.deepcopy(m).extract_cell_features(inp)
    gs = []
    for i in reversed(range(1, len(feats))):
        g = (torch.bernoulli(torch.ones_like(feats[i]) * 0.5) - 0.5) * 2
        gs.append(g.detach().reshape(-1))
    vals = {k: f(info[k]) for k in ("expressivity", "progressivity", "trainability")}
    return vals, m, inp, torch.cat(gs), len(feats)


def run_vkdnw(off, net, shape, seed):
    # a flat (N, F) input: the official code draws (N, 3, H, W) images unless it is given a loader, so the replay's
    # input (drawn after the official init, as that code draws its own) is given as one
    flat = len(shape) == 2
    torch.manual_seed(seed)
    m = copy.deepcopy(net).train()
    off["vk"].init_model(m, "kaiming_norm_fanin")
    inp = torch.randn(size=list(shape), dtype=torch.float32)
    torch.manual_seed(seed)
    try:
        info = off["vk"].compute_nas_score(PairOutput(copy.deepcopy(net)), None, [(inp,)] if flat else None,
                                           None if flat else shape[2], shape[0], p=1.0)
        vals = {"vkdnw_dim": f(info["vkdnw_dim"]), "vkdnw_entropy": f(info["vkdnw_entropy"])}
    except RuntimeError as ex:
        # its per-sample Jacobians run the network on unbatched (C, H, W) samples, where nn.PReLU(C) reads H as
        # the channel count and raises; the replay still records the weights and inputs
        vals = {"error": str(ex)}
    if "error" not in vals:
        vals["entropy_float64"] = vkdnw_float64(off, m, inp)
    return vals, m, inp


def az_flat_error(off, net, shape, seed):
    """What the official AZ-NAS raises on a network whose block features are flat (N, C) (an MLP's), given a flat
    batch as its loader: it unpacks every feature as (b, c, h, w)."""
    torch.manual_seed(seed)
    try:
        off["az"].compute_nas_score(copy.deepcopy(net), None, [(torch.randn(size=list(shape)),)], None, shape[0])
    except ValueError as ex:
        return str(ex)
    raise AssertionError("the official AZ-NAS ran on flat features")


def jacobian_zero(net, x):
    """max |d(sum of outputs)/dx| of a float64 copy of `net` in train mode where it is below 1e-10 of the largest
    output (analytically zero: rounding noise), else None."""
    m = copy.deepcopy(net).double().train()
    xx = x.double().clone().requires_grad_(True)
    out = m(xx)
    out.backward(torch.ones_like(out))
    top = float(xx.grad.abs().max())
    return top if top < 1e-10 * float(out.abs().max()) else None


def vkdnw_float64(off, m, inp):
    """The official VKDNW steps on the same weights and input in float64 (its quantiles of a rank-deficient Fisher
    matrix sit at the float32 floor, where the float32 value is rounding noise): get_fisher, the singular values, the
    quantiles at torch.arange(0.1, 1., 0.1) (float32 levels, as the code makes them) and the entropy."""
    fisher = off["vk"].get_fisher(PairOutput(copy.deepcopy(m).double()), inp.double(), use_logits=False,
                                  params_grad_len=128, p=1.0)
    lam = torch.svd(fisher).S
    q = torch.quantile(lam, torch.arange(0.1, 1., 0.1).double())
    t = q / (torch.linalg.norm(q, ord=1).item() + 1e-10)
    return f(-(t * torch.log(t + 1e-10)).sum())


# --------------------------------------------------------------------------------------------------------------


def fixture(off, name, net, x, y, x2, y2, classes, seed, zennas, rand_shape, zen=True, viewed=False,
            parameter_list=False, pass_through=False):
    """One network: real-input proxies on (x, y) [and (x2, y2)], random-input ones on draws of `rand_shape`
    (`parameter_list`, `pass_through`: every file written as the Python client's export writes it)."""
    export = functools.partial(export_file, parameter_list=parameter_list, pass_through=pass_through)
    e = {"classes": classes, "onnx": export(net, f"{name}.onnx", x), "inputs": save_npy(f"{name}-x.npy", x),
         "labels": save_npy(f"{name}-y.npy", y), "inputs2": save_npy(f"{name}-x2.npy", x2),
         "labels2": save_npy(f"{name}-y2.npy", y2), "meco_input": save_npy(f"{name}-meco.npy", x[:1])}
    # PyTorch's parameter count (a tensor several modules share counts once)
    e["torch_params"] = sum(p.numel() for p in net.parameters())
    e["zc"] = run_zc(off, net, x, y, classes)
    e["naslib"] = run_naslib(off, net, x, y, classes)
    e["zico"] = run_zico(off, net, [(x, y), (x2, y2)])
    # the same official code in float64: ZiCo divides mean |gradient| by its spread over two batches, where float32
    # rounding can move the value beyond 1e-4 (a bias before a train-mode BN, max-pool ties); the reference engine
    # computes in float64
    e["zico_float64"] = run_zico(off, copy.deepcopy(net).double(), [(x.double(), y), (x2.double(), y2)])
    # the saliencies in float64 too: plain's Σ g ⊙ w cancels, and a LogSoftmax tail adds float32 rounding to the loss
    # (the logsoftmax fixture: the official float32 plain is 1.3e-4 from its float64 value)
    # (where the float32 run raised, fisher on a module called twice, so does this one)
    e["zc_float64"] = {k: or_error(lambda: f(off["zc"].find_measures(copy.deepcopy(net).double(), loader(x.double(), y),
                                                                   ("random", 1, classes), torch.device("cpu"),
                                                                   measure_names=[k])[k]))
                       for k in ("grad_norm", "snip", "plain", "fisher")}
    # GraSP's Σ −W ⊙ Hg cancels between layers: its float32 value can be 1e-4 from the same code in float64 (the
    # acts fixture: 0.0111589 vs 0.0111605); on the relu6 form where torch 1.13 lacks hardsigmoid's second derivative
    e["grasp_float64"] = f(off["zc"].find_measures(without_hard_gates(copy.deepcopy(net).double()), loader(x.double(), y),
                                                   ("random", 1, classes), torch.device("cpu"), measure_names=["grasp"])["grasp"])
    e["meco"] = run_meco(off, net, x[:1])
    # where the gradient of the outputs' sum w.r.t. the input vanishes analytically (a train-mode BatchNorm read only
    # through affine layers, as fastai's head ends: BatchNorm1d, Dropout, Linear), the official jacob_cov / jacov /
    # epe_nas measure rounding noise (its float32 and float64 runs disagree); its float64 size is recorded
    zero = jacobian_zero(net, x)
    if zero is not None:
        e["jacobian_zero"] = zero
    # NASLib zen only reads the shape of the batch it is given; a network without a global pool has no
    # forward_pre_GAP, so the official zen cannot run on it (swapnas gives null with the reason).
    if zen:
        try:
            z, (zm, zx, zmix) = run_zen_naslib(off, net, torch.zeros(rand_shape), y, seed)
        except (AttributeError, TypeError, RuntimeError) as ex:
            # NASLib's zen reads every BatchNorm2d's running_var: None without running statistics
            e["zen_naslib"] = {"error": str(ex)}
        else:
            e["zen_naslib"] = {"value": z, "onnx": export(zm, f"{name}-zen.onnx", zx),
                               "inputs": save_npy(f"{name}-zen-x.npy", zx), "mixup": save_npy(f"{name}-zen-mix.npy", zmix)}
    if zennas:
        z, (zm, zx, zmix) = run_zen_zennas(off, net, rand_shape, seed + 1)
        e["zen_zennas"] = {"value": z, "onnx": export(zm, f"{name}-zen2.onnx", zx),
                           "inputs": save_npy(f"{name}-zen2-x.npy", zx), "mixup": save_npy(f"{name}-zen2-mix.npy", zmix)}
    if len(rand_shape) == 2 and not viewed:
        e["az"] = {"error": az_flat_error(off, net, rand_shape, seed + 2)}
    else:
        vals, am, ax, ag, nf = run_az(off, net, rand_shape, seed + 2)
        names = ["logits"] + [f"feature{i}" for i in range(nf)]
        e["az"] = {**vals, "onnx": export(WithFeatures(am), f"{name}-az.onnx", ax, names), "features": names[1:],
                   "inputs": save_npy(f"{name}-az-x.npy", ax),
                   "cotangents": save_npy(f"{name}-az-g.npy", ag.to(torch.int8))}
    vals, vm, vx = run_vkdnw(off, net, rand_shape, seed + 3)
    e["vkdnw"] = {**vals, "onnx": export(vm, f"{name}-vk.onnx", vx), "inputs": save_npy(f"{name}-vk-x.npy", vx)}
    return e


def folded_too(build, cls, seed):
    """A fixture builder that also writes the network exported with constant folding (`folded_onnx`): the same
    network and weights, its GroupNorm γ, β read from the folded initializers."""
    def run():
        e = build()
        torch.manual_seed(seed)
        net = cls(10).train()
        e["folded_onnx"] = export(net, e["onnx"].replace(".onnx", "-folded.onnx"), torch.from_numpy(np.load(os.path.join(OUT, e["inputs"]))), fold=True)
        return e
    return run


def flat_fixture(off, seed, name="flatmlp", cls=FlatMlp, pool=8, first=(8, 2), second=(8, 12)):
    """A flat-input model's fixture builder: CIFAR batches average-pooled by `pool` and flattened (N, 3·(32/pool)²):
    the MLP on 48 features, or ViewNet on 768 that views them as images."""
    def build():
        torch.manual_seed(seed)
        flat = lambda b: (torch.flatten(F.avg_pool2d(b[0], pool), 1), b[1])
        x, y = flat(cifar(*first))
        x2, y2 = flat(cifar(*second))
        viewed = cls is not FlatMlp
        return fixture(off, name, cls(10).train(), x, y, x2, y2, 10, 100 * (seed + 2), zennas=False,
                       rand_shape=(8, x.shape[1]), zen=viewed, viewed=viewed)
    return build


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for k in ("zc", "naslib", "zico", "meco", "aznas", "vkdnw", "zennas"):
        p.add_argument(f"--{k}", required=True, help=f"checkout of the official {k} repository")
    p.add_argument("--only", choices=["zen-momentum", "lenet", "mobile", "mlphead", "leaky", "ceilpool", "shuffle", "gates", "acts", "searchcells", "rect", "samepad", "prelu", "containers", "tied", "functional", "callorder", "arith", "flatmlp", "logsoftmax", "softmax", "sigmoidtail", "chanarith", "flatview", "norms", "normtied", "convnext", "convnextcf", "statearith", "prelutrained", "avgpoolhead", "splitnet", "celunet", "preluchannels", "concatpool", "upsamplenet", "shortcuta", "prelupair", "cbamnet", "selinear", "ecanet", "bamsimam", "tuplenet", "layerscale", "passthrough", "decodernet", "bilinearnet"],
                   help="write only this fixture, merged into the existing expected.json (the others stay as they are)")
    a = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    off = load_official(a)
    out = {"sources": {k: commit_of(getattr(a, k)) for k in ("zc", "naslib", "zico", "meco", "aznas", "vkdnw", "zennas")},
           "torch": torch.__version__, "fixtures": {}}

    torch.manual_seed(0)
    net = ResNetish(10).train()
    zen_m = lambda: zen_momentum_fixture(off, (8, 3, 16, 16), 300, 0.01)

    def seeded(name, cls, seed, first, second, rand_shape, scale=1.0, **kw):
        """One fixture from its seed: two CIFAR batches (count, offset), the network, the random-input shape."""
        def build():
            torch.manual_seed(seed)
            x, y = cifar(*first)
            x2, y2 = cifar(*second)
            return fixture(off, name, cls(10).train(), scale * x, y, scale * x2, y2, 10, 100 * (seed + 2),
                           rand_shape=rand_shape, **kw)
        return build

    builders = {
        "lenet": seeded("lenet", LeNetBN, 2, (10, 0), (10, 10), (8, 3, 32, 32), zennas=False, zen=False),
        # ReLU6 clips at 6: inputs scaled up so that some units reach the clip on the real images too
        "mobile": seeded("mobile", MobileV2ish, 3, (8, 4), (8, 12), (8, 3, 16, 16), scale=4.0, zennas=True),
        "mlphead": seeded("mlphead", MlpHead, 4, (8, 2), (8, 11), (8, 3, 16, 16), zennas=True),
        "leaky": seeded("leaky", LeakyNet, 5, (8, 6), (8, 12), (8, 3, 16, 16), zennas=True),
        "ceilpool": seeded("ceilpool", CeilPools, 6, (8, 3), (8, 11), (8, 3, 16, 16), zennas=True),
        "shuffle": seeded("shuffle", ShuffleV2, 7, (8, 5), (8, 12), (8, 3, 16, 16), zennas=True),
        "gates": seeded("gates", MobileV3ish, 8, (8, 1), (8, 9), (8, 3, 16, 16), zennas=True),
        "acts": seeded("acts", ActsNet, 9, (8, 7), (8, 12), (8, 3, 16, 16), zennas=True),
        "searchcells": seeded("searchcells", SearchCells, 10, (8, 5), (8, 11), (8, 3, 16, 16), zennas=False),
        "rect": seeded("rect", RectConvs, 11, (8, 4), (8, 12), (8, 3, 16, 16), zennas=True),
        "samepad": seeded("samepad", SamePad, 12, (8, 2), (8, 10), (8, 3, 16, 16), zennas=True),
        "prelu": seeded("prelu", PReluNet, 13, (8, 6), (8, 12), (8, 3, 16, 16), zennas=True),
        "containers": seeded("containers", Containers, 14, (8, 3), (8, 12), (8, 3, 16, 16), zennas=True),
        "tied": seeded("tied", Tied, 15, (8, 5), (8, 12), (8, 3, 16, 16), zennas=True),
        "functional": seeded("functional", Functional, 16, (8, 2), (8, 12), (8, 3, 16, 16), zennas=False),
        "callorder": seeded("callorder", CallOrder, 18, (8, 6), (8, 11), (8, 3, 16, 16), zennas=True),
        "arith": seeded("arith", Arith, 19, (8, 3), (8, 11), (8, 3, 16, 16), zennas=True),
        "flatmlp": flat_fixture(off, 20),
        "logsoftmax": seeded("logsoftmax", lambda k: Tail(k, tail="log_softmax"), 21, (8, 1), (8, 9), (8, 3, 16, 16),
                             zennas=True),
        "softmax": seeded("softmax", lambda k: Tail(k, tail="softmax"), 22, (8, 5), (8, 12), (8, 3, 16, 16), zennas=True),
        "sigmoidtail": seeded("sigmoidtail", lambda k: Tail(k, tail="sigmoid"), 23, (8, 7), (8, 12), (8, 3, 16, 16),
                              zennas=True),
        "chanarith": seeded("chanarith", ChanArith, 24, (8, 4), (8, 12), (8, 3, 16, 16), zennas=True),
        "flatview": flat_fixture(off, 25, "flatview", ViewNet, 2, (8, 3), (8, 11)),
        "normtied": seeded("normtied", NormTied, 27, (8, 3), (8, 12), (8, 3, 16, 16), zennas=True),
        "norms": folded_too(seeded("norms", Norms, 26, (8, 2), (8, 12), (8, 3, 16, 16), zennas=True), Norms, 26),
        "convnext": folded_too(seeded("convnext", ConvNextish, 28, (8, 4), (8, 12), (8, 3, 16, 16), zennas=True),
                               ConvNextish, 28),
        # the official ConvNeXt's own channels_first LayerNorm (the statistics over axis 1 written out) for the stem and
        # the downsampling, and timm's head (a LayerNorm2d of the pooled map)
        "convnextcf": seeded("convnextcf", lambda k: ConvNextish(k, norm2d=ChannelsFirstLayerNorm, head2d=True), 29,
                             (8, 6), (8, 12), (8, 3, 16, 16), zennas=True),
        "statearith": folded_too(seeded("statearith", StateArith, 30, (8, 3), (8, 12), (8, 3, 16, 16), zennas=True),
                                 StateArith, 30),
        "prelutrained": folded_too(seeded("prelutrained", PReluTrained, 31, (8, 5), (8, 12), (8, 3, 16, 16),
                                          zennas=True), PReluTrained, 31),
        "avgpoolhead": seeded("avgpoolhead", AvgPoolHead, 33, (8, 2), (8, 9), (8, 3, 16, 16), zennas=True),
        "splitnet": seeded("splitnet", SplitNet, 34, (8, 6), (8, 12), (8, 3, 16, 16), zennas=True),
        "celunet": seeded("celunet", CeluNet, 32, (8, 7), (8, 11), (8, 3, 16, 16), zennas=True),
        "preluchannels": folded_too(seeded("preluchannels", PReluChannels, 35, (8, 3), (8, 12), (8, 3, 16, 16),
                                           zennas=True), PReluChannels, 35),
        "concatpool": seeded("concatpool", ConcatPoolHead, 36, (8, 1), (8, 10), (8, 3, 16, 16), zennas=True),
        "upsamplenet": seeded("upsamplenet", UpsampleNet, 37, (8, 4), (8, 12), (8, 3, 16, 16), zennas=True),
        "bilinearnet": seeded("bilinearnet", BilinearNet, 48, (8, 7), (8, 12), (8, 3, 16, 16), zennas=True),
        "decodernet": seeded("decodernet", DecoderNet, 47, (8, 6), (8, 12), (8, 3, 16, 16), zennas=True),
        "shortcuta": seeded("shortcuta", ShortcutA, 38, (8, 2), (8, 11), (8, 3, 16, 16), zennas=True),
        "prelupair": seeded("prelupair", PReluPair, 39, (8, 5), (8, 12), (8, 3, 16, 16), zennas=True),
        "cbamnet": seeded("cbamnet", CbamNet, 40, (8, 3), (8, 12), (8, 3, 16, 16), zennas=True),
        "selinear": seeded("selinear", SELinearNet, 41, (8, 6), (8, 11), (8, 3, 16, 16), zennas=True),
        "ecanet": seeded("ecanet", EcaNet, 42, (8, 2), (8, 10), (8, 3, 16, 16), zennas=True),
        "bamsimam": seeded("bamsimam", BamSimAm, 43, (8, 4), (8, 12), (8, 3, 16, 16), zennas=True),
        "tuplenet": seeded("tuplenet", TupleNet, 44, (8, 7), (8, 12), (8, 3, 16, 16), zennas=True),
        # nn.Parameters in arithmetic, the files naming them (the Python client's metadata)
        "layerscale": seeded("layerscale", LayerScaleNet, 45, (8, 3), (8, 11), (8, 3, 16, 16), zennas=True,
                             parameter_list=True),
        # modules returning their input (nn.Identity, empty nn.Sequential, DropPath(0)), their calls shown as the
        # Python client's export shows them (an Identity node each)
        "passthrough": seeded("passthrough", PassThroughNet, 46, (8, 5), (8, 12), (8, 3, 16, 16), zennas=True,
                              pass_through=True),
    }
    if a.only:
        with open(os.path.join(OUT, "expected.json")) as fh:
            out = json.load(fh)
        if a.only == "zen-momentum":
            out["fixtures"]["resnetish"]["zen_naslib_momentum"] = zen_m()
        else:
            out["fixtures"][a.only] = builders[a.only]()
        with open(os.path.join(OUT, "expected.json"), "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")
        return
    x, y = cifar(8)
    x2, y2 = cifar(8, 8)
    out["fixtures"]["resnetish"] = fixture(off, "resnetish", net, x, y, x2, y2, 10, 100, zennas=True, rand_shape=(8, 3, 16, 16))
    out["fixtures"]["resnetish"]["zen_naslib_momentum"] = zen_m()

    torch.manual_seed(1)
    net = Branchy(5).train()
    x = torch.randn(6, 3, 12, 12)
    y = torch.randint(0, 5, (6,))
    x2 = torch.randn(6, 3, 12, 12)
    y2 = torch.randint(0, 5, (6,))
    out["fixtures"]["branchy"] = fixture(off, "branchy", net, x, y, x2, y2, 5, 200, zennas=False, rand_shape=(6, 3, 12, 12))
    for k, build in builders.items():
        out["fixtures"][k] = build()

    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(json.dumps(out["fixtures"], indent=1))


if __name__ == "__main__":
    main()
