// The sessions list: filters and sort on the server, rows rebuilt on every change event.
"use strict";

(() => {
  const {el} = BB;
  const form = document.getElementById("filters");
  const body = document.getElementById("rows");
  const sourceSelect = document.getElementById("f-source");
  let sort = "last_time", order = "desc";
  let previous = new Map();  // session id -> risk, to mark rows whose risk just changed

  function query() {
    const q = new URLSearchParams({sort, order});
    if (document.getElementById("f-flagged").checked) q.set("flagged", "true");
    for (const [name, id] of [["source", "f-source"], ["since", "f-since"], ["until", "f-until"], ["q", "f-q"]]) {
      const value = document.getElementById(id).value.trim();
      if (value) q.set(name, value);
    }
    return q;
  }

  function riskCell(row) {
    const width = row.risk === null ? 0 : Math.round(row.risk * 100);
    return el("td", {class: "risk", "data-risk": row.risk ?? ""},
      el("span", {class: "bar"}, el("span", {class: "fill" + (row.flagged ? " flagged" : ""), style: `width:${width}%`})),
      el("span", {class: "num"}, BB.risk(row.risk)));
  }

  function topFinding(row) {
    if (!row.top_rule) return el("td", {class: "muted"}, row.risk === null ? "analysing…" : "none");
    return el("td", {class: "top"}, BB.severityBadge(row.top_severity), " ",
      el("strong", {}, row.top_rule), " ",
      el("span", {class: "summary", title: row.top_summary}, row.top_summary),
      row.finding_count > 1 ? el("span", {class: "muted"}, ` (+${row.finding_count - 1} more)`) : null);
  }

  let shownQuery = null;  // the filters the rows on screen answer

  function render(rows, asked) {
    const now = new Map(rows.map((r) => [r.session_id, r.risk]));
    const sameFilters = asked === shownQuery;  // else every row is "new" only because filters changed
    shownQuery = asked;
    body.replaceChildren(...rows.map((row) => {
      const changed = sameFilters && previous.get(row.session_id) !== row.risk;
      const link = el("a", {href: "/sessions/" + encodeURIComponent(row.session_id), title: row.session_id},
        row.session_id.length > 18 ? row.session_id.slice(0, 18) + "…" : row.session_id);
      return el("tr", {class: (row.flagged ? "flagged" : "") + (changed ? " updated" : ""),
                       dataset: {sessionId: row.session_id, flagged: String(row.flagged)}},
        el("td", {class: "flag"}, row.flagged ? el("span", {class: "flag-badge", title: "flagged"}, "⚑ flagged") : ""),
        el("td", {class: "id"}, link),
        el("td", {class: "src"}, row.source),
        el("td", {class: "src"}, row.model || "–"),
        el("td", {class: "time"}, BB.shortTime(row.first_time)),
        el("td", {class: "num"}, BB.duration(row.duration_s)),
        el("td", {class: "num"}, row.events.toLocaleString()),
        riskCell(row),
        topFinding(row));
    }));
    previous = now;
  }

  function renderSources(sources) {
    const chosen = sourceSelect.value;
    sourceSelect.replaceChildren(el("option", {value: ""}, "any"),
      ...sources.map((s) => el("option", {value: s, selected: s === chosen}, s)));
  }

  let asked = 0;  // answers can cross: only the latest question's answer is drawn

  async function load() {
    const mine = ++asked;
    const q = query().toString();
    const data = await BB.fetchJSON("/v1/ui/sessions?" + q);
    if (mine !== asked) return;
    renderSources(data.sources);
    render(data.sessions, q);
    const more = data.matched > data.sessions.length ? ` (first ${data.sessions.length} shown: narrow the filters)` : "";
    document.getElementById("count").textContent =
      `${data.matched} of ${data.total} sessions match${more} · ${data.sessions.filter((s) => s.flagged).length} flagged shown`;
    document.body.dataset.loaded = "true";
  }

  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.classList.add("sortable");
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      order = sort === key && order === "desc" ? "asc" : "desc";
      sort = key;
      for (const other of document.querySelectorAll("th[data-sort]")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", order === "desc" ? "descending" : "ascending");
      load();
    });
  }
  form.addEventListener("input", BB.debounce(load, 200));
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
  BB.live("/v1/ui/stream", load);
})();
