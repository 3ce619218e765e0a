"""What the customer reads about an order: plain-language progress in Chinese or English.

Only customer-visible timeline events are shown; each becomes a sentence made from its kind (and the
note staff wrote for the customer). Times are the bank's local time. The same sentences are pushed to
the customer's channel when a change happens (see `notice_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lingxi.core.masking import mask_text
from lingxi.settings import get_settings
from lingxi.tickets import clock
from lingxi.tickets.categories import BY_ID
from lingxi.tickets.constants import OPEN_STATUSES, STATUS_LABELS, TYPE_LABELS
from lingxi.tickets.models import Ticket, TicketAttachment, TicketEvent
from lingxi.tickets.schemas import (
    AttachmentRead,
    CustomerActions,
    CustomerProgress,
    MyTicketSummary,
    ProgressStep,
)

# kind -> (zh, en); "{note}" is the note staff wrote for the customer, "{other}" another order's number.
STEP_TEXTS: dict[str, tuple[str, str]] = {
    "created": ("工单已受理", "Your request was received"),
    "started": ("专人已开始处理您的工单", "A specialist started working on it"),
    "info_requested": ("需要您补充信息：{note}", "We need more information: {note}"),
    "customer_info": ("您补充了信息", "You added information"),
    "resumed": ("已收到您的补充信息，继续处理中", "We received your information and continue"),
    "resolved": ("已处理完毕：{note}", "Handled: {note}"),
    "closed": ("工单已完结", "The request is closed"),
    "auto_closed": ("您未提出异议，工单已自动完结", "No objection was raised; the request closed"),
    "cancelled": ("工单已撤销", "The request was cancelled"),
    "reopened": ("工单已重新打开，将继续为您处理", "The request was reopened and is being handled again"),
    "comment": ("客服回复：{note}", "Message from us: {note}"),
    "urged": ("您已催办，我们已提醒处理人员优先处理", "You asked us to hurry; the handler was reminded"),
    "attachment": ("已上传附件", "An attachment was added"),
    "merged": ("与工单 {other} 合并处理", "Merged into request {other}; follow it there"),
    "merged_from": ("工单 {other} 已并入本工单一并处理", "Request {other} is now handled together here"),
    "rated": ("感谢您的评价", "Thank you for your rating"),
    "automation": ("{note}", "{note}"),
    "subtask": ("已协调相关部门共同处理", "Another department is helping with it"),
}
_EN_NOTES = {"automation"}  # automation notes are stored bilingual: data["note_en"]

SUMMARY: dict[str, tuple[str, str]] = {
    "new": (
        "我们已收到您的工单，将尽快安排专人处理。",
        "We have your request and will assign a specialist soon.",
    ),
    "assigned": ("已安排专人负责您的工单。", "A specialist has been assigned to your request."),
    "in_progress": ("您的工单正在处理中。", "Your request is being handled."),
    "pending_customer": (
        "处理需要您补充信息，补充后我们会立即继续。",
        "We need some information from you to continue.",
    ),
    "resolved": (
        "您的工单已处理完毕，请确认结果；如有疑问可重新打开。",
        "Your request has been handled. Please confirm, or reopen it if something is not right.",
    ),
    "closed": ("您的工单已完结，感谢您的耐心。", "Your request is closed. Thank you for your patience."),
    "cancelled": ("该工单已撤销。", "This request was cancelled."),
    "reopened": ("工单已重新打开，我们会继续处理。", "The request was reopened; we are on it again."),
}
NEXT_STEP: dict[str, tuple[str, str]] = {
    "pending_customer": (
        "请在下方补充信息或上传材料。",
        "Please add the information or upload documents below.",
    ),
    "resolved": (
        "请确认处理结果，并为本次服务评分。",
        "Please confirm the result and rate the service.",
    ),
}
STAGES = {"new": 0, "assigned": 0, "in_progress": 1, "pending_customer": 1, "reopened": 1, "resolved": 2}


def is_english(language: str | None) -> bool:
    return (language or "").lower().startswith("en")


def local_time(moment: datetime, language: str) -> str:
    local = moment.astimezone(ZoneInfo(get_settings().bank_timezone))
    if is_english(language):
        return local.strftime("%d %b %H:%M")
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def step_text(event: TicketEvent, language: str) -> str:
    zh, en = STEP_TEXTS.get(event.kind, ("工单有新进展", "Your request has an update"))
    english = is_english(language)
    template = en if english else zh
    data = event.data or {}
    note = (data.get("note_en") if english and event.kind in _EN_NOTES else None) or event.note or ""
    text = template.format(note=mask_text(note) or "", other=data.get("other_no", ""))
    return text.rstrip("：: ")


def customer_actions(ticket: Ticket, *, now: datetime | None = None) -> CustomerActions:
    settings = get_settings()
    now = now or clock.now()
    open_ = ticket.status in OPEN_STATUSES
    urge_ready = ticket.last_urged_at is None or now - ticket.last_urged_at >= timedelta(
        minutes=settings.ticket_urge_interval_minutes
    )
    reopenable = ticket.status == "resolved" or (
        ticket.status == "closed"
        and ticket.merged_into_id is None
        and ticket.closed_at is not None
        and now - ticket.closed_at <= timedelta(days=settings.ticket_reopen_days)
    )
    return CustomerActions(
        add_info=open_,
        urge=open_ and urge_ready,
        cancel=open_,
        confirm=ticket.status == "resolved",
        reopen=reopenable,
        rate=ticket.status in ("resolved", "closed")
        and ticket.rating is None
        and ticket.merged_into_id is None,
    )


def _summary(ticket: Ticket, language: str) -> tuple[str, datetime | None]:
    english = is_english(language)
    zh, en = SUMMARY.get(ticket.status, ("", ""))
    text = en if english else zh
    expected = None
    if ticket.status in ("new", "assigned", "in_progress", "reopened") and ticket.due_at is not None:
        expected = ticket.due_at
        when = local_time(ticket.due_at, language)
        text += f" We expect to finish by {when}." if english else f"预计 {when} 前处理完毕。"
    return text, expected


def labels(ticket: Ticket, language: str) -> tuple[str, str, str]:
    """(type label, category label, status label) in the customer's language."""
    english = is_english(language)
    pick = 1 if english else 0
    category = BY_ID.get(ticket.category)
    category_label = (category.en if english else category.zh) if category else ticket.category
    return (
        TYPE_LABELS[ticket.type][pick],
        category_label,
        STATUS_LABELS[ticket.status][pick],
    )


