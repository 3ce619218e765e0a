"""Automation rules: simple orders completed without a person, through the CoreBanking port.

A rule (table `ticket_automation_rules`) matches on type, category and field values and names an
action registered here. An action either completes the order (auto-resolve, the customer confirms
as usual) or leaves a note saying why a person must take it — it never guesses. Every run is on
the timeline and in the audit log like any other action.

Actions:
- `card_replacement_dispatch`: a request to replace a damaged or expiring card, naming the card by its
  last four digits; orders the new card in the core system (mailed to the registered address).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.core.actor import Actor
from lingxi.core.masking import mask_card
from lingxi.customers import service as customers
from lingxi.customers.adapters.core_banking import CoreBankingRefused
from lingxi.tickets import service
from lingxi.tickets.models import AutomationRule, Ticket
from lingxi.tickets.timeline import add_event

ACTOR = Actor.system("automation")


@dataclass(frozen=True, slots=True)
class Outcome:
    done: bool
    detail: str


Action = Callable[[AsyncSession, Ticket, AutomationRule], Awaitable[Outcome]]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(func: Action) -> Action:
        ACTIONS[name] = func
        return func

    return register


def rule_matches(rule: AutomationRule, ticket: Ticket) -> bool:
    if rule.type not in (None, ticket.type) or rule.category not in (None, ticket.category):
        return False
    return all(ticket.fields.get(name) == value for name, value in (rule.conditions or {}).items())


async def do_run_automation(*, session: AsyncSession, ticket: Ticket) -> list[Outcome]:
    """Run the active rules matching a new order (in the order of their ids); stops after one completes it."""
    if ticket.status not in ("new", "assigned") or ticket.parent_id is not None:
        return []
    rules = (
        await session.scalars(
            select(AutomationRule).where(AutomationRule.active.is_(True)).order_by(AutomationRule.id)
        )
    ).all()
    outcomes = []
    for rule in rules:
        if not rule_matches(rule, ticket) or rule.action not in ACTIONS:
            continue
        outcome = await ACTIONS[rule.action](session, ticket, rule)
        outcomes.append(outcome)
        do_record(
            session=session,
            actor=ACTOR,
            action="ticket.automation",
            subject_type="ticket",
            subject_id=ticket.id,
            after={"rule": rule.code, "done": outcome.done, "detail": outcome.detail},
        )
        if outcome.done:
            break
    await session.flush()
    return outcomes


def _hand_over(session: AsyncSession, ticket: Ticket, rule: AutomationRule, why: str) -> Outcome:
    add_event(
        session,
        ticket,
        actor=ACTOR,
        kind="automation_skipped",
        note=f"自动处理规则「{rule.name}」未执行：{why}，请人工处理",
        data={"rule": rule.code},
    )
    return Outcome(done=False, detail=why)


@action("card_replacement_dispatch")
async def card_replacement(session: AsyncSession, ticket: Ticket, rule: AutomationRule) -> Outcome:
    """Order the new card through the CoreBanking port. The core system mails it to the registered
    address; picking it up at a branch needs the branch's counter, so such orders go to a person."""
    tail = ticket.fields.get("card_tail4")
    if not tail:
        return _hand_over(session, ticket, rule, "缺少卡号后四位")
    if ticket.fields.get("delivery") == "branch_pickup":
        return _hand_over(session, ticket, rule, "客户选择网点自取，需网点办理")
    core = customers.get_core_banking(session)
    cards = [c for c in await core.list_cards(ticket.customer_id) if c.card_no.endswith(tail)]
    if len(cards) != 1:
        return _hand_over(session, ticket, rule, "未找到唯一匹配的卡片" if not cards else "有多张卡尾号相同")
    if cards[0].status in ("lost", "blocked"):
        return _hand_over(session, ticket, rule, "卡片已挂失或止付，需按补卡流程核实身份")
    reason = {"damaged": "damaged", "expiring": "expiring"}.get(ticket.fields.get("reason") or "", "damaged")
    try:
        receipt = await core.order_replacement_card(ticket.customer_id, cards[0].card_no, reason=reason)
    except CoreBankingRefused as exc:
        return _hand_over(session, ticket, rule, f"核心系统拒绝：{exc.message_zh}")
    eta = receipt.detail.get("eta")
    when_zh = f"，预计 {eta} 前寄达您的预留地址" if eta else "，将寄至您的预留地址"
    when_en = f" and should reach your registered address by {eta}" if eta else " and will be mailed to you"
    note_zh = (
        f"已为尾号{tail}的卡片提交换卡申请（编号 {receipt.reference}）{when_zh}。"
        "收到新卡后请激活，旧卡随即失效。"
    )
    note_en = (
        f"A replacement for the card ending {tail} was ordered (ref. {receipt.reference}){when_en}. "
        "Activate it when it arrives; the old card then stops working."
    )
    await service.do_auto_resolve(
        session=session,
        ticket=ticket,
        note_zh=note_zh,
        note_en=note_en,
        actor=ACTOR,
        data={"rule": rule.code, "reference": receipt.reference, "card": mask_card(cards[0].card_no)},
    )
    return Outcome(done=True, detail=receipt.reference)
