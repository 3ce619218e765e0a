"""Pydantic models of the customers domain. Everything a response carries is masked unless revealed.

Money is `Decimal`; in JSON it is a string ("12345.67"), so no amount is ever rounded by a float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BillStatus = Literal["paid", "unpaid", "partially_paid", "overdue"]
REVEAL_FIELD_PATTERN = r"^(phone|id_number|name|email|card:\d{4}|account:\d{4})$"


class CustomerSummary(BaseModel):
    """One line of a customer list (search results, conversation headers)."""

    id: int
    customer_no: str
    display_name: str  # masked name, e.g. 王*明
    phone: str  # masked, e.g. 138****1234
    tier: str
    is_vip: bool
    segment: str
    language: str
    branch_code: str | None


class CustomerSearchResult(BaseModel):
    items: list[CustomerSummary]


class Consents(BaseModel):
    marketing: bool
    service_notice: bool
    data_analysis: bool


class CustomerProfile(BaseModel):
    id: int
    customer_no: str
    name: str  # masked
    gender: str | None
    age: int | None
    id_type: str
    id_number: str  # masked: 1101**********1234
    phone: str  # masked: 138****1234
    email: str | None  # masked: z***@163.com
    tier: str
    tier_label: str
    is_vip: bool
    segment: str
    segment_label: str
    language: str
    preferred_channel: str
    branch_code: str | None
    branch_name: str | None
    region: str | None
    consents: Consents
    customer_since: date


class ContactPointView(BaseModel):
    kind: str
    value: str  # masked (WeChat openid: first 6 and last 4 characters)
    verified: bool
    verified_at: datetime | None
    linked_at: datetime


class AccountView(BaseModel):
    account_no: str  # masked: ****1234
    tail4: str
    kind: str
    kind_label: str
    currency: str
    balance: Decimal
    available: Decimal
    status: str
    branch_code: str
    opened_on: date


class CardView(BaseModel):
    card_no: str  # masked: 6222 **** **** 1234
    tail4: str
    kind: str
    product: str
    status: str
    expires: str
    credit_limit: Decimal | None
    account_tail4: str | None


class LoanView(BaseModel):
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


class BillItemView(BaseModel):
    date: date
    merchant: str
    amount: Decimal  # positive = charge, negative = refund
    category: str


class CreditBillView(BaseModel):
    card_no: str  # masked
    card_tail4: str
    period: str
    statement_date: date
    due_date: date
    total: Decimal
    minimum_payment: Decimal
    paid: Decimal
    outstanding: Decimal
    status: BillStatus
    items: list[BillItemView]


class WealthHoldingView(BaseModel):
    product_code: str
    product_name: str
    risk_level: str
    units: Decimal
    nav: Decimal
    cost: Decimal
    market_value: Decimal
    profit: Decimal
    redeemable: bool
    redemption_rule: str


class Customer360Summary(BaseModel):
    total_deposits_cny: Decimal  # CNY accounts only
    total_wealth: Decimal
    total_loan_outstanding: Decimal
    credit_limit_total: Decimal
    flags: list[str]  # lost_card, blocked_card, overdue_bill, bill_due_soon, loan_applying, frozen_account …


class Customer360(BaseModel):
    customer: CustomerProfile
    contact_points: list[ContactPointView]
    accounts: list[AccountView]
    cards: list[CardView]
    loans: list[LoanView]
    credit_bills: list[CreditBillView]
    wealth_holdings: list[WealthHoldingView]
    summary: Customer360Summary
    generated_at: datetime


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    field: str = Field(
        pattern=REVEAL_FIELD_PATTERN,
        description="phone | id_number | name | email | card:<last 4 digits> | account:<last 4 digits>",
        examples=["phone", "card:1234"],
    )
    reason: str = Field(min_length=2, max_length=200, description="Why the clear value is needed (audited).")


class RevealResult(BaseModel):
    field: str
    value: str
