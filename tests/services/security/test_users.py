from __future__ import annotations

import uuid

import pytest

from agentos.errors import ConflictError, InvalidError, NotFoundError, UnauthenticatedError
from agentos.schemas.common import PageParams
from agentos.services.runtime import Runtime
from agentos.services.security import authn, users
from agentos.services.security.passwords import verify_password
from agentos.settings import Settings
from tests.support.auth import create_user_and_token


def test_create_with_generated_password(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        user, one_time = users.create(session, username="Alice", role="operator")
    assert one_time is not None
    assert len(one_time) >= 20
    assert user.username == "alice"
    assert user.must_change_password
    with runtime.session() as session:
        row = users.row(session, user.id)
        assert row.password_hash is not None
        assert verify_password(row.password_hash, one_time)
        assert users.get_by_username(session, "ALICE") == users.require(session, user.id)


def test_create_with_password_and_email(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        user, one_time = users.create(
            session, username="bob", role="user", password="long enough", email="b@example.com"
        )
    assert one_time is None
    assert not user.must_change_password
    assert user.email == "b@example.com"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"username": "x", "role": "root"}, "INVALID_ROLE"),
        ({"username": "../etc", "role": "user"}, "INVALID_USERNAME"),
        ({"username": "carol", "role": "user", "password": "short"}, "WEAK_PASSWORD"),
    ],
)
def test_create_refuses_bad_input(
    settings: Settings, runtime: Runtime, kwargs: dict[str, str], code: str
) -> None:
    with runtime.session() as session, pytest.raises(InvalidError) as caught:
        users.create(session, **kwargs)
    assert caught.value.code == code


def test_duplicate_username_conflicts(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        users.create(session, username="dave", role="user")
    with runtime.session() as session, pytest.raises(ConflictError):
        users.create(session, username="DAVE", role="admin")


def test_require_unknown_is_not_found(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session, pytest.raises(NotFoundError):
        users.require(session, uuid.uuid4())


def test_find_pages_and_filters(settings: Settings, runtime: Runtime) -> None:
    with runtime.session() as session:
        for index in range(5):
            users.create(session, username=f"u{index}", role="user" if index % 2 else "readonly")
    with runtime.session() as session:
        first = users.find(session, page=PageParams(page=1, per_page=2))
        readonly = users.find(session, page=PageParams(), role="readonly")
    assert [user.username for user in first.data] == ["u0", "u1"]
    assert first.pagination.total == 5
    assert first.pagination.has_next
    assert {user.username for user in readonly.data} == {"u0", "u2", "u4"}


def test_disable_and_role_change_revoke_access_tokens(settings: Settings, runtime: Runtime) -> None:
    user_id, token = create_user_and_token(runtime, role="operator")
    with runtime.session() as session:
        assert authn.authenticate(session, token).role == "operator"
        users.set_role(session, user_id=user_id, role="user")
    with runtime.session() as session, pytest.raises(UnauthenticatedError) as caught:
        authn.authenticate(session, token)
    assert caught.value.code == "TOKEN_REVOKED"

    with runtime.session() as session:
        pair = authn.login(
            session,
            username=users.require(session, user_id).username,
            password="correct horse battery",
        )
    with runtime.session() as session:
        assert authn.authenticate(session, pair.access_token).role == "user"
        disabled = users.disable(session, user_id=user_id)
    assert not disabled.is_active
    with runtime.session() as session, pytest.raises(UnauthenticatedError):
        authn.authenticate(session, pair.access_token)
    with runtime.session() as session, pytest.raises(UnauthenticatedError) as caught:
        authn.refresh(session, refresh_token=pair.refresh_token)
    assert caught.value.code == "TOKEN_REVOKED"
    with runtime.session() as session:
        assert users.enable(session, user_id=user_id).is_active
