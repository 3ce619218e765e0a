"""Every business flow end to end over the real chat API, step-up included."""

from __future__ import annotations

from sqlalchemy import select

from lingxi.conversations.models import Conversation
from lingxi.demo.models import DemoCard, DemoServiceRequest, DemoWealthHolding


async def _conversation(db, chat) -> Conversation:
    async with db.sessionmaker() as s:
        stmt = select(Conversation).where(Conversation.public_id == chat.chat["conversation_id"])
        return await s.scalar(stmt)


async def _requests(db, customer_id: int, kind: str) -> list[DemoServiceRequest]:
    async with db.sessionmaker() as s:
        stmt = select(DemoServiceRequest).where(
            DemoServiceRequest.customer_id == customer_id, DemoServiceRequest.kind == kind
        )
        return list((await s.scalars(stmt)).all())


async def _verify(chat, phone: str) -> str:
    code = await chat.last_code(phone)
    return await chat.say(code)


async def test_balance_inquiry_shows_a_masked_card(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("查一下我卡里还有多少钱")
    assert "12,345.67" in answer and "50,000.00" in answer
    [card] = chat.cards
    assert card["type"] == "balance"
    assert all(banked.current_account not in row["label"] for row in card["rows"])
    assert any("1234" in row["label"] for row in card["rows"])
    assert (await _conversation(db, chat)).bot_outcome == "resolved_by_bot"


async def test_anonymous_visitor_is_asked_to_log_in(chat_as):
    chat = await chat_as(None)
    answer = await chat.say("我的余额是多少")
    assert "登录" in answer and "12,345" not in answer


async def test_transaction_history_asks_which_account_then_lists(banked, chat_as):
    chat = await chat_as(banked.customer)
    answer = await chat.say("帮我查下最近的交易明细")
    assert "哪个账户" in answer and "1. " in answer and "2. " in answer
    answer = await chat.say("1")
    assert "张伟" in answer and "-5,000.00" in answer
    assert chat.cards[0]["type"] == "transactions"


async def test_bill_inquiry_explains_items(banked, chat_as):
    chat = await chat_as(banked.customer)
    answer = await chat.say("这个月信用卡账单多少")
    assert "哪张信用卡" in answer
    answer = await chat.say("尾号5678")
    assert "8,650.00" in answer and "865.00" in answer
    assert "商户退款" in answer and "年费" in answer
    assert chat.cards[0]["type"] == "bill"


async def test_bill_installment_quotes_fees_steps_up_and_books(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("我想把信用卡账单分期")
    assert "验证码已发送" in answer and "5678" in answer  # phone tail 5678, L2 needed
    answer = await _verify(chat, banked.customer.phone)
    assert "身份验证通过" in answer and "哪张信用卡" in answer
    answer = await chat.say("白金卡那张")
    assert "8,650.00" in answer and "分期多少钱" in answer
    answer = await chat.say("6000")
    assert "期数" in answer
    answer = await chat.say("12期")
    assert "总手续费" in answer and "¥475.20" in answer  # 6000 × 0.66 % × 12
    assert "确认" in chat.quick_replies
    answer = await chat.say("确认")
    assert "分期已办理成功" in answer
    [request] = await _requests(db, banked.customer.id, "installment")
    assert request.detail["periods"] == 12 and request.detail["amount"] == "6000"


async def test_one_time_code_is_never_stored_in_clear(banked, chat_as, api):
    chat = await chat_as(banked.customer)
    await chat.say("我要挂失银行卡")
    code = await chat.last_code(banked.customer.phone)
    await chat.say(code)
    r = await api.get("/api/chat/messages", headers={"Authorization": f"Bearer {chat.chat['session_token']}"})
    contents = [m["content"] for m in r.json()["items"]]
    assert code not in contents and "******" in contents


async def test_card_loss_and_replacement_in_one_flow_with_a_correction(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("我的卡丢了，快帮我挂失")
    answer = await _verify(chat, banked.customer.phone)
    assert "挂失哪张卡" in answer
    answer = await chat.say("尾号9012")
    # "丢了" in the first message already answered lost-or-stolen, so the bot confirms at once
    assert "确认立即挂失" in answer and "9012" in answer
    answer = await chat.say("不对，是尾号1234")
    assert "确认立即挂失" in answer and "1234" in answer and "9012" not in answer
    answer = await chat.say("确认")
    assert "已为您挂失" in answer and "补办" in answer
    answer = await chat.say("要")
    assert "补卡申请已受理" in answer
    async with db.sessionmaker() as s:
        card = await s.scalar(select(DemoCard).where(DemoCard.card_no == banked.debit_card))
        other = await s.scalar(select(DemoCard).where(DemoCard.card_no == banked.youth_card))
    assert card.status == "lost" and other.status == "active"
    assert len(await _requests(db, banked.customer.id, "card_replacement")) == 1
    assert (await _conversation(db, chat)).bot_outcome == "resolved_by_bot"


async def test_stolen_card_is_blocked_then_handed_to_fraud_desk(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("信用卡被偷了")
    await _verify(chat, banked.customer.phone)
    await chat.say("5678")
    answer = await chat.say("确认")
    assert "已为您挂失" in answer
    answer = await chat.say("不用")
    assert "反欺诈" in answer
    conversation = await _conversation(db, chat)
    assert conversation.status == "queued" and conversation.skill_group == "credit_card"
    handoff = conversation.context["handoff"]
    assert handoff["reason"] == "card_stolen" and handoff["verification_level"] == "L2"
    assert handoff["slots"]["reason"] == "被盗" and "5678" in handoff["slots"]["card"]
    assert banked.credit_card not in str(handoff)


async def test_verification_is_not_asked_twice_within_the_window(banked, chat_as):
    chat = await chat_as(banked.customer)
    await chat.say("帮我重置一下密码")
    await _verify(chat, banked.customer.phone)
    answer = await chat.say("登录密码")
    assert "确认重置" in answer
    answer = await chat.say("确认")
    assert "重置链接" in answer
    answer = await chat.say("我想修改预留手机号")
    assert "验证码" not in answer and "新手机号" in answer
    answer = await chat.say("13600001111")
    assert "136****1111" in answer
    answer = await chat.say("确认")
    assert "修改申请已提交" in answer


async def test_wrong_code_then_cancel(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("换张新卡，旧卡磁条坏了")
    code = await chat.last_code(banked.customer.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answer = await chat.say(wrong)
    assert "验证码错误" in answer and "4次" in answer
    answer = await chat.say("算了")
    assert "已取消" in answer
    assert await _requests(db, banked.customer.id, "card_replacement") == []


async def test_credit_limit_temporary_rise(banked, chat_as):
    chat = await chat_as(banked.customer)
    await chat.say("信用卡想提额")
    await _verify(chat, banked.customer.phone)
    answer = await chat.say("5678")
    assert "当前额度¥50,000.00" in answer
    answer = await chat.say("临时额度")
    answer = await chat.say("8万")
    assert "确认" in answer and "¥80,000.00" in answer
    answer = await chat.say("确认")
    assert "最高可调至65000.00元" in answer  # refused by the core: 30 % above 50,000


async def test_loan_progress_and_settlement_certificate(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("我的贷款审批到哪一步了")
    assert "审批中：资料复核" in answer and "灵犀消费贷" in answer
    answer = await chat.say("房贷还清了，要开结清证明")
    assert "领取方式" in answer
    answer = await chat.say("电子版")
    assert "结清证明申请已受理" in answer
    assert len(await _requests(db, banked.customer.id, "settlement_certificate")) == 1


async def test_credit_card_application_progress(banked, chat_as):
    chat = await chat_as(banked.customer)
    answer = await chat.say("我申请的信用卡批下来没有")
    assert "征信审核" in answer


async def test_wealth_redemption_rules_then_step_up_at_confirmation(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("赎回理财")
    assert "安心理财30天" in answer and "稳盈一年定开" in answer and "验证码" not in answer
    answer = await chat.say("稳盈那个")
    assert "不可赎回" in answer and "2027-06-30" in answer
    answer = await chat.say("那赎回安心理财吧")  # the product named in the request is taken
    assert "T+1" in answer and "全部赎回还是部分赎回" in answer
    answer = await chat.say("部分")
    answer = await chat.say("4000")
    assert "验证码已发送" in answer
    answer = await _verify(chat, banked.customer.phone)
    assert "确认赎回" in answer
    answer = await chat.say("确认")
    assert "赎回申请已受理" in answer and "4,000.00" in answer
    async with db.sessionmaker() as s:
        holding = await s.scalar(select(DemoWealthHolding).where(DemoWealthHolding.product_code == "AX30"))
    assert holding.units == 6000


async def test_a_face_check_in_the_app_lets_the_waiting_flow_go_on(banked, chat_as, api):
    import asyncio

    from tests.chat_helpers import bearer

    chat = await chat_as(banked.customer)
    answer = await chat.say("我的卡丢了")
    assert "验证码已发送" in answer and "biometric" in chat.replies[-1]["payload"]["step_up"]["methods"]
    headers = bearer(chat.chat["session_token"])
    r = await api.post("/api/identity/biometric/demo-assertion", json={"method": "face"}, headers=headers)
    r = await api.post("/api/identity/biometric", json={"assertion": r.json()["assertion"]}, headers=headers)
    assert r.status_code == 200 and r.json()["level"] == "L2"
    for _ in range(50):  # the outbox handler resumes the flow right after the commit
        items = (await api.get("/api/chat/messages", params={"after": chat.last_id}, headers=headers)).json()
        texts = " ".join(m["content"] for m in items["items"])
        if "挂失哪张卡" in texts:
            break
        await asyncio.sleep(0.1)
    assert "身份验证通过" in texts and "挂失哪张卡" in texts


async def test_flows_work_as_text_on_wechat(banked, api, db):
    """A bound WeChat user: numbered options instead of buttons, the card as lines of text."""
    from lingxi.core.timeutil import utcnow
    from lingxi.customers.models import ContactPoint
    from tests.channels.wechat_sim import WeChat

    wx = WeChat(api, openid="oLx9boundBotUser00000000001")
    async with db.sessionmaker() as s:
        s.add(
            ContactPoint(
                customer_id=banked.customer.id, kind="wechat_openid", value=wx.openid, verified_at=utcnow()
            )
        )
        await s.commit()
    answer = await wx.say("查余额")
    assert "12,345.67" in answer and "· " in answer and banked.current_account not in answer
    answer = await wx.say("查一下账单")
    assert "1. 灵犀白金信用卡（尾号5678）" in answer and "2. 灵犀青春信用卡（尾号9012）" in answer
    answer = await wx.say("1")
    assert "8,650.00" in answer and "商户退款" in answer


async def _tickets(db, customer_id: int):
    from lingxi.tickets.models import Ticket

    async with db.sessionmaker() as s:
        return list((await s.scalars(select(Ticket).where(Ticket.customer_id == customer_id))).all())


async def test_transfer_not_received_finds_the_transfer_and_opens_a_trace_request(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("我前天转给张伟的5000块钱对方说还没收到")
    # amount and date come from the first message; the payee is asked
    assert "收款人姓名" in answer
    answer = await chat.say("张伟，招商银行")
    assert "向张伟转出¥5,000.00" in answer and "超过正常到账时间" in answer
    answer = await chat.say("好的")
    assert "已为您提交转账查询工单" in answer
    [order] = await _tickets(db, banked.customer.id)
    assert order.category == "transfer_not_received" and order.source == "bot"
    assert order.ticket_no in answer
    # asking again follows the open order instead of a second one
    chat2 = await chat_as(banked.customer)
    await chat2.say("转账5000元没到账")
    await chat2.say("跳过")
    await chat2.say("张伟，招商银行")
    answer = await chat2.say("是的")
    assert "已有一张处理中的同类工单" in answer and order.ticket_no in answer
    assert len(await _tickets(db, banked.customer.id)) == 1


async def test_unrecognised_charge_explained_or_reported(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("账户被扣了2块钱不知道是什么")
    answer = await chat.say("跳过") if "哪天" in answer else answer
    assert "短信通知服务费" in answer or "SMS" in answer
    assert await _tickets(db, banked.customer.id) == []
    answer = await chat.say("还有一笔368.5元的扣款我不认识")
    answer = await chat.say("跳过") if "哪天" in answer else answer
    assert "杭州某某科技有限公司" in answer and "核实工单" in answer
    answer = await chat.say("是")
    assert "已为您提交扣费核实工单" in answer
    [order] = await _tickets(db, banked.customer.id)
    assert order.type == "complaint" and order.category == "unrecognised_charge"
    assert order.fields["complaint_about"] == "fees"


async def test_ticket_progress_lists_my_orders(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("我的工单处理到哪了")
    assert "没有工单记录" in answer
    await chat.say("转账5000元没到账")
    await chat.say("跳过")
    await chat.say("张伟，招商银行")
    await chat.say("好")
    answer = await chat.say("查一下我的工单进度")
    [order] = await _tickets(db, banked.customer.id)
    assert order.ticket_no in answer and chat.cards[0]["type"] == "progress"
