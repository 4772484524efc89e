"""``torch.save`` files (``.pt``, ``.pth``, ``.bin``, ``.ckpt``), loaded without running code.

``torch.load(weights_only=True)`` refuses any pickle that would import or call something
outside tensors and plain containers; zip-based files (torch >= 1.6) are memory-mapped.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from torchscope.errors import CheckpointError
from torchscope.sources._reopened import ReopenedFile
from torchscope.sources.tensors import flatten_state, unique_entries

__all__ = ["TorchFile"]


class TorchFile(ReopenedFile):
    """A ``torch.save`` file loaded with ``weights_only=True`` (and ``mmap`` when zip-based)."""

    _REOPEN_BYTES = 1 << 30  # each reload unpickles the whole index again

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        tensors = self._open()
        if not tensors:
            raise CheckpointError(path, "it holds no tensors")
        self.entries = unique_entries(tensors)
        self._nbytes = {e.name: e.nbytes for e in self.entries}
        self._handle = tensors

    def _open(self) -> dict[str, torch.Tensor]:
        return flatten_state(_torch_load(self.path))

    def get(self, name: str) -> torch.Tensor:
        return self._fresh_handle(self._nbytes[name])[name]


def _torch_load(path: Path) -> Any:
    # mmap=True keeps the data on disk until a tensor is touched; it needs the zip format
    # (torch >= 1.6 default). Older files are loaded whole, still with weights_only=True.
    mmap = zipfile.is_zipfile(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(path, _refusal(str(exc))) from None
    except Exception as exc:  # a damaged file fails anywhere in the unpickler (KeyError…)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problem = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise CheckpointError(path, f"not a readable torch file ({problem})") from None


def _refusal(message: str) -> str:
    """Why ``weights_only`` loading stopped, in one sentence; nothing in the file ran."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    code = next((line for line in lines if "GLOBAL" in line), "")
    if code:
        return (
            f"refused: its pickle would run code ({code.rstrip('.')}); weights_only loading "
            "stopped before anything ran. Get the weights as safetensors, or load the file "
            "yourself only if you trust its author"
        )
    fallback = lines[-1] if lines else "unpickling failed"
    detail = next((line for line in lines if line.startswith("Unsupported")), fallback)
    return (
        f"refused by weights_only loading ({detail}): it is not a torch.save file of tensors "
        "and plain containers, so nothing in it was run"
    )
