"""A small bilingual intent data set for fast NLU tests (never the full BANKING77)."""

from __future__ import annotations

from lingxi.nlu import Example

_DATA = {
    "card_loss_report": [
        "我的银行卡丢了",
        "卡丢了怎么办",
        "银行卡被偷了帮我挂失",
        "钱包丢了里面有银行卡",
        "我要挂失我的卡",
        "卡找不到了赶紧冻结",
        "信用卡丢失了怎么挂失",
        "刚才卡被人偷走了",
        "I lost my card",
        "my card was stolen",
        "please block my lost card",
        "I can't find my debit card anywhere",
    ],
    "balance_inquiry": [
        "查一下余额",
        "我卡里还有多少钱",
        "账户余额是多少",
        "帮我看看余额",
        "余额查询",
        "我的储蓄卡还剩多少钱",
        "工资卡里有多少钱",
        "查询账户余额",
        "what is my balance",
        "how much money do I have",
        "check my account balance",
        "show me my balance please",
    ],
    "transfer_fee": [
        "转账要手续费吗",
        "跨行转账收费吗",
        "汇款手续费多少",
        "转账费用怎么算",
        "给别的银行转钱要钱吗",
        "手机银行转账免费吗",
        "异地转账手续费",
        "转账收多少手续费",
        "is there a fee for transfers",
        "how much does a transfer cost",
        "transfer fees to another bank",
        "do you charge for wire transfers",
    ],
    "human_agent": [
        "转人工",
        "我要找人工客服",
        "人工服务",
        "帮我接通客服",
        "找个真人",
        "不要机器人我要人工",
        "人工客服在吗",
        "转接人工坐席",
        "talk to a human",
        "I want a real person",
        "connect me to an agent",
        "let me speak to customer service staff",
    ],
    "password_reset": [
        "忘记密码了",
        "密码忘了怎么办",
        "怎么重置登录密码",
        "交易密码忘记了",
        "我想改密码",
        "重设支付密码",
        "手机银行密码忘了",
        "找回密码",
        "I forgot my password",
        "reset my login password",
        "how do I change my pin",
        "can't remember my password",
    ],
    "branch_inquiry": [
        "最近的网点在哪",
        "附近有你们银行吗",
        "网点几点开门",
        "周末网点营业吗",
        "营业时间是几点",
        "哪个支行离我近",
        "网点地址查询",
        "预约网点办业务",
        "where is the nearest branch",
        "branch opening hours",
        "is the branch open on sunday",
        "find a branch near me",
    ],
}


def synthetic_examples() -> list[Example]:
    return [Example(text=t, intent=intent) for intent, texts in _DATA.items() for t in texts]


def synthetic_csv() -> str:
    lines = ["text,intent"] + [f'"{e.text}",{e.intent}' for e in synthetic_examples()]
    return "\n".join(lines) + "\n"
