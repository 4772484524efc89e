"""Do no harm: tracing or summarising a model in train mode leaves every buffer and the RNG
bitwise as they were (BatchNorm statistics, spectral norm vectors, rebound buffers)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import torchscope
from torchscope.capture.untouched import untouched


class Counter(nn.Module):
    """Rebinds one buffer and writes another in place on every forward, even in eval mode."""

    calls: torch.Tensor
    last: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.register_buffer("last", torch.zeros(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls = self.calls + 1  # a new tensor bound in place of the old one
        self.last.copy_(x.detach()[0])
        return x


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 4),
        nn.BatchNorm1d(4),
        nn.Dropout(0.5),
        nn.utils.spectral_norm(nn.Linear(4, 4)),
        Counter(),
    )
    return model.train()


def _bits(model: nn.Module) -> dict[str, tuple[int, bytes]]:
    """Each buffer's identity and raw bytes: equal means bitwise equal (NaNs included)."""
    return {
        name: (id(b), b.detach().reshape(-1).view(torch.uint8).numpy().tobytes())
        for name, b in model.named_buffers()
    }


def test_the_forward_really_moves_buffers() -> None:
    # the premise of the tests below: one plain forward changes every buffer kind here
    model = _net()
    before = _bits(model)
    model(torch.randn(3, 4))
    after = _bits(model)
    changed = {k for k in before if before[k] != after[k]}
    assert {"1.running_mean", "1.running_var", "1.num_batches_tracked"} <= changed
    assert {"3.weight_u", "4.calls", "4.last"} <= changed


@pytest.mark.parametrize("options", [{}, {"dtype": "float64"}, {"device": "meta"}])
def test_trace_in_train_mode_leaves_buffers_and_rng(options: dict[str, str]) -> None:
    model = _net()
    before = _bits(model)
    rng = torch.get_rng_state()
    graph = torchscope.trace(model, input_size=(3, 4), **options)
    assert graph.training and "batch_norm" in {op.name for op in graph.ops}
    assert _bits(model) == before
    assert torch.equal(torch.get_rng_state(), rng)  # random inputs and dropout drew nothing
    assert model.training and model[1].running_mean.dtype == torch.float32


def test_summary_of_a_batchnorm_model_leaves_its_statistics() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).train()
    bn = model[1]
    assert isinstance(bn, nn.BatchNorm2d) and bn.running_mean is not None
    bn.running_mean.fill_(0.25)
    x = torch.randn(2, 3, 8, 8)
    before = _bits(model)
    rng = torch.get_rng_state()
    torchscope.summary(model, input_size=(2, 3, 8, 8))
    torchscope.summary(model, x)
    assert _bits(model) == before
    assert torch.equal(torch.get_rng_state(), rng)


def test_meta_tracing_never_writes_the_real_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    # with nothing put back afterwards, the real buffers are still as they were
    monkeypatch.setattr("torchscope.capture.untouched._restore", lambda saved: None)
    monkeypatch.setattr("torchscope.capture.untouched._rebind", lambda bindings: None)
    model = _net()
    before = _bits(model)
    torchscope.trace(model, input_size=(3, 4), device="meta")
    assert _bits(model) == before
    torchscope.trace(model, input_size=(3, 4))  # the check can fail: a CPU trace writes
    assert _bits(model) != before


def test_a_failing_forward_still_puts_everything_back() -> None:
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(5, 2)).train()
    before = _bits(model)
    with pytest.raises(torchscope.TraceError):
        torchscope.trace(model, input_size=(3, 4))
    assert _bits(model) == before


def test_untouched_restores_a_rebound_buffer_object() -> None:
    counter = Counter()
    original = counter.calls
    with untouched(counter):
        counter(torch.ones(2, 4))
        assert counter.calls is not original and int(counter.calls) == 1
    assert counter.calls is original and int(original) == 0
    assert torch.equal(counter.last, torch.zeros(4))


def test_taylor_importance_in_train_mode_leaves_batchnorm_statistics() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 3)).train()
    before = _bits(model)
    batch = (torch.randn(8, 4), torch.randint(0, 3, (8,)))
    report = torchscope.inspect_params(model, batch=batch, loss_fn=F.cross_entropy)
    assert report.importance is not None
    assert _bits(model) == before
