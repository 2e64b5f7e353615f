#!/usr/bin/python3
"""The OFFICIAL grasp (SamsungLabs/zero-cost-nas, through find_measures) on full-size NB201 networks (C=16, N=5,
32x32, batch 64 of the embedded CIFAR-10 test images, train-mode BN, PyTorch default init seeded per network), each
network exported to ONNX with its weights next to the batch, so bench/grasp-fullsize.mjs can score the very same
weights and data. Used by that script.

    /usr/bin/python3 bench/torch/grasp_fullsize.py --zc DIR --naslib DIR ... (flags of scripts/make_proxy_fixtures.py)
        --out DIR --threads 2 --arch ARCH [--arch ...]

Prints one JSON object {arch: {value, seconds, onnx, inputs, labels}} (seconds: wall time of the official call after
a warm-up call on the first network).
"""
import copy
import json
import os
import runpy
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = runpy.run_path(os.path.join(HERE, "proxies_official_nb201.py"), run_name="bench")
GEN = BENCH["GEN"]


def export(model, path, x):
    m = copy.deepcopy(model).train()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = 0.0
    torch.onnx.export(m, x, path, export_params=True, opset_version=13, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.TRAINING, input_names=["input"], output_names=["logits"])


def main():
    p = BENCH["official_parser"]()
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    off = GEN["load_official"](a)
    x, y = BENCH["cifar"](64)
    cpu = torch.device("cpu")
    grasp = lambda net: off["zc"].find_measures(net, [(x, y)], ("random", 1, 10), cpu, measure_names=["grasp"])["grasp"]
    out = {}
    for i, arch in enumerate(a.arch):
        torch.manual_seed(i)
        net = BENCH["Nb201"](arch).train()
        if i == 0:
            grasp(net)  # warm-up
        t0 = time.perf_counter()
        value = float(grasp(net))
        seconds = time.perf_counter() - t0
        stem = os.path.join(a.out, f"net{i}")
        export(net, stem + ".onnx", x)
        np.save(stem + "-x.npy", x.numpy())
        np.save(stem + "-y.npy", y.numpy().astype(np.int32))
        out[arch] = {"value": value, "seconds": seconds, "onnx": stem + ".onnx", "inputs": stem + "-x.npy",
                     "labels": stem + "-y.npy"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
