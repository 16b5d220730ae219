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

  document.addEventListener("DOMContentLoaded", setup);
})();
