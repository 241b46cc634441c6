"""The hotline operators' JSON API: the 转人工 queue and live takeover, agent assist, calls, Q&A entries.

Routes are fixed by the operator console issue; errors as in :mod:`staff.api` (401, 403 for a
missing role or CSRF token, 404, 409 for a handoff taken or closed already, 422, 503 when Rasa
does not answer):

| route | who | |
|---|---|---|
| ``GET /api/handoffs`` | operator | the queue: waiting (emergencies first, then oldest) and taken |
| ``GET /api/handoffs/{id}`` | operator | one handoff with its transcript |
| ``POST /api/handoffs/{id}/take`` | operator | assign it to the caller and pause the bot (409 if taken) |
| ``POST /api/handoffs/{id}/messages`` ``{"text"}`` | the operator who took it | to the resident |
| ``POST /api/handoffs/{id}/release`` | the operator who took it | back to the bot |
| ``POST /api/handoffs/{id}/close`` ``{"outcome","summary"}`` | the operator who took it | end it |
| ``GET /api/operator/events`` | operator | server-sent events: ``queue`` (the queue changed), |
| | | ``emergency`` (a new emergency), ``transcript`` (a taken conversation changed) |
| ``GET /api/assist?q=&law=&doc_type=&jurisdiction=`` | operator | the bot's answer and 10 more hits |
| ``POST /api/calls`` | operator | log a call (a consultation with channel ``hotline``) |
| ``POST /api/calls/{id}/referral`` | operator | refer the caller to the village adviser |
| ``GET /api/knowledge?status=`` | operator, admin | Q&A entries with who wrote and reviewed them |
| ``POST /api/knowledge`` ``{"question","answer","articles"}`` | operator | propose an entry |
| ``POST /api/knowledge/{id}/approve`` · ``/reject`` | admin | review it |
"""

from __future__ import annotations

import asyncio
import hashlib
import json as jsonlib
import uuid
from dataclasses import asdict
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

import records
from records import audit, hotline, knowledge_entries
from records.consultations import get_consultation
from records.errors import ConsentRequired, InvalidTransition, InvalidValue, NotFound
from records.schema import OUTCOMES
from staff import assist, takeover
from staff.access import require
from staff.api import _body
from staff.errors import StaffError, conflict, invalid, not_found

bp = Blueprint("operator_api", url_prefix="/api")
OPERATOR = ("operator",)
SSE_POLL_SECONDS = 1.0
SSE_KEEPALIVE_SECONDS = 15.0


def _iso(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}


# --- the queue and live takeover ---------------------------------------------------------------


@bp.get("/handoffs")
async def handoffs(request: Request) -> HTTPResponse:
    require(request, *OPERATOR)
    return json({"handoffs": await takeover.queue(request.app.ctx.settings)})


@bp.get("/handoffs/<handoff_id>")
async def handoff(request: Request, handoff_id: str) -> HTTPResponse:
    require(request, *OPERATOR)
    return json(await takeover.detail(request.app.ctx.settings, handoff_id))


@bp.post("/handoffs/<handoff_id>/take")
async def take(request: Request, handoff_id: str) -> HTTPResponse:
    user = require(request, *OPERATOR)
    return json(await takeover.take(user, handoff_id, request.app.ctx.settings))


@bp.post("/handoffs/<handoff_id>/messages")
async def message(request: Request, handoff_id: str) -> HTTPResponse:
    user = require(request, *OPERATOR)
    sent = await takeover.send(user, handoff_id, _body(request).get("text"), request.app.ctx.settings)
    return json(sent, status=201)


@bp.post("/handoffs/<handoff_id>/release")
async def release(request: Request, handoff_id: str) -> HTTPResponse:
    user = require(request, *OPERATOR)
    return json(await takeover.release(user, handoff_id, request.app.ctx.settings))


@bp.post("/handoffs/<handoff_id>/close")
async def close(request: Request, handoff_id: str) -> HTTPResponse:
    user = require(request, *OPERATOR)
    data = _body(request)
    settings = request.app.ctx.settings
    return json(await takeover.close(user, handoff_id, data.get("outcome"), data.get("summary"), settings))


