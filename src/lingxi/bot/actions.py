"""The actions flows call (`call: name`): reads and requests through the CoreBanking port.

Each action declares the fields it provides under its `save_as` name, so that flow files are checked
at load time ({quote.total_fee} must exist). Actions say what only code can say (cards of balances,
bills, transactions) and return values for the flow's own texts. A `CoreBankingRefused` raised here
is told to the customer by the dialogue and ends the flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot.replies import Reply, card_reply
from lingxi.bot.slots import date_text, money_text, tail
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.customers.adapters.core_banking import CoreBanking, Transaction
from lingxi.nlu.entities import BANK_TIMEZONE
from lingxi.tickets import service as tickets


@dataclass(slots=True)
class ActionContext:
    session: AsyncSession
    conversation: Conversation
    customer_id: int
    language: str
    values: dict[str, Any]  # filled slots and earlier actions' results, by name
    core: CoreBanking
    params: dict[str, Any]  # the flow's `data:` block

    @property
    def en(self) -> bool:
        return self.language.startswith("en")

    def t(self, zh: str, en: str) -> str:
        return en if self.en else zh

    def slot(self, name: str) -> str:
        value = self.values.get(name)
        return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")


@dataclass(slots=True)
class ActionResult:
    values: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    end: bool = False  # nothing more to do (e.g. no bill): the flow stops after these replies


ActionFn = Callable[[ActionContext], Awaitable[ActionResult]]


@dataclass(frozen=True, slots=True)
class Action:
    fn: ActionFn
    provides: tuple[str, ...]


ACTIONS: dict[str, Action] = {}


def action(*provides: str) -> Callable[[ActionFn], ActionFn]:
    def register(fn: ActionFn) -> ActionFn:
        ACTIONS[fn.__name__] = Action(fn, provides)
        return fn

    return register


def _receipt_values(receipt: Any, ctx: ActionContext) -> dict[str, Any]:
    return {"reference": receipt.reference, "status": receipt.status, **receipt.detail}


# --- accounts and cards ------------------------------------------------------------------------------


@action()
async def show_balance(ctx: ActionContext) -> ActionResult:
    from lingxi.bot.slots import ACCOUNT_KINDS

    accounts = [a for a in await ctx.core.list_accounts(ctx.customer_id) if a.status != "closed"]
    if not accounts:
        return ActionResult(
            replies=[Reply(ctx.t("您名下暂无可查询的账户。", "You have no account to show."))]
        )
    rows = []
    for a in accounts:
        kind = ACCOUNT_KINDS.get(a.kind, (a.kind, a.kind))[1 if ctx.en else 0]
        note = ctx.t(
            f"可用 {money_text(a.available, ctx.language)}", f"available {money_text(a.available, 'en')}"
        )
        if a.status == "frozen":
            note += ctx.t("，账户冻结中", ", frozen")
        currency = "" if a.currency == "CNY" else f" {a.currency}"
        rows.append(
            (f"{kind} {ctx.t('尾号', 'ending ')}{tail(a.account_no)}", f"{a.balance:,.2f}{currency}", note)
        )
    return ActionResult(
        replies=[
            card_reply(
                kind="balance",
                title=ctx.t("您的账户余额", "Your balances"),
                rows=rows,
                footer=ctx.t("余额为实时数据，仅您本人可见。", "Live figures, shown only to you."),
                language=ctx.language,
            )
        ]
    )


def _transaction_row(t: Transaction, ctx: ActionContext) -> tuple[str, str, str]:
    when = t.booked_at.astimezone(BANK_TIMEZONE)
    sign = "+" if t.amount > 0 else "-"
    return (f"{when:%m-%d %H:%M} {t.counterparty}", f"{sign}{abs(t.amount):,.2f}", t.description)


@action("count")
async def show_transactions(ctx: ActionContext) -> ActionResult:
    account = ctx.slot("account")
    limit = int(ctx.params.get("limit", 10))
    transactions = await ctx.core.list_transactions(ctx.customer_id, account, limit=limit)
    if not transactions:
        text = ctx.t("该账户近期没有交易记录。", "No recent transactions on this account.")
        return ActionResult(values={"count": "0"}, replies=[Reply(text)])
    title = ctx.t(
        f"尾号{tail(account)}最近{len(transactions)}笔交易",
        f"Last {len(transactions)} transactions, ending {tail(account)}",
    )
    footer = ctx.t(
        "如需完整流水或打印对账单，可在手机银行“明细查询”中导出。",
        "Export the full statement in the app under Transactions.",
    )
    rows = [_transaction_row(t, ctx) for t in transactions]
    return ActionResult(
        values={"count": str(len(transactions))},
        replies=[
            card_reply(kind="transactions", title=title, rows=rows, footer=footer, language=ctx.language)
        ],
    )


@action("reference", "reason")
async def block_card(ctx: ActionContext) -> ActionResult:
    receipt = await ctx.core.block_card(
        ctx.customer_id, ctx.slot("card"), reason=ctx.slot("reason") or "lost"
    )
    return ActionResult(values=_receipt_values(receipt, ctx))


@action("reference", "eta", "product")
async def order_replacement_card(ctx: ActionContext) -> ActionResult:
    reason = ctx.slot("reason") or "damaged"
    receipt = await ctx.core.order_replacement_card(ctx.customer_id, ctx.slot("card"), reason=reason)
    values = _receipt_values(receipt, ctx)
    values["eta"] = date_text(date.fromisoformat(receipt.detail["eta"]), ctx.language)
    return ActionResult(values=values)


@action("reference", "minutes")
async def start_password_reset(ctx: ActionContext) -> ActionResult:
    receipt = await ctx.core.start_password_reset(ctx.customer_id, kind=ctx.slot("password"))
    return ActionResult(
        values={**_receipt_values(receipt, ctx), "minutes": str(receipt.detail["link_valid_minutes"])}
    )


@action("reference")
async def request_phone_change(ctx: ActionContext) -> ActionResult:
    receipt = await ctx.core.request_phone_change(ctx.customer_id, new_phone=ctx.slot("phone"))
    return ActionResult(values=_receipt_values(receipt, ctx))


# --- credit cards ------------------------------------------------------------------------------------


@action("total", "due_date", "min_payment", "open_amount", "open_amount_raw", "period")
async def show_bill(ctx: ActionContext) -> ActionResult:
    card = ctx.slot("card")
    bills = [b for b in await ctx.core.list_credit_bills(ctx.customer_id, periods=1) if b.card_no == card]
    if not bills:
        text = ctx.t("该卡本期暂无账单。", "There is no statement for this card yet.")
        return ActionResult(replies=[Reply(text)], end=True)
    bill = bills[0]
    open_amount = max(Decimal(0), bill.total - bill.paid)
    explanations: dict[str, dict[str, str]] = ctx.params.get("explanations", {})
    rows: list[tuple[str, str, str]] = [
        (ctx.t("账单周期", "Period"), bill.period, ""),
        (ctx.t("本期应还", "Statement balance"), money_text(bill.total, ctx.language), ""),
        (ctx.t("最低还款", "Minimum payment"), money_text(bill.minimum_payment, ctx.language), ""),
        (ctx.t("已还金额", "Paid"), money_text(bill.paid, ctx.language), ""),
        (ctx.t("到期还款日", "Due date"), date_text(bill.due_date, ctx.language), ""),
    ]
    explained: list[str] = []
    for item in bill.items[: int(ctx.params.get("items", 8))]:
        category = str(item.get("category", ""))
        note = category
        if category in explanations and category not in explained:
            note = explanations[category].get("en" if ctx.en else "zh-CN", category)
            explained.append(category)
        rows.append(
            (
                f"{item.get('date', '')} {item.get('merchant', '')}",
                f"{Decimal(str(item.get('amount', 0))):,.2f}",
                note,
            )
        )
    footer = ctx.t(
        f"本期账单共{len(bill.items)}笔交易。可回复“分期”办理账单分期。",
        f"{len(bill.items)} transactions on this statement. Reply 'instalments' to split it.",
    )
    title = ctx.t(
        f"信用卡（尾号{tail(card)}）{bill.period}账单", f"Card ending {tail(card)}: {bill.period} statement"
    )
    return ActionResult(
        values={
            "total": money_text(bill.total, ctx.language),
            "due_date": date_text(bill.due_date, ctx.language),
            "min_payment": money_text(bill.minimum_payment, ctx.language),
            "open_amount": money_text(open_amount, ctx.language),
            "open_amount_raw": str(open_amount),
            "period": bill.period,
        },
        replies=[card_reply(kind="bill", title=title, rows=rows, footer=footer, language=ctx.language)],
    )


@action("amount", "periods", "fee_rate", "total_fee", "per_period")
async def quote_installment(ctx: ActionContext) -> ActionResult:
    quote = await ctx.core.quote_installment(
        ctx.customer_id,
        ctx.slot("card"),
        amount=Decimal(ctx.slot("amount")),
        periods=int(ctx.slot("periods")),
    )
    return ActionResult(
        values={
            "amount": money_text(quote.amount, ctx.language),
            "periods": str(quote.periods),
            "fee_rate": f"{quote.fee_rate * 100:.2f}%",
            "total_fee": money_text(quote.total_fee, ctx.language),
            "per_period": money_text(quote.per_period, ctx.language),
        }
    )


@action("reference")
async def create_installment(ctx: ActionContext) -> ActionResult:
    receipt = await ctx.core.create_installment(
        ctx.customer_id,
        ctx.slot("card"),
        amount=Decimal(ctx.slot("amount")),
        periods=int(ctx.slot("periods")),
    )
    return ActionResult(values=_receipt_values(receipt, ctx))


@action("reference", "status", "outcome", "valid_until", "decision_by")
async def request_credit_limit_change(ctx: ActionContext) -> ActionResult:
    receipt = await ctx.core.request_credit_limit_change(
        ctx.customer_id,
        ctx.slot("card"),
        new_limit=Decimal(ctx.slot("amount")),
        temporary=ctx.slot("mode") == "temporary",
    )
    values = _receipt_values(receipt, ctx)
    values.setdefault("valid_until", "")
    values.setdefault("decision_by", "")
    if receipt.status == "completed":
        until = date_text(date.fromisoformat(receipt.detail["valid_until"]), ctx.language)
        values["valid_until"] = until
        values["outcome"] = ctx.t(
            f"临时额度已生效，有效期至{until}。", f"The temporary limit applies now, until {until}."
        )
    else:
        by = date_text(date.fromisoformat(receipt.detail["decision_by"]), ctx.language)
        values["decision_by"] = by
        values["outcome"] = ctx.t(
            f"申请已提交审核，预计{by}前以短信通知结果。",
            f"Your request is under review; we will text you the decision by {by}.",
        )
    return ActionResult(values=values)


@action()
async def show_application_progress(ctx: ActionContext) -> ActionResult:
    applications = await ctx.core.list_applications(ctx.customer_id)
    if not applications:
        text = ctx.t(
            "未查询到您近期的信用卡申请记录。如刚提交，通常1个工作日内可查询到进度。",
            "We found no recent credit card application; a new one shows up within one working day.",
        )
        return ActionResult(replies=[Reply(text)], end=True)
    rows = [
        (
            f"{a.product}",
            a.stage,
            ctx.t(f"申请日 {date_text(a.applied_on)}", f"applied {a.applied_on.isoformat()}"),
        )
        for a in applications[:5]
    ]
    title = ctx.t("您的信用卡申请进度", "Your credit card applications")
    footer = ctx.t(
        "审批通常需要3–7个工作日，结果会以短信通知。",
        "Reviews take 3–7 working days; we text you the result.",
    )
    return ActionResult(
        replies=[card_reply(kind="progress", title=title, rows=rows, footer=footer, language=ctx.language)]
    )


# --- loans and wealth ------------------------------------------------------------------------------


@action("reference", "ready_on")
async def request_settlement_certificate(ctx: ActionContext) -> ActionResult:
    receipt = await ctx.core.request_settlement_certificate(
        ctx.customer_id, ctx.slot("loan"), delivery=ctx.slot("delivery") or "electronic"
    )
    values = _receipt_values(receipt, ctx)
    values["ready_on"] = date_text(date.fromisoformat(receipt.detail["ready_on"]), ctx.language)
    return ActionResult(values=values)


@action("reference", "estimated_amount", "rule", "units")
async def redeem_wealth(ctx: ActionContext) -> ActionResult:
    portion = ctx.slot("portion")
    units = None if portion in ("", "all") else Decimal(ctx.slot("units"))
    receipt = await ctx.core.redeem_wealth(ctx.customer_id, ctx.slot("holding"), units=units)
    values = _receipt_values(receipt, ctx)
    values["estimated_amount"] = money_text(receipt.detail["estimated_amount"], ctx.language)
    values["units"] = f"{Decimal(receipt.detail['units']):,.2f}"
    return ActionResult(values=values)


# --- payments: transfers not received, charges not recognised -----------------------------------------


async def _recent_debits(ctx: ActionContext, days: int) -> list[tuple[str, Transaction]]:
    """(account or card number, transaction) of the customer's debits in the last `days` days."""
    since = date.today() - timedelta(days=days)
    found: list[tuple[str, Transaction]] = []
    numbers = [a.account_no for a in await ctx.core.list_accounts(ctx.customer_id)]
    numbers += [c.card_no for c in await ctx.core.list_cards(ctx.customer_id) if c.kind == "credit"]
    for number in numbers:
        for t in await ctx.core.list_transactions(ctx.customer_id, number, limit=200):
            if t.amount < 0 and t.booked_at.astimezone(BANK_TIMEZONE).date() >= since:
                found.append((number, t))
    return found


