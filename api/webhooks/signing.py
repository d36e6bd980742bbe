"""Webhook signatures: ``Blackbox-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The timestamp is inside the MAC so a captured request can not be replayed later than the
receiver's tolerance, and the body is signed byte for byte (verify before parsing it). Several
``v1=`` entries may appear (one per secret while a secret is being rotated); any match is enough.
This module needs only the standard library and ``ingest.errors``, so receivers can import it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from ingest.errors import InputError

HEADER = "Blackbox-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


class InvalidSignature(InputError):
    """A webhook request whose signature header is missing, malformed, stale or wrong."""


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex MAC of one request body at one timestamp."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, now: float | None = None) -> str:
    """The ``Blackbox-Signature`` header value for a body sent now."""
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},{SCHEME}={signature(secret, body, timestamp)}"


def verify_signature(secret: str, header: str | None, body: bytes | str, *,
                     tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> None:
    """Check a received request; raises ``InvalidSignature`` saying why, returns if it is genuine."""
    timestamp, macs = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature(f"stale signature: timestamp {timestamp} is more than "
                               f"{tolerance} s from now")
    raw = body.encode() if isinstance(body, str) else body
    expected = signature(secret, raw, timestamp)
    # compare_digest on every candidate: the time taken does not reveal how much of a MAC matched.
    if not any([hmac.compare_digest(expected, mac) for mac in macs]):
        raise InvalidSignature("signature mismatch: wrong secret or altered body")


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise InvalidSignature(f"no {HEADER} header")
    timestamps: list[str] = []
    macs: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            macs.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not macs:
        raise InvalidSignature(f"malformed {HEADER} header: expected t=<unix>,{SCHEME}=<hex>")
    return int(timestamps[0]), macs
