// CRM admin page: keep the progress of unfinished resyncs up to date without a reload.
// Each unfinished resync is an element with data-progress-url (admin/crm_resyncs.html); its JSON
// is polled every few seconds until it says finished. Without JavaScript a reload shows the same numbers.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function format(n) {
    return Number(n || 0).toLocaleString("en");
  }

  function render(item, data) {
    ["done", "dead", "pending", "total"].forEach(function (name) {
      var el = item.querySelector('[data-field="' + name + '"]');
      if (el) el.textContent = format(data[name]);
    });
    var percent = item.querySelector('[data-field="percent"]');
    if (percent) percent.textContent = String(data.percent);
    var bar = item.querySelector("progress");
    if (bar) {
      bar.max = data.total || 1;
      bar.value = data.total ? data.done + data.dead : 1;
      bar.textContent = data.percent + "%";
    }
    var state = item.querySelector(".crm-resync-state");
    if (state) state.textContent = data.finished ? "finished" : "in progress";
  }

  function poll(item) {
    var url = item.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        render(item, data);
        if (data.finished) item.removeAttribute("data-progress-url");
        else window.setTimeout(function () { poll(item); }, POLL_MS);
      })
      .catch(function () {
        window.setTimeout(function () { poll(item); }, POLL_MS * 5);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".crm-resync[data-progress-url]").forEach(poll);
  });
})();
