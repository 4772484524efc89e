"""Runs on a shared network filesystem use SQLite's rollback journal, and stay readable."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from torchscope.store import RunReader, RunWriter
from torchscope.store.filesystems import filesystem_of, journal_mode_for

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,vers=4.2 0 0
10.0.0.1@tcp:/scratch /scratch lustre rw 0 0
/dev/sdb1 /home/me/local\\040disk ext4 rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "kind", "mode"),
    [
        ("/home/me/runs/x", "nfs4", "delete"),
        ("/home", "nfs4", "delete"),
        ("/scratch/job/runs", "lustre", "delete"),
        ("/home/me/local disk/runs", "ext4", "wal"),  # a local disk mounted inside the share
        ("/homework/runs", "ext4", "wal"),  # /home is not a prefix of /homework
        ("/tmp/runs", "tmpfs", "wal"),
    ],
)
def test_the_longest_mount_point_above_a_path_decides(path: str, kind: str, mode: str) -> None:
    assert filesystem_of(Path(path), MOUNTS) == kind
    assert journal_mode_for(Path(path), MOUNTS) == mode


def test_the_environment_overrides_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCHSCOPE_JOURNAL", "wal")
    assert journal_mode_for(Path("/home/me/runs"), MOUNTS) == "wal"
    monkeypatch.setenv("TORCHSCOPE_JOURNAL", "delete")
    assert journal_mode_for(Path("/tmp/x"), MOUNTS) == "delete"


def test_a_run_on_a_network_filesystem_is_written_and_read_without_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = f"/dev/sda1 / ext4 rw 0 0\nserver:/x {tmp_path} nfs4 rw 0 0\n"
    monkeypatch.setattr("torchscope.store.filesystems._MOUNTS", tmp_path / "mounts")
    (tmp_path / "mounts").write_text(fake)
    with caplog.at_level(logging.WARNING, logger="torchscope.store"):
        writer = RunWriter(tmp_path / "run", flush_interval=0.05)
    assert writer.journal_mode == "delete"
    assert "network filesystem" in caplog.text and "rollback journal" in caplog.text
    writer.log_scalars(0, {"loss": 2.0})
    writer.flush()
    with RunReader(tmp_path / "run") as live:  # read while the writer is open
        assert live.scalars("loss").values.tolist() == [2.0]
    writer.log_scalars(1, {"loss": 1.0})
    writer.close()
    assert not (tmp_path / "run" / "run.sqlite-wal").exists()
    conn = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    with RunReader(tmp_path / "run") as done:
        assert done.scalars("loss").values.tolist() == [2.0, 1.0]


def test_a_local_run_keeps_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("torchscope.store.filesystems._MOUNTS", tmp_path / "mounts")
    (tmp_path / "mounts").write_text(f"/dev/sda1 / ext4 rw 0 0\n/dev/x {tmp_path} xfs rw 0 0\n")
    with RunWriter(tmp_path / "run") as writer:
        assert writer.journal_mode == "wal"


_KILLED_MID_COMMIT = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size=1")  # spill changed pages into the file before the commit
conn.execute("BEGIN IMMEDIATE")
for i in range(2000):
    conn.execute("INSERT INTO meta (key, value, wall_time) VALUES ('junk', ?, 0)", ("x" * 500,))
os._exit(0)  # killed: no commit, no rollback
"""


def test_a_writer_killed_mid_commit_leaves_a_readable_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCHSCOPE_JOURNAL", "delete")
    with RunWriter(tmp_path / "run") as writer:
        for step in range(10):
            writer.log_scalars(step, {"loss": float(step)})
    store = tmp_path / "run" / "run.sqlite"
    subprocess.run([sys.executable, "-c", _KILLED_MID_COMMIT, str(store)], check=True)
    assert store.with_name("run.sqlite-journal").is_file()  # a hot journal: a dead writer's
    with RunReader(tmp_path / "run") as reader:  # rolled back, then read
        assert reader.scalars("loss").values.tolist() == [float(s) for s in range(10)]
        assert "junk" not in reader.meta()
    assert not store.with_name("run.sqlite-journal").exists()
