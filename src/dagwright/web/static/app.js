// dagwright UI: small progressive enhancements. Every page works without this file.
"use strict";

// ---- tag rules: mirror dagwright/tags.py (the rules come from the page, see views.tag_rules)
const dagwrightTags = (() => {
  function rules() {
    const node = document.getElementById("tag-rules");
    return node ? JSON.parse(node.textContent) : null;
  }
  const INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
  const FLOAT = /^\s*[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?\s*$/;

  function checkKey(r, key) {
    if (!new RegExp("^(?:" + r.key_pattern + ")$").test(key)) {
      return "a key is 'name' or 'prefix/name', each part 1-63 characters of A-Z a-z 0-9 _ . -";
    }
    const prefix = key.includes("/") ? key.slice(0, key.indexOf("/")) : null;
    if (prefix !== null && (prefix === "dagster" || prefix.startsWith("dagster-"))) {
      const same = Object.hasOwn(r.dagster_tags, key) ? r.dagster_tags[key] : null;
      return "a Dagster tag, which dagwright does not read: " +
        (same ? "use '" + same + "'" : "dagwright has no equivalent") + " (`dagwright port` rewrites it)";
    }
    if (key.startsWith(r.system_prefix) && !r.control_tags.includes(key)) {
      return "the '" + r.system_prefix + "' prefix is reserved for system tags; users may set only " +
        r.control_tags.join(", ");
    }
    return null;
  }

  function checkValue(r, key, value) {
    if (value.includes("\u0000")) return "a value cannot contain NUL characters";
    if (new TextEncoder().encode(value).length > r.max_value_bytes) {
      return "a value is at most " + r.max_value_bytes + " bytes";
    }
    // the key's rule of tags.CONTROL_TAG_RULES (own keys only: not "constructor" …)
    const rule = Object.hasOwn(r.value_rules, key) ? r.value_rules[key] : null;
    if (rule === null) return null;
    if (rule.kind === "integer") {
      if (!INT.test(value)) return "must be an integer given as a string";
      if (rule.minimum !== null && parseInt(value.replace(/_/g, ""), 10) < rule.minimum) {
        return "must be an integer >= " + rule.minimum;
      }
    }
    if (rule.kind === "choice" && !rule.choices.includes(value)) {
      return "must be one of " + rule.choices.join(", ");
    }
    if (rule.kind === "queue_name" && (value.length < 1 || value.length > 200 || /\s/.test(value))) {
      return "must be a queue name of 1-200 characters without spaces";
    }
    if (rule.kind === "positive_seconds") {
      const seconds = FLOAT.test(value) ? Number(value.trim().replace(/_/g, "")) : -1;
      if (!(seconds > 0) || !isFinite(seconds)) return "must be a positive number of seconds";
    }
    return null;
  }

  // The message for a user tag (key, value), or null when dagwright would accept it.
  function validate(key, value, given) {
    const r = given || rules();
    if (!r) return null;
    const rule = checkKey(r, key) || checkValue(r, key, value);
    return rule ? "tag '" + key + "': " + rule : null;
  }
  return { validate, rules };
})();
window.dagwrightTags = dagwrightTags;

// ---- relative times ("3 minutes ago"), refreshed every 30 s
function relativeTime(ts) {
  const delta = Date.now() / 1000 - ts;
  const seconds = Math.abs(delta);
  if (seconds < 1) return "just now";
  const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  for (const [name, size] of units) {
    if (seconds >= size) {
      const count = Math.floor(seconds / size);
      const text = count + " " + name + (count !== 1 ? "s" : "");
      return delta > 0 ? text + " ago" : "in " + text;
    }
  }
  return "just now";
}
function refreshTimes() {
  document.querySelectorAll("[data-rel]").forEach((node) => {
    node.textContent = relativeTime(parseFloat(node.dataset.rel));
  });
}

// ---- copy buttons (paths)
// Event times to the millisecond, in UTC or in the browser's zone (the choice is kept).
const TIME_ZONE_KEY = "dagwright.timeZone";

function formatEpoch(epoch, local) {
  const d = new Date(epoch * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const get = (utc, loc) => (local ? d[loc]() : d[utc]());
  const date = `${get("getUTCFullYear", "getFullYear")}-${pad(get("getUTCMonth", "getMonth") + 1)}-${pad(get("getUTCDate", "getDate"))}`;
  const time = `${pad(get("getUTCHours", "getHours"))}:${pad(get("getUTCMinutes", "getMinutes"))}:${pad(get("getUTCSeconds", "getSeconds"))}.${pad(get("getUTCMilliseconds", "getMilliseconds"), 3)}`;
  const zone = local ? Intl.DateTimeFormat().resolvedOptions().timeZone : "UTC";
  return `${date} ${time} ${zone}`;
}

function showEventTimes() {
  const local = localStorage.getItem(TIME_ZONE_KEY) === "local";
  const button = document.getElementById("time-zone");
  if (button) button.textContent = local ? "local time" : "UTC";
  document.querySelectorAll("time.event-time[data-epoch]").forEach((el) => {
    el.textContent = formatEpoch(Number(el.dataset.epoch), local);
  });
}

function setupTimeZone() {
  const button = document.getElementById("time-zone");
  if (!button) return;
  button.addEventListener("click", () => {
    const local = localStorage.getItem(TIME_ZONE_KEY) === "local";
    localStorage.setItem(TIME_ZONE_KEY, local ? "utc" : "local");
    showEventTimes();
  });
  showEventTimes();
}

function setupCopy() {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "copied";
    } catch (_) {
      button.textContent = "press Ctrl+C";
      const range = document.createRange();
      range.selectNodeContents(button.previousElementSibling);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    setTimeout(() => { button.textContent = "copy"; }, 1500);
  });
}

