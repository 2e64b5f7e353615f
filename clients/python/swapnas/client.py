"""Client of ``swapnas serve``: JSON lines over a child process's pipes, or HTTP."""

import base64
import collections
import http.client
import itertools
import json
import os
import shlex
import shutil
import subprocess
import threading
import urllib.parse
from concurrent.futures import Future


class SwapnasError(Exception):
    """An error answered by the server (``code`` is its stable ``E_*`` code) or raised by the client."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _settings(settings):
    """snake_case keyword arguments -> the server's camelCase settings (None values dropped)."""
    return {_camel(k): v for k, v in settings.items() if v is not None}


def _unwrap(reply):
    if "error" in reply:
        err = reply["error"]
        raise SwapnasError(err.get("code", "E_INTERNAL"), err.get("message", ""))
    return reply["result"]


def default_command():
    """The server command: $SWAPNAS_CMD (split like a shell), else ``swapnas`` on PATH."""
    env = os.environ.get("SWAPNAS_CMD")
    if env:
        return shlex.split(env)
    exe = shutil.which("swapnas")
    if exe is None:
        raise SwapnasError("E_OPTION", "swapnas is not on PATH; install it (npm install -g swapnas) or set SWAPNAS_CMD")
    return [exe]


def server_env(env=None):
    """The environment a started server gets: ``env`` (default: ours) with ``UV_THREADPOOL_SIZE`` = cores + 2
    (at least 4) unless it is set (an empty value counts as unset). The server's proxy passes run on libuv's pool,
    which Node sizes once, at start-up, to 4 threads by default; fewer pool threads than cores leave cores idle."""
    out = dict(os.environ if env is None else env)
    if not out.get("UV_THREADPOOL_SIZE"):  # unset or empty (libuv reads an empty value as 1 thread)
        out["UV_THREADPOOL_SIZE"] = str(max(4, (os.cpu_count() or 1) + 2))
    return out


