"""Rows of a run store → checked Python values; anything a damaged store holds → ``StoreError``.

A store is input (it may come from someone else, be truncated by a full disk or edited by
hand), so every value read is checked for the type and size the schema promises before it
becomes a record: a chunk blob of text, a values blob shorter than its steps, a matrix
that is not a matrix. Each failure is one ``StoreError`` naming the file and the item.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from torchscope.errors import StoreError
from torchscope.store.records import Confusion, Event, Histogram
from torchscope.store.schema import STEP_DTYPE, VALUE_DTYPE

__all__ = ["Decoder"]


class Decoder:
    """Checked conversions of the values one store's rows hold (errors name ``path``).

    Example:
        >>> Decoder("run.sqlite").json('{"lr": 0.1}', "config")
        {'lr': 0.1}
        >>> Decoder("run.sqlite").json("[1,", "config")
        Traceback (most recent call last):
        ...
        torchscope.errors.StoreError: cannot read run store run.sqlite: config: not valid JSON
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path

    def fail(self, problem: str) -> StoreError:
        return StoreError(self.path, problem)

    def text(self, value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{what}: {_sql_type(value)}, not text")
        return value

    def integer(self, value: Any, what: str) -> int:
        if not isinstance(value, int):
            raise self.fail(f"{what}: {_sql_type(value)}, not an integer")
        return value

    def real(self, value: Any, what: str) -> float:
        if not isinstance(value, int | float):
            raise self.fail(f"{what}: {_sql_type(value)}, not a number")
        return float(value)

    def json(self, value: Any, what: str) -> Any:
        text = self.text(value, what)
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise self.fail(f"{what}: not valid JSON") from None

    def array(self, blob: Any, dtype: np.dtype[Any], what: str, n: int | None = None) -> np.ndarray:
        """A packed little-endian array (of ``n`` elements when given) from a blob."""
        if not isinstance(blob, bytes):
            raise self.fail(f"{what}: {_sql_type(blob)}, not a blob")
        if len(blob) % dtype.itemsize or (n is not None and len(blob) != n * dtype.itemsize):
            expected = f"{n * dtype.itemsize}" if n is not None else "a multiple of 8"
            raise self.fail(f"{what}: {len(blob)} bytes, expected {expected}")
        return np.frombuffer(blob, dtype=dtype)

    def chunks(self, rows: list[Any], series: str, walls: bool) -> list[np.ndarray]:
        """Concatenated steps, values, segments (and wall times) of chunk rows.

        Rows are ``(id, n, segment, steps, vals[, wall_times])``.
        """
        parts: list[list[np.ndarray]] = [[], [], [], []]
        for row in rows:
            where = f"chunk {row[0]} of {series}"
            n = self.integer(row[1], f"the point count of {where}")
            if n < 0:
                raise self.fail(f"the point count of {where}: negative ({n})")
            segment = self.integer(row[2], f"the segment of {where}")
            parts[0].append(self.array(row[3], STEP_DTYPE, f"the steps of {where}", n))
            parts[1].append(self.array(row[4], VALUE_DTYPE, f"the values of {where}", n))
            parts[2].append(np.full(n, segment, dtype=np.int64))
            if walls:
                parts[3].append(self.array(row[5], VALUE_DTYPE, f"the wall times of {where}", n))
        dtypes = (STEP_DTYPE, VALUE_DTYPE, np.dtype(np.int64), VALUE_DTYPE)
        return [
            np.concatenate(p) if p else np.zeros(0, dtype=d)
            for p, d in zip(parts[: 4 if walls else 3], dtypes)
        ]

    def histogram(self, row: Any, kind: str, name: str) -> Histogram:
        """``(id, step, edges, counts, segment)`` → a Histogram."""
        where = f"histogram {row[0]} ({kind} {name!r})"
        edges = self.array(row[2], VALUE_DTYPE, f"the edges of {where}")
        counts = self.array(row[3], VALUE_DTYPE, f"the counts of {where}")
        if len(edges) != len(counts) + 1:
            raise self.fail(f"{where} has {len(edges)} edges for {len(counts)} counts")
        step = self.integer(row[1], f"the step of {where}")
        segment = self.integer(row[4], f"the segment of {where}")
        return Histogram(step, kind, name, edges, counts, segment)

    def confusion(self, row: Any, split: str) -> Confusion:
        """``(id, step, matrix, labels, segment)`` → a Confusion."""
        where = f"confusion matrix {row[0]} ({split!r})"
        cells = self.json(row[2], f"the matrix of {where}")
        try:
            matrix = np.asarray(cells)
        except ValueError:
            raise self.fail(f"the matrix of {where}: not rectangular") from None
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.dtype.kind not in "iu":
            raise self.fail(f"the matrix of {where}: not a square matrix of counts")
        if (matrix < 0).any():
            raise self.fail(f"the matrix of {where}: a negative count")
        matrix = matrix.astype(np.int64)
        n = len(matrix)
        labels = [str(i) for i in range(n)]
        if row[3] is not None:
            labels = self.json(row[3], f"the labels of {where}")
            if not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
                raise self.fail(f"the labels of {where}: not a list of names")
            if len(labels) != n:
                raise self.fail(f"{where} has {len(labels)} labels for {n} classes")
        step = self.integer(row[1], f"the step of {where}")
        return Confusion(step, split, matrix, labels, self.integer(row[4], f"segment of {where}"))

    def event(self, row: Any) -> Event:
        """``(id, step, kind, payload, wall_time, segment)`` → an Event."""
        where = f"event {row[0]}"
        payload = self.json(row[3], f"the payload of {where}")
        if not isinstance(payload, dict):
            raise self.fail(f"the payload of {where}: not a JSON object")
        return Event(
            self.integer(row[1], f"the step of {where}"),
            self.text(row[2], f"the kind of {where}"),
            payload,
            self.real(row[4], f"the wall time of {where}"),
            self.integer(row[5], f"the segment of {where}"),
        )


def _sql_type(value: Any) -> str:
    """The SQL storage class a Python value came from, for messages."""
    names = {bytes: "blob", str: "text", int: "integer", float: "real", type(None): "NULL"}
    return names.get(type(value), type(value).__name__)
