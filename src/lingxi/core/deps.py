"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.db import session_scope


async def get_session() -> AsyncIterator[AsyncSession]:
    async for session in session_scope():
        yield session


# scope="function": the transaction commits when the endpoint returns, before the response is sent,
# so a client never sees a success for something that did not commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
