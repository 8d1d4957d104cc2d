"""SystemControls: backups and restore, maintenance mode, drain, database upkeep, storage,
cache and system information (the `system.*` admin actions)."""
