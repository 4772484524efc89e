"""``report``: one self-contained HTML file of a model, its weights, run and evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchscope._api.parameters import diff, inspect_params
from torchscope._api.structure import draw, trace
from torchscope.model.graph import ModelGraph

if TYPE_CHECKING:
    from torch import nn

    from torchscope.analysis.evaluation import Evaluation
    from torchscope.analysis.profile import Profile
    from torchscope.render.report import Report

__all__ = ["report"]


def report(
    model: Any = None,
    inputs: Any = None,
    *,
    run: str | Path | None = None,
    evaluation: Any = None,
    profile: Any = None,
    checkpoint: str | Path | Sequence[str | Path] | None = None,
    title: str | None = None,
    input_size: Any = None,
    config: dict[str, Any] | None = None,
    spectral: bool = True,
    device: str | None = None,
    dtype: str | None = None,
    progress: bool = False,
) -> Report:
    """One self-contained HTML report of a model, its weights, its run and its evaluation.

    Any subset of the inputs gives the sections it can. Args:
        model: an ``nn.Module``, a spec (``hf:GPT2LMHeadModel``, ``pkg.mod:Name``) or a
            ``ModelGraph``; traced with ``inputs`` (a tensor, a tuple of positional inputs
            or a dict of keyword inputs) or ``input_size`` for the architecture; ``hf:``
            specs bring their own example inputs. Its weights give the parameter section.
        run: a run directory written by a Monitor: curves, layer heatmaps, distributions,
            health, configuration; and the architecture when no model is given and the
            Monitor stored its summary.
        evaluation: an ``Evaluation`` from ``torchscope.evaluate``, or the path of its
            saved JSON (``Evaluation.to_json``/``save``).
        profile: a ``Profile`` from ``torchscope.profile``, or the path of its JSON
            (``Profile.to_json``), for the compute profile section; without one, the
            profile a Monitor stored in ``run`` (``profile_at=``) is shown when there is one.
        checkpoint: a checkpoint whose weights the parameter section describes instead of
            the model's; two checkpoints ``(a, b)`` add their diff (statistics of ``b``).
        spectral: fit the spectral alpha of every weight matrix (seconds for GPT-2).

    Example:
        >>> import torch, torchscope
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
        >>> r = torchscope.report(net, inputs=torch.randn(1, 4), title="tiny")
        >>> r.section_ids()[:3], r.to_html().startswith("<!DOCTYPE html>")
        (['summary', 'architecture', 'parameters'], True)
    """
    from torchscope.analysis.summary import summarize
    from torchscope.render.report import Report

    checkpoints = _checkpoints(checkpoint)
    if all(x is None for x in (model, run, evaluation, profile)) and not checkpoints:
        raise ValueError(
            "nothing to report: give a model, a checkpoint, a run, an evaluation or a profile"
        )
    sources: dict[str, str] = {}
    notes: list[str] = []
    module, graph = _report_model(model, inputs, input_size, config, device, dtype, sources)
    if graph is None and run is not None:
        graph = _stored_graph(Path(run), notes)
    if module is not None and graph is None:
        notes.append("No architecture: the model needs example inputs (inputs= or input_size=).")
    weights = checkpoints[-1] if checkpoints else module
    for label, path in zip(("checkpoint", "compared with"), checkpoints[::-1]):
        sources[label] = str(path)
    if run is not None:
        sources["run"] = str(run)
    return Report(
        title=title or _report_title(graph, module, checkpoints, run),
        summary=summarize(graph) if graph is not None else None,
        graph=draw(graph) if graph is not None else None,
        params=inspect_params(weights, spectral=spectral, progress=progress)
        if weights is not None
        else None,
        diff=diff(checkpoints[0], checkpoints[1], progress=progress)
        if len(checkpoints) == 2
        else None,
        run=Path(run) if run is not None else None,
        evaluation=_evaluation_of(evaluation),
        profile=_profile_of(profile),
        sources=sources,
        notes=notes,
    )


def _evaluation_of(evaluation: Any) -> Evaluation | None:
    """An Evaluation as given, or read back from its JSON file."""
    import json

    from torchscope.analysis.evaluation import Evaluation

    if evaluation is None or isinstance(evaluation, Evaluation):
        return evaluation
    if isinstance(evaluation, str | Path):
        path = Path(evaluation)
        data = json.loads((path / "evaluation.json" if path.is_dir() else path).read_text())
        return Evaluation.from_dict(data)
    raise TypeError(f"evaluation= takes an Evaluation or a JSON path, not {type(evaluation)}")


def _profile_of(profile: Any) -> Profile | None:
    """A Profile as given, or read back from its JSON file."""
    import json

    from torchscope.analysis.profile import Profile

    if profile is None or isinstance(profile, Profile):
        return profile
    if isinstance(profile, str | Path):
        return Profile.from_dict(json.loads(Path(profile).read_text()))
    raise TypeError(f"profile= takes a Profile or a JSON path, not {type(profile)}")


def _checkpoints(checkpoint: Any) -> list[str | Path]:
    if checkpoint is None:
        return []
    single = isinstance(checkpoint, str | bytes) or hasattr(checkpoint, "__fspath__")
    items = [checkpoint] if single else list(checkpoint)
    if not 1 <= len(items) <= 2:
        raise ValueError(f"checkpoint= takes one path or two (to compare), not {len(items)}")
    return items


def _report_model(
    model: Any,
    inputs: Any,
    input_size: Any,
    config: dict[str, Any] | None,
    device: str | None,
    dtype: str | None,
    sources: dict[str, str],
) -> tuple[nn.Module | None, ModelGraph | None]:
    """The module (built from a spec if need be) and its traced graph, when inputs exist."""
    import torch

    if model is None:
        return None, None
    if isinstance(model, ModelGraph):
        sources["model"] = model.model_type
        return None, model
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if isinstance(model, str):
        from torchscope.sources.spec import load_model

        loaded = load_model(model, config or {})
        sources["model"] = model
        module, args, kwargs = loaded.model, loaded.args, dict(loaded.kwargs)
    else:
        module = model
        sources["model"] = type(model).__name__
    if isinstance(inputs, dict):
        args, kwargs = (), dict(inputs)
    elif isinstance(inputs, torch.Tensor):
        args, kwargs = (inputs,), {}
    elif inputs is not None:
        args, kwargs = tuple(inputs), {}
    if not (args or kwargs or input_size is not None):
        return module, None
    graph = trace(module, *args, input_size=input_size, device=device, dtype=dtype, **kwargs)
    return module, graph


def _stored_graph(run: Path, notes: list[str]) -> ModelGraph | None:
    """The ModelGraph a Monitor stored with the run (``example_input=``), if any."""
    from torchscope.store.reader import RunReader

    with RunReader(run) as reader:
        stored = reader.meta_value("graph")
    if not isinstance(stored, dict):
        return None
    try:
        return ModelGraph.from_dict(stored)
    except (KeyError, TypeError, ValueError) as exc:
        notes.append(f"The model graph stored with the run could not be read ({exc}).")
        return None


def _report_title(graph: ModelGraph | None, module: Any, checkpoints: list[Any], run: Any) -> str:
    if graph is not None:
        return graph.model_type
    if module is not None:
        return type(module).__name__
    if checkpoints:
        return Path(checkpoints[-1]).name
    return Path(run).name if run is not None else "torchscope report"
