"""Which role may do what. Routes declare a permission; this table grants permissions to roles."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    CHAT_HANDLE = "chat.handle"  # read and answer conversations
    CHAT_MONITOR = "chat.monitor"  # see every conversation (supervisors)
    CUSTOMER_VIEW = "customer.view"  # masked 360 view
    CUSTOMER_REVEAL = "customer.reveal"  # audited reveal of masked data
    KNOWLEDGE_READ = "knowledge.read"  # search the knowledge base, read entries (agent assist)
    KNOWLEDGE_EDIT = "knowledge.edit"  # write, review, import and export entries
    TICKET_VIEW = "ticket.view"  # see work orders in scope, open new ones, add notes
    TICKET_HANDLE = "ticket.handle"  # work on orders: assign, transitions, transfers, sub-tasks, merges
    TICKET_SUPERVISE = "ticket.supervise"  # hot-issue alerts, running the SLA sweep on demand
    STAFF_ADMIN = "staff.admin"  # manage staff users and skill groups
    AUDIT_READ = "audit.read"
    DEV_INBOX = "dev.inbox"  # the demo SMS/WeChat outbox (never in prod)


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    "agent": frozenset(
        {Perm.CHAT_HANDLE, Perm.CUSTOMER_VIEW, Perm.CUSTOMER_REVEAL, Perm.KNOWLEDGE_READ, Perm.TICKET_VIEW}
    ),
    "supervisor": frozenset(
        {
            Perm.CHAT_HANDLE,
            Perm.CHAT_MONITOR,
            Perm.CUSTOMER_VIEW,
            Perm.CUSTOMER_REVEAL,
            Perm.TICKET_VIEW,
            Perm.TICKET_HANDLE,
            Perm.TICKET_SUPERVISE,
            Perm.KNOWLEDGE_READ,
        }
    ),
    "back_office": frozenset({Perm.CUSTOMER_VIEW, Perm.TICKET_VIEW, Perm.TICKET_HANDLE}),
    "knowledge_admin": frozenset({Perm.KNOWLEDGE_READ, Perm.KNOWLEDGE_EDIT}),
    # Manages staff; does not read chats. Reads the knowledge base (what the bot tells customers).
    "admin": frozenset({Perm.STAFF_ADMIN, Perm.DEV_INBOX, Perm.KNOWLEDGE_READ}),
    "auditor": frozenset({Perm.AUDIT_READ}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
