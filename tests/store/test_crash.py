"""A training process killed with SIGKILL leaves a store that opens and holds its commits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from torchscope.errors import StoreError
from torchscope.store import RunReader

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# Logs one step every millisecond (the simulated training step); with "explicit" it calls
# flush() every 10 steps and then prints the step, otherwise it prints every step it queued
# and relies on the 0.2 s timer.
_TRAINER = """
import sys, time
from torchscope.store import RunWriter
explicit = sys.argv[2] == "explicit"
w = RunWriter(sys.argv[1], flush_interval=0.2)
w.set_meta("config", {"lr": 0.1})
step = 0
while True:
    w.log_scalars(step, {"loss": 1.0 / (step + 1)})
    w.log_layer_stats(step, "grad", {"fc1": {"norm": float(step)}, "fc2": {"norm": 2.0 * step}})
    if not explicit:
        print(step, flush=True)
    elif step % 10 == 9:
        w.flush()
        print(step, flush=True)
    step += 1
    time.sleep(0.001)
"""


def _start(logdir: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", _TRAINER, str(logdir), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _reported(proc: subprocess.Popen[str], min_step: int) -> int:
    """Read the trainer's output until it reports ``min_step`` (or later); return that step."""
    assert proc.stdout is not None
    reported = -1
    while reported < min_step:
        line = proc.stdout.readline()
        assert line, "the trainer exited early"
        reported = int(line)
    return reported


def _committed_steps(logdir: Path) -> int:
    """How many loss points a reader sees in the live store now (0 before the first commit)."""
    try:
        with RunReader(logdir) as r:
            return len(r.scalars("loss"))
    except (FileNotFoundError, StoreError, KeyError):  # not created or not committed yet
        return 0


def _assert_prefix_present(logdir: Path, last: int) -> None:
    with RunReader(logdir) as r:
        loss = r.scalars("loss")
        n = len(loss)
        assert n >= last + 1
        np.testing.assert_array_equal(loss.steps, np.arange(n))
        np.testing.assert_allclose(loss.values, 1.0 / (np.arange(n) + 1.0))
        grads = r.layer_stats("grad", "norm")
        assert grads.layers == ["fc1", "fc2"]
        np.testing.assert_array_equal(grads.steps[: last + 1], np.arange(last + 1))
        np.testing.assert_allclose(grads.values[1, : last + 1], 2.0 * np.arange(last + 1))
        assert r.meta()["config"] == {"lr": 0.1}


def test_sigkill_keeps_everything_flushed_explicitly(tmp_path: Path) -> None:
    proc = _start(tmp_path / "run", "explicit")
    try:
        last_flushed = _reported(proc, min_step=59)  # printed after flush() returned
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "run" / "run.sqlite-wal").exists()  # killed before any checkpoint
    _assert_prefix_present(tmp_path / "run", last_flushed)


def test_sigkill_keeps_what_the_timer_committed(tmp_path: Path) -> None:
    # The trainer never calls flush(): what a reader sees was committed by the 0.2 s timer,
    # and every point seen before the kill must still be there after it.
    proc = _start(tmp_path / "run", "timer")
    try:
        _reported(proc, min_step=100)
        deadline = time.monotonic() + 60
        seen = _committed_steps(tmp_path / "run")
        while seen < 100 and time.monotonic() < deadline:  # poll the real other process
            time.sleep(0.05)
            seen = _committed_steps(tmp_path / "run")
        assert seen >= 100, "the timer committed nothing within 60 s"
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _assert_prefix_present(tmp_path / "run", seen - 1)
