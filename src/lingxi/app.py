"""The FastAPI application factory: routers, middleware, error handlers, the built web app."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from lingxi.agents.connections import close_registry
from lingxi.bot import service as bot_service
from lingxi.channels.ingest import get_ingest
from lingxi.core.errors import error_body, install_error_handlers
from lingxi.core.events import get_dispatcher
from lingxi.core.jobs import PeriodicRunner, jobs_run_in_process
from lingxi.core.logging import configure_logging
from lingxi.core.realtime import get_broker
from lingxi.routing.router import get_router
from lingxi.settings import get_settings

log = logging.getLogger("lingxi")

# Each domain with an HTTP surface exposes `router` in its views.py; mounted in this order.
DOMAINS_WITH_ROUTES = (
    "auth",
    "audit",
    "customers",
    "identity",
    "conversations",
    "channels",
    "agents",
    "knowledge",
    "notifications",
    "tickets",
    "routing",
)

WEB_APPS = {"chat": "customer", "agent": "agent", "console": "console"}
MAX_BODY_BYTES = 1024 * 1024
UPLOAD_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and headers around an attachment


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    importlib.import_module("lingxi.worker")  # registers every domain's event handlers and jobs
    # Flow files and the policy are validated, and the intent model loaded, before the first customer.
    await asyncio.to_thread(bot_service.warm_up)
    _freeze_startup_heap()
    dispatcher = get_dispatcher()
    dispatcher.start()
    dispatcher.kick()  # deliver whatever a previous process left undelivered
    runner = PeriodicRunner(use_redis=False) if jobs_run_in_process() else None
    if runner is not None:
        runner.start()
    router = get_router()
    router.start()  # push assignment and the queue sweep (overflow, positions)
    yield
    if runner is not None:
        await runner.stop()
    await get_ingest().stop()
    await router.stop()
    await dispatcher.stop()
    await close_registry()
    await get_broker().close()


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Move what start-up loaded (framework, intent model, knowledge index) out of the cyclic GC's reach.

    It lives as long as the process, yet every full collection walked all of it: a pause of 60–240 ms in
    the middle of live chat traffic. Once per process (tests create many apps).
    """
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Lingxi 灵犀 API",
        version="0.1.0",
        description='Omnichannel customer service for banks. Errors: {"error": {code, message, details}}.',
        lifespan=lifespan,
    )
    install_error_handlers(app)

    # Knowledge imports carry spreadsheets and attachments files: their own caps (their routes also
    # count chunked bodies).
    app.add_middleware(
        BodySizeLimit,
        max_bytes=MAX_BODY_BYTES,
        path_limits={"/api/knowledge/import": settings.knowledge_import_max_bytes + UPLOAD_OVERHEAD_BYTES},
        upload_max_bytes=settings.ticket_attachment_max_bytes + UPLOAD_OVERHEAD_BYTES,
    )

    for domain in DOMAINS_WITH_ROUTES:
        module = importlib.import_module(f"lingxi.{domain}.views")
        app.include_router(module.router)

    @app.get("/api/health", tags=["system"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    _mount_web(app, settings.web_dist)
    return app


class BodySizeLimit:
    """Refuses HTTP requests that announce a body over `max_bytes` (pure ASGI: sockets pass untouched).

    Attachment uploads (POST …/attachments) may be as large as `upload_max_bytes`, and a path in
    `path_limits` has its own cap; their handlers read no more than their limit whatever the request
    announces."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        path_limits: dict[str, int] | None = None,
        upload_max_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = path_limits or {}
        self.upload_max_bytes = upload_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope.get("path", ""))
            upload = scope.get("method") == "POST" and path.endswith("/attachments")
            limit = self.path_limits.get(path, self.upload_max_bytes if upload else self.max_bytes)
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > limit:
                    body = error_body("payload_too_large", f"Request body over {limit} bytes.")
                    await JSONResponse(body, status_code=413)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _mount_web(app: FastAPI, dist: Path) -> None:
    """Serve the built Vue apps: /chat (customer H5), /agent (workspace), /console."""
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    def page(folder: str):  # type: ignore[no-untyped-def]
        async def serve() -> Response:
            index = dist / folder / "index.html"
            if not index.is_file():
                return JSONResponse(
                    error_body("web_not_built", "The web app is not built: run `make web` (or `make run`)."),
                    status_code=503,
                )
            return FileResponse(index, headers={"Cache-Control": "no-cache"})

        return serve

    for path, folder in WEB_APPS.items():
        app.add_api_route(f"/{path}", page(folder), include_in_schema=False)
        app.add_api_route(f"/{path}/", page(folder), include_in_schema=False)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/chat/")
