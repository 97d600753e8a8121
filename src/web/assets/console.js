// connecting console: the live queue. Every second the rows of the queue are fetched again
// (same filters) and replaced when they changed; nothing else runs in the page.
(function () {
  "use strict";
  var body = document.getElementById("queue-rows");
  if (!body) return;
  var src = body.getAttribute("data-src");
  var last = body.innerHTML;
  function tick() {
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        // The session ended: the page says how to log in again.
        if (r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== last) {
          body.innerHTML = html;
          last = html;
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, 1000); });
  }
  setTimeout(tick, 1000);
})();
