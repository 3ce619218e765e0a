"""Every /api route × every role (and anonymous callers, and customer chat tokens).

The access each route needs is written down in EXPECTED below; the tests fail when

* a route exists that is not in the table (classify every new route: this is on purpose), or the
  table names a route that no longer exists;
* an anonymous caller (or a customer chat token) gets anything but 401 on a staff route;
* a role without the route's permission gets anything but 403;
* a role with the permission gets 401/403 — or any caller gets a 5xx for a dummy id / empty body;
* a customer-chat route accepts a caller without a chat session token (or with a staff token);
* a signed (webhook/WeChat) route accepts an unsigned request, even one with a staff token.

How to classify a new route: add `("METHOD", "/api/path/{param}"): <access>` to EXPECTED, where
<access> is a `Perm` (the role table in lingxi/auth/permissions.py decides who has it), `any_of(...)`
for routes that accept several permissions, or one of the markers PUBLIC, ANY_STAFF, CHAT, SIGNED.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute, APIWebSocketRoute

from lingxi.auth.models import ROLES, StaffUser
from lingxi.auth.permissions import ROLE_PERMISSIONS, Perm
from lingxi.auth.service import hash_password, issue_staff_token

# --- access markers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    name: str

    def __repr__(self) -> str:
        return self.name


PUBLIC = Marker("PUBLIC")  # anyone, no token (log-in, health, opening a chat, dev/test demo helpers)
ANY_STAFF = Marker("ANY_STAFF")  # any logged-in staff user, whatever the role
CHAT = Marker("CHAT")  # a customer chat session token (Authorization: Bearer <session_token>)
SIGNED = Marker("SIGNED")  # a channel signature (WeChat, HMAC webhooks); no bearer token of any kind


@dataclass(frozen=True)
class AnyOf:
    perms: frozenset[Perm]

    def __repr__(self) -> str:
        return "any_of(" + ", ".join(sorted(p.name for p in self.perms)) + ")"


def any_of(*perms: Perm) -> AnyOf:
    return AnyOf(frozenset(perms))


Access = Perm | AnyOf | Marker

# --- the table: one line per (method, path) -------------------------------------------------------------

EXPECTED: dict[tuple[str, str], Access] = {
    # system
    ("GET", "/api/health"): PUBLIC,
    # auth
    ("POST", "/api/auth/login"): PUBLIC,
    ("GET", "/api/auth/me"): ANY_STAFF,
    ("POST", "/api/auth/logout"): ANY_STAFF,
    ("GET", "/api/admin/staff"): Perm.STAFF_ADMIN,
    ("POST", "/api/admin/staff"): Perm.STAFF_ADMIN,
    ("PATCH", "/api/admin/staff/{staff_id}"): Perm.STAFF_ADMIN,
    ("POST", "/api/admin/staff/{staff_id}/reset-password"): Perm.STAFF_ADMIN,
    # agents (skill groups)
    ("GET", "/api/agents/skill-groups"): ANY_STAFF,
    ("POST", "/api/admin/skill-groups"): Perm.STAFF_ADMIN,
    ("GET", "/api/admin/staff/{staff_id}/skills"): Perm.STAFF_ADMIN,
    ("PUT", "/api/admin/staff/{staff_id}/skills"): Perm.STAFF_ADMIN,
    # agents (routing settings of groups and agents)
    ("PATCH", "/api/admin/skill-groups/{code}"): Perm.STAFF_ADMIN,
    ("GET", "/api/admin/skill-groups/{code}/routing"): Perm.STAFF_ADMIN,
    ("GET", "/api/admin/staff/{staff_id}/routing-profile"): Perm.STAFF_ADMIN,
    ("PUT", "/api/admin/staff/{staff_id}/routing-profile"): Perm.STAFF_ADMIN,
    # agents (the agent's presence, wrap-up, canned responses, assist)
    ("GET", "/api/agent/presence"): Perm.CHAT_HANDLE,
    ("PUT", "/api/agent/presence"): Perm.CHAT_HANDLE,
    ("GET", "/api/agent/wrap-up-codes"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/conversations/{conversation_id}/wrap-up"): Perm.CHAT_HANDLE,
    ("GET", "/api/agent/canned-responses"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/canned-responses"): Perm.CHAT_HANDLE,
    ("PATCH", "/api/agent/canned-responses/{canned_id}"): Perm.CHAT_HANDLE,
    ("DELETE", "/api/agent/canned-responses/{canned_id}"): Perm.CHAT_HANDLE,
    ("GET", "/api/agent/conversations/{conversation_id}/canned-responses/{canned_id}"): Perm.CHAT_HANDLE,
    ("GET", "/api/agent/conversations/{conversation_id}/assist"): Perm.CHAT_HANDLE,
    ("PUT", "/api/supervisor/agents/{staff_id}/presence"): Perm.CHAT_MONITOR,
    # routing (transfers and notes, the supervisor's wallboard, whisper, take-over, callbacks)
    ("GET", "/api/agent/transfer-targets"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/conversations/{conversation_id}/transfer"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/conversations/{conversation_id}/invite"): Perm.CHAT_HANDLE,
    ("GET", "/api/agent/conversations/{conversation_id}/notes"): Perm.CHAT_HANDLE,
    ("GET", "/api/supervisor/wallboard"): Perm.CHAT_MONITOR,
    ("POST", "/api/supervisor/conversations/{conversation_id}/whisper"): Perm.CHAT_MONITOR,
    ("POST", "/api/supervisor/conversations/{conversation_id}/take-over"): Perm.CHAT_MONITOR,
    ("POST", "/api/supervisor/callbacks/{request_id}/done"): Perm.CHAT_MONITOR,
    # audit
    ("GET", "/api/audit"): Perm.AUDIT_READ,
    ("GET", "/api/audit/export.csv"): Perm.AUDIT_READ,
    # customer chat (channels/webchat)
    ("POST", "/api/chat/sessions"): PUBLIC,
    ("GET", "/api/chat/status"): CHAT,
    ("GET", "/api/chat/messages"): CHAT,
    ("POST", "/api/chat/messages"): CHAT,
    ("GET", "/api/chat/demo-customers"): PUBLIC,  # dev/test only (404 in prod)
    ("GET", "/api/chat/demo-login"): PUBLIC,  # dev/test only (404 in prod)
    # the customer in the queue (routing) and the satisfaction survey
    ("GET", "/api/chat/queue"): CHAT,
    ("POST", "/api/chat/queue/leave"): CHAT,
    ("POST", "/api/chat/queue/callback"): CHAT,
    ("POST", "/api/chat/survey"): CHAT,
    # customers (masked 360, audited reveal, timeline)
    ("GET", "/api/customers"): Perm.CUSTOMER_VIEW,
    ("GET", "/api/customers/{customer_id}/360"): Perm.CUSTOMER_VIEW,
    ("POST", "/api/customers/{customer_id}/reveal"): Perm.CUSTOMER_REVEAL,
    ("GET", "/api/customers/{customer_id}/timeline"): Perm.CUSTOMER_VIEW,
    # channels with their own signatures (WeChat URL signature + message encryption; HMAC webhooks)
    ("GET", "/api/channels/wechat/callback"): SIGNED,
    ("POST", "/api/channels/wechat/callback"): SIGNED,
    ("POST", "/api/channels/webhook/{source}"): SIGNED,
    # identity (the chat customer's step-up) and the developer inbox
    ("GET", "/api/identity/status"): CHAT,
    ("POST", "/api/identity/otp"): CHAT,
    ("POST", "/api/identity/otp/verify"): CHAT,
    ("POST", "/api/identity/biometric"): CHAT,
    ("POST", "/api/identity/biometric/demo-assertion"): CHAT,  # dev/test only
    ("GET", "/api/dev/inbox"): Perm.DEV_INBOX,
    # agent workspace (conversations)
    ("GET", "/api/agent/conversations"): Perm.CHAT_HANDLE,
    ("GET", "/api/agent/conversations/{conversation_id}"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/conversations/{conversation_id}/accept"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/conversations/{conversation_id}/messages"): Perm.CHAT_HANDLE,
    ("POST", "/api/agent/conversations/{conversation_id}/close"): Perm.CHAT_HANDLE,
    # knowledge base: reading and search (agent assist) vs. writing, review, import and export
    ("GET", "/api/knowledge/meta"): Perm.KNOWLEDGE_READ,
    ("GET", "/api/knowledge/entries"): Perm.KNOWLEDGE_READ,
    ("GET", "/api/knowledge/entries/{entry_id}"): Perm.KNOWLEDGE_READ,
    ("GET", "/api/knowledge/search"): Perm.KNOWLEDGE_READ,
    ("POST", "/api/knowledge/entries"): Perm.KNOWLEDGE_EDIT,
    ("PUT", "/api/knowledge/entries/{entry_id}/draft"): Perm.KNOWLEDGE_EDIT,
    ("POST", "/api/knowledge/entries/{entry_id}/submit"): Perm.KNOWLEDGE_EDIT,
    ("POST", "/api/knowledge/entries/{entry_id}/approve"): Perm.KNOWLEDGE_EDIT,
    ("POST", "/api/knowledge/entries/{entry_id}/reject"): Perm.KNOWLEDGE_EDIT,
    ("POST", "/api/knowledge/entries/{entry_id}/withdraw"): Perm.KNOWLEDGE_EDIT,
    ("POST", "/api/knowledge/import"): Perm.KNOWLEDGE_EDIT,
    ("GET", "/api/knowledge/export"): Perm.KNOWLEDGE_EDIT,
    # work orders: the staff console
    ("GET", "/api/tickets"): Perm.TICKET_VIEW,
    ("POST", "/api/tickets"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/options"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/queues"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/teams"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/teams/{team_id}/members"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/draft"): Perm.CHAT_HANDLE,  # reads the conversation's transcript
    ("POST", "/api/tickets/check"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/{ticket_id}"): Perm.TICKET_VIEW,
    ("POST", "/api/tickets/{ticket_id}/comments"): Perm.TICKET_VIEW,
    ("POST", "/api/tickets/{ticket_id}/attachments"): Perm.TICKET_VIEW,
    ("GET", "/api/tickets/{ticket_id}/attachments/{attachment_id}"): Perm.TICKET_VIEW,
    ("POST", "/api/tickets/{ticket_id}/assign"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/claim"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/start"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/request-info"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/resume"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/resolve"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/close"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/reopen"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/cancel"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/transfer"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/priority"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/subtasks"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/{ticket_id}/merge"): Perm.TICKET_HANDLE,
    ("POST", "/api/tickets/bulk"): Perm.TICKET_HANDLE,
    ("GET", "/api/tickets/hot-issues"): Perm.TICKET_SUPERVISE,
    ("POST", "/api/tickets/hot-issues/{issue_id}/acknowledge"): Perm.TICKET_SUPERVISE,
    ("POST", "/api/tickets/sla/sweep"): Perm.TICKET_SUPERVISE,
    # work orders: the customer's self-service (chat session of an identified customer)
    ("GET", "/api/my/tickets"): CHAT,
    ("POST", "/api/my/tickets"): CHAT,
    ("GET", "/api/my/tickets/options"): CHAT,
    ("POST", "/api/my/tickets/check"): CHAT,
    ("GET", "/api/my/tickets/{ticket_no}"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/info"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/attachments"): CHAT,
    ("GET", "/api/my/tickets/{ticket_no}/attachments/{attachment_id}"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/urge"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/cancel"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/confirm"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/reopen"): CHAT,
    ("POST", "/api/my/tickets/{ticket_no}/rating"): CHAT,
    # staff notifications (escalations, urges, assignments, hot issues)
    ("GET", "/api/notifications"): ANY_STAFF,
    ("POST", "/api/notifications/{notification_id}/read"): ANY_STAFF,
}

# WebSocket routes: the token travels as ?token=…; without one the server sends an error frame and closes.
WS_EXPECTED: dict[str, Access] = {
    "/api/chat/ws": CHAT,
    "/api/agent/ws": any_of(Perm.CHAT_HANDLE, Perm.CHAT_MONITOR),  # agents and supervisors
    "/api/supervisor/ws": Perm.CHAT_MONITOR,  # the live wallboard
}

# --- the routes of the real application -----------------------------------------------------------------

DUMMY_INT = 999_999
DUMMY_STR = "00000000-0000-4000-8000-00000000dead"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    route: APIRoute

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    def url(self) -> str:
        """The path with every parameter filled with an id that exists nowhere."""
        values: dict[str, Any] = {}
        for param in self.route.dependant.path_params:
            annotation = param.field_info.annotation
            values[param.name] = DUMMY_INT if annotation is int else DUMMY_STR
        return self.path.format(**values)


def _contexts(app: FastAPI) -> Iterator[tuple[Any, Any]]:
    """(effective route, original route) for every route, through included routers (FastAPI ≥ 0.13x
    keeps included routers as nodes; older versions flatten them into app.routes)."""
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            yield route, route
        return
    for context in iterate(app.routes):
        yield context, context.original_route


def api_routes(app: FastAPI) -> list[Route]:
    routes = []
    for context, original in _contexts(app):
        if isinstance(original, APIRoute) and context.path.startswith("/api"):
            for method in sorted(context.methods or ()):
                if method != "HEAD":
                    routes.append(Route(method, context.path, context))
    return sorted(routes, key=lambda r: (r.path, r.method))


def ws_routes(app: FastAPI) -> list[str]:
    return sorted(
        context.path
        for context, original in _contexts(app)
        if isinstance(original, APIWebSocketRoute) and context.path.startswith("/api")
    )


def _build_app() -> FastAPI:
    from lingxi.app import create_app

    return create_app()


APP = _build_app()
ROUTES = api_routes(APP)
WS_ROUTES = ws_routes(APP)


def test_every_route_is_classified():
    present = {r.key for r in ROUTES}
    missing = sorted(present - set(EXPECTED))
    stale = sorted(set(EXPECTED) - present)
    assert not missing, (
        "Routes without an entry in EXPECTED (tests/security/test_role_matrix.py); classify each one:\n"
        + "\n".join(f"    ({m!r}, {p!r}): Perm.… | ANY_STAFF | CHAT | SIGNED | PUBLIC," for m, p in missing)
    )
    assert not stale, f"EXPECTED names routes that no longer exist: {stale}"
    ws_missing = sorted(set(WS_ROUTES) - set(WS_EXPECTED))
    ws_stale = sorted(set(WS_EXPECTED) - set(WS_ROUTES))
    assert not ws_missing, f"WebSocket routes without an entry in WS_EXPECTED: {ws_missing}"
    assert not ws_stale, f"WS_EXPECTED names WebSocket routes that no longer exist: {ws_stale}"


def test_every_permission_is_granted_to_some_role():
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert set(Perm) == granted, f"never granted: {set(Perm) - granted}"
    assert set(ROLES) == set(ROLE_PERMISSIONS)


# --- static check: the permission the code declares is the one in the table ----------------------------

_REQUIRE_NAMES = {f"require_{perm.name.lower()}": perm for perm in Perm}


def _declared(dependant: Any) -> tuple[set[Perm], bool]:
    """Permissions required via lingxi.auth.service.require() and whether current_staff is used."""
    perms: set[Perm] = set()
    staff = False
    for sub in dependant.dependencies:
        name = getattr(sub.call, "__name__", "")
        if name in _REQUIRE_NAMES:
            perms.add(_REQUIRE_NAMES[name])
        if name == "current_staff":
            staff = True
        sub_perms, sub_staff = _declared(sub)
        perms |= sub_perms
        staff = staff or sub_staff
    return perms, staff


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_declared_dependencies_match_the_table(route: Route):
    expected = EXPECTED.get(route.key)
    if expected is None:
        pytest.fail(f"{route.method} {route.path} is not classified in EXPECTED")
    perms, staff = _declared(route.route.dependant)
    if isinstance(expected, Perm) and perms:
        assert perms == {expected}, f"code requires {perms}, table says {expected}"
    if isinstance(expected, AnyOf) and perms:
        assert perms <= expected.perms
    if expected in (PUBLIC, CHAT, SIGNED):
        assert not perms and not staff, (
            f"{expected} route depends on a staff login: {perms or 'current_staff'}"
        )


# --- dynamic check: call every route as every kind of caller ------------------------------------------


@dataclass
class Callers:
    staff: dict[str, dict[str, str]]  # role -> headers
    chat: dict[str, str]  # a real chat session of an identified (app-logged-in) customer


_PASSWORD_HASH: str | None = None


@pytest.fixture
async def callers(db, api, make_customer) -> Callers:
    """One staff user per role (inserted directly: hashing six passwords per test would be slow), and
    a customer chatting from the bank app."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password("Passw0rd!")
    staff: dict[str, dict[str, str]] = {}
    async with db.sessionmaker() as s:
        users = [
            StaffUser(
                username=f"matrix_{role}", display_name=f"矩阵{role}", password_hash=_PASSWORD_HASH, role=role
            )
            for role in ROLES
        ]
        s.add_all(users)
        await s.commit()
    for user in users:
        staff[user.role] = {"Authorization": f"Bearer {issue_staff_token(user)}"}
    chat = {"Authorization": f"Bearer {await _chat_token(api, make_customer)}"}
    return Callers(staff=staff, chat=chat)


