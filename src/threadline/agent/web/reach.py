"""Which addresses ``web_fetch`` may reach, and the connection backend that enforces it.

By default only public (globally routable, unicast) addresses: loopback, private, link-local (the
cloud metadata address among them), multicast, unspecified, shared and reserved ranges are refused,
also when they hide inside an IPv6 address (IPv4-mapped, 6to4, NAT64). ``Reach.allow_private`` lifts
that for every host, ``Reach.private_hosts`` for the named ones (``host`` or ``host:port``).

``GuardedBackend`` is an httpcore network backend: each new connection (so each redirect hop to a new
origin) resolves its host once, checks *every* address the name resolves to, and connects to those
same addresses. There is no second lookup between the check and the connection, so a name that
answers a public address to the check and a private one afterwards (DNS rebinding) cannot slip
through. TLS still verifies the certificate against the host name (httpcore passes it as SNI).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpcore

if TYPE_CHECKING:
    import httpx
from threadline.agent.web.errors import Refused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]  # (host, port) -> addresses, as text

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_HINT = "allow it in Settings → Web tools (allow private addresses, or this host alone)"


@dataclass(frozen=True, slots=True)
class Reach:
    allow_private: bool = False
    private_hosts: frozenset[str] = frozenset()  # lower case, "host" or "host:port"

    def may_be_private(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]")
        return self.allow_private or host in self.private_hosts or f"{host}:{port}" in self.private_hosts \
            or f"[{host}]:{port}" in self.private_hosts


def not_public(address: IPAddress) -> str | None:
    """What kind of non-public address ``address`` is ("a loopback address"...), or None when public."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
        candidates += [a for a in embedded if a is not None]
    for candidate in candidates:
        for kind, hit in (("an unspecified", candidate.is_unspecified), ("a loopback", candidate.is_loopback),
                          ("a link-local", candidate.is_link_local), ("a multicast", candidate.is_multicast),
                          ("a private", candidate.is_private), ("a reserved", not candidate.is_global)):
            if hit:
                return f"{kind} address"
    return None


def check_addresses(host: str, port: int, addresses: Iterable[str], reach: Reach) -> list[str]:
    """``addresses`` (what ``host`` resolved to) when each may be reached, else ``Refused``."""
    found = list(addresses)
    if not found:
        raise Refused(f"{host} did not resolve to any address")
    if reach.may_be_private(host, port):
        return found
    for text in found:
        kind = not_public(ipaddress.ip_address(text.split("%", 1)[0]))
        if kind is not None:
            shown = host if host == text else f"{host} (which resolves to {text})"
            raise Refused(f"refused to connect to {shown}: it is {kind}, and web_fetch reaches public "
                          f"addresses only; {ALLOW_HINT}")
    return found


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` through the system's resolver (run in the loop's executor)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"{host} could not be resolved: {exc.strerror}") from None
    unique: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        unique[str(sockaddr[0])] = None
    return list(unique)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that ``reach`` allows, resolved once per connection (see above)."""

    def __init__(self, reach: Reach, resolver: Resolver | None = None) -> None:
        self.reach = reach
        self._resolve = resolver or system_resolver
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = check_addresses(host, port, await self._resolve(host, port), self.reach)
        failure: Exception | None = None
        for address in addresses:  # each one checked; the first that answers
            try:
                return await self._backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                       socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("web_fetch does not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    import httpx  # on first use: the server's start-up does not load it
    return httpx.create_ssl_context()


async def guarded_transport(reach: Reach, resolver: Resolver | None = None) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool on a ``GuardedBackend``; no proxies from the
    environment (a proxy would make the check meaningless)."""
    import httpx  # on first use: the server's start-up does not load it
    context = await asyncio.to_thread(_ssl_context)  # loading the CA bundle takes a while, once
    transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False, retries=0)
    # httpx takes no network backend, but its pool is httpcore's, which does: give it one.
    transport._pool = httpcore.AsyncConnectionPool(ssl_context=context, max_connections=4,
                                                   network_backend=GuardedBackend(reach, resolver))
    return transport
