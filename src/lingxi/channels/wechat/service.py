"""The WeChat Official Account channel: one push in, at most one passive reply out, nothing twice.

`receive` is what the callback view calls once the request is authenticated and parsed:

1. Claim the push's dedup key (`MsgId`; events: openid + CreateTime + event) in a committed
   transaction of its own (`lingxi.channels.deliveries`).
2. The winner processes the push in a task with its own transaction: open or continue the WeChat
   conversation of the openid (a bound openid is its customer at L1, plus any unexpired step-up),
   store the customer's message with `client_msg_id` = the dedup key, let the bot (or the binding
   dialogue, or a menu action) answer, and mark the delivery done — all in one commit.
3. If the answers are ready before `settings.wechat_passive_reply_seconds`, they go back as one
   passive text reply (also stored, so that a retry gets the same reply). Otherwise the request
   answers "success" at the deadline and the answers are marked "pending" and delivered through the
   customer-service-message adapter by the `wechat.deliver` event handler (`handlers.py`).
4. A retry that finds the key "processing" waits (until its own deadline) for the outcome, then
   answers with the stored passive reply or "success"; "done" answers at once.

Which of passive/async wins is decided in one place (`_ReplyRace`), without an await in between, so
a reply can never be both sent passively and dropped, or sent twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot import service as bot
from lingxi.channels import deliveries
from lingxi.channels import service as channels
from lingxi.channels.wechat import binding
from lingxi.channels.wechat.adapters import mask_openid
from lingxi.channels.wechat.messages import Inbound, text_reply
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, Message, StoredMessage
from lingxi.core.db import commit, get_database
from lingxi.core.events import emit
from lingxi.customers import service as customers
from lingxi.identity import service as identity
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.channels.wechat")

CHANNEL = "wechat"
DELIVERY_KEY = "wechat_delivery"  # in Message.payload: passive | pending | sent
DELIVER_TOPIC = "wechat.deliver"
ANONYMOUS_NAME = "微信用户"
POLL_SECONDS = 0.1

WELCOME = (
    "您好，欢迎关注灵犀银行！我是智能客服“灵犀助手”，7×24小时为您服务。\n"
    "· 直接发送文字即可咨询业务；\n"
    "· 回复“绑定”（或点击菜单“绑定账户”），验证预留手机号后即可绑定银行账户，查询工单、办理业务更便捷；\n"
    "· 回复“人工”可转接人工客服。"
)
WELCOME_BACK = (
    "{name}，欢迎回来！您的微信已绑定本行账户。直接发送文字即可咨询业务，回复“人工”可转接人工客服。"
)
MEDIA_HINT = "目前仅支持文字消息，请用文字描述您的问题；如需人工服务，请回复“人工”。"
NEED_BINDING = "查询工单需要先绑定银行账户，请回复“绑定”开始绑定。"
ALREADY_QUEUED = "您已在排队中，客服接入后会第一时间回复您，请稍候。"
UNKNOWN_MENU = "抱歉，该菜单暂不可用，请直接发送文字咨询。"

# Custom-menu keys (configure the same keys in the Official Account's menu, see docs/channels.md):
#   key -> (action, label shown in the timeline, utterance for "ask")
MENU: dict[str, tuple[str, str, str | None]] = {
    "HUMAN_AGENT": ("handoff", "转人工客服", None),
    "BIND_ACCOUNT": ("bind", "绑定账户", None),
    "MY_TICKETS": ("ask_bound", "我的工单", "查询我的工单进度"),
}
EVENT_TEXT = {"subscribe": "关注了公众号", "unsubscribe": "取消关注公众号"}
MEDIA_TEXT = {
    "image": "[图片]",
    "voice": "[语音]",
    "video": "[视频]",
    "shortvideo": "[小视频]",
    "location": "[位置]",
    "link": "[链接]",
    "file": "[文件]",
}
MEDIA_FIELDS = (
    "MediaId",
    "PicUrl",
    "Format",
    "ThumbMediaId",
    "Location_X",
    "Location_Y",
    "Scale",
    "Label",
    "Title",
    "Description",
    "Url",
)


def lease_seconds() -> float:
    """How old a "processing" claim must be before a retry presumes its process dead and takes over."""
    return max(5.0, 2 * get_settings().wechat_passive_reply_seconds)


def client_msg_id_for(dedup_key: str) -> str:
    """The dedup key, as the customer message's client_msg_id (hashed if it would not fit 64 chars)."""
    if len(dedup_key) <= 64:
        return dedup_key
    return "wx:" + hashlib.sha256(dedup_key.encode()).hexdigest()[:48]