def _digest(value: Any) -> str:
    return hashlib.sha256(jsonlib.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@bp.get("/operator/events")
async def events(request: Request) -> HTTPResponse:
    """Server-sent events for the console; polls the queue, so any number of app processes work."""
    require(request, *OPERATOR)
    settings = request.app.ctx.settings
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8", headers={"Cache-Control": "no-store"}
    )
    if response is None:
        raise StaffError(500, "server_error", "stream not available")
    await response.send("retry: 3000\n\n")
    seen_emergencies: set[str] | None = None  # those open when the console connected are in the queue
    last_queue, last_transcripts, idle = "", {}, 0.0
    while True:
        queue = await takeover.queue(settings)
        sent = False
        urgent = {h["id"]: h for h in queue if h["urgent"] and h["status"] == "waiting"}
        if seen_emergencies is not None:
            for handoff_id in urgent.keys() - seen_emergencies:
                payload = jsonlib.dumps(urgent[handoff_id], ensure_ascii=False)
                await response.send(f"event: emergency\ndata: {payload}\n\n")
                sent = True
        seen_emergencies = (seen_emergencies or set()) | urgent.keys()
        digest = _digest([{k: v for k, v in h.items() if k != "waited_s"} for h in queue])
        if digest != last_queue:
            await response.send(f"event: queue\ndata: {jsonlib.dumps(queue, ensure_ascii=False)}\n\n")
            last_queue, sent = digest, True
        for h in queue:
            if h["status"] == "taken" and h["transcript"] is not None:
                marker = _digest(h["transcript"])
                if last_transcripts.get(h["id"]) != marker:
                    payload = {"id": h["id"], "transcript": h["transcript"]}
                    await response.send(f"event: transcript\ndata: {jsonlib.dumps(payload, ensure_ascii=False)}\n\n")
                    last_transcripts[h["id"]], sent = marker, True
        idle = 0.0 if sent else idle + SSE_POLL_SECONDS
        if idle >= SSE_KEEPALIVE_SECONDS:
            await response.send(": keep-alive\n\n")
            idle = 0.0
        await asyncio.sleep(SSE_POLL_SECONDS)


# --- agent assist ------------------------------------------------------------------------------


@bp.get("/assist")
async def assist_route(request: Request) -> HTTPResponse:
    require(request, *OPERATOR)
    filters = {k: (request.args.get(k) or "").strip() or None for k in ("law", "doc_type", "jurisdiction")}
    return json(await assist.assist(request.args.get("q"), filters, request.app.ctx.settings))


# --- calls -------------------------------------------------------------------------------------


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false")
    return value


@bp.post("/calls")
async def log_call(request: Request) -> HTTPResponse:
    """``{"question", "topic"?, "village"?, "outcome"?, "caller_phone"?, "legal_aid"?, "articles"?}``."""
    user = require(request, *OPERATOR)
    data = _body(request)
    outcome = data.get("outcome") or "answered"
    if outcome not in OUTCOMES:
        raise invalid(f"outcome must be one of {', '.join(OUTCOMES)}")
    try:
        new = records.NewConsultation(
            sender_id=f"hotline-call-{uuid.uuid4()}",
            channel="hotline",
            question=data.get("question"),
            outcome=outcome,
            topic=data.get("topic") or None,
            village=data.get("village") or None,
            articles=data.get("articles") or (),
        )
        phone = data.get("caller_phone") or None
        if phone is not None and not isinstance(phone, str):
            raise InvalidValue("caller_phone must be a string")
        if phone:
            records.normalize_phone(phone)  # refuse a bad number before anything is stored
        legal_aid = _flag(data, "legal_aid")
        if not new.question:
            raise InvalidValue("question must not be empty")
        unknown = await assist.check_articles(list(new.articles))
        if unknown:
            raise InvalidValue(f"not articles of the corpus: {', '.join(unknown)}")
        receipt = await asyncio.to_thread(records.write, new)
        call = await asyncio.to_thread(hotline.add_call, receipt.id, user.username, phone, legal_aid)
    except (InvalidValue, NotFound) as exc:  # a bad phone or topic, an unknown village
        raise invalid(str(exc)) from None
    await asyncio.to_thread(audit.log, user.username, "call:log", detail=receipt.id)
    return json(_call_json(call, new), status=201)


