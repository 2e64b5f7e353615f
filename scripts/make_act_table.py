"""Writes test/fixtures/activations-torch.json: PyTorch's value, first and second derivative (autograd, float64) of
every function the IR's `act` op holds (smooth activations, PReLU, arithmetic with a constant and 1 / x), at points that reach each function's branches and tails
(ELU / SELU at 0, softplus's threshold 20, GELU's erf tail at -25, overflow of e^x at 100).

Usage: /usr/bin/python3 scripts/make_act_table.py   (Debian python3-torch; deterministic)
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "activations-torch.json")
XS = [-100.0, -25.0, -20.5, -20.0, -10.0, -5.0, -3.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 5.0, 10.0,
      19.99, 20.0, 20.01, 25.0, 100.0]
MODULES = {
    "tanh": (nn.Tanh(), None),
    "elu": (nn.ELU(alpha=0.7), 0.7),
    "selu": (nn.SELU(), None),
    "softplus": (nn.Softplus(), None),
    "gelu": (nn.GELU(), None),
    "mish": (nn.Mish(), None),
    "gelu_tanh": (nn.GELU(approximate="tanh"), None),
    "celu": (nn.CELU(alpha=0.7), 0.7),
    # arithmetic with a Python number, as a model's forward writes it (x * 0.3, x / 3, x - 0.25)
    "scale": (lambda x: x * 0.3, 0.3),
    "divide": (lambda x: x / 3, 3),
    "shift": (lambda x: x - 0.25, -0.25),
    # a trained nn.PReLU's slope (negative), through F.prelu as the module calls it
    "prelu": (lambda x: F.prelu(x.reshape(1), torch.tensor([-0.3], dtype=torch.float64)).reshape(()), -0.3),
    # torch.reciprocal (a division by a tensor imports as a product with it): infinite at 0
    "reciprocal": (torch.reciprocal, None),
}


def main():
    out = {"torch": torch.__version__, "xs": XS, "functions": {}}
    for fn, (module, alpha) in MODULES.items():
        rows = []
        for x0 in XS:
            x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            y = module(x)
            (d1,) = torch.autograd.grad(y, x, create_graph=True)
            (d2,) = torch.autograd.grad(d1, x) if d1.requires_grad else (torch.zeros((), dtype=torch.float64),)
            # JSON has no infinities: written as the strings JavaScript's Number() reads ("Infinity", "-Infinity")
            rows.append([v if abs(v) != float("inf") else str(v).replace("inf", "Infinity") for v in
                         (y.item(), d1.item(), d2.item())])
        out["functions"][fn] = {"alpha": alpha, "values": rows}
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
