"""MACs of dispatcher-level (aten) ops, from torch's own flop formula registry.

``torch.utils.flop_counter.flop_registry`` is reused as is; this module only adds the
formulas it lacks (the CPU fused attention kernel) and names the compute-heavy ops that
still have no formula, so they are reported as uncounted instead of silently counting 0.
MACs follow the papers' convention (matmuls, convolutions, attention); FLOPs = 2 × MACs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from torch.utils import flop_counter

__all__ = ["aten_macs", "is_compute_op"]

aten = torch.ops.aten

FlopFormula = Callable[..., int]


def _sdpa_cpu_flop(
    query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, out_shape: Any = None,
    **kwargs: Any,
) -> int:  # fmt: skip
    return int(flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape))


def _sdpa_cpu_backward_flop(
    grad_out_shape: Any, query_shape: Any, key_shape: Any, value_shape: Any, *args: Any,
    out_shape: Any = None, **kwargs: Any,
) -> int:  # fmt: skip
    return int(
        flop_counter.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)
    )


def _mv_flop(a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return 2 * int(a_shape[0]) * int(a_shape[1])


def _addmv_flop(
    self_shape: Any, a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    return _mv_flop(a_shape, b_shape)


def _rnn_layer_flop(
    input_shape: Any, w_ih: Any, w_hh: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """One fused RNN/LSTM/GRU layer: every step multiplies input and hidden by the gates."""
    steps_times_batch = int(input_shape[0]) * int(input_shape[1])
    return 2 * steps_times_batch * (int(w_ih[0]) * int(w_ih[1]) + int(w_hh[0]) * int(w_hh[1]))


def _grouped_mm_flop(a: Any, b: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """Mixture-of-experts matmul: each row of ``a`` meets one group's ``b`` (or batched)."""
    if len(a) == 2 and len(b) == 3:  # tokens sorted by expert × per-expert weights
        return 2 * int(a[0]) * int(a[1]) * int(b[2])
    if len(a) == 3 and len(b) == 3:  # one matmul per group
        return 2 * int(a[0]) * int(a[1]) * int(a[2]) * int(b[2])
    return 2 * int(a[0]) * int(a[1]) * int(b[-1])  # 2-D × 2-D split along K (weight grads)


def _extra_formulas() -> dict[Any, FlopFormula]:
    """Formulas torch's registry lacks, keyed by overload packet (absent ops skipped)."""
    extra: dict[Any, FlopFormula] = {}
    wanted: dict[str, Callable[..., int]] = {
        "_scaled_dot_product_flash_attention_for_cpu": _sdpa_cpu_flop,
        "_scaled_dot_product_flash_attention_for_cpu_backward": _sdpa_cpu_backward_flop,
        "_scaled_dot_product_fused_attention_overrideable": _sdpa_cpu_flop,
        "mv": _mv_flop,
        "addmv": _addmv_flop,
        "mkldnn_rnn_layer": _rnn_layer_flop,
        "_grouped_mm": _grouped_mm_flop,
    }
    for name, formula in wanted.items():
        packet = getattr(aten, name, None)
        if packet is not None and packet not in flop_counter.flop_registry:
            extra[packet] = flop_counter.shape_wrapper(formula)
    return extra


_REGISTRY: dict[Any, FlopFormula] = {**flop_counter.flop_registry, **_extra_formulas()}

# Custom ops of other libraries, by qualified name (they may not be registered yet at import).
_BY_NAME: dict[str, FlopFormula] = {
    "transformers::grouped_mm_fallback": flop_counter.shape_wrapper(_grouped_mm_flop),
}

# Names of aten ops that do matmul-like work. One of these without a formula is reported
# as uncounted: a MAC total that silently skipped it would be wrong.
_COMPUTE_OP = re.compile(
    r"(^|_)(mm|bmm|matmul|addmm|addbmm|baddbmm|addmv|mv|dot|vdot|linear|bilinear|einsum|"
    r"tensordot|conv\w*|convolution\w*|attention\w*|lstm\w*|gru\w*|rnn\w*|fft\w*|"
    r"linalg_(?:cholesky|solve|inv|eig|svd|qr|lstsq|lu|matrix_exp)\w*|cudnn\w*|mkldnn\w*|"
    r"_int_mm|_weight_int\w*|grouped_mm\w*)$"
)


def _formula(packet: Any) -> FlopFormula | None:
    formula = _REGISTRY.get(packet)
    if formula is None and packet.__module__ != "torch._ops.aten":
        formula = _BY_NAME.get(getattr(packet, "_qualified_op_name", ""))
    return formula


def has_formula(packet: Any) -> bool:
    return _formula(packet) is not None


def is_compute_op(name: str) -> bool:
    """Whether an aten op (by its packet name: ``mm``, ``_convolution``) does matmul-like work."""
    return bool(_COMPUTE_OP.search(name))


def aten_macs(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int | None:
    """MACs of one aten call, or None when no formula is known for it."""
    formula = _formula(func._overloadpacket)
    if formula is None:
        return None
    return int(formula(*args, **kwargs, out_val=out)) // 2
