"""Attention on the meta device the way real accelerators run it.

On meta, ``F.scaled_dot_product_attention`` falls back to the math path, which keeps the
full attention matrix for backward. CUDA (and CPU) run fused kernels that keep only the
output and a log-sum-exp, so a training-memory estimate made on meta would be several
times too high for long sequences. Rerouting to the fused kernel's meta implementation
gives the same output shape and MACs, and the memory a real device would use.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["fused_attention_on_meta", "is_meta_attention"]


def is_meta_attention(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if func is not F.scaled_dot_product_attention:
        return False
    query = args[0] if args else kwargs.get("query")
    return isinstance(query, torch.Tensor) and query.device.type == "meta" and query.dim() == 4


def fused_attention_on_meta(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    """Same result shape and MACs as SDPA, through the memory-efficient kernel."""
    heads = query.shape[1]
    if key.shape[1] != heads:
        if not enable_gqa or heads % key.shape[1]:
            raise RuntimeError(
                f"scaled_dot_product_attention: query has {heads} heads but key has "
                f"{key.shape[1]} (pass enable_gqa=True for grouped-query attention)"
            )
        key = key.repeat_interleave(heads // key.shape[1], dim=1)
        value = value.repeat_interleave(heads // value.shape[1], dim=1)
    bias = None
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = torch.zeros(attn_mask.shape, dtype=query.dtype, device=query.device)
            bias = bias.masked_fill(~attn_mask, float("-inf"))
        else:
            bias = attn_mask.to(query.dtype)
        bias = bias.expand(query.shape[0], heads, query.shape[2], key.shape[2])
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value))
    out = torch.ops.aten._scaled_dot_product_efficient_attention(
        query, key, value, bias, needs_grad, dropout_p, is_causal, scale=scale
    )
    return out[0]
