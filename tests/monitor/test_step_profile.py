"""``Monitor(profile_at=N)``: one real training step profiled and stored as run metadata."""

from __future__ import annotations

import torch

from tests.monitor.fake_store import FakeWriter
from tests.monitor.models_monitor import SmallCNN, digits, train
from torchscope.monitor import Monitor


def test_the_chosen_step_is_profiled_and_stored() -> None:
    writer = FakeWriter()
    x, _ = digits()
    _, model, mon = train(
        4, lambda m, o: Monitor(m, o, writer=writer, profile_at=2, example_input=(x[:32],))
    )
    assert mon is not None and not mon.errors
    stored = writer.meta["profile"]
    assert stored["step"] == 2 and stored["repeat"] == 1 and stored["model"] == "SmallCNN"
    names = [m["name"] for m in stored["modules"]]
    assert names == [n for n, _ in model.named_modules()]
    root = stored["modules"][0]
    assert root["name"] == "" and root["forward_ms"] > 0 and root["calls"] == 1
    head = next(m for m in stored["modules"] if m["name"] == "head")
    assert head["macs"] == 32 * 32 * 10  # from the summary's capture (batch 32)
    assert head["forward_ms"] > 0 and head["backward_ms"] > 0
    # the optimizer's step ran inside the profiled step, outside every module
    assert any("_foreach_" in o["name"] or "addcdiv" in o["name"] for o in stored["ops"])
    assert stored["total_ms"] >= stored["attributed_ms"] > 0


def test_training_is_unchanged_by_profiling() -> None:
    plain, _, _ = train(4, lambda m, o: None)
    profiled, _, _ = train(4, lambda m, o: Monitor(m, o, writer=FakeWriter(), profile_at=1))
    assert all(torch.equal(a, b) for a, b in zip(plain, profiled))


def test_no_profile_without_profile_at() -> None:
    writer = FakeWriter()
    train(2, lambda m, o: Monitor(m, o, writer=writer))
    assert "profile" not in writer.meta


def test_a_step_never_reached_stores_nothing() -> None:
    writer = FakeWriter()
    _, model, _ = train(2, lambda m, o: Monitor(m, o, writer=writer, profile_at=50))
    assert "profile" not in writer.meta
    assert isinstance(model, SmallCNN)


def test_the_stored_profile_reads_back() -> None:
    from torchscope.analysis.profile import Profile

    writer = FakeWriter()
    train(3, lambda m, o: Monitor(m, o, writer=writer, profile_at=1))
    stored = writer.meta["profile"]
    profile = Profile.from_dict(stored)
    assert profile.model == "SmallCNN" and stored["step"] == 1
    assert profile.total_ms == stored["total_ms"]
    assert [m.name for m in profile.modules] == [m["name"] for m in stored["modules"]]
