"""Export a PyTorch module to ONNX the way swapnas scores it (imported lazily: torch is optional)."""

import copy
import io
import json
import struct

# An AttributeProto named "momentum" as torch.onnx serialises it: field 1 (name, 8 bytes), then field 2 (its float).
_MOMENTUM = b"\x0a\x08momentum\x15"
# The metadata key swapnas reads the model's parameter names from (src/onnx/parameters.ts).
PARAMETERS_KEY = "swapnas.parameters"


def export_torch(module, example_input, opset=13):
    """Return the ONNX bytes of ``module`` exported with training-mode BatchNormalization.

    SWAP scores networks as the official code does, in train mode (BatchNorm uses batch statistics), so the
    module is exported with ``torch.onnx.TrainingMode.TRAINING`` and without constant folding (BatchNormalization
    nodes stay BatchNormalization nodes), the file lists the module's parameter names (:func:`with_parameter_list`),
    and a submodule call that returns its input (``nn.Identity``, an empty ``nn.Sequential``, a DropPath at rate 0)
    leaves a node (:func:`show_pass_through_calls`).
    A deep copy is exported, and the file holds the caller's weights and BN
    running statistics: exporting runs the module once in train mode, which would move the statistics the proxies
    read in eval mode (VKDNW, Zen), so the copy's BN momentum is 0 while it is traced and each BatchNormalization
    node is then given its module's momentum back (ONNX momentum = 1 - PyTorch's; 0 for ``momentum=None``, as
    torch.onnx writes it).
    """
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("score_torch needs PyTorch (pip install torch, or apt install python3-torch)") from e
    model = copy.deepcopy(module)
    model.train(True)
    show_pass_through_calls(model)
    calls, hooks = [], []
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            hooks.append(m.register_forward_hook(lambda mod, _i, _o, kept=m.momentum: calls.append(kept)))
            m.momentum = 0.0
    buf = io.BytesIO()
    try:
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
        )
    finally:
        for h in hooks:
            h.remove()
    return with_parameter_list(_restore_momenta(buf.getvalue(), calls), model)


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
            out = _forward(*args, **kwargs)
            if torch.is_tensor(out) and any(out is a for a in args):
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
