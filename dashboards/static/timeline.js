// The incident timeline: swimlanes (WebGL markers), each finding's claim → action → effects chain,
// the risk curve, a findings panel and the event detail. The server windows the events: zooming
// asks for the visible time range, so a 10,000-event session never ships or draws it all at once.
"use strict";

(() => {
  const {el} = BB;
  const main = document.getElementById("main");
  const sessionId = main.dataset.sessionId;
  const base = "/v1/sessions/" + encodeURIComponent(sessionId);
  const chart = document.getElementById("timeline");
  const FAMILY_COLOURS = ["#c2313a", "#8e44ad", "#d35400", "#b03a2e", "#6c3483", "#a04000", "#922b21", "#76448a"];
  const LANE_COLOURS = {user: "#2e86de", reasoning: "#8395a7", message: "#10ac84", call: "#576574", result: "#576574", system: "#b0b6bd"};
  const ROLE_SYMBOLS = {claim: "star", action: "diamond", effect: "square"};
  let data = null;
  let range = null;        // the zoomed time range, or null for the whole session
  let selected = null;     // the selected finding's id
  let bound = false;
  let drawing = false;
  const families = new Map();

  function familyColour(family) {
    if (!families.has(family)) families.set(family, FAMILY_COLOURS[families.size % FAMILY_COLOURS.length]);
    return families.get(family);
  }

  function laneY() {
    return new Map(data.lanes.map((lane, index) => [lane.key, index]));
  }

  function groupOf(event) {
    if (event.lane === "call") {
      return event.destructive
        ? {key: "call:" + (event.family || "other"), name: "destructive · " + (event.family || "other"),
           colour: familyColour(event.family || "other"), symbol: "diamond", size: 11}
        : {key: "call", name: "tool calls", colour: LANE_COLOURS.call, symbol: "circle", size: 7};
    }
    if (event.lane === "result") {
      return event.error
        ? {key: "result:error", name: "tool errors", colour: "#c2313a", symbol: "x", size: 10}
        : {key: "result", name: "tool results", colour: LANE_COLOURS.result, symbol: "circle-open", size: 7};
    }
    if (event.lane.startsWith("cloud:")) {
      return {key: event.lane, name: event.lane.slice(6) + " audit", colour: "#e07a3a", symbol: "square", size: 8};
    }
    const lane = data.lanes.find((l) => l.key === event.lane);
    return {key: event.lane, name: lane ? lane.label : event.lane, colour: LANE_COLOURS[event.lane] || "#888", symbol: "circle", size: 7};
  }

  function laneTraces(ys) {
    const groups = new Map();
    for (const event of data.events) {
      const group = groupOf(event);
      if (!groups.has(group.key)) groups.set(group.key, {...group, x: [], y: [], text: [], ids: []});
      const g = groups.get(group.key);
      g.x.push(BB.plotTime(event.t));
      g.y.push(ys.get(event.lane));
      g.text.push(BB.hoverLines(`#${event.p} ${event.kind} · ${BB.shortTime(event.t)}`, event.label));
      g.ids.push(event.id);
    }
    return [...groups.values()].map((g) => ({
      type: "scattergl", mode: "markers", name: g.name, legendgroup: "lanes", x: g.x, y: g.y,
      hovertext: g.text, hoverinfo: "text", customdata: g.ids,
      marker: {color: g.colour, symbol: g.symbol, size: g.size, line: {width: 1, color: g.colour}},
    }));
  }

  function chainTraces(ys) {
    return data.findings.filter((f) => f.chain.length).map((finding) => {
      const on = selected === null || selected === finding.id;
      const colour = BB.SEVERITY_COLOURS[finding.severity] || "#888";
      return {
        type: "scatter", mode: "lines+markers", name: `${finding.severity} · ${finding.rule}`,
        legendgroup: "findings", x: finding.chain.map((c) => BB.plotTime(c.t)), y: finding.chain.map((c) => ys.get(c.lane)),
        customdata: finding.chain.map((c) => c.id), hoverinfo: "text",
        hovertext: finding.chain.map((c) => BB.hoverLines(`${finding.rule}: ${c.role}`, c.label)),
        line: {color: colour, width: selected === finding.id ? 4 : 2}, opacity: on ? 1 : 0.2,
        marker: {symbol: finding.chain.map((c) => ROLE_SYMBOLS[c.role]), size: finding.chain.map((c) => (c.role === "claim" ? 18 : 13)),
                 color: colour, line: {width: 1.5, color: "#fff"}},
      };
    });
  }

  function riskTrace() {
    return {type: "scatter", mode: data.risk.length < 3 ? "lines+markers" : "lines", name: "risk", xaxis: "x", yaxis: "y2", line: {shape: "hv", color: "#c2313a", width: 2},
            fill: "tozeroy", fillcolor: "rgba(194,49,58,0.12)", x: data.risk.map((p) => BB.plotTime(p.t)), y: data.risk.map((p) => p.risk),
            hovertemplate: "risk %{y:.1%}<extra></extra>"};
  }

  // The guess that started the worst finding, circled and named on the chart.
  function guessAnnotation(ys) {
    const top = data.findings.find((f) => f.chain.length && f.chain[0].role === "claim");
    if (!top) return [];
    const claim = top.chain[0];
    return [{x: BB.plotTime(claim.t), y: ys.get(claim.lane), yref: "y", text: "the guess", showarrow: true, arrowhead: 2,
             ax: -40, ay: -30, bgcolor: "#fff3b0", bordercolor: "#c2313a", font: {size: 12}}];
  }

  // A session of one instant gets a minute of axis around it (plotly would zoom to microseconds).
  function pointRange() {
    const {start, end} = data.range;
    if (range || !start || start !== end) return {};
    const at = Date.parse(start);
    const iso = (ms) => new Date(ms).toISOString().replace("Z", "");
    return {range: [iso(at - 30000), iso(at + 30000)]};
  }

  function layout(ys) {
    const shapes = [{type: "line", xref: "paper", x0: 0, x1: 1, yref: "y2", y0: data.threshold, y1: data.threshold,
                     line: {dash: "dot", color: "#888", width: 1}}];
    const annotations = guessAnnotation(ys);
    if (data.first_flagged) {
      shapes.push({type: "line", xref: "x", x0: BB.plotTime(data.first_flagged.t), x1: BB.plotTime(data.first_flagged.t),
                   yref: "paper", y0: 0, y1: 1, line: {color: "#c2313a", width: 1, dash: "dash"}});
      annotations.push({x: BB.plotTime(data.first_flagged.t), y: 1, yref: "paper", text: "flagged", showarrow: false,
                        font: {color: "#c2313a", size: 11}, yanchor: "bottom"});
    }
    return {
      height: 600, margin: {l: 120, r: 20, t: 24, b: 40}, hovermode: "closest", uirevision: sessionId,
      hoverlabel: {align: "left"},
      showlegend: true, legend: {orientation: "h", y: -0.1}, plot_bgcolor: "#fff", paper_bgcolor: "#fff",
      xaxis: {type: "date", anchor: "y2", showgrid: true, gridcolor: "#eee", ...pointRange()},
      yaxis: {domain: [0.3, 1], tickvals: data.lanes.map((_, i) => i), ticktext: data.lanes.map((l) => l.label),
              range: [data.lanes.length - 0.5, -0.5], fixedrange: true, gridcolor: "#f1f1f1", zeroline: false},
      yaxis2: {domain: [0, 0.22], range: [0, 1.05], fixedrange: true, title: {text: "risk"}, tickformat: ".0%"},
      shapes, annotations,
    };
  }

  async function renderChart() {
    const ys = laneY();
    drawing = true;
    try {
      await Plotly.react(chart, [...laneTraces(ys), ...chainTraces(ys), riskTrace()], layout(ys),
                         {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"]});
    } finally {
      drawing = false;
    }
    if (!bound) {
      bound = true;
      chart.on("plotly_click", (event) => {
        const point = event.points && event.points[0];
        if (point && typeof point.customdata === "string") showDetail(point.customdata);
      });
      chart.on("plotly_relayout", (event) => {
        if (drawing) return;
        if (event["xaxis.range[0]"] !== undefined) range = [event["xaxis.range[0]"], event["xaxis.range[1]"]];
        else if (Array.isArray(event["xaxis.range"])) range = event["xaxis.range"].slice(0, 2);
        else if (event["xaxis.autorange"]) range = null;
        else return;
        load();
      });
    }
    const w = data.window;
    document.getElementById("window-note").textContent = w.decimated
      ? `${w.shown.toLocaleString()} of ${w.total.toLocaleString()} events in view (sampled; zoom in for every event)`
      : `${w.total.toLocaleString()} events in view`;
  }

  function renderFacts() {
    const s = data.session;
    const facts = document.getElementById("facts");
    facts.replaceChildren(...[
      el("span", {class: "fact"}, "source ", el("strong", {}, s.source || "–")),
      el("span", {class: "fact"}, "model ", el("strong", {}, s.model || "–")),
      el("span", {class: "fact"}, "events ", el("strong", {}, s.events.toLocaleString())),
      el("span", {class: "fact"}, "from ", el("strong", {}, BB.shortTime(data.range.start)), " to ", el("strong", {}, BB.shortTime(data.range.end))),
      el("span", {class: "fact"}, "risk ", el("strong", {id: "risk-now"}, BB.risk(data.risk_now))),
      data.flagged ? el("span", {class: "flag-badge"}, "⚑ flagged") : el("span", {class: "ok-badge"}, "not flagged"),
      data.findings.length ? el("a", {href: base + "/report?format=html", target: "_blank", rel: "noopener"},
                                "post-mortem report") : null].filter(Boolean));
  }

  function renderFindings() {
    const list = document.getElementById("findings");
    if (!data.findings.length) {
      list.replaceChildren(el("li", {class: "muted"}, "No findings."));
      return;
    }
    list.replaceChildren(...data.findings.map((f) => {
      const effects = f.chain.filter((c) => c.role === "effect").length;
      const steps = [f.claim ? "claim" : null, f.action ? "action" : null, effects ? `${effects} effect${effects > 1 ? "s" : ""}` : null].filter(Boolean);
      return el("li", {class: "finding" + (selected === f.id ? " active" : ""), tabindex: "0", role: "button",
                       dataset: {findingId: f.id, rule: f.rule, severity: f.severity},
                       onclick: () => selectFinding(f), onkeydown: (e) => { if (e.key === "Enter") selectFinding(f); }},
        el("div", {class: "finding-head"}, BB.severityBadge(f.severity), " ", el("strong", {}, f.rule)),
        el("div", {class: "summary"}, f.summary),
        el("div", {class: "muted"}, steps.join(" → "),
           f.lead_time_s !== null ? ` · lead time ${BB.duration(f.lead_time_s)}` : ""));
    }));
  }

  function selectFinding(finding) {
    selected = selected === finding.id ? null : finding.id;
    renderFindings();
    renderChart();
    if (selected) {
      const anchor = (finding.action && finding.action.event_id) || (finding.chain[0] && finding.chain[0].id);
      if (anchor) showDetail(anchor, finding);
    }
  }

  const pre = (value) => el("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));

  function chainList(finding) {
    return el("section", {class: "chain"}, el("h3", {}, "Chain: ", finding.rule),
      el("ol", {}, ...finding.chain.map((step) => el("li", {},
        el("button", {type: "button", class: "link role-" + step.role, dataset: {eventId: step.id},
                      onclick: () => showDetail(step.id, finding)},
          el("span", {class: "role"}, step.role), " ", BB.shortTime(step.t), " ", step.label)))));
  }

  async function showDetail(eventId, finding) {
    const detail = document.getElementById("detail");
    const doc = await BB.fetchJSON(base + "/events/" + encodeURIComponent(eventId));
    const e = doc.event;
    const rows = [["kind", e.kind], ["time", e.time], ["source", e.source], ["stream", e.stream],
                  ["position", e.log.position], ["sequence", e.log.seq], ["tool", e.tool_name], ["call id", e.call_id],
                  ["hash", e.log.hash], ["previous hash", e.log.prev_hash]].filter(([, v]) => v !== null && v !== undefined);
    const parts = [
      finding ? chainList(finding) : null,
      el("h3", {}, e.kind.replace("_", " "), e.is_error ? el("span", {class: "sev sev-critical"}, "error") : null),
      el("dl", {class: "facts-list"}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {class: k.includes("hash") ? "hash" : ""}, String(v))])),
    ];
    if (e.text) parts.push(el("h4", {}, "Text"), pre(e.text));
    if (e.tool_input !== null && e.tool_input !== undefined) parts.push(el("h4", {}, "Tool input"), pre(e.tool_input));
    if (doc.result) {
      parts.push(el("h4", {}, "Result", doc.result.is_error ? " (error)" : ""), pre(doc.result.text || ""));
    }
    if (doc.call) parts.push(el("h4", {}, "Answers the call"), pre(doc.call.tool_input));
    if (doc.findings.length) parts.push(el("p", {class: "muted"}, `Evidence for ${doc.findings.length} finding(s).`));
    parts.push(el("details", {}, el("summary", {}, "Native record (as recorded; secrets redacted)"), pre(e.raw)));
    detail.replaceChildren(...parts.filter(Boolean));
    detail.dataset.eventId = e.id;
    detail.scrollIntoView({block: "nearest", behavior: "smooth"});
  }

  let asked = 0;  // a zoom and a live update can cross: only the latest answer is drawn

  async function load() {
    const mine = ++asked;
    const q = new URLSearchParams();
    if (range) { q.set("start", range[0]); q.set("end", range[1]); }
    const answer = await BB.fetchJSON(base + "/timeline?" + q);
    if (mine !== asked) return;
    data = answer;
    renderFacts();
    renderFindings();
    await renderChart();
    document.body.dataset.loaded = "true";
    document.body.dataset.position = String(data.position);
  }

  document.getElementById("reset-zoom").addEventListener("click", () => {
    range = null;
    Plotly.relayout(chart, {"xaxis.autorange": true});
  });
  load().catch((error) => {
    chart.replaceChildren(el("p", {class: "error"}, "Could not load this session: ", error.message));
    document.body.dataset.loaded = "error";
  });
  BB.live("/v1/ui/stream?session=" + encodeURIComponent(sessionId), load);
})();
