"""Options every remote-capable command shares."""

from __future__ import annotations

from typing import Annotated

import typer

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="AGENTOS_SERVER",
        metavar="URL",
        help="Server URL; omit to work locally.",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="AGENTOS_TOKEN",
        metavar="TOKEN",
        help="Access token or API key for --server (default: the `agentos login` session).",
    ),
]
# Commands that work only locally take these hidden, so a --server given by habit is
# answered LOCAL_ONLY with a hint, while the help does not offer it (and AGENTOS_SERVER,
# set for remote work, does not send them away).
LocalServerOption = Annotated[str | None, typer.Option("--server", hidden=True)]
LocalTokenOption = Annotated[str | None, typer.Option("--token", hidden=True)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def examples(*lines: str) -> str:
    """A command's epilog: `Examples:` then one command line each (shown as typed)."""
    shown = "\n".join(f"  {line}".replace("[", "\\[") for line in lines)
    return f"Examples:\n{shown}"
