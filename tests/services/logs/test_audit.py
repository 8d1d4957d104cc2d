"""audit.search (filters, keyset pages) and audit.export: a JSONL file with every record's
hash and the chain head that `audit_export.verify_file` checks without the database, and
that names the record when one byte of it is edited."""

from __future__ import annotations

import dataclasses
import itertools
import json
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentos.errors import ForbiddenError, InvalidError
from agentos.services.runtime import Runtime
from agentos.services.security import audit_export
from tests.services.actions.helpers import ADMIN, actor, audit_rows, run

OPERATOR = actor("operator", name="olga")
VIEWER = actor("readonly", name="rita")
AUDITOR = actor("admin", name="ada")


def _search(runtime: Runtime, **payload: Any) -> list[dict[str, Any]]:
    found = run(runtime, "audit.search", payload).result
    records: list[dict[str, Any]] = found["records"]
    return records


def _trail(runtime: Runtime) -> tuple[datetime, datetime]:
    """Some successes, a refusal and a denial by three people; returns two moments between."""
    run(runtime, "events.list", {}, who=dataclasses.replace(ADMIN, trace_id="trace-a"))
    run(
        runtime,
        "events.emit",
        {"message": "one"},
        who=dataclasses.replace(ADMIN, trace_id="trace-a"),
    )
    time.sleep(0.01)
    first = datetime.now(UTC)
    time.sleep(0.01)
    run(runtime, "events.list", {}, who=OPERATOR)
    with pytest.raises(InvalidError):
        run(runtime, "logs.purge", {"older_than_days": 1}, who=ADMIN)  # no confirm
    with pytest.raises(ForbiddenError):
        run(runtime, "events.emit", {"message": "no"}, who=VIEWER)
    time.sleep(0.01)
    second = datetime.now(UTC)
    time.sleep(0.01)
    run(runtime, "logs.search", {}, who=VIEWER)
    return first, second


def test_search_filters(runtime: Runtime) -> None:
    first, second = _trail(runtime)
    assert [r["action"] for r in _search(runtime, actor="rita")] == ["logs.search", "events.emit"]
    assert [r["actor_name"] for r in _search(runtime, action="events.emit")] == ["rita", "alice"]
    denied = _search(runtime, outcome="denied")
    assert [(r["actor_name"], r["action"]) for r in denied] == [("rita", "events.emit")]
    rejected = _search(runtime, outcome="rejected")
    assert [(r["action"], r["error_code"]) for r in rejected] == [
        ("logs.purge", rejected[0]["error_code"])
    ]
    assert rejected[0]["error_code"]
    traced = _search(runtime, trace_id="trace-a")
    assert [r["action"] for r in traced] == ["events.emit", "events.list"]
    window = _search(runtime, since=first.isoformat(), until=second.isoformat())
    assert [(r["actor_name"], r["action"]) for r in window] == [
        ("rita", "events.emit"),
        ("alice", "logs.purge"),
        ("olga", "events.list"),
    ]
    assert [r["action"] for r in _search(runtime, query="purge")] == ["logs.purge"]
    assert _search(runtime, actor="alice", action="events.emit", outcome="success")[0][
        "payload"
    ] == {"message": "one", "severity": "info", "job_id": None, "reason": None}
    # The searches are audited too (after they ran), so the trail keeps growing.
    assert len(_search(runtime, action="audit.search")) == 8
    with pytest.raises(ForbiddenError):  # the audit trail is not for every reader
        run(runtime, "audit.search", {}, who=VIEWER)


