"""The statistics as named tables — one list shared by the dashboard, the report, CSV and XLSX.

Each :class:`StatTable` is what a page shows as a table and (when ``chart`` is set) draws beside
it as a chart: ``staff/static/stats.js`` reads the numbers from the table itself, so a chart can
never disagree with its table, and an export holds exactly the rows on the screen.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from staff.app import OUTCOME_LABELS as RESOLUTION_LABELS
from staff.app import STATUS_LABELS as REFERRAL_STATUS_LABELS

CHANNEL_LABELS = {"web": "网页", "wechat": "微信", "hotline": "12348热线", "rest": "接口"}
OUTCOME_LABELS = {
    "answered": "已解答",
    "faq": "常见问题解答",
    "referred": "转介法律顾问",
    "handoff": "转人工",
    "emergency": "紧急求助",
    "fallback": "未能解答",
    "legal_aid": "法律援助",
}


@dataclass(frozen=True)
class StatTable:
    key: str  # file and anchor name, e.g. by_topic
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    chart: str | None = None  # bar, line or pie: column 0 labels, the ``series`` columns values
    series: tuple[int, ...] = (1,)

    @property
    def empty(self) -> bool:
        return not self.rows


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _num(value: float | None) -> str | float:
    return "—" if value is None else value


def tables(s: dict[str, Any], zone: str) -> list[StatTable]:
    """The tables of a :func:`records.stats.summary` result, in dashboard order."""
    tz = ZoneInfo(zone)

    def when(value: str | datetime | None) -> str:
        if not value:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    prev = s["previous"]
    overview = [
        ("解答法律咨询（人次）", s["consultations_total"], prev["consultations_total"]),
        ("其中智能助手直接解答", s["bot_answered"], prev["bot_answered"]),
        ("智能助手解答率", _pct(s["bot_answered_rate"]), _pct(prev["bot_answered_rate"])),
        ("12348热线来电（人次）", s["hotline_calls"], prev["hotline_calls"]),
        ("转介村（居）法律顾问（件）", s["referrals_total"], prev["referrals_total"]),
        ("其中已办结（件）", s["referrals_resolved"], prev["referrals_resolved"]),
        ("引导调解纠纷（件）", s["mediated"], prev["mediated"]),
        ("法律援助申请（件）", s["legal_aid_requests"], prev["legal_aid_requests"]),
        ("评价“有帮助”", s["feedback"]["helpful"], prev["feedback"]["helpful"]),
        ("评价“没帮助”", s["feedback"]["unhelpful"], prev["feedback"]["unhelpful"]),
        ("满意率", _pct(s["feedback"]["helpful_rate"]), _pct(prev["feedback"]["helpful_rate"])),
    ]
    grain_name = {"day": "日", "week": "周（周一）", "month": "月", "year": "年"}[s["grain"]]
    times = s["referral_times"]
    return [
        StatTable("overview", "总体情况", ("指标", "本期", "上期"), overview),
        StatTable("over_time", "咨询量趋势", (f"{grain_name}", "咨询（人次）"), list(s["over_time"].items()), "line"),
        StatTable("by_topic", "咨询按类别", ("类别", "咨询（人次）"), list(s["by_topic"].items()), "bar"),
        StatTable(
            "by_channel",
            "咨询按渠道",
            ("渠道", "咨询（人次）"),
            [(CHANNEL_LABELS.get(k, k), n) for k, n in s["by_channel"].items()],
            "pie",
        ),
        StatTable(
            "by_outcome",
            "咨询按处理结果",
            ("处理结果", "咨询（人次）"),
            [(OUTCOME_LABELS.get(k, k), n) for k, n in s["by_outcome"].items()],
            "pie",
        ),
        StatTable("by_township", "咨询按乡镇", ("乡镇", "咨询（人次）"), list(s["by_township"].items()), "bar"),
        StatTable(
            "by_village", "咨询按村（社区）", ("村（社区）", "咨询（人次）"), list(s["by_village"].items()), "bar"
        ),
        StatTable(
            "unsure",
            "智能助手未能解答的问题（已去除个人信息，相近问题合并）",
            ("问题", "次数", "类别"),
            [(q["question"], q["count"], q["topic"]) for q in s["unsure_questions"]],
        ),
        StatTable(
            "referrals_by_status",
            "转介按状态",
            ("状态", "转介（件）"),
            [(REFERRAL_STATUS_LABELS.get(k, k), n) for k, n in s["referrals_by_status"].items()],
            "bar",
        ),
        StatTable(
            "referrals_by_outcome",
            "转介办理结果",
            ("办理结果", "转介（件）"),
            [(RESOLUTION_LABELS.get(k, k), n) for k, n in s["referrals_by_outcome"].items()],
            "pie",
        ),
        StatTable(
            "referrals_by_adviser",
            "转介按法律顾问",
            ("法律顾问", "转介（件）", "办理中", "已办结", "逾期"),
            [(r["adviser"], r["total"], r["open"], r["done"], r["overdue"]) for r in s["referrals_by_adviser"]],
            "bar",
            (1, 3),
        ),
        StatTable(
            "referrals_by_village",
            "转介按村（社区）",
            ("村（社区）", "转介（件）"),
            list(s["referrals_by_village"].items()),
            "bar",
        ),
        StatTable(
            "referral_times",
            "办理时效（小时）",
            ("环节", "件数", "中位数", "90%分位"),
            [
                (
                    "受理",
                    times["accept"]["n"],
                    _num(times["accept"]["median_hours"]),
                    _num(times["accept"]["p90_hours"]),
                ),
                (
                    "办结",
                    times["resolve"]["n"],
                    _num(times["resolve"]["median_hours"]),
                    _num(times["resolve"]["p90_hours"]),
                ),
            ],
        ),
        StatTable(
            "overdue",
            "逾期转介",
            ("编号", "创建时间", "村（社区）", "法律顾问", "类别", "状态", "摘要"),
            [
                (
                    r["id"][:8],
                    when(r["created_at"]),
                    r["village"],
                    r["adviser"],
                    r["topic"],
                    REFERRAL_STATUS_LABELS.get(r["status"], r["status"]),
                    r["summary"],
                )
                for r in s["overdue"]
            ],
        ),
        StatTable(
            "satisfaction",
            "满意度按类别",
            ("类别", "有帮助", "没帮助", "满意率"),
            [(r["topic"], r["helpful"], r["unhelpful"], _pct(r["rate"])) for r in s["satisfaction_by_topic"]],
            "bar",
            (1, 2),
        ),
        StatTable(
            "callbacks",
            "差评回访清单",
            ("咨询编号", "咨询时间", "渠道", "类别", "村（社区）", "问题", "回访时间", "回访人"),
            [
                (
                    r["consultation_id"],
                    when(r["created_at"]),
                    CHANNEL_LABELS.get(r["channel"], r["channel"]),
                    r["topic"],
                    r["village"],
                    r["question"],
                    when(r["called_back_at"]),
                    r["called_back_by"] or "",
                )
                for r in s["callbacks"]
            ],
        ),
    ]


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (a resident's question may start with =) is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_bytes(table: StatTable) -> bytes:
    """UTF-8 with a BOM, which is what Excel on a Chinese Windows needs to read it right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    writer.writerows([safe_cell(v) for v in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_csv_dir(items: Iterable[StatTable], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in items:
        path = directory / f"{table.key}.csv"
        path.write_bytes(csv_bytes(table))
        paths.append(path)
    return paths


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def xlsx_bytes(items: Iterable[StatTable], caption: str) -> bytes:
    """One sheet per table (write-only mode: rows stream out, memory stays flat for long lists)."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in items:
        sheet = book.create_sheet(_SHEET_BAD.sub("", table.title)[:31])
        sheet.append([caption])
        header = []
        for name in table.headers:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
