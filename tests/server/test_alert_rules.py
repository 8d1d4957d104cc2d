"""docs/alerts.yml: every rule names only metrics GET /metrics really exports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from agentos.server.app import create_app
from agentos.services.runtime import Runtime

RULES = Path(__file__).resolve().parents[2] / "docs" / "alerts.yml"
METRIC = re.compile(r"\bagentos_[a-z_]+\b")


def test_every_alert_names_an_exported_metric(runtime: Runtime) -> None:
    with TestClient(create_app(runtime), client=("127.0.0.1", 50000)) as client:
        text = client.get("/metrics").text
    exported: set[str] = set()
    for family in text_string_to_metric_families(text):
        # A labelled series with no sample yet is still declared (HELP/TYPE lines).
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        exported |= {family.name, *(family.name + end for end in suffixes.get(family.type, ()))}
    rules = [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]
    assert len(rules) >= 6
    for rule in rules:
        names = set(METRIC.findall(rule["expr"]))
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)
