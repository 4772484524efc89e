"""Runs on disk: one append-only SQLite file per run, a background writer, a decimating reader.

Example:
    >>> from torchscope.store import RunReader, RunWriter
    >>> with RunWriter("runs/exp1") as w:  # doctest: +SKIP
    ...     w.log_scalars(0, {"loss": 2.3})
    >>> RunReader("runs/exp1").scalars("loss").values  # doctest: +SKIP
    array([2.3])
"""

from __future__ import annotations

from torchscope.store.layout import find_runs
from torchscope.store.reader import RunReader
from torchscope.store.records import Confusion, Event, Histogram, LayerMatrix, Segment, Series
from torchscope.store.writer import RunWriter

__all__ = [
    "Confusion",
    "Event",
    "Histogram",
    "LayerMatrix",
    "RunReader",
    "RunWriter",
    "Segment",
    "Series",
    "find_runs",
]
