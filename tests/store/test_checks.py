"""Bad steps, names and values are refused at the logging call; no other point is lost
(issue 11, item 6)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from torchscope.errors import LogValueError, TorchscopeError
from torchscope.store import RunReader, RunWriter
from torchscope.store.checks import check_name, check_step, printable_name


def test_a_step_of_2_pow_63_is_refused_and_the_50_good_points_stay(tmp_path: Path) -> None:
    with RunWriter(tmp_path, name="kept") as w:
        for s in range(50):
            w.log_scalars(s, {"loss": float(s)})
        with pytest.raises(LogValueError, match=r"step 9223372036854775808 is outside the range"):
            w.log_scalars(2**63, {"loss": 1.0})
    assert w.errors == []
    r = RunReader(tmp_path)
    assert r.scalars("loss").values.tolist() == [float(s) for s in range(50)]
    assert r.name == "kept" and isinstance(r.meta()["started"], float)


def test_a_lone_surrogate_name_is_refused_and_the_20_good_points_stay(tmp_path: Path) -> None:
    with RunWriter(tmp_path, name="kept") as w:
        for s in range(20):
            w.log_scalars(s, {"loss": float(s)})
        with pytest.raises(LogValueError, match=r"scalar name 'lo\\ud800ss' holds .*'\\ud800'"):
            w.log_scalars(20, {"acc": 1.0, "lo\ud800ss": 1.0})
    r = RunReader(tmp_path)
    assert r.scalar_names() == [("train", "loss")]  # the whole call was refused, acc too
    assert len(r.scalars("loss")) == 20 and r.name == "kept"


@pytest.mark.parametrize(
    ("step", "expected"),
    [(3, 3), (3.0, 3), (np.int64(4), 4), (np.float32(5.0), 5), (torch.tensor(6), 6), (-2, -2),
     (2**63 - 1, 2**63 - 1), (-(2**63), -(2**63))],
)  # fmt: skip
def test_whole_steps_are_accepted(step: Any, expected: int) -> None:
    assert check_step(step) == expected and type(check_step(step)) is int


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (2.5, "step 2.5 is not a whole number"),
        (math.nan, "step nan is not a whole number"),
        (math.inf, "step inf is not a whole number"),
        (True, "step True is a bool"),
        ("3", "step '3' is a str, not an integer"),
        (torch.tensor(1.5), "is a Tensor, not an integer"),
        (2**63, "outside the range"),
        (-(2**63) - 1, "outside the range"),
    ],
)
def test_other_steps_are_refused_with_a_value_error(step: Any, message: str) -> None:
    with pytest.raises(LogValueError, match=message) as info:
        check_step(step)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TorchscopeError)


def test_names_are_printable_text_and_kept_as_they_are(tmp_path: Path) -> None:
    odd = ["/../../escaped/owned", "val/loss", "[red]FAKE[/red]", "<script>", "ü ∑ 😀", "a b"]
    with RunWriter(tmp_path) as w:
        for i, name in enumerate(odd):
            w.log_scalars(0, {name: float(i)}, split=name)
            w.log_confusion(0, name, [[1, 0], [0, 1]], labels=[name, "x"])
    r = RunReader(tmp_path)
    assert r.scalar_names() == [(n, n) for n in odd]  # names are data, stored exactly
    assert r.confusion_splits() == sorted(odd)
    confusion = r.confusion("/../../escaped/owned")
    assert confusion is not None and confusion.labels == ["/../../escaped/owned", "x"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "is empty"),
        ("a\nb", r"'\\n'"),
        ("\x1b]0;title\x07", r"'\\x1b'"),
        ("tab\there", r"'\\t'"),
        ("rtl\u202eoverride", r"'\\u202e'"),
        ("x" * 4097, "4097 characters"),
        (3, "is a int, not a str"),
    ],
)
def test_names_with_control_characters_are_refused(name: Any, message: str) -> None:
    with pytest.raises(LogValueError, match=message):
        check_name(name, "scalar name")


def test_every_logging_call_checks_its_steps_names_and_values(tmp_path: Path) -> None:
    bad = "\x1b[2J"
    with RunWriter(tmp_path) as w:
        calls = [
            (lambda: w.log_scalars(0, {"x": 1.0}, split=bad), "split"),
            (lambda: w.log_scalars(0, {"x": 1 + 2j}), "complex"),  # type: ignore[dict-item]
            (lambda: w.log_scalars(0, {"x": 10**400}), "not a float64 number"),
            (lambda: w.log_scalars(0, {"x": torch.ones(2)}), r"shape \(2,\), not one number"),
            (lambda: w.log_scalars(0, {"x": 1.0}, wall_time=math.nan), "wall_time nan"),
            (lambda: w.log_scalars(0, 0.5), "scalars must be a dict"),  # type: ignore[arg-type]
            (
                lambda: w.log_layer_stats(0, "grad", {"fc": 1.0}),  # type: ignore[dict-item]
                "grad statistics of 'fc' must be a dict, not a float",
            ),
            (lambda: w.log_layer_stats(0, "grad", [1.0]), "statistics must be a dict"),  # type: ignore[arg-type]
            (lambda: w.log_layer_stats(2.5, "grad", {"fc": {"norm": 1.0}}), "step 2.5"),  # type: ignore[arg-type]
            (lambda: w.log_layer_stats(0, bad, {"fc": {"norm": 1.0}}), "kind"),
            (lambda: w.log_layer_stats(0, "grad", {bad: {"norm": 1.0}}), "layer name"),
            (lambda: w.log_layer_stats(0, "grad", {"fc": {bad: 1.0}}), "statistic name"),
            (lambda: w.log_histogram(0, "weight", bad, [0, 1], [1]), "histogram name"),
            (lambda: w.log_histogram(0, "weight", "w", ["a", "b"], [1]), "not real numbers"),
            (lambda: w.log_histogram(0, "weight", "w", [[0, 1]], [1]), "not one dimension"),
            (lambda: w.log_confusion(0, bad, [[1]]), "confusion split"),
            (lambda: w.log_confusion(0, "val", [[1, 2]]), r"shape \(1, 2\), not a square"),
            (lambda: w.log_confusion(0, "val", [[1, -1], [0, 1]]), r"0 … 2\*\*63-1"),
            (lambda: w.log_confusion(0, "val", [[1.5]]), "whole 64-bit numbers"),
            (lambda: w.log_confusion(0, "val", [["a"]]), "counts of type <U1"),
            (lambda: w.log_confusion(0, "val", [[1]], labels=["a", "b"]), "2 labels for 1"),
            (lambda: w.log_confusion(0, "val", [[1]], labels=[bad]), "class label"),
            (lambda: w.log_event(0, bad, {}), "event kind"),
            (lambda: w.log_event(0, "x", [1, 2]), "payload is a list"),  # type: ignore[arg-type]
            (lambda: w.set_meta(bad, 1), "metadata key"),
        ]
        for call, message in calls:
            with pytest.raises(LogValueError, match=message):
                call()
        # a whole float step and whole float counts are taken (annotated: int)
        w.log_confusion(3.0, "val", np.array([[2.0, 0.0], [1.0, 3.0]]), labels=("a", "b"))  # type: ignore[arg-type]
    assert w.errors == []
    r = RunReader(tmp_path)
    assert r.scalar_names() == [] and r.layer_kinds() == [] and r.events() == []
    c = r.confusion("val")
    assert c is not None and (c.step, c.matrix.tolist(), c.labels) == (
        3,
        [[2, 0], [1, 3]],
        ["a", "b"],
    )


def test_a_batch_that_fails_in_sqlite_loses_only_its_bad_item(tmp_path: Path) -> None:
    # Checks at the call keep bad items out; should one slip through (a bug), the batch is
    # committed item by item, and a series created in the failed transaction is made again.
    w = RunWriter(tmp_path, name="kept", flush_interval=3600)
    w.log_scalars(0, {"loss": 1.0})
    w.flush()
    for s in range(1, 50):
        w.log_scalars(s, {"loss": float(s), "acc": s / 100})  # "acc" is a new series
    w._put("event", (2**70, "bad", "{}", 0.0))  # past the checks: SQLite cannot store it
    w.log_event(7, "good", {"n": 1})
    with pytest.warns(RuntimeWarning, match=r"could not write 'event 1180591620717411303424'"):
        w.close()
    assert len(w.errors) == 1 and isinstance(w.errors[0], OverflowError)
    r = RunReader(tmp_path)
    assert r.scalars("loss").steps.tolist() == list(range(50))
    assert r.scalars("acc").values.tolist() == pytest.approx([s / 100 for s in range(1, 50)])
    assert [e.kind for e in r.events()] == ["good"] and r.name == "kept"


def test_printable_name_escapes_what_check_name_refuses() -> None:
    assert printable_name("fc\x1b[31m\ud800") == "fc\\x1b[31m\\ud800"
    assert check_name(printable_name("fc\x1b[31m"), "layer") == "fc\\x1b[31m"
    assert printable_name("") == "?" and len(printable_name("x" * 10_000)) == 4096
    assert printable_name("encoder.layer.0") == "encoder.layer.0"
