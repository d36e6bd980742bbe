"""The post-mortem as one self-contained HTML file: inline CSS (with a print stylesheet) and the
figure with plotly.js inlined — nothing is fetched, so it opens offline, archives as one file and
prints to PDF as it looks.

Every value from the log goes through Jinja's autoescaping: agent text can contain HTML.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import jinja2
from markupsafe import Markup, escape

from dashboards.report.figure import figure_html
from dashboards.report.model import PostMortem

VERSION = "1"
_CODE = re.compile(r"`([^`]+)`")


def render_html(pm: PostMortem) -> str:
    template = _environment().get_template("report.html.j2")
    figure = Markup(figure_html(pm.figure)) if pm.incident else Markup("")  # plotly escapes its JSON
    return template.render(pm=pm, css=Markup(_css()), figure_html=figure, version=VERSION)


def _md_code(text: str) -> Markup:
    """`code` spans of our own fixed texts (action items) as <code>, everything else escaped."""
    escaped = str(escape(text))
    return Markup(_CODE.sub(r"<code>\1</code>", escaped))  # built from escaped text


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("dashboards.report") / "templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md_code"] = _md_code
    return env


@cache
def _css() -> str:
    return (files("dashboards.report") / "templates" / "report.css").read_text(encoding="utf-8")