def customer_view(
    ticket: Ticket,
    timeline: Sequence[TicketEvent],
    *,
    language: str | None = None,
    attachments: Sequence[TicketAttachment] = (),
    numbers: dict[int, str] | None = None,
) -> CustomerProgress:
    """Plain-language progress of `ticket` for its customer (zh-CN or en; default: the order's).

    `timeline` may include events of orders merged into this one (their steps are kept); `numbers`
    maps those orders' ids to their numbers. Internal events are never shown, whatever is passed.
    """
    language = language or ticket.language
    type_label, category_label, status_label = labels(ticket, language)
    summary, expected = _summary(ticket, language)
    next_zh, next_en = NEXT_STEP.get(ticket.status, ("", ""))
    numbers = numbers or {}
    steps = [
        ProgressStep(
            at=event.at,
            kind=event.kind,
            text=step_text(event, language),
            ticket_no=numbers.get(event.ticket_id, ticket.ticket_no),
        )
        for event in sorted(timeline, key=lambda e: (e.at, e.id or 0))
        if event.visibility == "customer"
    ]
    return CustomerProgress(
        ticket_no=ticket.ticket_no,
        title=mask_text(ticket.title) or "",
        type=ticket.type,
        type_label=type_label,
        category_label=category_label,
        status=ticket.status,
        status_label=status_label,
        stage=STAGES.get(ticket.status, 3),
        summary=summary,
        next_step=next_en if is_english(language) else next_zh,
        expected_by=expected,
        resolution=mask_text(ticket.resolution) if ticket.status in ("resolved", "closed") else None,
        rating=ticket.rating,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        steps=steps,
        attachments=[
            AttachmentRead.model_validate(a, from_attributes=True)
            for a in attachments
            if a.visibility == "customer"
        ],
        actions=customer_actions(ticket),
        language="en" if is_english(language) else "zh-CN",
    )


def customer_summary(ticket: Ticket, language: str | None = None) -> MyTicketSummary:
    language = language or ticket.language
    type_label, category_label, status_label = labels(ticket, language)
    return MyTicketSummary(
        ticket_no=ticket.ticket_no,
        title=mask_text(ticket.title) or "",
        type=ticket.type,
        type_label=type_label,
        category_label=category_label,
        status=ticket.status,
        status_label=status_label,
        stage=STAGES.get(ticket.status, 3),
        summary=_summary(ticket, language)[0],
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def notice_text(ticket: Ticket, event: TicketEvent) -> str:
    """The push message for a customer-visible change (SMS, WeChat, app push)."""
    language = ticket.language
    step = step_text(event, language)
    if is_english(language):
        return f"[Lingxi Bank] Request {ticket.ticket_no}: {step}. Details: app > My requests."
    return f"【灵犀银行】您的工单{ticket.ticket_no}：{step}。详情请在手机银行“我的工单”查看。"