def loggable(dedup_key: str) -> str:
    """The dedup key for logs: an event key names the openid, which is cut like everywhere in logs."""
    if dedup_key.startswith("evt:"):
        _, openid, rest = dedup_key.split(":", 2)
        return f"evt:{mask_openid(openid)}:{rest}"
    return dedup_key


# --- processing one push ----------------------------------------------------------------------------


async def get_or_open_wechat_conversation(*, session: AsyncSession, openid: str) -> tuple[Conversation, Any]:
    """The open WeChat conversation of this openid: its bound customer's (L1 + carry-over) or anonymous."""
    customer = await customers.get_customer_by_contact(
        session=session, kind=binding.CONTACT_KIND, value=openid
    )
    if customer is None:
        conversation, _ = await conversations.get_or_open_conversation(
            session=session, channel=CHANNEL, channel_user_id=openid, verification_level="L0"
        )
        return conversation, None
    level, _ = await identity.get_effective_level(session=session, customer_id=customer.id, base_level="L1")
    conversation, _ = await conversations.get_or_open_conversation(
        session=session,
        channel=CHANNEL,
        customer_id=customer.id,
        channel_user_id=openid,
        verification_level=level,
    )
    return conversation, customer


async def _bot_says(session: AsyncSession, conversation: Conversation, text: str) -> StoredMessage:
    return await conversations.do_add_bot_message(session=session, conversation=conversation, text=text)


async def _record_event(
    session: AsyncSession,
    conversation: Conversation,
    inbound: Inbound,
    client_msg_id: str,
    sender_name: str,
    content: str,
) -> tuple[StoredMessage, bool]:
    payload: dict[str, Any] = {"event": inbound.event}
    if inbound.event_key:
        payload["event_key"] = inbound.event_key[:200]
    return await conversations.do_add_message(
        session=session,
        conversation=conversation,
        sender_type="customer",
        content=content,
        content_type="event",
        client_msg_id=client_msg_id,
        sender_name=sender_name,
        payload=payload,
    )


async def do_process_inbound(
    *, session: AsyncSession, inbound: Inbound, client_msg_id: str
) -> tuple[int | None, list[StoredMessage]]:
    """Store one push and produce the answers; returns (the customer's stored message id, answers).

    Flushes only; the caller commits (together with the delivery's "done" mark).
    """
    openid = inbound.from_user
    if inbound.msg_type == "event":
        event = inbound.event or ""
        if event not in ("subscribe", "unsubscribe", "CLICK"):
            # VIEW (menu link), SCAN, LOCATION, template-send reports…: acknowledged, nothing stored.
            log.debug("WeChat event %s from %s ignored", event, mask_openid(openid))
            return None, []
    conversation, customer = await get_or_open_wechat_conversation(session=session, openid=openid)
    sender_name = customers.display_name(customer) if customer is not None else ANONYMOUS_NAME

    if inbound.msg_type == "text" or (inbound.msg_type == "voice" and inbound.extra.get("Recognition")):
        text = inbound.content if inbound.msg_type == "text" else inbound.extra["Recognition"]
        return await _on_text(session, conversation, openid, text or "", client_msg_id, sender_name)
    if inbound.msg_type == "event":
        return await _on_event(session, conversation, customer, inbound, client_msg_id, sender_name)
    # Pictures, voice without recognition, video, location, links: recorded, and the customer is told.
    payload = {
        "msg_type": inbound.msg_type,
        **{k: inbound.extra[k][:500] for k in MEDIA_FIELDS if k in inbound.extra},
    }
    message, created = await conversations.do_add_message(
        session=session,
        conversation=conversation,
        sender_type="customer",
        content=MEDIA_TEXT.get(inbound.msg_type, f"[{inbound.msg_type}]"),
        content_type="media",
        client_msg_id=client_msg_id,
        sender_name=sender_name,
        payload=payload,
    )
    if not created or conversation.status != "bot":
        return message.id, []
    return message.id, [await _bot_says(session, conversation, MEDIA_HINT)]


