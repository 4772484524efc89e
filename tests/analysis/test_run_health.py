"""Spells of non-finite, exploding and vanishing points, against plain-Python references."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from torchscope.analysis.run_health import (
    EXPLODE_FACTOR,
    VANISH_FACTOR,
    _trailing_median,
    gradient_spells,
    nonfinite_spells,
)


def _runs(flags: list[bool], steps: list[int]) -> list[tuple[int, int, int]]:
    """(first step, last step, points) of each run of consecutive True flags."""
    out, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            out.append((steps[start], steps[i - 1], i - start))
            start = None
    return out


def test_nonfinite_spells_equal_a_loop_over_the_points() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=400)
    values[rng.random(400) < 0.1] = np.nan
    values[[17, 18, 250]] = [np.inf, -np.inf, np.inf]
    steps = np.arange(0, 800, 2)
    spells = nonfinite_spells(steps, values)
    flags = [not math.isfinite(v) for v in values.tolist()]
    assert [(s.first_step, s.last_step, s.points) for s in spells] == _runs(flags, steps.tolist())
    (at_17,) = [s for s in spells if s.first_step <= 34 <= s.last_step]
    assert "+inf" in at_17.detail and "-inf" in at_17.detail
    assert nonfinite_spells(steps, np.zeros(400)) == []


def test_nonfinite_spells_are_merged_across_the_smallest_gaps() -> None:
    values = np.zeros(100)
    values[[0, 2, 10, 50, 51, 90]] = np.nan  # runs at 0, 2, 10, 50–51, 90
    spells = nonfinite_spells(np.arange(100), values, most=3)
    # gaps between runs: 2, 8, 40, 39 points: the two smallest are joined
    assert [(s.first_step, s.last_step, s.points) for s in spells] == [
        (0, 10, 3), (50, 51, 2), (90, 90, 1)
    ]  # fmt: skip
    assert sum(s.points for s in spells) == 6  # joining never loses a flagged point


def test_trailing_median_equals_statistics_median() -> None:
    rng = np.random.default_rng(1)
    values = rng.lognormal(size=300)
    values[rng.random(300) < 0.05] = np.nan
    got = _trailing_median(values, 20, block=37)  # a block size that splits the windows
    finite = [v for v in values.tolist() if math.isfinite(v)]
    seen = 0
    for i, v in enumerate(values.tolist()):
        before = finite[max(0, seen - 20) : seen]
        if seen < 5:
            assert math.isnan(got[i])
        else:
            assert got[i] == pytest.approx(statistics.median(before), rel=1e-12)
        seen += math.isfinite(v)


def test_gradient_spells_find_a_spike_and_a_collapse() -> None:
    rng = np.random.default_rng(2)
    norms = 1.0 + 0.1 * rng.random(200)
    norms[100:103] = 40.0  # ×~38 the running median: exploding
    norms[150] = 1e-5  # ×1e-5: vanishing
    norms[151] = 0.0
    norms[120] = np.nan  # neither: non-finite is its own spell kind
    steps = np.arange(200) * 10
    spells = gradient_spells(steps, norms)
    assert [(s.kind, s.first_step, s.last_step, s.points) for s in spells] == [
        ("exploding", 1000, 1020, 3),
        ("vanishing", 1500, 1510, 2),
    ]
    assert spells[0].detail.startswith("3") and "× the median" in spells[0].detail
    assert spells[0].steps_text == "steps 1000–1020"


def test_gradient_spells_ignore_slow_drift_and_short_histories() -> None:
    drift = np.geomspace(1.0, 1e4, 1000)  # ×10,000 over the run, never ×10 within 50 points
    assert gradient_spells(np.arange(1000), drift) == []
    assert EXPLODE_FACTOR == 10.0 and VANISH_FACTOR == 1e-3
    early = np.array([1.0, 100.0, 1.0, 1.0])  # too few points before to judge step 1
    assert gradient_spells(np.arange(4), early) == []
