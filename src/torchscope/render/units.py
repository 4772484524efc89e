"""Human-readable numbers: counts, MACs and bytes."""

from __future__ import annotations

__all__ = ["fmt_bytes", "fmt_count", "fmt_si", "plural"]


def fmt_count(n: int) -> str:
    """``124,439,808``."""
    return f"{n:,}"


def fmt_si(n: float, unit: str = "") -> str:
    """``16.11 G`` style (powers of 1000), for MACs and FLOPs."""
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:.0f} {unit}".rstrip()


def fmt_bytes(n: float) -> str:
    """``1.23 GiB`` style (powers of 1024)."""
    for factor, prefix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}"
    return f"{n:.0f} B"


def plural(n: int, noun: str) -> str:
    """``noun`` as it reads after the count ``n``: with an ``s`` unless ``n`` is 1.

    Example:
        >>> f"1 {plural(1, 'tensor')}, 3 {plural(3, 'layer')}"
        '1 tensor, 3 layers'
    """
    return noun if n == 1 else f"{noun}s"
