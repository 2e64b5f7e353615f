"""Export a PyTorch module to ONNX the way swapnas scores it (imported lazily: torch is optional)."""

import contextlib
import copy
import io
import json
import struct
import warnings

# The metadata key swapnas reads the model's parameter names from (src/onnx/parameters.ts).
PARAMETERS_KEY = "swapnas.parameters"


def export_torch(module, example_input, opset=13):
    """Return the ONNX bytes of ``module`` exported with training-mode BatchNormalization.

    SWAP scores networks as the official code does, in train mode (BatchNorm uses batch statistics), so the
    module is exported with ``torch.onnx.TrainingMode.TRAINING`` and without constant folding (BatchNormalization
    nodes stay BatchNormalization nodes), the file lists the module's parameter names (:func:`with_parameter_list`),
    a submodule call that returns its input (``nn.Identity``, an empty ``nn.Sequential``, a DropPath at rate 0)
    leaves a node (:func:`show_pass_through_calls`), and sibling modules' identical ops stay apart (no
    common-subexpression merge: MeCo's hooks read each module); the batch dimension is dynamic, so the file runs at
    any batch whatever the example's (where torch.onnx refuses that, the example's batch). A deep copy is exported, and the file holds the caller's
    weights and buffers: exporting runs the module once in train mode, which moves BN running statistics (read in
    eval mode by VKDNW and Zen) and any buffer a forward updates, so each such buffer's initializer is written back
    with its value before the export (:func:`_restore_buffers`).
    """
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("score_torch needs PyTorch (pip install torch, or apt install python3-torch)") from e
    model = copy.deepcopy(module)
    model.train(True)
    show_pass_through_calls(model)
    before = {name: b.detach().clone() for name, b in model.named_buffers()}
    try:
        # any batch: a traced `view(x.size(0), -1)` would otherwise keep the example's batch as a constant
        data = _export(torch, model, example_input, opset, {"input": {0: "batch"}, "output": {0: "batch"}})
    except Exception:  # noqa: BLE001 - torch.onnx refuses some ops at a dynamic batch: then the example's batch
        # (BatchNorm without running statistics, NB201's search cells: torch 1.13 asserts a known batch size)
        data = _export(torch, model, example_input, opset, None)
    after = dict(model.named_buffers())
    moved = {name: b for name, b in before.items() if not torch.equal(b, after[name])}
    return with_parameter_list(_restore_buffers(data, moved), model)


def _export(torch, model, example_input, opset, dynamic_axes):
    """torch.onnx's export as swapnas reads it (see :func:`export_torch`), with or without a dynamic batch."""
    buf = io.BytesIO()
    with _no_common_subexpressions(torch), warnings.catch_warnings():
        # torch 1.13 warns that `g.op` in a symbolic is deprecated for torch.Graph; torch >= 2 passes a GraphContext,
        # whose `op` is the supported call (PassThrough's Identity node)
        warnings.filterwarnings("ignore", message=".*_graph_op.*deprecated", category=FutureWarning)
        torch.onnx.export(
            model,
            example_input,
            buf,
            export_params=True,
            opset_version=opset,
            do_constant_folding=False,
            training=torch.onnx.TrainingMode.TRAINING,
            input_names=["input"],
            output_names=["output"],
            **({"dynamic_axes": dynamic_axes} if dynamic_axes else {}),
        )
    return buf.getvalue()


@contextlib.contextmanager
def _no_common_subexpressions(torch):
    """torch.onnx's export without its common-subexpression pass, which merges identical ops of sibling modules into
    one node in one module's scope (NB201's and DARTS's edges each start with an ``nn.ReLU`` of the same input): the
    file would then show fewer module calls than MeCo's official hooks read (an NB201 network of 5 cells: 68.46
    against the official 72.50; without the merge, 72.50). Every engine computes the same values either way."""
    passes = torch._C
    merge = getattr(passes, "_jit_pass_cse", None)
    if merge is None:  # pragma: no cover - a torch without the TorchScript exporter's pass
        yield
        return
    passes._jit_pass_cse = lambda graph: False
    try:
        yield
    finally:
        passes._jit_pass_cse = merge


def _restore_buffers(data, values):
    """``data`` with each float32 initializer named in ``values`` (state_dict names, as an export without constant
    folding keeps them) holding that tensor's values: its raw bytes rewritten in place, so no length changes."""
    import torch

    raw = bytearray(data)
    at = _raw_initializers(raw)
    for name, t in values.items():
        span = at.get(name)
        flat = t.detach().cpu().reshape(-1)
        if span is None or t.dtype != torch.float32 or span[1] - span[0] != 4 * flat.numel():
            continue  # not in the file (unused), or not a float32 tensor of the same size
        raw[span[0] : span[1]] = struct.pack(f"<{flat.numel()}f", *flat.tolist())
    return bytes(raw)


