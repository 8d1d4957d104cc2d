"""PII scrubbing of nested payloads."""

from __future__ import annotations

from agentos.services.security.pii import FILTERED, luhn_valid, scrub


def test_secrets_and_contact_fields_are_filtered_at_any_depth() -> None:
    payload = {
        "user": {"password": "hunter2", "email": "ann@example.com", "name": "Ann"},
        "headers": {"Authorization": "Bearer abc", "Cookie": "s=1", "X-Api-Key": "k"},
        "items": [{"refresh_token": "t", "db_password": "p", "client_secret": "s"}],
        "config": {"key": "cache_ttl", "value": 5, "private_key": "-----BEGIN"},
    }
    out = scrub(payload)
    assert out["user"] == {"password": FILTERED, "email": FILTERED, "name": "Ann"}
    assert set(out["headers"].values()) == {FILTERED}
    assert set(out["items"][0].values()) == {FILTERED}
    assert out["config"] == {"key": "cache_ttl", "value": 5, "private_key": FILTERED}
    assert payload["user"]["password"] == "hunter2"  # the input is not modified


def test_values_inside_free_text() -> None:
    note = (
        "mail ann@example.com, card 4111 1111 1111 1111, order 1234567812345678, "
        "call +31 6 1234 5678 or (555) 123-4567, job 123e4567-e89b-12d3-a456-426614174000"
    )
    out = scrub({"deep": [{"note": note}]})["deep"][0]["note"]
    assert "ann@example.com" not in out
    assert "[Filtered email]" in out
    assert "4111 1111 1111 1111" not in out
    assert "[Filtered card]" in out
    assert "order 1234567812345678" in out  # not Luhn-valid: an order number survives
    assert "+31 6 1234 5678" not in out
    assert "(555) 123-4567" not in out
    assert "123e4567-e89b-12d3-a456-426614174000" in out


def test_card_numbers_sent_as_numbers_and_the_luhn_check() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    out = scrub({"card": 4111111111111111, "order": 4111111111111112, "ts": 1700000000000})
    assert out == {"card": "[Filtered card]", "order": 4111111111111112, "ts": 1700000000000}
