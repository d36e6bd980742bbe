"""Post-mortem reports: a session's incident written up from the log, as HTML or Markdown.

``post_mortem`` builds the report model from the session's replayed history, ``render`` lays it
out in one format, ``record`` appends the event that says it was generated (with its hash).
"""

from dashboards.report.service import Format, Report, post_mortem, record, render

__all__ = ["Format", "Report", "post_mortem", "record", "render"]
