"""Skill groups and agents' membership in them (routing builds queues on these)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base


class SkillGroup(Base):
    __tablename__ = "skill_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(String(300), default=None)


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (UniqueConstraint("agent_id", "skill_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    skill_group_id: Mapped[int] = mapped_column(ForeignKey("skill_groups.id", ondelete="CASCADE"))
    proficiency: Mapped[int] = mapped_column(default=3)  # 1 (learning) .. 5 (expert)
