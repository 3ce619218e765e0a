"""Tables of the demo bank's core system. Only the demo CoreBanking adapter reads them.

A real bank replaces the adapter (customers/adapters/) with one for its core system; these
tables then stay empty.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base

Money = Numeric(18, 2)


class DemoAccount(Base):
    __tablename__ = "demo_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    account_no: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # debit_i | debit_ii | savings | time_deposit
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    balance: Mapped[Decimal] = mapped_column(Money)
    available: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | frozen | dormant
    branch_code: Mapped[str] = mapped_column(String(20))
    opened_on: Mapped[date] = mapped_column(Date)


class DemoCard(Base):
    __tablename__ = "demo_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    card_no: Mapped[str] = mapped_column(String(19), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # debit | credit
    product: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("demo_accounts.id"), default=None)
    credit_limit: Mapped[Decimal | None] = mapped_column(Money, default=None)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | lost | blocked | expired
    expires: Mapped[str] = mapped_column(String(5))  # MM/YY
    issued_on: Mapped[date] = mapped_column(Date)


class DemoTransaction(Base):
    __tablename__ = "demo_transactions"
    __table_args__ = (Index("ix_demo_tx_account_time", "account_id", "booked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("demo_accounts.id", ondelete="CASCADE"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("demo_cards.id", ondelete="CASCADE"), default=None)
    booked_at: Mapped[datetime] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money)  # negative = debit
    balance_after: Mapped[Decimal | None] = mapped_column(Money, default=None)
    counterparty: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))


class DemoLoan(Base):
    __tablename__ = "demo_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    loan_no: Mapped[str] = mapped_column(String(32), unique=True)
    product: Mapped[str] = mapped_column(String(60))  # 住房贷款, 消费贷, 经营贷 …
    principal: Mapped[Decimal] = mapped_column(Money)
    outstanding: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    term_months: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))  # applying | approved | disbursed | repaying | settled
    stage: Mapped[str | None] = mapped_column(String(60), default=None)  # application progress text
    next_due_on: Mapped[date | None] = mapped_column(Date, default=None)
    next_due_amount: Mapped[Decimal | None] = mapped_column(Money, default=None)
    applied_on: Mapped[date] = mapped_column(Date)


class DemoCreditBill(Base):
    __tablename__ = "demo_credit_bills"
    __table_args__ = (Index("ix_demo_bills_card_period", "card_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("demo_cards.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Money)
    minimum_payment: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    items: Mapped[list[Any]] = mapped_column(default=list)  # [{date, merchant, amount, category}]


class DemoWealthHolding(Base):
    __tablename__ = "demo_wealth_holdings"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    product_code: Mapped[str] = mapped_column(String(20))
    product_name: Mapped[str] = mapped_column(String(100))
    risk_level: Mapped[str] = mapped_column(String(4))  # R1..R5
    units: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    nav: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    cost: Mapped[Decimal] = mapped_column(Money)
    redeemable: Mapped[bool] = mapped_column(default=True)
    redemption_rule: Mapped[str] = mapped_column(String(200))  # e.g. T+1 到账, 封闭期至 2027-03-01
    purchased_on: Mapped[date] = mapped_column(Date)


class DemoServiceRequest(Base):
    """Requests the demo core system accepted (card loss, instalments …) and product applications."""

    __tablename__ = "demo_service_requests"
    __table_args__ = (Index("ix_demo_service_requests_customer", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
