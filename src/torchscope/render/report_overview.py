"""The report's header (provenance), its summary cards and its environment section.

Provenance says what the report was made from and with: the model and checkpoints, the
run (its name, when it started, how long it ran, its git commit when the run recorded
one) and the versions of the tools. The build's own date is left out on purpose: the
same inputs must give the same file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
from typing import TYPE_CHECKING, Any

from torchscope.render.units import fmt_bytes, fmt_count, fmt_si

if TYPE_CHECKING:
    from markupsafe import Markup

    from torchscope.render.report import Report
    from torchscope.render.report_page import Page
    from torchscope.store.reader import RunReader

__all__ = [
    "environment_section",
    "fmt_value",
    "metric_direction",
    "provenance",
    "summary_section",
    "when",
]

_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "ece", "perplexity", "ppl", "nll")
_HIGHER_IS_BETTER = ("acc", "f1", "auc", "precision", "recall", "r2", "map", "iou", "bleu")
_MAX_METRIC_CARDS = 6
_VALUE_LIMIT = 300


def fmt_value(v: Any) -> str:
    """A number as short text (4 significant digits, thousands separated), else as it is."""
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if math.isnan(v):
        return "–"  # an undefined metric (nothing to divide by)
    if not math.isfinite(v):
        return str(v)
    return f"{v:,.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"


def when(t: Any) -> str:
    """A POSIX time as a UTC date and time, or ``–``."""
    if not isinstance(t, int | float) or not math.isfinite(t):
        return "–"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(s: Any) -> str:
    if not isinstance(s, int | float) or not math.isfinite(s):
        return "not recorded (still running, or stopped without closing)"
    if s < 60:
        return f"{s:.1f} s"
    minutes, sec = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {sec:02d}s" if hours else f"{minutes}m {sec:02d}s"


def _short_json(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, default=str, sort_keys=True)
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 1] + "…"


def metric_direction(name: str) -> str | None:
    """``"min"`` when lower is better (losses, errors), ``"max"`` when higher is, else None.

    Example:
        >>> metric_direction("val_loss"), metric_direction("macro_f1"), metric_direction("lr")
        ('min', 'max', None)
    """
    lowered = name.lower()
    if any(k in lowered for k in _LOWER_IS_BETTER):
        return "min"
    if any(k in lowered for k in _HIGHER_IS_BETTER):
        return "max"
    return None


def _git(meta: dict[str, Any]) -> str | None:
    """The commit the Monitor recorded in the run's environment, else one a user set."""
    from torchscope.render.run_text import git_commit_text

    recorded = git_commit_text(meta.get("environment"))
    if recorded is not None:
        return recorded
    for key in ("git_commit", "git", "commit"):
        value = meta.get(key)
        if isinstance(value, dict):
            value = value.get("commit")
        if isinstance(value, str) and value:
            return value
    return None


def run_facts(run: RunReader) -> list[tuple[str, str]]:
    """(label, text) of the run: name, folder, start, duration, commit."""
    meta = run.meta()
    facts = [("run", run.name), ("run folder", str(run.run_dir))]
    facts.append(("started", when(meta.get("start_time", meta.get("started")))))
    facts.append(("duration", _duration(meta.get("wall_time_s"))))
    commit = _git(meta)
    facts.append(("git commit", commit or "not recorded by the run"))
    return facts


def tool_versions() -> list[tuple[str, str]]:
    """Versions of the tools this report was made with."""
    import matplotlib
    import numpy
    import torch

    from torchscope._version import __version__

    return [
        ("torchscope", __version__),
        ("torch", torch.__version__),
        ("numpy", numpy.__version__),
        ("matplotlib", matplotlib.__version__),
        ("python", platform.python_version()),
    ]


def provenance(report: Report, page: Page) -> Markup:
    """The header: what the report is of, and what it was made from and with."""
    made_of = [(k, v) for k, v in report.sources.items()]
    if page.run is not None:
        made_of += run_facts(page.run)
    versions = " · ".join(f"{k} {v}" for k, v in tool_versions())
    return page.render("header.html.j2", made_of=made_of, versions=versions, notes=report.notes)


# --- summary cards -----------------------------------------------------------------------


def _card(label: str, value: str, detail: str = "", tone: str = "") -> dict[str, str]:
    return {"label": label, "value": value, "detail": detail, "tone": tone}


