"""Work-order categories: the intent ids of the bank's standard taxonomy (shared/intents.yaml).

A work order's category is the intent it is about, so the bot, the NLU, analytics and dispatch rules
speak about the same thing. Conversation-control intents (greeting, thanks_goodbye, human_agent,
ticket_progress) are not categories; `other` is for what fits nowhere. Each category belongs to a
product line, which dispatch rules may match on instead of listing categories one by one.
"""

from __future__ import annotations

from typing import NamedTuple


class Category(NamedTuple):
    id: str
    zh: str
    en: str
    product: str  # product line: card, account, digital, fraud, payment, credit_card, loan, wealth, service
    kind: str  # the intent's kind: faq (answered from knowledge), task (a flow) or route


CATEGORIES: tuple[Category, ...] = (
    Category("card_loss_report", "银行卡挂失", "Report a lost or stolen card", "card", "task"),
    Category("card_replacement", "换卡/补卡", "Replace a damaged or expiring card", "card", "task"),
    Category("card_activation", "卡片激活", "Activate a new card", "card", "faq"),
    Category("account_frozen", "账户冻结/限制", "Account frozen or restricted", "account", "faq"),
    Category("balance_inquiry", "余额查询", "Check balance", "account", "task"),
    Category("transaction_history", "交易明细查询", "Transaction history", "account", "task"),
    Category("account_opening", "开户", "Open an account", "account", "faq"),
    Category("account_closing", "销户", "Close an account", "account", "faq"),
    Category("change_phone_number", "修改预留手机号", "Change registered phone number", "account", "task"),
    Category("update_personal_info", "更新个人信息", "Update personal details", "account", "faq"),
    Category("password_reset", "密码重置", "Reset a password", "digital", "task"),
    Category("password_locked", "密码锁定", "Password locked", "digital", "faq"),
    Category(
        "verification_code_not_received", "收不到验证码", "Verification code not received", "digital", "faq"
    ),
    Category("login_problem", "无法登录手机银行", "Cannot log in to the app", "digital", "faq"),
    Category(
        "fraud_report", "疑似诈骗/盗刷", "Report fraud or an unauthorised transaction", "fraud", "route"
    ),
    Category("transfer_not_received", "转账未到账", "Transfer not received", "payment", "task"),
    Category("transfer_failed", "转账失败", "Transfer failed", "payment", "faq"),
    Category("transfer_limit", "转账限额", "Transfer limits", "payment", "faq"),
    Category("transfer_fee", "转账手续费", "Transfer fees", "payment", "faq"),
    Category("cancel_transfer", "撤销转账/转错账", "Cancel a transfer or wrong payee", "payment", "route"),
    Category(
        "third_party_payment_binding", "绑定第三方支付", "Link card to WeChat Pay or Alipay", "payment", "faq"
    ),
    Category("unrecognised_charge", "不明扣费", "Unrecognised charge", "payment", "task"),
    Category("credit_card_apply", "申请信用卡", "Apply for a credit card", "credit_card", "faq"),
    Category(
        "credit_card_application_progress",
        "信用卡审批进度",
        "Credit card application status",
        "credit_card",
        "task",
    ),
    Category("credit_limit_adjustment", "信用卡额度调整", "Credit limit change", "credit_card", "task"),
    Category("bill_inquiry", "账单查询", "Credit card bill", "credit_card", "task"),
    Category("bill_installment", "账单分期", "Pay the bill in instalments", "credit_card", "task"),
    Category("repayment_methods", "还款方式", "How to repay", "credit_card", "faq"),
    Category("annual_fee", "年费", "Annual fee", "credit_card", "faq"),
    Category("points_redemption", "积分兑换", "Reward points", "credit_card", "faq"),
    Category("overdue_consequence", "逾期影响", "Late payment consequences", "credit_card", "faq"),
    Category("loan_application", "贷款申请", "Apply for a loan", "loan", "faq"),
    Category("loan_progress", "贷款审批进度", "Loan application status", "loan", "task"),
    Category("early_repayment", "提前还款", "Early repayment", "loan", "faq"),
    Category("loan_interest", "贷款利率与利息", "Loan interest", "loan", "faq"),
    Category("repayment_failed", "扣款失败", "Automatic repayment failed", "loan", "faq"),
    Category("settlement_certificate", "结清证明", "Loan settlement certificate", "loan", "task"),
    Category("wealth_redemption", "理财产品赎回", "Redeem a wealth product", "wealth", "task"),
    Category("wealth_product_inquiry", "理财产品咨询", "Wealth products", "wealth", "faq"),
    Category("deposit_rate", "存款利率", "Deposit interest rates", "wealth", "faq"),
    Category("foreign_exchange", "外汇业务", "Foreign exchange", "wealth", "faq"),
    Category("atm_issue", "ATM问题", "ATM problem", "service", "route"),
    Category("branch_inquiry", "网点查询", "Branches and opening hours", "service", "faq"),
    Category("complaint", "投诉", "Complaint", "service", "route"),
    Category("other", "其他", "Other", "service", "route"),
)
BY_ID: dict[str, Category] = {c.id: c for c in CATEGORIES}
PRODUCTS: tuple[str, ...] = tuple(dict.fromkeys(c.product for c in CATEGORIES))


def product_of(category: str) -> str:
    return BY_ID[category].product if category in BY_ID else "service"
