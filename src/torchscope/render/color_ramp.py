"""The one colour ramp for values, shared by the static graph and the interactive viewer.

A ``ColorScale`` (analysis) places a value at 0–1; here that position picks a ramp step,
with white text on the dark steps. The viewer gets the same ramp in its data and picks
the same step, so a node has one colour in the SVG and in the browser.
"""

from __future__ import annotations

import math

from torchscope.analysis.color_scale import ColorScale

__all__ = ["DARK_FROM", "NEUTRAL_FILL", "PALETTE", "ramp_step", "value_color"]

# ColorBrewer YlGnBu, light to dark: readable black text on the first five.
PALETTE = (
    "#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494",
    "#081d58",
)  # fmt: skip
DARK_FROM = 5  # steps from here on carry white text
NEUTRAL_FILL = "#f8fafc"
_INK = "#1f2937"


def ramp_step(position: float) -> int:
    """The PALETTE index of a 0–1 position, halves rounded up as the viewer's Math.round.

    >>> ramp_step(0.5625)  # 4.5 steps: Python's round() would give 4, the viewer 5
    5
    """
    return math.floor(min(1.0, max(0.0, position)) * (len(PALETTE) - 1) + 0.5)


def value_color(scale: ColorScale, value: float) -> tuple[str, str]:
    """Fill and text colour for ``value`` on ``scale``: a PALETTE entry, dark text on light.

    Zero on a log scale (a module without parameters) keeps the neutral fill.

    Example:
        >>> value_color(ColorScale("MACs", 1.0, 100.0, log=False), 100.0)
        ('#081d58', '#ffffff')
    """
    if not scale.shows(value):
        return NEUTRAL_FILL, _INK
    index = ramp_step(scale.position(value))
    return PALETTE[index], ("#ffffff" if index >= DARK_FROM else _INK)
