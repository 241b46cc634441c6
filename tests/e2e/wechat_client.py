"""What WeChat's servers send to an official account, built with the published algorithm.

Independent of the channel's library (wechatpy): SHA1 signatures over the sorted strings, and
safe-mode encryption AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7
padding to 32 bytes, plaintext = 16 random bytes + 4-byte big-endian length + XML + AppID.
``tests/e2e/test_wechat_channel.py`` checks it against WeChat's published example vector.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# WeChat's published example account (message encryption sample code and docs).
EXAMPLE_TOKEN = "pamtest"
EXAMPLE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
EXAMPLE_APPID = "wxb11529c136998cb6"
ACCOUNT = "gh_7f083739789a"  # the official account's id (ToUserName) in the published samples


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def encrypt(aes_key: str, app_id: str, xml: str, random16: bytes | None = None) -> str:
    key = base64.b64decode(aes_key + "=")
    body = xml.encode("utf-8")
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(aes_key: str, encrypted: str) -> tuple[str, str]:
    """(XML, AppID) of an encrypted message."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    length = struct.unpack(">I", plain[16:20])[0]
    return plain[20 : 20 + length].decode("utf-8"), plain[20 + length :].decode()


def message_xml(openid: str, msg_type: str, msg_id: str | None = None, **fields: str) -> str:
    parts = [
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
        f"<CreateTime>{int(time.time())}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
    ]
    parts += [f"<{name}>{escape(value)}</{name}>" for name, value in fields.items()]
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Answer:
    status: int
    body: str

    def field(self, name: str) -> str:
        match = re.search(rf"<{name}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{name}>", self.body, re.S)
        if not match:
            raise AssertionError(f"no <{name}> in {self.body!r}")
        return match.group(1)


@dataclass
class WeChatServer:
    """Sends requests to the channel the way WeChat does."""

    url: str  # …/webhooks/wechat/webhook
    token: str = EXAMPLE_TOKEN
    aes_key: str = EXAMPLE_AES_KEY
    app_id: str = EXAMPLE_APPID

    def signed_query(self, timestamp: int | None = None, **extra: str) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = os.urandom(6).hex()
        return {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}

    def post_plain(self, xml: str | bytes, query: dict[str, str] | None = None) -> Answer:
        return self.post(xml.encode() if isinstance(xml, str) else xml, query or self.signed_query())

    def post_safe(
        self, xml: str, app_id: str | None = None, timestamp: int | None = None, forge: bool = False
    ) -> Answer:
        """Safe mode: ``encrypt_type=aes`` and ``msg_signature`` over the encrypted message.

        ``forge``: a ``msg_signature`` over another ciphertext (what a tampered body looks like)."""
        query = self.signed_query(timestamp)
        encrypted = encrypt(self.aes_key, app_id or self.app_id, xml)
        query.update(
            encrypt_type="aes",
            msg_signature=sha1_signature(
                self.token, query["timestamp"], query["nonce"], encrypted + ("x" if forge else "")
            ),
        )
        body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return self.post(body.encode(), query)

    def open_safe_reply(self, answer: Answer) -> str:
        """The reply XML inside an encrypted passive reply, after checking its signature and AppID."""
        encrypted = answer.field("Encrypt")
        expected = sha1_signature(self.token, answer.field("TimeStamp"), answer.field("Nonce"), encrypted)
        assert answer.field("MsgSignature") == expected
        xml, app_id = decrypt(self.aes_key, encrypted)
        assert app_id == self.app_id
        return xml

    def post(self, body: bytes, query: dict[str, str]) -> Answer:
        request = urllib.request.Request(
            f"{self.url}?{urllib.parse.urlencode(query)}",
            data=body,
            method="POST",
            headers={"Content-Type": "text/xml"},
        )
        return _open(request)

    def get(self, query: dict[str, str]) -> Answer:
        return _open(urllib.request.Request(f"{self.url}?{urllib.parse.urlencode(query)}"))


def _open(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.read().decode("utf-8", errors="replace"))
