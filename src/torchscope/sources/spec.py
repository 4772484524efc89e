"""Build a model from a spec string, and example inputs for it.

Specs: ``package.module:Name`` or ``path/to/file.py:Name`` (a class or factory, called with
``init`` keyword arguments), and ``hf:<TransformersClass>`` (built from the class's default
config, with overrides; no download, random or meta weights; see ``sources/hf.py``).

A ``package.module:Name`` or ``file.py:Name`` spec imports and runs the user's code, as
Python would: the user names code they trust. Checkpoints never run code (``checkpoint.py``).
Whatever that code raises while it is imported or called becomes a ``SpecError`` naming the
spec, so a broken factory is one clear error, not a traceback.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from torchscope.errors import SpecError

__all__ = ["LoadedModel", "load_model", "parse_config_overrides", "parse_literal"]


@dataclass
class LoadedModel:
    """A model and the example inputs its spec implies (empty when the user must give them)."""

    model: nn.Module
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def parse_config_overrides(items: list[str]) -> dict[str, Any]:
    """``["num_labels=1000", "tie_word_embeddings=false"]`` → typed dict.

    Example:
        >>> parse_config_overrides(["n_layer=2", "activation=gelu", "tie=false"])
        {'n_layer': 2, 'activation': 'gelu', 'tie': False}
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SpecError(f"expected key=value with a Python name as key, got {item!r}")
        overrides[key.strip()] = parse_literal(raw.strip())
    return overrides


def parse_literal(raw: str) -> Any:
    """A Python literal (``2``, ``0.1``, ``(3, 3)``, ``'x'``), true/false/none, else the text.

    Parsed with ``ast.literal_eval``: nothing is executed.

    Example:
        >>> parse_literal("(3, 3)"), parse_literal("True"), parse_literal("relu")
        ((3, 3), True, 'relu')
    """
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(raw)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return raw


def load_model(
    spec: str,
    config: dict[str, Any] | None = None,
    device: str | None = None,
    seq_len: int | None = None,
    batch_size: int = 1,
    init: dict[str, Any] | None = None,
) -> LoadedModel:
    """Build the model a spec names; on ``device="meta"`` no weight memory is allocated.

    ``config`` overrides an ``hf:`` spec's config; ``init`` holds keyword arguments for a
    ``package.module:Name`` or ``file.py:Name`` class or factory. Raises ``SpecError``.

    Example:
        >>> load_model("torch.nn:Linear", init={"in_features": 4, "out_features": 2}).model
        Linear(in_features=4, out_features=2, bias=True)
    """
    if spec.startswith("hf:"):
        from torchscope.sources.hf import load_hf

        if init:
            raise SpecError("--init applies to package.module:Name and file.py:Name specs; "
                            "hf: specs take --config")  # fmt: skip
        model, kwargs = load_hf(spec[3:], config or {}, device, seq_len, batch_size)
        return LoadedModel(model, kwargs=kwargs)
    if config:
        raise SpecError("--config applies to hf: specs only (--init passes constructor arguments)")
    target = _resolve_object(spec)
    return LoadedModel(_build(spec, target, init or {}, device))


def _build(spec: str, target: Any, init: dict[str, Any], device: str | None) -> nn.Module:
    """Call the class or factory (unless it is already a module) and check what it gave."""
    if isinstance(target, nn.Module):
        if init:
            raise SpecError(f"{spec} is a module instance; --init needs a class or factory")
        return target
    _check_arguments(spec, target, init)
    try:
        with torch.device("meta") if device == "meta" else contextlib.nullcontext():
            model = target(**init)
    except (Exception, SystemExit) as exc:  # the user's code: any failure is the spec's
        raise SpecError(f"building {spec} failed: {_what(exc)}") from exc
    if not isinstance(model, nn.Module):
        raise SpecError(f"{spec} gave a {type(model).__name__}, not a torch.nn.Module")
    return model


def _check_arguments(spec: str, target: Any, init: dict[str, Any]) -> None:
    """Say which constructor arguments are missing or unknown before calling anything."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # some builtins have none: let the call tell
        return
    params = signature.parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    named = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in init:
        if key not in params and not takes_any:
            close = difflib.get_close_matches(key, named, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise SpecError(
                f"{spec} takes no argument {key!r}; {hint}it takes: {', '.join(named) or 'none'}"
            )
    missing = [
        n
        for n, p in params.items()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and n not in init
    ]  # fmt: skip
    if missing:
        example = " ".join(f"{n}=…" for n in missing)
        raise SpecError(
            f"{spec} needs constructor arguments: {', '.join(missing)}; pass them with "
            f"--init {example}"
        )


def _resolve_object(spec: str) -> Any:
    location, sep, name = spec.rpartition(":")
    if not sep or not location or not name:
        raise SpecError(
            f"cannot read model spec {spec!r}: use package.module:Name, path/to/file.py:Name "
            "or hf:TransformersClass"
        )
    module = _import_file(location) if location.endswith(".py") else _import_module(location)
    obj: Any = module
    for part in name.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            raise SpecError(f"{location} has no attribute {name!r}")
        obj = getattr(obj, part)
    if inspect.isclass(obj) or callable(obj):
        return obj
    raise SpecError(f"{spec} is neither a class nor a factory function")


def _import_file(location: str) -> Any:
    """Import ``path/to/file.py`` (running its code, as ``python file.py`` would)."""
    path = Path(location)
    if not path.is_file():
        raise SpecError(f"model file not found: {location}")
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"cannot import {location}")
    module = importlib.util.module_from_spec(module_spec)
    added = sys.modules.setdefault(path.stem, module) is module
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        if added:
            del sys.modules[path.stem]
        raise SpecError(f"importing {location} failed: {_what(exc)}") from exc
    return module


def _import_module(location: str) -> Any:
    try:
        return importlib.import_module(location)
    except ImportError as exc:
        raise SpecError(f"cannot import module {location!r}: {exc}") from exc
    except (Exception, SystemExit) as exc:  # relative names, the module's own errors
        raise SpecError(f"importing {location!r} failed: {_what(exc)}") from exc


def _what(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
