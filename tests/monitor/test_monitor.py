"""Monitor end to end on a small CNN: no effect on training, exact statistics, NaN location."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from torch import nn

from tests.monitor.fake_store import FakeWriter
from tests.monitor.models_monitor import Poison, SmallCNN, digits, train
from torchscope.monitor import Monitor

EVERYTHING = {"every": 1, "activations_every": 1, "histograms_every": 1}


def test_training_is_bitwise_identical_with_and_without_monitor() -> None:
    plain, model_a, _ = train(15, lambda m, o: None)
    writer = FakeWriter()
    watched, model_b, mon = train(15, lambda m, o: Monitor(m, o, writer=writer, **EVERYTHING))
    assert all(torch.equal(a, b) for a, b in zip(plain, watched))
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), name
    assert mon is not None and mon.errors == []
    # and the monitor did record something on every step
    assert sorted(writer.layer_stats["grad"]) == list(range(15))
    assert writer.closed


def test_hooks_are_removed_on_close() -> None:
    _, model, _ = train(3, lambda m, o: Monitor(m, o, writer=FakeWriter(), **EVERYTHING))
    assert all(not m._forward_hooks for m in model.modules())


def _reference_run(steps: int) -> dict[str, list[dict[str, torch.Tensor]]]:
    """Train without a monitor and keep the grads, weights before/after and act2's output."""
    torch.manual_seed(0)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = digits()
    acts: list[torch.Tensor] = []
    model.act2.register_forward_hook(lambda m, a, out: acts.append(out.detach().clone()))
    record: dict[str, list[dict[str, torch.Tensor]]] = {"grad": [], "before": [], "after": []}
    for step in range(steps):
        i = step * 32
        loss = nn.functional.cross_entropy(model(x[i : i + 32]), y[i : i + 32])
        opt.zero_grad()
        loss.backward()
        record["grad"].append({n: p.grad.clone() for n, p in model.named_parameters()})
        record["before"].append({n: p.detach().clone() for n, p in model.named_parameters()})
        opt.step()
        record["after"].append({n: p.detach().clone() for n, p in model.named_parameters()})
    record["act2"] = [{"out": a} for a in acts]
    return record


def test_layer_statistics_equal_direct_computation() -> None:
    ref = _reference_run(4)
    writer = FakeWriter()
    train(4, lambda m, o: Monitor(m, o, writer=writer, **EVERYTHING))
    for step in range(4):
        for name, g in ref["grad"][step].items():
            got = writer.layer_stats["grad"][step][name]
            assert got["norm"] == pytest.approx(g.double().norm().item(), rel=1e-5)
            assert got["mean"] == pytest.approx(g.double().mean().item(), rel=1e-4, abs=1e-9)
            assert got["std"] == pytest.approx(g.double().std().item(), rel=1e-4)
            assert got["max_abs"] == pytest.approx(g.abs().max().item(), rel=1e-6)
            w0, w1 = ref["before"][step][name], ref["after"][step][name]
            assert writer.layer_stats["weight"][step][name]["norm"] == pytest.approx(
                w0.double().norm().item(), rel=1e-5
            )
            ratio = (w1 - w0).double().norm().item() / w0.double().norm().item()
            got_ratio = writer.layer_stats["update_ratio"][step][name]["ratio"]
            assert got_ratio == pytest.approx(ratio, rel=1e-4)
        total = math.sqrt(sum(g.double().norm().item() ** 2 for g in ref["grad"][step].values()))
        assert writer.scalar("grad_norm")[step] == pytest.approx(total, rel=1e-5)


