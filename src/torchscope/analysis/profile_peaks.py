"""Peak dense compute and memory bandwidth of current accelerators, for MFU and rooflines.

Figures are the vendors' datasheet values per GPU, dense (without 2:4 sparsity), in
TFLOP/s and TB/s. ``float32`` is the plain FP32 rate; ``tf32`` applies to float32 matmuls
only when torch allows TF32 (``torch.backends.cuda.matmul.allow_tf32``). A device not in
the table has no MFU unless a peak is given (``--peak-tflops``).

Example:
    >>> spec = device_peak("NVIDIA H100 80GB HBM3", "bfloat16")
    >>> spec.tflops, spec.bandwidth_tbs
    (989.4, 3.35)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PEAKS", "PeakSpec", "device_peak"]


@dataclass(frozen=True)
class PeakSpec:
    """A device's peak for one dtype: TFLOP/s and, when known, memory bandwidth in TB/s."""

    tflops: float
    bandwidth_tbs: float | None
    source: str  # the table row, or "given" for an override

    @property
    def flops(self) -> float:
        return self.tflops * 1e12

    @property
    def ridge(self) -> float | None:
        """FLOPs per byte where the roofline turns from memory- to compute-bound."""
        if not self.bandwidth_tbs:
            return None
        return self.flops / (self.bandwidth_tbs * 1e12)


# name pattern (matched against torch.cuda.get_device_name), row label,
# {dtype: TFLOP/s}, bandwidth TB/s. More specific patterns first.
PEAKS: list[tuple[str, str, dict[str, float], float]] = [
    (r"GB200", "NVIDIA GB200", {"bf16": 2500, "fp16": 2500, "tf32": 1250, "fp32": 80}, 8.0),
    (r"B200", "NVIDIA B200", {"bf16": 2250, "fp16": 2250, "tf32": 1100, "fp32": 75}, 8.0),
    (r"GH200", "NVIDIA GH200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}, 4.0),
    (r"H200", "NVIDIA H200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}, 4.8),
    (r"H100.*NVL", "NVIDIA H100 NVL", {"bf16": 835, "fp16": 835, "tf32": 418, "fp32": 60}, 3.9),
    (r"H100.*PCIe", "NVIDIA H100 PCIe", {"bf16": 756, "fp16": 756, "tf32": 378, "fp32": 51}, 2.0),
    (r"H100|H800", "NVIDIA H100 SXM",
     {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}, 3.35),
    (r"A100.*80GB", "NVIDIA A100 80GB",
     {"bf16": 312, "fp16": 312, "tf32": 156, "fp32": 19.5}, 2.0),
    (r"A100|A800", "NVIDIA A100 40GB",
     {"bf16": 312, "fp16": 312, "tf32": 156, "fp32": 19.5}, 1.555),
    (r"L40S", "NVIDIA L40S", {"bf16": 362, "fp16": 362, "tf32": 183, "fp32": 91.6}, 0.864),
    (r"L40", "NVIDIA L40", {"bf16": 181, "fp16": 181, "tf32": 90.5, "fp32": 90.5}, 0.864),
    (r"\bL4\b", "NVIDIA L4", {"bf16": 121, "fp16": 121, "tf32": 60, "fp32": 30.3}, 0.3),
    (r"\bA10\b", "NVIDIA A10", {"bf16": 125, "fp16": 125, "tf32": 62.5, "fp32": 31.2}, 0.6),
    (r"RTX 4090", "NVIDIA GeForce RTX 4090",
     {"bf16": 165.2, "fp16": 165.2, "tf32": 82.6, "fp32": 82.6}, 1.008),
    (r"V100", "NVIDIA V100", {"fp16": 125, "fp32": 15.7}, 0.9),
    (r"\bT4\b", "NVIDIA T4", {"fp16": 65, "fp32": 8.1}, 0.32),
    (r"MI355", "AMD Instinct MI355X", {"bf16": 2516.6, "fp16": 2516.6, "fp32": 157.3}, 8.0),
    (r"MI325", "AMD Instinct MI325X", {"bf16": 1307.4, "fp16": 1307.4, "fp32": 163.4}, 6.0),
    (r"MI300X", "AMD Instinct MI300X", {"bf16": 1307.4, "fp16": 1307.4, "fp32": 163.4}, 5.3),
    (r"MI300A", "AMD Instinct MI300A", {"bf16": 980.6, "fp16": 980.6, "fp32": 122.6}, 5.3),
    (r"MI250", "AMD Instinct MI250X", {"bf16": 383, "fp16": 383, "fp32": 95.7}, 3.2),
]  # fmt: skip

_DTYPE_KEY = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


def device_peak(
    device_name: str, dtype: str, tf32: bool = False, tflops: float | None = None
) -> PeakSpec | None:
    """The peak of ``device_name`` for ``dtype`` (``tflops`` overrides it), or None if unknown."""
    row = next((r for r in PEAKS if re.search(r[0], device_name, re.IGNORECASE)), None)
    bandwidth = row[3] if row else None
    if tflops is not None:
        return PeakSpec(float(tflops), bandwidth, "given")
    if row is None:
        return None
    key = _DTYPE_KEY.get(dtype)
    if key == "fp32" and tf32 and "tf32" in row[2]:
        key = "tf32"
    if key is None or key not in row[2]:
        return None
    return PeakSpec(row[2][key], bandwidth, f"{row[1]} {key} dense")
