"""The report page: sections laid out in one HTML document that needs nothing else.

Each section is built by its own module (``report_overview``, ``report_model``,
``report_training``, ``report_evaluation``, ``report_profile``, ``report_glossary``) into
escaped HTML through the templates in ``templates/report/``; while they are built they hand
their chart data, figures and the metrics they show to one ``Page``. The page then holds:

* the report's script and stylesheet (``frontend/src/report/``, built into
  ``render/assets/report.js``/``report.css``) and the graph viewer's page, inline;
* every chart's data in one ``<script type="application/json">`` with ``<``, ``>`` and
  ``&`` escaped, keys sorted;
* a Content-Security-Policy that allows no request at all (``default-src 'none'``) and
  runs only the page's own scripts, named by their SHA-256: a string that slipped past
  the escaping still could not run or fetch anything.

Nothing in the page depends on when it was built, so the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torchscope.render.inline import embed_json, frontend_bundle
from torchscope.render.report import SECTIONS

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup
    from matplotlib.figure import Figure

    from torchscope.render.report import Report
    from torchscope.store.reader import RunReader

__all__ = [
    "Page",
    "present_sections",
    "report_page",
    "rounded",
    "rounded_list",
]

_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
SIGNIFICANT = 6  # digits kept of every number in chart data: charts need no more


def rounded(x: float) -> float | None:
    """``x`` to ``SIGNIFICANT`` digits for chart data; None for NaN and infinities."""
    x = float(x)
    return float(f"{x:.{SIGNIFICANT}g}") if math.isfinite(x) else None


def rounded_list(values: Iterable[float]) -> list[float | None]:
    return [rounded(v) for v in values]


@dataclass
class Page:
    """What the sections hand over while they are built: charts, figures, metrics shown."""

    env: Environment
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    terms: set[str] = field(default_factory=set)
    figures: int = 0
    run: RunReader | None = None
    alerts: list[tuple[str, str, str]] = field(default_factory=list)  # (section, text, severity)

    def chart(self, kind: str, **spec: Any) -> str:
        """Register one chart's data for the script; the id its placeholder carries."""
        chart_id = f"chart-{len(self.charts) + 1}"
        self.charts[chart_id] = {"kind": kind, **spec}
        return chart_id

    def figure(self, fig: Figure) -> Markup:
        """A matplotlib figure as clean inline SVG (the figure is closed afterwards)."""
        from markupsafe import Markup

        from torchscope.render.report_svg import figure_svg

        self.figures += 1
        try:
            return Markup(figure_svg(fig, f"fig{self.figures}"))
        finally:
            fig.clear()

    def use(self, *terms: str) -> None:
        """Metrics or conventions shown, to be defined in the appendix."""
        self.terms.update(terms)

    def render(self, template: str, **context: Any) -> Markup:
        """A section template rendered with autoescaping (every value escaped)."""
        from markupsafe import Markup

        return Markup(self.env.get_template(f"report/{template}").render(**context))


def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    from torchscope.render.safe_text import visible

    env = Environment(
        loader=PackageLoader("torchscope.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    return env


def _hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _policy(scripts: Iterable[str]) -> str:
    """No request of any kind; only the scripts named by hash run; inline styles allowed."""
    hashes = " ".join(sorted({_hash(s) for s in scripts}))
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; frame-src 'self'; form-action 'none'; "
        "base-uri 'none'"
    )


def _builders() -> dict[str, Callable[[Report, Page], Markup | None]]:
    from torchscope.render import (
        report_evaluation,
        report_glossary,
        report_model,
        report_overview,
        report_profile,
        report_training,
    )

    return {
        "summary": report_overview.summary_section,
        "architecture": report_model.architecture_section,
        "parameters": report_model.parameters_section,
        "training": report_training.training_section,
        "evaluation": report_evaluation.evaluation_section,
        "profile": report_profile.profile_section,
        "environment": report_overview.environment_section,
        "appendix": report_glossary.appendix_section,
    }


def present_sections(report: Report) -> list[str]:
    """The ids of the sections ``report`` has data for, in page order."""
    from torchscope.render.report_evaluation import has_evaluation
    from torchscope.render.report_profile import has_profile

    present = {
        "summary": True,
        "architecture": report.summary is not None or report.graph is not None,
        "parameters": report.params is not None or report.diff is not None,
        "training": report.run is not None,
        "evaluation": has_evaluation(report),
        "profile": has_profile(report),
        "environment": True,
        "appendix": True,
    }
    return [sid for sid, _ in SECTIONS if present[sid]]


def report_page(report: Report) -> str:
    """The report as one HTML document (see the module docstring)."""
    from torchscope._version import __version__
    from torchscope.render.report_overview import provenance
    from torchscope.render.report_training import open_run

    js, css = frontend_bundle("report", "report")
    page = Page(_environment())
    builders = _builders()
    with open_run(report.run) as run:
        page.run = run
        header = provenance(report, page)
        # the summary's alerts come from the sections after it, and the appendix defines
        # what every other section showed: both are built last
        present = present_sections(report)
        order = [s for s in present if s not in ("summary", "appendix")] + ["summary", "appendix"]
        bodies = {sid: builders[sid](report, page) for sid in order}
    sections = [
        (sid, heading, bodies[sid])
        for sid, heading in SECTIONS
        if sid in bodies and bodies[sid] is not None
    ]
    viewer = report.graph.to_html() if report.graph is not None else None
    scripts = [js, *(_SCRIPT.findall(viewer) if viewer else [])]
    return page.env.get_template("report/page.html.j2").render(
        title=report.title,
        version=__version__,
        policy=_policy(scripts),
        css=css,
        js=js,
        header=header,
        sections=sections,
        data=embed_json({"charts": page.charts}),
        viewer=embed_json(viewer) if viewer else None,
    )
