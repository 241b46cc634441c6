"""The period report (年度报告): its HTML, and its PDF printed by headless Chromium.

The same template serves the printable page in the app and the PDF. For the PDF the page is
written to a temporary directory with its scripts and style sheet beside it, so Chromium loads
nothing over the network and needs no session; ``--virtual-time-budget`` lets the charts draw
before printing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from staff.stats_tables import tables

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ASSETS = ("stats.css", "stats.js", "vendor/echarts.min.js")
REPORT_TABLES = (
    "overview",
    "by_channel",
    "by_outcome",
    "over_time",
    "by_topic",
    "by_township",
    "referrals_by_outcome",
    "referrals_by_status",
    "referral_times",
    "satisfaction",
)


class PdfError(RuntimeError):
    """Chromium is missing or failed to print."""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise PdfError("Chromium is not installed (scripts/ensure_browser.sh)")
    return found


def report_context(summary: dict[str, Any], zone: str) -> dict[str, Any]:
    by_key = {t.key: t for t in tables(summary, zone)}
    return {"s": summary, "tables": [by_key[k] for k in REPORT_TABLES]}


def render_html(summary: dict[str, Any], zone: str, static: str, env: Environment | None = None) -> str:
    """The report page; ``static`` is where its scripts are (``/static`` in the app, ``.`` for the PDF)."""
    env = env or Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("stats_report.html").render(static=static, standalone=True, **report_context(summary, zone))


def pdf_bytes(summary: dict[str, Any], zone: str, *, timeout: float = 90) -> bytes:
    """The report printed to A4 PDF by headless Chromium."""
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="stats-report-") as tmp:
        folder = Path(tmp)
        for name in ASSETS:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if (STATIC / name).exists():
                shutil.copyfile(STATIC / name, target)
        page = folder / "report.html"
        page.write_text(render_html(summary, zone, "."), encoding="utf-8")
        out = folder / "report.pdf"
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-pdf-header-footer",
            "--virtual-time-budget=8000",
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfError("Chromium did not print the report in time") from exc
        if not out.exists() or out.stat().st_size == 0:
            raise PdfError(f"Chromium failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
        return out.read_bytes()
