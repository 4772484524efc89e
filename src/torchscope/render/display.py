"""Every renderer of a result type, registered on the display seam (``torchscope._display``).

The first time a result is displayed, ``_display`` imports this module; each registration
imports its render module only when it is used, so showing a Summary loads no matplotlib.
A new result type registers here: ``renderables_of`` (terminal), ``html_of`` (notebook)
and, if it draws figures, ``figures_of``; ``str()`` is the terminal view as plain text.
``save_figures`` is the one writer of drawn figures (``_display.save_figures_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope._display import figures_of, html_of, renderables_of
from torchscope.analysis.evaluation import Evaluation
from torchscope.analysis.param_diff import ParamDiff
from torchscope.analysis.param_report import ParamReport
from torchscope.analysis.profile import Profile
from torchscope.analysis.summary import Summary
from torchscope.render.graph_view import GraphView
from torchscope.render.report import Report
from torchscope.store.reader import RunReader

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["save_figures"]


def save_figures(figures: dict[str, Figure], directory: Path) -> list[Path]:
    """Write each figure to ``directory/<stem>.png``; the paths written."""
    from torchscope.render.param_plots import save_figures as write

    return write(figures, directory)


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


@html_of.register
def _report_html(value: ParamReport) -> str:
    from torchscope.render.param_html import report_to_html

    return report_to_html(value)


@figures_of.register(ParamReport)  # explicit: the return hint names a lazy import
def _report_figures(value: ParamReport, log: bool = False) -> dict[str, Figure]:
    from torchscope.render.param_plots import report_figures

    return report_figures(value, log=log)


@renderables_of.register
def _diff_renderables(value: ParamDiff, width: int) -> Iterable[Any]:
    from torchscope.render.param_text import diff_renderables

    return diff_renderables(value, width)


@html_of.register
def _diff_html(value: ParamDiff) -> str:
    from torchscope.render.param_html import diff_to_html

    return diff_to_html(value)


@renderables_of.register
def _run_renderables(value: RunReader, width: int) -> Iterable[Any]:
    from torchscope.render.run_text import overview_renderables

    return overview_renderables(value, width)


@html_of.register
def _run_html(value: RunReader) -> str:
    from torchscope.render.run_text import overview_to_html

    return overview_to_html(value)


@renderables_of.register
def _graph_renderables(value: GraphView, width: int) -> Iterable[Any]:
    from torchscope.render.graph_view import view_tree

    return [view_tree(value.view)]


@html_of.register
def _graph_html(value: GraphView) -> str:
    from torchscope.render.graph_view import notebook_html

    return notebook_html(value)


@renderables_of.register
def _page_renderables(value: Report, width: int) -> Iterable[Any]:
    from torchscope.render.report import report_renderables

    return report_renderables(value, width)


@html_of.register
def _report_page_html(value: Report) -> str:
    from torchscope.render.report import notebook_html

    return notebook_html(value)


@renderables_of.register
def _evaluation_renderables(value: Evaluation, width: int) -> Iterable[Any]:
    from torchscope.render.eval_text import evaluation_renderables

    return evaluation_renderables(value, width)


@html_of.register
def _evaluation_html(value: Evaluation) -> str:
    from torchscope.render.eval_html import evaluation_to_html

    return evaluation_to_html(value)


@figures_of.register(Evaluation)  # explicit: the return hint names a lazy import
def _evaluation_figures(value: Evaluation) -> dict[str, Figure]:
    from torchscope.render.eval_plots import evaluation_figures

    return evaluation_figures(value)


@renderables_of.register
def _profile_renderables(value: Profile, width: int) -> Iterable[Any]:
    from torchscope.render.profile_text import profile_renderables

    return profile_renderables(value, width)


@html_of.register
def _profile_html(value: Profile) -> str:
    from torchscope.render.profile_html import profile_to_html

    return profile_to_html(value)


@figures_of.register(Profile)  # explicit: the return hint names a lazy import
def _profile_figures(value: Profile) -> dict[str, Figure]:
    from torchscope.render.profile_plots import profile_figures

    return profile_figures(value)