def test_activation_statistics_equal_direct_computation() -> None:
    ref = _reference_run(2)
    writer = FakeWriter()
    train(2, lambda m, o: Monitor(m, o, writer=writer, **EVERYTHING))
    for step in range(2):
        out = ref["act2"][step]["out"].double()  # [32, 16, 4, 4] after ReLU
        got = writer.layer_stats["activation"][step]["act2"]
        assert got["mean"] == pytest.approx(out.mean().item(), rel=1e-5)
        assert got["std"] == pytest.approx(out.std().item(), rel=1e-5)
        assert got["max_abs"] == pytest.approx(out.abs().max().item(), rel=1e-6)
        dead = (out.amax(dim=(0, 2, 3)) <= 0).double().mean().item()
        assert got["dead_fraction"] == pytest.approx(dead)
        assert got["inactive_fraction"] == pytest.approx((out <= 0).double().mean().item())
        assert "saturated_fraction" in writer.layer_stats["activation"][step]["act3"]


def test_histograms_match_numpy() -> None:
    ref = _reference_run(1)
    writer = FakeWriter()
    train(1, lambda m, o: Monitor(m, o, writer=writer, **EVERYTHING))
    hists = {(kind, name): (e, c) for s, kind, name, e, c in writer.histograms if s == 0}
    for kind, source in (("grad", ref["grad"][0]), ("weight", ref["before"][0])):
        for name, t in source.items():
            edges, counts = hists[(kind, name)]
            assert len(edges) == 65 and edges[-1] == pytest.approx(t.abs().max().item())
            expected, _ = np.histogram(t.numpy().ravel(), bins=np.asarray(edges))
            assert sum(counts) == t.numel()
            # float32 vs float64 binning may move a value sitting on an edge by one bin
            assert np.abs(np.asarray(counts) - expected).sum() <= 2
    act_edges, act_counts = hists[("activation", "act2")]
    assert sum(act_counts) == ref["act2"][0]["out"].numel()
    assert act_edges[0] == pytest.approx(-ref["act2"][0]["out"].abs().max().item())


def test_user_scalars_are_kept_for_every_step() -> None:
    writer = FakeWriter()
    losses, _, _ = train(23, lambda m, o: Monitor(m, o, writer=writer))
    logged = writer.scalar("loss")
    assert sorted(logged) == list(range(23))
    assert [logged[s] for s in range(23)] == pytest.approx([v.item() for v in losses], rel=1e-7)
    assert set(writer.scalar("lr").values()) == {1e-2}


def test_default_schedule() -> None:
    writer = FakeWriter()
    train(30, lambda m, o: Monitor(m, o, writer=writer))
    assert sorted(writer.layer_stats["grad"]) == [0, 25]
    assert sorted(writer.layer_stats["activation"]) == [0]
    assert {s for s, *_ in writer.histograms} == {0}
    assert {"environment", "config", "monitor", "start_time", "wall_time_s"} <= set(writer.meta)
    assert writer.meta["environment"]["torch"] == torch.__version__


def _poisoned_model(at_call: int) -> nn.Module:
    model = SmallCNN(dropout=0.0)
    model.fc = nn.Sequential(model.fc, Poison(at_call))
    return model


NOTE = (
    "only the model output is checked at this step (each module every 10 steps); "
    "Monitor(nonfinite_every=1) names the module"
)


@pytest.mark.parametrize(
    ("poison_step", "settings", "expected"),
    [
        (0, {}, {"module": "fc.1"}),
        (20, {}, {"module": "fc.1"}),
        (7, {"nonfinite_every": 1}, {"module": "fc.1"}),
        # between module checks the model output still catches it, at the right step
        (7, {}, {"module": "SmallCNN", "note": NOTE}),
    ],
)
def test_nan_in_forward_is_located_at_module_and_step(
    poison_step: int, settings: dict[str, int], expected: dict[str, str]
) -> None:
    writer = FakeWriter()
    model = _poisoned_model(poison_step)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = digits(64)
    with Monitor(model, opt, writer=writer, **settings) as mon:
        for step in range(25):
            loss = nn.functional.cross_entropy(model(x[:32]), y[:32])
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.log(step, loss=loss)
    assert writer.events == [
        (poison_step, "nonfinite", {"phase": "forward", "tensor": "output", **expected})
    ]
    assert mon.nonfinite is not None and mon.nonfinite["step"] == poison_step


