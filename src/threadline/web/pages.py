"""The HTML shell and static assets under a content-hashed prefix (``/static/<hash>/...``), cached
for a year: a new release changes the hash, so browsers never run stale code."""

from __future__ import annotations

import hashlib
import html
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from threadline import __version__
from threadline.errors import NotFound

STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


class StaticAssets:
    """Reads the static tree once; serves files by relative path, never outside the tree."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root.resolve()
        self.files: dict[str, bytes] = {}
        digest = hashlib.sha256()
        if self.root.is_dir():
            for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
                relative = path.relative_to(self.root).as_posix()
                data = path.read_bytes()
                self.files[relative] = data
                digest.update(relative.encode() + b"\0" + data)
        self.hash = digest.hexdigest()[:12]
        self.prefix = f"/static/{self.hash}"

    def page(self, name: str, *, csrf: str = "") -> str:
        template = self.files.get(name)
        if template is None:
            raise NotFound(f"page not found: {name}")
        text = template.decode()
        return (
            text.replace("{{static}}", self.prefix)
            .replace("{{csrf}}", html.escape(csrf, quote=True))
            .replace("{{version}}", html.escape(__version__))
        )


def _assets(request: Request) -> StaticAssets:
    assets: StaticAssets = request.app.state.assets
    return assets


def _page(request: Request, name: str) -> HTMLResponse:
    csrf = getattr(request.state, "csrf_token", "")
    body = _assets(request).page(name, csrf=csrf)
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/")
async def index(request: Request) -> HTMLResponse:
    return _page(request, "index.html")


@router.get("/login", response_model=None)
async def login_page(request: Request) -> HTMLResponse | RedirectResponse:
    """The sign-in form; straight to the app when there is no password or the cookie is valid."""
    auth = request.app.state.auth
    if not auth.enabled or getattr(request.state, "auth_token_id", None):
        return RedirectResponse("/", status_code=303)
    return _page(request, "login.html")


@router.get("/s/{session_id}")
async def session_page(request: Request, session_id: str) -> HTMLResponse:
    return _page(request, "index.html")


@router.get("/favicon.ico")
async def favicon(request: Request) -> Response:
    assets = _assets(request)
    if "img/favicon.svg" in assets.files:
        return RedirectResponse(f"{assets.prefix}/img/favicon.svg", status_code=308)
    return Response(status_code=204)


@router.get("/static/{digest}/{path:path}")
async def static_file(request: Request, digest: str, path: str) -> Response:
    assets = _assets(request)
    data = assets.files.get(path)
    if data is None:
        raise NotFound("not found")
    if digest != assets.hash:
        # An old page asking for an old asset: serve the current one, but do not cache it.
        cache = "no-cache"
    else:
        cache = IMMUTABLE
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if path.endswith(".js") or path.endswith(".mjs"):
        media = "text/javascript"
    return Response(data, media_type=media, headers={"Cache-Control": cache})
