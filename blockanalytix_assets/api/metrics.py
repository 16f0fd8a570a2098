"""Prometheus metrics of the API: requests and latency per route template, served at GET /metrics."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"  # every path no route knows shares one label value, so scanners cannot add series
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: the API's targets are < 50 ms for /health, < 100 ms for lookups and < 1 s for a first request.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The API's collectors in their own registry (one per app, so several apps in one process do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.requests = Counter(
            "blockanalytix_api_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "blockanalytix_api_request_duration_seconds",
            "Time from request to the end of the response body, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "blockanalytix_api_requests_in_progress",
            "Requests being answered now.",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (e.g. /addresses/{address}), never the raw path."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    app = scope.get("app")
    partial = None
    for candidate in getattr(getattr(app, "router", None), "routes", []):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return candidate.path
        if match == Match.PARTIAL and partial is None:
            partial = candidate.path  # the path matched, the method did not (405)
    return partial or UNMATCHED


class MetricsMiddleware:
    """ASGI middleware counting each HTTP request and timing it until its response is sent."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}  # an exception that escapes the app becomes a 500 further out

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_progress.dec()
            method = scope.get("method", "GET") if scope.get("method") in METHODS else "other"
            route = route_template(scope)
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Count and time every request of the app and serve the figures at GET /metrics (not in the OpenAPI)."""
    metrics = ApiMetrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.state.metrics = metrics

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Prometheus text exposition of the API's request, latency and process metrics."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return metrics
