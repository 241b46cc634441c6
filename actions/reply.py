"""How an answer reads: lead, verbatim articles, the practical next step, a disclaimer, buttons."""

from __future__ import annotations

from knowledge import Hit

DISCLAIMER = (
    "⚠️ 以上是一般性的法律信息，不是针对您个案的法律意见。"
    "具体情况请咨询村法律顾问，或拨打12348公共法律服务热线。"
)

NEXT_STEPS = {
    "labor": "下一步：保留好劳动合同、工资条、考勤记录、聊天记录等证据，可以向县人社局劳动保障监察投诉，"
    "或者向劳动人事争议仲裁委员会申请仲裁（不收费）。农民工讨要工资可以申请法律援助。",
    "marriage_family": "下一步：可以先找村（居）人民调解委员会或妇联调解；协商不成可以到法院起诉。"
    "遇到家暴可以报警，也可以向法院申请人身安全保护令。",
    "debt": "下一步：保留好借条、转账记录、聊天记录；一般要在知道权利受损之日起三年内主张。"
    "可以先找人民调解委员会调解，调解不成再到法院起诉。",
    "traffic": "下一步：以交警出具的事故认定书为依据，联系双方保险公司；赔偿谈不拢可以申请交警或人民调解委员会调解，"
    "也可以到法院起诉。",
    "land_housing": "下一步：可以先请村委会或乡镇政府协调；土地承包纠纷还可以向农村土地承包仲裁委员会申请仲裁，"
    "或者到法院起诉。",
    "neighbor": "下一步：邻里之间最好先协商；谈不拢可以请村人民调解委员会免费调解，调解协议有法律效力。",
    "inheritance": "下一步：家人之间可以先协商分割，也可以请人民调解委员会调解或到公证处办理继承公证；"
    "谈不拢再到法院起诉。",
    "consumer": "下一步：保留好购物凭证和聊天记录，先和商家协商；不行可以拨打12315向市场监管部门投诉。",
    "personal_injury": "下一步：先治伤，保留好病历、医药费票据和证人信息；可以报警固定证据，赔偿问题可以调解或起诉。",
    "criminal": "下一步：涉及犯罪的事情请及时向派出所报案或拨打110；需要辩护或代理可以申请法律援助。",
    "administrative": "下一步：对政府部门的决定不服，一般可以在知道之日起60日内申请行政复议，或者依法提起行政诉讼。",
    "other": "下一步：可以找村里的法律顾问当面问一问，或者拨打12348公共法律服务热线。",
}

FEEDBACK_BUTTONS = [
    {"title": "👍 有帮助", "payload": '/feedback{"helpful": "yes"}'},
    {"title": "👎 没帮助", "payload": '/feedback{"helpful": "no"}'},
    {"title": "找村法律顾问", "payload": "/request_adviser"},
]
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
REFERRAL_BUTTONS = [
    {"title": "是，帮我联系", "payload": "/affirm"},
    {"title": "不用了", "payload": "/deny"},
]


def quote(hit: Hit) -> str:
    """《law》第X条：the article's text, verbatim."""
    return f"{hit.citation}：{hit.text}"


def article_answer(lead: str, hits: list[Hit], topic: str) -> str:
    quotes = "\n\n".join(quote(h) for h in hits)
    return f"{lead}\n\n{quotes}\n\n{NEXT_STEPS.get(topic, NEXT_STEPS['other'])}\n\n{DISCLAIMER}"


def faq_answer(answer: str, hits: list[Hit], topic: str) -> str:
    quotes = "\n\n".join(quote(h) for h in hits)
    return (
        f"{answer.strip()}\n\n相关法条：\n{quotes}\n\n{NEXT_STEPS.get(topic, NEXT_STEPS['other'])}\n\n{DISCLAIMER}"
    )


def unsure_answer() -> str:
    return (
        "这个问题我没有把握找到准确的法律依据，不想误导您。"
        "要不要我帮您联系村里的法律顾问？您也可以换个说法再问一次，或者拨打12348公共法律服务热线。"
    )


def complex_note(reasons: list[str]) -> str:
    return f"您的情况{'、'.join(reasons)}，最好由专业人员具体分析。需要我帮您联系村里的法律顾问吗？"
