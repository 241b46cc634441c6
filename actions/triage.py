"""Rules that decide how a question is handled, besides what the search finds.

They are deliberately plain keyword and number checks: they must be predictable for the legal-aid
staff who review them. The emergency rules themselves live in ``safety/`` (shared with the Rasa NLU
component); a missed emergency costs far more than an extra 110 reminder.
"""

from __future__ import annotations

import re

import safety

# Matters a chatbot should not settle alone: courts, crime, large sums.
_LITIGATION = re.compile(r"起诉|打官司|上诉|开庭|判决|立案|律师函|仲裁|申诉|再审|执行|强制执行")
_CRIMINAL = re.compile(r"坐牢|判刑|拘留|逮捕|刑事|犯罪|报案|诈骗|盗窃|被偷|偷东西|抢劫|强奸|吸毒|贩毒|坐监")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|百)?\s*(元|块|万)")
LARGE_SUM_YUAN = 100_000


# Danger happening now: the same rules as the NLU component (safety/), kept here as the safety net
# inside action_answer_question.
def is_emergency(text: str) -> bool:
    return safety.is_emergency(text)


def largest_amount(text: str) -> float:
    """The largest sum of money mentioned, in yuan (5000元, 3.5万, 20万块)."""
    best = 0.0
    for number, unit, tail in _AMOUNT.findall(text):
        value = float(number)
        scale = {"万": 10_000, "千": 1_000, "百": 100}.get(unit or (tail if tail == "万" else ""), 1)
        best = max(best, value * scale)
    return best


def complexity_reasons(text: str) -> list[str]:
    """Why a matter needs a person: litigation, crime, a large sum. Empty when it looks simple."""
    reasons = []
    if _LITIGATION.search(text):
        reasons.append("涉及诉讼或仲裁程序")
    if _CRIMINAL.search(text):
        reasons.append("可能涉及刑事问题")
    if largest_amount(text) >= LARGE_SUM_YUAN:
        reasons.append("涉及金额较大")
    return reasons

