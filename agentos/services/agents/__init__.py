"""Agents: the pipeline stages as rows the runner obeys, their switches, config and figures.

`enabled` is the switch: a stopped agent's queued steps stay queued and are not claimed
(`claimable_agents`); starting it wakes dispatch. Configuration is validated against the
agent's own model (unknown keys rejected) and every change leaves a history row.

`status` reads the rows, `switches` turns agents on and off and sizes them, `settings`
holds their configuration, `figures` reports what they did.
"""

from agentos.services.agents.figures import clear_queue, health, logs, performance, queue
from agentos.services.agents.settings import (
    get_config,
    reset_config,
    update_config,
    validate_config,
)
from agentos.services.agents.status import claimable_agents, list_status, require
from agentos.services.agents.switches import restart, restart_all, set_concurrency, start, stop

__all__ = [
    "claimable_agents",
    "clear_queue",
    "get_config",
    "health",
    "list_status",
    "logs",
    "performance",
    "queue",
    "require",
    "reset_config",
    "restart",
    "restart_all",
    "set_concurrency",
    "start",
    "stop",
    "update_config",
    "validate_config",
]
