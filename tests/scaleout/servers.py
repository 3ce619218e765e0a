"""Helpers for the scale-out tests: a throw-away PostgreSQL database and uvicorn server subprocesses.

Each server is a separate `python -m uvicorn lingxi.app:create_app --factory` process on a free port,
configured only through the environment, so two of them share nothing but PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from lingxi.models import Base
from lingxi.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


# --- the dedicated database ------------------------------------------------------------------------


def _url_for(base_url: str, database: str) -> str:
    return make_url(base_url).set(database=database).render_as_string(hide_password=False)


async def create_database(base_url: str, prefix: str = "lingxi_scaleout_") -> str:
    """CREATE DATABASE <prefix><random> next to `base_url`'s database, with the schema; returns its URL."""
    name = f"{prefix}{secrets.token_hex(4)}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = _url_for(base_url, name)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()
    return url


async def drop_database(base_url: str, url: str) -> None:
    """DROP DATABASE … WITH (FORCE): also when a server process left connections behind."""
    name = make_url(url).database
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# --- server processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One API process; its stdout and stderr go to `log_path`."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "lingxi.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ws",
            "websockets-sansio",
            # warning: at info uvicorn logs each socket's URL, and with it the token in the query string.
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Poll GET /api/health until it answers 200; fail early (with the log) if the process exits."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"server {self.name} exited with {self.process.returncode} before it was healthy:\n"
                        + self.log_tail()
                    )
                try:
                    if (await client.get("/api/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server {self.name} not healthy after {timeout}s:\n" + self.log_tail()
                    )
                await asyncio.sleep(0.1)

    async def launch(self, attempts: int = 3) -> None:
        """Start and wait until healthy; on a port taken between choosing and binding it, try another."""
        for attempt in range(1, attempts + 1):
            self.start()
            try:
                await self.wait_healthy()
                return
            except RuntimeError:
                if attempt == attempts or "address already in use" not in self.log_tail().lower():
                    raise
                self.stop()
                self.port = free_port()

    def stop(self) -> None:
        """SIGTERM (graceful shutdown: sockets closed, broker closed), SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, lines: int = 200) -> str:
        try:
            content = self.log_path.read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(content[-lines:]) or "(empty log)"


def server_env(*, database_url: str, redis_url: str, settings: Settings) -> dict[str, str]:
    """The environment of a server process: this database and Redis, and the test process's signing keys.

    Staff tokens, chat session tokens and demo app tokens made by the test process (or by the other
    server) must verify on every server, so the keys are passed on explicitly.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGXI_")}
    env.update(
        LINGXI_ENV="test",
        LINGXI_DATABASE_URL=database_url,
        LINGXI_REDIS_URL=redis_url,
        LINGXI_SECRET_KEY=settings.secret_key,
        LINGXI_APP_TOKEN_SECRET=settings.app_token_secret,
        LINGXI_APP_TOKEN_ISSUER=settings.app_token_issuer,
        LINGXI_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env
