"""Prometheus metrics of one process, in the text exposition format (``GET /metrics``).

Hand-rolled (counters, histograms, gauges read at scrape time) to stay free of global registries:
every app owns its ``Metrics``. Each instance of a cluster is scraped on its own.

    threadline_http_requests_total{method,route,status}      route is the template: /api/session
    threadline_http_request_duration_seconds{method,route}   histogram; a stream counts until it ends
    threadline_runs_started_total{kind}
    threadline_runs_finished_total{kind,status}              succeeded, failed, cancelled, interrupted
    threadline_run_duration_seconds{kind,status}             histogram
    threadline_tokens_total{direction}                       in / out, from finished runs
    threadline_active_runs                                   runs live in this process
    threadline_open_streams                                  SSE responses being sent
"""

from __future__ import annotations

import bisect
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from threadline.runs.live import LiveRun
    from threadline.runs.manager import RunManager
    from threadline.runs.relay import EndedRun

Labels = tuple[tuple[str, str], ...]

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RUN_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    items = labels + ((extra,) if extra else ())
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}"


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_: str) -> None:
        self.name, self.help = name, help_
        self.values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_labels(k)} {_number(v)}" for k, v in sorted(self.values.items())]
        return lines


class Histogram:
    def __init__(self, name: str, help_: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_, buckets
        self.series: dict[Labels, tuple[list[int], list[float]]] = {}  # counts per bucket, [sum]

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        counts, total = self.series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
        counts[bisect.bisect_left(self.buckets, value)] += 1
        total[0] += value

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                running += count
                lines.append(f"{self.name}_bucket{_labels(key, ('le', _number(bound)))} {running}")
            lines.append(f"{self.name}_sum{_labels(key)} {_number(total[0])}")
            lines.append(f"{self.name}_count{_labels(key)} {running}")
        return lines


class Gauge:
    def __init__(self, name: str, help_: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_, read

    def render(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge", f"{self.name} {_number(self.read())}"]


class Metrics:
    def __init__(self) -> None:
        self.requests = Counter("threadline_http_requests_total", "HTTP requests by method, route template, status.")
        self.request_seconds = Histogram("threadline_http_request_duration_seconds",
                                         "Time to answer an HTTP request (a stream: until it ends).", HTTP_BUCKETS)
        self.runs_started = Counter("threadline_runs_started_total", "Runs started in this process, by kind.")
        self.runs_finished = Counter("threadline_runs_finished_total", "Runs ended in this process, by status.")
        self.run_seconds = Histogram("threadline_run_duration_seconds", "Duration of runs, by kind and status.",
                                     RUN_BUCKETS)
        self.tokens = Counter("threadline_tokens_total", "Model tokens of finished runs (direction in or out).")
        self.open_streams = 0
        self._runs: RunManager | None = None
        self._started: dict[str, float] = {}

    def watch_runs(self, runs: RunManager) -> None:
        """Read the live-run gauge from ``runs``; run counts come as a ``RunListener``."""
        self._runs = runs

    def run_started(self, live: LiveRun) -> None:
        self._started[live.id] = time.monotonic()
        self.runs_started.inc(kind=live.kind)

    async def run_ended(self, ended: EndedRun) -> None:
        started = self._started.pop(ended.run_id, None)
        if started is None:
            return  # not started here: a sweep of another instance's run
        self.runs_finished.inc(kind=ended.kind, status=ended.status)
        self.run_seconds.observe(time.monotonic() - started, kind=ended.kind, status=ended.status)
        self.tokens.inc(float(ended.input_tokens), direction="in")
        self.tokens.inc(float(ended.output_tokens), direction="out")

    def render(self) -> str:
        active = Gauge("threadline_active_runs", "Runs live in this process.",
                       lambda: self._runs.active_count() if self._runs else 0)
        streams = Gauge("threadline_open_streams", "SSE responses being sent by this process.",
                        lambda: self.open_streams)
        lines: list[str] = []
        for metric in (self.requests, self.request_seconds, self.runs_started, self.runs_finished, self.run_seconds,
                       self.tokens, active, streams):
            lines += metric.render()
        return "\n".join(lines) + "\n"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "/static" if scope.get("path", "").startswith("/static/") else "<unmatched>"


class MetricsMiddleware:
    """Counts and times every HTTP request; pure ASGI, so streams pass through unbuffered. The
    outermost layer: it also answers a scraper's ``GET /metrics`` that carries the metrics token, so
    Prometheus needs no login cookie."""

    def __init__(self, app: ASGIApp, metrics: Metrics, token: str | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.expected = f"Bearer {token}".encode() if token else None

    def _scraper(self, scope: Scope) -> bool:
        if self.expected is None or scope["path"] != "/metrics" or scope["method"] not in ("GET", "HEAD"):
            return False
        sent = dict(scope.get("headers") or []).get(b"authorization", b"")
        return hmac.compare_digest(sent, self.expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._scraper(scope):
            response = PlainTextResponse(self.metrics.render(), media_type=CONTENT_TYPE,
                                         headers={"Cache-Control": "no-store"})
            await response(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        streaming = False

        async def counting_send(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                if content_type.startswith(b"text/event-stream"):
                    streaming = True
                    self.metrics.open_streams += 1
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if streaming:
                self.metrics.open_streams -= 1
            route = route_template(scope)
            method = scope["method"]
            self.metrics.requests.inc(method=method, route=route, status=str(status))
            self.metrics.request_seconds.observe(time.perf_counter() - started, method=method, route=route)
