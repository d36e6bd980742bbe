// The fleet dashboard: figures built server-side (dashboards/figures.py), drawn as they come.
"use strict";

(() => {
  const config = {responsive: true, displaylogo: false};

  async function load() {
    const data = await BB.fetchJSON("/v1/dashboard/figures");
    for (const [name, figure] of Object.entries(data.figures)) {
      const node = document.getElementById("fig-" + name);
      if (node) Plotly.react(node, figure.data, {...figure.layout, height: 340}, config);
    }
    document.getElementById("generated").textContent = "Updated " + BB.shortTime(data.generated_at) + ".";
    document.body.dataset.loaded = "true";
  }

  load();
  BB.live("/v1/ui/stream", BB.debounce(load, 1000));
})();
