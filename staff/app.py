"""The Sanic application: sessions, CSRF, security headers, errors, templates and blueprints.

CSRF: every state-changing request (POST, PUT, PATCH, DELETE) that comes with a session cookie
must carry the session's token, in the ``X-CSRF-Token`` header (API) or a ``csrf_token`` form
field (pages); otherwise 403. Logging in needs no token (there is no session yet; the cookie is
``SameSite=Strict``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, html, json, redirect

from records import bootstrap
from records.schema import RESOLUTION_OUTCOMES
from staff import auth
from staff.config import Settings
from staff.errors import StaffError, forbidden
from staff.sessions import make_store

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGINS = frozenset({("POST", "/api/session"), ("POST", "/login")})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
OUTCOME_LABELS = {
    "answered": "已解答",
    "mediated": "已调解",
    "legal_aid": "转法律援助",
    "litigation": "引导诉讼",
    "other": "其他",
}
STATUS_LABELS = {
    "new": "待受理",
    "accepted": "已受理",
    "in_progress": "办理中",
    "escalated": "已升级",
    "resolved": "已办结",
    "closed": "已关闭",
}


def create_app(settings: Settings | None = None, name: str = "staff") -> Sanic:
    settings = settings or Settings()
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 5 * 1024 * 1024  # an import file
    app.config.RESPONSE_TIMEOUT = 3600  # server-sent event streams stay open
    app.ctx.settings = settings
    app.ctx.sessions = make_store(timedelta(hours=settings.session_hours), settings.redis_url)
    app.ctx.templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    zone = ZoneInfo(settings.timezone)

    def local_time(value: datetime | str | None) -> str:
        """A stored UTC time as the county reads it, e.g. 2026-12-01 17:05."""
        if value is None:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    app.ctx.templates.filters["local"] = local_time
    app.ctx.templates.globals.update(
        status_labels=STATUS_LABELS, outcome_labels=OUTCOME_LABELS, outcomes=RESOLUTION_OUTCOMES
    )
    app.static("/static", HERE / "static", name="static")

    from staff import api, console, operator_api, pages, scheduler, stats  # blueprints register routes on import

    app.blueprint(api.bp)
    app.blueprint(operator_api.bp)
    app.blueprint(pages.bp)
    app.blueprint(stats.bp)
    app.blueprint(console.bp)

    @app.before_server_start
    async def _start(app: Sanic) -> None:
        await asyncio.to_thread(bootstrap.init_db)
        app.ctx.scheduler = scheduler.Scheduler(settings)
        app.add_task(app.ctx.scheduler.run_forever(), name="staff-scheduler")
        from staff import assist

        if settings.assist_preload:  # the operators' first question should not wait for the engine
            app.add_task(asyncio.to_thread(assist.engine), name="assist-preload")
        app.ctx.index_watch = threading.Event()  # set at stop
        assist.watch_index(app.ctx.index_watch)

    @app.before_server_stop
    async def _stop(app: Sanic) -> None:
        app.ctx.index_watch.set()
        await app.ctx.scheduler.stop()

    @app.on_request
    async def _session_and_csrf(request: Request) -> None:
        await auth.load_session(request)
        if request.method not in UNSAFE or (request.method, request.path) in LOGINS:
            return
        if request.ctx.user is None:
            return  # handlers answer 401 (API) or send to the login page
        sent = request.headers.get("x-csrf-token", "")
        if not sent and request.content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
            sent = (request.form or {}).get("csrf_token", "") if request.form else ""
        # As bytes: compare_digest refuses str with non-ASCII characters (a 500 found by fuzzing).
        if not sent or not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), request.ctx.csrf.encode()):
            raise forbidden("missing or wrong CSRF token")

    @app.on_response
    async def _headers(request: Request, response: HTTPResponse) -> None:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")

    @app.exception(StaffError)
    async def _staff_error(request: Request, exc: StaffError) -> HTTPResponse:
        if request.path.startswith("/api/"):
            return json({"error": exc.error, "detail": exc.detail}, status=exc.status, headers=exc.headers)
        if exc.status == 401:
            return redirect("/login")
        return render(request, "error.html", {"error": exc}, status=exc.status)

    @app.exception(SanicException)
    async def _sanic_error(request: Request, exc: SanicException) -> HTTPResponse:
        status = getattr(exc, "status_code", 500) or 500
        error = "not_found" if status == 404 else "bad_request" if status < 500 else "server_error"
        wrapped = StaffError(status, error, str(exc) if status < 500 else "internal error")
        return await _staff_error(request, wrapped)

    @app.exception(Exception)
    async def _unexpected(request: Request, exc: Exception) -> HTTPResponse:
        logger.exception("unexpected error on %s", request.path)
        return await _staff_error(request, StaffError(500, "server_error", "internal error"))

    return app


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTTPResponse:
    env: Environment = request.app.ctx.templates
    body = env.get_template(template).render(user=request.ctx.user, csrf=request.ctx.csrf, **context)
    return html(body, status=status)
