"""The CoreBanking port: how Lingxi reads (and, for flows, changes) data in the bank's core system.

Values leave the port unmasked; the customers service masks them before they reach a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Account:
    account_no: str
    kind: str
    currency: str
    balance: Decimal
    available: Decimal
    status: str
    branch_code: str
    opened_on: date


@dataclass(frozen=True, slots=True)
class Card:
    card_no: str
    kind: str
    product: str
    status: str
    expires: str
    credit_limit: Decimal | None
    account_no: str | None


@dataclass(frozen=True, slots=True)
class Transaction:
    booked_at: datetime
    amount: Decimal
    balance_after: Decimal | None
    counterparty: str
    description: str
    channel: str


@dataclass(frozen=True, slots=True)
class Loan:
    loan_no: str
    product: str
    principal: Decimal
    outstanding: Decimal
    annual_rate: Decimal
    term_months: int
    status: str
    stage: str | None
    next_due_on: date | None
    next_due_amount: Decimal | None
    applied_on: date


@dataclass(frozen=True, slots=True)
class CreditBill:
    card_no: str
    period: str
    statement_date: date
    due_date: date
    total: Decimal
    minimum_payment: Decimal
    paid: Decimal
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WealthHolding:
    product_code: str
    product_name: str
    risk_level: str
    units: Decimal
    nav: Decimal
    cost: Decimal
    redeemable: bool
    redemption_rule: str


class CoreBanking(Protocol):
    """Read access by Lingxi's customer id; the adapter maps it to the core system's keys."""

    async def list_accounts(self, customer_id: int) -> list[Account]: ...

    async def list_cards(self, customer_id: int) -> list[Card]: ...

    async def list_transactions(
        self, customer_id: int, account_no: str, *, limit: int = 20
    ) -> list[Transaction]: ...

    async def list_loans(self, customer_id: int) -> list[Loan]: ...

    async def list_credit_bills(self, customer_id: int, *, periods: int = 3) -> list[CreditBill]: ...

    async def list_wealth_holdings(self, customer_id: int) -> list[WealthHolding]: ...