def test_search_pages_have_no_duplicates_and_no_gaps(runtime: Runtime) -> None:
    for n in range(23):
        run(runtime, "events.list", {"limit": n + 1}, who=OPERATOR)
    total = len(audit_rows(runtime))
    seen: list[int] = []
    cursor = None
    while True:
        payload = {"limit": 4, **({"before_seq": cursor} if cursor else {})}
        page = run(runtime, "audit.search", payload, who=AUDITOR).result
        seen.extend(record["seq"] for record in page["records"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Newest first, and what existed when paging started is all there exactly once (the
    # searches' own records come after the first page's newest and are not in it).
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen))
    assert set(range(1, total + 1)) <= set(seen)
    operator_pages: list[int] = []
    cursor = None
    while True:
        payload = {"actor": "olga", "limit": 5, **({"before_seq": cursor} if cursor else {})}
        page = run(runtime, "audit.search", payload).result
        operator_pages.extend(record["payload"]["limit"] for record in page["records"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert operator_pages == list(range(23, 0, -1))


def _export(runtime: Runtime, **payload: Any) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    result = run(runtime, "audit.export", payload).result
    path = Path(result["path"])
    assert path.parent == runtime.settings.home_dir / "exports"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    return result, json.loads(lines[0]), lines[1:]


def test_export_holds_every_record_with_its_hash_and_the_chain_head(runtime: Runtime) -> None:
    _trail(runtime)
    before = audit_rows(runtime)
    result, header, lines = _export(runtime)
    records = [json.loads(line) for line in lines]
    assert result["count"] == len(records) == len(before) == 6
    assert [r["seq"] for r in records] == [row.seq for row in before] == list(range(1, 7))
    assert [r["hash"] for r in records] == [row.hash for row in before]
    assert [r["id"] for r in records] == [str(row.id) for row in before]
    assert all(r["prev_hash"] == p["hash"] for p, r in itertools.pairwise(records))
    assert header["format"] == audit_export.EXPORT_FORMAT
    assert header["chain_head"] == {"seq": 6, "hash": before[-1].hash}
    assert (result["from_seq"], result["to_seq"]) == (1, 6)
    assert (result["head_seq"], result["head_hash"]) == (6, before[-1].hash)
    assert result["bytes"] == Path(result["path"]).stat().st_size
    checked = audit_export.verify_file(Path(result["path"]), key=runtime.settings.audit_mac_key())
    assert checked.ok, checked.problem
    assert (checked.checked, checked.head_seq, checked.head_hash) == (6, 6, before[-1].hash)
    # The export itself is audited, after the records it holds.
    (exported,) = audit_rows(runtime, "audit.export")
    assert exported.seq == 7
    assert run(runtime, "audit.verify").result["ok"] is True


def test_export_since_holds_the_later_records_and_verifies(runtime: Runtime) -> None:
    first, _ = _trail(runtime)
    result, header, lines = _export(runtime, since=first.isoformat())
    seqs = [json.loads(line)["seq"] for line in lines]
    assert seqs == [3, 4, 5, 6]
    assert header["after_seq"] == 2
    checked = audit_export.verify_file(Path(result["path"]), key=runtime.settings.audit_mac_key())
    assert checked.ok, checked.problem
    assert checked.checked == 4
    later, _, nothing = _export(runtime, since=datetime.now(UTC).isoformat())
    assert (later["count"], nothing) == (0, [])
    assert audit_export.verify_file(Path(later["path"]), key=runtime.settings.audit_mac_key()).ok


def _edited(path: Path, line_number: int, old: str, new: str) -> Path:
    """A copy of the export with one change on one line (1-based, header = 1)."""
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line_number - 1]
    lines[line_number - 1] = lines[line_number - 1].replace(old, new, 1)
    copy = path.with_name(f"edited-{line_number}-{path.name}")
    copy.write_text("".join(lines))
    return copy


def test_one_edited_byte_fails_verification_and_names_the_record(runtime: Runtime) -> None:
    _trail(runtime)
    result, _, lines = _export(runtime)
    path, key = Path(result["path"]), runtime.settings.audit_mac_key()
    records = [json.loads(line) for line in lines]
    third = records[2]  # on line 4
    assert third["actor_name"] == "olga"

    for old, new in (('"actor_name": "olga"', '"actor_name": "olgb"'),
                     ('"outcome": "success"', '"outcome": "succesS"'),
                     (f'"hash": "{third["hash"]}"', f'"hash": "{third["hash"][:-1]}x"')):  # fmt: skip
        checked = audit_export.verify_file(_edited(path, 4, old, new), key=key)
        assert not checked.ok
        assert checked.first_broken_seq == third["seq"] == 3
        assert str(checked.first_broken_id) == third["id"]
        assert checked.problem is not None
        assert checked.problem.startswith("line 4:")

    # A record removed: the missing one is named.
    dropped = path.with_name("dropped-" + path.name)
    all_lines = path.read_text().splitlines(keepends=True)
    dropped.write_text("".join(all_lines[:3] + all_lines[4:]))
    checked = audit_export.verify_file(dropped, key=key)
    assert not checked.ok
    assert checked.first_broken_seq == 3
    assert checked.problem == "line 4: record(s) missing before seq 4 (expected seq 3)"

    # The chain head in the header edited: the header is signed too.
    head = records[-1]["hash"]
    other = "1" if head.endswith("0") else "0"  # a real edit, whatever the last digit is
    checked = audit_export.verify_file(_edited(path, 1, head, head[:-1] + other), key=key)
    assert not checked.ok
    assert (checked.problem or "").startswith("line 1 (the header): ")

    # Without the deployment's key nobody can re-sign an edited record.
    assert not audit_export.verify_file(path, key=b"another key").ok
    assert audit_export.verify_file(path, key=key).ok


def _substitutes(byte: int) -> list[bytes]:
    """Other bytes to put in place of `byte`: a digit, a letter and (for a space) a tab."""
    found = [b"0" if byte != ord("0") else b"1", b"x" if byte != ord("x") else b"y"]
    if byte == ord(" "):
        found.append(b"\t")
    if byte == ord("\n"):
        found.append(b"\r")
    return found


def test_every_single_byte_edit_anywhere_in_the_file_fails(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Not only the hashed fields: the record ids, the key names of empty fields, the
    layout, the header (its chain head, its keyed_from_seq) and the line ends."""
    run(runtime, "events.list", {})
    with pytest.raises(InvalidError):
        run(runtime, "logs.purge", {"older_than_days": 1})
    run(runtime, "events.emit", {"message": "ünïcode note"})
    result, _, _ = _export(runtime)
    path, key = Path(result["path"]), runtime.settings.audit_mac_key()
    data = path.read_bytes()
    line_starts = [0, *(n + 1 for n, byte in enumerate(data) if byte == ord("\n"))]
    passed: list[str] = []
    unnamed: list[str] = []
    edited = tmp_path / "edited.jsonl"
    for position, byte in enumerate(data):
        for new in _substitutes(byte):
            edited.write_bytes(data[:position] + new + data[position + 1 :])
            try:
                checked = audit_export.verify_file(edited, key=key)
            except UnicodeDecodeError:
                continue  # a broken UTF-8 sequence: the CLI reports that line itself
            line = sum(1 for start in line_starts if start <= position)
            where = f"line {line} byte {position} {chr(byte)!r}->{new!r}: {data[position - 20 : position + 5]!r}"
            if checked.ok:
                passed.append(where)
            elif line > 1 and byte != ord("\n") and checked.first_broken_seq != line - 1:
                unnamed.append(f"{where} named {checked.first_broken_seq}: {checked.problem}")
    assert passed == []
    assert unnamed == []


def test_a_record_removed_from_the_end_fails(runtime: Runtime) -> None:
    _trail(runtime)
    result, _, _ = _export(runtime)
    path, key = Path(result["path"]), runtime.settings.audit_mac_key()
    lines = path.read_text().splitlines(keepends=True)
    for keep in (len(lines) - 1, 2, 1):  # the last record, all but the first, all of them
        cut = path.with_name(f"cut-{keep}-{path.name}")
        cut.write_text("".join(lines[:keep]))
        checked = audit_export.verify_file(cut, key=key)
        assert not checked.ok, keep
        assert "missing" in (checked.problem or "")
        assert checked.first_broken_seq == keep  # the first record that is not there
    first_gone = path.with_name("first-gone-" + path.name)
    first_gone.write_text("".join(lines[:1] + lines[2:]))
    checked = audit_export.verify_file(first_gone, key=key)
    assert not checked.ok
    assert checked.first_broken_seq == 1


def test_records_cannot_be_forged_without_the_key_by_editing_the_header(
    runtime: Runtime,
) -> None:
    """Raising keyed_from_seq in the header would let plain SHA-256 links through: an
    edited record re-hashed (and re-linked) by someone without the key must still fail."""
    import hashlib

    from agentos.services.security.audit import canonical_json

    _trail(runtime)
    result, header, lines = _export(runtime)
    records = [json.loads(line) for line in lines]
    records[1]["actor_name"] = "mallory"
    prev = records[0]["prev_hash"]
    for record in records:  # every link re-made as plain SHA-256
        record["prev_hash"] = prev
        fields = {name: record[name] for name in record if name not in ("id", "hash", "line_mac")}
        record["hash"] = hashlib.sha256(canonical_json(fields).encode()).hexdigest()
        prev = record["hash"]
    header["keyed_from_seq"] = 10_000
    header["chain_head"]["hash"] = prev
    forged = Path(result["path"]).with_name("forged.jsonl")
    forged.write_text(
        "".join(json.dumps(item, sort_keys=True) + "\n" for item in [header, *records])
    )
    assert not audit_export.verify_file(forged, key=runtime.settings.audit_mac_key()).ok
