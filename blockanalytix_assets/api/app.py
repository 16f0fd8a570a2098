"""The read-only analytics API (FastAPI): ranges, anomalies, transactions and addresses from Parquet."""

from __future__ import annotations

import logging
import pathlib
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from blockanalytix_assets import __version__
from blockanalytix_assets.api import models
from blockanalytix_assets.api.engine import DEFAULT_MEMORY_LIMIT
from blockanalytix_assets.api.metrics import install_metrics
from blockanalytix_assets.api.queries import Queries
from blockanalytix_assets.api.rows import CursorError
from blockanalytix_assets.ranges import PartitionKeyError, parse_key

log = logging.getLogger(__name__)
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
KEY_PATTERN = r"^[0-9]{9,}-[0-9]{9,}$"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.ErrorBody, "description": "Malformed key, hash, address or query parameter."},
    404: {"model": models.ErrorBody, "description": "Nothing stored under that key, hash or address."},
}
KeyParam = Annotated[str, Path(pattern=KEY_PATTERN, description="Partition key, e.g. 000018000-000018999.")]
HashParam = Annotated[str, Path(pattern=HASH_PATTERN, description="Transaction hash, 0x + 64 hex digits.")]
AddressParam = Annotated[str, Path(pattern=ADDRESS_PATTERN, description="Address, 0x + 40 hex digits.")]
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CursorParam = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="The next_cursor of the previous page (opaque).")
]


class ApiError(Exception):
    """An answer with a status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("path", "query", "body"))
        parts.append(f"invalid {where or 'request'}: {err.get('msg', 'bad value')}")
    return "; ".join(parts) or "invalid request"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(CursorError)
    async def bad_cursor(_: Request, exc: CursorError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s", type(exc).__name__)
        return _error(500, "internal error; see the server log")


def _precise_openapi(app: FastAPI) -> None:
    """Drop FastAPI's default 422 answers: this API turns validation errors into 400 with ErrorBody."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = build()
        for path in spec.get("paths", {}).values():
            for op in path.values():
                op.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            spec.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def create_app(
    storage_root: str,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    refresh_s: float | None = 15.0,
    cache_folder: str | pathlib.Path | None = None,
) -> FastAPI:
    """The API answering from the tables under storage_root (local path or s3://).

    The catalog (keys, range summaries, run-tree covers) is loaded here and refreshed every refresh_s seconds
    in a background thread (None: only on demand); memory_limit bounds DuckDB; cache_folder keeps the range
    summaries between starts (api/footer_cache.py).
    """
    q = Queries(storage_root, memory_limit=memory_limit, refresh_s=refresh_s, cache_folder=cache_folder)
    app = FastAPI(title="BlockAnalytix API", version=__version__, description="Read-only access to scored ranges.")
    app.state.queries = q
    _install_handlers(app)
    install_metrics(app)  # GET /metrics for Prometheus, outside the OpenAPI schema

    @app.get("/health", response_model=models.Health, tags=["meta"])
    def health() -> dict:
        """Liveness: the API is up; counts come from the in-memory catalog (storage is not touched)."""
        return q.health()

    @app.get(
        "/ready",
        response_model=models.Ready,
        responses={503: {"model": models.ErrorBody, "description": "Storage is unreachable."}},
        tags=["meta"],
    )
    def ready() -> dict:
        """Readiness: the storage root answers a listing."""
        try:
            q.ready()
        except Exception as exc:  # any storage failure means not ready; say which kind, never the secret
            raise ApiError(503, f"storage is unreachable ({type(exc).__name__})") from None
        return {"status": "ready"}

    @app.get("/ranges", response_model=models.RangeList, responses={400: ERRORS[400]}, tags=["ranges"])
    def ranges(
        limit: Annotated[int, Query(ge=1, le=10000, description="Ranges to return.")] = 1000,
        cursor: Annotated[
            str | None, Query(pattern=KEY_PATTERN, description="The next_cursor (a key) of the previous page.")
        ] = None,
    ) -> dict:
        """Block ranges with their ingest/scoring state and anomaly counts, in key order, paged."""
        return q.ranges(limit, cursor)

    @app.get("/ranges/{key}/anomalies", response_model=models.AnomalyList, responses=ERRORS, tags=["ranges"])
    def anomalies(
        key: KeyParam,
        limit: Annotated[int, Query(ge=1, le=1000, description="Rows to return.")] = 50,
        min_score: Annotated[float | None, Query(ge=0.0, le=1.0, description="Lowest anomaly_score.")] = None,
        cursor: CursorParam = None,
    ) -> dict:
        """The range's scored transactions, most anomalous first, paged."""
        try:
            parse_key(key)
        except PartitionKeyError as exc:
            raise ApiError(400, str(exc)) from None
        found = q.anomalies(key, limit, min_score, cursor)
        if found is None:
            state = "is not scored yet" if q.known_range(key) else "is unknown"
            raise ApiError(404, f"range {key} {state}; GET /ranges lists the stored ranges")
        return found

    @app.get("/transactions/{tx_hash}", response_model=models.Transaction, responses=ERRORS, tags=["lookup"])
    def transaction(tx_hash: HashParam) -> dict:
        """A transaction with its anomaly score."""
        found = q.transaction(tx_hash.lower())
        if found is None:
            raise ApiError(404, f"transaction {tx_hash.lower()} is not in any stored range")
        return found

    @app.get("/addresses/{address}", response_model=models.AddressDetail, responses=ERRORS, tags=["lookup"])
    def address(
        address: AddressParam,
        limit: Annotated[int, Query(ge=1, le=200, description="Transactions per page.")] = 20,
        cursor: CursorParam = None,
    ) -> dict:
        """An address's lifetime profile, risk score, labels, transactions (paged) and recent anomalies."""
        found = q.address(address.lower(), limit, cursor)
        if found is None:
            raise ApiError(404, f"address {address.lower()} has no score, label or scored transaction")
        return found

    _precise_openapi(app)
    return app
