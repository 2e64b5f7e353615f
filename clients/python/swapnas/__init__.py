"""Python client of the swapnas scoring server (``swapnas serve``); standard library only."""

from .client import Client, SwapnasError, connect, start
from .torch_export import export_torch

__all__ = ["Client", "SwapnasError", "connect", "start", "export_torch"]
__version__ = "0.1.0"
