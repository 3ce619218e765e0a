"""The attachment storage port and its default adapter (local disk under var/).

A bank plugs an object store or its document system in with `set_attachment_store`. The file type is
decided from the bytes, not from the name or the declared type: only what is on the allow-list
(JPEG, PNG, PDF) is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Protocol

from lingxi.core.errors import NotFound, TooLarge, ValidationFailed
from lingxi.settings import get_settings

# Magic numbers of the accepted types.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


class AttachmentStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


class LocalDiskStore:
    """Files under `root`, one per key; keys are made by Lingxi (never from user input)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"attachment key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("The attachment's file is missing.", code="attachment_missing") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


_override: AttachmentStore | None = None


def set_attachment_store(store: AttachmentStore | None) -> None:
    global _override
    _override = store


def get_attachment_store() -> AttachmentStore:
    return _override or LocalDiskStore(get_settings().ticket_attachment_dir)


def sniff_type(data: bytes) -> str | None:
    for content_type, magics in SIGNATURES.items():
        if any(data.startswith(m) for m in magics):
            return content_type
    return None


def check_upload(data: bytes) -> tuple[str, str]:
    """(content type, sha256) of an acceptable file; 413 when too big, 422 for a type not allowed."""
    limit = get_settings().ticket_attachment_max_bytes
    if len(data) > limit:
        raise TooLarge(
            f"Attachments may be at most {limit // (1024 * 1024)} MB.",
            code="attachment_too_large",
            details={"max_bytes": limit, "message_zh": f"附件不能超过 {limit // (1024 * 1024)} MB。"},
        )
    if not data:
        raise ValidationFailed("The file is empty.", code="attachment_empty")
    content_type = sniff_type(data)
    if content_type is None:
        raise ValidationFailed(
            "Only JPEG or PNG pictures and PDF documents can be attached.",
            code="attachment_type_not_allowed",
            details={"allowed": sorted(SIGNATURES), "message_zh": "仅支持 JPG/PNG 图片和 PDF 文件。"},
        )
    return content_type, hashlib.sha256(data).hexdigest()
