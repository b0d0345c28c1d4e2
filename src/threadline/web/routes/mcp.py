"""MCP servers and their tools (issue 14): configuration with secrets masked, status, per-tool
policies, and the OAuth callback of servers that ask for authorization (``agent/mcp``)."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Body as BodyParam
from fastapi.responses import HTMLResponse

from threadline.agent.mcp import McpPool
from threadline.errors import ThreadlineError
from threadline.web.deps import JSON, ServicesDep

router = APIRouter(prefix="/api/mcp", tags=["mcp"])

JsonBody = Annotated[dict[str, Any], BodyParam()]
OptionalParam = Annotated[str | None, Query(max_length=4000)]


async def _pool(services: ServicesDep) -> McpPool:
    return services.mcp


McpDep = Annotated[McpPool, Depends(_pool)]


@router.get("/servers")
async def list_servers(mcp: McpDep) -> JSON:
    """Every server with ``status`` (connected, connecting, broken, needs_auth, disabled), ``error``
    and ``tool_count``; ``env`` and ``headers`` values masked."""
    return {"servers": mcp.servers()}


@router.post("/servers")
async def save_server(body: JsonBody, mcp: McpDep) -> JSON:
    """Add or edit ``{name, command?, args?, env?, url?, headers?, enabled?}``: exactly one of
    ``command`` (stdio) and ``url`` (Streamable HTTP) for a new server; fields left out of an edit
    keep their values; a masked value sent back keeps the stored secret. Invalid input: 400 and
    nothing changes."""
    return {"ok": True, "server": await mcp.save(body), "servers": mcp.servers()}


@router.post("/servers/delete")
async def delete_server(body: JsonBody, mcp: McpDep) -> JSON:
    await mcp.delete(body.get("name"))
    return {"ok": True, "servers": mcp.servers()}


@router.post("/servers/restart")
async def restart_server(body: JsonBody, mcp: McpDep) -> JSON:
    """Stop the server's session and connect again now (also a broken one, without waiting)."""
    return {"ok": True, "server": await mcp.restart(body.get("name"))}


@router.post("/servers/authorize")
async def authorize_server(body: JsonBody, request: Request, mcp: McpDep) -> JSON:
    """Start the OAuth authorization of a Streamable HTTP server: ``auth_url`` is the page to open;
    the authorization server sends the browser back to ``/api/mcp/oauth/callback``."""
    origin = request.headers.get("origin") or str(request.base_url)
    return {"ok": True, "server": await mcp.authorize(body.get("name"), origin)}


@router.get("/oauth/callback", response_class=HTMLResponse)
async def oauth_callback(
    request: Request, mcp: McpDep, code: OptionalParam = None, state: OptionalParam = None,
    iss: OptionalParam = None, error: OptionalParam = None, error_description: OptionalParam = None,
) -> HTMLResponse:
    """Where the authorization server sends the browser back; answers a short page (a client that
    does not ask for HTML gets the usual JSON error when nothing waits for this ``state``)."""
    reason = f"{error}: {error_description}" if error and error_description else error
    try:
        server = await mcp.complete_authorization(state, code, iss, reason)
    except ThreadlineError as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        return _page("Authorization failed", exc.message, exc.status)
    if server.get("status") == "connected":
        return _page("Authorized", f"The MCP server {server['name']} is connected. You can close this tab.", 200)
    detail = server.get("error") or server.get("status") or "not connected yet"
    return _page("Authorized", f"The MCP server {server['name']} was authorized: {detail}", 200)


@router.get("/tools")
async def list_tools(mcp: McpDep) -> JSON:
    """The tools of every connected server: ``server``, ``tool`` (its MCP name), ``name`` (as the model
    sees it, ``<server>__<tool>``), ``description``, ``input_schema``, ``read_only`` and ``policy``."""
    return {"tools": await mcp.tools_view()}


@router.post("/tools/policy")
async def set_tool_policy(body: JsonBody, mcp: McpDep) -> JSON:
    """``{server, tool, policy}`` with policy ``ask``, ``allow`` or ``deny``."""
    return {"ok": True, **await mcp.set_policy(body.get("server"), body.get("tool"), body.get("policy"))}


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Threadline: "
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        "<p><a href=\"/\">Back to Threadline</a></p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
