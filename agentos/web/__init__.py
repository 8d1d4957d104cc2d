"""The web front end's files: the admin console (`static/admin`) and the offline API
documentation pages (`static/docs`), served by `agentos.server.routes.console`.

No Python here imports anything of agentos; the package exists so its files ship with it.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
ADMIN_DIR = STATIC_DIR / "admin"
DOCS_DIR = STATIC_DIR / "docs"
