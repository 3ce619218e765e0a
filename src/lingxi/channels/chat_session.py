"""Chat session tokens for the web/app channel: who is chatting in which conversation.

Issued by `POST /api/chat/sessions`, signed by the server, sent as a bearer token on REST calls and as
`?token=` on the WebSocket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lingxi.core.errors import Unauthenticated
from lingxi.core.timeutil import utcnow
from lingxi.settings import get_settings

AUDIENCE = "lingxi-chat"
TOKEN_HOURS = 12


@dataclass(frozen=True, slots=True)
class ChatSession:
    conversation_id: int
    conversation_public_id: str
    customer_id: int | None
    visitor_id: str | None
    channel: str = "webchat"


def issue_chat_token(chat: ChatSession) -> str:
    now = utcnow()
    claims = {
        "aud": AUDIENCE,
        "sub": chat.conversation_public_id,
        "cid": chat.conversation_id,
        "cust": chat.customer_id,
        "vis": chat.visitor_id,
        "chn": chat.channel,
        "iat": now,
        "exp": now + timedelta(hours=TOKEN_HOURS),
    }
    return jwt.encode(claims, get_settings().secret_key, algorithm="HS256")


def decode_chat_token(token: str) -> ChatSession:
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=["HS256"], audience=AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(
            "The chat session has expired; reopen the chat.", code="chat_token_expired"
        ) from None
    except jwt.PyJWTError:
        raise Unauthenticated(
            "Invalid chat session token; reopen the chat.", code="chat_token_invalid"
        ) from None
    return ChatSession(
        conversation_id=int(claims["cid"]),
        conversation_public_id=str(claims["sub"]),
        customer_id=claims.get("cust"),
        visitor_id=claims.get("vis"),
        channel=str(claims.get("chn", "webchat")),
    )


_bearer = HTTPBearer(auto_error=False)


async def current_chat_session(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ChatSession:
    if credentials is None:
        raise Unauthenticated("Open a chat session first (POST /api/chat/sessions).", code="no_chat_token")
    return decode_chat_token(credentials.credentials)


CurrentChat = Annotated[ChatSession, Depends(current_chat_session)]
