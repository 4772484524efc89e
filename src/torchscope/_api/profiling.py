"""``profile``: where the time and memory of a real step go, module by module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope._api.structure import trace

if TYPE_CHECKING:
    import torch

    from torchscope.analysis.profile import Profile

__all__ = ["profile"]


def profile(
    model: Any,
    *inputs: Any,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    backward: bool = True,
    warmup: int = 3,
    repeat: int = 10,
    depth: int = 3,
    peak_tflops: float | None = None,
    input_size: Any = None,
    **kwargs: Any,
) -> Profile:
    """Profile real training steps (forward and, with ``backward``, backward) per module.

    One captured forward gives MACs and tensor sizes; ``warmup`` plain steps give the
    unprofiled time; ``repeat`` steps under ``torch.profiler`` give medians and spreads of
    each module's time and memory. The model is left as it was (gradients, buffers, RNG).

    Args:
        model: an ``nn.Module`` (a ``torch.compile`` wrapper is profiled as one region).
        *inputs, **kwargs: the forward's inputs, as ``trace`` takes them (or ``input_size``).
        device, dtype: run on copies of the weights there / in that dtype.
        depth: deepest module level of the table (``Profile.modules`` has every module).
        peak_tflops: the device's peak for MFU, when it is not in the built-in table.

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU())
        >>> p = torchscope.profile(net, input_size=(8, 64), warmup=1, repeat=2)
        >>> p.module("0").macs, p.module("0").calls
        (32768, 1)
    """
    import time

    from torchscope.analysis.profile import build_profile
    from torchscope.capture.profile import is_compiled, measure, placed_inputs, preserved

    started = time.perf_counter()
    inner = model._orig_mod if is_compiled(model) and hasattr(model, "_orig_mod") else model
    # random inputs draw no numbers from the caller's RNG (trace keeps the model itself)
    with preserved(model):
        run_device, cast, args, kw = placed_inputs(model, inputs, kwargs, input_size, device, dtype)
        graph = trace(inner, *args, device=run_device, dtype=cast, **kw)
    traced = time.perf_counter()
    measured = measure(
        model, args, kw, device=run_device, dtype=cast,
        backward=backward, warmup=warmup, repeat=repeat,
    )  # fmt: skip
    measured_at = time.perf_counter()
    result = build_profile(graph, measured, depth=depth, peak_tflops=peak_tflops)
    result.analysis_s = (traced - started) + (time.perf_counter() - measured_at)
    return result
