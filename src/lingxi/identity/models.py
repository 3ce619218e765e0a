"""Verifications reached by customers (carried across channels) and one-time-code challenges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

LEVELS = ("L0", "L1", "L2")


class Verification(Base):
    """A level reached by a customer; valid on every channel until `expires_at`."""

    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_customer_expiry", "customer_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(2))
    method: Mapped[str] = mapped_column(String(30))  # app_token, wechat_binding, otp, biometric
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), default=None)
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    # What proved it, unique so that one proof counts once: "otp:<challenge public_id>" or
    # "biometric:<assertion jti>" (a replayed app assertion hits the unique constraint).
    reference: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)


class OtpChallenge(Base):
    """A one-time code sent by SMS. The code is stored only as HMAC-SHA256(secret_key, public_id + code)."""

    __tablename__ = "otp_challenges"
    __table_args__ = (
        Index("ix_otp_customer_created", "customer_id", "created_at"),
        Index("ix_otp_phone_created", "phone", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(40), default="step_up")
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), default=None)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None] = mapped_column(default=None)
    consumed_at: Mapped[datetime | None] = mapped_column(default=None)