async def _on_text(
    session: AsyncSession,
    conversation: Conversation,
    openid: str,
    text: str,
    client_msg_id: str,
    sender_name: str,
) -> tuple[int | None, list[StoredMessage]]:
    start = binding.wants_binding(text) and conversation.status in ("bot", "queued")
    if start or (binding.in_progress(conversation) and conversation.status in ("bot", "queued")):
        turn = await binding.do_binding_turn(
            session=session,
            conversation=conversation,
            openid=openid,
            text=text,
            client_msg_id=client_msg_id,
            sender_name=sender_name,
            start=start,
        )
        return turn.customer_message.id, turn.replies
    message, replies = await channels.do_receive_from_customer(
        session=session,
        conversation=conversation,
        text=text,
        client_msg_id=client_msg_id,
        sender_name=sender_name,
    )
    return message.id, replies


async def _on_event(
    session: AsyncSession,
    conversation: Conversation,
    customer: Any,
    inbound: Inbound,
    client_msg_id: str,
    sender_name: str,
) -> tuple[int | None, list[StoredMessage]]:
    event = inbound.event or ""
    if event in ("subscribe", "unsubscribe"):
        message, created = await _record_event(
            session, conversation, inbound, client_msg_id, sender_name, EVENT_TEXT[event]
        )
        if not created or event == "unsubscribe":
            return message.id, []  # an unsubscribed user cannot be written to
        text = WELCOME_BACK.format(name=sender_name) if customer is not None else WELCOME
        return message.id, [await _bot_says(session, conversation, text)]

    key = (inbound.event_key or "").strip()
    action, label, utterance = MENU.get(key, ("unknown", key[:40] or "?", None))
    if action == "ask_bound" and customer is not None and utterance:
        # The click is the customer's request, recorded as such and answered by the bot.
        message, created = await conversations.do_add_message(
            session=session,
            conversation=conversation,
            sender_type="customer",
            content=utterance,
            client_msg_id=client_msg_id,
            sender_name=sender_name,
            payload={"via": "menu", "event_key": key},
        )
        if not created:
            return message.id, []
        return message.id, await bot.do_bot_turn(session=session, conversation=conversation, message=message)
    if action == "bind":
        turn = await binding.do_binding_turn(
            session=session,
            conversation=conversation,
            openid=inbound.from_user,
            text=f"点击菜单：{label}",
            client_msg_id=client_msg_id,
            sender_name=sender_name,
            start=True,
        )
        return turn.customer_message.id, turn.replies

    message, created = await _record_event(
        session, conversation, inbound, client_msg_id, sender_name, f"点击菜单：{label}"
    )
    if not created:
        return message.id, []
    if action == "ask_bound":
        return message.id, [await _bot_says(session, conversation, NEED_BINDING)]
    if action == "handoff":
        if conversation.status == "bot":
            replies = await bot.do_request_handoff(
                session=session, conversation=conversation, reason="customer_request"
            )
            return message.id, replies
        if conversation.status == "queued":
            return message.id, [await _bot_says(session, conversation, ALREADY_QUEUED)]
        return message.id, []  # an agent is already there and sees the click
    log.warning("WeChat menu key %r is not configured", key[:40])
    return message.id, [await _bot_says(session, conversation, UNKNOWN_MENU)]


async def do_mark_delivery(
    *, session: AsyncSession, messages: Sequence[Message | StoredMessage], state: str
) -> None:
    """Record on each message how it reaches the WeChat user: passive | pending | sent.

    Written with an UPDATE by id: `conversations.do_add_message` returns plain values, not objects
    the session tracks.
    """
    for message in messages:
        payload = {**(message.payload or {}), DELIVERY_KEY: state}
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )


# --- passive vs. asynchronous reply -------------------------------------------------------------


class _ReplyRace:
    """Who decides how the answers go out: the processing (passive) or the request's deadline (async).

    Both sides run on one event loop and neither awaits between reading and setting `mode`.
    """

    def __init__(self) -> None:
        self.mode: str | None = None

    def decide(self) -> str:
        if self.mode is None:
            self.mode = "passive"
        return self.mode

    def give_up(self) -> bool:
        """Called at the deadline; True if the request may answer "success" now."""
        if self.mode is None:
            self.mode = "async"
        return self.mode == "async"


