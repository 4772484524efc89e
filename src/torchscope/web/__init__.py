"""The live dashboard: an ASGI app (starlette + uvicorn) over the run stores, read-only.

Importing ``torchscope`` never loads this package; ``torchscope serve`` and
``torchscope.serve()`` do. See ``app.py`` (routes), ``security.py`` (the gate every
request passes), ``catalog.py`` (the index of runs), ``stream.py`` (live updates).
"""

from __future__ import annotations

__all__: list[str] = []
