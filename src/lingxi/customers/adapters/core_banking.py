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


@dataclass(frozen=True, slots=True)
class ServiceReceipt:
    """What the core system answers when it accepts (or completes) a request made in a flow."""

    reference: str  # the core system's request number, shown to the customer
    kind: str  # card_loss | card_replacement | installment | credit_limit | wealth_redemption …
    status: str  # completed | accepted | pending_review
    subject: str  # what it concerns: a card, loan or product number
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Application:
    """A product application (credit card …) and where it stands."""

    reference: str
    kind: str
    product: str
    status: str  # submitted | reviewing | approved | rejected | card_sent
    stage: str  # the stage as the customer should read it
    applied_on: date
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InstallmentQuote:
    card_no: str
    amount: Decimal
    periods: int
    fee_rate: Decimal  # per period
    total_fee: Decimal
    per_period: Decimal  # principal + fee of each period


class CoreBankingRefused(Exception):
    """The core system declined a request for a business reason the customer must be told."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en

    def message(self, language: str) -> str:
        return self.message_en if language.startswith("en") else self.message_zh


class CoreBanking(Protocol):
    """Access by Lingxi's customer id; the adapter maps it to the core system's keys.

    The reads serve the 360 view and the bot; the requests serve the bot's flows and raise
    `CoreBankingRefused` when the core system says no.
    """

    async def list_accounts(self, customer_id: int) -> list[Account]: ...

    async def list_cards(self, customer_id: int) -> list[Card]: ...

    async def list_transactions(
        self, customer_id: int, account_no: str, *, limit: int = 20
    ) -> list[Transaction]: ...

    async def list_loans(self, customer_id: int) -> list[Loan]: ...

    async def list_credit_bills(self, customer_id: int, *, periods: int = 3) -> list[CreditBill]: ...

    async def list_wealth_holdings(self, customer_id: int) -> list[WealthHolding]: ...

    async def list_applications(self, customer_id: int) -> list[Application]: ...

    async def list_service_requests(self, customer_id: int) -> list[ServiceReceipt]: ...

    async def block_card(self, customer_id: int, card_no: str, *, reason: str) -> ServiceReceipt: ...

    async def order_replacement_card(
        self, customer_id: int, card_no: str, *, reason: str
    ) -> ServiceReceipt: ...

    async def quote_installment(
        self, customer_id: int, card_no: str, *, amount: Decimal, periods: int
    ) -> InstallmentQuote: ...

    async def create_installment(
        self, customer_id: int, card_no: str, *, amount: Decimal, periods: int
    ) -> ServiceReceipt: ...

    async def request_credit_limit_change(
        self, customer_id: int, card_no: str, *, new_limit: Decimal, temporary: bool
    ) -> ServiceReceipt: ...

    async def redeem_wealth(
        self, customer_id: int, product_code: str, *, units: Decimal | None
    ) -> ServiceReceipt: ...

    async def start_password_reset(self, customer_id: int, *, kind: str) -> ServiceReceipt: ...

    async def request_phone_change(self, customer_id: int, *, new_phone: str) -> ServiceReceipt: ...

    async def request_settlement_certificate(
        self, customer_id: int, loan_no: str, *, delivery: str
    ) -> ServiceReceipt: ...
