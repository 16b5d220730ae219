// The run diff page: "only differences" hides the rows that are the same, at once (the
// choice is kept in the URL as only=1; without this file the form's Apply button does it).
"use strict";

function setupRunDiff() {
  const diff = document.getElementById("diff");
  const toggle = document.getElementById("only-differences");
  if (!diff || !toggle) return;
  toggle.addEventListener("change", () => {
    diff.classList.toggle("only-differences", toggle.checked);
    const url = new URL(location.href);
    if (toggle.checked) url.searchParams.set("only", "1");
    else url.searchParams.delete("only");
    history.replaceState(null, "", url);
  });
}

document.addEventListener("DOMContentLoaded", setupRunDiff);
