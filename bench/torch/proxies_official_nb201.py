#!/usr/bin/python3
"""Seconds per call of each OFFICIAL proxy implementation on full-size NB201 networks (C=16, N=5, 32x32, the
benchmark's network as bench/torch/swap_torch.py builds it) at each proxy's official batch, with
torch.set_num_threads(THREADS). Used by bench/proxies-native-vs-official.mjs.

    /usr/bin/python3 bench/torch/proxies_official_nb201.py --threads 2 --arch ARCH [--arch ...] <official checkout
        flags as in scripts/make_proxy_fixtures.py> [--only jacob_cov,epe_nas,zico,vkdnw] [--clock wall|cpu]

Prints one JSON object {arch: {proxy: seconds}} (one call each; the first architecture is run twice and its first,
warm-up call dropped). `--clock cpu` reports the process's CPU time (all of torch's threads) instead of wall time,
the stable measure on a shared machine. The official code is loaded exactly as the fixture generator does.
"""
import argparse
import copy
import json
import os
import runpy
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = runpy.run_path(os.path.join(HERE, "..", "..", "scripts", "make_proxy_fixtures.py"), run_name="fixtures")
NB201 = runpy.run_path(os.path.join(HERE, "swap_torch.py"), run_name="nb201")


class Nb201(NB201["TinyNetwork"]):
    """The NB201 network with the hooks the official AZ-NAS, Zen and VKDNW code call (as their NB201 models have)."""

    def extract_cell_features(self, x):
        f = self.stem(x)
        feats = [f]
        for layer in self.layers:
            f = layer(f)
            feats.append(f)
        return feats

    def forward_pre_GAP(self, x):
        return self.lastact(self.layers(self.stem(x)))

    forward_before_global_avg_pool = forward_pre_GAP


IMAGES = os.path.join(HERE, "..", "..", "data", "cifar10_test_jpeg1000.bin")


def cifar(n, offset=0):
    """n CIFAR-10 test records (JPEG round-tripped, as embedded for swapnas), normalised; content does not affect time."""
    raw = np.fromfile(IMAGES, dtype=np.uint8).reshape(-1, 3073)[offset : offset + n]
    x = raw[:, 1:].reshape(n, 3, 32, 32).astype(np.float32) / 255.0
    mean = np.array(NB201["CIFAR_MEAN"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(NB201["CIFAR_STD"], dtype=np.float32).reshape(1, 3, 1, 1)
    return torch.from_numpy((x - mean) / std), torch.from_numpy(raw[:, 0].astype(np.int64))


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}


def time_arch(off, arch, only=None, clock="wall"):
    now = CLOCK[clock]

    def seconds(fn):
        t0 = now()
        fn()
        return now() - t0

    net = Nb201(arch).train()
    x, y = cifar(64)
    x2, y2 = cifar(64, 64)
    cpu = torch.device("cpu")
    calls = {}
    zc = lambda m, b: off["zc"].find_measures(net, [(x[:b], y[:b])], ("random", 1, 10), cpu, measure_names=[m])
    for m in ("grad_norm", "snip", "fisher", "plain", "grasp", "jacob_cov"):
        calls[m] = lambda m=m: zc(m, 64)
    for m in ("synflow", "synflow_bn"):
        calls[m] = lambda m=m: zc(m, 1)
    nl = lambda m, b: off["naslib"].find_measures(net, [(x[:b], y[:b])], ("random", 1, 10), cpu, F.cross_entropy,
                                                  measure_names=[m])
    calls["epe_nas"] = lambda: nl("epe_nas", 32)
    calls["nwot"] = lambda: nl("nwot", 32)
    calls["l2_norm"] = lambda: nl("l2_norm", 64)
    calls["zico"] = lambda: GEN["run_zico"](off, net, [(x, y), (x2, y2)])
    calls["meco"] = lambda: GEN["run_meco"](off, net, x[:1])
    calls["zen"] = lambda: off["zennas"].compute_nas_score(None, copy.deepcopy(net), 1e-2, 32, 64, repeat=1)
    calls["az"] = lambda: off["az"].compute_nas_score(copy.deepcopy(net), None, None, 32, 64)
    calls["vkdnw"] = lambda: off["vk"].compute_nas_score(GEN["PairOutput"](copy.deepcopy(net)), None, None, 32, 64, p=1.0)
    return {m: seconds(fn) for m, fn in calls.items() if only is None or m in only}


def official_parser():
    """Flags shared by the official-code benches: the checkouts (as scripts/make_proxy_fixtures.py), threads, archs."""
    p = argparse.ArgumentParser()
    for k in ("zc", "naslib", "zico", "meco", "aznas", "vkdnw", "zennas"):
        p.add_argument(f"--{k}", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--arch", action="append", required=True)
    return p


def main():
    p = official_parser()
    p.add_argument("--only", default=None, help="comma-separated official proxy names (default: all)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    a = p.parse_args()
    only = a.only.split(",") if a.only else None
    torch.set_num_threads(a.threads)
    off = GEN["load_official"](a)
    torch.manual_seed(0)
    time_arch(off, a.arch[0], only, a.clock)  # warm-up
    print(json.dumps({arch: time_arch(off, arch, only, a.clock) for arch in a.arch}))


if __name__ == "__main__":
    main()
