"""Customers and the channel identities (contact points) that link to one customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

TIERS = ("standard", "gold", "platinum", "vip", "private")  # vip and private are served as VIP
SEGMENTS = ("mass", "affluent", "high_net_worth", "young", "senior", "small_business")
CONTACT_KINDS = ("app_user", "wechat_openid", "phone", "email")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(1), default=None)
    id_type: Mapped[str] = mapped_column(String(20), default="resident_id")
    id_number: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    birth_date: Mapped[str | None] = mapped_column(String(10), default=None)
    tier: Mapped[str] = mapped_column(String(20), default="standard")
    segment: Mapped[str] = mapped_column(String(30), default="mass")
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    preferred_channel: Mapped[str] = mapped_column(String(20), default="app")
    branch_code: Mapped[str | None] = mapped_column(String(20), default=None)
    region: Mapped[str | None] = mapped_column(String(40), default=None)
    consent_marketing: Mapped[bool] = mapped_column(default=False)
    consent_service_notice: Mapped[bool] = mapped_column(default=True)
    consent_data_analysis: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_vip(self) -> bool:
        return self.tier in ("vip", "private")


class ContactPoint(Base):
    """A channel identity (app user id, WeChat openid, phone, email) that belongs to one customer."""

    __tablename__ = "contact_points"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        Index("ix_contact_points_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
