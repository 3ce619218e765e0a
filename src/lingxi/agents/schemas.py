"""Request and response models of the agents domain (skill groups and agents' skills)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SkillGroupRead(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    description: str | None


class SkillGroupList(BaseModel):
    items: list[SkillGroupRead]


class SkillGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", examples=["credit_card"])
    name_zh: str = Field(min_length=1, max_length=60, examples=["信用卡"])
    name_en: str = Field(min_length=1, max_length=60, examples=["Credit cards"])
    description: str | None = Field(default=None, max_length=300)


class AgentSkillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill_group_code: str = Field(min_length=1, max_length=40)
    proficiency: int = Field(ge=1, le=5, description="1 = learning … 5 = expert")


class AgentSkillRead(BaseModel):
    skill_group_code: str
    name_zh: str
    name_en: str
    proficiency: int


class AgentSkillList(BaseModel):
    staff_id: int
    items: list[AgentSkillRead]
