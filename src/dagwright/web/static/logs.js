// The run page's step logs: each step's stdout or stderr, polled with `after=` while the
// run is in progress. The step is picked in the list, or by clicking it in the timeline or
// the event log; the choice is kept in the URL (#logs=STEP:STREAM) across the page's
// reloads. Log text is untrusted: it is only ever added as text nodes.
"use strict";

function setupStepLogs() {
  const panel = document.getElementById("step-logs");
  const select = document.getElementById("log-step");
  const text = document.getElementById("log-text");
  const status = document.getElementById("log-status");
  if (!panel || !select || !text) return;
  const base = "/api/v1/runs/" + encodeURIComponent(panel.dataset.runId) + "/logs";
  const live = panel.dataset.finished !== "true";
  const streams = panel.querySelectorAll(".log-stream");
  const pageSize = 1000;
  let shown = { step: "", stream: "stdout" };
  let cursor = null;
  let generation = 0;
  let timer = null;

  function fromHash() {
    const match = /^#logs=(.*):(stdout|stderr)$/.exec(location.hash);
    if (!match) return null;
    const step = decodeURIComponent(match[1]);
    return Array.from(select.options).some((o) => o.value === step) ? { step, stream: match[2] } : null;
  }

  function show(step, stream, remember) {
    shown = { step, stream };
    select.value = step;
    streams.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.stream === stream)));
    if (remember) history.replaceState(null, "", "#logs=" + encodeURIComponent(step) + ":" + stream);
    clearTimeout(timer);
    cursor = null;
    text.textContent = "";
    generation += 1;
    status.textContent = "Loading…";
    fetchMore(generation);
  }

  async function fetchMore(mine) {
    let full = false;
    try {
      const params = new URLSearchParams({ step: shown.step, stream: shown.stream, limit: String(pageSize) });
      if (cursor !== null) params.set("after", String(cursor));
      const page = await (await fetch(base + "?" + params)).json();
      if (mine !== generation) return;
      const atBottom = text.scrollTop + text.clientHeight >= text.scrollHeight - 4;
      for (const chunk of page.chunks) text.appendChild(document.createTextNode(chunk.text));
      if (atBottom) text.scrollTop = text.scrollHeight;
      cursor = page.cursor;
      full = page.chunks.length === pageSize;
      const empty = text.textContent === "";
      status.textContent = empty ? "No " + shown.stream + " output" + (live ? " yet." : ".") : live ? "Following…" : "";
    } catch (_) {
      if (mine !== generation) return; /* the server may be restarting: try again */
    }
    if (full) fetchMore(mine);
    else if (live) timer = setTimeout(() => fetchMore(mine), 1000);
  }

  select.addEventListener("change", () => show(select.value, shown.stream, true));
  streams.forEach((button) =>
    button.addEventListener("click", () => show(shown.step, button.dataset.stream, true)));
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-step]");
    if (!target || !Array.from(select.options).some((o) => o.value === target.dataset.step)) return;
    if (target.closest("#events, .timeline")) {
      show(target.dataset.step, shown.stream, true);
      panel.scrollIntoView({ block: "nearest" });
    }
  });
  const start = fromHash() || { step: panel.dataset.defaultStep || select.value, stream: "stdout" };
  show(start.step, start.stream, false);
}

document.addEventListener("DOMContentLoaded", setupStepLogs);
