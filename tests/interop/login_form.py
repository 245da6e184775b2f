"""A person's way through the identity server's login page, done with ``requests``."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the login page has no CSRF token"
    return match.group(1)


def _hidden(html: str, name: str) -> str | None:
    match = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    return match.group(1) if match else None


def login_and_capture_callback(session: requests.Session, authorization_url: str, *, username: str,
                               password: str, redirect_uri: str, max_hops: int = 10) -> str:
    """Open ``authorization_url``, sign in on the login page if asked, and return the URL the server
    redirects to under ``redirect_uri`` (not followed: no relying party listens there)."""
    url, method, data = authorization_url, "GET", None
    logged_in = False
    for _ in range(max_hops):
        response = session.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.status_code in (301, 302, 303, 307, 308):
            location = urljoin(url, response.headers["Location"])
            if location.startswith(redirect_uri):
                return location
            url, method, data = location, "GET", None
            continue
        assert response.status_code == 200, f"{method} {url} -> {response.status_code}: {response.text[:500]}"
        path = urlsplit(url).path
        assert path == "/login" and not logged_in, f"unexpected page at {url}: {response.text[:500]}"
        form = {"csrf_token": _csrf_token(response.text), "username": username, "password": password}
        tx = _hidden(response.text, "tx") or parse_qs(urlsplit(url).query).get("tx", [None])[0]
        if tx:
            form["tx"] = tx
        url, method, data = urljoin(url, "/login"), "POST", form
        logged_in = True
    raise AssertionError(f"no redirect to {redirect_uri} after {max_hops} hops")
