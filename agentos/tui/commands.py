"""The command palette's providers and the `:` command line."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from agentos.errors import AgentOSError, InvalidError, RateLimitedError
from agentos.schemas.actions import ActionResponse
from agentos.tui.keymap import VIEWS
from agentos.tui.screens.modals import CommandLineScreen, Secret
from agentos.tui.widgets.form import fields_of, parse, parse_pairs

if TYPE_CHECKING:
    from agentos.tui.app import AgentOSApp

VIEW_ALIASES: dict[str, str] = {
    **{number: name for number, name, _ in VIEWS},
    **{name: name for _, name, _ in VIEWS},
    "dash": "dashboard",
    "queue": "jobs",
    "workers": "agents",
    "events": "logs",
    "audit": "logs",
    "settings": "config",
    "configuration": "config",
    "backups": "system",
    "breakers": "system",
    "maintenance": "system",
    "storage": "system",
    "users": "managers",
    "keys": "managers",
    "apikeys": "managers",
    "allowlist": "managers",
    "lockouts": "managers",
    "failures": "failures",
    "failed": "failures",
    "errors": "failures",
    "retries": "failures",
}
# Result fields holding a secret shown once: never in a notification, only in its dialog.
SECRET_FIELDS = ("one_time_password", "secret")


def describe_error(exc: AgentOSError) -> str:
    """One readable line for a refusal or failure (a 429 says when to try again)."""
    if isinstance(exc, RateLimitedError):
        wait = max(1.0, exc.retry_after_s)
        return f"rate limited: {exc.message} ({exc.code}); try again in {wait:.0f} s"
    if exc.kind == "forbidden":
        return f"not permitted: {exc.message} ({exc.code})"
    return f"{exc.message} ({exc.code})"


def secret_of(response: ActionResponse) -> Secret | None:
    """The one-time secret an answer carries (a new user's password, a new API key's)."""
    result = response.result
    password, key_secret = result.get("one_time_password"), result.get("secret")
    if isinstance(password, str) and password:
        user = result.get("user") or {}
        name = str(user.get("username", "the new user"))
        return Secret(
            title=f"One-time password for {name}",
            value=password,
            note=f"Shown once, here only. Give it to {name}: it must be changed at the first "
            "login.",
        )
    if isinstance(key_secret, str) and key_secret:
        key = result.get("key") or {}
        name = str(key.get("name", "the new key"))
        return Secret(
            title=f"API key {name!r}",
            value=key_secret,
            note="Shown once, here only: only its hash is kept. Store it now; a lost key is "
            "revoked and issued again.",
        )
    return None


def _tui(provider: Provider) -> AgentOSApp:
    return cast("AgentOSApp", provider.app)


class ViewCommands(Provider):
    async def discover(self) -> Hits:
        app = _tui(self)
        for number, name, title in VIEWS:
            yield DiscoveryHit(
                f"View: {title}", partial(app.action_view, name), help=f"key {number}"
            )

    async def search(self, query: str) -> Hits:
        app = _tui(self)
        matcher = self.matcher(query)
        for number, name, title in VIEWS:
            text = f"View: {title}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(app.action_view, name),
                    help=f"key {number}",
                )


class ActionCommands(Provider):
    """Every catalog action; choosing one opens its form (prefilled from the selection)."""

    def _entries(self) -> list[tuple[str, Any]]:
        app = _tui(self)
        if app.read_only:
            return []
        context = _selection(app)
        return [
            (
                f"Action: {info.name}",
                partial(app.open_action_form, info, context, chosen=frozenset(context)),
            )
            for info in app.catalog
        ]

    async def discover(self) -> Hits:
        app = _tui(self)
        summaries = {f"Action: {info.name}": info.summary for info in app.catalog}
        for text, command in self._entries():
            yield DiscoveryHit(text, command, help=summaries.get(text))

    async def search(self, query: str) -> Hits:
        app = _tui(self)
        summaries = {f"Action: {info.name}": info.summary for info in app.catalog}
        matcher = self.matcher(query)
        for text, command in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=summaries.get(text))


def _selection(app: AgentOSApp) -> dict[str, str]:
    from agentos.tui.screens.base import ViewScreen

    screen = app.screen
    return screen.selection_context() if isinstance(screen, ViewScreen) else {}


def open_command_line(app: AgentOSApp) -> None:
    app.push_screen(CommandLineScreen(id="command-line"), partial(_run_command, app))


def _run_command(app: AgentOSApp, text: str | None) -> None:
    if text:
        try:
            execute(app, text)
        except InvalidError as exc:
            app.notify(exc.message, title=":", severity="error")


def execute(app: AgentOSApp, text: str) -> None:
    """Run one command line: a view, a TUI command, or an admin action."""
    word, *rest = text.strip().lstrip(":").split()
    lowered = word.lower()
    if lowered in VIEW_ALIASES:
        app.action_view(VIEW_ALIASES[lowered])
    elif lowered in ("q", "quit", "exit"):
        app.exit()
    elif lowered in ("help", "?"):
        app.action_help()
    elif lowered in ("pause", "resume", "live"):
        if app.header.paused != (lowered == "pause"):
            app.action_toggle_pause()
    elif lowered in ("refresh", "interval"):
        if rest:
            app.set_refresh_interval(rest[0])
        else:
            app.request_refresh(force=True)
    else:
        _run_named_action(app, word, rest)


def _run_named_action(app: AgentOSApp, name: str, words: list[str]) -> None:
    """A complete command line runs at once (`job.cancel 2a9206f7`, through the same
    confirmation as a key); the form opens only for missing fields, and a field it takes
    from the selected row is labelled so."""
    info = next((item for item in app.catalog if item.name == name), None)
    if info is None:
        raise InvalidError(
            f"unknown command or action {name!r}; press ? for help, ctrl+p for the catalog",
            code="UNKNOWN_COMMAND",
        )
    if app.read_only:
        raise InvalidError("read-only mode: actions are disabled", code="READ_ONLY")
    fields = fields_of(info.payload_schema)
    names = {field.name for field in fields}
    pairs = parse_pairs(words, fields)
    unknown = set(pairs) - names
    if unknown:
        raise InvalidError(
            f"{name} has no field {', '.join(sorted(unknown))}", code="VALIDATION_ERROR"
        )
    missing = [field.name for field in fields if field.required and field.name not in pairs]
    if missing:
        context = {k: v for k, v in _selection(app).items() if k in names and k not in pairs}
        app.open_action_form(info, {**context, **pairs}, chosen=frozenset(context))
        return
    app.run_admin_action(name, parse(fields, pairs))
