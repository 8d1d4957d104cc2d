"""Thin routes, one module per domain. Each translates HTTP to one service call."""