class PoisonReLU(nn.ReLU):
    """A ReLU (a type whose output is not checked) that makes a NaN at its second call."""

    calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = super().forward(x)
        if self.calls == 2:
            out = out.clone()
            out[0, 0] = float("nan")
        return out


def test_nan_from_an_unchecked_module_is_found_at_the_next_checked_one() -> None:
    model = nn.Sequential(nn.Linear(4, 8), PoisonReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    writer = FakeWriter()
    with Monitor(model, opt, writer=writer, nonfinite_every=1) as mon:
        for step in range(3):
            loss = model(torch.randn(5, 4)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.log(step, loss=loss)
    assert writer.events[0] == (
        1,
        "nonfinite",
        {"module": "2", "phase": "forward", "tensor": "output"},
    )


def test_between_module_checks_only_the_model_is_hooked() -> None:
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = digits(32)
    hooked = []
    with Monitor(model, opt, writer=FakeWriter(), nonfinite_every=5) as mon:
        for step in range(12):
            hooked.append(sorted(n for n, m in model.named_modules() if m._forward_hooks))
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.log(step, loss=loss)
    every_module = sorted(n for n, _ in model.named_modules())
    assert hooked[0] == every_module  # step 0 is sampled: every module
    assert hooked[1] == [""]  # only the model
    # a module-check step: modules that can make a non-finite value (not ReLU, pool, ...)
    assert hooked[5] == ["", "conv1", "conv2", "fc", "head"]
    assert hooked[10] == hooked[5] and hooked[11] == [""]


def test_nan_gradient_is_located_in_backward() -> None:
    class BadGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx: object, x: torch.Tensor) -> torch.Tensor:
            return x.clone()

        @staticmethod
        def backward(ctx: object, g: torch.Tensor) -> torch.Tensor:
            return g * float("nan")

    class Bad(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return BadGrad.apply(x)

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), Bad(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    writer = FakeWriter()
    with Monitor(model, opt, writer=writer, activations_every=1):
        loss = model(torch.randn(5, 4)).sum()
        loss.backward()
        opt.step()
    assert writer.events[0][0] == 0
    # the first gradient that is NaN in backward order is the one flowing into Bad's input,
    # i.e. ReLU's output gradient ("1"); Bad's own output gradient is still finite.
    assert writer.events[0][2] == {"module": "1", "phase": "backward", "tensor": "grad_output"}


def test_without_optimizer_statistics_come_from_log() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    writer = FakeWriter()
    mon = Monitor(model, writer=writer, every=2, activations_every=2)
    norms = []
    for step in range(4):
        loss = model(torch.randn(6, 3)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        norms.append(model[0].weight.grad.norm().item())
        opt.step()
        mon.log(step, loss=loss)
    mon.close()
    assert sorted(writer.layer_stats["grad"]) == [0, 2]
    assert writer.layer_stats["grad"][2]["0.weight"]["norm"] == pytest.approx(norms[2], rel=1e-6)
    sig = writer.layer_stats["activation"][0]["1"]
    assert 0 < sig["mean"] < 1 and sig["saturated_fraction"] == 0.0


def test_a_failing_hook_warns_and_training_continues(monkeypatch: pytest.MonkeyPatch) -> None:
    from torchscope.monitor import activations

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(activations.ActivationSampler, "record", boom)
    writer = FakeWriter()
    with pytest.warns(UserWarning, match="boom"):
        losses, _, mon = train(2, lambda m, o: Monitor(m, o, writer=writer, **EVERYTHING))
    assert len(losses) == 2 and mon is not None and any("boom" in e for e in mon.errors)
    assert sorted(writer.layer_stats["grad"]) == [0, 1]


def test_writes_a_real_store(tmp_path: object) -> None:
    from torchscope.store.reader import RunReader

    logdir = str(tmp_path) + "/run"
    model = nn.Sequential(nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    with Monitor(model, opt, logdir=logdir, every=1, example_input=(x,)) as mon:
        for step in range(3):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.log(step, loss=loss)
            mon.log_classification(step, logits, y, split="val")
    with RunReader(logdir) as reader:
        series = reader.scalars("loss")
        assert list(series.steps) == [0, 1, 2]
        assert reader.confusion("val") is not None
        meta = reader.meta()
        assert meta["summary"]["total_params"] == 15
        assert meta["graph"]["model_type"] == "Sequential"


def test_pause_removes_every_hook_and_resume_carries_on() -> None:
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = digits(32)
    writer = FakeWriter()

    def step(i: int) -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.log(i, loss=loss)

    with Monitor(model, opt, writer=writer, every=2) as mon:
        for i in range(3):
            step(i)
        with mon.paused():
            assert not any(m._forward_hooks for m in model.modules())
            assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
            for i in range(3, 8):
                step(i)
        for i in range(3, 6):  # the monitor's own count goes on from 3
            step(i)
    assert sorted(writer.layer_stats["grad"]) == [0, 2, 4]
    assert sorted(writer.scalar("loss")) == list(range(8))  # log() kept scalars while paused
    assert not any(m._forward_hooks for m in model.modules())


def test_scalars_reach_the_writer_within_the_flush_interval_between_statistics_steps() -> None:
    from torchscope.monitor.scalars import FLUSH_S

    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    writer = FakeWriter()
    now = [0.0]  # a fake clock: each step takes 0.6 of the flush interval
    mon = Monitor(model, opt, writer=writer, every=1000, clock=lambda: now[0])
    for step in range(3):
        loss = model(torch.randn(8, 4)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()  # step 0 is a statistics step (0 % 1000): it flushes; 1 and 2 are not
        mon.log(step, loss=loss)
        now[0] += 0.6 * FLUSH_S
    # at step 1, 0.6 intervals had passed: no flush; at step 2, 1.2: the losses of steps
    # 0 and 1 were sent, before any close() (the worker thread writes them: poll for it)
    deadline = time.monotonic() + 10
    while len(writer.scalar("loss")) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(writer.scalar("loss")) == [0, 1]
    mon.close()
    assert sorted(writer.scalar("loss")) == [0, 1, 2]


def test_a_compiled_model_is_monitored_without_recompiles() -> None:
    from torch._dynamo.utils import counters

    def run(monitored: bool, watch_wrapper: bool = True) -> tuple[int, FakeWriter]:
        torch._dynamo.reset()
        counters.clear()
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        compiled = torch.compile(model, backend="eager")
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        writer = FakeWriter()
        y = torch.tensor([0, 1, 2, 0])
        mon = None
        if monitored:
            watched = compiled if watch_wrapper else model
            mon = Monitor(watched, opt, writer=writer, **EVERYTHING)
        for step in range(8):
            x = torch.randn(4, 8)
            if step == 5:
                x[0, 0] = float("nan")  # bad data at step 5
            loss = nn.functional.cross_entropy(compiled(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if mon is not None:
                mon.log(step, loss=loss)
        if mon is not None:
            mon.close()
        return counters["frames"]["total"], writer

    plain_frames, _ = run(monitored=False)
    with pytest.warns(UserWarning, match="compiled"):
        frames, writer = run(monitored=True)
    # hooks inside the graph would change between steps and force a recompile each time
    assert frames == plain_frames
    assert sorted(writer.layer_stats["grad"][0]) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert "activation" not in writer.layer_stats
    # the torch.compile wrapper's own hook still checks the model output every step
    note = (
        "only the model output is checked at this step "
        "(module outputs are not checked in a compiled model)"
    )
    assert writer.events[0] == (5, "nonfinite", {"module": "Sequential", "phase": "forward",
                                                 "tensor": "output", "note": note})  # fmt: skip
    # the model itself watched while its torch.compile wrapper trains: our hooks notice the
    # trace, do nothing and are removed after the first step (one more compile, no more)
    with pytest.warns(UserWarning, match="compiled"):
        frames, writer = run(monitored=True, watch_wrapper=False)
    assert frames <= plain_frames + 1
    assert sorted(writer.layer_stats["grad"]) == list(range(8))
    assert writer.events[0][0] == 5  # the NaN loss, as a logged scalar
