"""Webhook URL checks: http(s) only, and no private destinations unless the operator allows them.

A webhook makes the server send requests where an API caller says, so without this check an
admin key could aim it at the database, the cloud metadata service (169.254.169.254) or anything
else only the server can reach. Every address the host name resolves to is checked, since a
client connects to whichever one it likes. Delivery checks again before each attempt (a name can
be re-pointed after registration); redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ingest.errors import InputError

SCHEMES = ("http", "https")
_MAX_URL = 2048

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(InputError):
    """A webhook URL Blackbox refuses to call."""


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL if Blackbox may call it; ``UnsafeUrl`` saying why otherwise."""
    host, port = _host_and_port(url)
    if allow_private:
        return url
    for address in resolve(host, port):
        if reason := forbidden(address):
            raise UnsafeUrl(f"webhook host {host!r} resolves to {address} ({reason}); set "
                            "BLACKBOX_WEBHOOK_ALLOW_PRIVATE=true to allow private destinations")
    return url


def forbidden(address: IpAddress) -> str | None:
    """Why an address is off limits for webhooks, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    checks = (("loopback", address.is_loopback), ("link-local", address.is_link_local),
              ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
              ("private", address.is_private), ("reserved", address.is_reserved),
              ("not globally routable", not address.is_global))
    return next((name for name, hit in checks if hit), None)


def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address a host name (or literal) stands for."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"webhook host {host!r} does not resolve: {exc}") from None
    # The scope suffix of an IPv6 link-local address (fe80::1%eth0) is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _host_and_port(url: str) -> tuple[str, int]:
    if len(url) > _MAX_URL:
        raise UnsafeUrl(f"webhook URL longer than {_MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"invalid webhook URL {url!r}: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise UnsafeUrl(f"webhook URL scheme must be http or https, not {parts.scheme!r}")
    if not parts.hostname:
        raise UnsafeUrl(f"webhook URL {url!r} has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)
