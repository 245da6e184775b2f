"""Headless Debian Chromium for the browser tests (never a downloaded browser)."""
from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: without the background-networking flags Chromium keeps trying.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000

# Every Content-Security-Policy violation, whatever reports it: Chromium's own console message
# ("Refused to ...", "Sending form data to ... violates ...") and the securitypolicyviolation event.
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error('CSP violation: ' + event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline')
                + ' on ' + event.documentURI);
}, true);
"""


class CspViolations:
    """Collects the CSP violations of every page of a browser context; ``check()`` fails on any."""

    def __init__(self, context):
        self.seen: list[str] = []
        context.add_init_script(_CSP_LISTENER)
        context.on("console", self._console)

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("CSP violation:"):
            self.seen.append(text)

    def check(self, page=None) -> None:
        if page is not None and not page.is_closed():
            page.evaluate("0")  # a round trip: console events sent before it have been delivered
        assert not self.seen, "Content-Security-Policy violations:\n" + "\n".join(self.seen)