async def _chat_token(api: httpx.AsyncClient, make_customer: Any) -> str:
    from lingxi.identity.app_tokens import issue_demo_app_token

    customer = await make_customer()
    r = await api.post("/api/chat/sessions", json={"app_token": issue_demo_app_token(customer.customer_no)})
    assert r.status_code == 200, r.text
    return str(r.json()["session_token"])


async def _call(api: httpx.AsyncClient, route: Route, headers: dict[str, str]) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers}
    if route.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return await api.request(route.method, route.url(), **kwargs)


def _allowed(access: Access, role: str) -> bool:
    granted = ROLE_PERMISSIONS[role]
    if access is ANY_STAFF:
        return True
    if isinstance(access, AnyOf):
        return bool(access.perms & granted)
    if isinstance(access, Perm):
        return access in granted
    return False


SIGNED_REFUSALS = {400, 401, 403}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_route_access(api, callers: Callers, route: Route):
    access = EXPECTED.get(route.key)
    if access is None:
        pytest.fail(f"{route.method} {route.path} is not classified in EXPECTED")
    problems: list[str] = []

    def check(who: str, r: httpx.Response, ok: bool, expectation: str) -> None:
        if r.status_code >= 500:
            problems.append(f"{who}: {r.status_code} (server error) {r.text[:200]}")
        elif not ok:
            problems.append(f"{who}: got {r.status_code}, expected {expectation}: {r.text[:200]}")

    anonymous = await _call(api, route, {})
    if access is PUBLIC:
        check("anonymous", anonymous, anonymous.status_code not in (401, 403), "not 401/403")
    elif access is SIGNED:
        check("anonymous", anonymous, anonymous.status_code in SIGNED_REFUSALS, "a refusal (no signature)")
        r = await _call(api, route, callers.staff["admin"])
        check("admin token, no signature", r, r.status_code in SIGNED_REFUSALS, "a refusal")
    elif access is CHAT:
        check("anonymous", anonymous, anonymous.status_code == 401, "401")
        for role, headers in callers.staff.items():
            r = await _call(api, route, headers)
            check(f"{role} (staff token)", r, r.status_code == 401, "401: a staff token is no chat session")
        r = await _call(api, route, callers.chat)
        check("chat token", r, r.status_code != 401, "not 401 (a valid chat session)")
    else:  # a staff route
        check("anonymous", anonymous, anonymous.status_code == 401, "401")
        r = await _call(api, route, callers.chat)
        check("customer chat token", r, r.status_code == 401, "401: a chat token is no staff login")
        for role, headers in callers.staff.items():
            r = await _call(api, route, headers)
            if _allowed(access, role):
                check(role, r, r.status_code not in (401, 403), f"allowed ({access})")
            else:
                check(role, r, r.status_code == 403, f"403 (lacks {access})")
    assert not problems, f"{route.method} {route.path} [{access}]:\n  " + "\n  ".join(problems)


