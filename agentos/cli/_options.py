"""Options every remote-capable command shares."""

from __future__ import annotations

from typing import Annotated

import typer

ServerOption = Annotated[
    str | None,
    typer.Option("--server", envvar="AGENTOS_SERVER", help="Server URL; omit to work locally."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="AGENTOS_TOKEN", help="Access token or API key for --server."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
