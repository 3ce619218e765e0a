"""The demo bank's work-order desk: departments and branch teams, dispatch rules, and a few dozen
realistic orders of the demo customers in every state, built through the service functions (with the
work-order clock set back) so that timelines, SLA deadlines, escalations and audit rows are all real.

Customers are not notified of this history (their notices are recorded as skipped). The loader
does what the `ticket.created` handlers would do (hot-issue detection, automation) itself and marks
those events delivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.auth.models import StaffUser
from lingxi.core.actor import Actor
from lingxi.core.events import OutboxEvent
from lingxi.customers.models import Customer
from lingxi.demo.models import DemoCard
from lingxi.notifications.service import silence_customer_notices
from lingxi.tickets import automation, clock, service
from lingxi.tickets.defaults import do_install_defaults
from lingxi.tickets.models import DispatchRule, Ticket, TicketTeam, TicketTeamMember

BANK_ZONE = ZoneInfo("Asia/Shanghai")


class TeamSpec(NamedTuple):
    code: str
    zh: str
    en: str
    kind: str = "department"
    branch: str | None = None
    region: str | None = None
    parent: str | None = None
    lead: str | None = None
    calendar: str = "CN-HO"
    members: tuple[str, ...] = ()


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("HO-OPS", "总行运营中心", "Operations Centre", lead="backoffice02", members=("backoffice02",)),
    TeamSpec(
        "HO-ACCT",
        "运营中心 账户与支付组",
        "Accounts & payments",
        parent="HO-OPS",
        lead="backoffice02",
        members=("backoffice02",),
    ),
    TeamSpec(
        "HO-CARD",
        "信用卡中心 客户服务部",
        "Credit card centre",
        parent="HO-OPS",
        lead="backoffice03",
        members=("backoffice03",),
    ),
    TeamSpec(
        "HO-FRAUD",
        "风险管理部 反欺诈中心",
        "Fraud centre",
        parent="HO-OPS",
        lead="backoffice04",
        calendar="CN-24x7",
        members=("backoffice04",),
    ),
    TeamSpec(
        "HO-LOAN",
        "个人信贷部 贷后服务",
        "Retail lending",
        parent="HO-OPS",
        lead="backoffice05",
        members=("backoffice05",),
    ),
    TeamSpec(
        "HO-WEALTH",
        "财富管理部 客户服务",
        "Wealth management",
        parent="HO-OPS",
        lead="backoffice05",
        members=("backoffice05",),
    ),
    TeamSpec(
        "HO-IT",
        "信息科技部 渠道运维组",
        "Channel operations (IT)",
        parent="HO-OPS",
        lead="backoffice06",
        members=("backoffice06",),
    ),
    TeamSpec(
        "HO-CX", "消费者权益保护部", "Consumer protection", lead="backoffice08", members=("backoffice08",)
    ),
    TeamSpec(
        "BR-BJ001",
        "北京分行营业部 运营组",
        "Beijing branch operations",
        kind="branch",
        branch="BJ001",
        region="北京分行",
        lead="backoffice01",
        calendar="CN-BRANCH",
        members=("backoffice01",),
    ),
    TeamSpec(
        "BR-SH001",
        "上海分行营业部 运营组",
        "Shanghai branch operations",
        kind="branch",
        branch="SH001",
        region="上海分行",
        lead="backoffice07",
        calendar="CN-BRANCH",
        members=("backoffice07",),
    ),
    TeamSpec(
        "BR-SZ001",
        "深圳分行营业部 运营组",
        "Shenzhen branch operations",
        kind="branch",
        branch="SZ001",
        region="深圳分行",
        calendar="CN-BRANCH",
    ),
    TeamSpec(
        "BR-CD001",
        "成都分行营业部 运营组",
        "Chengdu branch operations",
        kind="branch",
        branch="CD001",
        region="成都分行",
        calendar="CN-BRANCH",
    ),
)

# position, name, conditions, team code (None = the customer's branch)
RULES: tuple[tuple[int, str, dict[str, str], str | None], ...] = (
    (10, "欺诈/盗刷工单 → 反欺诈中心", {"type": "fraud"}, "HO-FRAUD"),
    (15, "疑似诈骗分类 → 反欺诈中心", {"category": "fraud_report"}, "HO-FRAUD"),
    (20, "投诉 → 消费者权益保护部", {"type": "complaint"}, "HO-CX"),
    (30, "换卡/补卡 → 客户所属网点", {"category": "card_replacement"}, None),
    (31, "账户冻结/限制 → 客户所属网点", {"category": "account_frozen"}, None),
    (32, "更新个人信息 → 客户所属网点", {"category": "update_personal_info"}, None),
    (33, "销户 → 客户所属网点", {"category": "account_closing"}, None),
    (34, "ATM问题 → 客户所属网点", {"category": "atm_issue"}, None),
    (40, "技术故障 → 渠道运维组", {"type": "technical"}, "HO-IT"),
    (41, "手机银行/密码 → 渠道运维组", {"product": "digital"}, "HO-IT"),
    (50, "信用卡业务 → 信用卡中心", {"product": "credit_card"}, "HO-CARD"),
    (60, "贷款业务 → 个人信贷部", {"product": "loan"}, "HO-LOAN"),
    (70, "理财、存款、外汇 → 财富管理部", {"product": "wealth"}, "HO-WEALTH"),
    (80, "转账支付 → 账户与支付组", {"product": "payment"}, "HO-ACCT"),
    (90, "账户业务 → 账户与支付组", {"product": "account"}, "HO-ACCT"),
    (999, "兜底 → 总行运营中心", {}, "HO-OPS"),
)


@dataclass
class Desk:
    session: AsyncSession
    now: datetime
    staff: dict[str, StaffUser]
    customers: dict[str, Customer]
    teams: dict[str, TicketTeam]

    def actor(self, username: str) -> Actor:
        user = self.staff[username]
        return Actor(type="staff", id=str(user.id), name=user.display_name, role=user.role)

    def customer_actor(self, customer_no: str) -> Actor:
        return service.customer_actor(self.customers[customer_no])

    def at(self, minutes_ago: float) -> Any:
        return clock.frozen(self.now - timedelta(minutes=minutes_ago))

    async def open(self, minutes_ago: float, customer_no: str, **values: Any) -> Ticket:
        customer = self.customers[customer_no]
        values.setdefault("description", "")
        values.setdefault("conversation_id", None)
        values.setdefault(
            "channel", customer.preferred_channel if customer.preferred_channel != "ivr" else "phone"
        )
        with self.at(minutes_ago):
            return await service.do_create_ticket(session=self.session, customer_id=customer.id, **values)

    async def step(self, minutes_ago: float, action: Callable[..., Awaitable[Any]], **kwargs: Any) -> None:
        with self.at(minutes_ago):
            await action(session=self.session, **kwargs)

    async def take(self, minutes_ago: float, ticket: Ticket, username: str, *, start: bool = True) -> None:
        """`username` takes the order (assigns it to themself) and, 5 minutes later, starts work."""
        await self.step(
            minutes_ago,
            service.do_assign,
            ticket=ticket,
            assignee=self.staff[username],
            actor=self.actor(username),
        )
        if start:
            await self.step(minutes_ago - 5, service.do_start, ticket=ticket, actor=self.actor(username))


async def load_work_orders(*, session: AsyncSession, actor: Actor) -> dict[str, int]:
    """Teams, rules, default calendars/policies/automation, and the demo orders. Skips what exists."""
    counts = await do_install_defaults(session=session, actor=actor)
    if await session.scalar(select(TicketTeam.id).limit(1)) is not None:
        return {**counts, "ticket_teams": 0, "tickets": 0}
    staff = {u.username: u for u in (await session.scalars(select(StaffUser))).all()}
    teams: dict[str, TicketTeam] = {}
    for spec in TEAMS:
        team = TicketTeam(
            code=spec.code,
            name_zh=spec.zh,
            name_en=spec.en,
            kind=spec.kind,
            branch_code=spec.branch,
            region=spec.region,
            parent_id=teams[spec.parent].id if spec.parent else None,
            lead_id=staff[spec.lead].id if spec.lead in staff else None,
            calendar_code=spec.calendar,
        )
        session.add(team)
        await session.flush()
        teams[spec.code] = team
        for username in spec.members:
            if username in staff:
                session.add(TicketTeamMember(team_id=team.id, staff_id=staff[username].id))
    for position, name, conditions, team_code in RULES:
        session.add(
            DispatchRule(
                position=position,
                name=name,
                team_id=teams[team_code].id if team_code else None,
                to_customer_branch=team_code is None,
                **conditions,
            )
        )
    await session.flush()
    customers = {
        c.customer_no: c
        for c in (await session.scalars(select(Customer).order_by(Customer.id).limit(40))).all()
    }
    silence_customer_notices(session, "demo history")
    desk = Desk(session=session, now=clock.now(), staff=staff, customers=customers, teams=teams)
    tickets = await _orders(desk)
    for ticket in tickets:  # what the ticket.created handlers would do
        await service.do_detect_hot_issue(session=session, ticket=ticket)
        await automation.do_run_automation(session=session, ticket=ticket)
    swept = await service.do_sla_sweep(session=session, now=desk.now)
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.topic == service.TICKET_CREATED, OutboxEvent.delivered_at.is_(None))
        .values(delivered_at=desk.now)
    )
    await session.flush()
    return {
        **counts,
        "ticket_teams": len(teams),
        "tickets": len(tickets),
        "sla_escalations": swept.escalations,
    }


async def _orders(d: Desk) -> list[Ticket]:
    out: list[Ticket] = []
    h = 60.0
    day = 24 * h

    # 1. 张伟 (C0000001): an unrecognised online payment on his credit card, last night: fraud centre at work.
    t = await d.open(
        14 * h,
        "C0000001",
        type="fraud",
        category="fraud_report",
        title="信用卡凌晨出现两笔境外网购消费，非本人操作",
        description="客户称 11 月 29 日凌晨 2 点左右收到两笔消费短信，合计 3,999.00 元，商户为境外购物网站，"
        "本人当时在睡觉、卡片在身边，已通过手机银行临时冻结卡片。",
        fields={
            "incident_at": (d.now - timedelta(hours=16)).astimezone(BANK_ZONE).isoformat(timespec="seconds"),
            "amount": "3999.00",
            "loss_channel": "online_payment",
            "card_frozen": True,
        },
        source="conversation",
        actor=d.actor("agent09"),
    )
    await d.take(14 * h - 8, t, "backoffice04")
    await d.step(
        14 * h - 5,
        service.do_add_comment,
        ticket=t,
        text="您好，已为您登记争议交易并向卡组织发起调单，调查期间卡片保持冻结，如有进展会第一时间通知您。",
        visibility="customer",
        actor=d.actor("backoffice04"),
    )
    await d.step(
        13 * h,
        service.do_add_comment,
        ticket=t,
        text="已向卡组织提交拒付申请，参考号 CB20261129-0732；商户为高风险 MCC 5999。",
        visibility="internal",
        actor=d.actor("backoffice04"),
    )
    out.append(t)

    # 2. 李秀英 (C0000002, 上海): complaint about queueing at the branch, waiting for her ticket photo.
    t = await d.open(
        2 * day,
        "C0000002",
        type="complaint",
        category="complaint",
        title="营业部排队近两小时，仅开一个对公窗口",
        description="客户反映上周五上午在上海分行营业部办理定期存款到期转存，取号后等待近两小时，"
        "现场仅开放一个个人业务窗口，老年客户无座位。要求说明情况并改进。",
        fields={
            "complaint_about": "process",
            "incident_date": (d.now - timedelta(days=4)).date().isoformat(),
            "branch_code": "SH001",
            "desired_outcome": "希望银行道歉，并增加高峰期窗口",
        },
        source="staff",
        channel="phone",
        actor=d.actor("agent04"),
    )
    await d.take(2 * day - 30, t, "backoffice08")
    await d.step(
        2 * day - 20,
        service.do_request_info,
        ticket=t,
        note="为核实当日排队情况，请上传取号小票照片（如有），或告知大致取号时间。",
        actor=d.actor("backoffice08"),
    )
    out.append(t)

    # 3. 陈思琪 (C0000003): a transfer to another bank did not arrive; resolved, waiting for her confirmation.
    t = await d.open(
        3 * day,
        "C0000003",
        type="inquiry",
        category="transfer_not_received",
        title="跨行转账 8,000 元两天未到账",
        description="客户 11 月 26 日通过手机银行向招商银行账户转账 8,000 元，状态显示成功，收款方称未收到。",
        fields={"topic": "跨行转账未到账"},
        source="bot",
        channel="wechat",
        actor=Actor.system("bot"),
    )
    await d.take(3 * day - 40, t, "backoffice02")
    await d.step(
        2 * day,
        service.do_resolve,
        ticket=t,
        resolution="经查询，该笔汇款因收款账户名与账号不一致被对方行退回，资金已于今日退回您的账户，请核对收款人信息后重新转账。",
        actor=d.actor("backoffice02"),
    )
    out.append(t)

    # 4. 刘志强 (C0000004, VIP): a damaged debit card; the automation orders the new card at once.
    card = await d.session.scalar(
        select(DemoCard)
        .where(
            DemoCard.customer_id == d.customers["C0000004"].id,
            DemoCard.kind == "debit",
            DemoCard.status == "active",
        )
        .limit(1)
    )
    if card is not None:
        t = await d.open(
            90,
            "C0000004",
            type="request",
            category="card_replacement",
            title="借记卡芯片损坏，申请换卡",
            description="客户称在 POS 机刷卡多次提示读卡失败，卡面芯片有划痕，申请换卡，寄到预留地址即可。",
            fields={
                "request_kind": "card_replacement",
                "card_tail4": card.card_no[-4:],
                "delivery": "registered_address",
                "reason": "damaged",
            },
            source="customer",
            channel="app",
            actor=d.customer_actor("C0000004"),
        )
        out.append(t)

    # 5. James Wilson (C0000005, English): statement for a visa application; closed and rated.
    t = await d.open(
        5 * day,
        "C0000005",
        type="request",
        category="transaction_history",
        title="Bank statement for the last 6 months (visa application)",
        description="Needs an English statement with the bank's stamp for a UK visa application.",
        fields={"request_kind": "statement"},
        source="conversation",
        actor=d.actor("agent11"),
    )
    await d.take(5 * day - 20, t, "backoffice02")
    await d.step(
        4 * day,
        service.do_resolve,
        ticket=t,
        resolution="英文版流水已盖章并以 PDF 发送至您的预留邮箱，纸质版可在上海浦东支行领取。",
        actor=d.actor("backoffice02"),
    )
    await d.step(4 * day - 60, service.do_close, ticket=t, actor=d.customer_actor("C0000005"))
    await d.step(
        4 * day - 59,
        service.do_rate,
        ticket=t,
        score=5,
        comment="Quick and clear, thank you!",
        actor=d.customer_actor("C0000005"),
    )
    out.append(t)

    # 6. 黄嘉怡 (C0000006, private banking): wealth redemption question — handled, then reopened.
    t = await d.open(
        4 * day,
        "C0000006",
        type="inquiry",
        category="wealth_redemption",
        title="理财产品赎回资金未按约定时间到账",
        description="客户 11 月 24 日赎回“灵犀安心180天”，产品说明书约定 T+1 到账，至今未到。",
        fields={"product_name": "灵犀安心180天", "callback_time": "afternoon"},
        source="conversation",
        channel="wechat",
        actor=d.actor("agent07"),
    )
    await d.take(4 * day - 30, t, "backoffice05")
    await d.step(
        3 * day,
        service.do_resolve,
        ticket=t,
        resolution="赎回资金因节假日顺延一个工作日，已于 11 月 26 日到账。",
        actor=d.actor("backoffice05"),
    )
    await d.step(
        2 * day,
        service.do_reopen,
        ticket=t,
        reason="查了账户，到账金额比预期少了 1,200 元",
        actor=d.customer_actor("C0000006"),
    )
    out.append(t)

    # 7. 赵磊 (C0000007, 北京营业部): card blocked after an overdue bill — dispatched to his branch.
    t = await d.open(
        26 * h,
        "C0000007",
        type="inquiry",
        category="account_frozen",
        title="信用卡逾期还清后卡片仍被止付",
        description="客户已于昨日全额还清逾期账单，卡片仍显示止付，无法消费，询问何时恢复。",
        fields={},
        source="conversation",
        channel="app",
        actor=d.actor("agent02"),
    )
    await d.take(26 * h - 60, t, "backoffice01", start=False)
    out.append(t)

    # 8. 孙浩然 (C0000008): the app will not log in after an update — six days old, overdue, escalated.
    t = await d.open(
        6 * day,
        "C0000008",
        type="technical",
        category="login_problem",
        title="手机银行更新后登录提示 E1023",
        description="客户升级到 8.2.0 版本后，人脸识别通过但随后提示“登录失败 E1023”，卸载重装无效。",
        fields={"platform": "android", "app_version": "8.2.0", "error_code": "E1023"},
        source="bot",
        channel="webchat",
        actor=Actor.system("bot"),
    )
    await d.take(6 * day - 60, t, "backoffice06", start=False)
    out.append(t)

    # 9. A duplicate pair, merged: the customer asked twice about the same annual fee.
    first = await d.open(
        30 * h,
        "C0000009",
        type="inquiry",
        category="annual_fee",
        title="金卡年费 300 元被扣，申请减免",
        description="客户称去年已刷满 6 次免年费，今年仍被扣 300 元年费。",
        fields={"product_name": "灵犀金卡"},
        source="bot",
        channel="webchat",
        actor=Actor.system("bot"),
    )
    second = await d.open(
        28 * h,
        "C0000009",
        type="inquiry",
        category="annual_fee",
        title="年费扣了 300 元，要求退还",
        description="同一问题客户再次来电。",
        fields={},
        source="staff",
        channel="phone",
        actor=d.actor("agent01"),
    )
    await d.take(27 * h, first, "backoffice03", start=False)
    await d.step(
        26 * h,
        service.do_merge,
        source=second,
        target=first,
        actor=d.actor("backoffice03"),
        reason="同一笔年费争议，合并处理",
    )
    out += [first, second]

    # 10. A new complaint, not yet picked up.
    out.append(
        await d.open(
            50,
            "C0000010",
            type="complaint",
            category="complaint",
            title="客户经理多次来电推销理财，已明确拒绝仍被打扰",
            description="客户表示已三次告知不需要，仍接到营销电话，要求停止营销并处理相关人员。",
            fields={
                "complaint_about": "marketing",
                "incident_date": (d.now - timedelta(days=1)).date().isoformat(),
                "desired_outcome": "停止营销来电，给出书面答复",
            },
            source="staff",
            channel="phone",
            actor=d.actor("agent05"),
        )
    )

    # 11. A loan settlement certificate with a sub-task to the branch for the paper copy.
    t = await d.open(
        6 * h,
        "C0000011",
        type="request",
        category="settlement_certificate",
        title="开具住房贷款结清证明",
        description="客户已提前还清房贷，需结清证明办理抵押注销。",
        fields={"request_kind": "certificate"},
        source="customer",
        channel="app",
        actor=d.customer_actor("C0000011"),
    )
    await d.take(6 * h - 30, t, "backoffice05")
    await d.step(
        6 * h - 20,
        service.do_create_subtask,
        parent=t,
        team=d.teams["BR-BJ001"],
        title="打印结清证明原件并加盖公章",
        description="请营业部打印结清证明原件，客户将到网点领取。",
        actor=d.actor("backoffice05"),
    )
    out.append(t)

    # 12–16. Many customers at once: "系统繁忙" when transferring in the app — a hot issue.
    phrases = (
        "手机银行转账一直提示“系统繁忙，请稍后再试”",
        "转账时手机银行显示系统繁忙，转不出去",
        "今天中午手机银行转账失败，提示系统繁忙",
        "给房东转房租，手机银行一直系统繁忙",
        "手机银行转账报系统繁忙，换了网络也不行",
    )
    for i, phrase in enumerate(phrases):
        out.append(
            await d.open(
                40 - i * 7,
                f"C00000{12 + i:02d}",
                type="technical",
                category="transfer_failed",
                title=phrase,
                description="",
                fields={"platform": "ios" if i % 2 else "android"},
                source="bot" if i % 2 else "customer",
                channel="app",
                actor=Actor.system("bot") if i % 2 else d.customer_actor(f"C00000{12 + i:02d}"),
            )
        )
    return out
