#!/usr/bin/python3
"""PyTorch-autograd fixtures for swapnas' reverse mode (test/grad-torch.test.ts).

Run through the ONNX fixture script with Debian's python3-torch (torch 1.13):

    /usr/bin/python3 scripts/make_onnx_fixtures.py grad       # writes test/fixtures/grad/

Each fixture is a small network with non-trivial weights (PyTorch default init, then BN γ/β and conv/linear biases
randomised so that their gradients are not degenerate), exported to ONNX in training mode with its weights, plus a
JSON file with a Gaussian input batch, integer labels and what torch autograd computes for the mean cross-entropy
F.cross_entropy(model(x), labels) in train mode (BN with batch statistics): the loss, the logits, the gradient of every
named parameter and the gradient w.r.t. the input — once in float32 (the model as exported) and once in float64
(the same float32 values widened; a much tighter reference for swapnas' float64 path).

Arrays are stored as base64 of little-endian float32 / float64 bytes, keyed by torch's parameter names, which are
the ONNX initializer names of the exported file.
"""

import base64
import copy
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from make_onnx_fixtures import ARCH_A, ARCH_B, TinyNetwork, Zero

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "grad")


def b64(t, dtype):
    return base64.b64encode(t.detach().cpu().numpy().astype(dtype).tobytes()).decode("ascii")


class OpsNet(nn.Module):
    """Every IR op in one network: conv (plain, grouped+strided, dilated depthwise, pointwise, strided 1x1), BN
    (affine and not), ReLU, max/avg pool (both count_include_pad), add, concat, channel and spatial slices, zero
    (x * 0), global average pool, Linear (Gemm) and a MatMul + bias head."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2, bias=True)
        self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8, affine=False)
        self.maxpool = nn.MaxPool2d(3, stride=1, padding=1)
        self.avg_in = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True)
        self.avg_ex = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.fr1 = nn.Conv2d(8, 4, 1, stride=2, bias=False)
        self.fr2 = nn.Conv2d(8, 4, 1, stride=2, bias=False)
        self.zero = Zero()
        self.pw = nn.Conv2d(8, 12, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(12)
        self.fc1 = nn.Linear(12, 16)
        self.w2 = nn.Parameter(torch.randn(16, classes) / 4)
        self.b2 = nn.Parameter(torch.randn(classes) / 10)

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        b = self.conv2(a)
        c = self.bn2(self.dw(F.relu(b)))
        m = self.maxpool(c)
        p1 = self.avg_in(a)
        p2 = self.avg_ex(a)
        ra = F.relu(a)
        fr = torch.cat([self.fr1(ra), self.fr2(ra[:, :, 1:, 1:])], dim=1)
        mix = torch.cat([m[:, :4], p1[:, 4:]], dim=1)
        t = m + p1 + fr + self.zero(p2) + mix + p2
        h = F.relu(self.bn3(self.pw(t)))
        h = F.relu(self.fc1(h.mean(dim=(2, 3))))
        return h.matmul(self.w2) + self.b2


def randomise(model, gen):
    """Non-trivial BN affine parameters and biases (default init leaves γ = 1, β = 0)."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d) and mod.affine:
                mod.weight.copy_(1 + 0.3 * torch.randn(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.3 * torch.randn(mod.bias.shape, generator=gen))
            elif isinstance(mod, (nn.Conv2d, nn.Linear)) and mod.bias is not None:
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=gen))


def autograd(model, x, labels, dtype):
    """Loss, logits and gradients of torch autograd in train mode, on a copy (BN running stats must not leak)."""
    m = copy.deepcopy(model).to(dtype).train()
    xi = x.detach().clone().to(dtype).requires_grad_(True)
    logits = m(xi)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = {name: p.grad for name, p in m.named_parameters()}
    return loss.item(), logits, grads, xi.grad


def fixture(name, model, batch, shape, classes, seed, note):
    gen = torch.Generator().manual_seed(1000 + seed)
    randomise(model, gen)
    x = torch.randn((batch,) + shape, generator=gen)
    labels = torch.randint(0, classes, (batch,), generator=gen)
    onnx_path = os.path.join(OUT, name + ".onnx")
    model.train()
    torch.onnx.export(
        copy.deepcopy(model), x, onnx_path, export_params=True, opset_version=17, do_constant_folding=False,
        training=torch.onnx.TrainingMode.TRAINING, input_names=["input"], output_names=["logits"],
    )
    l32, logits32, g32, x32 = autograd(model, x, labels, torch.float32)
    l64, logits64, g64, x64 = autograd(model, x, labels, torch.float64)
    entry = {
        "file": name + ".onnx", "note": note, "torch": torch.__version__, "batch": batch, "input_shape": list(shape),
        "classes": classes, "labels": labels.tolist(), "input": b64(x, np.float32),
        "loss32": l32, "loss64": l64, "logits32": b64(logits32, np.float32), "logits64": b64(logits64, np.float64),
        "input_grad32": b64(x32, np.float32), "input_grad64": b64(x64, np.float64),
        "grads32": {k: b64(v, np.float32) for k, v in g32.items()},
        "grads64": {k: b64(v, np.float64) for k, v in g64.items()},
    }
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(entry, fh, indent=1, sort_keys=True)
        fh.write("\n")
    n = sum(p.numel() for p in model.parameters())
    print("%-14s %6d params  loss %.6f  %s" % (name, n, l64, note))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    fixture("nb201_a", TinyNetwork(ARCH_A, C=4, N=1), 4, (3, 16, 16), 10, 0, "NB201 C=4 N=1 " + ARCH_A)
    torch.manual_seed(1)
    fixture("nb201_b", TinyNetwork(ARCH_B, C=4, N=1, classes=5), 5, (3, 12, 12), 5, 1, "NB201 C=4 N=1 " + ARCH_B)
    torch.manual_seed(2)
    fixture("opsnet", OpsNet(), 4, (3, 12, 12), 10, 2, "every IR op, incl. grouped/dilated/depthwise conv and a MatMul head")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