class _StdioTransport:
    """One ``swapnas serve`` child; a reader thread hands each response line to the caller waiting on its id."""

    def __init__(self, command, env=None, cwd=None):
        self.proc = subprocess.Popen(
            list(command) + ["serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the server's own messages go to ours
            env=server_env(env),
            cwd=cwd,
        )
        self._lock = threading.Lock()
        self._waiting = {}
        self._reader = threading.Thread(target=self._read, name="swapnas-reader", daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            reply = json.loads(line)
            with self._lock:
                fut = self._waiting.pop(json.dumps(reply.get("id")), None)
            if fut is not None:
                fut.set_result(reply)
        with self._lock:
            pending, self._waiting = list(self._waiting.values()), {}
        for fut in pending:
            fut.set_exception(SwapnasError("E_SERVER_GONE", "the swapnas server exited"))

    def submit(self, envelope):
        fut = Future()
        line = (json.dumps(envelope) + "\n").encode("utf-8")
        with self._lock:
            if self.proc.poll() is not None:
                raise SwapnasError("E_SERVER_GONE", "the swapnas server exited")
            self._waiting[json.dumps(envelope["id"])] = fut
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        return fut

    def close(self, timeout=None):
        """End stdin: the server finishes what it accepted and exits."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        finally:
            self._reader.join(1)
            self.proc.stdout.close()


class _HttpTransport:
    """``POST /rpc`` per request on kept-alive connections, one thread per call (the server queues them).

    Idle connections are pooled and reused, so a loop of requests that waits for each answer pays one TCP
    connection, not one per request; requests in flight at once each take their own connection.
    """

    def __init__(self, url, token=None, timeout=None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SwapnasError("E_OPTION", "server URL must be http(s)://host:port, got %r" % (url[:200],))
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = parts.path.rstrip("/") + "/rpc"
        self.token = token
        self.timeout = timeout
        self._lock = threading.Lock()
        self._idle = []

    def submit(self, envelope, inline=False):
        """The reply's future; ``inline``: sent on the caller's thread (a call that waits anyway saves the hand-off
        to a new thread and back), else on a thread of its own."""
        fut = Future()

        def run():
            try:
                fut.set_result(self._post(envelope))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                fut.set_exception(e)

        if inline:
            run()
        else:
            threading.Thread(target=run, daemon=True).start()
        return fut

    def _connection(self):
        """An idle kept-alive connection (reused=True), else a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        make = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return make(self._host, self._port, timeout=self.timeout), False

    def _post(self, envelope):
        body = json.dumps(envelope).encode("utf-8")
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = "Bearer " + self.token
        while True:
            conn, reused = self._connection()
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                res = conn.getresponse()
                data = res.read()
            except TimeoutError:
                conn.close()
                raise
            except OSError:
                conn.close()
                if reused:  # the server closed it while idle: the request never arrived; send it on a new one
                    continue
                raise
            if res.will_close:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
            return self._decode(res.status, data)

    @staticmethod
    def _decode(status, body):
        try:
            return json.loads(body)
        except ValueError:  # coded errors come with a JSON body; anything else is the transport's
            raise SwapnasError("E_HTTP", "HTTP %d: %s" % (status, body[:200])) from None

    def close(self, timeout=None):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        return 0


class Client:
    """A connection to a swapnas server. Use :func:`start` or :func:`connect` to make one."""

    def __init__(self, transport):
        self._t = transport
        self._ids = itertools.count(1)

    def submit(self, method, params=None, _inline=False):
        """Send a request without waiting: returns ``(id, future)``; ``future.result()`` is the raw reply."""
        rid = next(self._ids)
        envelope = {"id": rid, "method": method}
        if params:
            envelope["params"] = params
        if _inline and isinstance(self._t, _HttpTransport):
            return rid, self._t.submit(envelope, inline=True)
        return rid, self._t.submit(envelope)

    def call(self, method, params=None, timeout=None):
        """Send a request and return its result (raises :class:`SwapnasError` on an error reply).

        Over HTTP the request runs on the caller's thread, so its time limit is the connection's (``connect``'s
        ``timeout``) and ``timeout`` has no further effect there.
        """
        _, fut = self.submit(method, params, _inline=True)
        return _unwrap(fut.result(timeout))

    def score(self, archs, space="nb201", fitness=None, **settings):
        """Score architectures of a search space, as ``swapnas score --space SPACE ARCHS…`` with the same options.

        ``archs`` is one architecture string or a list; ``fitness`` is ``None`` (the CLI's default: ``"ensemble-fit"``,
        or the label-free ``"ensemble"`` on images without class labels; each row gets ``ensemble: {fitness, members}``
        before SWAP and reg-SWAP), another ensemble's name (the server's ``proxies`` method lists them) or
        ``"reg-swap"`` (SWAP and reg-SWAP only); settings are the CLI options in snake_case (``dataset``, ``repeats``, ``channels``, ``input_size``,
        ``truth``, …). Returns ``{"settings", "results"}``.
        """
        if isinstance(archs, str):
            archs = [archs]
        return self.call("score", dict(_settings(dict(settings, fitness=fitness)), archs=list(archs), space=space))

    def score_each(self, archs, space="nb201", window=64, fitness=None, **settings):
        """Score architectures one request each, with up to ``window`` requests in flight; yields their result
        rows in order (each as in ``score(arch)["results"][0]``).

        The server pools queued requests of equal settings into one backend call, so a stream of single
        architectures costs about what one batched ``score`` does. ``fitness`` and settings as :meth:`score`.
        Raises :class:`SwapnasError` at the first error reply.
        """
        if window < 1:
            raise SwapnasError("E_OPTION", "window must be at least 1, got %r" % (window,))
        params = dict(_settings(dict(settings, fitness=fitness)), space=space)
        pending = collections.deque()
        for arch in archs:
            pending.append(self.submit("score", dict(params, archs=[arch]))[1])
            if len(pending) >= window:
                yield _unwrap(pending.popleft().result())["results"][0]
        while pending:
            yield _unwrap(pending.popleft().result())["results"][0]

    def score_onnx(self, path=None, data=None, **settings):
        """Score an ONNX model given by a path the server can read, or by its bytes (``data``)."""
        if (path is None) == (data is None):
            raise SwapnasError("E_OPTION", "give path or data, not both")
        params = _settings(settings)
        if path is not None:
            params["path"] = os.fspath(path)
        else:
            params["bytes"] = base64.b64encode(bytes(data)).decode("ascii")
        return self.call("score_onnx", params)

    def score_torch(self, module, example_input, opset=13, onnx_path=None, **settings):
        """Export ``module`` with training-mode BatchNorm (see :func:`swapnas.export_torch`) and score it.

        ``onnx_path`` keeps the exported file (the CLI gives the same score on it). Settings as :meth:`score_onnx`.
        """
        from .torch_export import export_torch

        data = export_torch(module, example_input, opset=opset)
        if onnx_path is not None:
            with open(onnx_path, "wb") as f:
                f.write(data)
        return self.score_onnx(data=data, **settings)

    def cancel(self, request_id):
        """Cancel a queued or running request (its caller gets ``E_CANCELLED``); False when it is not active."""
        return self.call("cancel", {"id": request_id})["cancelled"]

    def backends(self):
        return self.call("backends")

    def proxies(self):
        return self.call("proxies")

    def health(self):
        return self.call("health")

    def close(self, timeout=None):
        """Close the connection; a started server finishes its accepted requests and exits (returns its status)."""
        return self._t.close(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start(command=None, env=None, cwd=None):
    """Start ``swapnas serve`` as a child process (JSON lines over its pipes) and return a :class:`Client`.

    ``command`` is the swapnas executable as a list (default: $SWAPNAS_CMD, else ``swapnas`` on PATH).
    """
    return Client(_StdioTransport(command or default_command(), env=env, cwd=cwd))


def connect(url, token=None, timeout=None):
    """Connect to a server started with ``swapnas serve --http PORT`` (``token``: its bearer token, if any)."""
    return Client(_HttpTransport(url, token=token, timeout=timeout))
