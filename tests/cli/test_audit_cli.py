"""`agentos audit search|export|verify [FILE]`, locally and against a live server; FILE is
checked offline, without the database or a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentos.cli.main import app
from agentos.services.runtime import Runtime
from agentos.settings import AUDIT_KEY_FILE_NAME, Settings, reset_settings_cache
from tests.cli.conftest import Remote

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> Any:
    code, out, err = _run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def exported(cli_runtime: Runtime) -> dict[str, Any]:
    """A few audited actions, then an export of them all."""
    for name in ("system.info", "queue.pause", "queue.resume"):
        _json("action", name)
    return dict(_json("audit", "export"))


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def _edit_one_byte(path: Path, seq: int, find: bytes, new: int) -> None:
    """Change one byte of the record `seq`: the first byte after `find` in its line."""
    data = bytearray(path.read_bytes())
    start = 0
    for line in _lines(path):
        if f'"seq": {seq},'.encode() in line:
            offset = start + line.index(find) + len(find)
            assert data[offset] != new
            data[offset] = new
            path.write_bytes(bytes(data))
            return
        start += len(line) + 1
    raise AssertionError(f"no record {seq} in {path}")


def test_export_then_verify_the_file(exported: dict[str, Any]) -> None:
    path = Path(exported["path"])
    assert path.is_file()
    assert exported["count"] == len(_lines(path)) - 2  # a header, and a final newline
    assert exported["count"] >= 3
    code, out, err = _run("audit", "verify", str(path))
    assert code == 0, err
    assert out.startswith(f"ok: {exported['count']} records, chain head seq {exported['to_seq']}")

    code, out, _ = _run("audit", "export")
    assert code == 0
    assert "audit record(s)" in out
    assert "chain head: seq" in out


@pytest.mark.parametrize(
    ("find", "new", "problem"),
    [
        (b'"action": "', ord("X"), "does not match its hash"),  # a letter of the action
        (b'"action"', ord(";"), "unreadable record"),  # the JSON itself
        (b'"action": "', 0xFF, "not UTF-8"),  # not text any more
        (b'"hash": "', ord("g"), "does not match its hash"),  # the stored hash
    ],
)
def test_one_edited_byte_fails_verify_naming_the_record(
    exported: dict[str, Any], find: bytes, new: int, problem: str
) -> None:
    path = Path(exported["path"])
    seq = exported["from_seq"] + 1
    _edit_one_byte(path, seq, find, new)
    code, out, err = _run("audit", "verify", str(path))
    assert code != 0
    assert f"record seq {seq} does not verify" in err
    assert problem in err
    assert err.strip().count("\n") == 0
    assert "Traceback" not in out + err

    result = json.loads(_run("audit", "verify", str(path), "--json")[1])
    assert result["ok"] is False
    assert result["first_broken_seq"] == seq


def test_an_edited_header_fails_verify(exported: dict[str, Any]) -> None:
    path = Path(exported["path"])
    header = _lines(path)[0]
    offset = header.index(b'"hash": "') + len(b'"hash": "')
    data = bytearray(path.read_bytes())
    data[offset] = ord("0") if data[offset] != ord("0") else ord("1")
    path.write_bytes(bytes(data))
    code, out, err = _run("audit", "verify", str(path))
    assert code != 0
    assert "does not verify" in err
    assert err.strip().count("\n") == 0
    assert "Traceback" not in out + err


def test_a_removed_record_fails_verify(exported: dict[str, Any]) -> None:
    path = Path(exported["path"])
    lines = _lines(path)
    path.write_bytes(b"\n".join(lines[:2] + lines[3:]))
    code, _, err = _run("audit", "verify", str(path))
    assert code != 0
    assert "missing" in err


def test_verify_file_needs_neither_database_nor_home(
    exported: dict[str, Any],
    cli_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = tmp_path / "auditor" / "key"
    key_file.parent.mkdir()
    key_file.write_bytes((cli_settings.home_dir / AUDIT_KEY_FILE_NAME).read_bytes())
    # Nothing of the deployment is reachable from here: no home, no database.
    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("AGENTOS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    reset_settings_cache()
    path = exported["path"]
    code, out, err = _run("audit", "verify", path, "--key-file", str(key_file))
    assert code == 0, err
    assert out.startswith("ok: ")
    key = key_file.read_text().strip()
    assert _run("audit", "verify", path, "--key", key)[0] == 0
    monkeypatch.setenv("AGENTOS_AUDIT_KEY", key)
    reset_settings_cache()
    assert _run("audit", "verify", path)[0] == 0
    assert not (tmp_path / "elsewhere").exists()  # and it created nothing


def test_verify_file_key_problems(
    exported: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = exported["path"]
    code, _, err = _run("audit", "verify", path, "--key", "not-the-key")
    assert code != 0
    assert "the audit key is not this deployment's" in err

    monkeypatch.setenv("AGENTOS_HOME", str(tmp_path / "no-home"))
    reset_settings_cache()
    code, _, err = _run("audit", "verify", path)
    assert code == 2
    assert "AUDIT_KEY_MISSING" in err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "no-home").exists()  # no key is made up on the spot

    code, _, err = _run("audit", "verify", str(tmp_path / "missing.jsonl"), "--key", "k")
    assert code == 3
    assert "FILE_NOT_FOUND" in err
    code, _, err = _run("audit", "verify", str(tmp_path), "--key", "k")  # a directory
    assert code == 2


def test_verify_without_file_checks_the_database_chain(exported: dict[str, Any]) -> None:
    code, out, err = _run("audit", "verify")
    assert code == 0, err
    assert out.startswith("ok: ")
    assert _json("audit", "verify")["ok"] is True
    code, _, err = _run("audit", "verify", "--key", "k")
    assert code == 2
    assert "FILE" in err


def test_search_filters(cli_runtime: Runtime) -> None:
    info = _json("action", "system.info")
    _json("action", "queue.pause")
    trace = info["trace_id"]
    found = _json("audit", "search", "--trace-id", trace)["records"]
    assert [(record["action"], record["trace_id"]) for record in found] == [("system.info", trace)]
    code, out, _ = _run("audit", "search", "--trace-id", trace)
    assert code == 0
    assert "system.info" in out

    paused = _json("audit", "search", "--action", "queue.pause", "--outcome", "SUCCESS")
    assert [record["action"] for record in paused["records"]] == ["queue.pause"]
    assert _json("audit", "search", "--outcome", "denied")["records"] == []
    mine = _json("audit", "search", "--actor", cli_runtime.settings.local_operator)["records"]
    assert {"system.info", "queue.pause"} <= {record["action"] for record in mine}
    assert _json("audit", "search", "--since", "1h", "--action", "system.info")["records"]
    assert _json("audit", "search", "--until", "1h", "--action", "system.info")["records"] == []


def test_search_pages(cli_runtime: Runtime) -> None:
    for _ in range(3):
        _json("action", "system.info")
    first = _json("audit", "search", "--action", "system.info", "--limit", "2")
    assert len(first["records"]) == 2
    rest = _json(
        "audit", "search", "--action", "system.info", "--limit", "2",
        "--cursor", str(first["next_cursor"]),
    )  # fmt: skip
    assert len(rest["records"]) == 1
    assert rest["next_cursor"] is None
    code, out, _ = _run(
        "audit", "search", "--action", "system.info", "--limit", "1", "--all", "--jsonl"
    )
    assert code == 0
    seqs = [json.loads(line)["seq"] for line in out.splitlines()]
    assert len(seqs) == 3
    assert seqs == sorted(seqs, reverse=True)


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "search", "--since", "last tuesday"],
        ["audit", "search", "--until", "12/31/2024"],
        ["audit", "export", "--since", "soon"],
    ],
)
def test_bad_time_is_one_line(cli_runtime: Runtime, args: list[str]) -> None:
    code, out, err = _run(*args)
    assert code == 2
    assert "INVALID_TIME" in err
    assert err.strip().count("\n") == 0
    assert "Traceback" not in out + err


def test_remote_search_export_and_verify(live_server: Remote) -> None:
    remote = live_server.admin_options()
    info = _json("action", "system.info", *remote)
    found = _json("audit", "search", "--trace-id", info["trace_id"], *remote)["records"]
    assert [record["actor_name"] for record in found] == [live_server.admin]

    code, out, err = _run("audit", "export", *remote)
    assert code == 0, err
    assert "on the server's host" in out
    done = _json("audit", "export", *remote)
    # The CLI runs on the server's host here: the file and the home's key are both at hand.
    code, out, err = _run("audit", "verify", done["path"])
    assert code == 0, err
    assert f"ok: {done['count']} records" in out
    assert _json("audit", "verify", *remote)["ok"] is True

    code, _, err = _run("audit", "search", "--server", live_server.url, "--token", "bad")
    assert code == 5
    assert err.strip().count("\n") == 0


def test_a_dry_run_reads_as_one_in_the_audit_search(cli_runtime: Runtime) -> None:
    assert _run("action", "queue.clear", "dry_run=true")[0] == 0
    code, out, _ = _run("audit", "search", "--action", "queue.clear")
    assert code == 0
    assert "success (dry run)" in out
