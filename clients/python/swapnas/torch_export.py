"""Export a PyTorch module to ONNX the way swapnas scores it (imported lazily: torch is optional)."""

import copy
import io
import struct

# An AttributeProto named "momentum" as torch.onnx serialises it: field 1 (name, 8 bytes), then field 2 (its float).
_MOMENTUM = b"\x0a\x08momentum\x15"


def export_torch(module, example_input, opset=13):
    """Return the ONNX bytes of ``module`` exported with training-mode BatchNormalization.

    SWAP scores networks as the official code does, in train mode (BatchNorm uses batch statistics), so the
    module is exported with ``torch.onnx.TrainingMode.TRAINING`` and without constant folding (BatchNormalization
    nodes stay BatchNormalization nodes). A deep copy is exported, and the file holds the caller's weights and BN
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
    return _restore_momenta(buf.getvalue(), calls)


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
