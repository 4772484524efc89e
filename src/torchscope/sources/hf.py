"""``hf:<TransformersClass>`` specs: a transformers model built from its config, and inputs.

The config is checked before anything is built: unknown override keys are refused with the
closest valid names (a typo would otherwise summarise the default model), and a sequence
longer than the config's positions is refused on every device (on meta it would report
numbers for a model that cannot run). Example inputs are sized from the config and made
on the device of the pass.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
from typing import Any

import torch
from torch import nn

from torchscope.errors import InputError, SpecError
from torchscope.sources.inputs import InputSpec, check_elements, make_inputs

__all__ = ["load_hf", "max_positions"]

# Config attributes that bound the sequence length, in the order their names are reported.
_POSITION_KEYS = (
    "n_positions",
    "max_position_embeddings",
    "n_ctx",
    "max_sequence_length",
    "max_seq_len",
    "max_seq_length",
    "seq_length",
)
_DEFAULT_SEQ_LEN = 128


def load_hf(
    class_name: str,
    overrides: dict[str, Any],
    device: str | None,
    seq_len: int | None,
    batch: int,
) -> tuple[nn.Module, dict[str, Any]]:
    """The model ``hf:class_name`` names, built from its config, and its example inputs.

    Token inputs are ``seq_len`` long (default 128, or the model's maximum if shorter).
    The main input comes first; multimodal models (CLIP, BLIP…) also get the other
    modality when their forward takes it and their config describes it. Inputs are made
    on ``device`` (on meta they cost nothing).

    Example:
        >>> model, inputs = load_hf("GPT2LMHeadModel", {"n_layer": 1}, "meta", 16, 2)
        >>> inputs["input_ids"].shape, inputs["input_ids"].device.type
        (torch.Size([2, 16]), 'meta')
    """
    cls = _model_class(class_name)
    _check_config_keys(cls.config_class, overrides)
    try:
        config = cls.config_class(**overrides)
    except Exception as exc:
        raise SpecError(f"cannot build {cls.config_class.__name__}({overrides}): {exc}") from exc
    plan = _input_plan(cls, config, seq_len, batch)
    run_device = device or "cpu"
    for name, spec in plan.items():  # before building: a refused input wastes no time
        check_elements(spec.shape, run_device, f"example input {name}")
    try:
        with torch.device("meta") if device == "meta" else contextlib.nullcontext():
            model = cls(config)
    except Exception as exc:
        raise SpecError(f"building {class_name} failed: {type(exc).__name__}: {exc}") from exc
    return model, {name: make_inputs([spec], run_device)[0] for name, spec in plan.items()}


def max_positions(config: Any) -> tuple[str, int] | None:
    """The config attribute that bounds the sequence length, and its value (None: no bound).

    Example:
        >>> from transformers import GPT2Config
        >>> max_positions(GPT2Config())
        ('n_positions', 1024)
    """
    found: tuple[str, int] | None = None
    for key in _POSITION_KEYS:
        value = getattr(config, key, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            continue
        if found is None or value < found[1]:
            found = (key, value)
    return found


def _model_class(class_name: str) -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise SpecError("hf: specs need transformers: pip install 'torchscope[hf]'") from exc
    try:
        cls = getattr(transformers, class_name, None) if class_name.isidentifier() else None
    except Exception as exc:  # a lazy import of the class's module failed
        raise SpecError(f"cannot load transformers.{class_name}: {exc}") from exc
    if not inspect.isclass(cls) or getattr(cls, "config_class", None) is None:
        raise SpecError(f"transformers has no model class {class_name!r}")
    return cls


def _check_config_keys(config_class: Any, overrides: dict[str, Any]) -> None:
    """Refuse override keys the config does not know, naming the closest ones."""
    try:
        default = config_class()
    except Exception:  # a composite config that needs arguments: we cannot tell
        return
    known = _config_keys(config_class, default)
    for key in overrides:
        if key in known or _is_setting(default, key):
            continue
        close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise SpecError(f"{config_class.__name__} has no setting {key!r}{hint} (nothing built)")


def _config_keys(config_class: Any, default: Any) -> set[str]:
    """Keys a config takes: its fields, their aliases, every named ``__init__`` argument
    along its bases and its settable properties (``num_labels``)."""
    keys = set(default.to_dict()) | set(getattr(config_class, "attribute_map", {}) or {})
    for klass in config_class.__mro__:
        init = klass.__dict__.get("__init__")
        with contextlib.suppress(TypeError, ValueError):
            params = inspect.signature(init).parameters.values() if init else ()
            keys |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        for name, value in klass.__dict__.items():
            if isinstance(value, property) and value.fset is not None:
                keys.add(name)
    return {k for k in keys if not k.startswith("_")} - {"self"}


def _is_setting(config: Any, key: str) -> bool:
    """An attribute the default config has that is a value, not a method."""
    try:
        return hasattr(config, key) and not callable(getattr(config, key))
    except Exception:  # a property that raises: not something to set
        return False


def _input_plan(cls: Any, config: Any, seq_len: int | None, batch: int) -> dict[str, InputSpec]:
    """The example inputs' names and descriptions, main input first."""
    params = inspect.signature(cls.forward).parameters
    main = getattr(cls, "main_input_name", "input_ids")
    text = getattr(config, "text_config", None) or config
    vision = getattr(config, "vision_config", None) or config
    makers = {
        "input_ids": lambda: _token_ids(text, batch, seq_len),
        "pixel_values": lambda: InputSpec((batch, *_image_shape(vision))),
        "input_features": lambda: InputSpec((batch, *_mel_shape(config))),
        "input_values": lambda: InputSpec((batch, 16000)),
    }
    if main not in makers:
        raise SpecError(f"no example inputs for {cls.__name__} (main input {main!r})")
    plan = {main: makers[main]()}
    if "pixel_values" in params and hasattr(config, "vision_config") and main != "pixel_values":
        plan["pixel_values"] = makers["pixel_values"]()
    if "input_ids" in params and hasattr(config, "text_config") and main != "input_ids":
        plan["input_ids"] = makers["input_ids"]()
    if "decoder_input_ids" in params and getattr(config, "is_encoder_decoder", False):
        plan["decoder_input_ids"] = _token_ids(text, batch, min(seq_len or 64, 64))
    return plan


def _token_ids(config: Any, batch: int, seq_len: int | None) -> InputSpec:
    vocab = _positive_int(config, "vocab_size", 1000)
    bound = max_positions(config)
    if seq_len is None:
        seq_len = min(_DEFAULT_SEQ_LEN, bound[1]) if bound else _DEFAULT_SEQ_LEN
    elif bound is not None and seq_len > bound[1]:
        key, limit = bound
        raise InputError(
            f"sequence length {seq_len:,} is longer than the {limit:,} positions "
            f"{type(config).__name__} allows ({key} = {limit}); for a longer one, raise it "
            f"with --config {key}={seq_len}"
        )
    return InputSpec((batch, seq_len), "int64", (0, vocab))


def _image_shape(config: Any) -> tuple[int, int, int]:
    size = getattr(config, "image_size", 224)
    try:
        h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    except (TypeError, ValueError, IndexError, KeyError):
        raise InputError(f"image_size {size!r} is neither a size nor (height, width)") from None
    return _positive_int(config, "num_channels", 3), h, w


def _mel_shape(config: Any) -> tuple[int, int]:
    frames = 2 * _positive_int(config, "max_source_positions", 1500)
    return _positive_int(config, "num_mel_bins", 80), frames


def _positive_int(config: Any, key: str, default: int) -> int:
    value = getattr(config, key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{type(config).__name__}.{key} must be a positive integer, not {value!r}")
    return value
