"""Every renderer of a result type, registered on the display seam (``torchscope._display``).

The first time a result is displayed, ``_display`` imports this module; each registration
imports its render module only when it is used, so showing a Summary loads no matplotlib.
A new result type registers here: ``renderables_of`` (terminal) and ``html_of`` (notebook);
``str()`` is the terminal view as plain text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torchscope._display import html_of, renderables_of
from torchscope.analysis.param_diff import ParamDiff
from torchscope.analysis.param_report import ParamReport
from torchscope.analysis.summary import Summary
from torchscope.store.reader import RunReader

__all__: list[str] = []


@renderables_of.register
def _summary_renderables(value: Summary, width: int) -> Iterable[Any]:
    from torchscope.render.summary_text import summary_renderables

    return summary_renderables(value, width)


@html_of.register
def _summary_html(value: Summary) -> str:
    from torchscope.render.summary_html import summary_to_html

    return summary_to_html(value)


@renderables_of.register
def _report_renderables(value: ParamReport, width: int) -> Iterable[Any]:
    from torchscope.render.param_text import report_renderables

    return report_renderables(value, width)


@renderables_of.register
def _diff_renderables(value: ParamDiff, width: int) -> Iterable[Any]:
    from torchscope.render.param_text import diff_renderables

    return diff_renderables(value, width)


@renderables_of.register
def _run_renderables(value: RunReader, width: int) -> Iterable[Any]:
    from torchscope.render.run_text import overview_renderables

    return overview_renderables(value)


@html_of.register
def _run_html(value: RunReader) -> str:
    from torchscope.render.run_text import overview_to_html

    return overview_to_html(value)
