"""PostgreSQL's client programs (pg_dump, pg_restore, psql) for backups and restores.

A dump must be taken by a pg_dump of the server's major version (an older one refuses a
newer server; a newer one writes archives an older pg_restore cannot read), so the
program is looked for in `pg_bin_dir`, then Debian's /usr/lib/postgresql/<major>/bin,
then PATH, and refused with both versions named if none matches.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from agentos.errors import UnavailableError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
VERSION_TIMEOUT_S = 10


def server_version(engine: Engine) -> tuple[int, str]:
    """(major, full version string) of the server behind `engine`."""
    with engine.connect() as connection:
        number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
        full = str(connection.execute(text("SHOW server_version")).scalar_one())
    return number // 10000, full.split()[0]


@lru_cache(maxsize=32)
def _client_major(program: str) -> int | None:
    try:
        output = subprocess.run(
            [program, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
        ).stdout
    except OSError:
        return None
    found = _VERSION.search(output)
    return int(found.group(1)) if found else None


def _candidates(name: str, major: int, bin_dir: Path | None) -> list[str]:
    paths = []
    if bin_dir is not None:
        paths.append(str(bin_dir / name))
    paths.append(f"/usr/lib/postgresql/{major}/bin/{name}")
    on_path = shutil.which(name)
    if on_path:
        paths.append(on_path)
    return [path for path in dict.fromkeys(paths) if os.access(path, os.X_OK)]


def client(name: str, *, major: int, server: str, bin_dir: Path | None) -> str:
    """The path of `name` (pg_dump, pg_restore, psql) of the server's major version."""
    found: list[str] = []
    for path in _candidates(name, major, bin_dir):
        client_major = _client_major(path)
        if client_major == major:
            return path
        found.append(f"{path} ({client_major or 'unknown version'})")
    seen = "; found " + ", ".join(found) if found else f"; no {name} is installed"
    raise UnavailableError(
        f"the server is PostgreSQL {server} but no {name} {major} was found{seen}. Install "
        f"postgresql-client-{major} or set AGENTOS_PG_BIN_DIR",
        code="PG_CLIENT_MISMATCH",
        details={"server": server, "found": found},
    )


def environment(url: URL) -> dict[str, str]:
    """The libpq variables for `url` (the password never appears on a command line)."""
    env = dict(os.environ)
    sslmode = url.query.get("sslmode")
    values: dict[str, str | None] = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
        "PGSSLMODE": sslmode if isinstance(sslmode, str) else None,
    }
    env.update({key: value for key, value in values.items() if value})
    return env


def failure(program: str, stderr: bytes | str, returncode: int) -> UnavailableError:
    """A client program's failure as one readable error (its last lines of stderr)."""
    text_ = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text_.strip().splitlines() if line.strip()]
    detail = " | ".join(lines[-3:]) or f"exit status {returncode}"
    return UnavailableError(
        f"{Path(program).name} failed: {detail}"[:500],
        code="BACKUP_TOOL_FAILED",
        details={"program": Path(program).name, "returncode": returncode},
    )
