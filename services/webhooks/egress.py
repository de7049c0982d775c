"""Where a webhook may be sent: public addresses only, checked when registered and when sent.

A webhook URL is chosen by a customer, and the platform POSTs to it from inside its own
network: a URL naming ``127.0.0.1:6379``, a cloud metadata address (169.254.169.254) or a
private service would let a customer reach what only the platform can (server-side request
forgery). So the host is resolved and every address it resolves to must be public: loopback,
link-local, private, multicast, unspecified and reserved addresses are refused, IPv4-mapped
IPv6 addresses judged as the IPv4 address they carry.

Checking at registration is not enough: a name can resolve to a public address then and to an
internal one at delivery (DNS rebinding). The delivery connection therefore resolves, checks
and connects to the checked address itself (``GuardedHTTPConnection``), so no second lookup
can slip in between; TLS still verifies the certificate against the host name.

``allow_private`` (setting ``SHAREFAB_WEBHOOK_ALLOW_PRIVATE``) lifts the check, for tests and
demos whose receiver listens on the same machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefusedError(ValueError):
    """The webhook target is not a public address (or does not resolve)."""


def why_refused(ip: IpAddress) -> str | None:
    """The kind of internal address ``ip`` is, or None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, hit in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                      ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                      ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if hit:
            return kind
    # Shared (carrier-grade NAT, 100.64.0.0/10) and other special ranges: not global either.
    return None if ip.is_global else "not globally routable"


def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` for a TCP connection; a name that does not resolve is refused."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefusedError(f"host {host!r} does not resolve ({exc})") from exc


def check_addresses(host: str, infos: list[tuple[Any, ...]]) -> None:
    """Refuse unless every address ``host`` resolved to is public."""
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # an IPv6 scope id is not part of it
        kind = why_refused(ipaddress.ip_address(address))
        if kind is not None:
            raise TargetRefusedError(f"host {host!r} resolves to {address}, a {kind} address; "
                                "webhooks go to public addresses only")


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a webhook URL whose host is, or resolves to, an internal address."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise TargetRefusedError("the URL names no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    check_addresses(host, resolve(host, port))


def guarded_connect(address: tuple[str, int], timeout: float | None = None,
                    source_address: tuple[str, int] | None = None) -> socket.socket:
    """``socket.create_connection`` that only connects to the public addresses it checked."""
    host, port = address
    infos = resolve(host, port)
    check_addresses(host, infos)
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address is not None:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error if error is not None else OSError(f"no address for {host!r}")


class GuardedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket goes only to a checked public address."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_connect


class GuardedHTTPSConnection(http.client.HTTPSConnection):
    """The HTTPS twin: the socket is checked, the certificate verified against the name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_connect


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(GuardedHTTPSConnection, req)


def opener(*, allow_private: bool) -> urllib.request.OpenerDirector:
    """The opener webhook deliveries use: no proxy from the environment, and (unless
    ``allow_private``) every connection, redirects included, to public addresses only."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if not allow_private:
        handlers += [_GuardedHTTPHandler(), _GuardedHTTPSHandler()]
    return urllib.request.build_opener(*handlers)
