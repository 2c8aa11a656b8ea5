"""The service's limits on connections, and the names it answers to: defaults and
checks, pure Python (no web framework), so `serve --help` needs none
(docs/serving.md §8).

Enforced by `asnet_keras.serving.connections` (headers, keep-alive, connections; the
HTTP protocol) and `asnet_keras.serving.guards` (Host, body size and time; ASGI).
"""

import ipaddress
import re

DEFAULT_HEADER_TIMEOUT = 10.0  # seconds to the end of a request's headers
DEFAULT_BODY_TIMEOUT = 60.0  # seconds from the headers to the end of the body
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0  # idle seconds after a response (uvicorn's default)
DEFAULT_MAX_CONNECTIONS = 32  # requests (each on its connection) served at once

#: The names a service on this machine is reached under (`serve --allow-host` adds more).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ANY_HOST = "*"
# Host header: a name or IPv4 address, or an IPv6 address in brackets; an optional port.
# Nothing else ('@', '/', spaces, …) is accepted, so no parser reads another host in it.
_HOST = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::[0-9]{1,5})?")


def host_name(header):
    """The host part of a Host header value, lower-cased (IPv6 in brackets), or None
    when it is missing or malformed. "LocalHost:8000" → "localhost"; "[::1]:80" → "[::1]"."""
    match = _HOST.fullmatch((header or "").strip().lower())
    return match["host"] if match else None


def allowed_hosts(extra=()):
    """`LOOPBACK_HOSTS` plus the names in `extra` (`serve --allow-host`), checked and
    lower-cased; an IPv6 address may be given with or without brackets.

    Raises:
        ValueError: a name that a Host header could not carry (a port, a path, spaces).
    """
    hosts = list(LOOPBACK_HOSTS)
    for name in extra:
        name = str(name).strip().lower()
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"  # a bare IPv6 address
        if name != ANY_HOST and (host_name(name) != name or not _valid_ip6(name)):
            raise ValueError(f"--allow-host {name!r}: pass a host name or IP address as "
                             "clients write it, without port or path (e.g. myhost.lan, "
                             "192.168.1.20), or * to accept any")
        if name not in hosts:
            hosts.append(name)
    return tuple(hosts)


def _valid_ip6(name):
    """False for a bracketed name that is no IPv6 address ("[1.2.3.4:80]")."""
    if not name.startswith("["):
        return True
    try:
        ipaddress.IPv6Address(name[1:-1])
    except ValueError:
        return False
    return True
