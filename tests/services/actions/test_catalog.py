"""The registry holds the whole catalog of ACTIONS.md, each action in its view."""

from __future__ import annotations

from agentos.services.actions import registry

# ACTIONS.md, view by view (83 actions); job.set_status is ours (an operator forcing a
# job's status from the user API runs through the pipeline too).
CATALOG: dict[str, tuple[str, ...]] = {
    "Jobs & Queue": (
        "job.cancel",
        "job.retry",
        "job.delete",
        "job.set_priority",
        "queue.clear",
        "queue.retry_failed",
    ),
    "Dashboard": (
        "dashboard.refresh",
        "dashboard.alert.ack",
        "dashboard.alert.ack_all",
        "queue.pause",
        "queue.resume",
    ),
    "SystemControls": (
        "system.backup",
        "system.backup.list",
        "system.backup.verify",
        "system.backup.delete",
        "system.restore",
        "system.maintenance.enable",
        "system.maintenance.disable",
        "system.cache.clear",
        "system.cache.stats",
        "system.db.migrate",
        "system.db.check",
        "system.db.vacuum",
        "system.db.reset_and_seed",
        "system.health.check",
        "system.circuit.list",
        "system.circuit.reset",
        "system.circuit.trip",
        "system.ratelimit.reset",
        "system.idempotency.purge",
        "system.lockout.clear",
        "system.storage.usage",
        "system.storage.cleanup",
        "system.uploads.abort_stale",
        "system.drain",
        "system.info",
    ),
    "AgentsWorkers": (
        "agent.start",
        "agent.stop",
        "agent.restart",
        "agent.restart_all",
        "agent.clear_queue",
        "agent.set_concurrency",
        "agent.config.update",
        "agent.config.reset",
        "worker.ping",
        "worker.pool_grow",
        "worker.pool_shrink",
        "worker.autoscale",
        "worker.shutdown",
        "worker.stats",
        "worker.revoke_task",
    ),
    "Managers": (
        "user.create",
        "user.disable",
        "user.enable",
        "user.set_role",
        "user.unlock",
        "user.tokens.revoke",
        "apikey.create",
        "apikey.revoke",
        "ipallow.add",
        "ipallow.remove",
    ),
    "SystemLogs": (
        "logs.search",
        "logs.export",
        "logs.set_level",
        "logs.purge",
        "events.list",
        "events.purge",
        "events.emit",
        "audit.search",
        "audit.export",
        "audit.verify",
    ),
    "Configuration": (
        "config.get",
        "config.set",
        "config.reset",
        "config.export",
        "config.import",
        "config.validate",
        "config.history",
        "ratelimit.policy.set",
    ),
    "Analytics": (
        "analytics.recompute",
        "analytics.export",
        "analytics.snapshot",
        "analytics.endpoint_metrics.reset",
    ),
}
OURS = {"job.set_status": "Jobs & Queue"}


def test_every_catalogued_action_is_registered_in_its_view() -> None:
    registry.load()
    registered = {spec.name: spec.view for spec in registry.all_actions()}
    expected = {name: view for view, names in CATALOG.items() for name in names}
    assert sum(len(names) for names in CATALOG.values()) == 83
    assert registered == {**expected, **OURS}
