"""A demo-bank customer with known cards, accounts, bills, loans and holdings (bot and e2e tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lingxi.core.db import Database
from lingxi.core.timeutil import utcnow
from lingxi.demo.models import (
    DemoAccount,
    DemoCard,
    DemoCreditBill,
    DemoLoan,
    DemoServiceRequest,
    DemoTransaction,
    DemoWealthHolding,
)


@dataclass
class Banked:
    """The customer and the numbers the tests refer to."""

    customer: Any
    debit_card: str = "6222021234561234"
    credit_card: str = "6258001234565678"
    youth_card: str = "6258009876549012"
    current_account: str = "6214830012341234"
    savings_account: str = "6214830012348888"
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
async def banked(db: Database, make_customer: Any) -> Banked:
    customer = await make_customer(name="陈思远", phone="13912345678")
    data = Banked(customer=customer)
    today = date.today()
    now = utcnow()
    async with db.sessionmaker() as s:
        current = DemoAccount(
            customer_id=customer.id,
            account_no=data.current_account,
            kind="debit_i",
            balance=Decimal("12345.67"),
            available=Decimal("12000.00"),
            branch_code="BJ001",
            opened_on=today - timedelta(days=900),
        )
        savings = DemoAccount(
            customer_id=customer.id,
            account_no=data.savings_account,
            kind="savings",
            balance=Decimal("50000.00"),
            available=Decimal("50000.00"),
            branch_code="BJ001",
            opened_on=today - timedelta(days=400),
        )
        s.add_all([current, savings])
        await s.flush()
        debit = DemoCard(
            customer_id=customer.id,
            card_no=data.debit_card,
            kind="debit",
            product="灵犀薪享卡",
            account_id=current.id,
            expires="08/29",
            issued_on=today - timedelta(days=900),
        )
        credit = DemoCard(
            customer_id=customer.id,
            card_no=data.credit_card,
            kind="credit",
            product="灵犀白金信用卡",
            credit_limit=Decimal("50000"),
            expires="03/30",
            issued_on=today - timedelta(days=700),
        )
        youth = DemoCard(
            customer_id=customer.id,
            card_no=data.youth_card,
            kind="credit",
            product="灵犀青春信用卡",
            credit_limit=Decimal("10000"),
            expires="05/28",
            issued_on=today - timedelta(days=300),
        )
        s.add_all([debit, credit, youth])
        await s.flush()
        s.add(
            DemoCreditBill(
                card_id=credit.id,
                period=f"{today:%Y-%m}",
                statement_date=today - timedelta(days=5),
                due_date=today + timedelta(days=15),
                total=Decimal("8650.00"),
                minimum_payment=Decimal("865.00"),
                paid=Decimal("0"),
                items=[
                    {
                        "date": (today - timedelta(days=18)).isoformat(),
                        "merchant": "京东商城",
                        "amount": "6999.00",
                        "category": "网购",
                    },
                    {
                        "date": (today - timedelta(days=15)).isoformat(),
                        "merchant": "星巴克",
                        "amount": "38.00",
                        "category": "餐饮",
                    },
                    {
                        "date": (today - timedelta(days=11)).isoformat(),
                        "merchant": "京东商城",
                        "amount": "-500.00",
                        "category": "退款",
                    },
                    {
                        "date": (today - timedelta(days=8)).isoformat(),
                        "merchant": "灵犀银行",
                        "amount": "600.00",
                        "category": "年费",
                    },
                ],
            )
        )
        s.add_all(
            [
                DemoTransaction(
                    account_id=current.id,
                    booked_at=now - timedelta(hours=50),
                    amount=Decimal("-5000.00"),
                    balance_after=Decimal("12345.67"),
                    counterparty="张伟",
                    description="跨行转账",
                    channel="app",
                ),
                DemoTransaction(
                    account_id=current.id,
                    booked_at=now - timedelta(days=3),
                    amount=Decimal("-2.00"),
                    balance_after=Decimal("17345.67"),
                    counterparty="灵犀银行",
                    description="短信通知服务费",
                    channel="system",
                ),
                DemoTransaction(
                    account_id=current.id,
                    booked_at=now - timedelta(days=4),
                    amount=Decimal("-368.50"),
                    balance_after=Decimal("17347.67"),
                    counterparty="杭州某某科技有限公司",
                    description="快捷支付",
                    channel="online",
                ),
                DemoTransaction(
                    account_id=current.id,
                    booked_at=now - timedelta(days=6),
                    amount=Decimal("15800.00"),
                    balance_after=Decimal("17716.17"),
                    counterparty="北京云帆科技有限公司",
                    description="工资",
                    channel="batch",
                ),
            ]
        )
        s.add_all(
            [
                DemoLoan(
                    customer_id=customer.id,
                    loan_no="LN2026110800001234",
                    product="灵犀消费贷",
                    principal=Decimal("80000"),
                    outstanding=Decimal("80000"),
                    annual_rate=Decimal("0.0385"),
                    term_months=36,
                    status="applying",
                    stage="审批中：资料复核",
                    applied_on=today - timedelta(days=3),
                ),
                DemoLoan(
                    customer_id=customer.id,
                    loan_no="LN2019030100004321",
                    product="个人住房贷款",
                    principal=Decimal("600000"),
                    outstanding=Decimal("0"),
                    annual_rate=Decimal("0.0490"),
                    term_months=240,
                    status="settled",
                    applied_on=today - timedelta(days=2800),
                ),
            ]
        )
        s.add_all(
            [
                DemoWealthHolding(
                    customer_id=customer.id,
                    product_code="AX30",
                    product_name="安心理财30天",
                    risk_level="R2",
                    units=Decimal("10000"),
                    nav=Decimal("1.0234"),
                    cost=Decimal("10000"),
                    redeemable=True,
                    redemption_rule="T+1 到账",
                    purchased_on=today - timedelta(days=60),
                ),
                DemoWealthHolding(
                    customer_id=customer.id,
                    product_code="WY365",
                    product_name="稳盈一年定开",
                    risk_level="R2",
                    units=Decimal("20000"),
                    nav=Decimal("1.0100"),
                    cost=Decimal("20000"),
                    redeemable=False,
                    redemption_rule="封闭期至2027-06-30",
                    purchased_on=today - timedelta(days=100),
                ),
            ]
        )
        s.add(
            DemoServiceRequest(
                reference="CC2026112000000001",
                customer_id=customer.id,
                kind="credit_card_application",
                status="reviewing",
                subject="",
                detail={"product": "灵犀白金信用卡", "stage": "审批中：征信审核"},
                created_at=now - timedelta(days=4),
                updated_at=now - timedelta(days=1),
            )
        )
        await s.commit()
    return data
