"""Server-rendered pages for phones: login, my referrals, a referral, the admin page.

Forms post with a hidden ``csrf_token`` and are answered with a redirect (303), so a reload
never repeats an action.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from records import audit, list_advisers, list_villages, referral_scope, routing, users
from records.errors import InvalidValue
from records.referral_scope import Scope
from records.topics import TOPICS
from staff import auth, casework, importer
from staff.access import CASEWORK_ROLES, require, scope_of
from staff.app import render
from staff.errors import StaffError, invalid, not_found

bp = Blueprint("pages")
TABS = (("new", "待受理"), ("open", "办理中"), ("overdue", "逾期"), ("done", "已办结"), ("", "全部"))


def _form(request: Request, name: str) -> str:
    return (request.form or {}).get(name, "") if request.form else ""


@bp.get("/")
async def home(request: Request) -> HTTPResponse:
    if request.ctx.user is None:
        return redirect("/login")
    if request.ctx.user.has("operator"):
        return redirect("/console")
    if request.ctx.user.has(*CASEWORK_ROLES):
        return redirect("/referrals?status=new")
    return render(request, "home.html", {})


@bp.get("/login")
async def login_page(request: Request) -> HTTPResponse:
    return render(request, "login.html", {"message": None})


@bp.post("/login")
async def login_form(request: Request) -> HTTPResponse:
    try:
        _user, token, _csrf = await auth.login(request, _form(request, "username"), _form(request, "password"))
    except StaffError as exc:
        message = "尝试次数过多，请15分钟后再试。" if exc.status == 429 else "用户名或密码错误。"
        return render(request, "login.html", {"message": message}, status=exc.status)
    response = redirect("/", status=303)
    auth.set_cookie(response, request.app, token)
    return response


@bp.post("/logout")
async def logout_form(request: Request) -> HTTPResponse:
    await auth.logout(request)
    response = redirect("/login", status=303)
    auth.clear_cookie(response, request.app)
    return response


@bp.get("/referrals")
async def referrals_page(request: Request) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    status = request.args.get("status", "")
    village, topic = request.args.get("village", ""), request.args.get("topic", "")
    scope = scope_of(user)
    try:
        items = await asyncio.to_thread(
            referral_scope.list_referrals, scope, status=status or None, village=village or None, topic=topic or None
        )
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    context: dict[str, Any] = {"items": items, "status": status, "village": village, "topic": topic}
    if request.args.get("partial"):
        return render(request, "_referral_list.html", context)
    context.update(tabs=TABS, villages=await asyncio.to_thread(_villages_in, scope), topics=TOPICS)
    return render(request, "referrals.html", context)


def _villages_in(scope: Scope) -> list[str]:
    labels = []
    for v in list_villages():
        if scope.everything or v.township == scope.township or (
            scope.adviser_id is not None and v.adviser_id == scope.adviser_id
        ):
            labels.append(v.label)
    return labels


@bp.get("/referrals/<referral_id>")
async def referral_page(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    data = await casework.detail(user, referral_id, request.app.ctx.settings)
    return render(request, "referral.html", {"r": data, "error": request.args.get("error")})


def _back(referral_id: str) -> HTTPResponse:
    return redirect(f"/referrals/{referral_id}", status=303)


@bp.post("/referrals/<referral_id>/accept")
async def accept_form(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    await casework.change_status(user, referral_id, "accepted", settings=request.app.ctx.settings)
    return _back(referral_id)


@bp.post("/referrals/<referral_id>/status")
async def status_form(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    await casework.change_status(user, referral_id, _form(request, "status"))
    return _back(referral_id)


@bp.post("/referrals/<referral_id>/notes")
async def note_form(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    await casework.add_note(user, referral_id, _form(request, "text"))
    return _back(referral_id)


@bp.post("/referrals/<referral_id>/resolve")
async def resolve_form(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    await casework.resolve(user, referral_id, _form(request, "outcome"), _form(request, "summary"))
    return _back(referral_id)


async def _admin_context(report: importer.Report | None = None) -> dict[str, Any]:
    return {
        "users": await asyncio.to_thread(users.list_users),
        "advisers": await asyncio.to_thread(list_advisers),
        "absent": await asyncio.to_thread(routing.absences, datetime.now(UTC)),
        "audit": await asyncio.to_thread(audit.entries, limit=100),
        "report": report,
    }


@bp.get("/admin")
async def admin_page(request: Request) -> HTTPResponse:
    require(request, "admin")
    return render(request, "admin.html", await _admin_context())


@bp.post("/admin/advisers/<adviser_id:int>/absence")
async def adviser_absence(request: Request, adviser_id: int) -> HTTPResponse:
    """Mark an adviser away until the end of a day (their referrals then go to the 司法所), or back."""
    user = require(request, "admin")
    until_text = _form(request, "until").strip()
    if adviser_id not in {a.id for a in await asyncio.to_thread(list_advisers)}:
        raise not_found("adviser")
    until = None
    if until_text:
        try:
            day = date.fromisoformat(until_text)
        except ValueError:
            raise invalid("until must be a date (YYYY-MM-DD)") from None
        zone = ZoneInfo(request.app.ctx.settings.timezone)
        until = datetime.combine(day + timedelta(days=1), time(), zone)  # the whole day
    await asyncio.to_thread(routing.set_absence, adviser_id, until)
    detail = f"adviser {adviser_id} until {until_text or '-'}"
    await asyncio.to_thread(audit.log, user.username, "absence", detail=detail)
    return redirect("/admin", status=303)


@bp.post("/admin/import")
async def admin_import(request: Request) -> HTTPResponse:
    user = require(request, "admin")
    upload = request.files.get("file") if request.files else None
    if upload is None or not upload.body:
        raise invalid("choose a CSV or XLSX file")
    report = await asyncio.to_thread(importer.import_bytes, upload.name or "upload.csv", upload.body)
    if report.ok:
        await asyncio.to_thread(audit.log, user.username, "import", detail=f"{report.rows} rows from {upload.name}")
    return render(request, "admin.html", await _admin_context(report), status=200 if report.ok else 422)
