"""The resident's web chat: the chat page and a REST-style webhook under ``/webhooks/webchat/``.

Register it in ``credentials.yml`` as ``channels.webchat.WebChatInput:`` and start Rasa from the
repo root with the repo root on ``PYTHONPATH``.

| route | does |
|---|---|
| ``GET /webhooks/webchat/`` | the chat page (``static/webchat.html``) |
| ``GET /webhooks/webchat/static/<name>`` | the page's script and style sheet |
| ``GET /webhooks/webchat/health`` | ``{"status": "ok"}`` |
| ``POST /webhooks/webchat/webhook`` | the REST channel's webhook (``channels.rest``): same body, |
| | same checks and answers (400/413/503), the channel recorded as ``webchat`` |
"""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.rest import CheckedRestInput, OnNewMessage, error_response

STATIC_DIR = Path(__file__).resolve().parent / "static"

ASSET_TYPES = {
    "webchat.js": "application/javascript; charset=utf-8",
    "webchat.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class WebChatInput(CheckedRestInput):
    """The checked REST channel plus the chat page."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def add_routes(self, bp: Blueprint, on_new_message: OnNewMessage) -> None:
        page = _read_static("webchat.html")
        assets = {name: _read_static(name) for name in ASSET_TYPES if (STATIC_DIR / name).exists()}

        @bp.route("", methods=["GET"], strict_slashes=True)
        async def page_without_slash(request: Request) -> HTTPResponse:
            # The page loads its assets and posts to relative URLs, so it must end with a slash.
            # A relative Location keeps working behind a reverse proxy that adds a path prefix.
            return response.redirect(request.path.rsplit("/", 1)[-1] + "/", status=301)

        @bp.route("/", methods=["GET"], strict_slashes=True)
        async def chat_page(request: Request) -> HTTPResponse:
            return _static_response(page, "text/html; charset=utf-8")

        @bp.route("/static/<name>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            if name not in assets:
                return error_response(404, "not_found", f"no asset named {name!r}")
            return _static_response(assets[name], ASSET_TYPES[name])

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self.add_webhook(bp, on_new_message)


def _read_static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _static_response(body: bytes, content_type: str) -> HTTPResponse:
    return response.raw(body, content_type=content_type, headers=SECURITY_HEADERS)
