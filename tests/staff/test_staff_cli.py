"""``python -m staff`` as a person runs it: accounts, import of CSV and XLSX, the demo county."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from staff_harness import REPO_ROOT, env_for

import records
from records import list_villages, users
from staff.passwords import verify

EXAMPLE = REPO_ROOT / "staff" / "examples" / "county.csv"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('cli') / 'legal.db'}"


def staff(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staff", *args],
        cwd=REPO_ROOT, env=env_for(db_url), input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_user_accounts(db_url: str) -> None:
    engine = records.get_engine(db_url)
    added = staff(db_url, "user", "add", "--username", "zhou", "--role", "adviser", "--adviser", "周明华",
                  "--password-stdin", stdin="a-long-secret-1\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "password" not in added.stdout
    zhou = users.get_user("zhou", engine=engine)
    assert zhou.roles == ("adviser",) and zhou.password_hash.startswith("$argon2id$")
    assert verify(zhou.password_hash, "a-long-secret-1")

    generated = staff(db_url, "user", "add", "--username", "chief", "--role", "admin", "--role", "township",
                      "--township", "城关镇")  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    password = re.search(r"password: (\S+)", generated.stdout).group(1)
    chief = users.get_user("chief", engine=engine)
    assert verify(chief.password_hash, password) and chief.roles == ("admin", "township")

    listing = staff(db_url, "user", "list").stdout
    assert "zhou\tadviser\tactive" in listing and password not in listing

    for bad, message in (
        (["--username", "x1", "--role", "adviser"], "needs --adviser"),
        (["--username", "x2", "--role", "judge"], "role must be one of"),
        (["--username", "zhou", "--role", "operator"], "taken"),
        (["--username", "x3", "--role", "adviser", "--adviser", "无此人"], "adviser"),
        (["--username", "bad name!", "--role", "operator"], "username"),
    ):
        result = staff(db_url, "user", "add", *bad)
        assert result.returncode == 2 and message in result.stderr, (bad, result.stderr)
    short = staff(db_url, "user", "add", "--username", "x4", "--role", "operator", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr

    assert staff(db_url, "user", "disable", "zhou").returncode == 0
    assert users.get_user("zhou", engine=engine).disabled
    changed = staff(db_url, "user", "set-password", "zhou", "--password-stdin", stdin="another-secret-2\n")
    assert changed.returncode == 0
    new_hash = users.get_user("zhou", engine=engine).password_hash
    assert verify(new_hash, "another-secret-2") and not verify(new_hash, "a-long-secret-1")
    assert staff(db_url, "user", "disable", "nobody").returncode == 2


def _xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_import_xlsx_all_or_nothing(db_url: str, tmp_path: Path) -> None:
    engine = records.get_engine(db_url)
    with EXAMPLE.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header_cn = ["乡镇", "村社区", "法律顾问", "顾问电话", "顾问邮箱", "司法所", "司法所邮箱"]
    broken = [header_cn, *rows[1:4], ["城关镇", "新村", "", "13800000999", "", "", ""]]
    result = staff(db_url, "import", str(_xlsx(tmp_path / "bad.xlsx", broken)))
    assert result.returncode == 2
    assert "row 5, column adviser_name: empty" in result.stderr and "nothing imported" in result.stderr
    labels_before = {v.label for v in list_villages(engine)}
    assert "城关镇新村" not in labels_before
    good = [header_cn, *rows[1:], ["城关镇", "新村", "何静", "13800000111", "", "城关镇司法所", ""]]
    result = staff(db_url, "import", str(_xlsx(tmp_path / "good.xlsx", good)))
    assert result.returncode == 0, result.stderr
    assert "imported 13 rows (2 new villages)" in result.stdout
    labels = {v.label for v in list_villages(engine)}
    assert {"城关镇新村", "柳林镇杏花村"} <= labels
    # 何静 is a second adviser of 石桥村 and the adviser of 新村.
    from records import routing
    from records.db import transaction

    stone = next(v for v in list_villages(engine) if v.label == "城关镇石桥村")
    with transaction(engine) as conn:
        assert routing.route(conn, stone.id).reason == "fewest_open"
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04 not really a workbook")
    result = staff(db_url, "import", str(garbage))
    assert result.returncode == 2 and "not a readable" in result.stderr


def test_demo_accounts_once(db_url: str, tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'demo.db'}"
    first = staff(fresh, "demo")
    assert first.returncode == 0, first.stderr
    lines = [line.split() for line in first.stdout.splitlines()[1:]]
    names = [line[0] for line in lines]
    assert {"admin", "operator", "adviser1", "township1"} <= set(names)
    admin_password = next(line[1] for line in lines if line[0] == "admin")
    assert verify(users.get_user("admin", engine=records.get_engine(fresh)).password_hash, admin_password)
    second = staff(fresh, "demo")
    assert "exist already" in second.stdout and admin_password not in second.stdout
