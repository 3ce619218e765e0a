"""The customers domain: look-ups, channel identities, the masked 360 view and the audited reveal.

Core-banking data (accounts, cards, loans, bills, wealth) comes through the CoreBanking port; this
module is the one place that chooses the adapter (`get_core_banking`) and the one place that masks
it for responses.

Branch scope: a staff user with a `branch_code` sees only customers of that branch (others answer
404, as if they did not exist); head-office staff (`branch_code` None) see every customer. Views
pass the caller's branch as `branch_scope`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, NotFound, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.masking import mask_account, mask_card, mask_email, mask_id_number, mask_name, mask_phone
from lingxi.core.timeutil import utcnow
from lingxi.customers.adapters.core_banking import CoreBanking, CreditBill
from lingxi.customers.adapters.demo_core_banking import DEMO_BRANCH_NAMES, DemoCoreBanking
from lingxi.customers.models import CONTACT_KINDS, ContactPoint, Customer
from lingxi.customers.schemas import (
    REVEAL_FIELD_PATTERN,
    AccountView,
    BillItemView,
    BillStatus,
    CardView,
    Consents,
    ContactPointView,
    CreditBillView,
    Customer360,
    Customer360Summary,
    CustomerProfile,
    CustomerSummary,
    LoanView,
    WealthHoldingView,
)
from lingxi.settings import get_settings

CONTACT_POINT_LINKED = "customer.contact_point_linked"
CONTACT_POINT_UNLINKED = "customer.contact_point_unlinked"

TIER_LABELS = {
    "standard": "普通客户",
    "gold": "金卡客户",
    "platinum": "白金客户",
    "vip": "VIP 贵宾",
    "private": "私人银行",
}
SEGMENT_LABELS = {
    "mass": "大众客户",
    "affluent": "富裕客户",
    "high_net_worth": "高净值客户",
    "young": "年轻客群",
    "senior": "银发客群",
    "small_business": "小微企业主",
}
ACCOUNT_KIND_LABELS = {
    "debit_i": "I类账户",
    "debit_ii": "II类账户",
    "savings": "活期储蓄",
    "time_deposit": "定期存款",
}
BILL_DUE_SOON_DAYS = 7
_ZERO = Decimal("0.00")


# ---------------------------------------------------------------------------------------------
# The CoreBanking port.


def get_core_banking(session: AsyncSession) -> CoreBanking:
    """The one place the core-banking adapter is chosen (a bank plugs its own adapter in here)."""
    return DemoCoreBanking(session)


def branch_name(code: str | None) -> str | None:
    """The name of a branch (the demo bank's branch directory; a bank's adapter provides its own)."""
    return DEMO_BRANCH_NAMES.get(code or "")


# ---------------------------------------------------------------------------------------------
# Look-ups and access.


async def get_customer(*, session: AsyncSession, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


async def get_customer_by_no(*, session: AsyncSession, customer_no: str) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.customer_no == customer_no.strip().upper()))


def check_in_scope(customer: Customer, branch_scope: str | None) -> None:
    """NotFound unless the customer belongs to `branch_scope` (None = head office: every branch)."""
    if branch_scope is not None and customer.branch_code != branch_scope:
        raise NotFound(f"No customer {customer.id}.", code="customer_not_found")


async def access_customer(
    *, session: AsyncSession, customer_id: int, branch_scope: str | None = None
) -> Customer:
    """Fetch a customer the caller may see; 404 for unknown ids and for customers of another branch."""
    customer = await get_customer(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.", code="customer_not_found")
    check_in_scope(customer, branch_scope)
    return customer


def display_name(customer: Customer) -> str:
    """The masked name shown in the UI and in messages (王*明, J**** W*****)."""
    return mask_name(customer.name) or ""


def summarize_customer(customer: Customer) -> CustomerSummary:
    return CustomerSummary(
        id=customer.id,
        customer_no=customer.customer_no,
        display_name=display_name(customer),
        phone=mask_phone(customer.phone) or "",
        tier=customer.tier,
        is_vip=customer.is_vip,
        segment=customer.segment,
        language=customer.language,
        branch_code=customer.branch_code,
    )


_CUSTOMER_NO = re.compile(r"^[Cc]\d{1,7}$")
_ID_LIKE = re.compile(r"^\d{17}[\dXx]$")


async def search_customers(
    *, session: AsyncSession, q: str | None, limit: int = 20, branch_scope: str | None = None
) -> list[CustomerSummary]:
    """Find customers by customer number (prefix), phone (full or its last digits), ID number or name.

    Results are masked. Without `q` the first customers by number are listed.
    """
    q = (q or "").strip()
    limit = max(1, min(limit, 50))
    stmt = select(Customer)
    if not q:
        pass
    elif _CUSTOMER_NO.match(q):
        stmt = stmt.where(Customer.customer_no.startswith(q.upper(), autoescape=True))
    elif _ID_LIKE.match(q):
        stmt = stmt.where(Customer.id_number == q.upper())
    elif q.isdigit() and 4 <= len(q) <= 11:
        stmt = stmt.where(Customer.phone == q) if len(q) == 11 else stmt.where(Customer.phone.endswith(q))
    elif q.isdigit():
        raise ValidationFailed(
            "Search by the last 4 to 11 digits of a phone number, a customer number or a name.",
            code="bad_query",
        )
    else:
        stmt = stmt.where(Customer.name.icontains(q, autoescape=True))
    if branch_scope is not None:
        stmt = stmt.where(Customer.branch_code == branch_scope)
    rows = (await session.scalars(stmt.order_by(Customer.customer_no).limit(limit))).all()
    return [summarize_customer(c) for c in rows]


# ---------------------------------------------------------------------------------------------
# Contact points: the channel identities of a customer (app user id, WeChat openid, phone, e-mail).


def normalize_contact(kind: str, value: str) -> str:
    """Canonical form of a channel identity; ValidationFailed for an unknown kind or an empty value."""
    if kind not in CONTACT_KINDS:
        raise ValidationFailed(
            f"Unknown contact kind '{kind}'; use one of {', '.join(CONTACT_KINDS)}.", code="bad_contact_kind"
        )
    value = (value or "").strip()
    if kind == "phone":
        value = re.sub(r"[\s\-()]", "", value)
        if value.startswith("+86"):
            value = value[3:]
        elif value.startswith("0086"):
            value = value[4:]
        if not re.fullmatch(r"1[3-9]\d{9}", value):
            raise ValidationFailed("A phone contact is an 11-digit mainland mobile number.", code="bad_phone")
    elif kind == "email":
        value = value.lower()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValidationFailed("Not an e-mail address.", code="bad_email")
    if not value or len(value) > 200:
        raise ValidationFailed("A contact value is 1 to 200 characters.", code="bad_contact_value")
    return value


def mask_contact(kind: str, value: str) -> str:
    if kind == "phone":
        return mask_phone(value) or ""
    if kind == "email":
        return mask_email(value) or ""
    if kind == "wechat_openid":
        return f"{value[:6]}****{value[-4:]}" if len(value) > 12 else "****"
    return value  # app_user: the customer number, not secret


async def get_customer_by_contact(*, session: AsyncSession, kind: str, value: str) -> Customer | None:
    try:
        value = normalize_contact(kind, value)
    except ValidationFailed:
        return None
    stmt = (
        select(Customer)
        .join(ContactPoint, ContactPoint.customer_id == Customer.id)
        .where(ContactPoint.kind == kind, ContactPoint.value == value)
    )
    return await session.scalar(stmt)


async def list_contact_points(*, session: AsyncSession, customer_id: int) -> Sequence[ContactPoint]:
    stmt = select(ContactPoint).where(ContactPoint.customer_id == customer_id).order_by(ContactPoint.id)
    return (await session.scalars(stmt)).all()


async def do_link_contact_point(
    *,
    session: AsyncSession,
    customer_id: int,
    kind: str,
    value: str,
    actor: Actor,
    verified: bool = True,
) -> ContactPoint:
    """Link a channel identity to a customer (e.g. a WeChat openid after binding). Idempotent.

    Conflict if the identity belongs to another customer; an unverified link becomes verified when
    linked again with `verified=True`.
    """
    value = normalize_contact(kind, value)
    customer = await access_customer(session=session, customer_id=customer_id)
    existing = await session.scalar(
        select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
    )
    if existing is None:
        point = ContactPoint(
            customer_id=customer.id, kind=kind, value=value, verified_at=utcnow() if verified else None
        )
        try:
            async with session.begin_nested():
                session.add(point)
        except IntegrityError:  # linked by a concurrent request a moment ago
            existing = await session.scalar(
                select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
            )
            if existing is None:
                raise
        else:
            do_record(
                session=session,
                actor=actor,
                action="customer.link_contact",
                subject_type="customer",
                subject_id=customer.id,
                after={"kind": kind, "value": mask_contact(kind, value), "verified": verified},
            )
            emit(
                session,
                CONTACT_POINT_LINKED,
                {"customer_id": customer.id, "kind": kind, "contact_point_id": point.id},
            )
            return point
    if existing.customer_id != customer.id:
        raise Conflict(f"This {kind} is already linked to another customer.", code="contact_point_taken")
    if verified and existing.verified_at is None:
        existing.verified_at = utcnow()
        do_record(
            session=session,
            actor=actor,
            action="customer.verify_contact",
            subject_type="customer",
            subject_id=customer.id,
            after={"kind": kind, "value": mask_contact(kind, value)},
        )
        await session.flush()
    return existing


async def do_unlink_contact_point(
    *, session: AsyncSession, customer_id: int, kind: str, value: str, actor: Actor
) -> bool:
    """Remove a channel identity from a customer (e.g. WeChat unbinding). False if it was not linked."""
    value = normalize_contact(kind, value)
    if kind == "app_user":
        raise ValidationFailed("The bank-app identity cannot be unlinked.", code="contact_point_fixed")
    point = await session.scalar(
        select(ContactPoint).where(
            ContactPoint.customer_id == customer_id, ContactPoint.kind == kind, ContactPoint.value == value
        )
    )
    if point is None:
        return False
    await session.delete(point)
    do_record(
        session=session,
        actor=actor,
        action="customer.unlink_contact",
        subject_type="customer",
        subject_id=customer_id,
        before={"kind": kind, "value": mask_contact(kind, value)},
    )
    emit(session, CONTACT_POINT_UNLINKED, {"customer_id": customer_id, "kind": kind})
    await session.flush()
    return True


# ---------------------------------------------------------------------------------------------
# The 360 view.


def bank_today() -> date:
    return datetime.now(ZoneInfo(get_settings().bank_timezone)).date()


def _age(birth_date: str | None, today: date) -> int | None:
    if not birth_date:
        return None
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _tail4(number: str | None) -> str:
    digits = re.sub(r"\D", "", number or "")
    return digits[-4:]


def bill_status(bill: CreditBill, today: date) -> BillStatus:
    if bill.paid >= bill.total:
        return "paid"
    if bill.due_date < today and bill.paid < bill.minimum_payment:
        return "overdue"
    return "partially_paid" if bill.paid > 0 else "unpaid"


def _profile(customer: Customer, today: date) -> CustomerProfile:
    return CustomerProfile(
        id=customer.id,
        customer_no=customer.customer_no,
        name=display_name(customer),
        gender=customer.gender,
        age=_age(customer.birth_date, today),
        id_type=customer.id_type,
        id_number=mask_id_number(customer.id_number) or "",
        phone=mask_phone(customer.phone) or "",
        email=mask_email(customer.email),
        tier=customer.tier,
        tier_label=TIER_LABELS.get(customer.tier, customer.tier),
        is_vip=customer.is_vip,
        segment=customer.segment,
        segment_label=SEGMENT_LABELS.get(customer.segment, customer.segment),
        language=customer.language,
        preferred_channel=customer.preferred_channel,
        branch_code=customer.branch_code,
        branch_name=branch_name(customer.branch_code),
        region=customer.region,
        consents=Consents(
            marketing=customer.consent_marketing,
            service_notice=customer.consent_service_notice,
            data_analysis=customer.consent_data_analysis,
        ),
        customer_since=customer.created_at.date(),
    )


async def build_customer_360(
    *,
    session: AsyncSession,
    customer_id: int,
    actor: Actor | None = None,
    branch_scope: str | None = None,
) -> Customer360:
    """Everything an agent needs about a customer, masked; viewing it is an audited access."""
    customer = await access_customer(session=session, customer_id=customer_id, branch_scope=branch_scope)
    core = get_core_banking(session)
    today = bank_today()
    accounts = await core.list_accounts(customer.id)
    cards = await core.list_cards(customer.id)
    loans = await core.list_loans(customer.id)
    bills = await core.list_credit_bills(customer.id, periods=3)
    holdings = await core.list_wealth_holdings(customer.id)
    points = await list_contact_points(session=session, customer_id=customer.id)

    bill_views = [
        CreditBillView(
            card_no=mask_card(b.card_no) or "",
            card_tail4=_tail4(b.card_no),
            period=b.period,
            statement_date=b.statement_date,
            due_date=b.due_date,
            total=b.total,
            minimum_payment=b.minimum_payment,
            paid=b.paid,
            outstanding=max(b.total - b.paid, _ZERO),
            status=bill_status(b, today),
            items=[BillItemView.model_validate(item) for item in b.items],
        )
        for b in bills
    ]
    holding_views = []
    for h in holdings:
        market_value = (h.units * h.nav).quantize(Decimal("0.01"))
        holding_views.append(
            WealthHoldingView(
                product_code=h.product_code,
                product_name=h.product_name,
                risk_level=h.risk_level,
                units=h.units,
                nav=h.nav,
                cost=h.cost,
                market_value=market_value,
                profit=market_value - h.cost,
                redeemable=h.redeemable,
                redemption_rule=h.redemption_rule,
            )
        )
    flags: list[str] = []
    if any(c.status == "lost" for c in cards):
        flags.append("lost_card")
    if any(c.status == "blocked" for c in cards):
        flags.append("blocked_card")
    if any(a.status == "frozen" for a in accounts):
        flags.append("frozen_account")
    if any(v.status == "overdue" for v in bill_views):
        flags.append("overdue_bill")
    latest_by_card: dict[str, CreditBillView] = {}
    for v in bill_views:
        latest_by_card.setdefault(v.card_no, v)
    if any(
        v.status in ("unpaid", "partially_paid") and 0 <= (v.due_date - today).days <= BILL_DUE_SOON_DAYS
        for v in latest_by_card.values()
    ):
        flags.append("bill_due_soon")
    if any(x.status == "applying" for x in loans):
        flags.append("loan_applying")
    if any(x.status == "approved" for x in loans):
        flags.append("loan_approved")

    view = Customer360(
        customer=_profile(customer, today),
        contact_points=[
            ContactPointView(
                kind=p.kind,
                value=mask_contact(p.kind, p.value),
                verified=p.verified_at is not None,
                verified_at=p.verified_at,
                linked_at=p.created_at,
            )
            for p in points
        ],
        accounts=[
            AccountView(
                account_no=mask_account(a.account_no) or "",
                tail4=_tail4(a.account_no),
                kind=a.kind,
                kind_label=ACCOUNT_KIND_LABELS.get(a.kind, a.kind),
                currency=a.currency,
                balance=a.balance,
                available=a.available,
                status=a.status,
                branch_code=a.branch_code,
                opened_on=a.opened_on,
            )
            for a in accounts
        ],
        cards=[
            CardView(
                card_no=mask_card(c.card_no) or "",
                tail4=_tail4(c.card_no),
                kind=c.kind,
                product=c.product,
                status=c.status,
                expires=c.expires,
                credit_limit=c.credit_limit,
                account_tail4=_tail4(c.account_no) or None,
            )
            for c in cards
        ],
        loans=[LoanView.model_validate(x, from_attributes=True) for x in loans],  # loans are not masked
        credit_bills=bill_views,
        wealth_holdings=holding_views,
        summary=Customer360Summary(
            total_deposits_cny=sum((a.balance for a in accounts if a.currency == "CNY"), _ZERO),
            total_wealth=sum((h.market_value for h in holding_views), _ZERO),
            total_loan_outstanding=sum((x.outstanding for x in loans), _ZERO),
            credit_limit_total=sum(
                (
                    c.credit_limit
                    for c in cards
                    if c.kind == "credit" and c.credit_limit and c.status == "active"
                ),
                _ZERO,
            ),
            flags=flags,
        ),
        generated_at=utcnow(),
    )
    do_record(
        session=session,
        actor=actor or Actor.system(),
        action="customer.view_360",
        subject_type="customer",
        subject_id=customer.id,
    )
    await session.flush()
    return view


# ---------------------------------------------------------------------------------------------
# Reveal: the clear value of one masked field, for a stated reason, audited.

_REVEAL = re.compile(REVEAL_FIELD_PATTERN)


def check_reveal_request(field: str, reason: str | None) -> str:
    """Validate a reveal request; returns the stripped reason."""
    if not _REVEAL.match(field or ""):
        raise ValidationFailed(
            "field must be phone, id_number, name, email, card:<last 4 digits> or account:<last 4 digits>.",
            code="bad_reveal_field",
        )
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 200:
        raise ValidationFailed(
            "Give a reason for revealing this data (2 to 200 characters).", code="reason_required"
        )
    return reason


async def do_reveal(
    *,
    session: AsyncSession,
    customer_id: int,
    field: str,
    reason: str,
    actor: Actor,
    branch_scope: str | None = None,
) -> str:
    """Return the clear value of a masked field and write a "customer.reveal" audit row with the reason."""
    reason = check_reveal_request(field, reason)
    customer = await access_customer(session=session, customer_id=customer_id, branch_scope=branch_scope)
    value: str | None
    if field == "phone":
        value = customer.phone
    elif field == "id_number":
        value = customer.id_number
    elif field == "name":
        value = customer.name
    elif field == "email":
        value = customer.email
    elif field.startswith("card:"):
        tail = field.split(":", 1)[1]
        cards = await get_core_banking(session).list_cards(customer.id)
        value = next((c.card_no for c in cards if c.card_no.endswith(tail)), None)
    else:
        tail = field.split(":", 1)[1]
        accounts = await get_core_banking(session).list_accounts(customer.id)
        value = next((a.account_no for a in accounts if a.account_no.endswith(tail)), None)
    if not value:
        raise NotFound(f"This customer has no {field.replace(':', ' ending in ')}.", code="field_not_found")
    do_record(
        session=session,
        actor=actor,
        action="customer.reveal",
        subject_type="customer",
        subject_id=customer.id,
        after={"field": field},
        reason=reason,
    )
    await session.flush()
    return value
