/* QR cross-device login, the desktop's side: ask the status of the QR code shown (div.qr-login) every
 * few seconds; once the other device approved, post the page's "continue" form. Denied or expired: say
 * so and offer a new code. The page works without it: the person presses "continue" after approving.
 */
(function () {
  "use strict";

  function setUp(box) {
    var statusUrl = box.getAttribute("data-status-url");
    var interval = Math.max(1, parseInt(box.getAttribute("data-interval"), 10) || 2) * 1000;
    var text = box.querySelector(".qr-status");
    var form = box.querySelector("form.qr-continue");
    var fresh = box.querySelector(".qr-new");
    var code = box.querySelector(".qr-code");
    var done = false;

    function say(key) { text.textContent = box.getAttribute("data-" + key); }

    function finish(key) {
      done = true;
      say(key);
      form.hidden = true;
      code.hidden = true;
      fresh.hidden = false;
    }

    function answer(status) {
      if (status === "approved") {
        done = true;
        say("approved");
        form.submit();
      } else if (status === "denied") {
        finish("denied");
      } else if (status === "expired" || status === "used" || status === "unknown") {
        finish("expired");
      } else if (status === "confirmed") {
        say("confirmed");
      }
    }

    function poll() {
      if (done) { return; }
      fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { code: response.status, body: body }; });
        })
        .then(function (reply) {
          if (reply.code === 429) {
            interval = Math.max(interval, (reply.body.interval || 4) * 1000);
          } else {
            answer(reply.body.status);
          }
          if (!done) { window.setTimeout(poll, interval); }
        })
        .catch(function () { finish("failed"); });
    }

    form.querySelector("button").hidden = true;  // the poller continues by itself
    window.setTimeout(poll, interval);
  }

  document.querySelectorAll("div.qr-login[data-status-url]").forEach(setUp);
}());
