"""Binding a WeChat openid to a bank customer, as a short text dialogue in the WeChat conversation.

    user: 绑定                      bot: 请输入您在本行预留的手机号码…
    user: 13800138000              bot: (SMS code sent if the number belongs to a customer) 请回复6位验证码…
    user: 123456                   bot: 绑定成功！…

On success the openid becomes a verified "wechat_openid" contact point of the customer, the
conversation (and its earlier anonymous messages) becomes the customer's at L2, and from then on the
WeChat user is that customer on every later visit (L1, plus any unexpired step-up).

The state lives in `conversation.context["wechat_binding"]`. The reply to an unknown phone number is
the same as to a known one, so the dialogue cannot be used to find out who banks here; one-time
codes are never stored in clear (the stored customer message reads "******").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, StoredMessage
from lingxi.core.actor import Actor
from lingxi.core.errors import DomainError, RateLimited
from lingxi.core.masking import mask_phone
from lingxi.core.timeutil import utcnow
from lingxi.customers import service as customers
from lingxi.identity import service as identity
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.channels.wechat.binding")

STATE_KEY = "wechat_binding"
CONTACT_KIND = "wechat_openid"
MAX_PHONE_TRIES = 3

BIND_COMMAND = re.compile(r"^\s*(绑定|绑定账户|绑定账号|账户绑定|账号绑定|bind)\s*$", re.IGNORECASE)
CANCEL_COMMAND = re.compile(r"^\s*(取消|退出|取消绑定|cancel|quit)\s*$", re.IGNORECASE)
RESEND_COMMAND = re.compile(r"^\s*(重新发送|重发|重新获取|resend)\s*$", re.IGNORECASE)
CODE = re.compile(r"^\s*(\d\s*){6}$")

TEXTS = {
    "ask_phone": "好的，开始绑定银行账户。请输入您在本行预留的11位手机号码。\n（回复“取消”可随时退出绑定）",
    "bad_phone": "手机号格式不正确，请输入11位手机号码，例如 138 0013 8000。回复“取消”可退出绑定。",
    "too_many_phone": "手机号多次输入不正确，已退出绑定。如需绑定，请重新回复“绑定”。",
    "code_sent": (
        "如该号码为本行预留手机号，您将收到一条短信验证码（{minutes}分钟内有效）。请直接回复6位验证码完成绑定。\n"
        "未收到可回复“重新发送”，回复“取消”可退出绑定。"
    ),
    "ask_code": "请回复短信中的6位数字验证码；未收到可回复“重新发送”，回复“取消”可退出绑定。",
    "wrong_code": "验证码错误，您还可以再试{remaining}次。",
    "locked": "验证码已连续输错多次，已退出绑定。如需绑定，请重新回复“绑定”。",
    "restart": "{reason}\n已退出绑定，如需绑定请重新回复“绑定”。",
    "cancelled": "已取消绑定。如需帮助，请直接发送您的问题。",
    "already_bound": "您的微信已绑定本行账户（{name}），无需重复绑定。",
    "bound_elsewhere": "该微信号已绑定其他账户，如需更换请前往手机银行或网点办理。",
    "done": (
        "绑定成功！{name}，您好。您的微信已与本行账户绑定，本次身份验证已通过。\n"
        "您在手机银行、网页等渠道的服务记录已与微信互通，客服可以看到您完整的服务历史。"
    ),
    "busy_agent": "您正在与人工客服沟通，请在本次服务结束后再绑定账户。",
}


@dataclass(frozen=True, slots=True)
class BindingTurn:
    customer_message: StoredMessage
    replies: list[StoredMessage]


def wants_binding(text: str) -> bool:
    return bool(BIND_COMMAND.match(text))


def in_progress(conversation: Conversation) -> bool:
    return isinstance(conversation.context.get(STATE_KEY), dict)


def normalize_phone(text: str) -> str | None:
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if re.fullmatch(r"1[3-9]\d{9}", digits) else None


def _set_state(conversation: Conversation, state: dict[str, Any] | None) -> None:
    context = {k: v for k, v in conversation.context.items() if k != STATE_KEY}
    if state is not None:
        context[STATE_KEY] = state
    conversation.context = context  # reassigned: the JSON column tracks assignment, not mutation


def _visitor(openid: str) -> Actor:
    return Actor(type="visitor", id=f"wechat:{openid}", name="微信用户")


def _zh(exc: DomainError, fallback: str) -> str:
    details = exc.details if isinstance(exc.details, dict) else {}
    text = details.get("message_zh")
    return text if isinstance(text, str) and text else fallback


async def _bot(session: AsyncSession, conversation: Conversation, text: str) -> StoredMessage:
    return await conversations.do_add_bot_message(
        session=session, conversation=conversation, text=text, payload={"flow": "wechat_binding"}
    )


async def _customer(
    session: AsyncSession,
    conversation: Conversation,
    *,
    content: str,
    client_msg_id: str,
    sender_name: str,
    masked: bool,
) -> tuple[StoredMessage, bool]:
    return await conversations.do_add_message(
        session=session,
        conversation=conversation,
        sender_type="customer",
        content=content,
        client_msg_id=client_msg_id,
        sender_name=sender_name,
        payload={"flow": "wechat_binding", "masked": True} if masked else {"flow": "wechat_binding"},
    )


async def do_binding_turn(
    *,
    session: AsyncSession,
    conversation: Conversation,
    openid: str,
    text: str,
    client_msg_id: str,
    sender_name: str,
    start: bool = False,
) -> BindingTurn:
    """Store the customer's message (masked where it carries a phone or a code) and answer the next step."""
    state: dict[str, Any] = dict(conversation.context.get(STATE_KEY) or {})
    step = state.get("step")
    phone = normalize_phone(text) if step == "phone" else None
    is_code = step == "code" and bool(CODE.match(text))
    if phone is not None:
        stored = mask_phone(phone) or "***"
    elif is_code:
        stored = "******"
    else:
        stored = text
    message, created = await _customer(
        session,
        conversation,
        content=stored,
        client_msg_id=client_msg_id,
        sender_name=sender_name,
        masked=stored != text,
    )
    if not created:
        return BindingTurn(message, [])

    async def say(key: str, **fmt: Any) -> BindingTurn:
        return BindingTurn(message, [await _bot(session, conversation, TEXTS[key].format(**fmt))])

    if start or not step:
        bound = await customers.get_customer_by_contact(session=session, kind=CONTACT_KIND, value=openid)
        if bound is not None:
            _set_state(conversation, None)
            return await say("already_bound", name=customers.display_name(bound))
        if conversation.status == "assigned":
            return await say("busy_agent")
        _set_state(conversation, {"step": "phone", "tries": 0, "started_at": utcnow().isoformat()})
        return await say("ask_phone")

    if CANCEL_COMMAND.match(text):
        _set_state(conversation, None)
        return await say("cancelled")

    if step == "phone":
        if phone is None:
            tries = int(state.get("tries", 0)) + 1
            if tries >= MAX_PHONE_TRIES:
                _set_state(conversation, None)
                return await say("too_many_phone")
            _set_state(conversation, {**state, "tries": tries})
            return await say("bad_phone")
        customer = await customers.get_customer_by_contact(session=session, kind="phone", value=phone)
        if customer is None:
            log.info(
                "WeChat binding: phone %s is not a customer's; answered as if it were", mask_phone(phone)
            )
        return await _send_code(session, conversation, openid, customer=customer, message=message)

    # step == "code"
    if RESEND_COMMAND.match(text):
        known = state.get("customer_id")
        customer = (
            await customers.get_customer(session=session, customer_id=known)
            if isinstance(known, int)
            else None
        )
        return await _send_code(session, conversation, openid, customer=customer, message=message)
    if not is_code:
        return await say("ask_code")
    return await _check_code(
        session, conversation, openid, state=state, code=re.sub(r"\s", "", text), message=message
    )


