"""Prometheus metrics of one process (``GET /metrics``), with ``prometheus_client`` and a registry per
app (no global registry): each instance of a cluster is scraped on its own.

    threadline_http_requests_total{method,route,status}      route is the template: /api/session
    threadline_http_request_duration_seconds{method,route}   histogram; a stream counts until it ends
    threadline_open_streams                                  SSE responses being sent
    threadline_active_runs                                   runs live in this process
    threadline_runs_started_total{kind}
    threadline_runs_finished_total{kind,status}              succeeded, failed, cancelled, interrupted
    threadline_run_duration_seconds{kind,status}             histogram
    threadline_tokens_total{direction}                       in / out, of the runs that ended here
    threadline_checkpoint_batches_total                      checkpoint transactions (all live runs in one)
    threadline_checkpointed_runs_total                       run checkpoints written by those batches
    threadline_checkpoint_seconds_total                      time those batches took, from the tick to the commit
    threadline_checkpoint_oldest_seconds                     age of the oldest unsaved progress of a live run
    threadline_lease_renewals_total                          statements that renewed this instance's leases

The run series come from the runs layer's public API: ``Metrics`` is a ``RunListener`` (told of every
run's start and ending, with its status and usage) and reads ``RunManager.active_count()``, the
checkpointer's and the lease keeper's counters at scrape time; nothing is inferred from event names.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from threadline.runs.live import LiveRun
    from threadline.runs.manager import RunManager
    from threadline.runs.relay import EndedRun

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RUN_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter("threadline_http_requests", "HTTP requests by method, route template, status.",
                                ["method", "route", "status"], registry=registry)
        self.request_seconds = Histogram("threadline_http_request_duration_seconds",
                                         "Time to answer an HTTP request (a stream: until it ends).",
                                         ["method", "route"], buckets=HTTP_BUCKETS, registry=registry)
        self.open_streams = Gauge("threadline_open_streams", "SSE responses being sent by this process.",
                                  registry=registry)
        self.active_runs = Gauge("threadline_active_runs", "Runs live in this process.", registry=registry)
        self.runs_started = Counter("threadline_runs_started", "Runs started in this process, by kind.", ["kind"],
                                    registry=registry)
        self.runs_finished = Counter("threadline_runs_finished", "Runs ended in this process, by kind and status.",
                                     ["kind", "status"], registry=registry)
        self.run_seconds = Histogram("threadline_run_duration_seconds", "Duration of runs, by kind and status.",
                                     ["kind", "status"], buckets=RUN_BUCKETS, registry=registry)
        self.tokens = Counter("threadline_tokens", "Model tokens of the runs ended here (direction in or out).",
                              ["direction"], registry=registry)
        self._started: dict[str, float] = {}
        self.active_runs.set_function(lambda: 0)

    def watch_runs(self, runs: RunManager) -> None:
        """Read the live-run gauge and the write path's counters from ``runs``; run counts come as a
        ``RunListener``."""
        self.active_runs.set_function(runs.active_count)
        self.registry.register(_WritePath(runs))

    # -- RunListener -----------------------------------------------------------------------------

    def run_started(self, live: LiveRun) -> None:
        self._started[live.id] = time.monotonic()
        self.runs_started.labels(kind=live.kind).inc()

    async def run_ended(self, ended: EndedRun) -> None:
        started = self._started.pop(ended.run_id, None)
        if started is None:
            return  # not started here: a sweep of another instance's run
        self.runs_finished.labels(kind=ended.kind, status=ended.status).inc()
        self.run_seconds.labels(kind=ended.kind, status=ended.status).observe(time.monotonic() - started)
        self.tokens.labels(direction="in").inc(ended.input_tokens)
        self.tokens.labels(direction="out").inc(ended.output_tokens)

    # -- exposition ------------------------------------------------------------------------------

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def response(self) -> Response:
        return Response(self.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


class _WritePath(Collector):
    """The checkpointer's and the lease keeper's own counters, read at scrape time."""

    def __init__(self, runs: RunManager) -> None:
        self.runs = runs

    def collect(self) -> Iterator[Metric]:
        checkpoints = self.runs.executor.checkpoints
        yield CounterMetricFamily("threadline_checkpoint_batches", "Checkpoint transactions written (one per "
                                  "tick for all live runs).", value=checkpoints.batches)
        yield CounterMetricFamily("threadline_checkpointed_runs", "Run checkpoints written by those "
                                  "transactions.", value=checkpoints.checkpointed)
        yield CounterMetricFamily("threadline_checkpoint_seconds", "Time the checkpoint batches took, from "
                                  "the tick to the commit.", value=checkpoints.seconds)
        yield GaugeMetricFamily("threadline_checkpoint_oldest_seconds", "Age of the oldest progress of a live "
                                "run not stored yet.", value=checkpoints.oldest_unsaved())
        yield CounterMetricFamily("threadline_lease_renewals", "Statements that renewed the leases of this "
                                  "instance's live runs.", value=self.runs.leases.renewals)


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
            await self.metrics.response()(scope, receive, send)
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
                    self.metrics.open_streams.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if streaming:
                self.metrics.open_streams.dec()
            route = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.request_seconds.labels(method=method, route=route).observe(time.perf_counter() - started)
