"""Staff users: password hashing (argon2), log-in with lock-out, signed session tokens, permissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.auth.models import ROLES, StaffUser
from lingxi.auth.permissions import Perm, role_has
from lingxi.core.actor import Actor
from lingxi.core.deps import SessionDep
from lingxi.core.errors import Conflict, Forbidden, Locked, NotFound, Unauthenticated, ValidationFailed
from lingxi.core.timeutil import as_utc, utcnow
from lingxi.settings import get_settings

_hasher = PasswordHasher()
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
TOKEN_AUDIENCE = "lingxi-staff"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < 8 or password.isdigit() or password.isalpha():
        raise ValidationFailed("Password must be at least 8 characters and mix letters and digits.")


async def get_staff_by_username(*, session: AsyncSession, username: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.username == username))


async def list_staff(*, session: AsyncSession, role: str | None = None) -> Sequence[StaffUser]:
    stmt = select(StaffUser).order_by(StaffUser.id)
    if role:
        stmt = stmt.where(StaffUser.role == role)
    return (await session.scalars(stmt)).all()


async def do_login(*, session: AsyncSession, username: str, password: str, ip: str | None) -> StaffUser:
    """Verify a password; five wrong tries lock the account for 15 minutes. Every attempt is audited."""
    user = await get_staff_by_username(session=session, username=username)
    actor = Actor(type="visitor", id=username[:64], name=username[:100], ip=ip)
    if user is None or not user.is_active:
        do_record(session=session, actor=actor, action="auth.login_failed", subject_type="staff_user",
                  subject_id=username[:64], after={"reason": "unknown_or_inactive"})
        raise Unauthenticated("Wrong user name or password.", code="bad_credentials")
    now = utcnow()
    if user.locked_until and as_utc(user.locked_until) > now:
        minutes = int((as_utc(user.locked_until) - now).total_seconds() // 60) + 1
        raise Locked(f"Too many wrong passwords: the account is locked, try again in {minutes} min.",
                     code="account_locked", details={"retry_after_minutes": minutes})
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        locked = user.failed_logins >= MAX_FAILED_LOGINS
        if locked:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
        do_record(session=session, actor=actor, action="auth.login_failed", subject_type="staff_user",
                  subject_id=user.id, after={"reason": "bad_password", "locked": locked})
        await session.flush()
        raise Unauthenticated("Wrong user name or password.", code="bad_credentials") from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    do_record(session=session, actor=staff_actor(user, ip), action="auth.login", subject_type="staff_user",
              subject_id=user.id)
    await session.flush()
    return user


def issue_staff_token(user: StaffUser) -> str:
    settings = get_settings()
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=settings.staff_token_minutes),
    }
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def decode_staff_token(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, get_settings().secret_key, algorithms=["HS256"], audience=TOKEN_AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Your session has expired; please log in again.", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("Invalid session token; please log in.", code="bad_token") from None


async def get_staff_from_token(*, session: AsyncSession, token: str) -> StaffUser:
    claims = decode_staff_token(token)
    user = await session.get(StaffUser, int(claims["sub"]))
    if user is None or not user.is_active:
        raise Unauthenticated("This account is no longer active.", code="inactive")
    return user


def staff_actor(user: StaffUser, ip: str | None = None) -> Actor:
    return Actor(type="staff", id=str(user.id), name=user.display_name, role=user.role, ip=ip)


_bearer = HTTPBearer(auto_error=False)


async def current_staff(
    session: SessionDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffUser:
    if credentials is None:
        raise Unauthenticated("Log in first: send 'Authorization: Bearer <token>'.", code="no_token")
    user = await get_staff_from_token(session=session, token=credentials.credentials)
    request.state.actor = staff_actor(user, request.client.host if request.client else None)
    return user


CurrentStaff = Annotated[StaffUser, Depends(current_staff)]


def require(perm: Perm) -> Callable[..., Awaitable[StaffUser]]:
    """Route dependency: the caller is logged in and their role grants `perm`."""

    async def dependency(user: CurrentStaff) -> StaffUser:
        if not role_has(user.role, perm):
            raise Forbidden(f"Your role '{user.role}' may not do this (needs {perm.value}).", code="forbidden")
        return user

    dependency.__name__ = f"require_{perm.name.lower()}"
    return dependency


def request_actor(request: Request) -> Actor:
    actor = getattr(request.state, "actor", None)
    return actor if isinstance(actor, Actor) else Actor.system()


async def do_create_staff(
    *,
    session: AsyncSession,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    role: str,
    branch_code: str | None = None,
    department: str | None = None,
    languages: str = "zh-CN",
    max_concurrent_chats: int = 5,
) -> StaffUser:
    if role not in ROLES:
        raise ValidationFailed(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
    check_password_strength(password)
    if await get_staff_by_username(session=session, username=username):
        raise Conflict(f"User name '{username}' is taken.", code="username_taken")
    user = StaffUser(
        username=username, display_name=display_name, password_hash=hash_password(password), role=role,
        branch_code=branch_code, department=department, languages=languages,
        max_concurrent_chats=max_concurrent_chats,
    )
    session.add(user)
    await session.flush()
    do_record(session=session, actor=actor, action="staff.create", subject_type="staff_user", subject_id=user.id,
              after={"username": username, "role": role, "branch_code": branch_code, "department": department})
    return user


async def access_staff(*, session: AsyncSession, staff_id: int) -> StaffUser:
    user = await session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound(f"No staff user {staff_id}.")
    return user
