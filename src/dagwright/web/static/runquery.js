// The runs page's query box (DESIGN §10): completion of tag keys and values from
// /api/v1/tags and /api/v1/tags/{key}, and tag chips that add a term to the query.
// No inline code: the page's Content-Security-Policy allows only files like this one.
"use strict";

(function () {
  const SPECIAL = /[\s()":,*<>]/;
  const FIELDS = ["status:", "job:", "created>", "created<", "duration>", "duration<"];

  function quoted(text) {
    if (text !== "" && !SPECIAL.test(text) && text !== "OR") return text;
    return '"' + text.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  }

  // The word being typed (after the last space outside quotes) and what comes before it.
  function lastWord(text) {
    let inQuote = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === "\\" && inQuote) { i++; continue; }
      if (c === '"') inQuote = !inQuote;
      else if (!inQuote && (c === " " || c === "(")) start = i + 1;
    }
    const word = text.slice(start);
    const sign = word.startsWith("-") ? "-" : "";
    return { before: text.slice(0, start) + sign, word: word.slice(sign.length) };
  }

  function unquote(text) {
    if (!text.startsWith('"')) return text;
    return text.slice(1).replace(/"$/, "").replace(/\\(["\\])/g, "$1");
  }

  // Split "key:partial" at its first ':' outside quotes; null when there is none.
  function splitTerm(word) {
    let inQuote = false;
    for (let i = 0; i < word.length; i++) {
      const c = word[i];
      if (c === "\\" && inQuote) { i++; continue; }
      if (c === '"') inQuote = !inQuote;
      else if (c === ":" && !inQuote) return { key: unquote(word.slice(0, i)), value: word.slice(i + 1) };
    }
    return null;
  }

  async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    return response.ok ? response.json() : null;
  }

  function setup() {
    const box = document.querySelector("input[data-query-box]");
    if (!box) return;
    const list = document.getElementById(box.getAttribute("list"));
    let keys = null;
    let asked = 0;

    async function suggestions(text) {
      const { before, word } = lastWord(text);
      const term = splitTerm(word);
      if (term === null) {
        if (keys === null) keys = ((await fetchJson("/api/v1/tags")) || { keys: [] }).keys;
        const all = FIELDS.concat(keys.map((k) => quoted(k) + ":"));
        return all.filter((s) => s.startsWith(word)).map((s) => before + s);
      }
      if (term.key === "status" || term.key === "job") return [];
      const values = term.value.split(",");
      const partial = unquote(values.pop());
      const url = "/api/v1/tags/" + encodeURIComponent(term.key) + "?limit=20&prefix=" + encodeURIComponent(partial);
      const answer = await fetchJson(url);
      if (!answer) return [];
      const head = before + word.slice(0, word.length - term.value.length) + values.map((v) => v + ",").join("");
      return answer.values.map((v) => head + quoted(v.value));
    }

    box.addEventListener("input", async () => {
      const mine = ++asked;
      const found = await suggestions(box.value);
      if (mine !== asked) return; // a later keystroke has asked again
      list.replaceChildren(...found.slice(0, 50).map((value) => {
        const option = document.createElement("option");
        option.value = value;
        return option;
      }));
      box.dataset.suggestions = String(found.length);
    });

    // With a query in the box, a tag chip in the table adds its tag to it as a term;
    // otherwise (and without this file) the chip's link filters by the tag (tag=k=v).
    document.addEventListener("click", (event) => {
      const chip = event.target.closest("a.chip[data-tag]");
      if (!chip || !box.form || box.value.trim() === "") return;
      const tag = chip.dataset.tag;
      const at = tag.indexOf("=");
      const term = quoted(tag.slice(0, at)) + ":" + quoted(tag.slice(at + 1));
      event.preventDefault();
      box.value = (box.value.trim() + " " + term).trim();
      box.form.submit();
    });
  }

  // ---- bulk actions: a dry run shows the count and asks; then the live count of the
  // action running in the server (GET /api/v1/bulk/{id}).
  function bulkBody(q, choice, value) {
    const body = { q: q, action: choice };
    if (choice === "reexecute") body.from_failure = false;
    if (choice === "reexecute-failed") { body.action = "reexecute"; body.from_failure = true; }
    if (choice === "add_tags") {
      const at = value.indexOf("=");
      if (at < 1) throw new Error("add tag: write key=value");
      body.tags = { [value.slice(0, at)]: value.slice(at + 1) };
    }
    if (choice === "remove_tags") {
      if (!value) throw new Error("remove tag: write the key");
      body.keys = [value];
    }
    if (choice === "set_priority") {
      if (!/^-?\d+$/.test(value)) throw new Error("set priority: write a whole number");
      body.priority = Number(value);
    }
    return body;
  }

  async function post(body) {
    const response = await fetch("/api/v1/runs/bulk", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
    return data;
  }

  function setupBulk() {
    const box = document.querySelector("[data-bulk]");
    if (!box) return;
    const form = box.querySelector("[data-bulk-form]");
    const preview = box.querySelector("[data-bulk-preview]");
    const count = box.querySelector("[data-bulk-count]");
    const progress = box.querySelector("[data-bulk-progress]");
    let pending = null;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      progress.textContent = "";
      try {
        const choice = form.elements.action.value;
        pending = bulkBody(box.dataset.q, choice, form.elements.param.value.trim());
        const dry = await post({ ...pending, dry_run: true });
        const label = form.elements.action.selectedOptions[0].textContent;
        count.textContent = dry.count + " run(s) match. " + label + " on all of them?";
        box.querySelector("[data-bulk-confirm]").hidden = dry.count === 0;
        preview.hidden = false;
      } catch (error) {
        pending = null;
        preview.hidden = true;
        progress.textContent = error.message;
      }
    });
    box.querySelector("[data-bulk-cancel]").addEventListener("click", () => {
      pending = null;
      preview.hidden = true;
    });
    box.querySelector("[data-bulk-confirm]").addEventListener("click", async () => {
      if (!pending) return;
      const body = pending;
      pending = null;
      preview.hidden = true;
      try {
        const started = await post(body);
        await follow(started.id, progress);
      } catch (error) {
        progress.textContent = error.message;
      }
    });
  }

  async function follow(id, progress) {
    for (;;) {
      const response = await fetch("/api/v1/bulk/" + encodeURIComponent(id) + "?results=false");
      const bulk = await response.json();
      progress.textContent = bulk.done + " done, " + bulk.refused + " refused of " + bulk.count +
        (bulk.status === "DONE" ? " — finished" : " …");
      progress.dataset.status = bulk.status;
      if (bulk.status === "DONE") return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  document.addEventListener("DOMContentLoaded", setup);
  document.addEventListener("DOMContentLoaded", setupBulk);
})();
