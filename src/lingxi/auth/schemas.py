"""Request and response models of the auth domain (log-in, the current user, staff administration)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from lingxi.auth.permissions import ROLE_PERMISSIONS

# Kept in step with lingxi.auth.models.ROLES (tests/auth checks it).
Role = Literal["agent", "supervisor", "back_office", "knowledge_admin", "admin", "auditor"]

MAX_LANGUAGES_CHARS = 40  # staff_users.languages is String(40), stored comma-separated


def languages_to_list(stored: str | None) -> list[str]:
    return [part for part in (stored or "").split(",") if part]


def languages_to_column(languages: list[str]) -> str:
    return ",".join(languages)


def _check_languages(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("give at least one language, e.g. ['zh-CN']")
    if len(set(value)) != len(value):
        raise ValueError("a language is listed twice")
    if len(languages_to_column(value)) > MAX_LANGUAGES_CHARS:
        raise ValueError(f"too many languages (at most {MAX_LANGUAGES_CHARS} characters together)")
    return value


LanguageCode = Annotated[
    str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", max_length=10)
]  # zh-CN, en, yue
Languages = Annotated[list[LanguageCode], AfterValidator(_check_languages)]


def permissions_of(role: str) -> list[str]:
    return sorted(p.value for p in ROLE_PERMISSIONS.get(role, frozenset()))


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class StaffRead(BaseModel):
    """The logged-in user as the web apps see it."""

    id: int
    username: str
    display_name: str
    role: str
    branch_code: str | None
    department: str | None
    languages: list[str]
    permissions: list[str]


class StaffAdminRead(StaffRead):
    """A staff user as the administration console sees it."""

    max_concurrent_chats: int
    is_active: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class StaffList(BaseModel):
    items: list[StaffAdminRead]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int = Field(description="Seconds until the token expires.")
    user: StaffRead


class LogoutResponse(BaseModel):
    status: Literal["logged_out"] = "logged_out"


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    branch_code: str | None = Field(default=None, max_length=20)
    department: str | None = Field(default=None, max_length=60)
    languages: Languages = Field(default_factory=lambda: ["zh-CN"])
    max_concurrent_chats: int = Field(default=5, ge=0, le=50)


_NOT_NULL = ("display_name", "role", "languages", "max_concurrent_chats", "is_active")


class StaffUpdate(BaseModel):
    """Only the fields sent change; branch_code/department may be set to null (head office / none)."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    branch_code: str | None = Field(default=None, max_length=20)
    department: str | None = Field(default=None, max_length=60)
    languages: Languages | None = None
    max_concurrent_chats: int | None = Field(default=None, ge=0, le=50)
    is_active: bool | None = None

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, in the form the staff_users columns store them."""
        data = self.model_dump(exclude_unset=True)
        if "languages" in data:
            data["languages"] = languages_to_column(data["languages"])
        return data


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(min_length=8, max_length=200)
