"""WeChat callback XML: safe parsing (no DTD, no entities) and building passive replies.

Incoming bodies are flat `<xml><Field>value</Field>…</xml>` documents. They are parsed with
defusedxml with DTDs forbidden, so entity expansion ("billion laughs") and external entities are
refused before anything is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class BadXml(ValueError):
    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The direct children of the `<xml>` root as {tag: text}; nested elements keep their own text only."""
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadXml(
            "The XML declares a DTD or entities, which are not accepted.", reason=type(exc).__name__
        ) from None
    except (ParseError, ValueError, UnicodeError):
        raise BadXml("The body is not well-formed XML.", reason="malformed") from None
    if root.tag != "xml":
        raise BadXml("The XML root element must be <xml>.", reason="bad_root")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str) and child.tag not in fields:
            fields[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
    return fields


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message or event pushed by WeChat."""

    to_user: str  # the Official Account's original id (gh_…)
    from_user: str  # the user's openid
    create_time: int
    msg_type: str  # text | image | voice | video | shortvideo | location | link | event
    msg_id: str | None = None
    content: str | None = None
    event: str | None = None  # subscribe | unsubscribe | CLICK | VIEW | SCAN | …
    event_key: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """WeChat retries a push three times: messages carry MsgId, events are keyed by user + time."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.from_user}:{self.create_time}:{self.event or self.msg_type}"


class BadMessage(ValueError):
    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def to_inbound(fields: dict[str, str]) -> Inbound:
    """Check the fields every push has and build an `Inbound`; raises BadMessage naming what is wrong."""
    missing = [
        name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)
    ]
    if missing:
        raise BadMessage(f"The message lacks {', '.join(missing)}.", reason="missing_fields")
    if not fields["CreateTime"].isdigit() or len(fields["CreateTime"]) > 12:
        raise BadMessage("CreateTime must be a Unix time in seconds.", reason="bad_create_time")
    if len(fields["FromUserName"]) > 128 or len(fields["ToUserName"]) > 128:
        raise BadMessage("FromUserName/ToUserName are too long.", reason="bad_user")
    msg_id = fields.get("MsgId") or None
    if msg_id is not None and (len(msg_id) > 64 or not msg_id.isdigit()):
        raise BadMessage("MsgId must be a number.", reason="bad_msg_id")
    msg_type = fields["MsgType"]
    if msg_type == "event" and not fields.get("Event"):
        raise BadMessage("An event push lacks Event.", reason="missing_fields")
    if msg_type == "text" and not msg_id:
        raise BadMessage("A text message lacks MsgId.", reason="missing_fields")
    known = {"ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Content", "Event", "EventKey"}
    return Inbound(
        to_user=fields["ToUserName"],
        from_user=fields["FromUserName"],
        create_time=int(fields["CreateTime"]),
        msg_type=msg_type,
        msg_id=msg_id,
        content=fields.get("Content"),
        event=fields.get("Event") or None,
        event_key=fields.get("EventKey") or None,
        extra={k: v for k, v in fields.items() if k not in known},
    )


def cdata(text: str) -> str:
    """Wrap in CDATA; a literal ']]>' in the text is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(*, to_user: str, from_user: str, content: str, create_time: int | None = None) -> str:
    """A passive text reply (`to_user` is the customer's openid, `from_user` the account)."""
    now = int(time.time()) if create_time is None else create_time
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def encrypted_envelope(*, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode reply (and request) envelope around an encrypted message."""
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )


def inbound_xml(fields: dict[str, str | int]) -> str:
    """Build a push the way WeChat does (tests, docs, the demo simulator)."""
    parts = []
    for key, value in fields.items():
        inner = str(value) if isinstance(value, int) else cdata(value)
        parts.append(f"<{key}>{inner}</{key}>")
    return "<xml>" + "".join(parts) + "</xml>"
