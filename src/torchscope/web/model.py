"""``GET /api/model``: the run's model as the summary table and the structure viewer's data.

The Monitor stores the model's ModelGraph once per run (metadata ``graph``). It is read
as untrusted JSON: a graph that does not load is reported, not shown. Summaries are kept
for the last few runs asked for (a graph is read once, not on every visit).
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from torchscope.web.api import entry_of, guarded, json_response
from torchscope.web.payloads import RAMP

__all__ = ["model"]


@functools.lru_cache(maxsize=8)
def _model_data(run_id: str, meta_version: int, graph_json: str) -> dict[str, Any]:
    import json

    from torchscope.analysis.summary import summarize
    from torchscope.model.graph import ModelGraph
    from torchscope.render.graph_html import viewer_data

    graph = ModelGraph.from_dict(json.loads(graph_json))
    summary = summarize(graph, depth=3).to_dict()
    return {"summary": summary, "viewer": viewer_data(graph, depth=1), **RAMP}


@guarded
def model(request: Request) -> Response:
    """The summary (totals and module rows) and the viewer data of the run's stored graph."""
    entry, run = entry_of(request)
    rows = run.query(
        "SELECT id, value FROM meta WHERE key = 'graph' AND length(value) <= ? "
        "ORDER BY id DESC LIMIT 1",
        (256 << 20,),
    )
    if not rows:
        return json_response(
            {"error": "this run holds no model graph (Monitor(..., model_graph=True) stores it)"},
            404,
        )
    try:
        data = _model_data(entry.id, int(rows[0][0]), str(rows[0][1]))
    except Exception as exc:  # a damaged or hostile graph: say so, show nothing of it
        return json_response({"error": f"the stored model graph is unreadable: {exc}"[:500]}, 422)
    return json_response(data)
