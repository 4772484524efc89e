"""Corrupted run stores: every read ends in a correct result or one ``StoreError`` naming the
file, never a raw sqlite3/numpy/JSON error, a hang, or a changed file (issue 11, items 9–10).

A seeded, bounded fuzz test: byte-level damage (truncation, flipped bytes, a zeroed page)
and SQL-level damage (blobs of the wrong type or length, bad JSON, missing tables, foreign
or future headers) of one valid store holding every kind of record.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from torchscope.errors import StoreError
from torchscope.store import RunReader, RunWriter

SEED = 20261127


def _valid_store(path: Path) -> Path:
    """A closed run with scalars in several chunks, layer stats, histograms, a confusion
    matrix, events and metadata; returns its store file."""
    w = RunWriter(path, name="valid", tags=["a"], note="n", flush_interval=3600)
    for step in range(300):
        w.log_scalars(step, {"loss": 1.0 / (step + 1), "lr": 0.1})
        w.log_layer_stats(step, "grad", {"fc1": {"norm": float(step)}, "fc2": {"norm": 1.0}})
        if step % 10 == 9:
            w.flush()  # chunks that grew over 13 commits, and several chunks per series
    w.log_scalars(39, {"loss": 0.2}, split="val")
    w.log_histogram(5, "weight", "fc1.weight", [-1.0, 0.0, 1.0], [3.0, 4.0])
    w.log_confusion(39, "val", [[5, 1], [2, 7]], labels=["cat", "dog"])
    w.log_event(3, "nonfinite", {"module": "fc2", "phase": "forward"})
    w.set_meta("config", {"lr": 0.1})
    w.close()
    return w.path


def read_everything(path: Path) -> None:
    """Every read a user, `torchscope runs` or a dashboard makes of a store."""
    with RunReader(path) as r:
        (r.name, r.tags, r.note, r.meta(), r.segments(), r.events())
        for split, name in r.scalar_names():
            r.scalars(name, split=split)
            r.scalars(name, split=split, buckets=3)
        for kind in r.layer_kinds():
            for stat in r.layer_stat_names(kind):
                r.layer_stats(kind, stat)
                r.layer_stats(kind, stat, buckets=2)
        for kind, name in r.histogram_names():
            r.histograms(kind, name)
        for split in r.confusion_splits():
            r.confusion(split)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(store: Path) -> StoreError | None:
    """Read everything; return the StoreError (or None); assert the file is unchanged."""
    before = _digest(store)
    try:
        read_everything(store)
        error = None
    except StoreError as exc:
        error = exc
    assert _digest(store) == before, "reading changed the store"
    if error is not None:
        assert str(store) in str(error) and "\n" not in str(error)
    return error


# -- SQL-level damage: each one must be found, with a message saying what ----------------

_SQL_CASES: dict[str, tuple[str, str]] = {
    "values blob shortened": (
        "UPDATE chunks SET vals = substr(vals, 1, length(vals) - 8) WHERE id = 2",
        r"the values of chunk 2 of scalar 'train'/'lr': 952 bytes, expected 960",
    ),
    "steps blob holds text": ("UPDATE chunks SET steps = 'abc' WHERE id = 1", "text, not a blob"),
    "values blob holds a JSON list": (
        "UPDATE chunks SET vals = '[1, 2, 3]' WHERE id = 1",
        "text, not a blob",
    ),
    "wall times blob holds an integer": (
        "UPDATE chunks SET wall_times = 7 WHERE id = 1",
        "wall times of chunk 1 .*: integer, not a blob",
    ),
    "empty blobs": ("UPDATE chunks SET steps = x'', vals = x'' WHERE id = 3", "0 bytes"),
    "negative point count": ("UPDATE chunks SET n = -1 WHERE id = 1", "negative"),
    "huge point count": ("UPDATE chunks SET n = 1000000000000 WHERE id = 1", "expected"),
    "point count is text": ("UPDATE chunks SET n = 'x' WHERE id = 1", "not an integer"),
    "segment is text": ("UPDATE chunks SET segment = 'x'", "segment"),
    "series name is a blob": ("UPDATE series SET name = x'00ff' WHERE id = 1", "blob, not text"),
    # a series whose chunks are gone showed as 0 points (and crashed the gradient figure)
    "chunks moved to no series": (
        "UPDATE chunks SET series = 999",
        r"scalar 'train'/'loss' has no points: its chunks are missing",
    ),
    # series of a family no torchscope writes were left out without a word
    "series family unknown": (
        "UPDATE series SET family = 'weird' WHERE id = 1",
        r"a series of the unknown family 'weird'",
    ),
    "histogram counts shortened": (
        "UPDATE histograms SET counts = substr(counts, 1, 8)",
        "2 edges for 1 counts|3 edges for 1 counts",
    ),
    "histogram edges are text": ("UPDATE histograms SET edges = '[0, 1]'", "text, not a blob"),
    "confusion matrix ragged": (
        "UPDATE confusion SET matrix = '[[1, 2], [3]]'",
        "not rectangular|not a square matrix",
    ),
    "confusion matrix not JSON": ("UPDATE confusion SET matrix = '[[1, 2], [3, 4]'", "not valid"),
    "confusion matrix of text": ("UPDATE confusion SET matrix = '\"x\"'", "not a square"),
    "confusion matrix nested 100000 deep": (
        "UPDATE confusion SET matrix = '" + "[" * 100_000 + "]" * 100_000 + "'",
        "not valid JSON|not a square",
    ),
    "confusion count negative": ("UPDATE confusion SET matrix = '[[1, -2], [0, 1]]'", "negative"),
    "confusion count beyond int64": (
        "UPDATE confusion SET matrix = '[[1, 99999999999999999999], [0, 1]]'",
        "not a square matrix of counts",
    ),
    "confusion labels not names": ("UPDATE confusion SET labels = '[1, 2]'", "not a list"),
    "confusion labels miscounted": ("UPDATE confusion SET labels = '[\"a\"]'", "1 labels for 2"),
    "event payload a list": ("UPDATE events SET payload = '[]'", "not a JSON object"),
    "event payload not JSON": ("UPDATE events SET payload = '{'", "not valid JSON"),
    "event step is text": ("UPDATE events SET step = 'x'", "step of event 1: text"),
    "event wall time is a blob": ("UPDATE events SET wall_time = x'00'", "blob, not a number"),
    "meta value not JSON": ("UPDATE meta SET value = '{' WHERE key = 'config'", "meta 'config'"),
    "meta key a blob": ("UPDATE meta SET key = x'01' WHERE key = 'config'", "blob, not text"),
    "segment start is text": ("UPDATE segments SET started = 'x'", "start of segment 0"),
    "application id foreign": ("PRAGMA application_id = 12345", "not a torchscope run store"),
    "schema from the future": ("PRAGMA user_version = 99", "store schema 99"),
    **{
        f"table {t} dropped": (f"DROP TABLE {t}", f"missing table {t}")
        for t in ("series", "chunks", "histograms", "confusion", "events", "meta", "segments")
    },
    "column dropped": ("ALTER TABLE events DROP COLUMN payload", "no such column: payload"),
}


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _valid_store(tmp_path_factory.mktemp("valid") / "run")


def test_the_valid_store_reads(valid: Path) -> None:
    assert _check(valid) is None


@pytest.mark.parametrize("case", list(_SQL_CASES))
def test_damaged_contents_raise_one_store_error_naming_the_file(
    valid: Path, tmp_path: Path, case: str
) -> None:
    sql, message = _SQL_CASES[case]
    store = tmp_path / "run.sqlite"
    shutil.copy(valid, store)
    conn = sqlite3.connect(store)
    conn.execute(sql)
    conn.commit()
    conn.close()
    error = _check(store)
    assert error is not None, f"{case}: read without an error"
    assert error.path == str(store)
    assert re.search(message, error.problem), error


# -- byte-level damage: a correct read or a StoreError, nothing else ---------------------


def _mutations(data: bytes, rng: random.Random) -> list[tuple[str, bytes]]:
    size = len(data)
    cases = [(f"truncated to {n} bytes", data[:n]) for n in (0, 1, 16, 99, 100, 512, 4096)]
    cases += [(f"truncated to {n} bytes", data[:n]) for n in rng.sample(range(size), 12)]
    cases.append(("last page missing", data[: size - 4096]))
    for k in range(40):
        mutable = bytearray(data)
        lo = 0 if k < 10 else 100  # the first ten hit the 100-byte header
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(lo, 100 if k < 10 else size)
            mutable[at] ^= 1 << rng.randrange(8)
        cases.append((f"{k}: bits flipped", bytes(mutable)))
    for page in range(1, size // 4096):
        mutable = bytearray(data)
        mutable[page * 4096 : (page + 1) * 4096] = bytes(4096)
        cases.append((f"page {page} zeroed", bytes(mutable)))
    cases.append(("random bytes", rng.randbytes(size)))
    cases.append(("a text file", b"not a database\n" * 300))
    return cases


@pytest.mark.timeout(300)
def test_byte_damage_reads_correctly_or_raises_one_store_error(valid: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = valid.read_bytes()
    outcomes: dict[str, int] = {"read": 0, "StoreError": 0}
    for name, damaged in _mutations(data, rng):
        store = tmp_path / "run.sqlite"
        store.write_bytes(damaged)
        for extra in ("-wal", "-shm"):
            Path(f"{store}{extra}").unlink(missing_ok=True)
        try:
            error = _check(store)
        except Exception as exc:  # anything but StoreError is the bug this test looks for
            raise AssertionError(f"{name}: {type(exc).__name__}: {exc}") from exc
        outcomes["read" if error is None else "StoreError"] += 1
    # both outcomes occur: damage inside values reads as other values, damage to structure
    # is found
    assert outcomes["StoreError"] >= 20 and outcomes["read"] >= 1, outcomes


def test_the_cli_reports_a_damaged_store_in_one_message(
    valid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from torchscope.cli import main

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(valid, run / "run.sqlite")
    conn = sqlite3.connect(run / "run.sqlite")
    conn.execute("UPDATE chunks SET vals = '[1, 2, 3]'")  # the `runs` crash of issue 11
    conn.commit()
    conn.close()
    assert main(["runs", str(run)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert err == (
        f"error: cannot read run store {run / 'run.sqlite'}: "
        "the values of chunk 1 of scalar 'train'/'loss': text, not a blob"
    )


def test_a_reader_on_a_store_being_created_says_it_is_not_a_run_yet(tmp_path: Path) -> None:
    (tmp_path / "run.sqlite").write_bytes(b"")  # claimed by a writer, schema not yet written
    with pytest.raises(StoreError, match="not a torchscope run store"):
        RunReader(tmp_path)
