"""Checks ``sharefab serve`` makes before it starts anything.

A busy port used to surface only when uvicorn bound it, after the lifespan had already seeded
the demo park and started its gateways against the shared database; checking first keeps a
second ``make run`` from touching anything.
"""

from __future__ import annotations

import socket


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on right now, or None when it can.

    Binds the way uvicorn does (SO_REUSEADDR: a port in TIME_WAIT is fine, one in LISTEN is
    not) and lets go at once; a race with another process remains, and uvicorn reports it.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"unknown host {host!r} ({exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
