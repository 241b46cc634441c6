"""The new-record values and the one writer: validation happens when a value is made, no database needed."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

import pytest
from sqlalchemy import Engine

import records
from records import (
    ConsentRequired,
    InvalidPhone,
    InvalidValue,
    NewConsultation,
    NewFeedback,
    NewHandoff,
    NewReferral,
    RecordError,
)

CONSULTATION = {"sender_id": "wx-1", "channel": "wechat", "question": "电话13812345678", "outcome": "answered"}
REFERRAL = {"village": "石桥村", "contact_phone": "138 1234 5678", "description": "欠薪", "consent": True}


def test_values_are_normalised_and_frozen() -> None:
    consultation = NewConsultation(**CONSULTATION, topic="labor", articles=["劳动合同法-30"], confidence=0.5)
    assert consultation.sender_hash == records.hash_sender("wx-1")
    assert "sender_id" not in {f.name for f in dataclasses.fields(consultation)}  # only the hash is kept
    assert "wx-1" not in repr(consultation)
    assert (consultation.question, consultation.topic) == ("电话138****5678", "劳动纠纷")
    assert consultation.articles == ("劳动合同法-30",)
    referral = NewReferral(**{**REFERRAL, "description": "我的电话13812345678"}, topic="debt")
    assert (referral.contact_phone, referral.summary) == ("13812345678", "我的电话138****5678")
    assert (referral.topic, referral.urgent, referral.by) == ("借贷/债务", False, "resident")
    assert NewHandoff("s", "web", "回电13812345678").reason == "回电138****5678"
    assert NewFeedback("c", "没帮助").helpful is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        consultation.question = "x"  # type: ignore[misc]


def test_the_id_is_chosen_when_the_value_is_made() -> None:
    first, second = NewConsultation(**CONSULTATION), NewConsultation(**CONSULTATION)
    assert str(uuid.UUID(first.id)) == first.id and first.id != second.id
    assert first.created_at.utcoffset() is not None
    assert NewHandoff("s", "web").id != NewHandoff("s", "web").id
    given = str(uuid.uuid4()).upper()
    assert NewReferral(**REFERRAL, id=given).id == given.lower()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: NewConsultation(**{**CONSULTATION, "channel": "fax"}), InvalidValue),
        (lambda: NewConsultation(**{**CONSULTATION, "sender_id": None}), InvalidValue),
        (lambda: NewConsultation(**CONSULTATION, sender_hash="0" * 64), InvalidValue),  # both
        (lambda: NewConsultation(**{**CONSULTATION, "sender_id": None}, sender_hash="not-a-hash"), InvalidValue),
        (lambda: NewConsultation(**CONSULTATION, id="42"), InvalidValue),
        (lambda: NewConsultation(**CONSULTATION, created_at=datetime(2024, 1, 1)), InvalidValue),
        (lambda: NewReferral(**{**REFERRAL, "consent": False}), ConsentRequired),
        (lambda: NewReferral(**{**REFERRAL, "contact_phone": "123"}), InvalidPhone),
        (lambda: NewReferral(**{**REFERRAL, "village": 2.5}), InvalidValue),
        (lambda: NewReferral(**REFERRAL, adviser_id="3"), InvalidValue),
        (lambda: NewFeedback("", True), InvalidValue),
        (lambda: NewFeedback("c", "maybe"), InvalidValue),
        (lambda: NewHandoff("s", "sms"), InvalidValue),
        (lambda: NewHandoff("s", "web", 42), InvalidValue),
    ],
)
def test_invalid_values_raise_record_errors(make, error: type[RecordError]) -> None:  # noqa: ANN001
    with pytest.raises(error):
        make()


def test_urgent_referral_needs_no_consent() -> None:
    assert NewReferral(**{**REFERRAL, "consent": False}, urgent=True).urgent is True


def test_write_returns_receipts(engine: Engine) -> None:
    consultation = NewConsultation(**CONSULTATION)
    assert records.write(consultation, engine=engine) == records.Receipt(consultation.id, pending=False)
    referral = NewReferral(**REFERRAL, consultation_id=consultation.id, urgent=True)
    assert records.write(referral, engine=engine) == records.ReferralReceipt(
        referral.id, pending=False, village="城关镇石桥村", adviser_name="周明华", urgent=True
    )
    click = records.write(NewFeedback(consultation.id, True), engine=engine)
    assert click == records.Receipt(consultation.id, pending=False)
    first = records.write(NewHandoff("wx-1", "wechat"), engine=engine)
    assert records.write(NewHandoff("wx-1", "wechat"), engine=engine).id == first.id  # one waiting per sender
