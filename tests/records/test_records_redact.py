"""records.redact: masking personal identifiers without touching legal numbers."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from records.redact import redact

MASKED = [
    # mobiles: every prefix family, separators, country code, full-width digits
    ("我的电话13812345678", "我的电话138****5678"),
    ("手机：15912345678。", "手机：159****5678。"),
    ("联系18612345678或19912345678", "联系186****5678或199****5678"),
    ("电话16612345678，17712345678，14712345678", "电话166****5678，177****5678，147****5678"),
    ("电话 138 1234 5678 谢谢", "电话 138 **** 5678 谢谢"),
    ("138-1234-5678", "138-****-5678"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("+8613812345678", "+86138****5678"),
    ("008613812345678", "0086138****5678"),
    ("tel:13812345678", "tel:138****5678"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("我叫张三13812345678住石桥村", "我叫张三138****5678住石桥村"),
    # resident ID numbers
    ("身份证号110101199003071234", "身份证号110***********1234"),
    ("身份证44030619850612321X，", "身份证440***********321X，"),
    ("身份证51010219781231002x", "身份证510***********002x"),
    ("身份证320102200001011234号", "身份证320***********1234号"),
    ("110101 19900307 1234", "110*** ******** 1234"),
    ("老身份证110101900307123", "老身份证110********7123"),
    ("４４０３０６１９８５０６１２３２１Ｘ", "４４０***********３２１Ｘ"),
    # bank cards and other long numbers
    ("卡号6222021234567890123", "卡号6222***********0123"),
    ("卡号6217001234567890", "卡号6217********7890"),
    ("卡号 6228 4800 1234 5678 910", "卡号 6228 **** **** ***8 910"),
    ("卡号4367 4212 3456 7890", "卡号4367 **** **** 7890"),
    ("6225-8812-3456-7890", "6225-****-****-7890"),
    # landlines
    ("座机010-62345678", "座机010-****5678"),
    ("座机021 5432 1098", "座机021 **** 1098"),
    ("0755-86001234", "0755-****1234"),
    ("(0571)88886666", "(0571)****6666"),
    ("（0571）88886666", "（0571）****6666"),
    ("0571 8888 6666", "0571 **** 6666"),
    ("075586001234", "0755****1234"),
    ("0571-8888666", "0571-***8666"),
    # e-mail
    ("邮箱zhangsan@163.com", "邮箱z***@163.com"),
    ("发到li.si_2020@qq.com谢谢", "发到l***@qq.com谢谢"),
    ("wang+legal@example.com.cn", "w***@example.com.cn"),
    ("13812345678@139.com", "1***@139.com"),
    # several kinds in one message
    (
        "我叫李四，身份证110101199003071234，电话13812345678，卡号6222021234567890123",
        "我叫李四，身份证110***********1234，电话138****5678，卡号6222***********0123",
    ),
]

UNCHANGED = [
    "依据《民法典》第1165条，行为人因过错侵害他人民事权益造成损害的，应当承担侵权责任。",
    "《劳动合同法》第三十八条、第四十六条",
    "第2条第3款",
    "借款5000元，约定年利率3.85%",
    "赔偿3.5万，另付1.5倍工资",
    "欠款120000元",
    "13800元",
    "13800000000元",
    "借了1350000000块",
    "2023年5月",
    "2023年5月12日到2024年1月1日",
    "2023-05-12",
    "2023/05/12 10:30",
    "2023.05.12",
    "(2023)浙0102民初1234号",
    "法释〔2020〕17号",
    "12348热线、110报警、120急救、12338妇女维权",
    "面积100平方米，身高170",
    "编号20230512001",
    "订单号2023051200123",
    "邮编311200",
    "我不记得身份证号了",
    "",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_masks_identifiers(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_leaves_legal_numbers_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(("text", "_expected"), MASKED)
def test_masking_is_idempotent(text: str, _expected: str) -> None:
    assert redact(redact(text)) == redact(text)


# --- properties ------------------------------------------------------------------------------

CJK = "我的电话是请联系谢谢住在村里老板欠工资怎么办，。、：；！？"
context = st.text(alphabet=CJK, max_size=12)
articles = st.integers(1, 1260).map(lambda n: f"第{n}条")
money = st.one_of(
    st.integers(1, 99_999_999).map(lambda n: f"{n}元"),
    st.tuples(st.integers(1, 999), st.integers(0, 9)).map(lambda t: f"{t[0]}.{t[1]}万"),
)
dates = st.one_of(
    st.tuples(st.integers(1990, 2030), st.integers(1, 12)).map(lambda t: f"{t[0]}年{t[1]}月"),
    st.tuples(st.integers(1990, 2030), st.integers(1, 12), st.integers(1, 28)).map(
        lambda t: f"{t[0]}年{t[1]}月{t[2]}日"
    ),
    st.dates().map(lambda d: d.isoformat()),
)
safe_tokens = st.one_of(articles, money, dates, st.text(alphabet=CJK, min_size=1, max_size=6))
safe_texts = st.lists(safe_tokens, max_size=8).flatmap(
    lambda tokens: st.lists(
        st.sampled_from(list("，。、的了在和")), min_size=len(tokens), max_size=len(tokens)
    ).map(lambda joins: "".join(t + j for t, j in zip(tokens, joins, strict=True)))
)
mobiles = st.tuples(st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9))
regions = st.integers(110000, 659999)
birthdays = st.dates(min_value=date(1900, 1, 1), max_value=date(2029, 12, 31))


@settings(max_examples=300)
@given(safe_texts)
@example("依据民法典第1165条，借款5000元，2023年5月")
def test_property_legal_numbers_survive(text: str) -> None:
    assert redact(text) == text


@settings(max_examples=300)
@given(context, mobiles, st.sampled_from(["", " ", "-"]), context)
def test_property_mobiles_are_masked(
    before: str, parts: tuple[str, str], sep: str, after: str
) -> None:
    number = f"1{parts[0]}{parts[1]}"
    shown = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    masked = f"{number[:3]}{sep}****{sep}{number[7:]}"
    assert redact(before + shown + after) == before + masked + after


@settings(max_examples=300)
@given(context, regions, birthdays, st.integers(0, 999), st.sampled_from("0123456789Xx"), context)
def test_property_id_numbers_are_masked(
    before: str, region: int, birthday: date, seq: int, check: str, after: str
) -> None:
    number = f"{region}{birthday:%Y%m%d}{seq:03d}{check}"
    masked = number[:3] + "*" * 11 + number[-4:]
    assert redact(before + number + after) == before + masked + after


@settings(max_examples=500)
@given(st.text(alphabet="0123456789 -+()Xx@.abc元万第条年月" + CJK, max_size=60))
def test_property_idempotent_and_length_preserving(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    if "@" not in text:
        assert len(once) == len(text)
        # Only digits (and the X of an ID) are ever replaced.
        for original, new in zip(text, once, strict=True):
            assert new == original or (new == "*" and re.fullmatch(r"[0-9Xx]", original))


@settings(max_examples=300)
@given(
    context,
    st.sampled_from([16, 17, 19]).flatmap(
        lambda n: st.text("0123456789", min_size=n - 2, max_size=n - 2)
    ),
    context,
)
def test_property_card_numbers_are_masked(before: str, rest: str, after: str) -> None:
    number = f"62{rest}"
    masked = number[:4] + "*" * (len(number) - 8) + number[-4:]
    assert redact(before + number + after) == before + masked + after
