"""Claiming inbound delivery keys (WeChat MsgId, webhook idempotency keys) so that nothing is stored twice.

Protocol (used by the WeChat callback and the signed webhook):

1. `claim_delivery` inserts the key in a short transaction of its own and commits *before* any
   processing (INSERT … ON CONFLICT DO NOTHING: exactly one concurrent caller wins).
2. The winner processes in its own transaction and, in that same transaction, calls
   `do_complete_delivery`, a conditional update "done WHERE claim_token = mine AND status =
   processing". Messages and the "done" mark commit together or not at all.
3. A loser reads the row: "done" → answer with the stored reply; "processing" → wait or answer that
   the delivery is being handled.
4. If processing fails, the winner deletes its claim (`release_claim`) so that the sender's next retry
   processes the delivery afresh. If the process dies instead, the claim stays "processing"; once it
   is older than the lease, the next retry takes it over (`claim_delivery` does, atomically). An
   attempt that lost its claim that way fails at step 2 and its transaction rolls back, so a slow but
   alive attempt and the one that took over can never both store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.channels.models import InboundDelivery
from lingxi.core.db import get_database
from lingxi.core.timeutil import as_utc, utcnow


@dataclass(frozen=True, slots=True)
class Claim:
    """This attempt owns the delivery key."""

    id: int
    token: str
    channel: str
    dedup_key: str
    taken_over: bool = False


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What another attempt has recorded under the key."""

    id: int
    status: str
    reply: str | None
    reply_mode: str | None
    message_id: int | None
    request_hash: str | None
    claimed_at: datetime | None

    def is_stale(self, lease_seconds: float) -> bool:
        if self.status != "processing" or self.claimed_at is None:
            return False
        return as_utc(self.claimed_at) < utcnow() - timedelta(seconds=lease_seconds)


class ClaimLost(RuntimeError):
    """The claim was taken over (this attempt was presumed dead); its work must not be stored."""


def _snapshot(row: InboundDelivery) -> Snapshot:
    return Snapshot(
        id=row.id,
        status=row.status,
        reply=row.reply,
        reply_mode=row.reply_mode,
        message_id=row.message_id,
        request_hash=row.request_hash,
        claimed_at=row.claimed_at,
    )


def _insert_for(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _by_key(channel: str, dedup_key: str) -> Select[InboundDelivery]:
    return select(InboundDelivery).where(
        InboundDelivery.channel == channel, InboundDelivery.dedup_key == dedup_key
    )


async def get_delivery(*, channel: str, dedup_key: str) -> Snapshot | None:
    async with get_database().sessionmaker() as session:
        row = await session.scalar(_by_key(channel, dedup_key))
        return _snapshot(row) if row is not None else None


async def claim_delivery(
    *, channel: str, dedup_key: str, lease_seconds: float, request_hash: str | None = None
) -> Claim | Snapshot:
    """Claim the key (committed at once) or return what is recorded under it.

    A "processing" claim older than `lease_seconds` is presumed dead and taken over. The key is read
    first (readers never wait for a writer), so a retry does not queue for the database's write lock
    behind the very processing it is a retry of; the insert then settles races between first arrivals.
    """
    for _ in range(3):  # the row can vanish between the insert and the read (a failed attempt released it)
        token = str(uuid.uuid4())
        now = utcnow()
        async with get_database().sessionmaker() as session:
            row = await session.scalar(_by_key(channel, dedup_key))
            if row is None:
                insert = _insert_for(session)
                stmt = (
                    insert(InboundDelivery)
                    .values(
                        channel=channel,
                        dedup_key=dedup_key,
                        status="processing",
                        claim_token=token,
                        claimed_at=now,
                        created_at=now,
                        request_hash=request_hash,
                    )
                    .on_conflict_do_nothing(index_elements=["channel", "dedup_key"])
                    .returning(InboundDelivery.id)
                )
                new_id = await session.scalar(stmt)
                await session.commit()
                if new_id is not None:
                    return Claim(id=new_id, token=token, channel=channel, dedup_key=dedup_key)
                row = await session.scalar(_by_key(channel, dedup_key))
                if row is None:
                    continue
            snapshot = _snapshot(row)
            if not snapshot.is_stale(lease_seconds):
                return snapshot
            taken = await session.scalar(
                update(InboundDelivery)
                .where(
                    InboundDelivery.id == row.id,
                    InboundDelivery.status == "processing",
                    InboundDelivery.claim_token == row.claim_token,
                )
                .values(claim_token=token, claimed_at=now)
                .returning(InboundDelivery.id)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            if taken is not None:
                return Claim(id=row.id, token=token, channel=channel, dedup_key=dedup_key, taken_over=True)
            fresh = await get_delivery(channel=channel, dedup_key=dedup_key)
            if fresh is not None:
                return fresh
    raise RuntimeError(f"could not claim delivery {channel}:{dedup_key}")


async def do_complete_delivery(
    *,
    session: AsyncSession,
    claim: Claim,
    reply: str | None,
    reply_mode: str | None,
    message_id: int | None,
) -> None:
    """Mark the delivery done in the caller's (processing) transaction; raises ClaimLost if it is not ours."""
    done = await session.scalar(
        update(InboundDelivery)
        .where(
            InboundDelivery.id == claim.id,
            InboundDelivery.claim_token == claim.token,
            InboundDelivery.status == "processing",
        )
        .values(
            status="done", reply=reply, reply_mode=reply_mode, message_id=message_id, completed_at=utcnow()
        )
        .returning(InboundDelivery.id)
        .execution_options(synchronize_session=False)
    )
    if done is None:
        raise ClaimLost(f"delivery {claim.channel}:{claim.dedup_key} was taken over by another attempt")


async def release_claim(claim: Claim) -> None:
    """Forget a claim whose processing failed, so that a retry can process the delivery."""
    async with get_database().sessionmaker() as session:
        await session.execute(
            delete(InboundDelivery).where(
                InboundDelivery.id == claim.id,
                InboundDelivery.claim_token == claim.token,
                InboundDelivery.status == "processing",
            )
        )
        await session.commit()
