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

from torchscope.store import RunReader

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# Logs one step every millisecond; with EXPLICIT set it calls flush() every 10 steps and then
# prints the step, otherwise it prints every step it queued and relies on the 0.2 s timer.
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


def _run_and_kill(logdir: Path, mode: str, *, min_step: int, grace: float) -> int:
    """Start the trainer, wait until it reports ``min_step``, wait ``grace`` s, SIGKILL it.

    Returns the last step the trainer reported before ``grace`` began.
    """
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _TRAINER, str(logdir), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        reported = -1
        while reported < min_step:
            line = proc.stdout.readline()
            assert line, "the trainer exited early"
            reported = int(line)
        time.sleep(grace)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return reported


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
    last_flushed = _run_and_kill(tmp_path / "run", "explicit", min_step=59, grace=0.05)
    assert (tmp_path / "run" / "run.sqlite-wal").exists()  # killed before any checkpoint
    _assert_prefix_present(tmp_path / "run", last_flushed)


def test_sigkill_keeps_what_the_timer_committed(tmp_path: Path) -> None:
    # Everything queued at least 10 flush intervals before the kill must be on disk (the
    # margin is for a loaded machine; the guarantee is one interval plus the commit).
    queued = _run_and_kill(tmp_path / "run", "timer", min_step=100, grace=2.0)
    _assert_prefix_present(tmp_path / "run", queued)
