from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from agentos.errors import UnauthenticatedError
from agentos.services.security.tokens import decode_access_token, issue_access_token
from agentos.settings import Settings

KEY = "k" * 64


@pytest.fixture
def cfg(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=tmp_path / "home", secret_key=KEY)


def _claims(cfg: Settings, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "name": "alice",
        "role": "user",
        "ver": 0,
        "typ": "access",
        "scopes": [],
        "iss": cfg.jwt_issuer,
        "aud": cfg.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": "abc",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _refused(cfg: Settings, token: str, code: str = "TOKEN_INVALID") -> str:
    with pytest.raises(UnauthenticatedError) as caught:
        decode_access_token(cfg, token)
    assert caught.value.code == code
    return caught.value.message


def test_round_trip(cfg: Settings) -> None:
    user_id = uuid.uuid4()
    token = issue_access_token(
        cfg, user_id=user_id, username="alice", role="operator", token_version=3, scopes=["agent"]
    )
    claims = decode_access_token(cfg, token)
    assert (claims.sub, claims.name, claims.role, claims.ver) == (user_id, "alice", "operator", 3)
    assert claims.typ == "access"
    assert claims.scopes == ["agent"]
    assert claims.iss == cfg.jwt_issuer
    assert claims.aud == cfg.jwt_audience
    assert timedelta(seconds=cfg.access_token_ttl_s - 5) < claims.exp - claims.iat


def test_expired(cfg: Settings) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(
        _claims(cfg, iat=past, nbf=past, exp=past + timedelta(minutes=1)), KEY, "HS256"
    )
    _refused(cfg, token, "TOKEN_EXPIRED")


def test_not_yet_valid(cfg: Settings) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    token = jwt.encode(_claims(cfg, nbf=future, exp=future + timedelta(hours=1)), KEY, "HS256")
    assert "not yet valid" in _refused(cfg, token)


def test_bad_signature(cfg: Settings) -> None:
    token = jwt.encode(_claims(cfg), "x" * 64, "HS256")
    assert "signature" in _refused(cfg, token)


def test_alg_none_refused(cfg: Settings) -> None:
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data, default=lambda value: int(value.timestamp())).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(_claims(cfg))}."
    _refused(cfg, token)


def test_other_hmac_algorithm_refused(cfg: Settings) -> None:
    token = jwt.encode(_claims(cfg), KEY, "HS512")
    assert "algorithm" in _refused(cfg, token)


def test_wrong_audience_and_issuer(cfg: Settings) -> None:
    assert "audience" in _refused(cfg, jwt.encode(_claims(cfg, aud="other"), KEY, "HS256"))
    assert "issuer" in _refused(cfg, jwt.encode(_claims(cfg, iss="evil"), KEY, "HS256"))


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat", "iss", "aud", "sub", "typ"])
def test_required_claims(cfg: Settings, claim: str) -> None:
    token = jwt.encode(_claims(cfg, **{claim: None}), KEY, "HS256")
    _refused(cfg, token)


def test_refresh_type_is_not_an_access_token(cfg: Settings) -> None:
    token = jwt.encode(_claims(cfg, typ="refresh"), KEY, "HS256")
    assert "not an access token" in _refused(cfg, token)


def test_opaque_refresh_token_is_not_an_access_token(cfg: Settings) -> None:
    _refused(cfg, "rt_" + "a" * 43)


def test_generated_key_is_stable_in_home(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = Settings(home=tmp_path / "h")
    token = issue_access_token(
        first, user_id=uuid.uuid4(), username="bob", role="user", token_version=0
    )
    assert decode_access_token(Settings(home=tmp_path / "h"), token).name == "bob"
    _refused(Settings(home=tmp_path / "other"), token)
