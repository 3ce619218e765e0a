"""The demo bank's core system: the CoreBanking port over the demo_* tables (see lingxi.demo.models).

A bank replaces this module with an adapter for its own core system (an HTTP/ESB client, a database
link …) and selects it in `lingxi.customers.service.get_core_banking`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.customers.adapters.core_banking import (
    Account,
    Card,
    CreditBill,
    Loan,
    Transaction,
    WealthHolding,
)
from lingxi.demo import vocab
from lingxi.demo.models import (
    DemoAccount,
    DemoCard,
    DemoCreditBill,
    DemoLoan,
    DemoTransaction,
    DemoWealthHolding,
)

DEMO_BRANCH_NAMES: dict[str, str] = {code: name for code, name, *_ in vocab.BRANCHES}
_ACCOUNT_ORDER = {"debit_i": 0, "debit_ii": 1, "savings": 2, "time_deposit": 3}
_CARD_STATUS_ORDER = {"active": 0, "blocked": 1, "lost": 2, "expired": 3}
_LOAN_STATUS_ORDER = {"applying": 0, "approved": 1, "disbursed": 2, "repaying": 3, "settled": 4}


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
