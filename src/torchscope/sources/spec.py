"""Build a model from a spec string, and example inputs for it.

Specs: ``package.module:Name`` or ``path/to/file.py:Name`` (a class or zero-argument
factory), and ``hf:<TransformersClass>`` (built from the class's default config, with
overrides; no download, random or meta weights).
"""

from __future__ import annotations

import ast
import contextlib
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

__all__ = ["LoadedModel", "load_model", "parse_config_overrides"]


@dataclass
class LoadedModel:
    """A model and the example inputs its spec implies (empty when the user must give them)."""

    model: nn.Module
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def parse_config_overrides(items: list[str]) -> dict[str, Any]:
    """``["num_labels=1000", "tie_word_embeddings=false"]`` → typed dict."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SpecError(f"--config expects key=value, got {item!r}")
        overrides[key.strip()] = _parse_value(raw.strip())
    return overrides


def _parse_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def load_model(
    spec: str,
    config: dict[str, Any] | None = None,
    device: str | None = None,
    seq_len: int | None = None,
    batch_size: int = 1,
) -> LoadedModel:
    """Build the model a spec names; on ``device="meta"`` no weight memory is allocated."""
    if spec.startswith("hf:"):
        return _load_hf(spec[3:], config or {}, device, seq_len, batch_size)
    if config:
        raise SpecError("--config applies to hf: specs only")
    target = _resolve_object(spec)
    with torch.device(device) if device == "meta" else contextlib.nullcontext():
        model = target() if callable(target) and not isinstance(target, nn.Module) else target
    if not isinstance(model, nn.Module):
        raise SpecError(f"{spec} gave a {type(model).__name__}, not a torch.nn.Module")
    return LoadedModel(model)


def _resolve_object(spec: str) -> Any:
    location, sep, name = spec.rpartition(":")
    if not sep or not location or not name:
        raise SpecError(
            f"cannot read model spec {spec!r}: use package.module:Name, path/to/file.py:Name "
            "or hf:TransformersClass"
        )
    if location.endswith(".py"):
        path = Path(location)
        if not path.is_file():
            raise SpecError(f"model file not found: {location}")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise SpecError(f"cannot import {location}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules.setdefault(path.stem, module)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(location)
        except ImportError as exc:
            raise SpecError(f"cannot import module {location!r}: {exc}") from exc
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise SpecError(f"{location} has no attribute {name!r}")
        obj = getattr(obj, part)
    if inspect.isclass(obj) or callable(obj):
        return obj
    raise SpecError(f"{spec} is neither a class nor a factory function")


def _load_hf(
    class_name: str, overrides: dict[str, Any], device: str | None, seq_len: int | None, batch: int
) -> LoadedModel:
    try:
        import transformers
    except ImportError as exc:
        raise SpecError("hf: specs need transformers: pip install 'torchscope[hf]'") from exc
    cls = getattr(transformers, class_name, None)
    if cls is None or not hasattr(cls, "config_class") or cls.config_class is None:
        raise SpecError(f"transformers has no model class {class_name!r}")
    try:
        config = cls.config_class(**overrides)
    except Exception as exc:
        raise SpecError(f"cannot build {cls.config_class.__name__}({overrides}): {exc}") from exc
    with torch.device(device) if device == "meta" else contextlib.nullcontext():
        model = cls(config)
    return LoadedModel(model, kwargs=hf_example_inputs(model, config, seq_len, batch))


def hf_example_inputs(
    model: nn.Module, config: Any, seq_len: int | None, batch: int
) -> dict[str, Any]:
    """Inputs a transformers model accepts, sized from its config.

    Token inputs are ``seq_len`` long (default 128, or the model's maximum if shorter).
    The main input comes first; multimodal models (CLIP, BLIP…) also get the other
    modality when their forward takes it and their config describes it.
    """
    params = inspect.signature(model.forward).parameters
    main = getattr(model, "main_input_name", "input_ids")
    makers = {
        "input_ids": lambda: _token_ids(config, batch, seq_len),
        "pixel_values": lambda: _pixels(getattr(config, "vision_config", None) or config, batch),
        "input_features": lambda: _mel_features(config, batch),
        "input_values": lambda: torch.randn(batch, 16000),
    }
    if main not in makers:
        raise SpecError(f"no example inputs for {type(model).__name__} (main input {main!r})")
    inputs: dict[str, Any] = {main: makers[main]()}
    if "pixel_values" in params and hasattr(config, "vision_config") and main != "pixel_values":
        inputs["pixel_values"] = makers["pixel_values"]()
    if "input_ids" in params and hasattr(config, "text_config") and main != "input_ids":
        inputs["input_ids"] = makers["input_ids"]()
    if "decoder_input_ids" in params and getattr(config, "is_encoder_decoder", False):
        inputs["decoder_input_ids"] = _token_ids(config, batch, min(seq_len or 64, 64))
    return inputs


def _token_ids(config: Any, batch: int, seq_len: int | None) -> torch.Tensor:
    text = getattr(config, "text_config", None) or config
    vocab = int(getattr(text, "vocab_size", 1000) or 1000)
    if seq_len is None:
        seq_len = min(128, int(getattr(text, "max_position_embeddings", 128) or 128))
    return torch.randint(0, vocab, (batch, seq_len))


def _pixels(config: Any, batch: int) -> torch.Tensor:
    channels = int(getattr(config, "num_channels", 3))
    size = getattr(config, "image_size", 224)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    return torch.randn(batch, channels, h, w)


def _mel_features(config: Any, batch: int) -> torch.Tensor:
    mels = int(getattr(config, "num_mel_bins", 80))
    frames = 2 * int(getattr(config, "max_source_positions", 1500))
    return torch.randn(batch, mels, frames)
