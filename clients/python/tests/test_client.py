"""Tests of the Python client against a real ``swapnas serve`` (run by test/python-client.test.ts under npm test).

$SWAPNAS_CMD is the server command (e.g. ``node dist/cli/main.js``); $SWAPNAS_REQUIRE_TORCH=1 turns a missing
PyTorch into a failure instead of a skip (CI installs python3-torch).
"""

import base64
import copy
import json
import math
import os
import shlex
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import swapnas  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ONNX = os.path.join(ROOT, "test", "fixtures", "onnx", "headnet.onnx")
A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
TINY = dict(channels=4, cells=1, gaussian=True, input_size=8, batch=8, repeats=2, backend="reference", fitness="reg-swap")
# Tests of the client's mechanics pin reg-SWAP (the default ensemble would score a reference set for these settings);
# the default fitness has its own test, on the native backend where its reference set takes about a second.
TINY_FLAGS = "--channels 4 --cells 1 --gaussian --input-size 8 --batch 8 --repeats 2 --backend reference --fitness reg-swap".split()
TINY_NATIVE = dict(channels=4, cells=1, gaussian=True, input_size=8, batch=8, repeats=2, backend="native")
TINY_NATIVE_FLAGS = "--channels 4 --cells 1 --gaussian --input-size 8 --batch 8 --repeats 2 --backend native".split()

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
REQUIRE_TORCH = os.environ.get("SWAPNAS_REQUIRE_TORCH") == "1"


def command():
    return shlex.split(os.environ["SWAPNAS_CMD"])


