"""Staff users: password hashing (argon2), log-in with lock-out, signed session tokens, permissions."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
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
TOKEN_AUDIENCE = "lingxi-staff"  # noqa: S105 (a JWT audience, not a secret)


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


def _burn_password_check(password: str) -> None:
    """Spend the time of a real verification so an unknown user name answers as slowly as a known one."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("lingxi-no-such-user-0")
    try:
        _hasher.verify(_dummy_hash, password)
    except (VerificationError, InvalidHashError):
        pass


_dummy_hash: str | None = None


async def do_login(*, session: AsyncSession, username: str, password: str, ip: str | None) -> StaffUser:
    """Verify a password; five wrong tries lock the account for 15 minutes. Every attempt is audited.

    A failed attempt raises *after* writing its audit row and counting the failure in `session`: the
    caller must commit that session before letting the error through (the log-in view does).
    """
    user = await get_staff_by_username(session=session, username=username)
    actor = Actor(type="visitor", id=username[:64], name=username[:100], ip=ip)
    if user is None:
        _burn_password_check(password)
        do_record(
            session=session,
            actor=actor,
            action="auth.login_failed",
            subject_type="staff_user",
            subject_id=username[:64],
            after={"reason": "unknown_user"},
        )
        raise Unauthenticated("Wrong user name or password.", code="bad_credentials")
    now = utcnow()
    if user.locked_until and as_utc(user.locked_until) > now:
        minutes = _minutes_left(user, now)
        do_record(
            session=session,
            actor=actor,
            action="auth.login_failed",
            subject_type="staff_user",
            subject_id=user.id,
            after={"reason": "locked"},
        )
        raise _locked_error(minutes)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        # One UPDATE … SET failed_logins = failed_logins + 1, so parallel guesses are all counted.
        failed = await session.scalar(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(failed_logins=StaffUser.failed_logins + 1)
            .returning(StaffUser.failed_logins)
        )
        locked = (failed or 0) >= MAX_FAILED_LOGINS
        if locked:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
        do_record(
            session=session,
            actor=actor,
            action="auth.login_failed",
            subject_type="staff_user",
            subject_id=user.id,
            after={"reason": "bad_password", "failed_logins": failed, "locked": locked},
        )
        await session.flush()
        if locked:
            raise _locked_error(LOCK_MINUTES) from None
        raise Unauthenticated("Wrong user name or password.", code="bad_credentials") from None
    if not user.is_active:
        do_record(
            session=session,
            actor=actor,
            action="auth.login_failed",
            subject_type="staff_user",
            subject_id=user.id,
            after={"reason": "inactive"},
        )
        raise Unauthenticated("This account has been deactivated; ask your administrator.", code="inactive")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    do_record(
        session=session,
        actor=staff_actor(user, ip),
        action="auth.login",
        subject_type="staff_user",
        subject_id=user.id,
    )
    await session.flush()
    return user


