"""Request and response bodies of the identity routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["L0", "L1", "L2"]
Method = Literal["otp", "biometric"]


class IdentityStatus(BaseModel):
    level: Level
    expires_at: datetime | None = Field(None, description="When the step-up (L2) lapses; null below L2")
    methods_available: list[Method] = Field(
        default_factory=list, description="Step-up methods this chat can use"
    )


class OtpSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field("step_up", pattern=r"^[a-z][a-z0-9_]{0,39}$")


class OtpSent(BaseModel):
    challenge_id: str
    phone_masked: str
    expires_in_seconds: int
    resend_after_seconds: int


class OtpVerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge_id: str = Field(min_length=1, max_length=36)
    code: str = Field(min_length=1, max_length=12)


class BiometricIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assertion: str = Field(min_length=1, max_length=4096, description="JWT signed by the bank app")


class LevelOut(BaseModel):
    level: Level
    expires_at: datetime | None


class DemoAssertionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["face", "fingerprint"] = "face"


class DemoAssertionOut(BaseModel):
    assertion: str


class OutboundItem(BaseModel):
    id: int
    adapter: str
    recipient: str
    content: str
    meta: dict[str, Any] | None
    created_at: datetime


class OutboundList(BaseModel):
    items: list[OutboundItem]
