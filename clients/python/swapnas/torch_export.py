"""Export a PyTorch module to ONNX the way swapnas scores it (imported lazily: torch is optional)."""

import copy
import io


def export_torch(module, example_input, opset=13):
    """Return the ONNX bytes of ``module`` exported with training-mode BatchNormalization.

    SWAP scores networks as the official code does, in train mode (BatchNorm uses batch statistics), so the
    module is exported with ``torch.onnx.TrainingMode.TRAINING`` and without constant folding (BatchNormalization
    nodes stay BatchNormalization nodes). A deep copy is exported: exporting runs the module once, which in train
    mode would update the caller's BN running statistics.
    """
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("score_torch needs PyTorch (pip install torch, or apt install python3-torch)") from e
    model = copy.deepcopy(module)
    model.train(True)
    buf = io.BytesIO()
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
    return buf.getvalue()
