"""``.safetensors`` files, read through ``safetensors.safe_open`` one tensor at a time.

The header is validated on open (safetensors checks that offsets cover the data exactly);
a damaged file is one ``CheckpointError`` naming the file and what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from torchscope.errors import CheckpointError
from torchscope.sources._reopened import ReopenedFile
from torchscope.sources.tensors import TensorEntry

__all__ = ["SafetensorsFile"]

_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
    "BOOL": "bool", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
}  # fmt: skip


class SafetensorsFile(ReopenedFile):
    """One ``.safetensors`` file read through ``safe_open``; the header is validated on open."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        handle = self._open()
        try:
            self.entries = [self._entry(handle, n) for n in handle.keys()]  # noqa: SIM118
        except Exception as exc:
            raise CheckpointError(path, _safetensors_problem(exc)) from None
        self._nbytes = {e.name: e.nbytes for e in self.entries}
        self._handle = handle

    def _open(self) -> Any:
        from safetensors import safe_open

        try:
            return safe_open(str(self.path), framework="pt", device="cpu")
        except Exception as exc:  # SafetensorError, OSError: a corrupt or truncated file
            raise CheckpointError(self.path, _safetensors_problem(exc)) from None

    @staticmethod
    def _entry(handle: Any, name: str) -> TensorEntry:
        piece = handle.get_slice(name)
        dtype = _SAFETENSORS_DTYPES.get(piece.get_dtype(), piece.get_dtype().lower())
        return TensorEntry(tuple(piece.get_shape()), dtype, name=name)

    def get(self, name: str) -> torch.Tensor:
        handle = self._fresh_handle(self._nbytes[name])
        try:
            return handle.get_tensor(name)
        except Exception as exc:
            raise CheckpointError(self.path, f"tensor {name!r}: {exc}") from None


def _safetensors_problem(exc: Exception) -> str:
    text = str(exc)
    if "incomplete metadata" in text or "not fully covered" in text:
        return f"the file is truncated or its header does not match its data ({text})"
    return f"not a valid safetensors file ({text})"