_background: set[asyncio.Task[str | None]] = set()


async def _run(inbound: Inbound, claim: deliveries.Claim, race: _ReplyRace) -> str | None:
    """Process the claimed push in its own transaction; returns the passive reply XML (plain) or None."""
    session = get_database().sessionmaker()
    try:
        async with session:
            try:
                message_id, replies = await do_process_inbound(
                    session=session, inbound=inbound, client_msg_id=client_msg_id_for(claim.dedup_key)
                )
                texts = [m.content for m in replies if m.content_type != "event" and m.content.strip()]
                mode = race.decide()
                reply_xml: str | None = None
                if texts and mode == "passive":
                    reply_xml = text_reply(
                        to_user=inbound.from_user, from_user=inbound.to_user, content="\n\n".join(texts)
                    )
                    await do_mark_delivery(session=session, messages=replies, state="passive")
                elif replies:
                    await do_mark_delivery(session=session, messages=replies, state="pending")
                    emit(session, DELIVER_TOPIC, {"message_ids": [m.id for m in replies]})
                await deliveries.do_complete_delivery(
                    session=session,
                    claim=claim,
                    reply=reply_xml,
                    reply_mode=mode if replies else None,
                    message_id=message_id,
                )
                await commit(session)
                return reply_xml
            except BaseException:
                session.info.pop("after_commit", None)
                await session.rollback()
                raise
    except deliveries.ClaimLost:
        log.warning(
            "WeChat push %s: claim taken over by a retry; this attempt stored nothing",
            loggable(claim.dedup_key),
        )
        raise
    except BaseException:
        await deliveries.release_claim(claim)
        if race.mode == "async":
            log.exception(
                "WeChat push %s failed after the request answered; a retry will process it",
                loggable(claim.dedup_key),
            )
        raise


async def receive(*, inbound: Inbound, deadline: float) -> str | None:
    """Handle one authenticated push; returns the passive reply XML (plain), or None for "success".

    `deadline` is the event-loop time by which the request must answer.
    """
    loop = asyncio.get_running_loop()
    key = inbound.dedup_key
    while True:
        outcome = await deliveries.claim_delivery(
            channel=CHANNEL, dedup_key=key, lease_seconds=lease_seconds()
        )
        if isinstance(outcome, deliveries.Claim):
            if outcome.taken_over:
                log.warning(
                    "WeChat push %s: took over a stale claim (its process presumably died)", loggable(key)
                )
            return await _process_within_deadline(inbound, outcome, deadline)
        if outcome.status == "done":
            return outcome.reply if outcome.reply_mode == "passive" else None
        # Another attempt is processing this push: wait for its outcome until our own deadline.
        while loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            snapshot = await deliveries.get_delivery(channel=CHANNEL, dedup_key=key)
            if snapshot is None or snapshot.is_stale(lease_seconds()):
                break  # released after a failure, or presumed dead: try to claim it ourselves
            if snapshot.status == "done":
                return snapshot.reply if snapshot.reply_mode == "passive" else None
        else:
            log.info("WeChat push %s still processing at the deadline; answered success", loggable(key))
            return None


async def _process_within_deadline(inbound: Inbound, claim: deliveries.Claim, deadline: float) -> str | None:
    loop = asyncio.get_running_loop()
    race = _ReplyRace()
    task = asyncio.create_task(_run(inbound, claim, race), name=f"wechat:{claim.dedup_key}")
    _background.add(task)
    task.add_done_callback(_forget)
    done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
    if task in done:
        return task.result()
    if race.give_up():
        log.info(
            "WeChat push %s not answered within the passive window; reply goes by customer-service message",
            loggable(claim.dedup_key),
        )
        return None
    # The processing already chose a passive reply and is committing it: wait for it (never cancel it).
    return await asyncio.shield(task)


def _forget(task: asyncio.Task[str | None]) -> None:
    _background.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved here; failures are logged in _run


async def wait_for_background() -> None:
    """Let unfinished processing tasks end (tests, shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
