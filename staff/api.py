"""The JSON API under ``/api/`` (routes and error semantics fixed by the issue; see README).

Errors are ``{"error", "detail"}``: 401 without a session, 403 for a missing CSRF token or role,
404 for a referral outside the caller's scope (never 403, which would confirm it exists), 422 for
invalid values, 409 for an impossible status change, 429 for a throttled login.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from dataclasses import asdict
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from records import list_advisers, notifications, referral_scope
from records.errors import InvalidValue
from staff import auth, casework
from staff.access import CASEWORK_ROLES, current_user, require, scope_of
from staff.errors import StaffError, invalid

bp = Blueprint("api", url_prefix="/api")
SSE_POLL_SECONDS = 1.0
SSE_KEEPALIVE_SECONDS = 15.0


def _body(request: Request) -> dict[str, Any]:
    try:
        data = jsonlib.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise invalid("body must be a JSON object") from None
    if not isinstance(data, dict):
        raise invalid("body must be a JSON object")
    return data


def user_json(user: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "roles": list(user.roles),
        "adviser_id": user.adviser_id,
        "township": user.township,
    }


def item_json(item: referral_scope.ReferralItem) -> dict[str, Any]:
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(item).items()}
    data["overdue"] = item.overdue
    return data


@bp.post("/session")
async def create_session(request: Request) -> HTTPResponse:
    data = _body(request)
    user, token, csrf = await auth.login(request, data.get("username"), data.get("password"))
    response = json({"csrf_token": csrf, "user": user_json(user)})
    auth.set_cookie(response, request.app, token)
    return response


@bp.delete("/session")
async def delete_session(request: Request) -> HTTPResponse:
    current_user(request)
    await auth.logout(request)
    response = json({"ok": True})
    auth.clear_cookie(response, request.app)
    return response


@bp.get("/session")
async def who_am_i(request: Request) -> HTTPResponse:
    user = current_user(request)
    return json({"csrf_token": request.ctx.csrf, "user": user_json(user)})


@bp.get("/referrals")
async def list_referrals(request: Request) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    args = {k: request.args.get(k) or None for k in ("status", "village", "topic")}
    try:
        items = await asyncio.to_thread(referral_scope.list_referrals, scope_of(user), **args)
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    return json({"referrals": [item_json(i) for i in items]})


@bp.get("/referrals/<referral_id>")
async def get_referral(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    return json(await casework.detail(user, referral_id, request.app.ctx.settings))


@bp.post("/referrals/<referral_id>/accept")
async def accept(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    return json(await casework.change_status(user, referral_id, "accepted", settings=request.app.ctx.settings))


@bp.post("/referrals/<referral_id>/status")
async def change_status(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    data = _body(request)
    status = data.get("status")
    if not isinstance(status, str):
        raise invalid("status is required")
    return json(await casework.change_status(user, referral_id, status))


@bp.post("/referrals/<referral_id>/notes")
async def add_note(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    return json(await casework.add_note(user, referral_id, _body(request).get("text")), status=201)


@bp.post("/referrals/<referral_id>/resolve")
async def resolve(request: Request, referral_id: str) -> HTTPResponse:
    user = require(request, *CASEWORK_ROLES)
    data = _body(request)
    return json(await casework.resolve(user, referral_id, data.get("outcome"), data.get("summary")))


@bp.get("/advisers")
async def advisers(request: Request) -> HTTPResponse:
    require(request, "admin")
    found = await asyncio.to_thread(list_advisers)
    return json({"advisers": [{"id": a.id, "name": a.name, "villages": list(a.villages)} for a in found]})


def recipients_of(user: Any) -> list[str]:
    """The in-app addresses a user reads: their adviser's, their township's, the bureau's."""
    keys = []
    if user.has("adviser") and user.adviser_id is not None:
        keys.append(f"adviser:{user.adviser_id}")
    if user.has("township") and user.township:
        keys.append(f"township:{user.township}")
    if user.has("admin"):
        keys.append("admin")
    return keys


@bp.get("/events")
async def events(request: Request) -> HTTPResponse:
    """Server-sent events: each in-app notification for the user, as it is queued.

    Polls the notification outbox, so it works with any number of app processes.
    """
    user = require(request, *CASEWORK_ROLES)
    keys = recipients_of(user)
    last = request.headers.get("last-event-id", "")
    after = int(last) if last.isdigit() else None
    if after is None:
        after = await asyncio.to_thread(notifications.latest_id, keys)
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8", headers={"Cache-Control": "no-store"}
    )
    if response is None:
        raise StaffError(500, "server_error", "stream not available")
    await response.send("retry: 3000\n\n")
    idle = 0.0
    while True:
        fresh = await asyncio.to_thread(notifications.for_recipients, keys, after_id=after)
        for note in fresh:
            payload = jsonlib.dumps({"subject": note.subject, "referral_id": note.referral_id}, ensure_ascii=False)
            await response.send(f"id: {note.id}\nevent: referral\ndata: {payload}\n\n")
            after, idle = note.id, 0.0
        if idle >= SSE_KEEPALIVE_SECONDS:
            await response.send(": keep-alive\n\n")
            idle = 0.0
        await asyncio.sleep(SSE_POLL_SECONDS)
        idle += SSE_POLL_SECONDS
