// Live counts on a survey campaign's page. The page renders the numbers itself (no
// JavaScript needed); this only refreshes them from the campaign's progress endpoint while
// the campaign can still move, and stops once it is finished or the endpoint refuses.
(function () {
  "use strict";

  var section = document.querySelector("[data-progress-url]");
  if (!section || !section.hasAttribute("data-progress-live") || !window.fetch) {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var seconds = parseInt(section.getAttribute("data-progress-interval"), 10) || 5;
  var timer = null;

  function show(display) {
    document.querySelectorAll("[data-progress-key]").forEach(function (element) {
      var key = element.getAttribute("data-progress-key");
      if (Object.prototype.hasOwnProperty.call(display, key)) {
        element.textContent = display[key];
      }
    });
  }

  function stop() {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  function refresh() {
    // A hidden tab does not need fresh numbers; the next visible tick catches up.
    if (document.hidden) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          stop();
          return null;
        }
        return response.json();
      })
      .then(function (data) {
        if (!data) {
          return;
        }
        show(data.display);
        if (!data.live) {
          stop();
        }
      })
      .catch(function () {
        // A network hiccup: keep the numbers shown and try again at the next tick.
      });
  }

  timer = window.setInterval(refresh, seconds * 1000);
})();
