"""Training-time monitoring: on-device statistics written by a background thread."""

from __future__ import annotations

from torchscope.monitor.monitor import Monitor

__all__ = ["Monitor"]
