"""Thin routes, one module per domain. Each translates HTTP to one service call."""

from agentos.server.routes._actions import ROUTE_ACTIONS

__all__ = ["ROUTE_ACTIONS"]
