// Shared helpers of the Blackbox pages. Data from the log (agent and cloud text) only ever
// reaches the page through textContent / createTextNode: never innerHTML.
"use strict";

const BB = (() => {
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function fetchJSON(url) {
    const response = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("not signed in");
    }
    if (!response.ok) throw new Error(url + " answered " + response.status);
    return response.json();
  }

  // Plotly renders a few HTML tags in hover text: escape so recorded text can't add markup.
  function hoverText(text) {
    return String(text ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // Hover text from several parts: each escaped, long ones wrapped, joined by plotly's <br>.
  function hoverLines(...parts) {
    const wrap = (text) => (text.match(/.{1,90}(\s|$)|\S+?(\s|$)/g) || [text]).map((line) => line.trimEnd());
    return parts.flatMap((part) => wrap(String(part ?? ""))).slice(0, 8).map(hoverText).join("<br>");
  }

  const plotTime = (t) => (t ? t.replace("Z", "") : t);  // the axis shows UTC wall time
  const shortTime = (t) => (t ? t.replace("T", " ").replace(/\.\d+Z$/, "").replace("Z", "") : "");
  const risk = (r) => (r === null || r === undefined ? "–" : (r * 100).toFixed(r >= 0.995 || r < 0.005 ? 0 : 1) + "%");

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(seconds / 3600) + " h " + Math.round((seconds % 3600) / 60) + " min";
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // One refresh at a time: changes arriving meanwhile fold into one more refresh afterwards.
  function coalesced(refresh) {
    let running = false, again = false;
    const run = async () => {
      if (running) { again = true; return; }
      running = true;
      try { await refresh(); } catch (error) { console.warn("refresh failed", error); } finally {
        running = false;
        if (again) { again = false; run(); }
      }
    };
    return run;
  }

  // Server-sent change events; the browser reconnects by itself when a stream ends (and sends
  // the last event id, so the server replays what changed in between).
  function live(url, onChange) {
    const badge = document.getElementById("live");
    const source = new EventSource(url);
    const fire = debounce(coalesced(onChange), 150);
    source.addEventListener("open", () => { badge.textContent = "● live"; badge.className = "live on"; });
    source.addEventListener("error", () => { badge.textContent = "○ reconnecting"; badge.className = "live"; });
    source.addEventListener("change", (message) => fire(JSON.parse(message.data)));
    window.addEventListener("pagehide", () => source.close());
    return source;
  }

  const SEVERITY_COLOURS = {critical: "#c2313a", high: "#e07a3a", medium: "#d9a521", low: "#6c9a8b", info: "#9aa0a6"};

  function severityBadge(severity) {
    return el("span", {class: "sev sev-" + severity}, severity);
  }

  return {el, fetchJSON, hoverText, hoverLines, plotTime, shortTime, risk, duration, debounce, live,
          SEVERITY_COLOURS, severityBadge};
})();
