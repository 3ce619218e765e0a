"""What the bot itself says (flows bring their own texts). Chinese first, English beside it."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "greeting": (
        "您好，我是灵犀银行智能助手，可以帮您查余额、查账单、挂失补卡、办分期、查进度等。请问有什么可以帮您？",
        "Hello, I am the Lingxi Bank assistant: balances, bills, lost cards, instalments, progress and more. "
        "How can I help?",
    ),
    "goodbye": ("不客气，很高兴为您服务！如还有问题，随时找我。", "You're welcome! Come back any time."),
    "anything_else": ("还有什么可以帮您的吗？", "Anything else I can help with?"),
    "not_understood": (
        "抱歉，我没有理解您的意思。您可以换个说法，或者直接说“查余额”“查账单”“挂失”等；需要人工服务请回复“人工”。",
        "Sorry, I did not get that. Try other words, e.g. 'balance', 'bill', 'lost card'; reply 'agent' "
        "for a person.",
    ),
    "did_you_mean": ("您是想问：", "Did you mean:"),
    "pick_number": ("回复序号即可。", "Reply with the number."),
    "retry_slot": ("抱歉，没有识别到您的选择。", "Sorry, I could not match that."),
    "confirm_again": (
        "请回复“确认”继续办理，或回复“取消”放弃。",
        "Reply 'confirm' to go ahead or 'cancel' to stop.",
    ),
    "cancelled": ("好的，已取消{title}，未做任何变更。", "OK, {title} cancelled; nothing was changed."),
    "timed_out": (
        "您之前办理的{title}已超时未完成，已自动取消。",
        "Your earlier {title} timed out and was cancelled.",
    ),
    "switching": ("好的，先不办理{title}了。", "OK, leaving {title} for now."),
    "need_login": (
        "办理{title}需要先确认您的身份：请在手机银行登录后使用在线客服，或在微信公众号回复“绑定”绑定账户。",
        "{title} needs to know who you are: log in to the app and chat there, or reply 'bind' on WeChat.",
    ),
    "step_up_otp": (
        "为保障您的资金安全，办理{title}需要验证身份。验证码已发送至您尾号{phone_tail}的手机，请直接回复6位验证码"
        "（{minutes}分钟内有效）。未收到可回复“重新发送”，回复“取消”可放弃。",
        "For your security, {title} needs a one-time code: we sent it to your phone ending {phone_tail}. "
        "Reply with the 6 digits (valid {minutes} minutes), 'resend' for a new one, or 'cancel'.",
    ),
    "step_up_app_only": (
        "办理{title}需要进一步验证身份，请在手机银行中完成刷脸或指纹验证后继续。",
        "{title} needs an extra check: confirm with your face or fingerprint in the app, then continue.",
    ),
    "step_up_remind": (
        "请回复短信中的6位验证码；未收到可回复“重新发送”，回复“取消”可放弃办理。",
        "Reply with the 6-digit code from the SMS, 'resend' for a new one, or 'cancel'.",
    ),
    "step_up_done": ("身份验证通过。", "Verified, thank you."),
    "step_up_resent": ("新的验证码已发送，请查收短信。", "A new code is on its way."),
    "refused": ("{reason}", "{reason}"),
    "offer_agent": ("如需人工协助，请回复“人工”。", "Reply 'agent' if you would like a person to help."),
    "handoff_customer_request": (
        "好的，正在为您转接人工客服，请稍候。客服接入后会看到我们刚才的对话，您无需重复说明。",
        "Connecting you to an agent now. They will see our conversation, so you need not repeat yourself.",
    ),
    "handoff_not_understood": (
        "抱歉没能帮到您，正在为您转接人工客服，客服会看到刚才的对话记录，请稍候。",
        "Sorry I could not help; an agent will take over and see our conversation.",
    ),
    "handoff_negative_sentiment": (
        "非常抱歉给您带来不好的体验，正在为您优先转接人工客服，请稍候。",
        "I am sorry for the trouble. An agent will take over right away.",
    ),
    "handoff_complaint": (
        "非常抱歉给您带来困扰，正在为您转接专人受理投诉，客服接入后会看到完整记录，请稍候。",
        "I am sorry. A colleague who handles complaints will take over and see the whole conversation.",
    ),
    "handoff_fraud": (
        "涉及资金安全，已为您优先转接反欺诈专员，请稍候。如需立即冻结卡片，也可回复“挂失”或拨打95xxx热线。",
        "This concerns your money's safety: a fraud specialist goes first in line for you. To freeze a card "
        "now, reply 'lost card' or call 95xxx.",
    ),
    "handoff_cancel_transfer": (
        "转账撤回需要人工尽快处理，已为您优先转接，请准备好转账时间、金额和收款人信息。",
        "Stopping a transfer needs a person quickly; you go first in line. "
        "Have the time, amount and payee ready.",
    ),
    "handoff_atm_issue": (
        "ATM问题需要人工核实，正在为您转接，请准备好ATM所在位置、时间和金额。",
        "An agent will look into the ATM problem; have the ATM's location, the time and the amount ready.",
    ),
    "handoff_slot_failed": (
        "看来这一步不太顺利，正在为您转接人工客服继续办理，您已提供的信息会一并转给客服。",
        "Let me pass you to an agent to finish this; they will see what you have told me.",
    ),
    "handoff_card_stolen": ("", ""),  # the flow says it
    "handoff_flow": ("正在为您转接人工客服，请稍候。", "Connecting you to an agent."),
    "handoff_step_up_failed": (
        "身份验证未通过，为保障安全，正在为您转接人工客服协助办理。",
        "The verification did not succeed; an agent will help you from here.",
    ),
    "faq_feedback": ("以上回答是否解决了您的问题？", "Did this answer your question?"),
    "resolved_yes": ("已解决", "Yes, solved"),
    "resolved_no": ("没解决，转人工", "No, talk to a person"),
    "confirm": ("确认", "Confirm"),
    "cancel": ("取消", "Cancel"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "agent": ("转人工", "Agent"),
}


def t(key: str, language: str, **values: object) -> str:
    zh, en = TEXTS[key]
    text = en if language.startswith("en") else zh
    return text.format(**values) if values else text