def _near(t: Transaction, wanted: Decimal, day: str) -> bool:
    if abs(abs(t.amount) - wanted) > Decimal("0.005"):
        return False
    if not day:
        return True
    return abs((t.booked_at.astimezone(BANK_TIMEZONE).date() - date.fromisoformat(day)).days) <= 2


@action("found", "when", "account_tail", "counterparty", "hours_ago")
async def find_transfer(ctx: ActionContext) -> ActionResult:
    wanted = Decimal(ctx.slot("amount"))
    matches = [(n, t) for n, t in await _recent_debits(ctx, 60) if _near(t, wanted, ctx.slot("date"))]
    if not matches:
        return ActionResult(
            values={"found": "no", "when": "", "account_tail": "", "counterparty": "", "hours_ago": ""}
        )
    number, t = matches[0]
    from lingxi.core.timeutil import utcnow

    hours = int((utcnow() - t.booked_at).total_seconds() // 3600)
    return ActionResult(
        values={
            "found": "yes" if hours >= int(ctx.params.get("processing_hours", 24)) else "processing",
            "when": f"{t.booked_at.astimezone(BANK_TIMEZONE):%Y-%m-%d %H:%M}",
            "account_tail": tail(number),
            "counterparty": t.counterparty,
            "hours_ago": str(hours),
        }
    )


@action("found", "known", "merchant", "when", "explanation", "card_tail")
async def find_charge(ctx: ActionContext) -> ActionResult:
    wanted = Decimal(ctx.slot("amount"))
    matches = [(n, t) for n, t in await _recent_debits(ctx, 90) if _near(t, wanted, ctx.slot("date"))]
    empty = {"found": "no", "known": "no", "merchant": "", "when": "", "explanation": "", "card_tail": ""}
    if not matches:
        return ActionResult(values=empty)
    number, t = matches[0]
    explanations: dict[str, dict[str, str]] = ctx.params.get("known_charges", {})
    explanation = ""
    for keyword, texts in explanations.items():
        if keyword in t.description or keyword in t.counterparty:
            explanation = texts.get("en" if ctx.en else "zh-CN", "")
            break
    return ActionResult(
        values={
            "found": "yes",
            "known": "yes" if explanation else "no",
            "merchant": t.counterparty,
            "when": f"{t.booked_at.astimezone(BANK_TIMEZONE):%Y-%m-%d %H:%M}",
            "explanation": explanation,
            "card_tail": tail(number),
        }
    )


# --- work orders -----------------------------------------------------------------------------------


@action("reference", "existing", "expected_by")
async def create_work_order(ctx: ActionContext) -> ActionResult:
    """A work order from the flow's answers (`data.work_order`: type, category, title, fields from
    slots); an open order of the customer about the same thing is followed instead of a second one."""
    spec: dict[str, Any] = ctx.params.get("work_order", {})
    values = {name: value.get("display", "") for name, value in ctx.values.items() if isinstance(value, dict)}
    title = str(spec.get("title", "")).format_map(_Blank(values))
    description = "\n".join(
        f"{label}：{values.get(name, '')}"
        for name, label in spec.get("describe", {}).items()
        if values.get(name)
    )
    fields = {key: _field_value(ctx, source) for key, source in spec.get("fields", {}).items()}
    fields = {k: v for k, v in fields.items() if v not in ("", None)}
    check = await tickets.check_before_create(
        session=ctx.session,
        customer_id=ctx.customer_id,
        type=spec["type"],
        category=spec["category"],
        title=title,
        description=description,
        language=ctx.language,
        channel=ctx.conversation.channel,
    )
    if check.duplicates:
        existing = check.duplicates[0].ticket
        return ActionResult(
            values={
                "reference": existing.ticket_no,
                "existing": "yes",
                "expected_by": _due(existing.due_at, ctx),
            }
        )
    ticket = await tickets.do_create_ticket(
        session=ctx.session,
        customer_id=ctx.customer_id,
        type=spec["type"],
        category=spec["category"],
        title=title,
        description=description,
        fields=fields,
        source="bot",
        channel=ctx.conversation.channel,
        conversation_id=ctx.conversation.id,
        actor=Actor.system("bot"),
    )
    return ActionResult(
        values={"reference": ticket.ticket_no, "existing": "no", "expected_by": _due(ticket.due_at, ctx)}
    )


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _field_value(ctx: ActionContext, source: Any) -> Any:
    """`slot:amount` → the slot's value, `today` → today's date, a list → its first non-empty
    value, anything else as written."""
    if isinstance(source, list):
        return next((v for v in (_field_value(ctx, s) for s in source) if v not in ("", None)), None)
    if source == "today":
        return date.today().isoformat()
    if isinstance(source, str) and source.startswith("slot:"):
        name, _, part = source[5:].partition(".")
        value = ctx.values.get(name)
        return value.get(part or "value") if isinstance(value, dict) else value
    return source


def _due(when: datetime | None, ctx: ActionContext) -> str:
    if when is None:
        return ""
    local = when.astimezone(BANK_TIMEZONE)
    return f"{local:%Y-%m-%d %H:%M}" if ctx.en else f"{local.month}月{local.day}日{local:%H:%M}"


@action()
async def show_my_work_orders(ctx: ActionContext) -> ActionResult:
    """The customer's orders with where each stands, in plain language (newest first, up to five)."""
    orders = await tickets.list_customer_tickets(session=ctx.session, customer_id=ctx.customer_id)
    if not orders:
        text = ctx.t("您目前没有工单记录。", "You have no requests on record.")
        return ActionResult(replies=[Reply(text)], end=True)
    rows = []
    for order in orders[:5]:
        view = tickets.customer_view(
            order,
            await tickets.get_timeline(session=ctx.session, ticket=order, customer_only=True),
            language=ctx.language,
        )
        note = view.next_step
        if view.expected_by is not None and order.status not in ("resolved", "closed", "cancelled"):
            note = ctx.t(
                f"{note}（预计{_due(view.expected_by, ctx)}前）", f"{note} (by {_due(view.expected_by, ctx)})"
            )
        rows.append((f"{view.ticket_no} {view.title}", view.status_label, note))
    title = ctx.t("您的工单进度", "Your requests")
    footer = ctx.t(
        "可在“我的工单”中补充材料、催办或评价。", "Add information, urge or rate them under My requests."
    )
    return ActionResult(
        replies=[card_reply(kind="progress", title=title, rows=rows, footer=footer, language=ctx.language)]
    )
