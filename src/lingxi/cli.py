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
    uvicorn.run(
        "lingxi.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ws=settings.ws_implementation,
        # Chat frames are small: compressing each costs more CPU than it saves bandwidth on a LAN.
        ws_per_message_deflate=False,
        log_level="info",
    )


@main.command(help="Run background job workers (taskiq on Redis; needs LINGXI_REDIS_URL).")
@click.option("--workers", default=1, type=int)
def worker(workers: int) -> None:
    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException("Set LINGXI_REDIS_URL: in the embedded mode jobs run inside `lingxi run`.")
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    sys.exit(run_worker(WorkerArgs(broker="lingxi.worker:broker", modules=[], workers=workers)) or 0)


@main.group(help="Benchmarks; they print figures as JSON.")
def bench() -> None:
    pass


@bench.command("chat", help="Message pipeline: customers → real API → stored → agent sockets.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (default: also JSON).")
@click.option("--customers", default=200, show_default=True)
@click.option("--agents", default=20, show_default=True)
@click.option("--rate", default=2000.0, show_default=True, help="Offered messages per second in total.")
@click.option("--duration", default=10.0, show_default=True, help="Measured seconds (after 2 s warm-up).")
@click.option("--database-url", default=None, help="Benchmark on this database (its tables are recreated!).")
@click.option("--redis-url", default=None, help="Realtime fan-out through Redis.")
def bench_chat(
    as_json: bool,
    customers: int,
    agents: int,
    rate: float,
    duration: float,
    database_url: str | None,
    redis_url: str | None,
) -> None:
    module = _load_bench("chat_pipeline")
    result = module.main(
        module.Options(
            customers=customers,
            agents=agents,
            rate=rate,
            duration=duration,
            database_url=database_url,
            redis_url=redis_url,
        )
    )
    click.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))


@bench.command("routing", help="Routing: assignment latency and throughput (500 waiting, 200 agents).")
@click.option("--json", "as_json", is_flag=True, help="Print one line of JSON (default: indented).")
@click.option("--customers", default=500, show_default=True, help="Waiting customers.")
@click.option("--agents", default=200, show_default=True)
@click.option("--capacity", default=2, show_default=True, help="Concurrent chats per agent.")
@click.option("--closes", default=200, show_default=True, help="Chats closed in the push-latency phase.")
@click.option("--close-rate", default=10.0, show_default=True, help="Closes per second.")
@click.option("--database-url", default=None, help="Benchmark on this database (its tables are recreated!).")
def bench_routing(
    as_json: bool,
    customers: int,
    agents: int,
    capacity: int,
    closes: int,
    close_rate: float,
    database_url: str | None,
) -> None:
    module = _load_bench("routing")
    result = module.main(
        module.Options(
            customers=customers,
            agents=agents,
            capacity=capacity,
            closes=closes,
            close_rate=close_rate,
            database_url=database_url,
        )
    )
    click.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))


def _load_bench(name: str):  # type: ignore[no-untyped-def]
    """Benchmarks live in bench/ at the project root, outside the package."""
    import importlib.util

    path = PROJECT_ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"lingxi_bench_{name}", path)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"benchmark {path} not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@main.group(help="Developer helpers for the demo.")
def dev() -> None:
    pass


@dev.command("app-token", help="Issue a demo bank-app login token for a customer number (L1 in chat).")
@click.argument("customer_no")
def app_token(customer_no: str) -> None:
    from lingxi.identity.app_tokens import issue_demo_app_token

    click.echo(issue_demo_app_token(customer_no))


def _mount_domain_commands() -> None:
    """Domains with commands of their own expose a click group `commands` in <domain>/cli.py."""
    import importlib

    for domain in ("nlu",):
        try:
            module = importlib.import_module(f"lingxi.{domain}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"lingxi.{domain}.cli":
                raise
            continue
        main.add_command(module.commands, name=domain)


_mount_domain_commands()

if __name__ == "__main__":
    main()
