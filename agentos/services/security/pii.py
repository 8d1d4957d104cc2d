"""PII and secret scrubbing for anything that is stored for later reading (the audit log).

Keys: Sentry's default deny list (sentry_sdk.scrubber.DEFAULT_DENYLIST and
DEFAULT_PII_DENYLIST, which come from Relay) plus contact fields; a matching key has its
whole value replaced, however deeply nested. Values: e-mail addresses, card numbers (only
when the Luhn check passes, so order and invoice numbers survive) and phone numbers written
as phone numbers (a leading `+` or the (NNN) NNN-NNNN / NNN-NNN-NNNN forms; a bare digit
run is left alone for the same reason) are replaced inside any string.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGIT = re.compile(r"\d")

FILTERED = "[Filtered]"

# sentry_sdk.scrubber.DEFAULT_DENYLIST + DEFAULT_PII_DENYLIST, normalised to lower snake.
SENTRY_DENYLIST: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "auth",
        "credentials",
        "mysql_pwd",
        "privatekey",
        "private_key",
        "token",
        "session",
        "csrftoken",
        "sessionid",
        "x_csrftoken",
        "x_forwarded_for",
        "set_cookie",
        "cookie",
        "authorization",
        "x_api_key",
        "aiohttp_session",
        "connect.sid",
        "csrf_token",
        "csrf",
        "_csrf",
        "_csrf_token",
        "phpsessid",
        "_session",
        "symfony",
        "user_session",
        "_xsrf",
        "xsrf_token",
        "x_real_ip",
        "ip_address",
        "remote_addr",
    }
)
CONTACT_KEYS: frozenset[str] = frozenset(
    {"email", "e_mail", "phone", "phone_number", "mobile", "telephone", "tel", "fax"}
)
# Relay also matches these as substrings of a key ("db_password", "refresh_token", ...).
SENSITIVE_PARTS: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "privatekey",
    "credential",
    "cookie",
    "authorization",
    "session",
    "pwd",
)
_KEY_SUFFIX = re.compile(r"(?:^|_)(?:api|secret|private|access|signing|encryption|ssh)_?key$")

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
CARD_RE = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?(?:\(\d{1,4}\)[\s.\-]?)?\d{1,4}(?:[\s.\-]?\d{2,4}){1,4}"
    r"|\(\d{3}\)\s?\d{3}[\s.\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4})(?![\w-])"
)


def normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


@functools.lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    # Cached: the same few dozen field names come back in every record.
    name = normalise_key(key)
    if name in SENTRY_DENYLIST or name in CONTACT_KEYS:
        return True
    if any(part in name for part in SENSITIVE_PARTS):
        return True
    return bool(_KEY_SUFFIX.search(name)) or name.endswith(("_email", "_phone"))


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[Filtered card]"
    return match.group(0)


def storable(text: str) -> str:
    """Text every database can store: NUL and lone surrogates become U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if text.isascii():  # no surrogate can be in it
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def scrub_text(text: str) -> str:
    text = storable(text)
    if "@" in text:  # every e-mail address has one
        text = EMAIL_RE.sub("[Filtered email]", text)
    if _DIGIT.search(text) is None:  # nor can a card or phone number be there
        return text
    text = CARD_RE.sub(_card, text)
    return PHONE_RE.sub("[Filtered phone]", text)


def scrub(value: Any) -> Any:
    """A scrubbed copy of a JSON-like value (dicts, lists, strings, numbers)."""
    if isinstance(value, dict):
        return {
            key: FILTERED
            if isinstance(key, str) and is_sensitive_key(key) and item is not None
            else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and 10**14 <= value < 10**19:
        # A card number sent as a JSON number is still one (15-19 digits: not a timestamp).
        return "[Filtered card]" if luhn_valid(str(value)) else value
    return value