def _model_cards(report: Report, page: Page) -> list[dict[str, str]]:
    cards = []
    if report.summary is not None:
        t, m = report.summary.totals, report.summary.memory
        frozen = f", {fmt_count(t.frozen_params)} frozen" if t.frozen_params else ""
        cards.append(
            _card(
                "Parameters",
                fmt_count(t.total_params),
                f"{fmt_bytes(t.param_bytes)} of weights{frozen}",
            )
        )
        cards.append(_card("MACs per forward", fmt_si(t.macs), f"FLOPs ≈ {fmt_si(t.flops)}"))
        cards.append(
            _card(
                "Memory (inference)",
                fmt_bytes(m.inference),
                f"training with Adam ≈ {fmt_bytes(m.training)}",
            )
        )
        page.use("params", "macs", "memory")
    elif report.params is not None:
        total = report.params.total
        cards.append(_card("Parameters", fmt_count(total.numel), f"in {total.tensors} tensors"))
        page.use("params")
    return cards


_EVALUATION_CARDS = (
    ("accuracy", "Accuracy"),
    ("macro_f1", "Macro F1"),
    ("r2", "R²"),
    ("mse", "MSE"),
    ("loss", "Loss"),
)


def _evaluation_cards(report: Report) -> list[dict[str, str]]:
    ev = report.evaluation
    if ev is None:
        return []
    where = f"{ev.split} split, {fmt_count(ev.samples)} samples"
    cards: list[dict[str, str]] = []
    for key in _evaluation_keys(report):
        label = dict(_EVALUATION_CARDS)[key]
        cards.append(_card(f"{label} (evaluation)", fmt_value(ev.metrics[key]), where))
    return cards


def _evaluation_keys(report: Report) -> list[str]:
    """The headline metrics of the evaluation shown as cards (at most three)."""
    if report.evaluation is None:
        return []
    metrics = report.evaluation.metrics
    return [key for key, _ in _EVALUATION_CARDS if key in metrics][:3]


def _run_cards(report: Report, run: RunReader, page: Page) -> list[dict[str, str]]:
    """Best and last value of the run's metrics: held-out splits first, then train loss;
    those an evaluation card already shows left out."""
    shown = (
        {(report.evaluation.split, k) for k in _evaluation_keys(report)}
        if report.evaluation
        else set()
    )
    names = [(s, n) for s, n in run.scalar_names() if metric_direction(n) and (s, n) not in shown]
    names.sort(key=lambda sn: (sn[0] == "train", "loss" in sn[1] and sn[0] != "train"))
    cards = []
    for split, name in names[:_MAX_METRIC_CARDS]:
        series = run.scalars(name, split=split)
        finite = [
            (int(s), float(v)) for s, v in zip(series.steps, series.values) if math.isfinite(v)
        ]
        if not finite:
            cards.append(_card(f"{split} {name}", "no finite value", "", "bad"))
            continue
        pick = min if metric_direction(name) == "min" else max
        best_step, best = pick(finite, key=lambda sv: sv[1])
        last_step, last = finite[-1]
        cards.append(
            _card(
                f"{split} {name}",
                fmt_value(last),
                f"last, at step {last_step:,} · best {fmt_value(best)} at step {best_step:,}",
            )
        )
    if cards:
        page.use("best_last")
    return cards


def summary_section(report: Report, page: Page) -> Markup:
    """Cards: size, cost, memory, the metrics' best and last values, and health alerts."""
    cards = _model_cards(report, page) + _evaluation_cards(report)
    if page.run is not None:
        cards += _run_cards(report, page.run, page)
    alerts = page.alerts
    tone = "bad" if any(a[2] == "error" for a in alerts) else "warn" if alerts else "good"
    value = f"{len(alerts):,}" if alerts else "none"
    cards.append(
        _card(
            "Health alerts",
            value,
            "see the list below" if alerts else "no problem found in what this report holds",
            tone,
        )
    )
    return page.render("summary.html.j2", cards=cards, alerts=alerts[:12], more=len(alerts) - 12)


# --- configuration and environment ------------------------------------------------------


def environment_section(report: Report, page: Page) -> Markup:
    """The run's configuration, monitor settings and environment; the report's own tools."""
    config: list[tuple[str, str]] = []
    monitor: list[tuple[str, str]] = []
    run_env: list[tuple[str, str]] = []
    if page.run is not None:
        meta = page.run.meta()
        config = _items(meta.get("config"))
        monitor = _items(meta.get("monitor"))
        run_env = _items(meta.get("environment"))
    return page.render(
        "environment.html.j2",
        config=config,
        monitor=monitor,
        run_env=run_env,
        tools=tool_versions(),
        platform=platform.platform(),
        has_run=page.run is not None,
    )


def _items(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    return [(str(k), _short_json(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]
