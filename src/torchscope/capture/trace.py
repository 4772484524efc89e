"""``trace``: one forward pass of a model → ModelGraph, leaving the model as it was."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from torchscope.capture.placement import Placement, move_inputs
from torchscope.capture.recorder import AtenLevel, FunctionLevel, Recorder
from torchscope.capture.structure import module_tree, unique_tensors
from torchscope.capture.untouched import untouched
from torchscope.errors import TraceError
from torchscope.model.graph import CaptureFailure, ModelGraph, ModuleNode, ParamInfo, TensorMeta

__all__ = ["trace"]

InputSize = Sequence[int] | Sequence[Sequence[int]]


def trace(
    model: nn.Module,
    *args: Any,
    input_size: InputSize | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    **kwargs: Any,
) -> ModelGraph:
    """Run one forward pass of ``model`` and return what it revealed as a ModelGraph.

    Args:
        model: any ``nn.Module``; it is not modified (mode, device, dtype, flags, hooks, RNG).
        *args, **kwargs: the forward's inputs, any nesting of tensors and Python values.
        input_size: instead of inputs, shapes of random float inputs, e.g. ``(1, 3, 224, 224)``
            or ``[(1, 10), (1, 20)]`` for several positional inputs.
        device: where to run; ``"meta"`` analyses any size without allocating memory.
        dtype: cast floating parameters and inputs (e.g. ``"bfloat16"``) for the pass.

    Example:
        >>> import torch, torchscope
        >>> g = torchscope.trace(torch.nn.Linear(4, 2), input_size=(1, 4))
        >>> g.total_macs
        8
    """
    target = torch.device(device) if device is not None else None
    run_device = target or _model_device(model)
    cast = _as_dtype(dtype)
    if input_size is not None and args:
        raise ValueError("give either positional inputs or input_size, not both")
    params, canonical = unique_tensors(model)
    placement = Placement(model, canonical, target, cast)
    # even with substitutes (another device or dtype) the buffers are kept: a buffer that
    # needs no cast (BatchNorm's integer num_batches_tracked) shares its real storage
    with untouched(model):
        if input_size is not None:  # drawn inside the fork: the caller's RNG stays put
            args = tuple(random_inputs(input_size, run_device, cast))
        args = move_inputs(args, target, cast)
        kwargs = move_inputs(kwargs, target, cast)
        return _traced(model, params, placement, run_device, args, kwargs)


def _traced(
    model: nn.Module,
    params: list[ParamInfo],
    placement: Placement,
    run_device: torch.device,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> ModelGraph:
    """The forward pass under the recorder: the graph, or a TraceError with what it got."""
    modules = module_tree(model, params)
    nodes = {m.path: m for m in modules}
    rec = Recorder(nodes, placement.by_id)
    graph = ModelGraph(
        model_type=type(model).__name__,
        device=str(run_device),
        modules=modules,
        params=params,
        training=model.training,
    )
    graph.inputs = rec.mark_inputs(args, kwargs)
    rec.remember_param_storages(_placed_tensors(model, placement))
    try:
        with _instrumented(model, rec, graph.device):
            output = placement.call(model, args, kwargs)
        graph.outputs = rec.mark_outputs(output)
        del output
    except Exception as exc:
        _finish(graph, rec)
        graph.failure = _failure(rec, exc, graph.device)
        raise TraceError(_failure_message(graph.failure, graph.device), graph) from exc
    finally:
        rec.release()
    _finish(graph, rec)
    return graph


def random_inputs(
    input_size: InputSize, device: torch.device, dtype: torch.dtype | None
) -> list[torch.Tensor]:
    """Random float tensors of the given shape(s)."""
    sizes: list[Any] = list(input_size)
    shapes = [list(s) for s in sizes] if sizes and isinstance(sizes[0], Sequence) else [sizes]
    return [torch.randn(s, device=device, dtype=dtype or torch.float32) for s in shapes]


def _as_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None:
        return None
    value: object = dtype
    if not isinstance(value, torch.dtype):
        value = getattr(torch, str(dtype).removeprefix("torch."), None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; try float32, bfloat16, float16")
    if not value.is_floating_point:  # it casts floating parameters: an int cast is no cast
        raise ValueError(
            f"dtype {dtype!r} is not a floating dtype: dtype= casts floating parameters and "
            "inputs (float32, bfloat16, float16…); pass integer inputs as tensors"
        )
    return value


def _model_device(model: nn.Module) -> torch.device:
    for tensor in [*model.parameters(), *model.buffers()]:
        return tensor.device
    return torch.device("cpu")


def _placed_tensors(model: nn.Module, placement: Placement) -> list[torch.Tensor]:
    if placement.substitutes:
        return list(placement.substitutes.values())
    return [*model.parameters(), *model.buffers()]


@contextlib.contextmanager
def _instrumented(model: nn.Module, rec: Recorder, device: str) -> Iterator[None]:
    """Hooks and modes for one pass; everything removed afterwards (``untouched`` keeps the
    RNG and buffers)."""
    handles = []
    for path, module in model.named_modules():
        handles.extend(rec.hook(module, path))
    collecting = gc.isenabled()
    # The capture keeps every object it makes (ops, shapes): collections would only walk
    # them again and again (0.2 s of the 70B-shaped model's capture), finding no garbage.
    gc.disable()
    try:
        with (
            torch.enable_grad(),
            torch.autograd.graph.saved_tensors_hooks(rec.pack_saved, rec.unpack_saved),
            FunctionLevel(rec),
            AtenLevel(rec),
        ):
            yield
    finally:
        if collecting:
            gc.enable()
        for handle in handles:
            handle.remove()


def _finish(graph: ModelGraph, rec: Recorder) -> None:
    """Fold per-op counts into modules (own, then subtree totals)."""
    graph.ops = rec.ops
    graph.calls = rec.calls
    graph.edges = rec.edges
    graph.uncounted_ops = dict(rec.uncounted)
    graph.saved_activation_bytes = rec.saved_bytes
    graph.output_bytes = rec.output_bytes
    graph.peak_activation_bytes = rec.peak_bytes
    nodes = {m.path: m for m in graph.modules}
    for op in rec.ops:
        node = nodes.get(op.module)
        if node is not None:
            node.own_macs += op.macs
            node.own_activation_bytes += op.activation_bytes
            node.ops.append(op.id)
    for node in reversed(graph.modules):
        node.macs += node.own_macs
        node.activation_bytes += node.own_activation_bytes
        if node.parent is not None and node.parent in nodes:
            nodes[node.parent].macs += node.macs
            nodes[node.parent].activation_bytes += node.activation_bytes


def _failure(rec: Recorder, exc: Exception, device: str) -> CaptureFailure:
    path = rec.stack[-1] if rec.stack else ""
    node: ModuleNode | None = rec.nodes.get(path)
    return CaptureFailure(
        module=path,
        module_type=node.type if node else "",
        input_shapes=rec.last_inputs.get(path, []),
        error_type=type(exc).__name__,
        message=str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        op=rec.failed_op,
    )


def _shapes(metas: list[TensorMeta]) -> str:
    return ", ".join(f"{m.dtype}{m.short()}" for m in metas) or "no tensors"


def _is_meta_data_access(failure: CaptureFailure) -> bool:
    text = failure.message.lower()
    return "meta" in text and any(
        word in text for word in ("item", "data", "local_scalar", "not implemented", "nonzero")
    )


def _failure_message(failure: CaptureFailure, device: str) -> str:
    where = f"module '{failure.module}' ({failure.module_type})" if failure.module else "the model"
    op = f" in {failure.op}" if failure.op else ""
    text = (
        f"forward failed in {where}{op} with inputs ({_shapes(failure.input_shapes)}): "
        f"{failure.error_type}: {failure.message}"
    )
    if device == "meta" and _is_meta_data_access(failure):
        text += (
            "\nThis op depends on tensor values, which the meta device does not have. "
            "Trace on a real device instead (device='cpu', or --device cpu)."
        )
    return text