def _raw_initializers(raw):
    """The byte span of each initializer's raw_data in a serialised ModelProto, by initializer name."""
    out = {}
    for f, _, a, b in _fields(raw, 0, len(raw)):
        if f != 7:  # ModelProto.graph
            continue
        for g, _, c, d in _fields(raw, a, b):
            if g != 5:  # GraphProto.initializer
                continue
            name, span = None, None
            for h, _, e, k in _fields(raw, c, d):
                if h == 8:  # TensorProto.name
                    name = bytes(raw[e:k]).decode("utf-8")
                elif h == 9:  # TensorProto.raw_data
                    span = (e, k)
            if name is not None and span is not None:
                out[name] = span
    return out


def _fields(raw, start, end):
    """The protobuf fields of ``raw[start:end]``: (number, wire type, payload start, payload end)."""
    i = start
    while i < end:
        key, i = _varint(raw, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, j = _varint(raw, i)
        elif wire == 1:
            j = i + 8
        elif wire == 2:
            n, i = _varint(raw, i)
            j = i + n
        elif wire == 5:
            j = i + 4
        else:
            raise ValueError(f"export_torch: unexpected protobuf wire type {wire}")
        yield number, wire, i, j
        i = j


def _varint(raw, i):
    value, shift = 0, 0
    while True:
        b = raw[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def show_pass_through_calls(model):
    """Make every call of a submodule of ``model`` that returns its input leave an ONNX ``Identity`` node in its scope.

    torch.onnx writes no node for such a call (``nn.Identity``, an empty ``nn.Sequential`` shortcut, timm's DropPath
    or torchvision's StochasticDepth at rate 0), but MeCo's official hooks fire on every module and add the term of
    its output: without a node swapnas cannot see the call (MeCo 3-12 % low on ResNet-D, RegNet, GhostNet, ConvNeXt).
    Each submodule's ``forward`` is wrapped on the (copied) model; the node computes nothing, so every engine and
    ONNX Runtime give the same values. (A caller that then changes the returned tensor in place, expecting it to be
    the input, would see the input unchanged in the file.)
    """
    import torch

    class PassThrough(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def symbolic(g, x):
            return g.op("Identity", x)

    for name, m in model.named_modules():
        if not name or isinstance(m, torch.jit.ScriptModule):
            continue

        def forward(*args, _forward=m.forward, **kwargs):
            versions = [a._version for a in args if torch.is_tensor(a)]
            out = _forward(*args, **kwargs)
            # an in-place op (nn.ReLU(inplace=True)) also returns its input, but its own node is the module's output
            changed = [a._version for a in args if torch.is_tensor(a)] != versions
            if torch.is_tensor(out) and not changed and any(out is a for a in args):
                return PassThrough.apply(out)
            return out

        m.forward = forward
    return model


def with_parameter_list(data, module):
    """``data`` (ONNX bytes of ``module``, exported without constant folding) with ``module.named_parameters()``'s
    names in its metadata (key ``swapnas.parameters``, a JSON array).

    An ONNX file cannot tell an nn.Parameter read in arithmetic (a layer scale ``gamma * x``) from a registered
    buffer; with the list swapnas counts such a parameter in params and VKDNW differentiates it, as PyTorch does.
    The entry is appended as ModelProto field 14 (``metadata_props``): protobuf reads repeated fields wherever they
    stand, and no package beyond the standard library is needed.
    """
    names = json.dumps([name for name, _ in module.named_parameters()]).encode("utf-8")
    entry = _field(1, PARAMETERS_KEY.encode("utf-8")) + _field(2, names)
    return bytes(data) + _field(14, entry)


def _field(number, payload):
    """A length-delimited protobuf field: its tag, the payload's length as a varint, the payload."""
    out, n = bytearray([number << 3 | 2]), len(payload)
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out) + payload


def _restore_momenta(data, calls):
    """Write each BN call's momentum (in call order, the file's node order) into its BatchNormalization node."""
    raw = bytearray(data)
    at, i = [], 0
    while (i := raw.find(_MOMENTUM, i)) >= 0:
        at.append(i + len(_MOMENTUM))
        i = at[-1] + 4
    if len(at) != len(calls):
        raise RuntimeError(
            f"export_torch: {len(calls)} BatchNorm calls but {len(at)} momentum attributes in the exported file; "
            "cannot give each node its module's momentum"
        )
    for j, momentum in zip(at, calls):
        raw[j : j + 4] = struct.pack("<f", 0.0 if momentum is None else 1.0 - momentum)
    return bytes(raw)
