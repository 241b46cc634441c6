"""The operator console page (``/console``) and the bureau's review of operators' Q&A entries.

The page is a shell: its script (``static/console.js``) talks to the operator API
(:mod:`staff.operator_api`) and listens to ``/api/operator/events``. Filters and form choices are
rendered here from the corpus and the county's villages.
"""

from __future__ import annotations

import asyncio
import functools

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from knowledge.config import Settings as KnowledgeSettings
from knowledge.corpus import in_force, load_corpus
from records import list_villages
from records.schema import OUTCOMES, RESOLUTION_OUTCOMES
from records.topics import TOPICS
from staff.access import require
from staff.app import render

bp = Blueprint("console")
CALL_OUTCOMES = {"answered": "已解答", "referred": "转介村法律顾问", "fallback": "未能解答", "emergency": "紧急情况"}


@functools.cache
def _filters() -> dict[str, list[str]]:
    """The values of the assist filters, from the articles the bot can cite."""
    articles = in_force(load_corpus(KnowledgeSettings().corpus_dirs))
    return {
        "laws": sorted({a.law for a in articles}),
        "doc_types": sorted({a.doc_type for a in articles}),
        "jurisdictions": sorted({a.jurisdiction for a in articles}),
    }


@bp.get("/console")
async def console_page(request: Request) -> HTTPResponse:
    user = require(request, "operator", "admin")
    villages = await asyncio.to_thread(list_villages)
    context = {
        "filters": await asyncio.to_thread(_filters),
        "villages": [v.label for v in villages],
        "topics": list(TOPICS.values()),
        "call_outcomes": {k: v for k, v in CALL_OUTCOMES.items() if k in OUTCOMES},
        "close_outcomes": RESOLUTION_OUTCOMES,
        "is_operator": user.has("operator"),
        "is_admin": user.has("admin"),
    }
    return render(request, "console.html", context)
