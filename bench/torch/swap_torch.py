#!/usr/bin/python3
"""PyTorch baseline for the SWAP-Score of NAS-Bench-201 networks.

What it measures
----------------
For each NAS-Bench-201 cell (given as an NB201 arch string) the script builds
the NB201 "TinyNetwork" macro network and, for a number of repeats, does what
the reference SWAP implementation does for one score:

  * init  : re-draw the weights (Conv2d / Linear weights ~ N(0, 1), biases 0,
            BatchNorm weight 1 / bias 0), seeded with seed + repeat;
  * fwd   : one forward pass of a batch of S images in train() mode (BatchNorm
            uses batch statistics) under torch.no_grad(), with forward hooks on
            every nn.ReLU whose input is 4-D storing the (detached) output;
  * count : the SWAP score, i.e. the number of distinct sample-wise activation
            patterns over all recorded neurons.

Two counting methods are available:

  official  flatten each recorded output to (S, -1), concatenate along dim 1
            into (S, V), torch.sign, transpose to (V, S) and count the rows of
            torch.unique(dim=0).
  packed    pack the S sign bits of every neuron into one int64 code (bit s is
            set when sample s activates the neuron; S <= 63) and count the
            distinct values with torch.unique on the 1-D code tensor.

Both give the same number, because ReLU outputs are >= 0 and so their signs
are 0 or 1.  With --check each repeat also computes the other method's count
on the same recorded activations (untimed) and asserts that they agree.

How to run
----------
Needs only torch + numpy + the standard library (Debian: python3-torch), e.g.

  /usr/bin/python3 bench/torch/swap_torch.py \\
      --arch '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|' \\
      --batch 16 --repeats 32 --threads 2 --method both --check --json out.json

Inputs default to the first S images of ../shared/data/cifar10_test_first20.bin
(relative to the repository root; CIFAR binary records of 1 label byte + 3072
pixel bytes), scaled to [0, 1] and normalised with the CIFAR-10 mean/std.
--gaussian uses a seeded N(0, 1) batch instead.  --archs FILE reads one arch
string per line.  Times are wall-clock seconds from time.perf_counter.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_IMAGES = os.path.join(REPO_ROOT, "..", "shared", "data", "cifar10_test_first20.bin")
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


# ---------------------------------------------------------------------------
# NAS-Bench-201 network
# ---------------------------------------------------------------------------

def parse_arch(arch):
    """'|op~src|+|...|+|...|' -> list (per node 1..3) of [(op, src), ...]."""
    nodes = []
    for group in arch.strip().split("+"):
        edges = []
        for entry in group.strip().strip("|").split("|"):
            op, src = entry.split("~")
            if op not in OPS:
                raise ValueError("unknown op %r in %r" % (op, arch))
            edges.append((op, int(src)))
        nodes.append(edges)
    if [len(e) for e in nodes] != [1, 2, 3]:
        raise ValueError("expected 3 nodes with 1, 2, 3 inputs: %r" % arch)
    for j, edges in enumerate(nodes, start=1):
        if sorted(s for _, s in edges) != list(range(j)):
            raise ValueError("node %d must take each of nodes 0..%d once: %r" % (j, j - 1, arch))
    return nodes


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


def relu_conv_bn(c_in, c_out, kernel, stride, padding):
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(c_out, affine=True),
    )


def make_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return Identity()
    if name == "nor_conv_1x1":
        return relu_conv_bn(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return relu_conv_bn(c, c, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(name)


class Cell(nn.Module):
    def __init__(self, nodes, c):
        super().__init__()
        self.sources = [[src for _, src in edges] for edges in nodes]
        self.edges = nn.ModuleList(
            nn.ModuleList(make_op(op, c) for op, _ in edges) for edges in nodes
        )

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
    """NB201 ResNet basic block used as the reduction between stages."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2, 1)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, arch, channels=16, cells=5, num_classes=10):
        super().__init__()
        nodes = parse_arch(arch)
        c = channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        )
        layers = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResBlock(c, 2 * c))
                c *= 2
            layers.extend(Cell(nodes, c) for _ in range(cells))
        self.layers = nn.Sequential(*layers)
        # As in the NB201 code, lastact's ReLU is in-place; this does not
        # change the recorded output.
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.lastact(self.layers(self.stem(x)))
        return self.classifier(self.pool(x).flatten(1))


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


def attach_relu_recorder(model):
    """Forward hooks on every nn.ReLU; returns the list they append to."""
    store = []

    def hook(module, inputs, output):
        if inputs[0].dim() == 4:
            store.append(output.detach())

    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(hook)
    return store


# ---------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------

def count_official(feats):
    s = feats[0].shape[0]
    acts = torch.cat([f.reshape(s, -1) for f in feats], dim=1)
    patterns = torch.sign(acts).t()
    return int(torch.unique(patterns, dim=0).shape[0])


def count_packed(feats):
    s = feats[0].shape[0]
    if s > 63:
        raise ValueError("packed method needs batch <= 63, got %d" % s)
    codes = []
    for f in feats:
        on = f.reshape(s, -1) > 0
        code = torch.zeros(on.shape[1], dtype=torch.int64)
        for i in range(s):
            code |= on[i].to(torch.int64) << i
        codes.append(code)
    return int(torch.unique(torch.cat(codes)).numel())


METHODS = {"official": count_official, "packed": count_packed}


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def load_cifar(path, n):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073 != 0:
        raise ValueError("%s: size %d is not a multiple of 3073" % (path, raw.size))
    recs = raw.reshape(-1, 3073)
    if recs.shape[0] < n:
        raise ValueError("%s holds %d images, %d requested" % (path, recs.shape[0], n))
    pix = recs[:n, 1:].reshape(n, 3, 32, 32).astype(np.float32) / 255.0
    x = torch.from_numpy(pix)
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def gaussian_batch(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g)


# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------

def bench_arch(arch, method, x, args):
    t0 = time.perf_counter()
    model = TinyNetwork(arch, args.channels, args.cells, args.classes)
    model.train()
    feats = attach_relu_recorder(model)
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    count = METHODS[method]
    other = METHODS["packed" if method == "official" else "official"]

    runs = []
    elapsed = 0.0
    for r in range(args.repeats):
        feats.clear()
        t_a = time.perf_counter()
        torch.manual_seed(args.seed + r)
        gaussian_init(model)
        t_b = time.perf_counter()
        with torch.no_grad():
            model(x)
        t_c = time.perf_counter()
        score = count(feats)
        t_d = time.perf_counter()
        run = {"score": score, "init_s": t_b - t_a, "forward_s": t_c - t_b,
               "count_s": t_d - t_c, "total_s": t_d - t_a}
        if args.check:
            ref = other(feats)
            if ref != score:
                raise AssertionError("%s: %s=%d but the other method gives %d (repeat %d)"
                                     % (arch, method, score, ref, r))
            run["checked"] = True
        runs.append(run)
        elapsed += run["total_s"]
        if args.max_seconds_per_arch is not None and elapsed > args.max_seconds_per_arch:
            break
    feats.clear()

    def col(k):
        return [run[k] for run in runs]

    return {
        "arch": arch, "method": method, "params": params,
        "build_s": build_s,
        "repeats_run": len(runs), "repeats_requested": args.repeats,
        "stopped_early": len(runs) < args.repeats,
        "score_mean": statistics.mean(col("score")),
        "score_min": min(col("score")), "score_max": max(col("score")),
        "total_s_sum": sum(col("total_s")),
        "total_s_median": statistics.median(col("total_s")),
        "total_s_mean": statistics.mean(col("total_s")),
        "init_s_median": statistics.median(col("init_s")),
        "forward_s_median": statistics.median(col("forward_s")),
        "count_s_median": statistics.median(col("count_s")),
        "forward_s_mean": statistics.mean(col("forward_s")),
        "count_s_mean": statistics.mean(col("count_s")),
        "runs": runs,
    }


def recorded_shape(arch, x, args):
    """Number of hooked ReLU outputs and total neurons V (one sample)."""
    model = TinyNetwork(arch, args.channels, args.cells, args.classes).train()
    feats = attach_relu_recorder(model)
    with torch.no_grad():
        model(x[:2])
    return len(feats), sum(f[0].numel() for f in feats)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", action="append", default=[], help="NB201 arch string (repeatable)")
    p.add_argument("--archs", help="file with one NB201 arch string per line")
    p.add_argument("--images", default=DEFAULT_IMAGES, help="CIFAR binary file")
    p.add_argument("--gaussian", action="store_true", help="seeded N(0,1) inputs instead of images")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=32)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--threads", type=int)
    p.add_argument("--method", choices=("official", "packed", "both"), default="official")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true",
                   help="also count with the other method on the same activations and assert equality")
    p.add_argument("--max-seconds-per-arch", type=float, default=None)
    p.add_argument("--json", help="write all results here")
    args = p.parse_args(argv)

    archs = list(args.arch)
    if args.archs:
        with open(args.archs) as fh:
            archs += [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]
    if not archs:
        p.error("give --arch or --archs")
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = ["official", "packed"] if args.method == "both" else [args.method]
    if "packed" in methods and args.batch > 63:
        p.error("packed method needs --batch <= 63")

    if args.gaussian:
        x = gaussian_batch(args.batch, args.seed)
        source = "gaussian(seed=%d)" % args.seed
    else:
        x = load_cifar(args.images, args.batch)
        source = os.path.abspath(args.images)

    print("torch %s, threads %d, batch %d, C=%d N=%d classes=%d, inputs %s"
          % (torch.__version__, torch.get_num_threads(), args.batch, args.channels,
             args.cells, args.classes, source))
    hdr = "%-8s %8s %7s %6s %10s %9s %9s %9s %9s  %s" % (
        "method", "params", "reps", "score", "sum_s", "med_s", "fwd_s", "count_s", "init_s", "arch")
    print(hdr)
    results = []
    for arch in archs:
        n_relu, v = recorded_shape(arch, x, args)
        per_method = {}
        for m in methods:
            res = bench_arch(arch, m, x, args)
            res["n_recorded_relus"] = n_relu
            res["neurons_per_sample"] = v
            per_method[m] = res
            results.append(res)
            print("%-8s %8d %3d/%-3d %6.1f %10.4f %9.4f %9.4f %9.4f %9.4f  %s" % (
                m, res["params"], res["repeats_run"], res["repeats_requested"],
                res["score_mean"], res["total_s_sum"], res["total_s_median"],
                res["forward_s_median"], res["count_s_median"], res["init_s_median"], arch))
        if len(per_method) == 2:
            a = [r["score"] for r in per_method["official"]["runs"]]
            b = [r["score"] for r in per_method["packed"]["runs"]]
            n = min(len(a), len(b))
            if a[:n] != b[:n]:
                print("  note: per-repeat scores differ between the two runs: %s vs %s" % (a[:n], b[:n]))

    if args.json:
        out = {
            "config": {k: v for k, v in vars(args).items()},
            "inputs": source,
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "processor": platform.processor(),
            "threads": torch.get_num_threads(),
            "results": results,
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
        print("wrote", args.json)


if __name__ == "__main__":
    main()
