"""``/docs``: Swagger UI for ``/openapi.json``. Swagger UI is not vendored (it is large), so this one
page loads it from cdn.jsdelivr.net (an exact version) under its own CSP: the CDN's script and
stylesheet, and FastAPI's inline bootstrap script by its hash, never ``'unsafe-inline'`` for scripts.
Like every page it requires the login when a password is set."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_VERSION = "5.35.0"
CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def docs_csp(html: str) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {CDN} {hashes}; style-src 'self' {CDN} 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{CDN}/npm/swagger-ui-dist@{SWAGGER_VERSION}/swagger-ui-bundle.js",
        swagger_css_url=f"{CDN}/npm/swagger-ui-dist@{SWAGGER_VERSION}/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
    )
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html), "Cache-Control": "no-store"})
