"""WeChat callback signatures and the safe-mode (安全模式) message encryption.

- `signature`: SHA-1 of the sorted, concatenated strings. The callback URL carries
  `signature = sha1(sort([token, timestamp, nonce]))` on every request; in safe mode the body's
  `Encrypt` is covered by `msg_signature = sha1(sort([token, timestamp, nonce, Encrypt]))`.
- Safe mode: AES-256-CBC, key = base64decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding
  to a 32-byte block. Plaintext = 16 random bytes + 4-byte big-endian length of the XML + XML + appid.

Everything here is pure (no I/O) so that tests can play WeChat's side with the same functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not the AES block size


class CryptoError(ValueError):
    """The encrypted payload cannot be opened (bad key, padding, length or app id)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def signature(*parts: str) -> str:
    """sha1 of the sorted parts joined without separator (both `signature` and `msg_signature`)."""
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def check_signature(expected_parts: tuple[str, ...], given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(signature(*expected_parts), given.strip().lower())


def decode_aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("EncodingAESKey must be 43 characters.", reason="bad_aes_key")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("EncodingAESKey is not valid base64.", reason="bad_aes_key") from None
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must decode to 32 bytes.", reason="bad_aes_key")
    return key


class WeChatCrypto:
    """Encrypt and decrypt safe-mode payloads of one Official Account (its AES key and app id)."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        self.key = decode_aes_key(encoding_aes_key)
        self.app_id = app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, xml: str, *, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        body = xml.encode()
        plain = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        """The XML inside `encrypted`; raises CryptoError when it cannot be opened or names another app."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("Encrypt is not valid base64.", reason="bad_base64") from None
        if not data or len(data) % 16:
            raise CryptoError("Encrypt has a length that AES-CBC cannot have.", reason="bad_length")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("Encrypt does not decrypt with this EncodingAESKey.", reason="bad_padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("Encrypt is too short.", reason="bad_length")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("Encrypt has an inconsistent length.", reason="bad_length")
        body, app_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(app_id, self.app_id.encode()):
            raise CryptoError("The message was encrypted for another app id.", reason="wrong_app_id")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise CryptoError("The decrypted message is not UTF-8.", reason="bad_encoding") from None