# --- WebSockets: no token, a wrong kind of token -> error frame and close, nothing else -----------------


async def _ws_refused(api: httpx.AsyncClient, path: str, token: str | None) -> tuple[int | None, list[dict]]:
    import json

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    url = str(api.base_url).replace("http://", "ws://").rstrip("/") + path
    if token is not None:
        url += f"?token={token}"
    frames: list[dict] = []
    try:
        async with connect(url, open_timeout=5, close_timeout=2) as ws:
            try:
                while True:
                    frames.append(json.loads(await _recv(ws)))
            except ConnectionClosed as closed:
                return (closed.rcvd.code if closed.rcvd else None), frames
    except InvalidStatus as exc:  # refused at the handshake
        return exc.response.status_code, frames
    return None, frames


async def _recv(ws: Any) -> str:
    import asyncio

    return await asyncio.wait_for(ws.recv(), 5)


@pytest.mark.parametrize("path", WS_ROUTES)
async def test_websocket_needs_the_right_token(api, callers: Callers, path: str):
    access = WS_EXPECTED.get(path)
    if access is None:
        pytest.fail(f"WebSocket {path} is not classified in WS_EXPECTED")
    wrong_kind = (
        callers.staff["admin"]["Authorization"].split()[1]
        if access is CHAT
        else callers.chat["Authorization"].split()[1]
    )
    for token in (None, "not-a-token", wrong_kind):
        code, frames = await _ws_refused(api, path, token)
        assert code in (4401, 4403, 1008, 403), (path, token, code, frames)
        assert all(f.get("type") == "error" for f in frames), frames
    if isinstance(access, Perm | AnyOf):
        for role, headers in callers.staff.items():
            token = headers["Authorization"].split()[1]
            if _allowed(access, role):
                first = await _ws_first_frame_type(api, path, token)
                assert not first.startswith("error"), (path, role, first)
                continue
            code, frames = await _ws_refused(api, path, token)
            assert code in (4403, 1008, 403), (path, role, code, frames)
            assert all(f.get("type") == "error" for f in frames), frames
    else:
        token = callers.chat["Authorization"].split()[1]
        first = await _ws_first_frame_type(api, path, token)
        assert not first.startswith("error"), (path, first)


async def _ws_first_frame_type(api: httpx.AsyncClient, path: str, token: str) -> str:
    import json

    from websockets.asyncio.client import connect

    url = str(api.base_url).replace("http://", "ws://").rstrip("/") + f"{path}?token={token}"
    async with connect(url, open_timeout=5, close_timeout=2) as ws:
        frame = json.loads(await _recv(ws))
        return str(frame.get("type")) if frame.get("type") != "error" else f"error {frame}"
