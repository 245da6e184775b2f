"""What a person is told on the project's own HTTP error pages (404, 405, 500 …), by status code.

Werkzeug's own names and descriptions ("Not Found", "The requested URL was not found on the server…")
are English only; the pages use these messages instead and show the status code in small print.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as N_

PAGES = {
    400: (N_("The request could not be understood"),
          N_("The page received incomplete or malformed data. Go back and try again.")),
    401: (N_("Please log in first"), N_("This page is only for people who are logged in.")),
    403: (N_("Access denied"), N_("You are not allowed to open this page.")),
    404: (N_("Page not found"),
          N_("The address may be mistyped, or the page has moved. Check the address or start from the home page.")),
    405: (N_("This action is not possible here"),
          N_("The page does not accept this kind of request. Go back and use the page's buttons and links.")),
    408: (N_("The request took too long"), N_("Please try again.")),
    413: (N_("The submitted data is too large"), N_("Send less data and try again.")),
    429: (N_("Too many requests"), N_("Wait a moment and try again.")),
    500: (N_("Something went wrong"), N_("Please try again later.")),
    503: (N_("The service is temporarily unavailable"), N_("Please try again later.")),
}
OTHER = (N_("The request could not be completed"), N_("Please try again later."))


def http_error_page(code: int | None) -> tuple[str, str]:
    """(title, description) in the current language for an HTTP status."""
    title, description = PAGES.get(code or 500, OTHER if (code or 500) < 500 else PAGES[500])
    return str(title), str(description)