def _minutes_left(user: StaffUser, now: datetime) -> int:
    assert user.locked_until is not None
    return int((as_utc(user.locked_until) - now).total_seconds() // 60) + 1


def _locked_error(minutes: int) -> Locked:
    return Locked(
        f"Too many wrong passwords: the account is locked, try again in {minutes} min.",
        code="account_locked",
        details={"retry_after_minutes": minutes},
    )


def do_logout(*, session: AsyncSession, user: StaffUser, ip: str | None) -> None:
    """End every session of the user issued until now (on every device), and record it."""
    user.sessions_valid_after = utcnow()
    do_record(
        session=session,
        actor=staff_actor(user, ip),
        action="auth.logout",
        subject_type="staff_user",
        subject_id=user.id,
    )


def password_version(user: StaffUser) -> str:
    """A short fingerprint of the password hash, carried in tokens: a new password ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def issue_staff_token(user: StaffUser) -> str:
    settings = get_settings()
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "aud": TOKEN_AUDIENCE,
        "pwv": password_version(user),
        "iat": now,
        "iat_ms": int(now.timestamp() * 1000),  # JWT's iat has whole seconds; log-out compares in ms
        "exp": now + timedelta(minutes=settings.staff_token_minutes),
    }
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def decode_staff_token(token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=["HS256"],
            audience=TOKEN_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(
            "Your session has expired; please log in again.", code="token_expired"
        ) from None
    except jwt.PyJWTError:
        raise Unauthenticated("Invalid session token; please log in.", code="bad_token") from None
    if not str(claims["sub"]).isdigit():
        raise Unauthenticated("Invalid session token; please log in.", code="bad_token")
    return claims


async def get_staff_from_token(*, session: AsyncSession, token: str) -> StaffUser:
    claims = decode_staff_token(token)
    user = await session.get(StaffUser, int(claims["sub"]))
    if user is None or not user.is_active:
        raise Unauthenticated("This account is no longer active.", code="inactive")
    if claims.get("pwv") != password_version(user):
        raise Unauthenticated("Your password has been changed; please log in again.", code="session_revoked")
    if user.sessions_valid_after is not None and int(claims.get("iat_ms", 0)) <= int(
        user.sessions_valid_after.timestamp() * 1000
    ):
        raise Unauthenticated("You have logged out; please log in again.", code="session_revoked")
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
            raise Forbidden(
                f"Your role '{user.role}' may not do this (needs {perm.value}).", code="forbidden"
            )
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
    password: str | None = None,
    password_hash: str | None = None,
    role: str,
    branch_code: str | None = None,
    department: str | None = None,
    languages: str = "zh-CN",
    max_concurrent_chats: int = 5,
) -> StaffUser:
    """Create a staff user from a password, or from an argon2 hash made earlier (bulk loads hash once)."""
    if role not in ROLES:
        raise ValidationFailed(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
    if password_hash is None:
        if password is None:
            raise ValidationFailed("A new staff user needs a password.")
        check_password_strength(password)
        password_hash = hash_password(password)
    if await get_staff_by_username(session=session, username=username):
        raise Conflict(f"User name '{username}' is taken.", code="username_taken")
    user = StaffUser(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        branch_code=branch_code,
        department=department,
        languages=languages,
        max_concurrent_chats=max_concurrent_chats,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a parallel create of the same name; the caller's transaction rolls back
        raise Conflict(f"User name '{username}' is taken.", code="username_taken") from None
    do_record(
        session=session,
        actor=actor,
        action="staff.create",
        subject_type="staff_user",
        subject_id=user.id,
        after=staff_snapshot(user),
    )
    return user


# Columns an administrator may change with do_update_staff (password and lock-out have their own paths).
STAFF_EDITABLE = (
    "display_name",
    "role",
    "branch_code",
    "department",
    "languages",
    "max_concurrent_chats",
    "is_active",
)


def staff_snapshot(user: StaffUser) -> dict[str, Any]:
    """What the audit log keeps of a staff user (never the password hash)."""
    return {"username": user.username, **{field: getattr(user, field) for field in STAFF_EDITABLE}}


async def do_update_staff(
    *, session: AsyncSession, actor: Actor, user: StaffUser, changes: dict[str, Any]
) -> StaffUser:
    """Apply `changes` (a subset of STAFF_EDITABLE). Administrators cannot deactivate or demote themselves,
    so the bank can never lock every administrator out by accident."""
    unknown = set(changes) - set(STAFF_EDITABLE)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "role" in changes and changes["role"] not in ROLES:
        raise ValidationFailed(f"Unknown role '{changes['role']}'; use one of {', '.join(ROLES)}.")
    for field in ("display_name", "role", "languages", "max_concurrent_chats", "is_active"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(
                f"{field} may not be empty.", details=[{"field": field, "problem": "null"}]
            )
    if actor.type == "staff" and actor.id == str(user.id):
        if changes.get("is_active") is False:
            raise Conflict(
                "You cannot deactivate your own account; ask another administrator.",
                code="cannot_deactivate_self",
            )
        if "role" in changes and changes["role"] != user.role:
            raise Conflict(
                "You cannot change your own role; ask another administrator.", code="cannot_change_own_role"
            )
    before = staff_snapshot(user)
    changed = {field: value for field, value in changes.items() if getattr(user, field) != value}
    if not changed:
        return user
    for field, value in changed.items():
        setattr(user, field, value)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="staff.update",
        subject_type="staff_user",
        subject_id=user.id,
        before={field: before[field] for field in changed},
        after=changed,
    )
    return user


async def do_reset_password(
    *, session: AsyncSession, actor: Actor, user: StaffUser, new_password: str
) -> StaffUser:
    """Set a new password chosen by an administrator; this also lifts a lock-out."""
    check_password_strength(new_password)
    before = {
        "failed_logins": user.failed_logins,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
    }
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="staff.reset_password",
        subject_type="staff_user",
        subject_id=user.id,
        before=before,
        after={"password": "changed", "failed_logins": 0, "locked_until": None},
    )
    return user


async def access_staff(*, session: AsyncSession, staff_id: int) -> StaffUser:
    user = await session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound(f"No staff user {staff_id}.")
    return user


async def lock_staff(*, session: AsyncSession, staff_id: int) -> None:
    """Serialise changes that must respect a staff member's limits (e.g. chat capacity).

    A no-op UPDATE of the staff row: a row lock until commit on PostgreSQL, the database write lock
    on SQLite (where SELECT … FOR UPDATE does not exist). Concurrent accepts by one agent then count
    their open chats one after another instead of all passing the same count.
    """
    await session.execute(
        update(StaffUser)
        .where(StaffUser.id == staff_id)
        .values(max_concurrent_chats=StaffUser.max_concurrent_chats)
        .execution_options(synchronize_session=False)
    )