// ---- tag rows: inline validation of one key/value row (launchpad, run page)
function validateRow(row, seen) {
  const key = row.querySelector(".tag-key").value.trim();
  const value = row.querySelector(".tag-value").value;
  const out = row.querySelector(".field-error");
  let message = null;
  if (key || value) {
    message = dagwrightTags.validate(key, value);
    if (!message && seen) {
      if (seen.has(key)) message = "tag '" + key + "': given twice";
      seen.add(key);
    }
  }
  if (out) out.textContent = message || "";
  row.classList.toggle("invalid", Boolean(message));
  return !message;
}
function validateRows(container) {
  const seen = new Set();
  let ok = true;
  container.querySelectorAll(".tag-row").forEach((row) => { ok = validateRow(row, seen) && ok; });
  return ok;
}

// ---- the launchpad's tag policies: allowed values offered in a list, the policy's help
function tagHints() {
  const node = document.getElementById("tag-hints");
  return node ? JSON.parse(node.textContent) : {};
}
function applyHint(row) {
  const hints = tagHints();
  const key = row.querySelector(".tag-key").value.trim();
  const hint = Object.hasOwn(hints, key) ? hints[key] : null;
  const value = row.querySelector(".tag-value");
  if (hint && hint.values.length) value.setAttribute("list", "tag-values-" + key);
  else value.removeAttribute("list");
  const help = row.querySelector(".tag-help");
  if (!help) return;
  let text = "";
  if (hint) {
    const parts = [hint.required ? "required by policy" : "", hint.description || ""];
    text = parts.filter(Boolean).join(" · ");
    if (hint.values.length) text += " (" + hint.values.join(", ") + ")";
    else if (hint.pattern) text += " (matching " + hint.pattern + ")";
  }
  help.textContent = text;
}

