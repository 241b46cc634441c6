// Live updates for staff pages: an EventSource on /api/events raises the badge on every page and
// refreshes the referral list in place (no reload) when a new referral or an escalation arrives.
(function () {
  "use strict";
  var badge = document.getElementById("badge");
  if (!badge || !window.EventSource) { return; }
  var live = document.getElementById("live");
  var unseen = 0;

  function refreshList() {
    if (!live) { return; }
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { live.innerHTML = html; } });
  }

  var source = new EventSource("/api/events");
  source.addEventListener("referral", function () {
    unseen += 1;
    badge.textContent = String(unseen);
    badge.hidden = false;
    refreshList();
  });
})();
