"""The demo bank's core system: the CoreBanking port over the demo_* tables (see lingxi.demo.models).

A bank replaces this module with an adapter for its own core system (an HTTP/ESB client, a database
link …) and selects it in `lingxi.customers.service.get_core_banking`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.timeutil import utcnow
from lingxi.customers.adapters.core_banking import (
    Account,
    Application,
    Card,
    CoreBankingRefused,
    CreditBill,
    InstallmentQuote,
    Loan,
    ServiceReceipt,
    Transaction,
    WealthHolding,
)
from lingxi.demo import vocab
from lingxi.demo.models import (
    DemoAccount,
    DemoCard,
    DemoCreditBill,
    DemoLoan,
    DemoServiceRequest,
    DemoTransaction,
    DemoWealthHolding,
)

DEMO_BRANCH_NAMES: dict[str, str] = {code: name for code, name, *_ in vocab.BRANCHES}
_ACCOUNT_ORDER = {"debit_i": 0, "debit_ii": 1, "savings": 2, "time_deposit": 3}
_CARD_STATUS_ORDER = {"active": 0, "blocked": 1, "lost": 2, "expired": 3}
_LOAN_STATUS_ORDER = {"applying": 0, "approved": 1, "disbursed": 2, "repaying": 3, "settled": 4}

# The demo bank's instalment prices: fee per period by number of periods (a real core system quotes these).
INSTALLMENT_FEE_RATES: dict[int, Decimal] = {
    3: Decimal("0.0075"),
    6: Decimal("0.0070"),
    12: Decimal("0.0066"),
    24: Decimal("0.0065"),
}
INSTALLMENT_MIN_AMOUNT = Decimal("500")
TEMPORARY_LIMIT_SHARE = Decimal("0.30")  # a temporary rise up to 30 % is approved at once, for 30 days
PERMANENT_LIMIT_FACTOR = Decimal("2")  # a permanent rise beyond double the limit is not accepted online
CENT = Decimal("0.01")
APPLICATION_KIND = "credit_card_application"


def _refuse(code: str, zh: str, en: str) -> CoreBankingRefused:
    return CoreBankingRefused(code, zh, en)


def _receipt(row: DemoServiceRequest) -> ServiceReceipt:
    return ServiceReceipt(
        reference=row.reference,
        kind=row.kind,
        status=row.status,
        subject=row.subject,
        detail=dict(row.detail or {}),
        created_at=row.created_at,
    )


class DemoCoreBanking:
    """Reads the demo tables in the caller's session (so it sees the caller's transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_accounts(self, customer_id: int) -> list[Account]:
        rows = (
            await self.session.scalars(select(DemoAccount).where(DemoAccount.customer_id == customer_id))
        ).all()
        rows = sorted(rows, key=lambda a: (_ACCOUNT_ORDER.get(a.kind, 9), a.opened_on, a.id))
        return [
            Account(
                account_no=a.account_no,
                kind=a.kind,
                currency=a.currency,
                balance=a.balance,
                available=a.available,
                status=a.status,
                branch_code=a.branch_code,
                opened_on=a.opened_on,
            )
            for a in rows
        ]

    async def list_cards(self, customer_id: int) -> list[Card]:
        stmt = (
            select(DemoCard, DemoAccount.account_no)
            .outerjoin(DemoAccount, DemoAccount.id == DemoCard.account_id)
            .where(DemoCard.customer_id == customer_id)
        )
        rows = (await self.session.execute(stmt)).all()
        rows = sorted(
            rows, key=lambda r: (r[0].kind != "debit", _CARD_STATUS_ORDER.get(r[0].status, 9), r[0].id)
        )
        return [
            Card(
                card_no=c.card_no,
                kind=c.kind,
                product=c.product,
                status=c.status,
                expires=c.expires,
                credit_limit=c.credit_limit,
                account_no=account_no,
            )
            for c, account_no in rows
        ]

    async def list_transactions(
        self, customer_id: int, account_no: str, *, limit: int = 20
    ) -> list[Transaction]:
        """Newest first. `account_no` may be an account number or a (credit) card number of the customer."""
        account_id = await self.session.scalar(
            select(DemoAccount.id).where(
                DemoAccount.customer_id == customer_id, DemoAccount.account_no == account_no
            )
        )
        if account_id is not None:
            where = DemoTransaction.account_id == account_id
        else:
            card_id = await self.session.scalar(
                select(DemoCard.id).where(DemoCard.customer_id == customer_id, DemoCard.card_no == account_no)
            )
            if card_id is None:
                return []
            where = DemoTransaction.card_id == card_id
        stmt = (
            select(DemoTransaction)
            .where(where)
            .order_by(DemoTransaction.booked_at.desc(), DemoTransaction.id.desc())
            .limit(max(1, min(limit, 500)))
        )
        return [
            Transaction(
                booked_at=t.booked_at,
                amount=t.amount,
                balance_after=t.balance_after,
                counterparty=t.counterparty,
                description=t.description,
                channel=t.channel,
            )
            for t in (await self.session.scalars(stmt)).all()
        ]

    async def list_loans(self, customer_id: int) -> list[Loan]:
        rows = (await self.session.scalars(select(DemoLoan).where(DemoLoan.customer_id == customer_id))).all()
        rows = sorted(rows, key=lambda x: (_LOAN_STATUS_ORDER.get(x.status, 9), x.applied_on, x.id))
        return [
            Loan(
                loan_no=x.loan_no,
                product=x.product,
                principal=x.principal,
                outstanding=x.outstanding,
                annual_rate=x.annual_rate,
                term_months=x.term_months,
                status=x.status,
                stage=x.stage,
                next_due_on=x.next_due_on,
                next_due_amount=x.next_due_amount,
                applied_on=x.applied_on,
            )
            for x in rows
        ]

    async def list_credit_bills(self, customer_id: int, *, periods: int = 3) -> list[CreditBill]:
        """The last `periods` bills of each credit card, newest first."""
        stmt = (
            select(DemoCreditBill, DemoCard.card_no)
            .join(DemoCard, DemoCard.id == DemoCreditBill.card_id)
            .where(DemoCard.customer_id == customer_id, DemoCard.kind == "credit")
            .order_by(DemoCreditBill.period.desc(), DemoCard.id, DemoCreditBill.id)
        )
        seen: dict[str, int] = {}
        bills: list[CreditBill] = []
        for bill, card_no in (await self.session.execute(stmt)).all():
            seen[card_no] = seen.get(card_no, 0) + 1
            if seen[card_no] > periods:
                continue
            bills.append(
                CreditBill(
                    card_no=card_no,
                    period=bill.period,
                    statement_date=bill.statement_date,
                    due_date=bill.due_date,
                    total=bill.total,
                    minimum_payment=bill.minimum_payment,
                    paid=bill.paid,
                    items=[dict(item) for item in bill.items or []],
                )
            )
        return bills

    async def list_wealth_holdings(self, customer_id: int) -> list[WealthHolding]:
        stmt = (
            select(DemoWealthHolding)
            .where(DemoWealthHolding.customer_id == customer_id)
            .order_by(DemoWealthHolding.risk_level, DemoWealthHolding.purchased_on, DemoWealthHolding.id)
        )
        return [
            WealthHolding(
                product_code=h.product_code,
                product_name=h.product_name,
                risk_level=h.risk_level,
                units=h.units,
                nav=h.nav,
                cost=h.cost,
                redeemable=h.redeemable,
                redemption_rule=h.redemption_rule,
            )
            for h in (await self.session.scalars(stmt)).all()
        ]

    # --- requests made in the bot's flows ------------------------------------------------------

    async def _card(self, customer_id: int, card_no: str, *, kind: str | None = None) -> DemoCard:
        card = await self.session.scalar(
            select(DemoCard).where(DemoCard.customer_id == customer_id, DemoCard.card_no == card_no)
        )
        if card is None or (kind is not None and card.kind != kind):
            raise _refuse(
                "card_not_found", "未找到该卡片，请核对卡号尾号。", "No such card; check the last digits."
            )
        return card

    async def _record(
        self, customer_id: int, kind: str, status: str, subject: str, detail: dict[str, Any]
    ) -> ServiceReceipt:
        now = utcnow()
        row = DemoServiceRequest(
            reference=f"SR{now:%Y%m%d}{secrets.randbelow(10**8):08d}",
            customer_id=customer_id,
            kind=kind,
            status=status,
            subject=subject,
            detail=detail,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return _receipt(row)

    async def list_applications(self, customer_id: int) -> list[Application]:
        stmt = (
            select(DemoServiceRequest)
            .where(DemoServiceRequest.customer_id == customer_id, DemoServiceRequest.kind == APPLICATION_KIND)
            .order_by(DemoServiceRequest.created_at.desc(), DemoServiceRequest.id.desc())
        )
        return [
            Application(
                reference=row.reference,
                kind="credit_card",
                product=str(row.detail.get("product", "")),
                status=row.status,
                stage=str(row.detail.get("stage", "")),
                applied_on=row.created_at.date(),
                updated_at=row.updated_at,
            )
            for row in (await self.session.scalars(stmt)).all()
        ]

    async def list_service_requests(self, customer_id: int) -> list[ServiceReceipt]:
        stmt = (
            select(DemoServiceRequest)
            .where(DemoServiceRequest.customer_id == customer_id, DemoServiceRequest.kind != APPLICATION_KIND)
            .order_by(DemoServiceRequest.created_at.desc(), DemoServiceRequest.id.desc())
        )
        return [_receipt(row) for row in (await self.session.scalars(stmt)).all()]

    async def block_card(self, customer_id: int, card_no: str, *, reason: str) -> ServiceReceipt:
        card = await self._card(customer_id, card_no)
        if card.status in ("lost", "blocked"):
            raise _refuse(
                "card_already_blocked",
                "该卡已处于挂失/止付状态，无需重复挂失。",
                "This card is already blocked; there is nothing more to do.",
            )
        card.status = "lost"
        return await self._record(customer_id, "card_loss", "completed", card_no, {"reason": reason})

    async def order_replacement_card(self, customer_id: int, card_no: str, *, reason: str) -> ServiceReceipt:
        card = await self._card(customer_id, card_no)
        if card.status == "expired" and reason != "expiring":
            reason = "expiring"
        eta = (utcnow() + timedelta(days=7)).date().isoformat()
        return await self._record(
            customer_id,
            "card_replacement",
            "accepted",
            card_no,
            {"reason": reason, "product": card.product, "delivery": "registered_address", "eta": eta},
        )

    async def _open_bill_amount(self, card: DemoCard) -> Decimal:
        bill = await self.session.scalar(
            select(DemoCreditBill)
            .where(DemoCreditBill.card_id == card.id)
            .order_by(DemoCreditBill.period.desc())
            .limit(1)
        )
        return Decimal(0) if bill is None else max(Decimal(0), bill.total - bill.paid)

    async def quote_installment(
        self, customer_id: int, card_no: str, *, amount: Decimal, periods: int
    ) -> InstallmentQuote:
        card = await self._card(customer_id, card_no, kind="credit")
        rate = INSTALLMENT_FEE_RATES.get(periods)
        if rate is None:
            choices = "、".join(str(p) for p in INSTALLMENT_FEE_RATES)
            raise _refuse(
                "bad_periods",
                f"分期期数可选：{choices}期。",
                f"Choose {', '.join(str(p) for p in INSTALLMENT_FEE_RATES)} periods.",
            )
        open_amount = await self._open_bill_amount(card)
        if amount < INSTALLMENT_MIN_AMOUNT:
            raise _refuse(
                "amount_too_small",
                f"分期金额最低{INSTALLMENT_MIN_AMOUNT}元。",
                f"The minimum for instalments is {INSTALLMENT_MIN_AMOUNT} yuan.",
            )
        if amount > open_amount:
            raise _refuse(
                "amount_above_bill",
                f"分期金额不能超过本期未还金额{open_amount}元。",
                f"The amount cannot exceed the unpaid bill of {open_amount} yuan.",
            )
        total_fee = (amount * rate * periods).quantize(CENT, ROUND_HALF_UP)
        per_period = ((amount + total_fee) / periods).quantize(CENT, ROUND_HALF_UP)
        return InstallmentQuote(card_no, amount, periods, rate, total_fee, per_period)

    async def create_installment(
        self, customer_id: int, card_no: str, *, amount: Decimal, periods: int
    ) -> ServiceReceipt:
        quote = await self.quote_installment(customer_id, card_no, amount=amount, periods=periods)
        return await self._record(
            customer_id,
            "installment",
            "completed",
            card_no,
            {
                "amount": str(quote.amount),
                "periods": quote.periods,
                "total_fee": str(quote.total_fee),
                "per_period": str(quote.per_period),
            },
        )

    async def request_credit_limit_change(
        self, customer_id: int, card_no: str, *, new_limit: Decimal, temporary: bool
    ) -> ServiceReceipt:
        card = await self._card(customer_id, card_no, kind="credit")
        current = card.credit_limit or Decimal(0)
        if card.status != "active":
            raise _refuse(
                "card_inactive",
                "该卡当前状态不支持调额。",
                "The card's status does not allow a limit change.",
            )
        if new_limit <= 0:
            raise _refuse("bad_limit", "请提供有效的额度金额。", "Give a valid limit amount.")
        detail: dict[str, Any] = {
            "current": str(current),
            "requested": str(new_limit),
            "temporary": temporary,
        }
        if temporary:
            ceiling = (current * (1 + TEMPORARY_LIMIT_SHARE)).quantize(CENT)
            if new_limit <= current:
                raise _refuse(
                    "temporary_not_higher",
                    "临时额度需高于当前额度。",
                    "A temporary limit must be above the current one.",
                )
            if new_limit > ceiling:
                raise _refuse(
                    "temporary_above_ceiling",
                    f"临时额度最高可调至{ceiling}元，请重新输入。",
                    f"The temporary limit can go up to {ceiling} yuan; enter a lower amount.",
                )
            detail["valid_until"] = (utcnow() + timedelta(days=30)).date().isoformat()
            return await self._record(customer_id, "credit_limit", "completed", card_no, detail)
        ceiling = (current * PERMANENT_LIMIT_FACTOR).quantize(CENT)
        if new_limit > ceiling:
            raise _refuse(
                "permanent_above_ceiling",
                f"线上最高可申请调至{ceiling}元，更高额度请到网点申请。",
                "Online requests go up to double the current limit; visit a branch for more.",
            )
        detail["decision_by"] = (utcnow() + timedelta(days=3)).date().isoformat()
        return await self._record(customer_id, "credit_limit", "pending_review", card_no, detail)

    async def redeem_wealth(
        self, customer_id: int, product_code: str, *, units: Decimal | None
    ) -> ServiceReceipt:
        holding = await self.session.scalar(
            select(DemoWealthHolding).where(
                DemoWealthHolding.customer_id == customer_id, DemoWealthHolding.product_code == product_code
            )
        )
        if holding is None or holding.units <= 0:
            raise _refuse("holding_not_found", "未找到该理财持仓。", "No such holding.")
        if not holding.redeemable:
            raise _refuse(
                "not_redeemable",
                f"该产品当前不可赎回：{holding.redemption_rule}。",
                f"This product cannot be redeemed now: {holding.redemption_rule}.",
            )
        redeem = holding.units if units is None else units
        if redeem <= 0 or redeem > holding.units:
            raise _refuse(
                "bad_units",
                f"赎回份额需大于0且不超过持有份额{holding.units}份。",
                f"Redeem more than 0 and at most the {holding.units} units you hold.",
            )
        holding.units = holding.units - redeem
        amount = (redeem * holding.nav).quantize(CENT, ROUND_HALF_UP)
        detail = {"units": str(redeem), "estimated_amount": str(amount), "rule": holding.redemption_rule}
        return await self._record(customer_id, "wealth_redemption", "accepted", product_code, detail)

    async def start_password_reset(self, customer_id: int, *, kind: str) -> ServiceReceipt:
        if kind not in ("login", "transaction", "card_pin"):
            raise _refuse("bad_password_kind", "请选择要重置的密码类型。", "Choose which password to reset.")
        detail = {"kind": kind, "link_valid_minutes": 30}
        return await self._record(customer_id, "password_reset", "accepted", kind, detail)

    async def request_phone_change(self, customer_id: int, *, new_phone: str) -> ServiceReceipt:
        return await self._record(
            customer_id, "phone_change", "pending_review", new_phone[-4:], {"new_phone_tail": new_phone[-4:]}
        )

    async def request_settlement_certificate(
        self, customer_id: int, loan_no: str, *, delivery: str
    ) -> ServiceReceipt:
        loan = await self.session.scalar(
            select(DemoLoan).where(DemoLoan.customer_id == customer_id, DemoLoan.loan_no == loan_no)
        )
        if loan is None:
            raise _refuse("loan_not_found", "未找到该笔贷款。", "No such loan.")
        if loan.status != "settled":
            raise _refuse(
                "loan_not_settled",
                f"该笔贷款尚未结清（剩余本金{loan.outstanding}元），结清后才能开具结清证明。",
                f"This loan is not settled yet ({loan.outstanding} yuan outstanding).",
            )
        ready = (utcnow() + timedelta(days=3 if delivery == "branch" else 1)).date().isoformat()
        detail = {"delivery": delivery, "product": loan.product, "ready_on": ready}
        return await self._record(customer_id, "settlement_certificate", "accepted", loan_no, detail)
