"""Logging in and out: argon2 check, throttling per account and per address, the session cookie.

A login is refused with 429 once an account has ``STAFF_LOGIN_MAX_USER`` or an address
``STAFF_LOGIN_MAX_ADDR`` failures in the last 15 minutes, before the password is even checked,
so guessing gets nowhere; a successful login clears the account's count.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from records import audit, users
from records.users import StaffUser, UnknownUser
from staff import passwords
from staff.config import Settings
from staff.errors import StaffError

logger = logging.getLogger(__name__)
COOKIE = "staff_session"
WINDOW = timedelta(minutes=15)


def client_address(request: Request, settings: Settings) -> str:
    if settings.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.ip or "unknown"


async def login(request: Request, username: object, password: object) -> tuple[StaffUser, str, str]:
    """Check the credentials; returns (user, cookie value, CSRF token) or raises StaffError."""
    settings: Settings = request.app.ctx.settings
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise StaffError(422, "invalid", "username and password are required")
    address = client_address(request, settings)
    user_key, addr_key = f"user:{username.lower()[:64]}", f"addr:{address}"
    since = datetime.now(UTC) - WINDOW
    user_failures = await asyncio.to_thread(users.failures_since, user_key, since)
    addr_failures = await asyncio.to_thread(users.failures_since, addr_key, since)
    if user_failures >= settings.login_max_user or addr_failures >= settings.login_max_addr:
        logger.warning("login throttled for %s", user_key if user_failures >= settings.login_max_user else addr_key)
        raise StaffError(
            429, "throttled", "too many failed logins; try again later", {"Retry-After": str(int(WINDOW.seconds))}
        )
    try:
        user: StaffUser | None = await asyncio.to_thread(users.get_user, username)
    except UnknownUser:
        user = None
    ok = await asyncio.to_thread(passwords.verify, user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        await asyncio.to_thread(users.record_failure, [user_key, addr_key])
        raise StaffError(401, "invalid_credentials", "wrong username or password")
    await asyncio.to_thread(users.clear_failures, user_key)
    token, csrf = await request.app.ctx.sessions.create(user.id)
    await asyncio.to_thread(audit.log, user.username, "login", detail=address)
    return user, token, csrf


async def logout(request: Request) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        await request.app.ctx.sessions.delete(token)
    if request.ctx.user is not None:
        await asyncio.to_thread(audit.log, request.ctx.user.username, "logout")


def set_cookie(response: HTTPResponse, app: Sanic, token: str) -> None:
    settings: Settings = app.ctx.settings
    response.add_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="Strict",
        max_age=int(settings.session_hours * 3600),
    )


def clear_cookie(response: HTTPResponse, app: Sanic) -> None:
    response.add_cookie(
        COOKIE, "", path="/", httponly=True, secure=app.ctx.settings.secure_cookies, samesite="Strict", max_age=0
    )


async def load_session(request: Request) -> None:
    """Put the logged-in user (or None) and the session's CSRF token on ``request.ctx``."""
    request.ctx.user, request.ctx.csrf = None, None
    token = request.cookies.get(COOKIE)
    if not token:
        return
    found = await request.app.ctx.sessions.get(token)
    if found is None:
        return
    user_id, csrf = found
    try:
        user = await asyncio.to_thread(users.get_user, user_id)
    except UnknownUser:
        return
    if not user.disabled:
        request.ctx.user, request.ctx.csrf = user, csrf
