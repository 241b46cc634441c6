"""Server-rendered pages for phones: login, my referrals, a referral, the admin page.

Forms post with a hidden ``csrf_token`` and are answered with a redirect (303), so a reload
never repeats an action.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from records import audit, referral_scope, users
from records.errors import InvalidValue
from records.referral_scope import Scope
from records.topics import TOPICS
from records.villages import list_advisers, list_villages
from staff import auth, casework, importer
from staff.access import CASEWORK_ROLES, require, scope_of
from staff.app import render
from staff.errors import StaffError, invalid

bp = Blueprint("pages")
TABS = (("new", "待受理"), ("open", "办理中"), ("overdue", "逾期"), ("done", "已办结"), ("", "全部"))


def _form(request: Request, name: str) -> str:
    return (request.form or {}).get(name, "") if request.form else ""


@bp.get("/")
async def home(request: Request) -> HTTPResponse:
    if request.ctx.user is None:
        return redirect("/login")
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
    await casework.change_status(user, referral_id, "accepted")
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


@bp.get("/admin")
async def admin_page(request: Request) -> HTTPResponse:
    require(request, "admin")
    context = {
        "users": await asyncio.to_thread(users.list_users),
        "advisers": await asyncio.to_thread(list_advisers),
        "audit": await asyncio.to_thread(audit.entries, limit=100),
        "report": None,
    }
    return render(request, "admin.html", context)


@bp.post("/admin/import")
async def admin_import(request: Request) -> HTTPResponse:
    user = require(request, "admin")
    upload = request.files.get("file") if request.files else None
    if upload is None or not upload.body:
        raise invalid("choose a CSV or XLSX file")
    report = await asyncio.to_thread(importer.import_bytes, upload.name or "upload.csv", upload.body)
    if report.ok:
        await asyncio.to_thread(audit.log, user.username, "import", detail=f"{report.rows} rows from {upload.name}")
    context = {
        "users": await asyncio.to_thread(users.list_users),
        "advisers": await asyncio.to_thread(list_advisers),
        "audit": await asyncio.to_thread(audit.entries, limit=100),
        "report": report,
    }
    return render(request, "admin.html", context, status=200 if report.ok else 422)
