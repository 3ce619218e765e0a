"""Login tokens issued by the bank's mobile app / online banking: a signed JWT naming the customer.

The bank's app signs `{"sub": <customer_no>, "iss": <issuer>, "exp": …}` with the configured key
(HS256 shared secret, or RS256/ES256 with a public key in LINGXI_APP_TOKEN_SECRET); a valid token
identifies the customer at L1 on the web/app chat channel.
"""

from __future__ import annotations

from datetime import timedelta

import jwt

from lingxi.core.errors import Unauthenticated
from lingxi.core.timeutil import utcnow
from lingxi.settings import get_settings


def verify_app_token(token: str) -> str:
    """Return the customer number the token names, or raise Unauthenticated with the reason."""
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.app_token_secret,
            algorithms=[settings.app_token_algorithm],
            issuer=settings.app_token_issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(
            "The app login has expired; log in to the app again.", code="app_token_expired"
        ) from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(
            f"The app login token is not valid ({exc}).", code="app_token_invalid"
        ) from None
    return str(claims["sub"])


def issue_demo_app_token(customer_no: str, *, minutes: int = 60) -> str:
    """What the demo bank's app would issue (used by the demo page, tests and `lingxi dev app-token`)."""
    settings = get_settings()
    now = utcnow()
    claims = {
        "sub": customer_no,
        "iss": settings.app_token_issuer,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, settings.app_token_secret, algorithm=settings.app_token_algorithm)
