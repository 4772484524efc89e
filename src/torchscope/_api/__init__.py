"""The public functions, thin over sources → capture → analysis → render; one module each.

``torchscope/__init__.py`` exports them lazily; every command and test imports them from
here (``from torchscope._api import summary``), so a function is found in one place.
"""

from __future__ import annotations

from torchscope._api.evaluating import evaluate
from torchscope._api.parameters import diff, inspect_params
from torchscope._api.profiling import profile
from torchscope._api.reporting import report
from torchscope._api.structure import draw, summary, trace

__all__ = [
    "diff",
    "draw",
    "evaluate",
    "inspect_params",
    "profile",
    "report",
    "summary",
    "trace",
]
