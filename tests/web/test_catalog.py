"""The server's index of runs: opaque stable ids, new runs found, a bounded set of open files."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchscope.store import RunWriter
from torchscope.web.catalog import Catalog, run_id


def _run(path: Path, name: str, points: int = 3) -> None:
    with RunWriter(path, run_name=name) as w:
        for s in range(points):
            w.log_scalars(s, {"loss": float(s)})


def test_ids_are_opaque_and_stable(tmp_path: Path) -> None:
    _run(tmp_path / "a", "alpha")
    first, second = Catalog([tmp_path]), Catalog([tmp_path])
    first.refresh(force_scan=True)
    second.refresh(force_scan=True)
    (a,), (b,) = first.entries(), second.entries()
    assert a.id == b.id == run_id((tmp_path / "a" / "run.sqlite").resolve())
    assert len(a.id) == 16 and "alpha" not in a.id and str(tmp_path) not in a.id
    assert a.folder == "a"
    with pytest.raises(KeyError):
        first.entry("../a")


def test_new_runs_and_new_points_are_found(tmp_path: Path) -> None:
    w = RunWriter(tmp_path / "a", run_name="alpha", flush_interval=0.05)
    w.log_scalars(2, {"loss": 1.0})
    w.flush()
    cat = Catalog([tmp_path], rescan_s=0.0)
    cat.refresh()
    (entry,) = cat.entries()
    assert entry.digest.last_step == 2
    generation = cat.generation
    assert not cat.refresh()  # nothing changed: nothing read
    _run(tmp_path / "b", "beta")
    w.log_scalars(7, {"loss": 0.5})  # more points in a file already known
    w.close()
    assert cat.refresh() and cat.generation > generation
    by_name = {e.digest.name: e for e in cat.entries()}
    assert set(by_name) == {"alpha", "beta"}
    assert by_name["alpha"].digest.last_step == 7


def test_open_files_are_bounded(tmp_path: Path) -> None:
    for i in range(5):
        _run(tmp_path / f"r{i}", f"r{i}")
    cat = Catalog([tmp_path], max_open=2)
    cat.refresh(force_scan=True)
    runs = [cat.open(e.id) for e in cat.entries()]
    assert len(cat._open) == 2
    assert all(r.versions()[0] > 0 for r in runs)  # let go of, still usable by their holders
