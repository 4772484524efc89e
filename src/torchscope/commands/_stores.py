"""Reading run stores in the CLI: a damaged store ends as one error naming the run.

A store is input someone else may have made. Reading a damaged one raises whatever the
store's own ``StoreError`` names the file and the problem and passes through; anything
else (an error a renderer trips over) becomes one ``UnreadableRun`` naming the run.
``cli.main`` reports either as one line with exit status 2.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torchscope.errors import TorchscopeError

__all__ = ["UnreadableRun", "reading"]

_UNREADABLE = (TorchscopeError, sqlite3.Error, OSError, ValueError, TypeError)


class UnreadableRun(TorchscopeError, ValueError):
    """A run store that could not be read or drawn; the message names the run and why."""

    def __init__(self, run_dir: Path, exc: BaseException) -> None:
        why = str(exc) or type(exc).__name__
        if isinstance(exc, sqlite3.Error):
            why = f"not a readable torchscope run store ({why})"
        super().__init__(f"cannot read {run_dir}: {why}")


@contextmanager
def reading(run_dir: Path) -> Iterator[None]:
    """Errors raised inside while reading ``run_dir`` become one ``UnreadableRun``."""
    try:
        yield
    except TorchscopeError:
        raise
    except _UNREADABLE as exc:
        raise UnreadableRun(run_dir, exc) from exc
