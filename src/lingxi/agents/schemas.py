"""Request and response models of the agents domain: skill groups, skills, presence, workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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


class SkillGroupRouting(BaseModel):
    code: str
    strategy: Literal["longest_idle", "least_busy", "round_robin"]
    max_wait_seconds: int
    overflow_group: str | None
    timeout_action: Literal["callback", "wait"]
    service_level_seconds: int


class SkillGroupRoutingUpdate(BaseModel):
    """Only the fields sent change; `overflow_group: null` removes the overflow."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["longest_idle", "least_busy", "round_robin"] | None = None
    max_wait_seconds: int | None = Field(default=None, ge=10, le=3600)
    overflow_group: str | None = Field(default=None, max_length=40)
    timeout_action: Literal["callback", "wait"] | None = None
    service_level_seconds: int | None = Field(
        default=None, ge=5, le=300, description="Answered within this counts in the service level (e.g. 20)"
    )


Presence = Literal["online", "busy", "away", "offline"]


class PresenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presence: Presence
    reason: str | None = Field(default=None, max_length=30, examples=["lunch"])


class PresenceRead(BaseModel):
    agent_id: int
    presence: Presence
    reason: str | None
    since: datetime
    state: str  # available | full | wrap_up | busy | away | offline
    load: int
    capacity: int
    channel_capacity: dict[str, int]
    channel_load: dict[str, int]
    wrap_up_until: datetime | None
    wrap_up_seconds: int
    groups: list[str]
    reasons: dict[str, list[str]]  # the reasons each presence takes (for the switch)


class RoutingProfileRead(BaseModel):
    agent_id: int
    max_concurrent_chats: int
    languages: list[str]
    channel_capacity: dict[str, int]
    wrap_up_seconds: int | None
    effective_wrap_up_seconds: int


class RoutingProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel_capacity: dict[str, int] = Field(default_factory=dict, examples=[{"wechat": 2}])
    wrap_up_seconds: int | None = Field(default=None, ge=0, le=600, description="None: the bank's default")


class WrapUpCode(BaseModel):
    code: str
    name_zh: str
    name_en: str


class WrapUpCodeList(BaseModel):
    items: list[WrapUpCode]


class WrapUpCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=30)
    note: str | None = Field(default=None, max_length=500)


class WrapUpRead(BaseModel):
    conversation_id: str
    code: str
    note: str | None
    created_at: datetime


class CannedRead(BaseModel):
    id: int
    title: str
    content: str
    shortcut: str | None
    skill_group: str | None
    language: str
    shared: bool
    editable: bool
    variables: list[str]


class CannedList(BaseModel):
    items: list[CannedRead]
    variables: list[str]  # what {…} may name


class CannedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=80)
    content: str = Field(min_length=1, max_length=2000, examples=["{customer_name}您好，我是{agent_name}。"])
    shortcut: str | None = Field(default=None, max_length=30, pattern=r"^/?[\w\u4e00-\u9fff-]+$")
    skill_group: str | None = Field(default=None, max_length=40)
    language: Literal["zh-CN", "en"] = "zh-CN"
    shared: bool = Field(default=False, description="A team response (supervisors only)")


class CannedUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=80)
    content: str | None = Field(default=None, min_length=1, max_length=2000)
    shortcut: str | None = Field(default=None, max_length=30, pattern=r"^/?[\w\u4e00-\u9fff-]+$")
    skill_group: str | None = Field(default=None, max_length=40)
    language: Literal["zh-CN", "en"] | None = None


class CannedRendered(BaseModel):
    id: int
    text: str
    missing: list[str]  # variables without a value, left in the text for the agent to fill in


class AssistFact(BaseModel):
    type: str
    value: str
    message_id: int | None


class AssistHint(BaseModel):
    code: str
    severity: Literal["info", "warning", "danger"]
    text: dict[str, str]  # zh-CN / en


class AssistSuggestion(BaseModel):
    entry_id: int
    question: str
    answer: str
    score: float


class AssistSimilar(BaseModel):
    conversation_id: str
    channel: str
    intent: str | None
    closed_at: str
    excerpt: str
    wrap_up_code: str | None
    same_customer: bool
    score: float


class AssistRead(BaseModel):
    conversation_id: str
    verification_level: str
    facts: list[AssistFact]
    suggestions: list[AssistSuggestion]
    similar: list[AssistSimilar]
    hints: list[AssistHint]
