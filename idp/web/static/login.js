/* Login page behaviour; the page works without it.
 *
 * 1. Tabs. Each [data-tabs] block has a list of links (one per panel) followed by its panels; the server
 *    opens the panel named in the URL. Here the links become ARIA tabs (WAI-ARIA Authoring Practices,
 *    "Tabs with automatic activation"): arrow keys, Home and End move between them, one tab stop.
 *
 * 2. USB key signing software. A form.usbkey-form carries the challenge in data-challenge and
 *    data-challenge-id. Pressing "Sign" dispatches an "idp-sign-request" event on the form (bubbling,
 *    detail: {challenge, challengeId, expiresIn}); the signing software's browser extension answers
 *    with an "idp-signed" event on the same form whose detail is the signer's JSON output (a string
 *    or an object), or fills the "signed" field itself. The form is then submitted.
 */
(function () {
  "use strict";

  function setUpTabs(container) {
    var list = container.querySelector(":scope > .tab-list");
    if (!list) { return; }
    var tabs = Array.prototype.slice.call(list.querySelectorAll(":scope > li > a.tab"));
    list.setAttribute("role", "tablist");
    tabs.forEach(function (tab) {
      var panel = document.getElementById(tab.getAttribute("data-panel"));
      tab.parentNode.setAttribute("role", "presentation");
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      var open = !panel.hidden;
      tab.setAttribute("aria-selected", open ? "true" : "false");
      tab.setAttribute("tabindex", open ? "0" : "-1");
      tab.removeAttribute("aria-current");
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        select(tab);
      });
      tab.addEventListener("keydown", function (event) {
        var index = tabs.indexOf(tab), next = null;
        if (event.key === "ArrowRight" || event.key === "ArrowDown") { next = tabs[(index + 1) % tabs.length]; }
        else if (event.key === "ArrowLeft" || event.key === "ArrowUp") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
        else if (event.key === "Home") { next = tabs[0]; }
        else if (event.key === "End") { next = tabs[tabs.length - 1]; }
        if (next) {
          event.preventDefault();
          select(next);
          next.focus();
        }
      });
    });

    function select(chosen) {
      tabs.forEach(function (tab) {
        var on = tab === chosen;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.setAttribute("tabindex", on ? "0" : "-1");
        document.getElementById(tab.getAttribute("data-panel")).hidden = !on;
      });
      rememberInUrl(chosen.href);
    }
  }

  /* The address bar and the language links follow the open tab, so a reload or a language switch keeps it. */
  function rememberInUrl(href) {
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", href);
    }
    document.querySelectorAll("nav.lang a[hreflang]").forEach(function (link) {
      var url = new URL(href, window.location.href);
      url.searchParams.set("lang", new URL(link.href).searchParams.get("lang"));
      link.href = url.pathname + url.search;
    });
  }

  function setUpSigning(form) {
    var button = form.querySelector(".sign-with-agent");
    var missing = form.querySelector(".agent-missing");
    var field = form.querySelector("textarea[name=signed]");
    var timer = null;
    form.addEventListener("idp-signed", function (event) {
      var signed = event.detail;
      if (timer) { window.clearTimeout(timer); }
      field.value = typeof signed === "string" ? signed : JSON.stringify(signed);
      missing.hidden = true;
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
    button.hidden = false;
    button.addEventListener("click", function () {
      missing.hidden = true;
      form.dispatchEvent(new CustomEvent("idp-sign-request", {
        bubbles: true,
        detail: {challenge: form.getAttribute("data-challenge"),
                 challengeId: form.getAttribute("data-challenge-id"),
                 expiresIn: Number(form.getAttribute("data-expires-in"))}
      }));
      timer = window.setTimeout(function () {
        if (!field.value) { missing.hidden = false; }
      }, 5000);
    });
  }

  document.querySelectorAll("[data-tabs]").forEach(setUpTabs);
  document.querySelectorAll("form.usbkey-form").forEach(setUpSigning);
}());