def _call_json(call: hotline.Call, new: records.NewConsultation | None = None) -> dict[str, Any]:
    data = _iso(asdict(call))
    data["id"] = call.consultation_id
    data["caller_phone"] = hotline.masked(call.caller_phone)
    if new is not None:
        data.update(question=new.question, topic=new.topic, outcome=new.outcome)
    return data


@bp.post("/calls/<call_id>/referral")
async def refer_call(request: Request, call_id: str) -> HTTPResponse:
    """``{"village", "consent": true, "description"?, "contact_phone"?, "urgent"?}``: same routing as the bot's."""
    user = require(request, *OPERATOR)
    data = _body(request)
    call = await asyncio.to_thread(hotline.get_call, call_id)
    if call is None:
        raise not_found("call")
    if call.referral_id:
        raise conflict("a referral was made from this call already")
    try:
        consultation = await asyncio.to_thread(get_consultation, call_id)
        new = records.NewReferral(
            village=data.get("village") or consultation.village_id or "",  # "" → 422 unknown village
            contact_phone=data.get("contact_phone") or call.caller_phone or "",
            description=data.get("description") or consultation.question,
            consent=_flag(data, "consent"),
            urgent=_flag(data, "urgent"),
            topic=consultation.topic,
            consultation_id=call_id,
            by=user.username,
        )
        receipt = await asyncio.to_thread(records.write, new)
    except (InvalidValue, NotFound, ConsentRequired) as exc:  # no consent, a bad phone, an unknown village
        raise invalid(str(exc)) from None
    await asyncio.to_thread(hotline.link_referral, call_id, receipt.id)
    await asyncio.to_thread(audit.log, user.username, "call:refer", referral_id=receipt.id)
    return json({"id": receipt.id, "village": receipt.village, "adviser": receipt.adviser_name}, status=201)


# --- operators' Q&A entries --------------------------------------------------------------------


def _entry_json(entry: knowledge_entries.Entry) -> dict[str, Any]:
    return _iso(asdict(entry))


@bp.get("/knowledge")
async def list_entries(request: Request) -> HTTPResponse:
    require(request, "operator", "admin")
    status = request.args.get("status") or None
    found = await asyncio.to_thread(knowledge_entries.entries, status)
    return json({"entries": [_entry_json(e) for e in found]})


@bp.post("/knowledge")
async def propose(request: Request) -> HTTPResponse:
    user = require(request, *OPERATOR)
    data = _body(request)
    articles = data.get("articles")
    if not isinstance(articles, list) or not all(isinstance(a, str) and a for a in articles):
        raise invalid("articles must be a list of article ids, e.g. [\"民法典-1165\"]")
    unknown = await assist.check_articles(articles)
    if unknown:
        raise invalid(f"not articles of the corpus: {', '.join(unknown)}")
    try:
        entry = await asyncio.to_thread(
            knowledge_entries.propose,
            data.get("question"),
            data.get("answer"),
            articles,
            user.username,
            data.get("consultation_id") or None,
        )
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    await asyncio.to_thread(audit.log, user.username, "knowledge:propose", detail=entry.id)
    return json(_entry_json(entry), status=201)


async def _review(request: Request, entry_id: str, approve: bool) -> HTTPResponse:
    user = require(request, "admin")
    try:
        entry = await asyncio.to_thread(knowledge_entries.review, entry_id, approve, user.username)
    except NotFound:
        raise not_found("knowledge entry") from None
    except InvalidTransition as exc:
        raise conflict(str(exc)) from None
    action = "knowledge:approve" if approve else "knowledge:reject"
    await asyncio.to_thread(audit.log, user.username, action, detail=entry.id)
    return json(_entry_json(entry))


@bp.post("/knowledge/<entry_id>/approve")
async def approve(request: Request, entry_id: str) -> HTTPResponse:
    return await _review(request, entry_id, True)


@bp.post("/knowledge/<entry_id>/reject")
async def reject(request: Request, entry_id: str) -> HTTPResponse:
    return await _review(request, entry_id, False)
