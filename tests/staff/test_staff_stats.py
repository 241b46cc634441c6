"""The statistics pages of the real staff app (SQLite and PostgreSQL): who may see them, the
figures, CSV/XLSX exports reopened with openpyxl, the report and its PDF (pdftotext), call-back
marks, the ``python -m staff stats`` command, and a privacy scan of every export."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from staff_harness import REPO_ROOT, Client, County, StaffServer, env_for, login

import records
from records import audit
from records.privacy import hash_sender

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "records"))
from stats_fixture import CONSULTATIONS, EXPECTED, SECRETS, SENDER, seed  # noqa: E402

MARCH = "from=2026-03-01&to=2026-03-31"
TABLE_KEYS = (
    "overview",
    "over_time",
    "by_topic",
    "by_channel",
    "by_outcome",
    "by_township",
    "by_village",
    "unsure",
    "referrals_by_status",
    "referrals_by_outcome",
    "referrals_by_adviser",
    "referrals_by_village",
    "referral_times",
    "overdue",
    "satisfaction",
    "callbacks",
)


@pytest.fixture(scope="module")
def ids(county: County) -> dict[str, str]:
    return seed(records.get_engine(county.db_url))


@pytest.fixture(scope="module")
def bureau(server: StaffServer, ids: dict[str, str]) -> Client:
    return login(server, "bureau")


def _assert_issue_keys(data: dict) -> None:
    """The keys the issue names for ``--json``, with the hand-counted values."""
    for key in (
        "consultations_total",
        "by_topic",
        "by_channel",
        "by_outcome",
        "by_village",
        "referrals_total",
        "referrals_by_status",
        "legal_aid_requests",
    ):
        assert data[key] == EXPECTED[key], key
    assert data["feedback"]["helpful"] == 2 and data["feedback"]["unhelpful"] == 3


def _pdftotext(pdf: bytes, tmp: Path) -> str:
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def test_only_admin_and_township_offices_see_statistics(server: StaffServer, ids: dict[str, str]) -> None:
    for name in ("zhou", "hotline"):  # an adviser, an operator
        c = login(server, name)
        for path in ("/stats", f"/api/stats?{MARCH}", f"/stats/export.xlsx?{MARCH}", "/stats/report"):
            assert c.get(path).status_code == 403, (name, path)
        assert "/stats" not in c.get("/").text + c.get("/referrals").text
    anonymous = Client(server.url)
    assert anonymous.get("/api/stats").status_code == 401
    assert anonymous.get("/stats").headers["location"] == "/login"


def test_dashboard_shows_the_hand_counted_figures(bureau: Client) -> None:
    page = bureau.get(f"/stats?{MARCH}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "no inline scripts"
    assert re.search(r'id="fig-consultations">7<', page.text)
    assert 'data-chart="bar"' in page.text and "/static/vendor/echarts.min.js" in page.text
    for key in TABLE_KEYS:
        assert f'id="{key}"' in page.text, key
    assert bureau.get("/static/vendor/echarts.min.js").status_code == 200
    data = bureau.get(f"/api/stats?{MARCH}").json()
    _assert_issue_keys(data)
    assert bureau.get(f"/api/stats?{MARCH}&township=河口镇").json()["consultations_total"] == 2
    assert bureau.get("/api/stats?from=2026-03-31&to=2026-03-01").status_code == 422
    assert bureau.get("/api/stats?from=yesterday&to=2026-03-01").status_code == 422
    assert bureau.get(f"/api/stats?{MARCH}&grain=hour").status_code == 422


def test_a_township_office_sees_only_its_villages(server: StaffServer, ids: dict[str, str]) -> None:
    office = login(server, "cg-office")
    data = office.get(f"/api/stats?{MARCH}&township=河口镇").json()  # asking for another township is ignored
    assert data["scope"] == "城关镇" and data["consultations_total"] == 4
    assert set(data["by_village"]) == {"城关镇石桥村", "城关镇东街社区"}
    page = office.get(f"/stats?{MARCH}")
    assert page.status_code == 200 and "河口镇河口村" not in page.text
    book = load_workbook(io.BytesIO(office.get(f"/stats/export.xlsx?{MARCH}").content), read_only=True)
    villages = [row[0] for row in book["咨询按村（社区）"].iter_rows(min_row=3, values_only=True)]
    assert villages == ["城关镇石桥村", "城关镇东街社区"]


def test_xlsx_and_csv_hold_the_same_numbers(bureau: Client, county: County) -> None:
    reply = bureau.get(f"/stats/export.xlsx?{MARCH}")
    assert reply.status_code == 200 and "attachment" in reply.headers["content-disposition"]
    book = load_workbook(io.BytesIO(reply.content), read_only=True)
    assert len(book.sheetnames) == len(TABLE_KEYS)
    overview = list(book["总体情况"].iter_rows(values_only=True))
    assert overview[0][0] == "全县 2026-03-01 至 2026-03-31"
    assert overview[2] == ("解答法律咨询（人次）", 7, 1)
    assert dict(book["咨询按类别"].iter_rows(min_row=3, values_only=True)) == EXPECTED["by_topic"]
    adviser_rows = list(book["转介按法律顾问"].iter_rows(min_row=3, values_only=True))
    assert adviser_rows == [tuple(r.values()) for r in EXPECTED["referrals_by_adviser"]]
    times = list(book["办理时效（小时）"].iter_rows(min_row=3, values_only=True))
    assert times == [("受理", 3, 4.0, 5.6), ("办结", 2, 20.0, 28.0)]
    text = bureau.get(f"/stats/export.csv?table=by_village&{MARCH}")
    assert text.status_code == 200 and text.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert rows[0] == ["村（社区）", "咨询（人次）"]
    assert {r[0]: int(r[1]) for r in rows[1:]} == EXPECTED["by_village"]
    assert bureau.get(f"/stats/export.csv?table=nope&{MARCH}").status_code == 404
    actions = [(e.actor, e.action) for e in audit.entries(engine=records.get_engine(county.db_url))]
    assert ("bureau", "stats_export") in actions


def test_calling_back_a_bad_rating(server: StaffServer, ids: dict[str, str], county: County) -> None:
    office, other = login(server, "cg-office"), login(server, "hk-office")
    path = f"/stats/callbacks/{ids['c6']}"
    assert other.post(path, data={"csrf_token": other.csrf}).status_code == 404  # not its village
    assert office.post(path, data={"note": "x"}, csrf=False).status_code == 403  # no CSRF token
    reply = office.post(path, data={"csrf_token": office.csrf, "note": "已回访", "back": MARCH})
    assert reply.status_code == 303 and reply.headers["location"].startswith(f"/stats?{MARCH}")
    data = office.get(f"/api/stats?{MARCH}").json()
    marked = {c["consultation_id"]: c["called_back_by"] for c in data["callbacks"]}
    assert marked[ids["c6"]] == "cg-office" and data["callbacks_pending"] == 2
    logged = [(e.actor, e.action, e.detail) for e in audit.entries(engine=records.get_engine(county.db_url))]
    assert ("cg-office", "callback", f"consultation {ids['c6']}") in logged
    assert office.post(f"/stats/callbacks/{ids['c2']}", data={"csrf_token": office.csrf}).status_code == 404


def test_report_page_and_pdf(bureau: Client, tmp_path: Path) -> None:
    page = bureau.get(f"/stats/report?{MARCH}")
    assert page.status_code == 200 and "解答法律咨询 <b>7</b> 人次" in page.text
    pdf = bureau.get(f"/stats/report.pdf?{MARCH}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = re.sub(r"\s+", " ", _pdftotext(pdf.content, tmp_path))
    assert "全县公共法律服务统计报告" in text
    assert "统计期间：2026-03-01 至 2026-03-31" in text
    assert re.search(r"解答法律咨询 ?7 ?人次", text)
    assert re.search(r"转介村（居）法律顾问 ?4 ?件", text) and re.search(r"法律援助申请 ?1 ?件", text)
    assert "咨询按乡镇" in text and "城关镇 4" in text


def test_no_personal_number_in_any_export(bureau: Client, county: County, tmp_path: Path) -> None:
    hashes = {hash_sender(f"{SENDER}-{name}") for name in CONSULTATIONS}
    exported: list[str] = [
        bureau.get(f"/stats?{MARCH}").text,
        bureau.get(f"/api/stats?{MARCH}").text,
        bureau.get(f"/stats/report?{MARCH}").text,
        _pdftotext(bureau.get(f"/stats/report.pdf?{MARCH}").content, tmp_path),
    ]
    exported += [bureau.get(f"/stats/export.csv?table={key}&{MARCH}").content.decode("utf-8-sig") for key in TABLE_KEYS]
    book = load_workbook(io.BytesIO(bureau.get(f"/stats/export.xlsx?{MARCH}").content), read_only=True)
    exported += [" ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row) for sheet in book]
    assert any("138****5678" in text for text in exported), "the redacted question is there"
    for text in exported:
        flat = re.sub(r"[\s-]", "", text)
        for secret in (*SECRETS, *hashes):
            assert secret.replace(" ", "") not in flat


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "staff", "stats", *args]
    return subprocess.run(command, cwd=REPO_ROOT, env=env_for(db_url), capture_output=True, text=True, timeout=180)


def test_command_line_prints_and_writes_the_figures(county: County, ids: dict[str, str], tmp_path: Path) -> None:
    xlsx, folder = str(tmp_path / "s.xlsx"), str(tmp_path / "csv")
    run = _cli(county.db_url, "--from", "2026-03-01", "--to", "2026-03-31", "--json", "--xlsx", xlsx, "--csv", folder)
    assert run.returncode == 0, run.stderr
    _assert_issue_keys(json.loads(run.stdout))
    book = load_workbook(xlsx, read_only=True)
    assert dict(book["咨询按渠道"].iter_rows(min_row=3, values_only=True)) == {"网页": 4, "12348热线": 2, "微信": 1}
    assert sorted(p.stem for p in (tmp_path / "csv").glob("*.csv")) == sorted(TABLE_KEYS)
    bad = _cli(county.db_url, "--from", "2026-04-01", "--to", "2026-03-01")
    assert bad.returncode == 2 and "error" in bad.stderr


def test_command_line_pdf(county: County, ids: dict[str, str], tmp_path: Path) -> None:
    if "sqlite" not in county.db_url:
        pytest.skip("the PDF does not depend on the database; printed once")
    pdf = tmp_path / "r.pdf"
    run = _cli(county.db_url, "--from", "2026-03-01", "--to", "2026-03-31", "--township", "城关镇", "--pdf", str(pdf))
    assert run.returncode == 0, run.stderr
    text = _pdftotext(pdf.read_bytes(), tmp_path)
    assert "城关镇公共法律服务统计报告" in re.sub(r"\s+", "", text)
