"""One error shape for every failure: ``{"error": message, ...}`` with a 4xx (or, for a bug, 500)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY, RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from threadline.errors import InsufficientStorage, ThreadlineError
from threadline.web.middleware.headers import JSON_HEADERS, SECURITY_HEADERS
from threadline.web.responses import SafeJSONResponse
from threadline.web.schemas import UNSTORABLE

log = logging.getLogger("threadline.web")


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return SafeJSONResponse({"error": message, **extra}, status_code=status)


def _describe(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def _document_validation_as_400(app: FastAPI) -> None:
    """``/openapi.json`` says what the handler below answers: FastAPI documents a 422 on every route
    that validates its input; here it is a 400 with the one error shape."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", {
                        "description": "Bad input: a missing or mistyped field (named in error), malformed JSON",
                        "content": {"application/json": {"schema": {
                            "type": "object", "required": ["error"],
                            "properties": {"error": {"type": "string"}, "details": {"type": "array"}}}}},
                    })
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _document_validation_as_400(app)

    @app.exception_handler(ThreadlineError)
    async def _threadline_error(_request: Request, exc: ThreadlineError) -> JSONResponse:
        return error_response(exc.status, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors) or _unparsable(exc.body):
            return error_response(400, "request body is not valid JSON")
        if isinstance(exc.body, bytes | str):  # JSON, but sent with another content type
            return error_response(400, "send the request body as JSON (Content-Type: application/json)")
        unstorable = [e for e in errors if e.get("type") in (UNSTORABLE, "string_unicode")]
        if unstorable:  # a lone surrogate or a non-finite number: malformed, whatever the field
            return error_response(400, _describe(unstorable))
        # A missing or mistyped field: 400, Hermes WebUI's status for it, the field named in the message.
        return error_response(400, _describe(errors), details=_jsonable(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if isinstance(cause, ThreadlineError):  # raised while FastAPI read the body
            return error_response(cause.status, cause.message)
        if isinstance(cause, UnicodeDecodeError):  # a JSON body that is not UTF-8
            return error_response(400, "request body is not valid JSON")
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        if exc.status_code == 413 and MAX_BODY_SIZE_SCOPE_KEY in request.scope:  # RequestBodyLimitMiddleware
            message = body_too_large(request.scope[MAX_BODY_SIZE_SCOPE_KEY])
        return error_response(exc.status_code, message)

    async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
        """A database or file error: 507 when the storage is full, else what any other error gets."""
        full = InsufficientStorage.caused(exc)
        if full is None:
            raise exc
        log.error("%s %s: %s", request.method, request.url.path, full.message)
        return error_response(full.status, full.message)

    for kind in (DBAPIError, OSError):
        app.add_exception_handler(kind, _storage_error)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        """Starlette answers this one outside every middleware: it brings the default headers itself."""
        full = InsufficientStorage.caused(exc)  # a full disk wrapped in another error on its way here
        if full is not None:
            log.error("%s %s: %s", request.method, request.url.path, full.message)
            response = error_response(full.status, full.message)
        else:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = error_response(500, "internal server error")
        response.headers.update(SECURITY_HEADERS | JSON_HEADERS)
        return response


def _unparsable(body: Any) -> bool:
    """FastAPI hands over raw bytes when a client sent JSON without a JSON content type."""
    if not isinstance(body, bytes | str):
        return False
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


def _jsonable(errors: list[Any]) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": e.get("type")}
            for e in errors[:20]]


class BodyLimitMiddleware:
    """413 for a request body over ``limit`` bytes: a declared ``Content-Length`` is refused before the
    app runs; a streamed body is counted by Starlette's ``RequestBodyLimitMiddleware``, whose 413 the
    handlers above answer in the one JSON shape."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=limit)
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _declared_length(scope) > self.limit:
            await error_response(413, body_too_large(self.limit))(scope, receive, send)
            return
        await self.app(scope, receive, send)


def body_too_large(limit: int) -> str:
    return f"request body exceeds {limit} bytes"


def _declared_length(scope: Scope) -> int:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() else 0