def cli(*args):
    out = subprocess.run(command() + list(args) + ["--no-progress"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class StdioClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = swapnas.start(command())

    @classmethod
    def tearDownClass(cls):
        status = cls.client.close(timeout=120)
        if status != 0:
            raise AssertionError("swapnas serve exited with %r" % status)

    def test_score_equals_cli(self):
        got = self.client.score([A, B], space="nb201", truth=True, seed=3, **TINY)
        self.assertEqual(got, cli("score", A, B, *TINY_FLAGS, "--truth", "--seed", "3"))
        self.assertEqual([r["arch"] for r in got["results"]], [A, B])
        self.assertGreater(got["results"][0]["truth"]["cifar10"], 50)
        one = self.client.score(A, **TINY)  # a single string is a list of one
        self.assertEqual(one["results"], cli("score", A, *TINY_FLAGS)["results"])

    def test_fitness_default_ensemble_and_reg_swap_equal_cli(self):
        # the default fitness, as `swapnas score` with no --fitness: on Gaussian images (no class labels), the label-free ensemble
        ens = self.client.score([A, B], **TINY_NATIVE)
        self.assertEqual(ens, cli("score", A, B, *TINY_NATIVE_FLAGS))
        self.assertIn("meco", ens["settings"]["ensemble"]["members"])
        self.assertIsInstance(ens["results"][0]["ensemble"]["fitness"], float)
        named = self.client.score(A, fitness="ensemble", **TINY_NATIVE)
        self.assertEqual(named["results"], ens["results"][:1])
        reg = self.client.score(A, fitness="reg-swap", **TINY_NATIVE)
        self.assertEqual(reg, cli("score", A, *TINY_NATIVE_FLAGS, "--fitness", "reg-swap"))
        self.assertNotIn("ensemble", reg["results"][0])
        self.assertEqual(reg["results"][0]["regSwap"], ens["results"][0]["regSwap"])
        with self.assertRaises(swapnas.SwapnasError) as e:
            self.client.score(A, fitness="nope", **TINY_NATIVE)
        self.assertEqual(e.exception.code, "E_OPTION")

    def test_score_each_pipelines_and_equals_score(self):
        archs = [A, B, A, B, B, A]
        rows = list(self.client.score_each(archs, window=4, **TINY))
        self.assertEqual(rows, self.client.score(archs, **TINY)["results"])
        with self.assertRaises(swapnas.SwapnasError) as e:
            list(self.client.score_each([A, "|bad~0|"], **TINY))
        self.assertEqual(e.exception.code, "E_ARCH_SYNTAX")

    def test_errors_are_coded_and_the_server_stays_up(self):
        with self.assertRaises(swapnas.SwapnasError) as e:
            self.client.score(["|bad~0|"], **TINY)
        self.assertEqual(e.exception.code, "E_ARCH_SYNTAX")
        with self.assertRaises(swapnas.SwapnasError) as e:
            self.client.score([A], colour="red")
        self.assertEqual(e.exception.code, "E_REQUEST")
        with self.assertRaises(swapnas.SwapnasError) as e:
            self.client.score([A], dataset="mnist")
        self.assertEqual(e.exception.code, "E_DATASET")
        self.assertEqual(self.client.health()["status"], "ok")
        self.assertIn("reference", [b["name"] for b in self.client.backends()])
        self.assertIn("swap", [p["name"] for p in self.client.proxies()])

    def test_score_onnx_path_and_bytes_equal_cli(self):
        want = cli("score", ONNX, "--reinit", "--repeats", "3")
        self.assertEqual(self.client.score_onnx(ONNX, reinit=True, repeats=3), want)
        with open(ONNX, "rb") as f:
            by_bytes = self.client.score_onnx(data=f.read(), reinit=True, repeats=3)
        self.assertEqual(by_bytes["settings"], want["settings"])
        self.assertEqual(dict(by_bytes["results"][0], model=ONNX), want["results"][0])

    def test_cancel(self):
        rid, fut = self.client.submit(
            "score", {"archs": [A], "channels": 16, "cells": 5, "repeats": 64, "backend": "reference", "mu": 1, "sigma": 1,
             "fitness": "reg-swap"}
        )
        self.assertTrue(self.client.cancel(rid))
        reply = fut.result(120)
        self.assertEqual(reply["error"]["code"], "E_CANCELLED")
        self.assertFalse(self.client.cancel(rid))

    @unittest.skipUnless(torch is not None or REQUIRE_TORCH, "PyTorch is not installed")
    def test_score_torch_equals_cli_on_the_exported_file(self):
        if torch is None:
            self.fail("SWAPNAS_REQUIRE_TORCH=1 but PyTorch is not installed")
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.Conv2d(8, 8, 3, padding=1, stride=2),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(8, 10),
        )
        net.eval()
        net[4].momentum = 0.25
        with torch.no_grad():
            net[1].running_var.copy_(torch.linspace(0.5, 2.0, 8))
        before = net[1].running_mean.clone()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "net.onnx")
            got = self.client.score_torch(net, torch.randn(16, 3, 32, 32), onnx_path=path)
            data = open(path, "rb").read()
            # the file holds the module's running statistics (VKDNW and Zen read them), not those the export's
            # train-mode forward would move, and each BN's momentum (ONNX: 1 - PyTorch's)
            for stats in (net[1].running_var, net[4].running_mean):
                self.assertTrue(struct.pack("<8f", *stats.tolist()) in data, "the module's running statistics")
            momenta = [struct.unpack("<f", data[i + 11 : i + 15])[0] for i in range(len(data)) if data.startswith(b"\x0a\x08momentum\x15", i)]
            self.assertEqual(momenta, [struct.unpack("<f", struct.pack("<f", v))[0] for v in (0.9, 0.75)])
            self.assertEqual(dict(got["results"][0], model=path), cli("score", path)["results"][0])
            self.assertEqual(got["results"][0]["warnings"], [])  # BN exported in training mode
            again = self.client.score_torch(net, torch.randn(16, 3, 32, 32), reinit=True, repeats=2)
            self.assertEqual(again["results"][0]["swap"], cli("score", path, "--reinit", "--repeats", "2")["results"][0]["swap"])
        self.assertFalse(net.training)  # the caller's module is untouched
        self.assertTrue(torch.equal(before, net[1].running_mean))

        # any buffer the forward updates keeps the caller's value, however it is updated (F.batch_norm here)
        class Functional(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(3, 4, 3)
                self.register_buffer("rm", torch.tensor([0.25, -0.5, 0.75, 1.5]))
                self.register_buffer("rv", torch.tensor([1.25, 2.5, 0.5, 3.0]))

            def forward(self, x):
                return torch.nn.functional.batch_norm(self.conv(x), self.rm, self.rv, training=True, momentum=0.1)

        fn = Functional()
        data = swapnas.export_torch(fn, torch.randn(4, 3, 8, 8))
        for stats in (fn.rm, fn.rv):
            self.assertTrue(struct.pack("<4f", *stats.tolist()) in data, "the module's buffers")

        # the file runs at any batch whatever the example's: a traced view(x.size(0), -1) stays dynamic
        class Viewed(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv, self.bn, self.fc = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.Linear(256, 10)

            def forward(self, x):
                y = torch.relu(self.bn(self.conv(x)))
                return self.fc(y.view(y.size(0), -1))

        viewed = Viewed()
        small = self.client.score_torch(viewed, torch.randn(2, 3, 8, 8))["results"][0]["swap"]
        self.assertEqual(small, self.client.score_torch(viewed, torch.randn(16, 3, 8, 8))["results"][0]["swap"])
        # where torch.onnx refuses a dynamic batch (a BatchNorm without running statistics, NB201's search cells), the
        # example's batch
        search = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1),
                                     torch.nn.BatchNorm2d(4, affine=False, track_running_stats=False), torch.nn.ReLU())
        self.assertGreater(self.client.score_torch(search, torch.randn(16, 3, 8, 8))["results"][0]["swap"], 0)

    @unittest.skipUnless(torch is not None or REQUIRE_TORCH, "PyTorch is not installed")
    def test_score_torch_with_proxies_equals_cli(self):
        if torch is None:
            self.fail("SWAPNAS_REQUIRE_TORCH=1 but PyTorch is not installed")
        torch.manual_seed(1)

        class LayerScale(torch.nn.Module):
            # an nn.Parameter read in arithmetic: the exported file lists it, so params counts it as PyTorch does
            def __init__(self):
                super().__init__()
                self.gamma = torch.nn.Parameter(torch.linspace(0.5, 1.5, 8).view(8, 1, 1))

            def forward(self, x):
                return self.gamma * x

        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            LayerScale(),
            torch.nn.Identity(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(8, 10),
        )
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "net.onnx")
            # the embedded CIFAR-10 images carry the labels grad_norm and snip need
            got = self.client.score_torch(net, torch.randn(8, 3, 32, 32), onnx_path=path,
                                          proxies="grad_norm,snip,synflow,params", proxy_batch=8)
            want = cli("score", path, "--proxies", "grad_norm,snip,synflow,params", "--proxy-batch", "8")
        self.assertEqual(got["results"][0]["proxies"], want["results"][0]["proxies"])
        self.assertEqual(got["settings"]["proxies"], want["settings"]["proxies"])
        self.assertEqual(got["results"][0]["proxies"]["params"], sum(p.numel() for p in net.parameters()))
        # a plain export does not list the parameters: the layer scale reads as a buffer unless `learned` names it
        with tempfile.TemporaryDirectory() as d:
            plain = os.path.join(d, "plain.onnx")
            torch.onnx.export(copy.deepcopy(net).train(), torch.randn(8, 3, 32, 32), plain, opset_version=13,
                              do_constant_folding=False, training=torch.onnx.TrainingMode.TRAINING)
            params = lambda **kw: self.client.score_onnx(plain, proxies="params", **kw)["results"][0]["proxies"]["params"]
            self.assertEqual(params(), sum(p.numel() for p in net.parameters()) - 8)
            self.assertEqual(params(learned="gamma$"), sum(p.numel() for p in net.parameters()))
        # the nn.Identity call (MeCo's hooks read it) leaves a node in its scope; the caller's module is unchanged
        data = swapnas.export_torch(net, torch.randn(8, 3, 32, 32))
        self.assertIn(b"/4/Identity", data)
        self.assertNotIn("forward", vars(net[4]))
        # an in-place ReLU also returns its input, but its own node is its output: no Identity node for it
        inplace = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(inplace=True))
        self.assertNotIn(b"Identity", swapnas.export_torch(inplace, torch.randn(2, 3, 8, 8)))

        # MeCo through the client equals the official hooks' sum (every module's output, the nn.Identity's too) on
        # NB201-style cells, whose sibling edges each start with an nn.ReLU of the same input (a plain export
        # merges those into one node)
        class Edge(torch.nn.Module):
            def __init__(self, c):
                super().__init__()
                self.op = torch.nn.Sequential(
                    torch.nn.ReLU(), torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c)
                )

            def forward(self, x):
                return self.op(x)

        class Cell(torch.nn.Module):
            def __init__(self, c):
                super().__init__()
                self.a, self.b, self.skip = Edge(c), Edge(c), torch.nn.Identity()

            def forward(self, x):
                return self.a(x) + self.b(x) + self.skip(x)

        cells = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), Cell(8), Cell(8),
                                    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))
        image = torch.randn(1, 3, 32, 32)
        with tempfile.TemporaryDirectory() as d:
            npy = os.path.join(d, "x.npy")
            with open(npy, "wb") as f:  # .npy version 1.0: magic, header length, a dict padded to 64 bytes, data
                header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }"
                header += " " * (63 - (10 + len(header)) % 64) + "\n"
                f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
                f.write(struct.pack(f"<{image.numel()}f", *image.flatten().tolist()))
            got = self.client.score_torch(cells, image, proxies="meco", input=npy)["results"][0]["proxies"]["meco"]
        terms = []

        def hook(_module, _inputs, output):  # the official MeCo hook (MeCo's NB201 script), sample 0 of the output
            fea = output[0].detach().reshape(output.shape[1], -1)
            corr = torch.corrcoef(fea)
            corr[torch.isnan(corr) | torch.isinf(corr)] = 0
            terms.append(float(torch.min(torch.real(torch.linalg.eig(corr)[0]))))

        model = copy.deepcopy(cells).train()
        for m in model.modules():
            m.register_forward_hook(hook)
        model(image)
        want = sum(t for t in terms if math.isfinite(t))
        self.assertLess(abs(got - want), 1e-4 * abs(want))

    @unittest.skipUnless(torch is not None or REQUIRE_TORCH, "PyTorch is not installed")
    def test_score_torch_flat_mlp_equals_cli(self):
        if torch is None:
            self.fail("SWAPNAS_REQUIRE_TORCH=1 but PyTorch is not installed")
        torch.manual_seed(2)
        # 20 tabular features: a flat (N, F) input, fed a seeded Gaussian batch
        net = torch.nn.Sequential(
            torch.nn.Linear(20, 16),
            torch.nn.BatchNorm1d(16),
            torch.nn.ReLU(),
            torch.nn.Linear(16, 3),
        )
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mlp.onnx")
            names = "nwot,synflow,jacov,params"
            got = self.client.score_torch(net, torch.randn(8, 20), onnx_path=path, proxies=names, proxy_batch=8,
                                          gaussian=True)
            want = cli("score", path, "--proxies", names, "--proxy-batch", "8", "--gaussian")
        self.assertEqual(got["results"][0]["proxies"], want["results"][0]["proxies"])
        self.assertEqual(got["results"][0]["proxies"]["params"], sum(p.numel() for p in net.parameters()))
        self.assertIsInstance(got["results"][0]["proxies"]["jacov"], float)

    @unittest.skipUnless(torch is not None or REQUIRE_TORCH, "PyTorch is not installed")
    def test_score_torch_against_reference_models_equals_cli(self):
        if torch is None:
            self.fail("SWAPNAS_REQUIRE_TORCH=1 but PyTorch is not installed")

        def net(width, depth):
            layers, c = [], 3
            for i in range(depth):
                layers += [torch.nn.Conv2d(c, width, 3, padding=1, stride=2 if i == 0 else 1), torch.nn.BatchNorm2d(width),
                           torch.nn.ReLU()]
                c = width
            return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(c, 10))

        torch.manual_seed(1)
        x = torch.randn(16, 3, 32, 32)
        with tempfile.TemporaryDirectory() as d:
            refs = os.path.join(d, "refs")
            os.mkdir(refs)
            for i, (w, k) in enumerate([(4, 1), (4, 2), (8, 1), (8, 2), (8, 3), (12, 1), (12, 2), (16, 2)]):
                with open(os.path.join(refs, "r%d.onnx" % i), "wb") as f:
                    f.write(swapnas.export_torch(net(w, k), x))
            path = os.path.join(d, "mine.onnx")
            got = self.client.score_torch(net(10, 2), x, onnx_path=path, reference_models=refs)
            want = cli("score", path, "--reference-models", refs)
            self.assertEqual(dict(got["results"][0], model=path), want["results"][0])
            self.assertEqual(got["settings"]["reference"]["models"], 8)
            self.assertEqual(set(got["results"][0]["members"]), set(want["settings"]["ensemble"]["members"]))


