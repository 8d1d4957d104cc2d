"""Short-lived JWT access tokens (PyJWT), verified with a pinned algorithm.

Only `settings.jwt_algorithm` is accepted on decode, so `alg: none` and algorithm
confusion are refused; `exp`, `nbf`, `iat`, `iss`, `aud`, `sub` and `typ` are required, and
`typ` must be "access", so no other kind of token passes as an access token.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import ValidationError

from agentos.errors import UnauthenticatedError
from agentos.schemas.auth import AccessClaims
from agentos.settings import Settings

ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "sub", "typ"]
# Tolerated clock difference between the minting and the verifying process (two servers
# of one deployment whose clocks drifted apart): bounded, and well under the access
# token's lifetime. It stretches `exp` by as much.
LEEWAY_S = 30


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    username: str,
    role: str,
    token_version: int,
    ttl_s: int | None = None,
    scopes: list[str] | None = None,
    family_id: uuid.UUID | None = None,
) -> str:
    """A signed access token; `family_id` ties it to the login (refresh-token family) it
    came from, so revoking that family refuses the token at once."""
    ttl = settings.access_token_ttl_s if ttl_s is None else ttl_s
    if ttl <= 0:
        raise ValueError("token ttl must be positive")
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "name": username,
        "role": role,
        "ver": token_version,
        "typ": ACCESS_TYPE,
        "scopes": list(scopes or []),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": secrets.token_hex(8),
    }
    if family_id is not None:
        claims["fam"] = str(family_id)
    return jwt.encode(claims, settings.signing_key(), algorithm=settings.jwt_algorithm)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verified claims, or UnauthenticatedError (TOKEN_EXPIRED, TOKEN_INVALID)."""
    try:
        raw = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_S,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthenticatedError("Access token expired", code="TOKEN_EXPIRED") from exc
    except jwt.InvalidTokenError as exc:
        raise UnauthenticatedError(
            f"Invalid access token: {_reason(exc)}", code="TOKEN_INVALID"
        ) from exc
    if raw.get("typ") != ACCESS_TYPE:
        raise UnauthenticatedError(
            "Invalid access token: not an access token", code="TOKEN_INVALID"
        )
    try:
        return AccessClaims.model_validate(raw)
    except ValidationError as exc:
        raise UnauthenticatedError(
            "Invalid access token: malformed claims", code="TOKEN_INVALID"
        ) from exc


def _reason(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong issuer"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "algorithm not allowed"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad signature"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "not yet valid"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing claim {exc.claim}"
    return "malformed token"
