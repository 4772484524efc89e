"""A layer's settings as a drawing shows them: ``3→16, kernel 3×3, stride 2, groups 4``.

Read from the module's ``extra_repr`` (what ``print(model)`` shows), with the values
every layer has by default left out, and the number of attention heads read from the
shape of the attention op's query (``[batch, heads, tokens, head_dim]``). Also which
settings are hyper-parameters that do not change the structure (a dropout rate, a
drop-path probability): blocks differing only in those still count as identical.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from torchscope.model.graph import OpNode

__all__ = [
    "attention_heads",
    "free_settings",
    "layer_settings",
    "split_settings",
    "structural_repr",
]

# Settings that change no shape and no op: a rate or a probability of dropping.
_FREE_KEYS = frozenset(
    {"p", "drop_prob", "drop_rate", "drop_path", "drop_path_rate", "dropout", "dropout_p",
     "attention_dropout", "survival_prob", "inplace"}
)  # fmt: skip
# (key, value) pairs that most layers have at their default: shown only when different.
_DEFAULTS = frozenset(
    {("bias", "True"), ("inplace", "False"), ("elementwise_affine", "True"), ("affine", "True"),
     ("track_running_stats", "True"), ("padding_mode", "'zeros'"), ("approximate", "'none'"),
     ("momentum", "0.1"), ("eps", "1e-05"), ("ceil_mode", "False"), ("dilation", "1"),
     ("padding", "0"), ("output_padding", "0"), ("groups", "1"), ("stride", "1"),
     ("count_include_pad", "True"), ("return_indices", "False")}
)  # fmt: skip
_NAMES = {"kernel_size": "kernel", "padding": "pad"}
_ATTENTION_OPS = frozenset({"scaled_dot_product_attention", "flex_attention"})
_LIMIT = 64


def split_settings(extra_repr: str) -> list[tuple[str, str]]:
    """``"3, 16, kernel_size=(3, 3)"`` → ``[("", "3"), ("", "16"), ("kernel_size", "(3, 3)")]``.

    Commas inside brackets do not split.
    """
    parts: list[tuple[str, str]] = []
    depth, start = 0, 0
    for i, char in enumerate(extra_repr + ","):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth <= 0:
            part = extra_repr[start:i].strip()
            start = i + 1
            if part:
                key, eq, value = part.partition("=")
                parts.append(
                    (key.strip(), value.strip()) if eq and key.isidentifier() else ("", part)
                )
    return parts


def _dropping(module_type: str) -> bool:
    return "Drop" in module_type or module_type == "StochasticDepth"


def free_settings(module_type: str, extra_repr: str) -> dict[str, str]:
    """The settings of a module that change no structure, by name (positional: ``arg0``…)."""
    free = {}
    for i, (key, value) in enumerate(split_settings(extra_repr)):
        if _dropping(module_type) or key in _FREE_KEYS:
            free[key or f"arg{i}"] = value
    return free


@functools.lru_cache(maxsize=4096)
def structural_repr(module_type: str, extra_repr: str) -> str:
    """``extra_repr`` without the free settings: what must match for two blocks to be equal."""
    if _dropping(module_type):
        return ""
    kept = [(k, v) for k, v in split_settings(extra_repr) if k not in _FREE_KEYS]
    return ", ".join(f"{k}={v}" if k else v for k, v in kept)


def _compact(key: str, value: str) -> str:
    """``(3, 3)`` → ``3×3`` for a kernel, ``(2, 2)`` → ``2`` for a stride; ``(3,)`` → ``3``."""
    match = re.fullmatch(r"\((\d+(?:,\s*\d+)*),?\)", value)
    if match is None:
        return value
    numbers = [n.strip() for n in match.group(1).split(",")]
    if len(set(numbers)) == 1 and (len(numbers) == 1 or key != "kernel_size"):
        return numbers[0]
    return "×".join(numbers)


@functools.lru_cache(maxsize=4096)
def layer_settings(extra_repr: str, heads: int | None = None) -> str:
    """The settings worth drawing on a node, short; empty when there are none.

    Example:
        >>> layer_settings("3, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)")
        '3→16, kernel 3×3, stride 2, pad 1'
        >>> layer_settings("in_features=8, out_features=4, bias=True")
        '8→4'
    """
    parts = []
    pairs = split_settings(extra_repr)
    leading = [v for _, v in pairs[:2]]
    if [k for k, _ in pairs[:2]] in (["", ""], ["in_features", "out_features"]) and all(
        v.isdigit() for v in leading
    ):
        parts.append(f"{leading[0]}→{leading[1]}")  # in → out channels or features
        pairs = pairs[2:]
    for key, value in pairs:
        value = _compact(key, value)
        if (key, value) in _DEFAULTS:
            continue
        parts.append(f"{_NAMES.get(key, key)} {value}" if key else value)
    if heads:
        parts.append(f"heads {heads}")
    text = ", ".join(parts)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "…"


def attention_heads(ops: Iterable[OpNode]) -> int | None:
    """Heads of the first attention op among ``ops`` (its query is ``[B, heads, T, D]``)."""
    for op in ops:
        if op.name in _ATTENTION_OPS and op.inputs and len(op.inputs[0].shape) == 4:
            return op.inputs[0].shape[1]
    return None
