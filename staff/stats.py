"""Statistics pages for the justice bureau (role ``admin``) and township offices (role ``township``,
their own villages only): the dashboard, CSV/XLSX exports, the printable report and its PDF, and
marking bad ratings as called back. Advisers and operators get 403.

Every page takes ``from`` / ``to`` (``YYYY-MM-DD``, local days, default: this year up to today),
``grain`` (day / week / month / year) and, for admins, ``township``. Exports, report downloads and
call-back marks are written to the audit log.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw, redirect
from sanic.response import json as json_response

from records import audit, callbacks, list_villages, stats
from records.errors import InvalidValue, UnknownConsultation
from records.stats import Period, StatsScope
from records.users import StaffUser
from staff.access import require
from staff.app import render
from staff.errors import StaffError, forbidden, invalid, not_found
from staff.stats_report import PdfError, pdf_bytes, report_context
from staff.stats_tables import CHANNEL_LABELS, StatTable, csv_bytes, tables, xlsx_bytes

bp = Blueprint("stats")
ROLES = ("admin", "township")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _zone(request: Request) -> str:
    return request.app.ctx.settings.timezone


def _query(request: Request, user: StaffUser) -> tuple[Period, StatsScope, str | None]:
    """The period, scope and grain asked for; a township office is held to its own township."""
    today = datetime.now(ZoneInfo(_zone(request))).date()
    start = request.args.get("from", "") or date(today.year, 1, 1).isoformat()
    end = request.args.get("to", "") or today.isoformat()
    grain = request.args.get("grain", "") or None
    if grain is not None and grain not in stats.GRAINS:
        raise invalid(f"grain must be one of {stats.GRAINS}")
    try:
        period = Period.parse(start[:10], end[:10], _zone(request))
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    if user.has("admin"):
        township = request.args.get("township", "").strip()[:50] or None
    elif user.township:
        township = user.township
    else:
        raise forbidden("a township account without a township")
    return period, StatsScope(township), grain


async def _summary(request: Request, callbacks: str = "all") -> tuple[StaffUser, Period, StatsScope, dict[str, Any]]:
    user = require(request, *ROLES)
    period, scope, grain = _query(request, user)
    try:
        summary = await asyncio.to_thread(stats.summary, period, scope, grain=grain, callbacks=callbacks)
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    return user, period, scope, summary


def _params(period: Period, scope: StatsScope, grain: str | None = None) -> dict[str, str]:
    params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if scope.township:
        params["township"] = scope.township
    if grain:
        params["grain"] = grain
    return params


def _caption(period: Period, scope: StatsScope) -> str:
    return f"{scope.label} {period.start.isoformat()} 至 {period.end.isoformat()}"


def _filename(prefix: str, period: Period, ext: str) -> str:
    return f"{prefix}-{period.start.isoformat()}-{period.end.isoformat()}.{ext}"


async def _log(user: StaffUser, action: str, what: str, period: Period, scope: StatsScope) -> None:
    await asyncio.to_thread(audit.log, user.username, action, detail=f"{what} {_caption(period, scope)}")


def _quick_periods(today: date) -> list[tuple[str, dict[str, str]]]:
    month = today.replace(day=1)
    return [
        ("本月", {"from": month.isoformat(), "to": today.isoformat(), "grain": "day"}),
        ("今年", {"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat(), "grain": "month"}),
        (
            "去年",
            {
                "from": date(today.year - 1, 1, 1).isoformat(),
                "to": date(today.year - 1, 12, 31).isoformat(),
                "grain": "month",
            },
        ),
    ]


@bp.get("/stats")
async def dashboard(request: Request) -> HTTPResponse:
    user, period, scope, summary = await _summary(request, callbacks="pending")
    await _log(user, "stats_view", "dashboard", period, scope)
    params = _params(period, scope, summary["grain"])
    today = datetime.now(ZoneInfo(_zone(request))).date()
    townships = sorted({v.township for v in await asyncio.to_thread(list_villages)}) if user.has("admin") else []
    quick = [
        (label, urlencode(p | ({"township": scope.township} if scope.township else {})))
        for label, p in _quick_periods(today)
    ]
    return render(
        request,
        "stats.html",
        {
            "s": summary,
            "tables": tables(summary, _zone(request)),
            "period": period,
            "scope": scope,
            "grains": (("day", "日"), ("week", "周"), ("month", "月"), ("year", "年")),
            "grain": request.args.get("grain", ""),
            "channel_labels": CHANNEL_LABELS,
            "townships": townships,
            "query": urlencode(params),
            "quick": quick,
            "pending": summary["callbacks"],
            "message": request.args.get("message"),
        },
    )


@bp.get("/api/stats")
async def stats_json(request: Request) -> HTTPResponse:
    user, period, scope, summary = await _summary(request)
    await _log(user, "stats_export", "json", period, scope)
    return json_response(summary, dumps=lambda o: json.dumps(o, ensure_ascii=False))


@bp.get("/stats/export.xlsx")
async def export_xlsx(request: Request) -> HTTPResponse:
    user, period, scope, summary = await _summary(request)
    body = await asyncio.to_thread(xlsx_bytes, tables(summary, _zone(request)), _caption(period, scope))
    await _log(user, "stats_export", "xlsx", period, scope)
    return _download(body, XLSX, _filename("statistics", period, "xlsx"))


@bp.get("/stats/export.csv")
async def export_csv(request: Request) -> HTTPResponse:
    user, period, scope, summary = await _summary(request)
    key = request.args.get("table", "")
    table: StatTable | None = next((t for t in tables(summary, _zone(request)) if t.key == key), None)
    if table is None:
        raise not_found("table")
    await _log(user, "stats_export", f"csv {key}", period, scope)
    return _download(csv_bytes(table), "text/csv; charset=utf-8", _filename(key, period, "csv"))


def _download(body: bytes, content_type: str, filename: str) -> HTTPResponse:
    return raw(body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/stats/report")
async def report_page(request: Request) -> HTTPResponse:
    user, period, scope, summary = await _summary(request)
    await _log(user, "stats_view", "report", period, scope)
    context = report_context(summary, _zone(request))
    return render(
        request,
        "stats_report.html",
        context | {"static": "/static", "standalone": False, "query": urlencode(_params(period, scope))},
    )


@bp.get("/stats/report.pdf")
async def report_pdf(request: Request) -> HTTPResponse:
    user, period, scope, summary = await _summary(request)
    try:
        body = await asyncio.to_thread(pdf_bytes, summary, _zone(request))
    except PdfError as exc:
        raise StaffError(503, "unavailable", f"PDF not available: {exc}") from None
    await _log(user, "stats_export", "pdf", period, scope)
    return _download(body, "application/pdf", _filename("report", period, "pdf"))


@bp.post("/stats/callbacks/<consultation_id>")
async def mark_callback(request: Request, consultation_id: str) -> HTTPResponse:
    """Mark a bad rating as called back (a township office only within its villages)."""
    user = require(request, *ROLES)
    if not user.has("admin"):
        township = await asyncio.to_thread(callbacks.township_of, consultation_id)
        if township is None or township != user.township:
            raise not_found("rating")
    form = request.form or {}
    note = form.get("note", "") if form else ""
    try:
        fresh = await asyncio.to_thread(callbacks.mark_called_back, consultation_id, user.username, note)
    except UnknownConsultation:
        raise not_found("rating") from None
    asked = parse_qs(form.get("back", "") if form else "")
    back = urlencode({k: asked[k][0] for k in ("from", "to", "township", "grain") if asked.get(k)})
    message = "已标记为已回访" if fresh else "此前已标记回访"
    return redirect(f"/stats?{back}&{urlencode({'message': message})}#callbacks", status=303)
