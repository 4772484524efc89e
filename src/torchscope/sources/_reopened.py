"""A checkpoint file whose tensors are views of a memory map that is reopened now and then.

Shared by the safetensors and torch readers: the pages a map has touched count as the
process's resident memory until it is closed, so reading a whole multi-GB file through
one map would end up that large.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ReopenedFile"]


class ReopenedFile:
    """A file whose tensors are views of a memory map, reopened every ``_REOPEN_BYTES``.

    Reopening drops the old map once the tensors read from it are gone.
    """

    _REOPEN_BYTES = 256 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        self._served = 0
        self._handle: Any = None

    def _open(self) -> Any:
        raise NotImplementedError

    def _fresh_handle(self, nbytes: int) -> Any:
        if self._handle is None or self._served >= self._REOPEN_BYTES:
            self._handle, self._served = None, 0
            self._handle = self._open()
        self._served += nbytes
        return self._handle

    def close(self) -> None:
        self._handle = None
