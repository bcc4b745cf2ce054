// Live parts of the console: when the record changes, the #live part of the page is fetched again.
// Forms sit outside #live, so a reply being typed is never lost. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var source = new EventSource(live.getAttribute("data-events"));
  var busy = false;
  function refresh() {
    if (busy) { return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { window.location.reload(); return null; }
        return response.text();
      })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh) { live.innerHTML = fresh.innerHTML; live.setAttribute("data-updated", String(Date.now())); }
      })
      .finally(function () { busy = false; });
  }
  source.addEventListener("change", refresh);
  // The stream compares against the record as it was when it connected: a change between rendering the page
  // and connecting (a delivery receipt a moment after sending) would be missed, so fetch once on (re)connect.
  source.addEventListener("open", refresh);
  source.addEventListener("logout", function () { source.close(); window.location.assign("/console/login"); });
})();