// ---- the launchpad: tag editor, and the whole form checked by the server before launch
function setupLaunchpad() {
  const form = document.getElementById("launchpad");
  if (!form) return;
  const rows = document.getElementById("tag-rows");
  const template = document.getElementById("tag-row-template");
  const status = document.getElementById("check-status");
  document.getElementById("add-tag").addEventListener("click", () => {
    rows.appendChild(template.content.cloneNode(true));
    rows.lastElementChild.querySelector(".tag-key").focus();
  });
  rows.addEventListener("click", (event) => {
    if (!event.target.classList.contains("remove-row")) return;
    event.target.closest(".tag-row").remove();
    validateRows(rows);
    scheduleCheck();
  });
  rows.addEventListener("input", (event) => {
    if (event.target.classList.contains("tag-key")) applyHint(event.target.closest(".tag-row"));
    validateRows(rows);
  });

  let timer = null;
  let sequence = 0;
  async function check() {
    const mine = ++sequence;
    const response = await fetch(form.dataset.check, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)),
    });
    const result = await response.json();
    if (mine !== sequence) return null;
    showErrors(result.errors || {});
    status.textContent = result.ok ? "ready to launch" : "fix the marked fields";
    return result.ok;
  }
  function showErrors(errors) {
    form.querySelectorAll("[data-error-for]").forEach((node) => {
      node.textContent = errors[node.dataset.errorFor] || "";
    });
    form.querySelectorAll("#tag-rows .tag-row").forEach((row, index) => {
      const message = errors["tag." + index];
      if (message) {
        row.querySelector(".field-error").textContent = message;
        row.classList.add("invalid");
      }
    });
  }
  function scheduleCheck() {
    clearTimeout(timer);
    status.textContent = "checking…";
    timer = setTimeout(check, 350);
  }
  form.addEventListener("input", scheduleCheck);
  form.addEventListener("change", scheduleCheck);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    if (!validateRows(rows)) { status.textContent = "fix the marked fields"; return; }
    status.textContent = "checking…";
    if (await check()) { status.textContent = "launching…"; form.submit(); }
  });
}

// ---- the run page: add-tag validation, level filter, follow a run in progress
function setupRunPage() {
  const head = document.getElementById("run");
  if (!head) return;
  const addForm = document.getElementById("add-tag-form");
  if (addForm) {
    addForm.addEventListener("input", () => validateRow(addForm, null));
    addForm.addEventListener("submit", (event) => {
      if (!validateRow(addForm, null)) event.preventDefault();
    });
  }
  const level = document.getElementById("level-filter");
  const order = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
  function filterLevels() {
    const minimum = order.indexOf(level.value);
    document.querySelectorAll("#events tr[data-level]").forEach((row) => {
      row.hidden = order.indexOf(row.dataset.level) < minimum;
    });
  }
  level.addEventListener("change", filterLevels);
  filterLevels();
  if (head.dataset.finished === "true") return;
  const runId = head.dataset.runId;
  async function poll() {
    try {
      const run = await (await fetch("/api/v1/runs/" + encodeURIComponent(runId))).json();
      const busy = addForm && addForm.contains(document.activeElement) &&
        addForm.querySelector(".tag-key").value;
      if (run.status !== head.dataset.status && !busy) { location.reload(); return; }
      const url = "/api/v1/runs/" + encodeURIComponent(runId) + "/events?after=" + head.dataset.lastEvent;
      const events = await (await fetch(url)).json();
      if (events.events.length > 0 && !busy) { location.reload(); return; }
    } catch (_) { /* the server may be restarting: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
}

// ---- a backfill's page follows its progress until every run has ended
function setupBackfillPolling() {
  const head = document.getElementById("backfill-head");
  if (!head || head.dataset.live !== "true") return;
  const url = "/api/v1/backfills/" + encodeURIComponent(head.dataset.backfillId);
  const shown = JSON.parse(head.dataset.progress);
  const changed = (progress) => Object.keys(shown).some((key) => progress[key] !== shown[key]);
  async function poll() {
    try {
      const backfill = await (await fetch(url)).json();
      if (changed(backfill.progress) || backfill.status !== head.dataset.status) {
        location.reload();
        return;
      }
    } catch (_) { /* the server may be restarting: try again */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
}

// ---- confirmations for destructive buttons
function setupConfirm() {
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
}

// ---- filters that apply on change (a <noscript> button stands in without this file), and
// the error page's Back link (a link to the jobs without this file). No inline handlers:
// the Content-Security-Policy allows no inline script.
function setupAutosubmit() {
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });
  document.addEventListener("click", (event) => {
    const back = event.target.closest("a[data-back]");
    if (back && history.length > 1) { event.preventDefault(); history.back(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  refreshTimes();
  setInterval(refreshTimes, 30000);
  setupBackfillPolling();
  setupCopy();
  setupConfirm();
  setupAutosubmit();
  setupLaunchpad();
  setupRunPage();
  setupTimeZone();
});
