"""Record one forward pass: module calls, torch-function ops, aten MACs, memory.

Three instruments run together:

- module hooks keep a stack of the modules currently running;
- a ``TorchFunctionMode`` sees each outermost torch-level call (``F.linear``, ``matmul``,
  ``Tensor.view``…) and turns it into an ``OpNode`` owned by the innermost module;
- a ``TorchDispatchMode`` below autograd sees the aten ops each call ran, counts their
  MACs with torch's flop formulas, and the bytes of every fresh (non-aliasing) output,
  whose lifetime is followed to find the peak of live activations.

``saved_tensors_hooks`` measure what autograd keeps for backward (unique storages,
parameters excluded) and drop it, so the capture itself holds no activations.
"""

from __future__ import annotations

import weakref
from collections import Counter
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from torchscope.capture.attention import fused_attention_on_meta, is_meta_attention
from torchscope.capture.flops import aten_macs, has_formula, is_compute_op
from torchscope.capture.meta_cache import MetaOutputCache
from torchscope.capture.nested import named_tensors, tensors_in
from torchscope.model.dtypes import dtype_name
from torchscope.model.graph import Edge, GraphIO, ModuleCall, ModuleNode, OpNode, TensorMeta

__all__ = ["Recorder"]


_DTYPE_NAMES: dict[torch.dtype, str] = {}


# TensorMeta is frozen: one per (shape, dtype) is shared (the capture of an 80-layer model
# makes 26k of them, mostly repeats)
_METAS: dict[tuple[Any, torch.dtype], TensorMeta] = {}
_METAS_LIMIT = 1 << 16


def tensor_meta(t: torch.Tensor) -> TensorMeta:
    key = (t.shape, t.dtype)
    try:
        meta = _METAS.get(key)
    except TypeError:  # symbolic sizes do not hash
        return _new_meta(t)
    if meta is None:
        meta = _new_meta(t)
        if len(_METAS) < _METAS_LIMIT:
            _METAS[key] = meta
    return meta


def _new_meta(t: torch.Tensor) -> TensorMeta:
    dtype = t.dtype
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = dtype_name(dtype)
    return TensorMeta(tuple(t.shape), name)


_PUBLIC_MODULE = {
    "torch._C._nn": "torch.nn.functional",
    "torch._C._VariableFunctions": "torch",
    "torch._C._linalg": "torch.linalg",
    "torch._C._fft": "torch.fft",
    "torch._C._special": "torch.special",
}


_OP_NAMES: dict[Any, tuple[str, str]] = {}
_PLAIN_RESULTS = (int, float, bool, str, torch.Size, torch.dtype, torch.device)
_DECOMPOSES: dict[Any, bool] = {}


def _decomposes(func: Any) -> bool:
    """Whether an aten overload has a CompositeImplicitAutograd kernel ``decompose`` runs.

    Asked once per overload: most have none, and trying costs a mode push and pop per call.
    """
    known = _DECOMPOSES.get(func)
    if known is None:
        key = torch._C.DispatchKey.CompositeImplicitAutograd  # as OpOverload.decompose asks
        has_kernel = torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), key)
        known = _DECOMPOSES[func] = key in func.py_kernels or has_kernel
    return known


def _cached_op_name(func: Any) -> tuple[str, str]:
    try:
        found = _OP_NAMES.get(func)
    except TypeError:  # an unhashable callable
        return _op_name(func)
    if found is None:
        found = _OP_NAMES[func] = _op_name(func)
    return found


def _op_name(func: Any) -> tuple[str, str]:
    """Short name and dotted target of a torch-level callable."""
    name = getattr(func, "__name__", None) or type(func).__name__
    if name == "__get__":  # a Tensor property such as .T or .data
        owner = getattr(func, "__self__", None)
        name = getattr(owner, "__name__", "attribute")
        return name, f"Tensor.{name}"
    qualname = getattr(func, "__qualname__", name)
    module = getattr(func, "__module__", None) or ""
    if qualname.startswith(("TensorBase.", "Tensor.")):
        return name, "Tensor." + qualname.split(".", 1)[1]
    module = _PUBLIC_MODULE.get(module, module)
    return name, f"{module}.{qualname}" if module else qualname


