"""Plain data describing a captured model: modules, ops, tensors and parameters.

Nothing here imports torch: a ModelGraph written to JSON can be read and analysed on a
machine without it. ``to_dict``/``from_dict`` round-trip losslessly, with a schema version.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from torchscope.model.dtypes import dtype_bytes

__all__ = [
    "SCHEMA_VERSION",
    "CaptureFailure",
    "Edge",
    "GraphIO",
    "ModelGraph",
    "ModuleCall",
    "ModuleNode",
    "OpNode",
    "ParamInfo",
    "TensorMeta",
]

SCHEMA_VERSION = 2  # 2: per-call records (``calls``, ``OpNode.call``)


@dataclass(frozen=True)
class TensorMeta:
    """Shape and dtype of one tensor (no data)."""

    shape: tuple[int, ...]
    dtype: str

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * dtype_bytes(self.dtype)

    def short(self) -> str:
        """``[1, 128, 768]`` style text."""
        return "[" + ", ".join(str(d) for d in self.shape) + "]"

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorMeta:
        return cls(tuple(d["shape"]), d["dtype"])


@dataclass
class ParamInfo:
    """One unique parameter or buffer tensor; ``aliases`` are its other qualified names."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    is_buffer: bool = False
    aliases: list[str] = field(default_factory=list)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * dtype_bytes(self.dtype)


@dataclass
class ModuleNode:
    """One module of the tree. Counts are over unique tensors owned in its subtree.

    A tied tensor is owned by the module of its first qualified name; other modules list
    it in ``tied`` (alias name → owner name) and do not count it again.
    """

    path: str
    type: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    depth: int = 0
    extra_repr: str = ""
    own_params: int = 0
    total_params: int = 0
    trainable_params: int = 0
    total_buffers: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    tied: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    input_shapes: list[TensorMeta] = field(default_factory=list)
    output_shapes: list[TensorMeta] = field(default_factory=list)
    own_macs: int = 0
    macs: int = 0
    own_activation_bytes: int = 0
    activation_bytes: int = 0
    ops: list[int] = field(default_factory=list)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1] if self.path else "(root)"


@dataclass
class OpNode:
    """One torch-function-level call (``linear``, ``matmul``, ``add``…) in the forward pass.

    ``macs`` come from the dispatcher-level ops it ran; ``activation_bytes`` counts the
    bytes of newly allocated outputs (views and in-place results allocate nothing).
    """

    id: int
    name: str
    target: str
    module: str
    inputs: list[TensorMeta] = field(default_factory=list)
    outputs: list[TensorMeta] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    macs: int = 0
    activation_bytes: int = 0
    aten: list[str] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    call: int = -1

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass
class ModuleCall:
    """One call of a module during the forward pass, as the call stack saw it.

    ``number`` counts the calls of ``module`` from 1; ``parent`` is the index (in
    ``ModelGraph.calls``) of the call that was running when this one began, -1 for none.
    An op's ``call`` is the index of the innermost call it ran in. A module called twice
    (one ``pool`` after two encoder stages) has two records: the drawing gives each its
    own node, so the picture shows the computation as it ran.
    """

    module: str
    number: int
    parent: int
    inputs: list[TensorMeta] = field(default_factory=list)
    outputs: list[TensorMeta] = field(default_factory=list)


@dataclass
class Edge:
    """A tensor flowing from ``src`` to ``dst``: ids ``op<N>``, ``input<N>``, ``output<N>``."""

    src: str
    dst: str
    tensor: TensorMeta


@dataclass
class GraphIO:
    """A graph input or output tensor, named by where it sits (``args[0]``, ``logits``)."""

    name: str
    tensor: TensorMeta


@dataclass
class CaptureFailure:
    """Where a forward pass failed: the module, its inputs and the error text."""

    module: str
    module_type: str
    input_shapes: list[TensorMeta]
    error_type: str
    message: str
    op: str = ""


@dataclass
class ModelGraph:
    """Everything one forward pass revealed about a model."""

    model_type: str
    device: str
    modules: list[ModuleNode] = field(default_factory=list)
    ops: list[OpNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    inputs: list[GraphIO] = field(default_factory=list)
    outputs: list[GraphIO] = field(default_factory=list)
    params: list[ParamInfo] = field(default_factory=list)
    calls: list[ModuleCall] = field(default_factory=list)
    uncounted_ops: dict[str, int] = field(default_factory=dict)
    saved_activation_bytes: int = 0
    output_bytes: int = 0
    peak_activation_bytes: int = 0
    training: bool = False
    failure: CaptureFailure | None = None
    schema_version: int = SCHEMA_VERSION
    _by_path: dict[str, ModuleNode] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_path = {m.path: m for m in self.modules}

    def module(self, path: str) -> ModuleNode:
        """The module with this qualified name (``""`` is the root)."""
        if len(self._by_path) != len(self.modules):
            self._by_path = {m.path: m for m in self.modules}
        return self._by_path[path]

    @property
    def root(self) -> ModuleNode:
        return self.modules[0]

    @property
    def total_macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def total_params(self) -> int:
        return sum(p.numel for p in self.params if not p.is_buffer)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_by_path")
        return d

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Any) -> ModelGraph:
        """The graph a ``to_dict`` wrote, checked against the schema first.

        Raises ``GraphFormatError`` (a ``ValueError``) naming the first thing wrong: a
        missing key, a value of the wrong type, an edge to a node the graph lacks.
        """
        from torchscope.model.graph_json import graph_from_dict

        return graph_from_dict(d)

    @classmethod
    def from_json(cls, text: str) -> ModelGraph:
        """The graph in a JSON text written by ``to_json`` (validated as ``from_dict``)."""
        from torchscope.model.graph_json import graph_from_json

        return graph_from_json(text)
