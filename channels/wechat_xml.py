"""WeChat's message XML: parsed without DTDs or entities, replies built with escaping.

WeChat's messages are flat: ``<xml><ToUserName>…</ToUserName><MsgType>text</MsgType>…</xml>``.
``parse`` refuses any DTD (which is what an XML bomb or an external-entity payload needs) through
``defusedxml`` and returns the fields as a dict of strings.
"""

from __future__ import annotations

import time
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree
from defusedxml import DefusedXmlException


class XmlError(ValueError):
    """The body is not a WeChat message."""


def parse(body: bytes | str) -> dict[str, str]:
    try:
        root = defusedxml.ElementTree.fromstring(body, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException as e:
        raise XmlError(f"forbidden XML construct: {type(e).__name__}") from None
    except Exception as e:  # noqa: BLE001 - ParseError, encoding errors: all mean "not XML"
        raise XmlError(f"malformed XML: {e}") from None
    if root.tag != "xml":
        raise XmlError("the root element must be <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def text_reply(to_user: str, from_user: str, content: str) -> str:
    """A passive text reply (WeChat's ``<xml>`` with ``MsgType`` ``text``)."""
    root = Element("xml")
    for tag, value in (
        ("ToUserName", to_user),
        ("FromUserName", from_user),
        ("CreateTime", str(int(time.time()))),
        ("MsgType", "text"),
        ("Content", content),
    ):
        SubElement(root, tag).text = value
    return tostring(root, encoding="unicode")
