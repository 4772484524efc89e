"""Per-pixel buckets, segments and smoothing against plain-Python references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from torchscope.store.buckets import (
    BucketRows,
    EmaState,
    bucket_rows,
    ema_uneven,
    linear_scan,
    segment_starts,
)


def _reference(x: np.ndarray, y: np.ndarray, lo: float, hi: float, width: int) -> dict:
    """Bucket by bucket, one point at a time (the obvious way)."""
    out: dict[int, dict] = {}
    for xi, yi in sorted(zip(x.tolist(), y.tolist()), key=lambda p: p[0]):
        b = min(max(int((xi - lo) * width / (hi - lo)), 0), width - 1)
        d = out.setdefault(b, {"n": 0, "nan": 0, "pinf": 0, "ninf": 0, "finite": []})
        d["n"] += 1
        d["last"], d["x"] = yi, xi
        if math.isnan(yi):
            d["nan"] += 1
        elif yi == math.inf:
            d["pinf"] += 1
        elif yi == -math.inf:
            d["ninf"] += 1
        else:
            d["finite"].append(yi)
    return out


def _values(rng: np.random.Generator, n: int) -> np.ndarray:
    y = rng.standard_normal(n)
    y[rng.integers(0, n, 5)] = np.nan
    y[rng.integers(0, n, 3)] = np.inf
    y[rng.integers(0, n, 3)] = -np.inf
    return y


def test_buckets_match_the_reference() -> None:
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 1000, 5000))
    y = _values(rng, 5000)
    rows = bucket_rows(x, y, 0.0, 1000.0, 97)
    ref = _reference(x, y, 0.0, 1000.0, 97)
    assert rows.index.tolist() == sorted(ref)
    for i, b in enumerate(rows.index.tolist()):
        r = ref[b]
        assert rows.counts[i] == r["n"]
        assert (rows.nan[i], rows.posinf[i], rows.neginf[i]) == (r["nan"], r["pinf"], r["ninf"])
        assert rows.x[i] == r["x"]
        assert rows.last[i] == r["last"] or (math.isnan(rows.last[i]) and math.isnan(r["last"]))
        if r["finite"]:
            assert rows.mins[i] == min(r["finite"]) and rows.maxs[i] == max(r["finite"])
        else:
            assert math.isnan(rows.mins[i]) and math.isnan(rows.maxs[i])
    assert rows.counts.sum() == len(x)


def test_a_single_spike_among_a_million_points_is_a_bucket_maximum() -> None:
    y = np.zeros(1_000_000)
    y[654_321] = 50.0
    rows = bucket_rows(np.arange(1_000_000.0), y, 0.0, 999_999.0, 800)
    assert rows.maxs.max() == 50.0
    spike_bucket = rows.index[np.argmax(rows.maxs)]
    assert spike_bucket == int(654_321 * 800 / 999_999)
    assert len(rows) == 800 and rows.counts.sum() == 1_000_000


def test_merging_pieces_gives_the_same_rows_wherever_they_are_cut() -> None:
    rng = np.random.default_rng(1)
    x = np.sort(rng.integers(0, 500, 3000)).astype(float)  # repeated x on purpose
    y = _values(rng, 3000)
    whole = bucket_rows(x, y, 0.0, 499.0, 50)
    for cuts in ([1000, 2000], [7, 8, 2999], list(range(100, 3000, 100))):
        pieces = np.split(np.arange(3000), cuts)
        merged = BucketRows.merge([bucket_rows(x[p], y[p], 0.0, 499.0, 50) for p in pieces])
        for field in ("index", "x", "counts", "nan", "posinf", "neginf"):
            assert getattr(merged, field).tolist() == getattr(whole, field).tolist(), field
        for field in ("last", "mins", "maxs"):
            np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field))


def test_unsorted_x_is_sorted_and_the_latest_written_wins_among_equal_x() -> None:
    rows = bucket_rows(np.array([5.0, 1.0, 5.0]), np.array([1.0, 2.0, 3.0]), 0.0, 10.0, 1)
    assert rows.counts.tolist() == [3]
    assert rows.last.tolist() == [3.0] and rows.x.tolist() == [5.0]


def test_non_finite_x_is_drawn_at_an_edge_not_dropped() -> None:
    rows = bucket_rows(np.array([np.nan, 3.0, np.inf]), np.ones(3), 0.0, 10.0, 10)
    assert rows.counts.sum() == 3


def test_segment_starts_where_the_step_goes_down() -> None:
    assert segment_starts(np.array([0, 1, 2, 2, 1, 5, 0])).tolist() == [4, 6]
    assert segment_starts(np.array([3, 4]), previous=10).tolist() == [0]
    assert segment_starts(np.array([3, 4]), previous=3).tolist() == []


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 4096, 100_003])
def test_linear_scan_equals_the_loop(n: int) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.standard_normal(n)
    a[rng.integers(0, max(n, 1), min(n, 5))] = 0.0  # resets on the way
    expected, s = [], 0.7
    for ai, bi in zip(a.tolist(), b.tolist()):
        s = ai * s + bi
        expected.append(s)
    np.testing.assert_allclose(linear_scan(a, b, 0.7), expected, rtol=1e-12, atol=1e-12)


def _ema_loop(
    x: list[float], y: list[float], w: float, spacing: float, restarts: set[int]
) -> list[float]:
    """TensorBoard's debiased EMA with a decay per x gap, starting afresh after NaN/inf."""
    out: list[float] = []
    acc, norm, prev_x, prev_ok = 0.0, 0.0, None, True
    for i, (xi, yi) in enumerate(zip(x, y)):
        gap = 1.0 if prev_x is None else max((xi - prev_x) / spacing, 1.0)
        prev_x = xi
        if not math.isfinite(yi):
            acc = norm = 0.0
            out.append(math.nan)
            prev_ok = False
            continue
        if i in restarts or not prev_ok:
            acc = norm = 0.0
        decay = w**gap
        acc = decay * acc + (1 - decay) * yi
        norm = decay * norm + (1 - decay)
        out.append(acc / norm)
        prev_ok = True
    return out


def test_ema_accounts_for_uneven_x_and_restarts_after_non_finite_values() -> None:
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.choice([1.0, 1.0, 5.0, 20.0], 500))
    y = rng.standard_normal(500)
    y[100], y[300] = np.nan, np.inf
    out, state = ema_uneven(x, y, 0.9, 1.0, restart=np.array([250]))
    expected = _ema_loop(x.tolist(), y.tolist(), 0.9, 1.0, {250})
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    assert math.isnan(out[100]) and math.isnan(out[300])
    assert out[101] == pytest.approx(y[101])  # restarted: not the value before the NaN
    assert out[250] == pytest.approx(y[250])
    assert state.last_x == x[-1]


def test_ema_continues_exactly_from_its_state() -> None:
    rng = np.random.default_rng(4)
    x, y = np.arange(1000.0), rng.standard_normal(1000)
    whole, _ = ema_uneven(x, y, 0.95, 1.0)
    first, state = ema_uneven(x[:600], y[:600], 0.95, 1.0)
    rest, _ = ema_uneven(x[600:], y[600:], 0.95, 1.0, state)
    np.testing.assert_allclose(np.concatenate([first, rest]), whole, rtol=1e-12)
    assert isinstance(state, EmaState)


def test_no_smoothing_returns_the_values() -> None:
    y = np.array([1.0, 5.0, -2.0])
    out, _ = ema_uneven(np.arange(3.0), y, 0.0, 1.0)
    assert out.tolist() == y.tolist()
