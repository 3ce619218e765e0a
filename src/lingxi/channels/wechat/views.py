"""`GET|POST /api/channels/wechat/callback`: the URL configured as the Official Account's server address.

Every request is checked before anything is stored: body size, the URL `signature`, in safe mode
the `msg_signature` and the app id inside the ciphertext, well-formed XML without DTD/entities, the
account it is addressed to, and the message fields. A rejection is a 4xx in the one JSON error
shape, logged with the openid masked; nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any, NoReturn

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from lingxi.channels.wechat import handlers as _handlers  # noqa: F401 - registers the reply delivery
from lingxi.channels.wechat import service
from lingxi.channels.wechat.adapters import mask_openid
from lingxi.channels.wechat.crypto import CryptoError, WeChatCrypto, check_signature, signature
from lingxi.channels.wechat.messages import (
    BadMessage,
    BadXml,
    Inbound,
    encrypted_envelope,
    parse_xml,
    to_inbound,
)
from lingxi.core.errors import DomainError, Forbidden, TooLarge
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.channels.wechat")

router = APIRouter(prefix="/api/channels/wechat", tags=["channels: WeChat Official Account"])

XML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`success`, the echoed `echostr`, or a passive reply (XML; encrypted in safe mode)",
        "content": {"text/plain": {}, "application/xml": {}},
    },
    400: {"description": "Malformed XML, a DTD/entity, or missing fields"},
    401: {"description": "Bad signature"},
    403: {"description": "Addressed to another account / app id"},
    413: {"description": "Body or message too large"},
}


class BadSignature(DomainError):
    """401 without a WWW-Authenticate challenge: the caller is a server proving itself by signature."""

    status_code = 401
    code = "wechat_bad_signature"


class BadRequest(DomainError):
    status_code = 400
    code = "wechat_bad_request"


class NotConfigured(DomainError):
    status_code = 503
    code = "wechat_not_configured"


def _reject(request: Request, error: DomainError, reason: str, openid: str | None = None) -> NoReturn:
    client = request.client.host if request.client else "-"
    log.warning(
        "WeChat callback rejected: %s %s (%s) from %s, openid %s",
        error.status_code,
        error.code,
        reason,
        client,
        mask_openid(openid),
    )
    raise error


def _param(request: Request, name: str, *, max_length: int = 128) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > max_length:
        _reject(
            request,
            BadRequest(f"Query parameter {name} is too long.", code="wechat_bad_request"),
            f"{name} too long",
        )
    return value


def _check_url_signature(request: Request) -> tuple[str, str]:
    settings = get_settings()
    sig = _param(request, "signature", max_length=64)
    timestamp = _param(request, "timestamp", max_length=16)
    nonce = _param(request, "nonce", max_length=64)
    if not sig or not timestamp or not nonce:
        _reject(
            request,
            BadSignature("signature, timestamp and nonce are required.", code="wechat_unsigned"),
            "unsigned request",
        )
    if not check_signature((settings.wechat_token, timestamp, nonce), sig):
        _reject(
            request,
            BadSignature("The signature does not match the configured WeChat token."),
            "signature mismatch",
        )
    return timestamp, nonce


def _crypto(request: Request) -> WeChatCrypto:
    settings = get_settings()
    try:
        return WeChatCrypto(settings.wechat_encoding_aes_key, settings.wechat_app_id)
    except CryptoError as exc:
        log.error("WeChat safe mode is misconfigured: %s", exc)
        _reject(
            request,
            NotConfigured("Safe mode is not configured on this server (EncodingAESKey)."),
            "bad EncodingAESKey",
        )


async def _read_body(request: Request) -> bytes:
    limit = get_settings().wechat_max_body_bytes
    too_large = TooLarge(f"The body is larger than {limit} bytes.", code="wechat_body_too_large")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        _reject(request, too_large, f"content-length {length}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            _reject(request, too_large, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(request: Request, body: bytes | str) -> dict[str, str]:
    try:
        return parse_xml(body)
    except BadXml as exc:
        _reject(request, BadRequest(str(exc), code="wechat_bad_xml"), exc.reason)


def _open(request: Request, body: bytes, timestamp: str, nonce: str) -> tuple[Inbound, bool]:
    """Authenticate, decrypt (safe mode) and parse the push; returns it and whether it was encrypted."""
    settings = get_settings()
    encrypt_type = (_param(request, "encrypt_type", max_length=16) or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        _reject(
            request,
            BadRequest(f"encrypt_type '{encrypt_type}' is not supported; use aes or none."),
            "bad encrypt_type",
        )
    if not body.strip():
        _reject(request, BadRequest("The body is empty.", code="wechat_bad_xml"), "empty body")
    fields = _parse(request, body)
    safe = encrypt_type == "aes"
    if safe:
        encrypted = fields.get("Encrypt")
        if not encrypted:
            _reject(
                request,
                BadRequest("Safe mode: the body has no Encrypt element.", code="wechat_bad_xml"),
                "no Encrypt",
            )
        msg_signature = _param(request, "msg_signature", max_length=64)
        if not check_signature((settings.wechat_token, timestamp, nonce, encrypted), msg_signature):
            _reject(
                request,
                BadSignature("msg_signature does not match the encrypted message."),
                "msg_signature mismatch",
                fields.get("ToUserName"),
            )
        try:
            inner = _crypto(request).decrypt(encrypted)
        except CryptoError as exc:
            if exc.reason == "wrong_app_id":
                _reject(
                    request,
                    Forbidden("The message was encrypted for another app id.", code="wechat_wrong_app_id"),
                    "app id mismatch",
                )
            _reject(request, BadRequest(f"Safe mode: {exc}", code="wechat_bad_encrypt"), exc.reason)
        outer_to = fields.get("ToUserName")
        fields = _parse(request, inner)
        if outer_to and fields.get("ToUserName") and outer_to != fields["ToUserName"]:
            _reject(
                request,
                BadRequest("ToUserName differs inside and outside the encryption."),
                "ToUserName mismatch",
            )
    try:
        inbound = to_inbound(fields)
    except BadMessage as exc:
        _reject(
            request, BadRequest(str(exc), code="wechat_bad_message"), exc.reason, fields.get("FromUserName")
        )
    openid_param = _param(request, "openid")
    if openid_param and openid_param != inbound.from_user:
        _reject(
            request,
            BadRequest("The openid in the URL differs from FromUserName."),
            "openid mismatch",
            inbound.from_user,
        )
    account = settings.wechat_account_id  # the account's original id (gh_…), if configured
    if account and inbound.to_user != account:
        _reject(
            request,
            Forbidden("The message is addressed to another Official Account.", code="wechat_unknown_account"),
            "ToUserName mismatch",
            inbound.from_user,
        )
    if inbound.msg_type == "text":
        text = inbound.content or ""
        if not text.strip():
            _reject(
                request,
                BadRequest("The text message is empty.", code="wechat_bad_message"),
                "empty text",
                inbound.from_user,
            )
        if len(text) > settings.max_message_chars:
            _reject(
                request,
                TooLarge(
                    f"The message has {len(text)} characters; at most "
                    f"{settings.max_message_chars} are accepted.",
                    code="message_too_long",
                ),
                "text too long",
                inbound.from_user,
            )
    return inbound, safe


@router.get("/callback", response_model=None, response_class=PlainTextResponse, responses=XML_RESPONSES)
async def verify_url(request: Request) -> PlainTextResponse:
    """Server URL verification (服务器配置): echo `echostr` when the signature matches the token."""
    _check_url_signature(request)
    echostr = _param(request, "echostr", max_length=256)
    if echostr is None:
        _reject(
            request,
            BadRequest("echostr is required for URL verification.", code="wechat_bad_request"),
            "no echostr",
        )
    return PlainTextResponse(echostr)


@router.post("/callback", response_model=None, response_class=Response, responses=XML_RESPONSES)
async def callback(request: Request) -> Response:
    """A push from WeChat; answers a passive reply, or `success` (the reply follows by CS message)."""
    settings = get_settings()
    deadline = asyncio.get_running_loop().time() + settings.wechat_passive_reply_seconds
    body = await _read_body(request)
    timestamp, nonce = _check_url_signature(request)
    inbound, safe = _open(request, body, timestamp, nonce)
    reply = await service.receive(inbound=inbound, deadline=deadline)
    if reply is None:
        return PlainTextResponse("success")
    if not safe:
        return Response(reply, media_type="application/xml")
    reply_timestamp, reply_nonce = str(int(time.time())), secrets.token_hex(8)
    encrypted = _crypto(request).encrypt(reply)
    envelope = encrypted_envelope(
        encrypt=encrypted,
        msg_signature=signature(settings.wechat_token, reply_timestamp, reply_nonce, encrypted),
        timestamp=reply_timestamp,
        nonce=reply_nonce,
    )
    return Response(envelope, media_type="application/xml")
