"""records.villages: the shipped list, fuzzy matching and seeding."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

import records
from records import InvalidPhone, InvalidValue, UnknownVillage, match_village
from records.village_db import resolve_village
from records.villages import Village, find_village, load_villages

HEADER = "village,township,adviser_name,adviser_phone\n"


def test_shipped_list_is_a_plausible_county() -> None:
    villages = load_villages()
    assert 25 <= len(villages) <= 40
    assert len({v.township for v in villages}) == 5
    assert all(v.adviser_phone.startswith("1380000") for v in villages)
    assert Village("石桥村", "城关镇", "周明华", "13800000101") in villages
    assert len({v.label for v in villages}) == len(villages)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("石桥村", "城关镇石桥村"),
        ("石桥", "城关镇石桥村"),
        ("城关镇石桥村", "城关镇石桥村"),
        ("我是城关镇石桥村的", "城关镇石桥村"),
        ("城关 石桥村", "城关镇石桥村"),
        ("石桥村3组", "城关镇石桥村"),
        ("石桥头村", "河口镇石桥头村"),
        ("河口镇新华村", "河口镇新华村"),
        ("河口新华村", "河口镇新华村"),
        ("城关镇的新华村", "城关镇新华村"),
        ("河口村", "河口镇河口村"),
        ("东街", "城关镇东街社区"),
        ("西街社区", "城关镇西街社区"),
        ("李家沟", "柳林镇李家沟村"),
        ("ＬＯＬ 黄土岭村！", "白沙乡黄土岭村"),
    ],
)
def test_matches_names_as_typed(text: str, label: str) -> None:
    match = match_village(text)
    assert match is not None
    assert match.village.label == label
    assert not match.ambiguous and match.exact


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("石乔村", "城关镇石桥村"),
        ("实桥村", "城关镇石桥村"),
        ("城关镇石乔村", "城关镇石桥村"),
        ("大弯村", "高坪乡大湾村"),
        ("王家弯村", "河口镇王家湾村"),
        ("石乔头村", "河口镇石桥头村"),
        ("黄土林村", "白沙乡黄土岭村"),
    ],
)
def test_accepts_one_character_typos(text: str, label: str) -> None:
    match = match_village(text)
    assert match is not None
    assert match.village.label == label
    assert not match.exact and 60 <= match.score < 90


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("新华村", {"城关镇新华村", "河口镇新华村"}),
        ("中寨村", {"白沙乡上寨村", "白沙乡下寨村"}),
        ("石桥村和杨柳村", {"城关镇石桥村", "城关镇杨柳村"}),
    ],
)
def test_returns_alternatives_when_ambiguous(text: str, labels: set[str]) -> None:
    match = match_village(text)
    assert match is not None and match.ambiguous
    assert {v.label for v in match.candidates} == labels


@pytest.mark.parametrize(
    "text",
    [
        "",
        "，。！",
        "今天天气怎么样",
        "老板拖欠工资三个月不给怎么办",
        "我们村的土地被占了",
        "13812345678",
        "城关镇",
        "白沙乡",
        "河口镇",
        "北京市朝阳区",
        "张家口",
        "桥",
    ],
)
def test_rejects_unrelated_text(text: str) -> None:
    assert match_village(text) is None


def test_a_township_stem_that_is_also_a_village_counts_less() -> None:
    match = match_village("白沙")
    assert match is not None and match.village.label == "白沙乡白沙村"
    assert match.score < 90


def test_matches_against_a_given_list() -> None:
    county = [Village("团结村", "新城镇", "甲", "13800000001")]
    match = match_village("团结", county)
    assert match is not None and match.village == county[0]
    assert match_village("石桥村", county) is None


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "villages.csv"
    path.write_text(body, encoding="utf-8")
    return path


def test_load_validates_the_csv(tmp_path: Path) -> None:
    good = _write(tmp_path, HEADER + "团结村,新城镇,甲,138 0000 0001\n")
    assert load_villages(good) == (Village("团结村", "新城镇", "甲", "13800000001"),)
    with pytest.raises(InvalidValue, match="missing columns"):
        load_villages(_write(tmp_path, "village,township\n团结村,新城镇\n"))
    with pytest.raises(InvalidValue, match="duplicate"):
        load_villages(_write(tmp_path, HEADER + "团结村,新城镇,甲,13800000001\n" * 2))
    with pytest.raises(InvalidValue, match="incomplete"):
        load_villages(_write(tmp_path, HEADER + "团结村,新城镇,,13800000001\n"))
    with pytest.raises(InvalidPhone):
        load_villages(_write(tmp_path, HEADER + "团结村,新城镇,甲,12345\n"))


def test_seed_is_idempotent(empty_engine: Engine) -> None:
    assert records.village_db.seed_villages(empty_engine) == 30
    assert records.village_db.seed_villages(empty_engine) == 0
    villages = records.list_villages(empty_engine)
    assert len(villages) == 30
    advisers = records.list_advisers(empty_engine)
    assert len(advisers) == 9
    zhou = next(a for a in advisers if a.name == "周明华")
    assert zhou.phone == "13800000101"
    assert zhou.villages == ("城关镇东街社区", "城关镇西街社区", "城关镇石桥村")
    shiqiao = next(v for v in villages if v.label == "城关镇石桥村")
    assert (shiqiao.adviser_id, shiqiao.adviser_name) == (zhou.id, "周明华")


def test_seed_updates_advisers(empty_engine: Engine) -> None:
    county = [
        Village("团结村", "新城镇", "甲", "13800000001"),
        Village("胜利村", "新城镇", "甲", "13800000001"),
    ]
    records.village_db.seed_villages(empty_engine, county)
    moved = [county[0], Village("胜利村", "新城镇", "乙", "13800000002")]
    assert records.village_db.seed_villages(empty_engine, moved) == 0
    renamed = [Village("团结村", "新城镇", "甲某", "13800000001"), moved[1]]
    records.village_db.seed_villages(empty_engine, renamed)
    advisers = {a.name: a.villages for a in records.list_advisers(empty_engine)}
    assert advisers == {"甲某": ("新城镇团结村",), "乙": ("新城镇胜利村",)}


@pytest.mark.parametrize(
    ("key", "label"), [("城关镇石桥村", "城关镇石桥村"), ("石桥村", "城关镇石桥村"), (" 渡口村 ", "河口镇渡口村")]
)
def test_one_lookup_for_the_list_and_the_table(engine: Engine, key: str, label: str) -> None:
    listed = find_village(key, load_villages())
    with records.db.transaction(engine, write=False) as conn:
        row = resolve_village(conn, key)
        assert resolve_village(conn, row.id) == row
        for missing in ("新华村", "不存在村", 9999):  # ambiguous, unknown, no such id
            with pytest.raises(UnknownVillage):
                resolve_village(conn, missing)
    assert listed.label == row.label == label
    assert (listed.name, listed.township, listed.adviser_name) == (row.name, row.township, row.adviser_name)
    with pytest.raises(UnknownVillage, match="ambiguous"):
        find_village("新华村", load_villages())


def test_init_db_creates_and_seeds(db_url: str) -> None:
    engine = records.get_engine(db_url)
    assert records.init_db(engine) in (0, 30)
    assert records.init_db(engine) == 0
    assert len(records.list_villages(engine)) == 30
    records.db.dispose_engines()
