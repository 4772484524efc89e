"""The Monitor's runs: one run per launch, resumed runs marked, names and values checked at
``log`` (issues 10 and 11)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from tests.monitor.fake_store import FakeWriter
from torchscope.errors import LogValueError
from torchscope.monitor import Monitor
from torchscope.store import RunReader, find_runs

# One training launch: 6 SGD steps of a linear model on fixed data, the loss logged every
# step; argv: logdir, first step, "resume" or "new".
_LAUNCH = """
import sys, torch
from torchscope.monitor import Monitor
logdir, first, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(32, 4), torch.randn(32, 1)
mon = Monitor(model, opt, logdir, every=2, start_step=first, resume=mode == "resume",
              name=f"launch from {first}", tags=["demo"])
for step in range(first, first + 6):
    loss = torch.nn.functional.mse_loss(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
    mon.log(step, loss=loss)
mon.close()
print(mon.run_dir)
"""


def _launch(logdir: Path, first: int, mode: str) -> tuple[Path, str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, str(logdir), str(first), mode],
        capture_output=True, text=True, env=env, check=True, timeout=300,
    )  # fmt: skip
    return Path(done.stdout.strip()), done.stderr


def test_two_launches_on_one_logdir_leave_two_runs_each_intact(tmp_path: Path) -> None:
    logdir = tmp_path / "runs" / "exp"
    first, _ = _launch(logdir, 0, "new")
    second, stderr = _launch(logdir, 0, "new")  # the same script run again
    assert (first, second) == (logdir, tmp_path / "runs" / "exp-2")
    notice = [line for line in stderr.splitlines() if "already holds a run" in line]
    assert notice == [
        f"torchscope: {logdir} already holds a run; this run is written to {second} "
        "(resume=True continues that run instead)"
    ]
    assert find_runs(tmp_path / "runs") == [first, second]
    a, b = RunReader(first), RunReader(second)
    for r in (a, b):
        loss = r.scalars("loss")
        assert loss.steps.tolist() == [0, 1, 2, 3, 4, 5]  # one point per step: no zig-zag
        assert r.layer_stats("grad", "norm").steps.tolist() == [0, 2, 4]
        assert (r.name, r.tags) == ("launch from 0", ["demo"])
    # the same seed, the same training: the two runs hold the same values, apart
    assert a.scalars("loss").values.tolist() == b.scalars("loss").values.tolist()


def _train(logdir: Path, first: int, resume: bool) -> Monitor:
    """Six logged steps from ``first``, in this process (the store cannot tell the difference)."""
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = Monitor(model, opt, logdir, every=2, start_step=first, resume=resume, name=f"{first}")
    for step in range(first, first + 6):
        loss = model(torch.ones(2, 4)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.log(step, loss=loss)
    mon.close()
    return mon


def test_a_resumed_launch_keeps_the_repeated_steps_marked(tmp_path: Path) -> None:
    logdir = tmp_path / "exp"
    _train(logdir, 0, resume=False)  # steps 0..5, then restarted from a checkpoint of step 3
    resumed = _train(logdir, 3, resume=True)  # steps 3..8
    assert resumed.run_dir == logdir and find_runs(tmp_path) == [logdir]
    r = RunReader(logdir)
    loss = r.scalars("loss")
    assert loss.steps.tolist() == [0, 1, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8]
    assert loss.segments is not None
    assert loss.segments.tolist() == [0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1]
    assert r.scalars("loss", segment=1).steps.tolist() == [3, 4, 5, 6, 7, 8]
    assert [(s.index, s.first_step, s.last_step) for s in r.segments()] == [(0, 0, 5), (1, 3, 8)]
    assert r.layer_stats("grad", "norm", segment=1).steps.tolist() == [4, 6, 8]
    assert r.name == "3"  # given again on resume: the latest name wins
    assert r.meta()["start_time"] < r.segments()[1].started  # the first launch's is kept


def test_name_tags_and_note_are_stored_with_the_run(tmp_path: Path) -> None:
    model = nn.Linear(2, 1)
    with Monitor(model, logdir=tmp_path / "r", name="baseline", tags=["a", "b"], note="why") as mon:
        mon.log(0, loss=1.0)
    assert mon.run_dir == tmp_path / "r"
    r = RunReader(tmp_path / "r")
    assert (r.name, r.tags, r.note) == ("baseline", ["a", "b"], "why")


def _monitor() -> tuple[Monitor, FakeWriter]:
    writer = FakeWriter()
    return Monitor(nn.Linear(2, 1), writer=writer), writer


@pytest.mark.parametrize(
    ("step", "values", "message"),
    [
        (2**63, {"loss": 1.0}, "step 9223372036854775808 is outside"),
        (2.5, {"loss": 1.0}, "step 2.5 is not a whole number"),
        (1, {"lo\ud800ss": 1.0}, r"scalar name 'lo\\ud800ss'"),
        (1, {"loss\n": 1.0}, r"'\\n'"),
        (1, {"loss": torch.ones(2)}, r"scalar 'loss' is a tensor of shape \(2,\)"),
        (1, {"loss": torch.ones((), dtype=torch.complex64)}, "complex"),
        (1, {"loss": "high"}, "is a str, not a number"),
        (1, {"loss": 10**400}, "not a float64 number"),
    ],
)
def test_log_refuses_a_bad_item_and_keeps_every_other_point(
    step: Any, values: dict[str, Any], message: str
) -> None:
    mon, writer = _monitor()
    mon.log(0, loss=torch.tensor(0.5), acc=0.25)
    with pytest.raises(LogValueError, match=message):
        mon.log_dict(step, {"acc": 0.5, **values})  # nothing of this call is kept
    mon.log(3.0, loss=0.125)  # a whole float step is the integer step
    mon.close()
    assert writer.scalar("loss") == {0: 0.5, 3: 0.125}
    assert writer.scalar("acc") == {0: 0.25} and mon.errors == []


def test_log_classification_checks_its_split_and_labels() -> None:
    mon, writer = _monitor()
    out, target = torch.tensor([[2.0, 1.0]]), torch.tensor([0])
    with pytest.raises(LogValueError, match="confusion split"):
        mon.log_classification(0, out, target, split="val\x1b[2J")
    with pytest.raises(LogValueError, match="class label"):
        mon.log_classification(0, out, target, labels=["cat", "\x00"])
    mon.log_classification(0, out, target, labels=["cat", "dog"])
    mon.close()
    assert writer.confusions == [(0, "val", [[1, 0], [0, 0]], ["cat", "dog"])]


def test_module_names_that_are_not_printable_are_escaped_not_refused(tmp_path: Path) -> None:
    model = nn.Sequential()
    model.add_module("fc\x1b[31m", nn.Linear(3, 2))  # a name from someone else's model
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, logdir=tmp_path, every=1) as mon:
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
        mon.log(0, loss=1.0)
    assert mon.errors == []
    grads = RunReader(tmp_path).layer_stats("grad", "norm")
    assert grads.layers == ["fc\\x1b[31m.weight", "fc\\x1b[31m.bias"]
    assert not math.isnan(grads.values[0, 0])
