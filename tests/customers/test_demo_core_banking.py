"""The demo CoreBanking adapter over the demo tables."""

from __future__ import annotations

from sqlalchemy import select

from lingxi.customers import service
from lingxi.customers.models import Customer


async def test_adapter_reads_the_demo_tables(demo_session):
    customer = await demo_session.scalar(select(Customer).where(Customer.customer_no == "C0000001"))
    core = service.get_core_banking(demo_session)
    accounts = await core.list_accounts(customer.id)
    assert [a.kind for a in accounts][:1] == ["debit_i"]
    cards = await core.list_cards(customer.id)
    debit = next(c for c in cards if c.kind == "debit")
    credit = next(c for c in cards if c.kind == "credit")
    assert debit.account_no == accounts[0].account_no and credit.account_no is None

    txs = await core.list_transactions(customer.id, accounts[0].account_no, limit=10)
    assert len(txs) == 10
    assert [t.booked_at for t in txs] == sorted((t.booked_at for t in txs), reverse=True)
    assert txs[0].balance_after == accounts[0].balance
    card_txs = await core.list_transactions(customer.id, credit.card_no, limit=500)
    assert any(t.amount > 0 and t.description == "还款" for t in card_txs)
    other = await demo_session.scalar(select(Customer).where(Customer.customer_no == "C0000002"))
    assert await core.list_transactions(other.id, accounts[0].account_no) == []  # not theirs

    bills = await core.list_credit_bills(customer.id, periods=2)
    assert len(bills) == 2 and bills[0].period > bills[1].period and bills[0].card_no == credit.card_no
    assert len(await core.list_credit_bills(customer.id)) == 3
    assert [h.product_code for h in await core.list_wealth_holdings(customer.id)] == ["LXCASH01", "LXWX090"]
    loans = await core.list_loans(
        await demo_session.scalar(select(Customer.id).where(Customer.customer_no == "C0000004"))
    )
    assert [x.status for x in loans] == ["applying", "repaying"] and loans[0].stage
    await demo_session.commit()
