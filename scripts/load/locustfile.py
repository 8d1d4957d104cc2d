"""The mixed load profile of AgentOS, for headless Locust (driven by scripts/load/run_load.py).

Three kinds of people, each request spread over every server given (as a load balancer
would) and named by its type, so the run's figures come out per request type:

- Browser (users): the job history, today's jobs, recent clips, one clip, /health.
- Operator (admins): the SSOT document and dashboard, the action status page, and admin
  actions (`events.emit`: an effect one can count; `job.set_priority` on a job it saw;
  `system.cache.stats`), each with its own `X-Trace-Id` so its audit record can be found.
- Uploader (users): a real small video sent in chunks (init, chunks, status, finalize),
  which becomes a job the workers run through the whole pipeline.

Configuration comes from the JSON file named by AGENTOS_LOAD_CONFIG (written by
run_load.py): hosts, tokens per kind, video files, and the ledger path, where every
request is written as one JSON line (type, category, ms, status, trace id, job id).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import threading
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

CONFIG: dict[str, Any] = json.loads(Path(os.environ["AGENTOS_LOAD_CONFIG"]).read_text())
HOSTS: list[str] = CONFIG["hosts"]
# Open for the whole run (one line per request); closed when Locust exits.
_ledger = Path(CONFIG["ledger"]).open("a", buffering=1)  # noqa: SIM115
_ledger_lock = threading.Lock()
_next_host = itertools.count()
_counters: dict[str, itertools.count[int]] = {}


def _host() -> str:
    return HOSTS[next(_next_host) % len(HOSTS)]


def _credential(kind: str) -> str:
    tokens: list[str] = CONFIG["tokens"][kind]
    counter = _counters.setdefault(kind, itertools.count())
    return tokens[next(counter) % len(tokens)]


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response: Any,
    context: dict[str, Any],
    exception: Any,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    line = {
        "type": name,
        "category": context.get("category", "other"),
        "ms": round(response_time, 3),
        "status": status,
        "trace_id": context.get("trace_id"),
        "action": context.get("action"),
    }
    if context.get("category") == "ssot" and response is not None:
        line["cache"] = response.headers.get("X-Cache")  # HIT, MISS or DIRECT
    if name == "upload: finalize" and status == 200:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            line["job_id"] = response.json()["data"]["job_id"]
    with _ledger_lock:
        _ledger.write(json.dumps(line) + "\n")


class Person(HttpUser):
    abstract = True
    host = HOSTS[0]
    kind = ""

    def on_start(self) -> None:
        self.token = _credential(self.kind)

    def call(self, method: str, path: str, name: str, category: str, **kwargs: Any) -> Any:
        trace_id = uuid.uuid4().hex
        headers = {
            "Authorization": f"Bearer {self.token}",
            "X-Trace-Id": trace_id,
            **kwargs.pop("headers", {}),
        }
        context = {"category": category, "trace_id": trace_id, **kwargs.pop("context", {})}
        return self.client.request(
            method, f"{_host()}{path}", name=name, headers=headers, context=context, **kwargs
        )


class Browser(Person):
    kind = "user"
    fixed_count = CONFIG["counts"]["browser"]
    wait_time = between(0.5, 2.0)
    clips: list[str]

    def on_start(self) -> None:
        super().on_start()
        self.clips = []

    @task(4)
    def history(self) -> None:
        self.call("GET", "/api/jobs/history?per_page=20", "user: jobs history", "user")

    @task(2)
    def today(self) -> None:
        self.call("GET", "/api/jobs/today", "user: jobs today", "user")

    @task(3)
    def recent_clips(self) -> None:
        response = self.call("GET", "/api/clips/recent?limit=20", "user: clips recent", "user")
        if response.status_code == 200:
            self.clips = [clip["id"] for clip in response.json()["data"]][:20]

    @task(2)
    def one_clip(self) -> None:
        if self.clips:
            self.call("GET", f"/api/clips/{random.choice(self.clips)}", "user: clip", "user")

    @task(1)
    def health(self) -> None:
        self.call("GET", "/health", "health", "health")


class Operator(Person):
    kind = "operator"
    fixed_count = CONFIG["counts"]["operator"]
    wait_time = between(0.5, 1.5)

    @task(6)
    def ssot(self) -> None:
        self.call("GET", "/api/admin/ssot", "ssot: document", "ssot")

    @task(3)
    def dashboard(self) -> None:
        self.call("GET", "/api/admin/ssot/dashboard", "ssot: dashboard", "ssot")

    @task(1)
    def history(self) -> None:
        self.call("GET", "/api/jobs/history?per_page=20", "user: jobs history", "user")

    @task(1)
    def action_status(self) -> None:
        self.call("GET", "/api/admin/action/status?recent=10", "admin: action status", "user")

    def action(self, name: str, payload: dict[str, Any]) -> None:
        self.call(
            "POST",
            "/api/admin/action",
            f"action: {name}",
            "action",
            json={"action": name, "payload": payload},
            context={"action": name},
        )

    @task(2)
    def emit(self) -> None:
        self.action("events.emit", {"message": f"load note {uuid.uuid4().hex[:8]}"})

    @task(1)
    def set_priority(self) -> None:
        # Only a queued job can be reprioritised: pick one from the queue, if any waits.
        queued = self.call(
            "GET", "/api/jobs/status/queued?per_page=20", "user: jobs queued", "user"
        )
        waiting = [job["id"] for job in queued.json()["data"]] if queued.status_code == 200 else []
        if waiting:
            self.action(
                "job.set_priority",
                {"job_id": random.choice(waiting), "priority": random.randint(0, 5)},
            )

    @task(1)
    def cache_stats(self) -> None:
        self.action("system.cache.stats", {})


class Uploader(Person):
    kind = "user"
    fixed_count = CONFIG["counts"]["uploader"]
    wait_time = between(15.0, 25.0)
    chunk_size = 64 * 1024

    @task
    def upload(self) -> None:
        path = Path(random.choice(CONFIG["videos"]))
        data = path.read_bytes()
        init = self.call(
            "POST",
            "/api/upload/init",
            "upload: init",
            "user",
            json={
                "filename": path.name,
                "total_size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "chunk_size": self.chunk_size,
            },
        )
        if init.status_code != 201:
            return
        upload_id = init.json()["data"]["id"]
        for index in range(0, (len(data) + self.chunk_size - 1) // self.chunk_size):
            chunk = data[index * self.chunk_size : (index + 1) * self.chunk_size]
            self.call(
                "POST",
                f"/api/upload/chunk?upload_id={upload_id}&index={index}",
                "upload: chunk",
                "user",
                data=chunk,
                headers={"Content-Type": "application/octet-stream"},
            )
        self.call("GET", f"/api/upload/status/{upload_id}", "upload: status", "user")
        self.call(
            "POST",
            "/api/upload/finalize",
            "upload: finalize",
            "user",
            json={"upload_id": upload_id, "options": {"min_clip_s": 0.5, "max_clip_s": 30.0}},
        )
