"""Checking an audit export file offline: no database and no server, only the file and the
deployment's audit key, which is all an external auditor has.

The chain itself is recomputed by the service layer's `audit_export.verify_file` (one
implementation of the hash rules, naming the first record that fails); this module finds
the key and turns what that reader cannot take (no file, bytes that are not UTF-8) into
the error family or a result naming the record.
"""

from __future__ import annotations

import json
from pathlib import Path

from agentos.errors import InvalidError, NotFoundError
from agentos.schemas.audit import AuditVerifyResult
from agentos.settings import AUDIT_KEY_FILE_NAME, Settings, get_settings

__all__ = ["audit_key", "verify_export"]


def audit_key(
    *, key: str | None = None, key_file: Path | None = None, settings: Settings | None = None
) -> bytes:
    """The audit HMAC key: given, read from `key_file`, or this machine's deployment's
    (AGENTOS_AUDIT_KEY, else the `audit_key` file in AGENTOS_HOME). Never generated: a new
    key would make every record look edited."""
    if key:
        return key.encode()
    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidError(
                f"cannot read the key file {key_file}: {exc}", code="AUDIT_KEY"
            ) from None
        if not text:
            raise InvalidError(f"the key file {key_file} is empty", code="AUDIT_KEY")
        return text.encode()
    chosen = settings or get_settings()
    if chosen.audit_key is not None:
        return chosen.audit_key.get_secret_value().encode()
    stored = chosen.home_dir / AUDIT_KEY_FILE_NAME
    if stored.is_file():
        return stored.read_text(encoding="utf-8").strip().encode()
    raise InvalidError(
        "no audit key: pass --key or --key-file (the deployment's AGENTOS_AUDIT_KEY or its "
        f"home's {AUDIT_KEY_FILE_NAME} file), or run where AGENTOS_HOME is the deployment's",
        code="AUDIT_KEY_MISSING",
    )


def verify_export(path: Path, *, key: bytes) -> AuditVerifyResult:
    """Every record's hash and link in the export at `path`, and its last record against
    the chain head in its header; a failure names the first record that does not verify."""
    if not path.is_file():
        raise NotFoundError(f"no audit export at {path}", code="FILE_NOT_FOUND")
    bad_line = _first_undecodable_line(path)
    if bad_line is not None:
        # verify_file reads text: a byte that is not UTF-8 would stop it, not be named.
        return AuditVerifyResult(
            ok=False,
            checked=0,
            first_broken_seq=_seq_at_line(path, bad_line),
            problem=f"line {bad_line}: not UTF-8 text (edited or corrupted)",
        )
    from agentos.services.security import audit_export

    try:
        result = audit_export.verify_file(path, key=key)
    except OSError as exc:
        raise InvalidError(
            f"cannot read {path}: {exc.strerror or exc}", code="FILE_UNREADABLE"
        ) from None
    return result


def _first_undecodable_line(path: Path) -> int | None:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _seq_at_line(path: Path, wanted: int) -> int | None:
    """The seq the record on line `wanted` holds, or (when that line no longer parses) the
    one its neighbours imply: records are consecutive, one per line after the header."""
    before: tuple[int, int] | None = None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            seq = _seq_of(raw) if number > 1 else None
            if number == wanted and seq is not None:
                return seq
            if seq is None:
                continue
            if number < wanted:
                before = (number, seq)
            elif before is None:
                return seq - (number - wanted)
            else:
                break
    return before[1] + (wanted - before[0]) if before else None


def _seq_of(raw: bytes) -> int | None:
    try:
        seq = json.loads(raw.decode("utf-8", errors="replace"))["seq"]
        return int(seq)
    except (ValueError, KeyError, TypeError):
        return None
