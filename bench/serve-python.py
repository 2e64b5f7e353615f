"""Round-trip cost of the Python client (clients/python) per transport, against a warm `swapnas serve`.

Usage (after `npm run build`): python3 bench/serve-python.py [--n 100] [--pings 300] [--rounds 3]

For each round and transport (stdio: `start()`; HTTP: `serve --http 0` + `connect(url)`, which keeps its
connection alive): --pings sequential `health` calls (the transport alone), then --n sequential one-cell `score`
calls (a loop that waits for each answer), cycling over five of bench/native-cells.mjs' hand-picked NB201 cells.
On the same HTTP server, the same calls are also sent the way the client did before it kept connections
(urllib.request: a new connection and a thread per call), for a before/after in one run. Prints milliseconds per
call, wall (time.perf_counter) and this process's CPU (time.process_time).
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import Future

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import swapnas  # noqa: E402

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
]
CLI = ["node", os.path.join(ROOT, "dist", "cli", "main.js")]


def timed(fn, n):
    w, c = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(i)
    return round((time.perf_counter() - w) * 1000 / n, 3), round((time.process_time() - c) * 1000 / n, 3)


def measure(client, n, pings):
    client.health()
    # reg-SWAP, as the runs this bench was recorded with (the default, the ensemble, adds its second pass)
    client.score(CELLS[0], fitness="reg-swap")  # warm: batch, μ/σ, weights
    ping = timed(lambda i: client.health(), pings)
    lone = timed(lambda i: client.score(CELLS[i % len(CELLS)], fitness="reg-swap"), n)
    return {"pingMs": ping[0], "pingClientCpuMs": ping[1], "scoreMs": lone[0], "scoreClientCpuMs": lone[1]}


class UrllibClient:
    """The client's HTTP transport before it kept connections: urllib.request, a new connection per call."""

    def __init__(self, url):
        self.url = url.rstrip("/") + "/rpc"

    def _call(self, method, params=None):
        body = json.dumps({"id": 1, "method": method, **({"params": params} if params else {})}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"content-type": "application/json"}, method="POST")
        fut = Future()

        def run():
            with urllib.request.urlopen(req) as res:
                fut.set_result(json.loads(res.read()))

        threading.Thread(target=run, daemon=True).start()
        return fut.result()["result"]

    def health(self):
        return self._call("health")

    def score(self, arch, fitness=None):
        return self._call("score", {"archs": [arch], "fitness": fitness})


def http_server():
    proc = subprocess.Popen(CLI + ["serve", "--http", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return proc, json.loads(proc.stdout.readline())["url"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--pings", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    rounds = []
    for _ in range(a.rounds):
        load0 = os.getloadavg()
        with swapnas.start(CLI) as c:
            stdio = measure(c, a.n, a.pings)
        proc, url = http_server()
        try:
            http = measure(swapnas.connect(url), a.n, a.pings)
            http_before = measure(UrllibClient(url), a.n, a.pings)
        finally:
            proc.terminate()
            proc.wait()
        rounds.append({"stdio": stdio, "http": http, "httpNewConnectionEachCall": http_before, "load": "%.2f → %.2f" % (load0[0], os.getloadavg()[0])})
        print(json.dumps(rounds[-1]), file=sys.stderr)
    print(json.dumps({"n": a.n, "pings": a.pings, "rounds": rounds}, indent=1))


if __name__ == "__main__":
    main()
