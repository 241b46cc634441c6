"""The webhooks' input checks (channels.checks): what they accept can be stored, the rest is a 4xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from channels.checks import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_METADATA_BYTES,
    MAX_SENDER_CHARS,
    BadRequest,
    parse_request,
)
from tests.channels.webhook_bodies import encode, request_bodies


def refused(body: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_request(body)
    return caught.value


@settings(max_examples=300, deadline=None)
@given(request_bodies)
def test_accepted_input_is_storable_and_the_rest_a_clear_4xx(body: bytes) -> None:
    try:
        incoming = parse_request(body)
    except BadRequest as e:
        assert e.status in (400, 413) and e.code and str(e)
        return
    stored = [incoming.sender, incoming.text, json.dumps(incoming.metadata, ensure_ascii=False)]
    for text in stored:
        text.encode("utf-8")  # a lone surrogate would raise here, as it did in the tracker store
        assert "\x00" not in text
    assert incoming.sender.isprintable() and incoming.text == incoming.text.strip() and incoming.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"sender": "\ud800", "message": "你好"}, "invalid_sender"),
        ({"sender": "a\x00b", "message": "你好"}, "invalid_sender"),
        ({"sender": "a\nb", "message": "你好"}, "invalid_sender"),
        ({"sender": "s" * (MAX_SENDER_CHARS + 1), "message": "你好"}, "invalid_sender"),
        ({"sender": "s", "message": "工资\ud800"}, "invalid_message"),
        ({"sender": "s", "message": "工资\x00"}, "invalid_message"),
        ({"sender": "s", "message": "欠" * (MAX_MESSAGE_CHARS + 1)}, "message_too_long"),
        ({"sender": "s", "message": "你好", "metadata": {"\udc00": 1}}, "invalid_metadata"),
        ({"sender": "s", "message": "你好", "metadata": {"a": ["\x00"]}}, "invalid_metadata"),
        ({"sender": "s", "message": "你好", "metadata": {"a": [[[[1]]]]}}, "invalid_metadata"),
        ({"sender": "s", "message": "你好", "metadata": {"a": "x" * MAX_METADATA_BYTES}}, "invalid_metadata"),
    ],
)
def test_text_no_store_can_keep_is_refused(body: dict, code: str) -> None:
    error = refused(encode(body))
    assert (error.code, error.status) == (code, 400)


UNREADABLE_JSON = [b'{"sender": "s", "message": NaN}', b"[" * 50_000, b'{"sender": 1' + b"0" * 5000 + b"}"]


@pytest.mark.parametrize("raw", UNREADABLE_JSON)
def test_json_python_would_misread_is_refused(raw: bytes) -> None:
    assert refused(raw).code == "invalid_json"


def test_body_over_the_limit_is_413() -> None:
    error = refused(encode({"sender": "s", "message": "hi", "pad": "x" * MAX_BODY_BYTES}))
    assert (error.code, error.status) == ("body_too_large", 413)


def test_a_resident_message_is_accepted_as_sent() -> None:
    body = {"sender": "web-3fa2", "message": " 老板拖欠工资怎么办\n", "metadata": {"village": "石桥村", "n": [1, 2.5]}}
    incoming = parse_request(encode(body))
    assert (incoming.sender, incoming.text, incoming.metadata) == ("web-3fa2", "老板拖欠工资怎么办", body["metadata"])
