"""Pydantic shapes of the routing endpoints: the customer's queue, transfers, notes, the wallboard."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class QueueStatus(BaseModel):
    """What the waiting customer's page shows."""

    status: str
    skill_group: str | None
    queue_position: int | None
    estimated_wait_seconds: int | None  # None: no estimate (no agent of the group is online)
    waited_seconds: int | None
    callback_offered: bool  # the maximum wait has passed: the page highlights call back / message


class CallbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["callback", "message"]
    phone: str | None = Field(default=None, max_length=20, description="Default: the registered mobile")
    message: str | None = Field(default=None, max_length=1000)


class CallbackRead(BaseModel):
    id: int
    kind: str
    status: str
    phone: str | None  # masked
    ticket_reference: str | None
    created_at: datetime


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)


class SurveyRead(BaseModel):
    conversation_id: str
    score: int
    created_at: datetime


class TransferCreate(BaseModel):
    """To a colleague (`to_agent_id`) or to a group's queue (`to_group`): exactly one."""

    model_config = ConfigDict(extra="forbid")

    to_agent_id: int | None = None
    to_group: str | None = Field(default=None, max_length=40)
    note: str = Field(
        default="", max_length=500, description="For the receiving agent; never shown to the customer"
    )

    @model_validator(mode="after")
    def _one_target(self) -> TransferCreate:
        if (self.to_agent_id is None) == (self.to_group is None):
            raise ValueError("give either to_agent_id or to_group")
        return self


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)


class InviteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=1000, examples=["客户要求减免年费，请协助"])


class NoteRead(BaseModel):
    id: int
    kind: Literal["transfer", "whisper", "invite"]
    author_id: int | None
    author_name: str
    to_agent_id: int | None
    to_group: str | None
    text: str
    created_at: datetime
    resolved_at: datetime | None


class NoteList(BaseModel):
    items: list[NoteRead]


class TransferTarget(BaseModel):
    id: int
    display_name: str
    state: str
    load: int
    capacity: int
    groups: list[str]


class TransferGroup(BaseModel):
    code: str
    name_zh: str
    name_en: str
    waiting: int
    agents_available: int


class TransferTargets(BaseModel):
    agents: list[TransferTarget]
    groups: list[TransferGroup]


class ServiceLevelRead(BaseModel):
    offered: int
    answered: int
    answered_in_time: int
    abandoned: int
    short_abandoned: int
    callbacks: int
    service_level: float | None  # 0..1; None with nothing answered or abandoned
    abandon_rate: float | None
    average_answer_seconds: float | None
    longest_answer_seconds: float | None


class GroupBoardRead(BaseModel):
    code: str
    name_zh: str
    name_en: str
    strategy: str
    service_level_seconds: int
    max_wait_seconds: int
    overflow_group: str | None
    waiting: int
    longest_wait_seconds: int | None
    agents_available: int
    agents_online: int
    free_slots: int
    today: ServiceLevelRead


class AgentBoardRead(BaseModel):
    id: int
    display_name: str
    role: str
    presence: str
    reason: str | None
    since: datetime | None
    state: str
    load: int
    capacity: int
    wrap_up_until: datetime | None
    groups: list[str]


class CallbackBoardRead(BaseModel):
    id: int
    kind: str
    skill_group: str
    phone: str | None  # masked
    message: str | None
    status: str
    ticket_reference: str | None
    created_at: datetime


class InviteBoardRead(BaseModel):
    conversation_id: str
    note: NoteRead


class WallboardRead(BaseModel):
    at: datetime
    short_abandon_seconds: int
    waiting: int
    longest_wait_seconds: int | None
    today: ServiceLevelRead
    agents_by_state: dict[str, int]
    groups: list[GroupBoardRead]
    agents: list[AgentBoardRead]
    callbacks: list[CallbackBoardRead]
    invites: list[InviteBoardRead]
