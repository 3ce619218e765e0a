"""HTTP routes of the auth domain: log-in / log-out / me, and staff administration."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from lingxi.auth import service
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm
from lingxi.auth.schemas import (
    LoginRequest,
    LogoutResponse,
    PasswordReset,
    Role,
    StaffAdminRead,
    StaffCreate,
    StaffList,
    StaffRead,
    StaffUpdate,
    TokenResponse,
    languages_to_column,
    languages_to_list,
    permissions_of,
)
from lingxi.core.db import commit, get_database
from lingxi.core.deps import SessionDep
from lingxi.core.errors import DomainError
from lingxi.settings import get_settings

router = APIRouter(tags=["auth"])

StaffAdmin = Annotated[StaffUser, Depends(service.require(Perm.STAFF_ADMIN))]


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def to_staff_read(user: StaffUser) -> StaffRead:
    return StaffRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        branch_code=user.branch_code,
        department=user.department,
        languages=languages_to_list(user.languages),
        permissions=permissions_of(user.role),
    )


def to_staff_admin_read(user: StaffUser) -> StaffAdminRead:
    return StaffAdminRead(
        **to_staff_read(user).model_dump(),
        max_concurrent_chats=user.max_concurrent_chats,
        is_active=user.is_active,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


@router.post(
    "/api/auth/login",
    response_model=TokenResponse,
    responses={
        401: {"description": "Wrong user name or password, or account deactivated"},
        423: {"description": "Locked after too many wrong passwords"},
    },
)
async def login(body: LoginRequest, request: Request) -> TokenResponse:
    """Exchange a user name and password for a bearer token.

    This route owns its transaction instead of using SessionDep: a failed attempt raises, and the
    failure counter and its audit row must be committed anyway (a rolled-back counter never locks).
    """
    async with get_database().sessionmaker() as session:
        try:
            user = await service.do_login(
                session=session, username=body.username, password=body.password, ip=_ip(request)
            )
        except DomainError:
            await commit(session)
            raise
        except BaseException:
            await session.rollback()
            raise
        await commit(session)
    return TokenResponse(
        access_token=service.issue_staff_token(user),
        expires_in=get_settings().staff_token_minutes * 60,
        user=to_staff_read(user),
    )


@router.get("/api/auth/me", response_model=StaffRead)
async def me(user: service.CurrentStaff) -> StaffRead:
    return to_staff_read(user)


@router.post("/api/auth/logout", response_model=LogoutResponse)
async def logout(user: service.CurrentStaff, session: SessionDep, request: Request) -> LogoutResponse:
    service.do_logout(session=session, user=user, ip=_ip(request))
    return LogoutResponse()


# --- staff administration (Perm.STAFF_ADMIN) ------------------------------------------------------------


@router.get("/api/admin/staff", response_model=StaffList)
async def list_staff(
    admin: StaffAdmin, session: SessionDep, role: Annotated[Role | Literal[""] | None, Query()] = None
) -> StaffList:
    users = await service.list_staff(session=session, role=role or None)
    return StaffList(items=[to_staff_admin_read(u) for u in users])


@router.post("/api/admin/staff", response_model=StaffAdminRead, status_code=201)
async def create_staff(
    body: StaffCreate, admin: StaffAdmin, session: SessionDep, request: Request
) -> StaffAdminRead:
    user = await service.do_create_staff(
        session=session,
        actor=service.request_actor(request),
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        role=body.role,
        branch_code=body.branch_code,
        department=body.department,
        languages=languages_to_column(body.languages),
        max_concurrent_chats=body.max_concurrent_chats,
    )
    return to_staff_admin_read(user)


@router.patch("/api/admin/staff/{staff_id}", response_model=StaffAdminRead)
async def update_staff(
    staff_id: int, body: StaffUpdate, admin: StaffAdmin, session: SessionDep, request: Request
) -> StaffAdminRead:
    user = await service.access_staff(session=session, staff_id=staff_id)
    user = await service.do_update_staff(
        session=session, actor=service.request_actor(request), user=user, changes=body.changes()
    )
    return to_staff_admin_read(user)


@router.post("/api/admin/staff/{staff_id}/reset-password", response_model=StaffAdminRead)
async def reset_password(
    staff_id: int, body: PasswordReset, admin: StaffAdmin, session: SessionDep, request: Request
) -> StaffAdminRead:
    user = await service.access_staff(session=session, staff_id=staff_id)
    user = await service.do_reset_password(
        session=session, actor=service.request_actor(request), user=user, new_password=body.new_password
    )
    return to_staff_admin_read(user)
