"""The exported names, and that importing torchscope stays light."""

from __future__ import annotations

import subprocess
import sys

import torchscope


def test_exported_names() -> None:
    assert sorted(torchscope.__all__) == sorted(
        [
            "CheckpointError",
            "GraphFormatError",
            "LogValueError",
            "NothingToCompare",
            "StoreError",
            "Evaluation",
            "GraphView",
            "GraphvizNotFound",
            "ModelGraph",
            "Monitor",
            "ParamDiff",
            "ParamReport",
            "Profile",
            "Report",
            "RunReader",
            "RunWriter",
            "SpecError",
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
    )
    for name in torchscope.__all__:
        assert getattr(torchscope, name) is not None


def test_import_loads_no_heavy_dependencies() -> None:
    code = (
        "import sys, torchscope; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'graphviz', 'transformers', 'rich', "
        "'starlette', 'uvicorn') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
