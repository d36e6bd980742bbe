"""HTML pages and static assets of the web UI.

Pages are thin shells rendered by Jinja2 with autoescaping; the data arrives as JSON and the
scripts put agent and cloud text into the page with ``textContent`` only, so text that looks like
HTML stays text. Scripts and styles are served by Blackbox itself (plotly.js from the plotly
wheel), so the UI works offline and under a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import plotly
from jinja2 import Environment, PackageLoader

STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

# No inline scripts, nothing from other origins. 'unsafe-eval': plotly's WebGL traces (regl)
# compile their draw calls with the Function constructor, and scattergl is what keeps a
# 10,000-event timeline responsive. Inline styles: plotly sets style attributes as it draws.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self' 'unsafe-eval'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:", "connect-src 'self'", "worker-src 'self' blob:",
    "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"))
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}

_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml"}


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("dashboards", "templates"), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True)


@cache
def asset_version() -> str:
    """A digest of the shipped assets, appended to their URLs: browsers may cache them for an
    hour, and an upgrade must not leave a page running yesterday's script."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(PLOTLY_JS.name.encode() + str(PLOTLY_JS.stat().st_size).encode())
    return digest.hexdigest()[:12]


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(v=asset_version(), **context)


def static_asset(name: str) -> tuple[Path, str] | None:
    """The file and media type of a static asset, or None: only plain names of files that ship
    in ``dashboards/static`` (no paths), and plotly.js from the plotly package."""
    if name == "plotly.min.js":
        return PLOTLY_JS, _MEDIA_TYPES[".js"]
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = STATIC_DIR / name
    media = _MEDIA_TYPES.get(path.suffix)
    return (path, media) if media and path.is_file() else None
