#!/usr/bin/python3
"""Seconds per call of each OFFICIAL proxy implementation on the ResNetish fixture network (the same weights, inputs
and labels as test/fixtures/proxies/resnetish*), with torch.set_num_threads(THREADS). Used by bench/proxies-vs-official.mjs.

    /usr/bin/python3 bench/torch/proxies_official_time.py --threads 2 --repeats 3 <official checkout flags as in
        scripts/make_proxy_fixtures.py>

Prints one JSON object {proxy: median seconds}. The official code is loaded exactly as the fixture generator does.
"""
import argparse
import copy
import json
import os
import runpy
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = runpy.run_path(os.path.join(HERE, "..", "..", "scripts", "make_proxy_fixtures.py"), run_name="fixtures")


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


def main():
    p = argparse.ArgumentParser()
    for k in ("zc", "naslib", "zico", "meco", "aznas", "vkdnw", "zennas"):
        p.add_argument(f"--{k}", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    off = GEN["load_official"](a)
    torch.manual_seed(0)
    net = GEN["ResNetish"](10).train()
    x, y = GEN["cifar"](8)
    x2, y2 = GEN["cifar"](8, 8)
    cpu = torch.device("cpu")
    loader = [(x, y)]
    out = {}
    for m in ("grad_norm", "snip", "fisher", "jacob_cov", "plain", "synflow", "synflow_bn"):
        out[m] = median_time(lambda: off["zc"].find_measures(net, loader, ("random", 1, 10), cpu, measure_names=[m]), a.repeats)
    for m in ("epe_nas", "nwot", "l2_norm"):
        out[m] = median_time(
            lambda: off["naslib"].find_measures(net, loader, ("random", 1, 10), cpu, F.cross_entropy, measure_names=[m]),
            a.repeats,
        )
    out["zico"] = median_time(lambda: GEN["run_zico"](off, net, [(x, y), (x2, y2)]), a.repeats)
    out["meco"] = median_time(lambda: GEN["run_meco"](off, net, x[:1]), a.repeats)
    shape = (8, 3, 16, 16)
    out["zen"] = median_time(lambda: off["zennas"].compute_nas_score(None, copy.deepcopy(net), 1e-2, 16, 8, repeat=1), a.repeats)
    out["az"] = median_time(lambda: off["az"].compute_nas_score(copy.deepcopy(net), None, None, 16, 8), a.repeats)
    out["vkdnw"] = median_time(
        lambda: off["vk"].compute_nas_score(GEN["PairOutput"](copy.deepcopy(net)), None, None, 16, 8, p=1.0), a.repeats
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
