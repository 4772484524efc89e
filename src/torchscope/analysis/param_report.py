"""ParamReport: everything ``inspect_params`` found, as one renderable, serialisable value."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torchscope._display import Displayable, figures_of, save_figures_of
from torchscope.analysis.importance import Importance, magnitude_importance
from torchscope.analysis.param_health import HealthFlag, health_flags
from torchscope.analysis.param_stats import GroupStats, TensorStats, aggregate

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

    from torchscope.analysis.spectral import SpectralReport

__all__ = ["ParamReport", "build_report"]

_LEVELS = ("tensors", "modules", "flags", "spectral", "importance")


@dataclass
class ParamReport(Displayable):
    """Statistics of every tensor, per module and in total; health flags; importance;
    and, when asked for, the spectral analysis.

    ``modules`` aggregates the tensors each module owns directly (``group(prefix)``
    aggregates any subtree). ``importance`` always holds the magnitude ranking, then the
    Taylor saliency when a batch was given.
    """

    source: str
    tensors: list[TensorStats]
    modules: list[GroupStats]
    total: GroupStats
    flags: list[HealthFlag]
    importance: list[Importance]
    spectral: SpectralReport | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        """Whether a health check found an error (NaN or Inf values): the weights are broken.

        Example:
            >>> import torch, torchscope
            >>> torchscope.inspect_params({"w": torch.tensor([1.0, float("nan")])}).has_errors
            True
        """
        return any(f.severity == "error" for f in self.flags)

    def tensor(self, name: str) -> TensorStats:
        for t in self.tensors:
            if t.name == name or name in t.aliases:
                return t
        raise KeyError(name)

    def group(self, prefix: str) -> GroupStats:
        """Aggregate of every tensor under a module path (``""`` for the whole model)."""
        members = [t for t in self.tensors if not prefix or t.name.startswith(prefix + ".")]
        if not members:
            raise KeyError(f"no tensors under {prefix!r}")
        return aggregate(prefix, members, self.settings.get("bins", 64))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "settings": self.settings,
            "total": _clean(self.total.to_dict()),
            "flags": [f.to_dict() for f in self.flags],
            "tensors": [_clean(t.to_dict()) for t in self.tensors],
            "modules": [_clean(m.to_dict()) for m in self.modules],
            "importance": [i.to_dict() for i in self.importance],
            "spectral": _clean(self.spectral.to_dict()) if self.spectral else None,
            "skipped": self.skipped,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON: NaN and infinities become null."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_dataframe(self, level: str = "tensors") -> Any:
        """One of ``tensors``, ``modules``, ``flags``, ``spectral``, ``importance`` as a
        pandas DataFrame (histograms stay lists; percentiles become ``p1``… columns)."""
        import pandas as pd

        if level not in _LEVELS:
            raise ValueError(f"level must be one of {_LEVELS}, not {level!r}")
        if level == "spectral":
            rows = [x.to_dict() for x in self.spectral.layers] if self.spectral else []
        elif level == "importance":
            rows = [{"method": i.method, **r.to_dict()} for i in self.importance for r in i.tensors]
        elif level == "flags":
            rows = [f.to_dict() for f in self.flags]
        else:
            items = self.tensors if level == "tensors" else self.modules
            rows = [_flat_percentiles(x.to_dict()) for x in items]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        """One line: a notebook or debugger must not dump every histogram."""
        problems = sum(f.severity != "info" for f in self.flags)
        return (
            f"ParamReport({self.source!r}: {len(self.tensors)} tensors, "
            f"{self.total.numel:,} values, {problems} problem{'' if problems == 1 else 's'})"
        )

    def figures(self, log: bool = False) -> dict[str, Figure]:
        """Every figure this report can draw, by file stem (drawn by render/ via the seam)."""
        return figures_of(self, log=log)

    def save(self, path: str | Path) -> list[Path]:
        """``.json`` writes the report; a directory (or no suffix) gets every figure as PNG."""
        from pathlib import Path

        target = Path(path)
        if target.suffix == ".json":
            target.write_text(self.to_json())
            return [target]
        return save_figures_of(self, target)


def _flat_percentiles(row: dict[str, Any]) -> dict[str, Any]:
    percentiles = row.pop("percentiles")
    return {**row, **percentiles}


def _clean(value: Any) -> Any:
    """NaN/inf → None, recursively, so that the JSON is strict."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def build_report(
    source: str,
    tensors: list[TensorStats],
    *,
    spectral: SpectralReport | None = None,
    taylor: Importance | None = None,
    skipped: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> ParamReport:
    """Aggregate per module and in total, find health flags, rank by magnitude."""
    settings = settings or {}
    bins = settings.get("bins", 64)
    owners: dict[str, list[TensorStats]] = {}
    for t in tensors:
        owners.setdefault(t.module, []).append(t)
    return ParamReport(
        source=source,
        tensors=tensors,
        modules=[aggregate(name, members, bins) for name, members in owners.items()],
        total=aggregate("", tensors, bins),
        flags=health_flags(tensors),
        importance=[magnitude_importance(tensors), *([taylor] if taylor else [])],
        spectral=spectral,
        skipped=skipped or {},
        settings=settings,
    )
