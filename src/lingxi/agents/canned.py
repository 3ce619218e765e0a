"""Canned responses: prepared answers with {variables} filled in from the open conversation.

Team responses (owner None) are kept by supervisors; every agent may keep their own. Variables:

    {customer_name}  how to address the customer: 王先生 / 李女士 (surname + honorific), else 您
    {agent_name}     the agent's display name
    {card_tail}      the card tail the customer or the bot's hand-off mentioned last (e.g. 5678)
    {today}          the bank's date, e.g. 2026年11月29日
    {intent}         the topic the bot recognised, e.g. 账单查询

A variable with no value is left in the text as it is and listed, so the agent fills it in by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents.models import CannedResponse
from lingxi.audit.service import do_record
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm, role_has
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.errors import Forbidden, NotFound, ValidationFailed

VARIABLES = ("customer_name", "agent_name", "card_tail", "today", "intent")
_VARIABLE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
MAX_PERSONAL = 200


def variables_in(content: str) -> list[str]:
    return list(dict.fromkeys(_VARIABLE.findall(content)))


def check_content(content: str) -> None:
    unknown = [v for v in variables_in(content) if v not in VARIABLES]
    if unknown:
        raise ValidationFailed(
            f"Unknown variable {', '.join('{' + v + '}' for v in unknown)}; "
            f"use {', '.join('{' + v + '}' for v in VARIABLES)}.",
            code="unknown_variable",
            details=[{"field": "content", "problem": f"unknown variable {v}"} for v in unknown],
        )


def render(content: str, values: dict[str, str | None]) -> tuple[str, list[str]]:
    """The text with the variables that have a value filled in, and the names of those without one."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if not value:
            missing.append(match.group(1))
            return match.group(0)
        return value

    return _VARIABLE.sub(fill, content), list(dict.fromkeys(missing))


def may_edit(response: CannedResponse, user: StaffUser) -> bool:
    if response.owner_id is None:
        return role_has(user.role, Perm.CHAT_MONITOR)
    return response.owner_id == user.id


async def list_canned(
    *,
    session: AsyncSession,
    user: StaffUser,
    q: str | None = None,
    skill_group: str | None = None,
    language: str | None = None,
    limit: int = 100,
) -> Sequence[CannedResponse]:
    """The team's responses and the user's own, optionally for one group and language, matching `q`."""
    stmt = (
        select(CannedResponse)
        .where(or_(CannedResponse.owner_id.is_(None), CannedResponse.owner_id == user.id))
        .order_by(CannedResponse.owner_id.is_(None), CannedResponse.title, CannedResponse.id)
        .limit(limit)
    )
    if skill_group:
        stmt = stmt.where(
            or_(CannedResponse.skill_group.is_(None), CannedResponse.skill_group == skill_group)
        )
    if language:
        stmt = stmt.where(CannedResponse.language == language)
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                CannedResponse.title.ilike(pattern),
                CannedResponse.content.ilike(pattern),
                CannedResponse.shortcut.ilike(pattern),
            )
        )
    return (await session.scalars(stmt)).all()


async def access_canned(*, session: AsyncSession, user: StaffUser, canned_id: int) -> CannedResponse:
    """A response the user may use (the team's or their own); others answer 404."""
    response = await session.get(CannedResponse, canned_id)
    if response is None or (response.owner_id is not None and response.owner_id != user.id):
        raise NotFound("No such canned response.", code="canned_not_found")
    return response


def _snapshot(response: CannedResponse) -> dict[str, object]:
    return {
        "title": response.title,
        "shortcut": response.shortcut,
        "skill_group": response.skill_group,
        "language": response.language,
        "shared": response.owner_id is None,
    }


async def do_create_canned(
    *,
    session: AsyncSession,
    actor: Actor,
    user: StaffUser,
    title: str,
    content: str,
    shared: bool,
    skill_group: str | None,
    language: str,
    shortcut: str | None,
) -> CannedResponse:
    check_content(content)
    if shared and not role_has(user.role, Perm.CHAT_MONITOR):
        raise Forbidden("Team responses are kept by supervisors; save it as your own.", code="forbidden")
    if not shared:
        own = await session.scalars(select(CannedResponse.id).where(CannedResponse.owner_id == user.id))
        if len(own.all()) >= MAX_PERSONAL:
            raise ValidationFailed(f"At most {MAX_PERSONAL} own responses; delete some first.")
    response = CannedResponse(
        owner_id=None if shared else user.id,
        title=title,
        content=content,
        skill_group=skill_group,
        language=language,
        shortcut=shortcut,
        created_by=user.id,
    )
    session.add(response)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="canned.create",
        subject_type="canned_response",
        subject_id=response.id,
        after=_snapshot(response),
    )
    return response


async def do_update_canned(
    *,
    session: AsyncSession,
    actor: Actor,
    user: StaffUser,
    response: CannedResponse,
    changes: dict[str, object],
) -> CannedResponse:
    if not may_edit(response, user):
        raise Forbidden("Only supervisors change team responses.", code="forbidden")
    if "content" in changes:
        check_content(str(changes["content"]))
    before = {**_snapshot(response), "content": response.content}
    changed = {k: v for k, v in changes.items() if getattr(response, k) != v}
    if not changed:
        return response
    for field, value in changed.items():
        setattr(response, field, value)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="canned.update",
        subject_type="canned_response",
        subject_id=response.id,
        before={k: before[k] for k in changed if k in before},
        after=changed,
    )
    return response


async def do_delete_canned(
    *, session: AsyncSession, actor: Actor, user: StaffUser, response: CannedResponse
) -> None:
    if not may_edit(response, user):
        raise Forbidden("Only supervisors delete team responses.", code="forbidden")
    before = _snapshot(response)
    await session.delete(response)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="canned.delete",
        subject_type="canned_response",
        subject_id=response.id,
        before=before,
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: list[str]


def honorific(*, surname: str | None, gender: str | None, english: bool) -> str | None:
    """王先生 / 李女士 (Mr Wang / Ms Li); None when there is no surname or no gender to go by."""
    if not surname or gender not in ("M", "F"):
        return None
    if english:
        return f"{'Mr' if gender == 'M' else 'Ms'} {surname}"
    return f"{surname}{'先生' if gender == 'M' else '女士'}"


def render_for(
    response: CannedResponse,
    *,
    conversation: Conversation,
    agent: StaffUser,
    customer_name: str | None,
    card_tail: str | None,
    today: str,
    intent: str | None,
) -> Rendered:
    text, missing = render(
        response.content,
        {
            "customer_name": customer_name or ("you" if conversation.language.startswith("en") else "您"),
            "agent_name": agent.display_name,
            "card_tail": card_tail,
            "today": today,
            "intent": intent,
        },
    )
    return Rendered(text=text, missing=missing)
