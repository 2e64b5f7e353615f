"""Export torchvision classifiers to ONNX as swapnas reads them (train mode, no constant folding, opset 13,
10 classes, 64x64 inputs, a dynamic batch): /usr/bin/python3 bench/torch/torchvision_export.py OUT_DIR NAME [NAME ...].
ConvNeXts are built with stochastic_depth_prob=0 (in train mode StochasticDepth would drop blocks at random)."""
import sys

import torch
import torchvision


def main():
    out, names = sys.argv[1], sys.argv[2:]
    torch.manual_seed(0)
    for name in names:
        kw = dict(stochastic_depth_prob=0.0) if name.startswith("convnext") else {}
        m = getattr(torchvision.models, name)(num_classes=10, **kw).train()
        torch.onnx.export(m, torch.randn(2, 3, 64, 64), f"{out}/{name}.onnx", opset_version=13,
                          training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}})
        print(name, sum(p.numel() for p in m.parameters()), "parameters")


if __name__ == "__main__":
    main()
