"""Bot messages as WeChat texts: numbered choices, and splitting that never cuts a citation."""

from __future__ import annotations

from pathlib import Path

import yaml

from channels.wechat_text import CHANNEL_RESPONSES, choice_payload, render, response_text

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"
RESPONSES = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]
HINT = response_text(RESPONSES, CHANNEL_RESPONSES["choices_hint"]) or ""

ARTICLE_1 = (
    "《中华人民共和国劳动法》第五十条：工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。"
)
ARTICLE_2 = "《保障农民工工资支付条例》第三条：农民工有按时足额获得工资的权利。任何单位和个人不得拖欠农民工工资。"


def test_buttons_become_numbered_choices_answerable_with_a_digit() -> None:
    out = render(
        [
            {
                "text": "您同意吗？",
                "buttons": [{"title": "同意", "payload": "/affirm"}, {"title": "不同意", "payload": "/deny"}],
            },
        ],
        hint=HINT,
    )
    assert out.texts == ["您同意吗？\n\n1. 同意\n2. 不同意\n（回复数字即可选择）"]
    assert out.choices == ["/affirm", "/deny"]
    assert choice_payload("1", out.choices) == "/affirm"
    assert choice_payload(" ２ ", out.choices) == "/deny"  # full-width digit from a Chinese keyboard
    assert choice_payload("3", out.choices) is None
    assert choice_payload("12348", out.choices) is None
    assert choice_payload("同意", out.choices) is None


def test_a_long_answer_is_split_in_order_between_whole_citations() -> None:
    answer = "\n\n".join(
        ["关于拖欠工资的问题，法律是这样规定的：", ARTICLE_1, ARTICLE_2, ARTICLE_1, ARTICLE_2, "下一步：申请仲裁。"]
    )
    limit = 250  # bytes: one citation per text
    out = render([{"text": answer}], max_bytes=limit)
    assert len(out.texts) > 2
    assert all(len(text.encode("utf-8")) <= limit for text in out.texts)
    assert "\n\n".join(out.texts) == answer  # nothing lost, nothing reordered
    for citation in (ARTICLE_1, ARTICLE_2):
        assert any(citation in text for text in out.texts)


def test_a_paragraph_longer_than_the_limit_is_cut_at_sentence_ends() -> None:
    paragraph = "第一句很长很长。" * 60
    out = render([{"text": paragraph}], max_bytes=300)
    assert all(len(text.encode("utf-8")) <= 300 for text in out.texts)
    assert all(text.endswith("。") for text in out.texts)
    assert "".join(out.texts) == paragraph


def test_short_messages_share_one_text() -> None:
    out = render([{"text": "好的。"}, {"text": "请问您是哪个村的？"}])
    assert out.texts == ["好的。\n\n请问您是哪个村的？"] and out.choices == []


def test_the_channels_own_wording_comes_from_the_domain() -> None:
    for name in CHANNEL_RESPONSES.values():
        assert response_text(RESPONSES, name), f"domain.yml lacks a text for {name}"
    assert "12348" in (response_text(RESPONSES, CHANNEL_RESPONSES["unsupported"]) or "")
    variants = {"utter_x": [{"text": "plain"}, {"channel": "wechat", "text": "微信"}], "utter_y": [{"text": "plain"}]}
    assert response_text(variants, "utter_x") == "微信"  # the channel's variant wins
    assert response_text(variants, "utter_y") == "plain"
    assert response_text(variants, "utter_z") is None
