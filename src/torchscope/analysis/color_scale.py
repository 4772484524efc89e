"""Colouring nodes by a value: which values, and where each sits on a 0–1 scale.

Computed here once for every picture: the static graph (DOT), its legend, the interactive
viewer's data and its legend all read a ``ColorScale``. The viewer's script only maps the
positions it is given through the one colour ramp the page carries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COLOR_BY",
    "MEASURE_NAMES",
    "ColorScale",
    "NamedValues",
    "check_color_by",
    "color_scale",
    "measure_of",
]

# color_by name → (what the legend calls it, the attribute holding the value)
_MEASURES = {
    "params": ("parameters", "params"),
    "macs": ("MACs", "macs"),
    "activation": ("activation bytes", "activation_bytes"),
}
COLOR_BY = tuple(_MEASURES)
MEASURE_NAMES = frozenset(name for name, _ in _MEASURES.values())  # else a mapping's title
_MAX_MAPPING = 1_000_000  # more module names than any model has: refuse, do not loop


class NamedValues(dict[str, float]):
    """Module name → value, saying what the values are: the legend's title (``time (ms)``).

    A plain mapping is titled ``value``.

    Example:
        >>> measure_of(NamedValues({"fc": 1.5}, "time (ms)"))
        ('time (ms)', None)
    """

    def __init__(self, values: Mapping[str, float], name: str) -> None:
        super().__init__(values)
        self.name = name


@dataclass
class ColorScale:
    """How values map to a 0–1 position: linear or logarithmic between min and max."""

    name: str
    minimum: float
    maximum: float
    log: bool

    def position(self, value: float) -> float:
        """Where ``value`` sits on the scale, clipped to 0–1 (0 for ≤ 0 on a log scale)."""
        lo, hi, v = self.minimum, self.maximum, value
        if self.log:
            if v <= 0:
                return 0.0
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        if hi <= lo:
            return 1.0
        return min(1.0, max(0.0, (v - lo) / (hi - lo)))

    def shows(self, value: float | None) -> bool:
        """False for values drawn in the neutral colour: none, or ≤ 0 on a log scale."""
        return value is not None and not (self.log and value <= 0)


def color_scale(name: str, values: Iterable[float]) -> ColorScale | None:
    """The scale spanning ``values``: logarithmic when positive values span over 100×.

    Example:
        >>> color_scale("MACs", [0, 10, 5000]).log
        True
        >>> color_scale("MACs", [0, 10, 5000]).position(10)
        0.0
    """
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    positive = [v for v in finite if v > 0]
    lo, hi = min(finite), max(finite)
    log = bool(positive) and lo >= 0 and max(positive) / min(positive) > 100
    if log:
        lo = min(positive)
    return ColorScale(name, lo, hi, log)


def measure_of(color_by: str | Mapping[str, float]) -> tuple[str, str | None]:
    """The legend's name for ``color_by`` and the node attribute to read (None: a mapping)."""
    if isinstance(color_by, NamedValues):
        return color_by.name, None
    if isinstance(color_by, Mapping):
        return "value", None
    return _MEASURES[color_by]


def check_color_by(color_by: Any) -> str | dict[str, float] | None:
    """``color_by`` validated: a known name, None, or a mapping of module name → finite number.

    Raises ValueError naming what is wrong; a mapping comes back as a plain dict of floats.

    Example:
        >>> check_color_by({"fc": 2})
        {'fc': 2.0}
    """
    if color_by is None or (isinstance(color_by, str) and color_by in _MEASURES):
        return color_by
    if isinstance(color_by, Mapping):
        if len(color_by) > _MAX_MAPPING:
            raise ValueError(f"color_by maps {len(color_by):,} names; at most {_MAX_MAPPING:,}")
        values: dict[str, float] = {}
        for key, value in color_by.items():
            if not isinstance(key, str):
                raise ValueError(f"color_by keys must be module names, not {type(key).__name__}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"color_by values must be numbers; {key[:60]!r} has {type(value).__name__}"
                )
            if math.isfinite(value):
                values[key] = float(value)
        return NamedValues(values, color_by.name) if isinstance(color_by, NamedValues) else values
    shown = repr(color_by)
    raise ValueError(
        f"color_by must be one of {', '.join(COLOR_BY)} or a mapping of module name → "
        f"value, not {shown if len(shown) <= 60 else shown[:59] + '…'}"
    )
