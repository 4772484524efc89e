"""torchscope: see inside PyTorch models.

``import torchscope`` is cheap: torch and the rest load when a function first needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torchscope._version import __version__

if TYPE_CHECKING:
    from torchscope._api import (
        diff,
        draw,
        evaluate,
        inspect_params,
        profile,
        report,
        summary,
        trace,
    )
    from torchscope.analysis.evaluation import Evaluation
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.profile import Profile
    from torchscope.analysis.summary import Summary
    from torchscope.errors import (
        CheckpointError,
        GraphFormatError,
        GraphvizNotFound,
        LogValueError,
        NothingToCompare,
        SpecError,
        StoreError,
        TorchscopeError,
        TraceError,
    )
    from torchscope.model.graph import ModelGraph
    from torchscope.monitor.monitor import Monitor
    from torchscope.render.graph_view import GraphView
    from torchscope.render.report import Report
    from torchscope.store.reader import RunReader
    from torchscope.store.writer import RunWriter
    from torchscope.web import serve

# Public name → the module that defines it, imported on first use.
_LAZY = {
    "trace": "torchscope._api",
    "summary": "torchscope._api",
    "draw": "torchscope._api",
    "inspect_params": "torchscope._api",
    "diff": "torchscope._api",
    "report": "torchscope._api",
    "evaluate": "torchscope._api",
    "Evaluation": "torchscope.analysis.evaluation",
    "profile": "torchscope._api",
    "Profile": "torchscope.analysis.profile",
    "serve": "torchscope.web",
    "Monitor": "torchscope.monitor.monitor",
    "ModelGraph": "torchscope.model.graph",
    "Summary": "torchscope.analysis.summary",
    "GraphView": "torchscope.render.graph_view",
    "Report": "torchscope.render.report",
    "ParamReport": "torchscope.analysis.param_report",
    "ParamDiff": "torchscope.analysis.param_diff",
    "RunWriter": "torchscope.store.writer",
    "RunReader": "torchscope.store.reader",
    "TorchscopeError": "torchscope.errors",
    "TraceError": "torchscope.errors",
    "SpecError": "torchscope.errors",
    "CheckpointError": "torchscope.errors",
    "GraphFormatError": "torchscope.errors",
    "LogValueError": "torchscope.errors",
    "NothingToCompare": "torchscope.errors",
    "StoreError": "torchscope.errors",
    "GraphvizNotFound": "torchscope.errors",
}

__all__ = [
    "CheckpointError",
    "Evaluation",
    "GraphFormatError",
    "GraphView",
    "GraphvizNotFound",
    "LogValueError",
    "ModelGraph",
    "Monitor",
    "NothingToCompare",
    "ParamDiff",
    "ParamReport",
    "Profile",
    "Report",
    "RunReader",
    "RunWriter",
    "SpecError",
    "StoreError",
    "Summary",
    "TorchscopeError",
    "TraceError",
    "__version__",
    "diff",
    "draw",
    "evaluate",
    "inspect_params",
    "profile",
    "report",
    "serve",
    "summary",
    "trace",
]


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
