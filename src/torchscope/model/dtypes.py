"""Dtype names as torchscope writes them (``"float32"``) and their sizes in bytes.

Plain strings, so that a ModelGraph, a run store and the analyses need no torch to read
them; ``dtype_name`` accepts a ``torch.dtype`` without importing torch.

Example:
    >>> from torchscope.model.dtypes import dtype_bytes
    >>> dtype_bytes("bfloat16")
    2
"""

from __future__ import annotations

from typing import Any

__all__ = ["dtype_bytes", "dtype_name"]

_DTYPE_BYTES = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
    "int16": 2, "int8": 1, "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16,
    "float8_e4m3fn": 1, "float8_e5m2": 1, "float8_e4m3fnuz": 1, "float8_e5m2fnuz": 1,
}  # fmt: skip


def dtype_name(dtype: Any) -> str:
    """``torch.float32`` → ``"float32"``."""
    return str(dtype).removeprefix("torch.")


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a dtype named as ``dtype_name`` writes it (4 when unknown)."""
    return _DTYPE_BYTES.get(dtype, 4)
