"""Enumerations of the work-order domain and the state machine (one table, checked in one place)."""

from __future__ import annotations

from typing import Final

TYPES: Final = ("inquiry", "request", "complaint", "fraud", "technical")
PRIORITIES: Final = ("low", "normal", "high", "urgent")
PRIORITY_RANK: Final = {p: i for i, p in enumerate(PRIORITIES)}
STATUSES: Final = (
    "new",
    "assigned",
    "in_progress",
    "pending_customer",
    "resolved",
    "closed",
    "cancelled",
    "reopened",
)
OPEN_STATUSES: Final = ("new", "assigned", "in_progress", "pending_customer", "reopened")
# Resolved orders wait for the customer's confirmation: they still count as "not finished" for the
# duplicate guard (the customer is better served by reopening than by a second order).
UNFINISHED_STATUSES: Final = (*OPEN_STATUSES, "resolved")
FINAL_STATUSES: Final = ("closed", "cancelled")
SOURCES: Final = ("staff", "conversation", "customer", "bot", "automation", "subtask")
VISIBILITIES: Final = ("internal", "customer")

# action -> (states it may start from, state it leads to). `assign` and `transfer` keep the order
# with a person/team; every other action is a plain status change.
TRANSITIONS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "assign": (("new", "assigned", "in_progress", "reopened"), "assigned"),
    "start": (("assigned", "reopened"), "in_progress"),
    "request_info": (("in_progress",), "pending_customer"),
    "resume": (("pending_customer",), "in_progress"),
    "resolve": (("in_progress", "pending_customer"), "resolved"),
    "close": (("resolved",), "closed"),
    "reopen": (("resolved", "closed"), "reopened"),
    "cancel": (("new", "assigned", "in_progress", "pending_customer", "reopened"), "cancelled"),
    "transfer": (("new", "assigned", "in_progress", "reopened"), "new"),
    "merge": (("new", "assigned", "in_progress", "pending_customer", "reopened"), "closed"),
    # An automation rule completed the order through the core system, without a person.
    "auto_resolve": (("new", "assigned"), "resolved"),
}
STAFF_ACTIONS: Final = tuple(a for a in TRANSITIONS if a != "auto_resolve")

TYPE_LABELS: Final = {
    "inquiry": ("咨询", "Inquiry"),
    "request": ("业务办理", "Service request"),
    "complaint": ("投诉", "Complaint"),
    "fraud": ("欺诈/盗刷", "Fraud"),
    "technical": ("技术故障", "Technical problem"),
}
PRIORITY_LABELS: Final = {
    "low": ("低", "Low"),
    "normal": ("普通", "Normal"),
    "high": ("高", "High"),
    "urgent": ("紧急", "Urgent"),
}
# What the customer reads about a status (plain language, no internal jargon).
STATUS_LABELS: Final = {
    "new": ("已受理", "Received"),
    "assigned": ("已分派处理人员", "Assigned to a specialist"),
    "in_progress": ("处理中", "Being handled"),
    "pending_customer": ("待您补充信息", "Waiting for your information"),
    "resolved": ("已处理，待您确认", "Handled, please confirm"),
    "closed": ("已完结", "Closed"),
    "cancelled": ("已撤销", "Cancelled"),
    "reopened": ("已重新处理", "Reopened"),
}
