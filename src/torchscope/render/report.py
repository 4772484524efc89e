"""Report: everything known about a model and its run, as one self-contained HTML file.

``torchscope.report(...)`` gathers the results (summary, drawing, parameter statistics,
checkpoint diff, the run's store, an evaluation, a compute profile) into a ``Report``;
``Report.to_html()`` lays them out as one page (``report_page``) that opens offline from
``file://`` and makes no network request, and ``.save("report.html")`` writes it. Any
subset of the inputs gives the sections it can: a run alone gives training, configuration
and, when the Monitor stored them, the architecture and a compute profile.

Example:
    >>> import torch, torchscope
    >>> r = torchscope.report(torch.nn.Linear(4, 2), inputs=torch.randn(1, 4), spectral=False)
    >>> r.section_ids()
    ['summary', 'architecture', 'parameters', 'environment', 'appendix']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope._display import Displayable

if TYPE_CHECKING:
    from torchscope.analysis.evaluation import Evaluation
    from torchscope.analysis.param_diff import ParamDiff
    from torchscope.analysis.param_report import ParamReport
    from torchscope.analysis.profile import Profile
    from torchscope.analysis.summary import Summary
    from torchscope.render.graph_view import GraphView

__all__ = ["SECTIONS", "Report", "notebook_html", "report_renderables"]

# Every section a report can hold, in page order: (id, heading).
SECTIONS = [
    ("summary", "Summary"),
    ("architecture", "Architecture"),
    ("parameters", "Parameters"),
    ("training", "Training"),
    ("evaluation", "Evaluation"),
    ("profile", "Compute profile"),
    ("environment", "Configuration and environment"),
    ("appendix", "How to read this report"),
]


@dataclass
class Report(Displayable):
    """The inputs of one report page; ``to_html()`` draws it, ``save()`` writes it.

    ``sources`` says what each part came from (a spec, checkpoint paths, a run folder),
    ``notes`` what could not be included and why; both are shown in the page.
    """

    title: str
    summary: Summary | None = None
    graph: GraphView | None = None
    params: ParamReport | None = None
    diff: ParamDiff | None = None
    run: Path | None = None
    evaluation: Evaluation | None = None
    profile: Profile | None = None
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def section_ids(self) -> list[str]:
        """The ids of the sections this report's page holds, in page order."""
        from torchscope.render.report_page import present_sections

        return present_sections(self)

    def to_html(self) -> str:
        """The whole page: one HTML document holding its scripts, styles, data and figures."""
        from torchscope.render.report_page import report_page

        return report_page(self)

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (``.html`` or ``.htm``); the path written."""
        target = Path(path)
        if target.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"a report is an HTML file: name it .html, not {str(target)!r}")
        target.write_bytes(self.to_html().encode("utf-8"))
        return target

    def to_dict(self) -> dict[str, Any]:
        """What the report holds: its title, sections, sources and notes."""
        return {
            "title": self.title,
            "sections": self.section_ids(),
            "sources": dict(self.sources),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"Report({self.title!r}: {', '.join(self.section_ids())})"


def report_renderables(report: Report, width: int) -> list[Any]:
    """The terminal view: the title, then each section with what it holds."""
    from rich.table import Table

    from torchscope.render.safe_text import safe_text, shorten_middle, visible

    headings = dict(SECTIONS)
    table = Table(
        title=safe_text(f"Report: {shorten_middle(visible(report.title), 60)}"),
        show_header=False,
        box=None,
        width=min(width, 100),
    )
    table.add_column("section", style="bold", no_wrap=True)
    table.add_column("holds")
    for sid in report.section_ids():
        table.add_row(headings[sid], safe_text(_holds(report, sid)))
    for note in report.notes:
        table.add_row("note", safe_text(note))
    return [table]


def _holds(report: Report, sid: str) -> str:
    parts = {
        "architecture": [
            f"{len(report.summary.rows)} summary rows" if report.summary else "",
            "drawing and viewer" if report.graph else "",
        ],
        "parameters": [
            f"{len(report.params.tensors)} tensors" if report.params else "",
            "spectral alpha" if report.params and report.params.spectral else "",
            "checkpoint diff" if report.diff else "",
        ],
        "training": [f"run {report.run}" if report.run else ""],
        "evaluation": [
            f"{report.evaluation.task}, {report.evaluation.samples} samples"
            if report.evaluation is not None
            else "stored in the run"
        ],
        "profile": [
            f"{report.profile.model}, step {report.profile.total_ms:.3g} ms"
            if report.profile is not None
            else "stored in the run"
        ],
    }
    return ", ".join(p for p in parts.get(sid, []) if p) or "yes"


def notebook_html(report: Report) -> str:
    """The page in a sandboxed frame (its scripts run, nothing reaches the notebook)."""
    from html import escape

    return (
        f'<iframe srcdoc="{escape(report.to_html(), quote=True)}" style="width:100%;'
        'height:800px;border:1px solid #cbd5e1" sandbox="allow-scripts"></iframe>'
    )