async def _send_code(
    session: AsyncSession, conversation: Conversation, openid: str, *, customer: Any, message: StoredMessage
) -> BindingTurn:
    """Send a code to the customer's phone on file; for an unknown number send nothing but answer the same.

    Only the customer id and the challenge id are kept in the state, never the phone number typed.
    """
    minutes = max(1, get_settings().otp_ttl_seconds // 60)
    state: dict[str, Any] = {
        "step": "code",
        "customer_id": None,
        "challenge_id": None,
        "tries": 0,
        "started_at": utcnow().isoformat(),
    }
    if customer is not None:
        state["customer_id"] = customer.id
        try:
            challenge = await identity.do_send_otp(
                session=session,
                customer_id=customer.id,
                channel="wechat",
                conversation_id=conversation.id,
                purpose="wechat_binding",
                actor=_visitor(openid),
            )
        except RateLimited as exc:
            previous = conversation.context.get(STATE_KEY) or {}
            state["challenge_id"] = previous.get("challenge_id") if isinstance(previous, dict) else None
            _set_state(conversation, state)
            reply = _zh(exc, "验证码获取过于频繁，请稍后再试。")
            return BindingTurn(message, [await _bot(session, conversation, reply)])
        except DomainError as exc:
            _set_state(conversation, None)
            reason = _zh(exc, "暂时无法发送验证码。")
            return BindingTurn(
                message, [await _bot(session, conversation, TEXTS["restart"].format(reason=reason))]
            )
        state["challenge_id"] = challenge.public_id
    _set_state(conversation, state)
    return BindingTurn(
        message, [await _bot(session, conversation, TEXTS["code_sent"].format(minutes=minutes))]
    )


async def _check_code(
    session: AsyncSession,
    conversation: Conversation,
    openid: str,
    *,
    state: dict[str, Any],
    code: str,
    message: StoredMessage,
) -> BindingTurn:
    async def say(text: str) -> BindingTurn:
        return BindingTurn(message, [await _bot(session, conversation, text)])

    customer_id, challenge_id = state.get("customer_id"), state.get("challenge_id")
    max_attempts = get_settings().otp_max_attempts
    if not isinstance(customer_id, int) or not isinstance(challenge_id, str):
        # Unknown number (or no code could be sent): answer exactly like a wrong code.
        tries = int(state.get("tries", 0)) + 1
        if tries >= max_attempts:
            _set_state(conversation, None)
            return await say(TEXTS["locked"])
        _set_state(conversation, {**state, "tries": tries})
        return await say(TEXTS["wrong_code"].format(remaining=max_attempts - tries))
    try:
        await identity.do_verify_otp(
            session=session,
            challenge_public_id=challenge_id,
            code=code,
            customer_id=customer_id,
            actor=_visitor(openid),
        )
    except DomainError as exc:
        # The attempt count is already flushed; the caller commits it with this reply.
        if exc.code == "otp_wrong":
            remaining = (
                (exc.details or {}).get("remaining_attempts", 0) if isinstance(exc.details, dict) else 0
            )
            return await say(TEXTS["wrong_code"].format(remaining=remaining))
        _set_state(conversation, None)
        if exc.code == "otp_locked":
            return await say(TEXTS["locked"])
        return await say(TEXTS["restart"].format(reason=_zh(exc, "验证未通过。")))

    actor = Actor(type="customer", id=str(customer_id), name="微信绑定")
    holder = await customers.get_customer_by_contact(session=session, kind=CONTACT_KIND, value=openid)
    if holder is not None and holder.id != customer_id:
        _set_state(conversation, None)
        return await say(TEXTS["bound_elsewhere"])
    if holder is None:
        await customers.do_link_contact_point(
            session=session,
            customer_id=customer_id,
            kind=CONTACT_KIND,
            value=openid,
            actor=actor,
            verified=True,
        )
    if conversation.customer_id is not None and conversation.customer_id != customer_id:
        _set_state(conversation, None)
        return await say(TEXTS["bound_elsewhere"])
    await conversations.do_attach_customer(
        session=session, conversation=conversation, customer_id=customer_id, level="L2", actor=actor
    )
    _set_state(conversation, None)
    customer = await customers.get_customer(session=session, customer_id=customer_id)
    name = customers.display_name(customer) if customer is not None else "尊敬的客户"
    log.info("WeChat openid %s bound to customer %s", openid[:6] + "***", customer_id)
    return await say(TEXTS["done"].format(name=name))
