"""Pydantic shapes of work orders at the API edge (staff console and customer self-service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TicketType = Literal["inquiry", "request", "complaint", "fraud", "technical"]
Priority = Literal["low", "normal", "high", "urgent"]
Visibility = Literal["internal", "customer"]
Status = Literal[
    "new", "assigned", "in_progress", "pending_customer", "resolved", "closed", "cancelled", "reopened"
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- inputs (staff) -----------------------------------------------------------------------------------


class TicketCreate(_Input):
    customer_id: int
    type: TicketType
    category: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    fields: dict[str, Any] = Field(default_factory=dict)
    priority: Priority | None = None
    channel: str | None = Field(default=None, max_length=20)
    conversation_id: str | None = Field(default=None, max_length=36, description="public id of the chat")
    team_id: int | None = Field(default=None, description="dispatch here instead of by the rules")
    acknowledge_duplicates: bool = Field(
        default=False, description="create even though likely duplicates were shown"
    )


class TicketCheck(_Input):
    customer_id: int
    type: TicketType
    category: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)


class AssignBody(_Input):
    assignee_id: int
    note: str = Field(default="", max_length=1000)


class NoteBody(_Input):
    note: str = Field(default="", max_length=2000)


class RequiredNoteBody(_Input):
    note: str = Field(min_length=2, max_length=2000)


class ResolveBody(_Input):
    resolution: str = Field(min_length=2, max_length=2000, description="what was done, for the customer")


class TransferBody(_Input):
    team_id: int
    reason: str = Field(min_length=2, max_length=500)


class SubtaskCreate(_Input):
    team_id: int
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)


class MergeBody(_Input):
    target_id: int = Field(description="the order that stays; this one is closed into it")
    reason: str = Field(default="", max_length=500)


class CommentCreate(_Input):
    text: str = Field(min_length=1, max_length=2000)
    visibility: Visibility = "internal"


class PriorityBody(_Input):
    priority: Priority
    reason: str = Field(min_length=2, max_length=500)


BulkAction = Literal["assign", "transfer", "start", "priority", "cancel"]


class BulkBody(_Input):
    ids: list[int] = Field(min_length=1, max_length=200)
    action: BulkAction
    assignee_id: int | None = None
    team_id: int | None = None
    priority: Priority | None = None
    reason: str = Field(default="", max_length=500)


# --- inputs (customer) --------------------------------------------------------------------------------


class MyTicketCreate(_Input):
    type: TicketType
    category: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    fields: dict[str, Any] = Field(default_factory=dict)
    acknowledge_duplicates: bool = False


class MyTicketCheck(_Input):
    type: TicketType
    category: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)


class MyInfo(_Input):
    text: str = Field(min_length=1, max_length=2000)


class MyReason(_Input):
    reason: str = Field(default="", max_length=500)


class RatingBody(_Input):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


# --- outputs ----------------------------------------------------------------------------------------


class CustomerBrief(BaseModel):
    id: int
    customer_no: str
    display_name: str
    tier: str
    is_vip: bool
    branch_code: str | None


class TeamRead(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    branch_code: str | None
    region: str | None
    parent_id: int | None
    lead_id: int | None
    calendar_code: str | None


class StaffBrief(BaseModel):
    id: int
    display_name: str


class SlaState(BaseModel):
    policy_id: int | None
    calendar: str | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    first_response_met: bool | None
    warn_at: datetime | None
    due_at: datetime | None
    remaining_seconds: int | None = Field(description="working seconds left; negative when overdue")
    paused: bool
    warned: bool
    breached: bool
    resolution_met: bool | None
    escalation_level: int
    next_escalation_at: datetime | None


class TicketSummary(BaseModel):
    id: int
    ticket_no: str
    type: str
    category: str
    category_label: str
    priority: str
    status: str
    title: str
    customer: CustomerBrief
    team: TeamRead | None
    assignee: StaffBrief | None
    branch_code: str | None
    channel: str | None
    source: str
    parent_id: int | None
    open_subtasks: int
    urge_count: int
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    sla_paused: bool
    breached: bool
    escalation_level: int


class TicketList(BaseModel):
    items: list[TicketSummary]
    next_before_id: int | None = None


class TicketEventRead(BaseModel):
    id: int
    ticket_id: int
    ticket_no: str
    at: datetime
    actor_type: str
    actor_name: str
    kind: str
    from_status: str | None
    to_status: str | None
    note: str
    visibility: str
    data: dict[str, Any] | None


class AttachmentRead(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    visibility: str
    uploaded_by_type: str
    created_at: datetime


class TicketDetail(BaseModel):
    ticket: TicketSummary
    description: str
    fields: dict[str, Any]
    field_labels: list[tuple[str, str]]
    resolution: str | None
    conversation_id: str | None
    merged_into: str | None
    parent_no: str | None
    subtasks: list[TicketSummary]
    sla: SlaState
    rating: int | None
    rating_comment: str | None
    timeline: list[TicketEventRead]
    attachments: list[AttachmentRead]
    allowed_actions: list[str]


class DuplicateCandidate(BaseModel):
    ticket_no: str
    title: str
    status: str
    status_label: str
    category: str
    created_at: datetime
    score: float
    suggestion: Literal["follow", "reopen"]


class KnowledgeAnswer(BaseModel):
    title: str
    answer: str
    score: float
    article_id: str | None


class CreateCheckRead(BaseModel):
    duplicates: list[DuplicateCandidate]
    knowledge: list[KnowledgeAnswer]
    advice: Literal["create", "follow_existing", "answer_from_knowledge"]


class TicketDraft(BaseModel):
    """What a new order from a conversation is prefilled with (the agent edits before creating)."""

    customer_id: int
    conversation_id: str
    channel: str
    type: str
    category: str
    priority: str
    title: str
    description: str
    fields: dict[str, Any]


class FieldSpecRead(BaseModel):
    name: str
    kind: str
    label_zh: str
    label_en: str
    required: bool
    choices: list[dict[str, str]]
    max_length: int


class TicketTypeRead(BaseModel):
    type: str
    label_zh: str
    label_en: str
    fields: list[FieldSpecRead]


class CategoryRead(BaseModel):
    id: str
    label_zh: str
    label_en: str
    product: str


class TicketOptions(BaseModel):
    types: list[TicketTypeRead]
    categories: list[CategoryRead]


class HotIssueRead(BaseModel):
    id: int
    category: str
    category_label: str
    summary: str
    ticket_nos: list[str]
    customer_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    status: str


class HotIssueList(BaseModel):
    items: list[HotIssueRead]


class BulkResultItem(BaseModel):
    id: int
    ok: bool
    code: str | None = None
    message: str | None = None


class BulkResult(BaseModel):
    items: list[BulkResultItem]


class SweepRead(BaseModel):
    processed: int
    warnings: int
    breaches: int
    escalations: int
    auto_closed: int


class QueueCount(BaseModel):
    team_id: int | None
    status: str
    count: int
    breached: int


class QueueStats(BaseModel):
    items: list[QueueCount]


# --- customer self-service outputs ------------------------------------------------------------------


class ProgressStep(BaseModel):
    at: datetime
    kind: str
    text: str
    ticket_no: str


class CustomerActions(BaseModel):
    add_info: bool
    urge: bool
    cancel: bool
    confirm: bool
    reopen: bool
    rate: bool


class CustomerProgress(BaseModel):
    """An order as its customer sees it: plain language, customer-visible steps only."""

    ticket_no: str
    title: str
    type: str
    type_label: str
    category_label: str
    status: str
    status_label: str
    stage: int = Field(description="0 received, 1 handling, 2 waiting for confirmation, 3 finished")
    summary: str
    next_step: str
    expected_by: datetime | None
    resolution: str | None
    rating: int | None
    created_at: datetime
    updated_at: datetime
    steps: list[ProgressStep]
    attachments: list[AttachmentRead]
    actions: CustomerActions
    language: str

    def as_text(self) -> str:
        """The progress as one chat message (the bot's "我的工单" answer)."""
        lines = [f"{self.ticket_no} {self.title}", self.summary]
        lines += [f"· {step.text}" for step in self.steps[-3:]]
        if self.next_step:
            lines.append(self.next_step)
        return "\n".join(lines)


class MyTicketSummary(BaseModel):
    ticket_no: str
    title: str
    type: str
    type_label: str
    category_label: str
    status: str
    status_label: str
    stage: int
    summary: str
    created_at: datetime
    updated_at: datetime


class MyTicketList(BaseModel):
    items: list[MyTicketSummary]