class PendingOp:
    """A torch-level call in progress; its OpNode is made only once it is needed.

    Most calls (``.shape``, ``.size()``, ``.dim()``) run no aten op and return no tensor:
    they never become nodes, so they cost no OpNode.
    """

    __slots__ = ("call", "func", "module", "node")

    def __init__(self, func: Any, module: str, call: int) -> None:
        self.func = func
        self.module = module
        self.call = call
        self.node: OpNode | None = None

    @property
    def name(self) -> str:
        return _cached_op_name(self.func)[0]

    def materialize(self, op_id: int) -> OpNode:
        """The call's OpNode, made on first use with the id it will have in ``ops``."""
        if self.node is None:
            name, target = _cached_op_name(self.func)
            self.node = OpNode(id=op_id, name=name, target=target, module=self.module,
                               call=self.call)  # fmt: skip
        return self.node


class Recorder:
    """Mutable state of one capture; produces the dynamic half of a ModelGraph."""

    def __init__(self, nodes: dict[str, ModuleNode], param_ids: dict[int, str]) -> None:
        self.nodes = nodes
        self.param_ids = param_ids
        self.stack: list[str] = []
        self.calls: list[ModuleCall] = []
        self.call_stack: list[int] = []  # indices into calls, in step with stack
        self.ops: list[OpNode] = []
        self.edges: list[Edge] = []
        self.current: PendingOp | None = None
        self.last_inputs: dict[str, list[TensorMeta]] = {}
        self.uncounted: Counter[str] = Counter()
        self.failed_op = ""
        self._producers: dict[int, tuple[weakref.ref[torch.Tensor], str]] = {}
        self._saved: dict[int, Any] = {}
        self.saved_bytes = 0
        self.output_bytes = 0
        self.live_bytes = 0
        self.peak_bytes = 0
        self._param_storages: set[int] = set()

    # ----- inputs and outputs of the whole graph

    def mark_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[GraphIO]:
        ios = [
            *named_tensors(args, "args"),
            *named_tensors(kwargs),
        ]
        result = []
        for i, (name, t) in enumerate(ios):
            self._set_producer(t, f"input{i}")
            result.append(GraphIO(name, tensor_meta(t)))
            self.live_bytes += t.numel() * t.element_size()
        self.peak_bytes = self.live_bytes
        return result

    def mark_outputs(self, output: Any) -> list[GraphIO]:
        result = []
        storages: dict[int, int] = {}
        for i, (name, t) in enumerate(named_tensors(output, "")):
            storage = t.untyped_storage()
            if storage._cdata not in self._saved:
                storages[storage._cdata] = storage.nbytes()
            meta = tensor_meta(t)
            src = self._producer(t)
            if src is not None:
                self.edges.append(Edge(src, f"output{i}", meta))
            result.append(GraphIO(name, meta))
        self.output_bytes = sum(storages.values())
        return result

    def remember_param_storages(self, tensors: list[torch.Tensor]) -> None:
        self._param_storages = {t.untyped_storage()._cdata for t in tensors}

    # ----- producers (which node made a tensor), by identity with a liveness check

    def _set_producer(self, t: torch.Tensor, node_id: str) -> None:
        self._producers[id(t)] = (weakref.ref(t), node_id)

    def _producer(self, t: torch.Tensor) -> str | None:
        entry = self._producers.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        return None

    # ----- module hooks

    def hook(self, module: nn.Module, path: str) -> list[Any]:
        node = self.nodes[path]

        def pre(mod: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            node.calls += 1
            metas = [tensor_meta(t) for t in tensors_in((args, kwargs))]
            parent = self.call_stack[-1] if self.call_stack else -1
            self.stack.append(path)
            self.call_stack.append(len(self.calls))
            self.calls.append(ModuleCall(path, node.calls, parent, metas))
            self.last_inputs[path] = metas
            if node.calls == 1:
                node.input_shapes = metas

        def post(mod: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            call = -1
            while self.stack and self.stack.pop() != path:
                self.call_stack.pop()  # a module that swallowed an exception left stale entries
            if self.call_stack:
                call = self.call_stack.pop()
            outputs = [tensor_meta(t) for t in tensors_in(output)]
            if call >= 0:
                self.calls[call].outputs = outputs
            if node.calls == 1:
                node.output_shapes = outputs

        return [
            module.register_forward_pre_hook(pre, with_kwargs=True),
            module.register_forward_hook(post),
        ]

    # ----- torch-function level

    def begin_op(self, func: Any) -> PendingOp:
        pending = PendingOp(
            func,
            self.stack[-1] if self.stack else "",
            self.call_stack[-1] if self.call_stack else -1,
        )
        self.current = pending
        return pending

    def end_op(self, pending: PendingOp, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        self.current = None
        # most calls return one tensor or a plain value (``.shape``, ``.dim()``)
        if isinstance(out, torch.Tensor):
            outs = [out]
        elif out is None or isinstance(out, _PLAIN_RESULTS):
            outs = []
        else:
            outs = tensors_in(out)
        if (
            not outs
            and pending.name in ("__setitem__", "copy_")
            and isinstance(args[0], torch.Tensor)
        ):
            outs = [args[0]]
        if not outs and pending.node is None:
            return  # .shape, .size(), .dim(): no data flow worth a node
        op = pending.materialize(len(self.ops))
        node_id = f"op{op.id}"
        inputs = tensors_in((args, kwargs))
        for t in inputs:
            name = self.param_ids.get(id(t))
            if name is not None:
                op.params.append(name)
                continue
            meta = tensor_meta(t)
            op.inputs.append(meta)
            src = self._producer(t)
            if src is not None:
                self.edges.append(Edge(src, node_id, meta))
        # A call that gives back its own input and ran no aten op (``x.to(x.dtype)``,
        # ``contiguous()`` of a contiguous tensor) made nothing: the tensor's producer stays
        # (else a residual read from a norm's input is drawn as coming out of the norm).
        # An in-place call (``relu(x, inplace=True)``) runs an aten op and becomes producer.
        unchanged = {id(t) for t in inputs} if not op.aten else set()
        for t in outs:
            op.outputs.append(tensor_meta(t))
            if id(t) not in unchanged:
                self._set_producer(t, node_id)
        self.ops.append(op)

    # ----- aten level

    def on_aten(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        pending = self.current
        if pending is None:  # aten work outside any torch-level call: give it a node of its own
            op = self.begin_op(func).materialize(len(self.ops))
            op.name = op.target = str(func._overloadpacket)
            self.current = None
            self.ops.append(op)
        else:
            op = pending.materialize(len(self.ops))
        packet_name = func._overloadpacket.__name__
        op.aten.append(packet_name)
        macs = aten_macs(func, args, kwargs, out)
        if macs is not None:
            op.macs += macs
        elif is_compute_op(packet_name):
            op.uncounted.append(packet_name)
            self.uncounted[packet_name] += 1
        self._track_fresh_outputs(func, out, op)

    def _track_fresh_outputs(self, func: Any, out: Any, op: OpNode) -> None:
        returns = func._schema.returns
        outs = out if isinstance(out, (tuple, list)) and len(returns) > 1 else (out,)
        for ret, value in zip(returns, outs):
            if ret.alias_info is not None:
                continue  # a view or an in-place result: no new memory
            for t in tensors_in(value):
                nbytes = t.numel() * t.element_size()
                op.activation_bytes += nbytes
                self.live_bytes += nbytes
                self.peak_bytes = max(self.peak_bytes, self.live_bytes)
                weakref.finalize(t, self._free, nbytes)

    def _free(self, nbytes: int) -> None:
        self.live_bytes -= nbytes

    # ----- autograd's saved tensors

    def pack_saved(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage._cdata
        if key in self._param_storages or id(t) in self.param_ids or key in self._saved:
            return None
        self._saved[key] = storage  # kept so the address cannot be reused by another storage
        self.saved_bytes += storage.nbytes()
        return None

    @staticmethod
    def unpack_saved(_: Any) -> Any:
        raise RuntimeError("torchscope's capture drops saved tensors; backward is not possible")

    def release(self) -> None:
        self._saved.clear()
        self._producers.clear()


class FunctionLevel(TorchFunctionMode):
    """Turns each outermost torch-level call into an op node."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.rec = recorder

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if self.rec.current is not None:
            return func(*args, **kwargs)
        op = self.rec.begin_op(func)
        try:
            if is_meta_attention(func, args, kwargs):
                out = fused_attention_on_meta(*args, **kwargs)
            else:
                out = func(*args, **kwargs)
        except BaseException:
            self.rec.current = None
            self.rec.failed_op = op.name
            raise
        self.rec.end_op(op, func, args, kwargs, out)
        return out


class AtenLevel(TorchDispatchMode):
    """Counts MACs and fresh memory of every aten op."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.rec = recorder
        self.meta = MetaOutputCache()

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if _decomposes(func) and not has_formula(func._overloadpacket):
            with self:
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = self.meta.run(func, args, kwargs)
        self.rec.on_aten(func, args, kwargs, out)
        return out
