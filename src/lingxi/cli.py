"""The `lingxi` command: run, migrate, demo, worker, bench, token …"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from lingxi.settings import PROJECT_ROOT, get_settings


@click.group(help="Lingxi 灵犀 — omnichannel customer service for banks.")
def main() -> None:
    pass


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    return Config(str(PROJECT_ROOT / "alembic.ini"))


@main.command(help="Apply database migrations (Alembic) up to the newest revision.")
def migrate() -> None:
    from alembic import command

    settings = get_settings()
    if settings.is_sqlite:
        db_path = settings.database_url.split(":///", 1)[1]
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(), "head")
    click.echo("database migrated to head")


@main.command(help="Load the demo bank (customers, accounts, agents …) if the database has no customers.")
@click.option("--force", is_flag=True, help="Load even when customers exist (fails on conflicts).")
def demo(force: bool) -> None:
    from lingxi.demo.loader import load_demo_bank

    result = asyncio.run(load_demo_bank(force=force))
    click.echo(json.dumps(result, ensure_ascii=False))


@main.command(help="Serve the API and the web apps.")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--workers", default=1, type=int, help="Processes (needs PostgreSQL and Redis when > 1).")
def run(host: str | None, port: int | None, workers: int) -> None:
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}"
    click.echo(
        "\n灵犀 Lingxi is starting:\n"
        f"  customer chat (H5)   {base}/chat/\n"
        f"  agent workspace      {base}/agent/    demo log-in: agent01 / Lingxi@2026\n"
        f"  console              {base}/console/  demo log-in: admin / Lingxi@2026,"
        " supervisor01 / Lingxi@2026, auditor / Lingxi@2026\n"
        f"  developer inbox      {base}/console/#/dev-inbox  (demo SMS codes, WeChat replies)\n"
        f"  API docs             {base}/docs\n"
    )
    uvicorn.run("lingxi.app:create_app", factory=True, host=host, port=port, workers=workers,
                ws="websockets-sansio", log_level="info")


@main.command(help="Run background job workers (taskiq on Redis; needs LINGXI_REDIS_URL).")
@click.option("--workers", default=1, type=int)
def worker(workers: int) -> None:
    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException("Set LINGXI_REDIS_URL: in the embedded mode jobs run inside `lingxi run`.")
    from taskiq.cli.worker.run import run_worker
    from taskiq.cli.worker.args import WorkerArgs

    sys.exit(run_worker(WorkerArgs(broker="lingxi.worker:broker", modules=[], workers=workers)) or 0)


@main.group(help="Benchmarks; they print figures as JSON.")
def bench() -> None:
    pass


@main.group(help="Developer helpers for the demo.")
def dev() -> None:
    pass


@dev.command("app-token", help="Issue a demo bank-app login token for a customer number (L1 in chat).")
@click.argument("customer_no")
def app_token(customer_no: str) -> None:
    from lingxi.identity.app_tokens import issue_demo_app_token

    click.echo(issue_demo_app_token(customer_no))


if __name__ == "__main__":
    main()
