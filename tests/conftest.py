"""Test fixtures: a fresh database per test, a real uvicorn server on a free port, staff and customers.

Embedded (default): each test gets its own copy of a migrated-schema SQLite file.
PostgreSQL/Redis variant: set LINGXI_TEST_DATABASE_URL (and LINGXI_REDIS_URL); every table is
truncated before each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

os.environ.setdefault("LINGXI_ENV", "test")
os.environ.setdefault("LINGXI_LOG_LEVEL", "WARNING")

from lingxi.core.db import Database, set_database
from lingxi.core.events import get_dispatcher
from lingxi.models import Base
from lingxi.routing.router import get_router
from lingxi.settings import Settings, get_settings

PG_URL = os.environ.get("LINGXI_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lingxi")


@pytest.fixture(scope="session")
async def schema_template(tmp_root: Path) -> AsyncIterator[str | None]:
    """Create the schema once: a template SQLite file, or the tables in the PostgreSQL test database."""
    if PG_URL:
        database = Database(Settings(database_url=PG_URL))
        async with database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        await database.dispose()
        yield None
        return
    path = tmp_root / "template.db"
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await database.dispose()
    yield str(path)


_counter = 0


@pytest.fixture
async def db(schema_template: str | None, tmp_root: Path) -> AsyncIterator[Database]:
    global _counter
    _counter += 1
    if PG_URL:
        database = Database(Settings(database_url=PG_URL))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        # The server's outbox dispatcher holds row locks while its handlers run in other sessions;
        # a TRUNCATE queued in between would block those handlers and deadlock across the client.
        # The router (push assignment, queue sweep) is paused for the same reason.
        async with get_dispatcher().paused(), get_router().paused(), database.engine.begin() as conn:
            await conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        assert schema_template
        path = tmp_root / f"test-{_counter}.db"
        shutil.copyfile(schema_template, path)
        database = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    set_database(database)
    yield database
    # Stays the current database until the next test sets its own: background tasks of the
    # session-wide server (outbox sweeps) must not fall back to the default var/lingxi.db.
    await database.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[Any]:
    async with db.sessionmaker() as s:
        yield s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
async def server_url() -> AsyncIterator[str]:
    """A real uvicorn server in this event loop, so HTTP and WebSocket tests use real sockets."""
    from lingxi.app import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def api(server_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=20) as client:
        yield client


@pytest.fixture
def settings() -> Settings:
    return get_settings()


StaffFactory = Callable[..., Awaitable[tuple[Any, str]]]


@pytest.fixture
def make_staff(db: Database) -> StaffFactory:
    """Create a staff user of a role; returns (user, bearer token)."""
    from lingxi.auth import service as auth_service
    from lingxi.core.actor import Actor

    counter = {"n": 0}

    async def factory(role: str = "agent", **kwargs: Any) -> tuple[Any, str]:
        counter["n"] += 1
        async with db.sessionmaker() as s:
            user = await auth_service.do_create_staff(
                session=s,
                actor=Actor.system("test"),
                username=kwargs.pop("username", f"{role}{counter['n']}"),
                display_name=kwargs.pop("display_name", f"测试{role}{counter['n']}"),
                password=kwargs.pop("password", "Passw0rd!"),
                role=role,
                **kwargs,
            )
            await s.commit()
        return user, auth_service.issue_staff_token(user)

    return factory


CustomerFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def make_customer(db: Database) -> CustomerFactory:
    """Create a customer with an app user id contact point (app_user = customer_no)."""
    from lingxi.customers.models import ContactPoint, Customer

    counter = {"n": 0}

    async def factory(**kwargs: Any) -> Customer:
        counter["n"] += 1
        n = counter["n"]
        async with db.sessionmaker() as s:
            customer = Customer(
                customer_no=kwargs.pop("customer_no", f"C9{n:07d}"),
                name=kwargs.pop("name", "王小明" if n % 2 else "李芳芳"),
                id_number=kwargs.pop("id_number", f"11010119900307{n:04d}"),
                phone=kwargs.pop("phone", f"1380013{n:04d}"),
                **kwargs,
            )
            s.add(customer)
            await s.flush()
            s.add(ContactPoint(customer_id=customer.id, kind="app_user", value=customer.customer_no))
            s.add(ContactPoint(customer_id=customer.id, kind="phone", value=customer.phone))
            await s.commit()
            return customer

    return factory
