"""Which scalars of a run get a learning-curve panel, and what is said about the others.

A store may hold thousands of scalar names: drawing a panel for each took minutes and
gigabytes. The figures show at most ``MAX_CURVE_PANELS`` panels (``MAX_COMPARE_PANELS``
when runs are overlaid), chosen losses first, and name what they left out. A scalar
that never changes (a constant learning rate) gets a line in the note instead of a
panel, unless it was asked for by name or every scalar is constant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from torchscope.render.run_common import shorten

if TYPE_CHECKING:
    from torchscope.store.reader import RunReader

__all__ = ["MAX_COMPARE_PANELS", "MAX_CURVE_PANELS", "CurveChoice", "choose_curves", "curve_order"]

MAX_CURVE_PANELS = 12
MAX_COMPARE_PANELS = 6
_EXAMINED_PER_PANEL = 4  # names read to find the panels: at most this × the limit
_NAMED_IN_NOTE = 6


@dataclass(frozen=True)
class CurveChoice:
    """Scalar names drawn (``shown``), constant ones (name → value text), and those left out."""

    shown: list[str]
    constant: dict[str, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    limit: int = MAX_CURVE_PANELS

    def notes(self) -> list[str]:
        """Lines saying what is not drawn and why (empty when everything is)."""
        lines = []
        if self.constant:
            items = [f"{shorten(n, 30)} = {v}" for n, v in self.constant.items()]
            lines.append("constant, not drawn: " + _some(items))
        if self.left_out:
            names = [shorten(n, 30) for n in self.left_out]
            lines.append(
                f"left out (at most {self.limit} panels): {_some(names)}; "
                "choose scalars by name or pattern (torchscope plot --metric REGEX)"
            )
        return lines


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NAMED_IN_NOTE])
    more = len(items) - _NAMED_IN_NOTE
    return shown + (f" and {more:,} more" if more > 0 else "")


def curve_order(names: Iterable[str]) -> list[str]:
    """Losses first, then accuracy, then the rest in the order they were logged.

    Example:
        >>> curve_order(["lr", "accuracy", "loss", "lr"])
        ['loss', 'accuracy', 'lr']
    """
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda n: 0 if "loss" in n else 1 if "acc" in n else 2)


def choose_curves(
    reader: RunReader,
    names: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    limit: int = MAX_CURVE_PANELS,
    among: Sequence[str] | None = None,
) -> CurveChoice:
    """The panels to draw: ``names`` as given, else the scalars matching ``metric``.

    ``among`` restricts the candidates (the scalars several runs share). Raises ValueError
    when nothing is left to draw or ``metric`` is not a valid regular expression.

    Example:
        >>> choose_curves(RunReader("runs/exp1"), metric="loss").shown  # doctest: +SKIP
        ['loss', 'val_loss']
    """
    if names is not None:
        return CurveChoice(list(names)[:limit], {}, list(names)[limit:], limit)
    candidates = curve_order(among if among is not None else (n for _, n in reader.scalar_names()))
    if not candidates:
        raise ValueError(f"{reader.name} has no scalars")
    if metric is not None:
        candidates = _matching(reader, candidates, metric)
    splits_of: dict[str, list[str]] = {}
    for split, n in reader.scalar_names():
        splits_of.setdefault(n, []).append(split)
    shown: list[str] = []
    constant: dict[str, str] = {}
    examined = 0
    for name in candidates:
        if len(shown) == limit or examined == _EXAMINED_PER_PANEL * limit:
            break
        examined += 1
        value = _constant_value(reader, name, splits_of.get(name, []))
        if value is None:
            shown.append(name)
        else:
            constant[name] = value
    if not shown:  # every scalar examined is constant: draw them, flat, rather than nothing
        shown, constant = list(constant)[:limit], {}
    return CurveChoice(shown, constant, candidates[examined:], limit)


def _matching(reader: RunReader, candidates: list[str], metric: str) -> list[str]:
    try:
        pattern = re.compile(metric)
    except re.error as exc:
        raise ValueError(f"--metric {metric!r} is not a regular expression: {exc}") from None
    picked = [n for n in candidates if pattern.search(n)]
    if not picked:
        have = ", ".join(shorten(n, 30) for n in candidates[:_NAMED_IN_NOTE])
        more = "…" if len(candidates) > _NAMED_IN_NOTE else ""
        raise ValueError(f"no scalar of {reader.name} matches {metric!r} (has: {have}{more})")
    return picked


def _constant_value(reader: RunReader, name: str, splits: Sequence[str]) -> str | None:
    """The value as text if every point of every split is the same finite number, else None."""
    first: float | None = None
    points = 0
    for split in splits:
        values = reader.scalars(name, split=split).values
        if not len(values):
            continue
        if not np.isfinite(values).all() or values.min() != values.max():
            return None
        if first is not None and float(values[0]) != first:
            return None
        first, points = float(values[0]), points + len(values)
    if first is None or points < 2:
        return None  # one point is a measurement, not a constant
    return f"{first:.6g}"
