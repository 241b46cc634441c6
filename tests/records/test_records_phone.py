"""records.phone: validating and normalising mainland phone numbers."""

from __future__ import annotations

import pytest

from records import InvalidPhone, normalize_phone
from records.phone import is_valid_phone, parse_phone

VALID = [
    ("13812345678", "mobile", "13812345678"),
    ("19912345678", "mobile", "19912345678"),
    ("138 1234 5678", "mobile", "13812345678"),
    ("138-1234-5678", "mobile", "13812345678"),
    ("+86 138 1234 5678", "mobile", "13812345678"),
    ("+86-13812345678", "mobile", "13812345678"),
    ("008613812345678", "mobile", "13812345678"),
    ("8613812345678", "mobile", "13812345678"),
    ("１３８１２３４５６７８", "mobile", "13812345678"),
    ("＋８６　１３８－１２３４－５６７８", "mobile", "13812345678"),
    ("我的电话是138 1234 5678，白天都在", "mobile", "13812345678"),
    ("0571-88886666", "landline", "0571-88886666"),
    ("057188886666", "landline", "0571-88886666"),
    ("0571 8888 6666", "landline", "0571-88886666"),
    ("(0571)8888666", "landline", "0571-8888666"),
    ("（０５７１）８８８８６６６６", "landline", "0571-88886666"),
    ("010-62345678", "landline", "010-62345678"),
    ("02087654321", "landline", "020-87654321"),
    ("家里座机 0755-86001234", "landline", "0755-86001234"),
]

INVALID = [
    ("", "请提供联系电话"),
    ("没有电话", "请提供联系电话"),
    ("1381234567", "手机号应为11位"),
    ("138123456789", "手机号应为11位"),
    ("12812345678", "手机号应为11位"),
    ("88886666", "座机号请带上区号"),
    ("8888666", "座机号请带上区号"),
    ("0571-0888666", "带区号的座机号"),
    ("010-1234567", "带区号的座机号"),
    ("0571-888866", "带区号的座机号"),
]


@pytest.mark.parametrize(("text", "kind", "number"), VALID)
def test_parses_valid_numbers(text: str, kind: str, number: str) -> None:
    parsed = parse_phone(text)
    assert (parsed.kind, parsed.number) == (kind, number)
    assert normalize_phone(text) == number
    assert is_valid_phone(text)


@pytest.mark.parametrize(("text", "hint"), INVALID)
def test_rejects_invalid_numbers_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(InvalidPhone) as raised:
        parse_phone(text)
    assert hint in raised.value.hint
    assert not is_valid_phone(text)


def test_invalid_phone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no valid phone number"):
        normalize_phone("12345")


def test_prefers_the_mobile_when_both_are_given() -> None:
    assert normalize_phone("座机0571-88886666，手机13812345678") == "13812345678"


def test_normalised_numbers_parse_to_themselves() -> None:
    for _, _, number in VALID:
        assert normalize_phone(number) == number
