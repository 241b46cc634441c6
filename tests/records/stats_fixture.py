"""A small county month whose statistics are worked out by hand (see ``EXPECTED``).

Shared by the records tests (queries on SQLite and PostgreSQL) and the staff tests (pages,
exports, the CLI). All records go through the real writers (``records.write``, ``transition``,
``casework.resolve``, ``routing.mark``); only the times of status changes are set afterwards,
since the writers stamp them with the current time.

Times are UTC; Asia/Shanghai is UTC+8, so 2026-02-28 16:00 UTC is the first second of March there.
Some questions carry a phone number, an ID number and a sender id that must never show up in
any statistic or export (``SECRETS``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update

import records
from records import casework, routing
from records.db import transaction
from records.schema import referral_events
from records.stats import Period

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
PHONE = "13812345678"
ID_NUMBER = "110101199003071234"
SENDER = "wx-openid-oQ7x9secret"
CONTACT = "13987654321"
SECRETS = (PHONE, ID_NUMBER, SENDER, CONTACT, "138 1234 5678", "1398765")


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


# name: (UTC time, channel, topic, outcome, village label, question)
CONSULTATIONS: dict[str, tuple[datetime, str, str | None, str, str | None, str]] = {
    "c1": (
        at(28, 15, 59, 59, month=2),
        "web",
        "labor",
        "answered",
        "城关镇石桥村",
        "工资被拖欠",
    ),  # Feb 28 23:59:59 local
    "c2": (at(28, 16, month=2), "web", "labor", "answered", "城关镇石桥村", "老板不发工资怎么办"),  # Mar 1 00:00 local
    "c3": (at(1, 10), "wechat", "labor", "faq", "城关镇东街社区", f"加班费怎么算，我的身份证{ID_NUMBER}"),
    "c4": (at(2, 3), "hotline", "debt", "referred", "河口镇河口村", "借钱不还怎么起诉"),
    "c5": (at(9, 2), "web", None, "fallback", None, f"我家的鸡被偷了 电话{PHONE} 怎么办？"),
    "c6": (at(10, 2), "web", None, "fallback", "城关镇石桥村", f"我家的鸡被偷了，电话{PHONE}，怎么办"),
    "c7": (at(15, 5), "hotline", "marriage_family", "handoff", "河口镇河口村", "离婚孩子归谁"),
    "c8": (at(31, 15, 59, 59), "web", "labor", "emergency", "城关镇石桥村", "老板打人了"),  # Mar 31 23:59:59 local
    "c9": (at(31, 16), "web", "labor", "answered", "城关镇石桥村", "四月的问题"),  # Apr 1 00:00 local
}
FEEDBACK = {"c1": False, "c2": True, "c3": False, "c6": False, "c7": True, "c8": False}

# name: (created, village, consultation, hours to accept, hours to resolve, outcome, overdue flag)
REFERRALS: dict[str, tuple[datetime, str, str | None, float | None, float | None, str | None, str | None]] = {
    "r1": (at(1), "城关镇石桥村", None, 2, 10, "mediated", None),
    "r2": (at(2), "城关镇东街社区", "c3", 4, 30, "legal_aid", None),
    "r3": (at(3), "河口镇河口村", "c4", 6, None, None, "resolve_flagged_at"),
    "r4": (at(4), "河口镇河口村", None, None, None, None, "escalated_at"),
    "r5": (at(28, 15, month=2), "城关镇石桥村", None, 1, 3, "legal_aid", None),  # Feb 28 23:00 local
}


def seed(engine: Engine) -> dict[str, str]:
    """Write the fixture; returns fixture name → record id."""
    ids: dict[str, str] = {}
    for name, (when, channel, topic, outcome, village, question) in CONSULTATIONS.items():
        ids[name] = records.write(
            records.NewConsultation(
                sender_id=f"{SENDER}-{name}",
                channel=channel,
                question=question,
                outcome=outcome,
                topic=topic,
                village=village,
                created_at=when,
            ),
            engine=engine,
        ).id
    for name, helpful in FEEDBACK.items():
        when = CONSULTATIONS[name][0] + timedelta(minutes=1)
        records.write(records.NewFeedback(ids[name], helpful, created_at=when), engine=engine)
    for name, (created, village, consultation, accept, resolve, outcome, flag) in REFERRALS.items():
        rid = records.write(
            records.NewReferral(
                village=village,
                contact_phone=CONTACT,
                description=f"请回电{CONTACT}，身份证{ID_NUMBER}",
                consent=True,
                topic="劳动纠纷",
                created_at=created,
                consultation_id=ids[consultation] if consultation else None,
            ),
            engine=engine,
        ).id
        ids[name] = rid
        if accept is not None:
            records.transition(rid, "accepted", by="adviser", engine=engine)
            _stamp(engine, rid, "accepted", created + timedelta(hours=accept))
        if resolve is not None:
            assert outcome is not None
            casework.resolve(rid, outcome, "已处理", "adviser", engine=engine)
            _stamp(engine, rid, "resolved", created + timedelta(hours=resolve))
        if flag is not None:
            with transaction(engine) as conn:
                routing.mark(rid, flag, created + timedelta(days=2), conn=conn)
    return ids


def _stamp(engine: Engine, referral_id: str, status: str, when: datetime) -> None:
    with transaction(engine) as conn:
        conn.execute(
            update(referral_events)
            .where(referral_events.c.referral_id == referral_id, referral_events.c.to_status == status)
            .values(at=when)
        )


# Worked out by hand from the tables above, for March 2026 in Asia/Shanghai, the whole county.
EXPECTED: dict[str, Any] = {
    "consultations_total": 7,  # c2..c8
    "bot_answered": 2,  # c2 answered, c3 faq
    "hotline_calls": 2,  # c4, c7
    "by_topic": {"劳动纠纷": 3, "未注明": 2, "借贷/债务": 1, "婚姻家庭": 1},
    "by_channel": {"web": 4, "hotline": 2, "wechat": 1},
    "by_outcome": {"fallback": 2, "answered": 1, "emergency": 1, "faq": 1, "handoff": 1, "referred": 1},
    "by_township": {"城关镇": 4, "河口镇": 2, "未注明": 1},
    "by_village": {"城关镇石桥村": 3, "河口镇河口村": 2, "城关镇东街社区": 1, "未注明": 1},
    "day": {"2026-03-01": 2, "2026-03-02": 1, "2026-03-09": 1, "2026-03-10": 1, "2026-03-15": 1, "2026-03-31": 1},
    "week": {"2026-02-23": 2, "2026-03-02": 1, "2026-03-09": 3, "2026-03-30": 1},
    "month": {"2026-03-01": 7},
    "referrals_total": 4,  # r1..r4 (r5 is February local time)
    "referrals_by_status": {"resolved": 2, "accepted": 1, "new": 1},
    "referrals_by_outcome": {"未办结": 2, "legal_aid": 1, "mediated": 1},
    "referrals_by_village": {"河口镇河口村": 2, "城关镇东街社区": 1, "城关镇石桥村": 1},
    "referrals_by_adviser": [
        {"adviser": "周明华", "total": 2, "open": 0, "done": 2, "overdue": 0},
        {"adviser": "郑国强", "total": 2, "open": 2, "done": 0, "overdue": 2},
    ],
    # accept 2, 4, 6 h: median 4, p90 4 + 0.8 * 2 = 5.6; resolve 10, 30 h: median 20, p90 10 + 0.9 * 20 = 28
    "referral_times": {
        "accept": {"n": 3, "median_hours": 4.0, "p90_hours": 5.6},
        "resolve": {"n": 2, "median_hours": 20.0, "p90_hours": 28.0},
    },
    "mediated": 1,
    "referrals_resolved": 2,
    "legal_aid_requests": 1,  # r2
    "feedback": {"helpful": 2, "unhelpful": 3},  # c2, c7 / c3, c6, c8
    "satisfaction_by_topic": [
        {"topic": "劳动纠纷", "helpful": 1, "unhelpful": 2},
        {"topic": "婚姻家庭", "helpful": 1, "unhelpful": 0},
        {"topic": "未注明", "helpful": 0, "unhelpful": 1},
    ],
    "callbacks": ["c3", "c6", "c8"],
    "previous": {"consultations_total": 1, "referrals_total": 1, "legal_aid_requests": 1},  # c1, r5
}