class _Relay:
    """A TCP relay in front of a server that counts the connections clients open through it and can cut them."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self._target = (parts.hostname, parts.port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self._listener.getsockname()[1]
        self.accepted = 0
        self._pairs = []
        self._ended = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # listener closed
                return
            server = socket.create_connection(self._target)
            ended = threading.Event()  # the client's side closed (or the relay cut it)
            with self._lock:
                self.accepted += 1
                self._pairs.append((client, server))
                self._ended.append(ended)
            threading.Thread(target=self._pipe, args=(client, server, ended), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pipe(src, dst, ended):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        if ended:
            ended.set()
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop_all(self):
        """Closes every relayed connection, as a server closing idle keep-alive connections would."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def wait_all_closed(self, timeout):
        """True once the client side of every relayed connection has closed (waiting up to `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            ended = list(self._ended)
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in ended)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._listener.close()
        self.drop_all()


class HttpClientTest(unittest.TestCase):
    def test_connect_scores_like_the_cli(self):
        proc = subprocess.Popen(command() + ["serve", "--http", "0"], stdout=subprocess.PIPE, text=True)
        try:
            url = json.loads(proc.stdout.readline())["url"]
            client = swapnas.connect(url, timeout=300)
            self.assertEqual(client.health()["status"], "ok")
            self.assertEqual(client.score([A], **TINY), cli("score", A, *TINY_FLAGS))
            with self.assertRaises(swapnas.SwapnasError) as e:
                client.score(["|bad~0|"])
            self.assertEqual(e.exception.code, "E_ARCH_SYNTAX")
            # Seen on the wire (through a counting relay): a loop of calls keeps one connection alive instead of
            # opening one per request.
            with _Relay(url) as relay:
                looped = swapnas.connect(relay.url, timeout=300)
                for _ in range(4):
                    self.assertEqual(looped.health()["status"], "ok")
                self.assertEqual(relay.accepted, 1)
                # A kept connection that the other end closed while idle is replaced, and the request goes through.
                relay.drop_all()
                self.assertEqual(looped.health()["status"], "ok")
                self.assertEqual(relay.accepted, 2)
                # close() closes the kept connection.
                looped.close()
                self.assertTrue(relay.wait_all_closed(60))
            client.close()
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(60), 0)
            proc.stdout.close()


class ServerEnvTest(unittest.TestCase):
    def test_started_server_gets_a_pool_for_every_core_unless_set(self):
        from swapnas.client import server_env

        want = str(max(4, (os.cpu_count() or 1) + 2))
        self.assertEqual(server_env({"PATH": "/bin"}), {"PATH": "/bin", "UV_THREADPOOL_SIZE": want})
        self.assertEqual(server_env({"UV_THREADPOOL_SIZE": "7"})["UV_THREADPOOL_SIZE"], "7")
        self.assertEqual(server_env({"UV_THREADPOOL_SIZE": ""})["UV_THREADPOOL_SIZE"], want)
        self.assertEqual(server_env()["PATH"], os.environ["PATH"])


if __name__ == "__main__":
    unittest.main()
