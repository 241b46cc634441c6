"""Import villages, townships (司法所) and advisers from CSV or XLSX.

Columns (English or Chinese header, any order; the first three groups required):

=====================  =============  ========================================
``township``           乡镇            the township (城关镇)
``village``            村社区          the village or community (石桥村)
``adviser_name``       法律顾问         the village legal adviser
``adviser_phone``      顾问电话         their mobile number (matches existing advisers)
``adviser_email``      顾问邮箱         optional, for e-mail notifications
``township_office``    司法所          optional, e.g. 城关镇司法所
``township_email``     司法所邮箱       optional
=====================  =============  ========================================

Every row is checked first; any problem is reported as (row, column, message), with rows
numbered as in a spreadsheet (header = row 1), and nothing is written. See
``staff/examples/county.csv``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from records import county_import
from records.county_import import CountyRow
from records.errors import InvalidPhone
from records.phone import normalize_phone

COLUMNS = {
    "township": ("township", "乡镇"),
    "village": ("village", "村社区", "村（社区）", "村"),
    "adviser_name": ("adviser_name", "法律顾问"),
    "adviser_phone": ("adviser_phone", "顾问电话"),
    "adviser_email": ("adviser_email", "顾问邮箱"),
    "township_office": ("township_office", "司法所"),
    "township_email": ("township_email", "司法所邮箱"),
}
REQUIRED = ("township", "village", "adviser_name", "adviser_phone")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Issue:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Report:
    rows: int = 0
    new_villages: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def read_table(name: str, data: bytes) -> list[list[str]]:
    """The cells of the first sheet (XLSX) or of the CSV, as text."""
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        return [["" if c is None else str(c).strip() for c in row] for row in sheet.iter_rows(values_only=True)]
    text = data.decode("utf-8-sig")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def check(table: list[list[str]]) -> tuple[list[CountyRow], list[Issue]]:
    if not table:
        return [], [Issue(1, "-", "the file is empty")]
    header = [h.strip().lower() for h in table[0]]
    where: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for name in names:
            if name.lower() in header:
                where[key] = header.index(name.lower())
                break
    missing = [k for k in REQUIRED if k not in where]
    if missing:
        return [], [Issue(1, k, "column missing") for k in missing]
    rows, issues, seen = [], [], {}
    body = table[1:]
    if len(body) > MAX_ROWS:
        return [], [Issue(MAX_ROWS + 2, "-", f"more than {MAX_ROWS} rows")]
    for number, cells in enumerate(body, start=2):
        if not any(cells):
            continue
        value = {k: (cells[i] if i < len(cells) else "").strip() for k, i in where.items()}
        for key in REQUIRED:
            if not value[key]:
                issues.append(Issue(number, key, "empty"))
        for key in ("township", "village", "adviser_name", "township_office"):
            if len(value.get(key, "")) > 50:
                issues.append(Issue(number, key, "longer than 50 characters"))
        phone = ""
        if value["adviser_phone"]:
            try:
                phone = normalize_phone(value["adviser_phone"])
            except InvalidPhone:
                issues.append(Issue(number, "adviser_phone", f"not a phone number: {value['adviser_phone']!r}"))
        for key in ("adviser_email", "township_email"):
            if value.get(key) and not EMAIL.match(value[key]):
                issues.append(Issue(number, key, f"not an e-mail address: {value[key]!r}"))
        if phone:
            previous = seen.setdefault(phone, (value["adviser_name"], number))
            if previous[0] != value["adviser_name"]:
                issues.append(Issue(number, "adviser_name", f"phone also given for {previous[0]} in row {previous[1]}"))
        rows.append(
            CountyRow(
                township=value["township"],
                village=value["village"],
                adviser_name=value["adviser_name"],
                adviser_phone=phone,
                adviser_email=value.get("adviser_email") or None,
                office=value.get("township_office") or None,
                office_email=value.get("township_email") or None,
            )
        )
    if not rows and not issues:
        issues.append(Issue(2, "-", "no data rows"))
    return rows, issues


def import_bytes(name: str, data: bytes, *, dry_run: bool = False) -> Report:
    """Check the file and, if every row is valid, write it all in one transaction."""
    try:
        table = read_table(name, data)
    except (UnicodeDecodeError, csv.Error, ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        return Report(issues=[Issue(1, "-", f"not a readable CSV/XLSX file: {type(exc).__name__}")])
    rows, issues = check(table)
    report = Report(rows=len(rows), issues=issues)
    if report.ok and not dry_run:
        report.new_villages = county_import.apply(rows)
    return report


def import_file(path: Path, *, dry_run: bool = False) -> Report:
    return import_bytes(path.name, path.read_bytes(), dry_run=dry_run)
