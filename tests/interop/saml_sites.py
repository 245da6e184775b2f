"""What the tests with real SAML service providers (mod_auth_mellon, the Shibboleth SP) share: the OIDC
portal next to the SAML site, the SP's key pair, and the scripted browser's steps (idp's login form, the
auto-submitting SAML forms)."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
from contextlib import ExitStack
from pathlib import Path

import requests

from live_server import ServerThread


def start_portal(stack: ExitStack, idp) -> dict:
    """The demo portal (an OIDC client with back-channel logout) on a loopback port."""
    from demo_portal import create_app as create_portal

    portal = stack.enter_context(ServerThread())
    client = idp.register_client(
        name="社保门户 Portal", redirect_uris=[portal.base_url + "/oidc/callback"],
        post_logout_redirect_uris=[portal.base_url + "/"],
        backchannel_logout_uri=portal.base_url + "/oidc/backchannel-logout", scopes=["openid", "profile"])
    portal.app = create_portal(title="Portal", port=portal.port, base_url=portal.base_url, issuer=idp.issuer,
                               client_id=client.client_id, client_secret=client.client_secret,
                               secret_key="portal-" + secrets.token_hex(8))
    return {"portal": portal.base_url + "/profile", "portal_base": portal.base_url, "client": client.client_id}


def make_key_pair(key: Path, cert: Path) -> None:
    """The SP's own signing/encryption key pair (self-signed, as SAML metadata carries it)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)


def give_to_apache(apache, directory: Path) -> None:
    """The files in ``directory`` readable by Apache's children (they run as an unprivileged user)."""
    if apache.user is not None:
        for path in directory.iterdir():
            os.chown(path, apache.user.pw_uid, apache.user.pw_gid)


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def post_saml_form(browser, page):
    """What the auto-submitting form does: post its hidden fields to its action."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([A-Za-z]+)" value="([^"]*)">', page.text))
    assert "SAMLResponse" in fields, page.text[:500]
    return browser.post(action, data=fields, timeout=15)


def login(browser, page, person):
    """Post idp's login form with the person's ID number and password."""
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', page.text))
    return browser.post(page.url.split("?")[0], data={**fields, "username": person.id_number,
                                                        "password": person.password}, timeout=15)


def signed_in_at_saml_site(page, site_url: str, idp) -> str:
    """The protected page shows the person's name; returns REMOTE_USER (the NameID)."""
    assert page.status_code == 200 and page.url == site_url, (page.status_code, page.url, page.text[:300])
    assert f'<span id="name">{idp.person.name}</span>' in page.text, page.text[:800]
    user = re.search(r'<span id="user">([^<]*)</span>', page.text).group(1)
    assert user and user != idp.person.public_id      # the NameID, never the person's public id
    return user


def portal_needs_no_password(browser, realm) -> None:
    idp = realm["idp"]
    portal = browser.get(realm["portal"], timeout=15)          # no password: the same SSO session
    assert portal.status_code == 200 and portal.url == realm["portal"] and idp.person.name in portal.text
    assert not any(r.url.startswith(idp.issuer + "/login") for r in portal.history)


def signed_out_everywhere(browser, realm) -> None:
    """Both sites, and the identity server, ask for the password again."""
    idp = realm["idp"]
    portal = browser.get(realm["portal"], allow_redirects=False, timeout=10)
    assert portal.status_code == 302 and portal.headers["Location"].startswith(idp.issuer + "/authorize?")
    saml_site = browser.get(realm["saml"], timeout=15)
    assert saml_site.url.startswith(idp.issuer + "/login?"), (saml_site.url, [r.url for r in saml_site.history])
