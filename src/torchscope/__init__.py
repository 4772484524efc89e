"""torchscope: see inside PyTorch models.

``import torchscope`` is cheap: torch and the rest load when a function first needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope._version import __version__

if TYPE_CHECKING:
    from torchscope._api import summary, trace
    from torchscope._api_graph import draw
    from torchscope._api_params import diff, inspect_params
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.summary import Summary
    from torchscope.capture.checkpoint import CheckpointError
    from torchscope.capture.errors import SpecError, TraceError
    from torchscope.model.graph import ModelGraph
    from torchscope.monitor.monitor import Monitor
    from torchscope.render.dot import GraphvizNotFound
    from torchscope.render.graph_view import GraphView
    from torchscope.store.reader import RunReader
    from torchscope.store.writer import RunWriter

__all__ = [
    "CheckpointError",
    "GraphView",
    "GraphvizNotFound",
    "ModelGraph",
    "Monitor",
    "ParamDiff",
    "ParamReport",
    "RunReader",
    "RunWriter",
    "SpecError",
    "Summary",
    "TraceError",
    "__version__",
    "diff",
    "draw",
    "inspect_params",
    "summary",
    "trace",
]

_LAZY = {
    "summary": "torchscope._api",
    "trace": "torchscope._api",
    "Summary": "torchscope.analysis.summary",
    "ModelGraph": "torchscope.model.graph",
    "TraceError": "torchscope.capture.errors",
    "SpecError": "torchscope.capture.errors",
    "draw": "torchscope._api_graph",
    "GraphView": "torchscope.render.graph_view",
    "GraphvizNotFound": "torchscope.render.dot",
    "Monitor": "torchscope.monitor.monitor",
    "RunWriter": "torchscope.store.writer",
    "RunReader": "torchscope.store.reader",
    "inspect_params": "torchscope._api_params",
    "diff": "torchscope._api_params",
    "ParamReport": "torchscope.analysis.param_report",
    "ParamDiff": "torchscope.analysis.param_diff",
    "CheckpointError": "torchscope.capture.checkpoint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'torchscope' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
