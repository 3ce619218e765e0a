"""Pydantic shapes of the channel endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_token: str | None = Field(None, max_length=4096, description="Login token issued by the bank's app")
    visitor_id: str | None = Field(
        None, pattern=r"^v-[A-Za-z0-9-]{24,60}$", description="As issued by the server"
    )
    language: Literal["zh-CN", "en"] = "zh-CN"


class ChatCustomer(BaseModel):
    display_name: str
    tier: str


class ChatSessionRead(BaseModel):
    session_token: str
    conversation_id: str
    visitor_id: str | None
    verification_level: str
    customer: ChatCustomer | None
    status: str


class DemoCustomer(BaseModel):
    customer_no: str
    display_name: str
    tier: str


class DemoCustomerList(BaseModel):
    items: list[DemoCustomer]


class DemoLogin(BaseModel):
    app_token: str


class ChatStatus(BaseModel):
    type: Literal["status"] = "status"
    conversation_id: str
    status: str
    verification_level: str
    agent_name: str | None
