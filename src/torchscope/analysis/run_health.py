"""Where a logged series went wrong: non-finite points and exploding or vanishing norms.

Pure numpy over ``(steps, values)`` arrays, so the run figures, the text overview and the
dashboard find the same events. A *spell* is a stretch of consecutive points sharing
one problem; figures draw spells on the time axis instead of one mark per point.

Gradient norms are judged against their own recent past, since a norm's scale depends
on the model: a point *explodes* when it exceeds ``EXPLODE_FACTOR`` times the median of
the ``WINDOW`` finite points before it, and *vanishes* when it is zero or below
``VANISH_FACTOR`` times that median. A slow drift is not flagged; a sudden jump is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "EXPLODE_FACTOR",
    "VANISH_FACTOR",
    "WINDOW",
    "Spell",
    "gradient_spells",
    "nonfinite_spells",
]

EXPLODE_FACTOR = 10.0
VANISH_FACTOR = 1e-3
WINDOW = 50
_MIN_HISTORY = 5  # fewer earlier points than this: no baseline to judge a point against


@dataclass(frozen=True)
class Spell:
    """Consecutive points of a series with one problem: ``kind`` from step to step.

    ``kind`` is ``"nonfinite"``, ``"exploding"`` or ``"vanishing"``; ``points`` counts the
    flagged points; ``detail`` says what they held (``NaN``, ``+inf``…) or how far
    they were from the baseline.
    """

    kind: str
    first_step: int
    last_step: int
    points: int
    detail: str

    @property
    def steps_text(self) -> str:
        """``step 37`` or ``steps 37–65``."""
        if self.first_step == self.last_step:
            return f"step {self.first_step}"
        return f"steps {self.first_step}–{self.last_step}"


def nonfinite_spells(steps: np.ndarray, values: np.ndarray, most: int = 200) -> list[Spell]:
    """Spells of NaN/±inf values, merged to at most ``most`` by joining the closest ones.

    Example:
        >>> s = nonfinite_spells(np.arange(6), np.array([1, np.nan, np.inf, 2, np.nan, 3]))
        >>> [(x.first_step, x.last_step, x.points, x.detail) for x in s]
        [(1, 2, 2, 'NaN, +inf'), (4, 4, 1, 'NaN')]
    """
    bad = ~np.isfinite(values)
    return _spells("nonfinite", steps, bad, values, most, _nonfinite_detail)


def gradient_spells(
    steps: np.ndarray,
    values: np.ndarray,
    *,
    window: int = WINDOW,
    explode: float = EXPLODE_FACTOR,
    vanish: float = VANISH_FACTOR,
    most: int = 200,
) -> list[Spell]:
    """Spells where a norm exploded or vanished relative to its recent median (see module).

    Example:
        >>> norms = np.array([1.0] * 10 + [50.0, 60.0] + [1.0] * 5 + [0.0])
        >>> [(s.kind, s.first_step, s.last_step) for s in gradient_spells(np.arange(18), norms)]
        [('exploding', 10, 11), ('vanishing', 17, 17)]
    """
    baseline = _trailing_median(values, window)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        exploding = finite & (values > explode * baseline)
        vanishing = finite & ((values == 0) | (values < vanish * baseline))

    def detail(picked: np.ndarray, base: np.ndarray) -> str:
        ratio = picked / base
        ok = np.isfinite(ratio)
        if not ok.any():
            return "zero"
        pick = np.max if ratio[ok].max() >= 1 else np.min
        return f"{pick(ratio[ok]):.3g}× the median of up to {window} points before"

    out = _spells("exploding", steps, exploding, values, most, detail, baseline)
    out += _spells("vanishing", steps, vanishing, values, most, detail, baseline)
    return sorted(out, key=lambda s: s.first_step)


def _trailing_median(values: np.ndarray, window: int, block: int = 16_384) -> np.ndarray:
    """Median of the ``window`` finite values before each point (NaN with too few).

    Vectorised over sliding windows, ``block`` windows at a time, so a million points take
    a fraction of a second and a bounded amount of memory.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    finite_idx = np.flatnonzero(np.isfinite(values))
    finite_vals = values[finite_idx]
    m = len(finite_vals)
    # medians by how many finite points precede: short histories first, then full windows
    by_history = np.full(m + 1, np.nan)
    for b in range(_MIN_HISTORY, min(window, m + 1)):
        by_history[b] = np.median(finite_vals[:b])
    if m >= window:
        windows = sliding_window_view(finite_vals, window)  # windows[k] = vals[k : k + window]
        for lo in range(0, len(windows), block):
            part = np.median(windows[lo : lo + block], axis=1)
            by_history[window + lo : window + lo + len(part)] = part
    before = np.searchsorted(finite_idx, np.arange(len(values)), side="left")
    return by_history[before]


def _spells(
    kind: str,
    steps: np.ndarray,
    flagged: np.ndarray,
    values: np.ndarray,
    most: int,
    detail: Callable[..., str],
    baseline: np.ndarray | None = None,
) -> list[Spell]:
    """Runs of consecutive flagged points, the closest runs joined until ``most`` are left."""
    idx = np.flatnonzero(flagged)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(idx) - 1]])
    if len(starts) > most:  # join across the smallest gaps (in points) first
        gaps = idx[starts[1:]] - idx[ends[:-1]]
        keep = np.sort(np.argsort(gaps, kind="stable")[len(starts) - most :])
        starts = np.concatenate([starts[:1], starts[keep + 1]])
        ends = np.concatenate([ends[keep], ends[-1:]])
    spells = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        members = idx[a : b + 1]
        args = (values[members],) if baseline is None else (values[members], baseline[members])
        text = detail(*args)
        spells.append(Spell(kind, int(steps[idx[a]]), int(steps[idx[b]]), len(members), text))
    return spells


def _nonfinite_detail(values: np.ndarray) -> str:
    kinds = [
        ("NaN", np.isnan(values)),
        ("+inf", np.isposinf(values)),
        ("-inf", np.isneginf(values)),
    ]
    return ", ".join(name for name, hit in kinds if hit.any())
