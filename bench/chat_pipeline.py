"""Message-pipeline benchmark: customers send over the real WebSocket API, agents receive on theirs.

A server process (uvicorn, one worker) runs against a fresh database; this process plays C customers
and A agents. Each customer message is stored (committed) by the server and must arrive on the
connected socket of the agent it is assigned to. Latency is send → arrival at the agent socket.
The load is open-loop: messages are offered at a fixed total rate, spread over the customers.

Run: `lingxi bench chat --json` (SQLite) or `lingxi bench chat --json --database-url postgresql+asyncpg://…`.
Prints one JSON object; never passes or fails on time.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect


@dataclass
class Options:
    customers: int = 200
    agents: int = 20
    rate: float = 2000.0  # offered messages per second, all customers together
    duration: float = 10.0
    warmup: float = 2.0
    database_url: str | None = None
    redis_url: str | None = None


@dataclass
class Results:
    sent_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    acks: int = 0
    errors: int = 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report CPU cost per message."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _create_pg_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it does not exist yet."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    server, name = url.rsplit("/", 1)
    engine = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _prepare_database(url: str, opts: Options) -> tuple[list[str], list[str]]:
    """Fresh schema, agents and customers with one assigned conversation each; returns tokens."""
    from lingxi.auth.models import StaffUser
    from lingxi.auth.service import hash_password, issue_staff_token
    from lingxi.channels.chat_session import ChatSession, issue_chat_token
    from lingxi.conversations.models import Conversation
    from lingxi.core.db import Database
    from lingxi.customers.models import Customer
    from lingxi.models import Base
    from lingxi.settings import Settings

    if url.startswith("postgresql"):
        await _create_pg_database(url)
    database = Database(Settings(database_url=url))
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    async with database.sessionmaker() as session:
        password = hash_password("Bench-2026")
        agents = [
            StaffUser(
                username=f"bench{i:03d}",
                display_name=f"压测坐席{i}",
                password_hash=password,
                role="agent",
                max_concurrent_chats=10_000,
            )
            for i in range(opts.agents)
        ]
        session.add_all(agents)
        customers = [
            Customer(
                customer_no=f"B{i:07d}",
                name=f"压测客户{i}",
                id_number=f"1101011990010{i:05d}",
                phone=f"139{i:08d}",
            )
            for i in range(opts.customers)
        ]
        session.add_all(customers)
        await session.flush()
        conversations = [
            Conversation(
                public_id=str(uuid.uuid4()),
                channel="webchat",
                customer_id=c.id,
                status="assigned",
                verification_level="L1",
                assigned_agent_id=agents[i % len(agents)].id,
                context={},
            )
            for i, c in enumerate(customers)
        ]
        session.add_all(conversations)
        await session.commit()
        agent_tokens = [issue_staff_token(a) for a in agents]
        chat_tokens = [
            issue_chat_token(
                ChatSession(
                    conversation_id=c.id,
                    conversation_public_id=c.public_id,
                    customer_id=c.customer_id,
                    visitor_id=None,
                )
            )
            for c in conversations
        ]
    await database.dispose()
    return agent_tokens, chat_tokens


async def _agent(ws: ClientConnection, results: Results, recording: asyncio.Event) -> None:
    async for raw in ws:
        frame = orjson.loads(raw)
        if frame.get("type") != "message":
            continue
        sent = results.sent_at.pop(frame["message"].get("client_msg_id") or "", None)
        if sent is not None and recording.is_set():
            results.latencies.append(time.perf_counter() - sent)


async def _customer(
    ws: ClientConnection, index: int, interval: float, stop_at: float, results: Results
) -> None:
    async def read_acks() -> None:
        async for raw in ws:
            kind = orjson.loads(raw).get("type")
            if kind == "ack":
                results.acks += 1
            elif kind == "error":
                results.errors += 1

    reader = asyncio.create_task(read_acks())
    await asyncio.sleep(interval * (index / max(1, results_customers(results))))
    n = 0
    next_at = time.perf_counter()
    while next_at < stop_at:
        n += 1
        msg_id = f"b{index}-{n}"
        results.sent_at[msg_id] = time.perf_counter()
        await ws.send(
            orjson.dumps(
                {"type": "message", "client_msg_id": msg_id, "text": f"压测消息 {n}：我想查询账单"}
            ).decode()
        )
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.sleep(1.0)  # let the last acks arrive
    reader.cancel()


def results_customers(results: Results) -> int:
    return getattr(results, "_customers", 1)


async def _socket(url: str) -> ClientConnection:
    # Compression off on both ends: chat frames are small and deflate costs more CPU than it saves.
    return await connect(url, max_queue=None, compression=None)


async def run(opts: Options) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="lingxi-bench-"))
    url = opts.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    agent_tokens, chat_tokens = await _prepare_database(url, opts)
    from lingxi.settings import get_settings

    ws_implementation = get_settings().ws_implementation  # as `lingxi run` serves (LINGXI_WS_IMPLEMENTATION)
    port = _free_port()
    env = {**os.environ, "LINGXI_DATABASE_URL": url, "LINGXI_LOG_LEVEL": "WARNING", "LINGXI_ENV": "test"}
    if opts.redis_url:
        env["LINGXI_REDIS_URL"] = opts.redis_url
    else:
        env.pop("LINGXI_REDIS_URL", None)
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measured part
        [
            sys.executable,
            # LINGXI_BENCH_PROFILE=FILE writes a cProfile of the server (for finding hot spots).
            *(
                ["-m", "cProfile", "-o", os.environ["LINGXI_BENCH_PROFILE"]]
                if "LINGXI_BENCH_PROFILE" in os.environ
                else []
            ),
            "-m",
            "uvicorn",
            "lingxi.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--ws",
            ws_implementation,
            "--ws-per-message-deflate",
            "false",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"http://{base}/api/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        results = Results()
        results._customers = opts.customers  # type: ignore[attr-defined]
        recording = asyncio.Event()
        agent_sockets = [await _socket(f"ws://{base}/api/agent/ws?token={t}") for t in agent_tokens]
        agent_tasks = [asyncio.create_task(_agent(ws, results, recording)) for ws in agent_sockets]
        customer_sockets = [await _socket(f"ws://{base}/api/chat/ws?token={t}") for t in chat_tokens]
        interval = opts.customers / opts.rate
        start = time.perf_counter()
        stop_at = start + opts.warmup + opts.duration
        customers = [
            asyncio.create_task(_customer(ws, i, interval, stop_at, results))
            for i, ws in enumerate(customer_sockets)
        ]
        await asyncio.sleep(opts.warmup)
        recording.set()
        measured_from = time.perf_counter()
        acks_before = results.acks
        cpu_before = _cpu_seconds(server.pid)
        await asyncio.sleep(opts.duration)
        measured = time.perf_counter() - measured_from
        server_cpu = _cpu_seconds(server.pid) - cpu_before
        delivered = len(results.latencies)
        acks = results.acks - acks_before
        await asyncio.gather(*customers)
        lost = len(results.sent_at)
        for task in agent_tasks:
            task.cancel()
        for ws in [*customer_sockets, *agent_sockets]:
            await ws.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if opts.database_url is None:
            shutil.rmtree(tmp, ignore_errors=True)

    lat = sorted(results.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else float("nan")

    return {
        "benchmark": "chat_pipeline",
        "backend": "postgresql" if url.startswith("postgresql") else "sqlite",
        "realtime": "redis" if opts.redis_url else "in-process",
        "websocket": ws_implementation,
        "customers": opts.customers,
        "agents": opts.agents,
        "offered_rate_per_s": opts.rate,
        "duration_s": round(measured, 2),
        "messages_delivered": delivered,
        "messages_per_s": round(delivered / measured, 1),
        "acks_per_s": round(acks / measured, 1),
        "latency_ms": {
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
            "max": pct(1.0),
            "mean": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        },
        "server_cpu_ms_per_message": round(server_cpu * 1000 / delivered, 3) if delivered else None,
        "server_cpu_share": round(server_cpu / measured, 2),
        "undelivered_after_run": lost,
        "errors": results.errors,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }


def main(opts: Options) -> dict[str, Any]:
    # The load generator shares the machine with the server: uvloop (uvicorn[standard] brings it where
    # it runs) and orjson keep its own CPU low.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(opts))
    return uvloop.run(run(opts))
