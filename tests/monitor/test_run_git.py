"""A run records the git commit (and whether tracked files had changes) of the directory it
was started in; outside a repository, without git, or with a git that hangs, nothing."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch

import torchscope
from torchscope.cli import main
from torchscope.monitor import run_meta
from torchscope.monitor.run_meta import environment, git_state
from torchscope.store.reader import RunReader

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one commit, as the working directory (no repository above it)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    path = tmp_path / "project"
    path.mkdir()
    (path / "train.py").write_text("print('v1')\n")
    for args in (["init", "-q"], ["add", "train.py"], ["commit", "-q", "-m", "first"]):
        subprocess.run([*GIT, *args], cwd=path, check=True, capture_output=True)
    monkeypatch.chdir(path)
    return path


def _head(path: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True)
    return done.stdout.strip()


def test_the_commit_and_whether_tracked_files_changed(repo: Path) -> None:
    env = environment(torch.nn.Linear(2, 2))
    assert env["git_commit"] == _head(repo) and len(env["git_commit"]) == 40
    assert env["git_dirty"] is False
    (repo / "notes.txt").write_text("untracked files do not count\n")
    assert git_state()["git_dirty"] is False
    (repo / "train.py").write_text("print('v2')\n")
    assert git_state() == {"git_commit": _head(repo), "git_dirty": True}


def test_outside_a_repository_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert git_state() == {}
    assert "git_commit" not in environment(torch.nn.Linear(2, 2))


def test_without_git_or_with_a_git_that_hangs_nothing_is_recorded(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_meta.shutil, "which", lambda name: None)
    assert git_state() == {}
    hung = tmp_path / "git"
    hung.write_text("#!/bin/sh\nsleep 30\n")
    hung.chmod(hung.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(run_meta.shutil, "which", lambda name: str(hung))
    monkeypatch.setattr(run_meta, "GIT_TIMEOUT_S", 0.2)
    assert git_state() == {}  # the timeout gave up on it: the run starts anyway


def test_a_git_answer_that_is_not_a_commit_is_not_recorded(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    liar = tmp_path / "git"
    liar.write_text("#!/bin/sh\necho '<script>alert(1)</script>'\n")
    liar.chmod(liar.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(run_meta.shutil, "which", lambda name: str(liar))
    assert git_state() == {}


def test_a_monitored_run_shows_its_commit_in_runs_and_the_report(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "train.py").write_text("print('changed')\n")
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with torchscope.Monitor(net, opt, logdir="runs/exp") as mon:
        mon.log(0, loss=1.0)
    commit = _head(repo)
    with RunReader("runs/exp") as reader:
        env = reader.meta()["environment"]
    assert env["git_commit"] == commit and env["git_dirty"] is True
    assert main(["runs", "runs/exp", "--width", "120"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"git commit   {commit} (uncommitted changes)" in [line.rstrip() for line in lines]
    html = torchscope.report(run="runs/exp").to_html()
    header = html[html.index('<header class="ts-head">') : html.index("</header>")]
    assert f"{commit} (uncommitted changes)" in header
    assert os.path.isdir(repo / ".git") and not (repo / ".git" / "index.lock").exists()
