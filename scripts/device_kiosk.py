#!/usr/bin/env python3
"""A self-service kiosk logging a person in with the OAuth 2.0 Device Authorization Grant (RFC 8628).

It knows only the issuer and its client_id: the endpoints come from the discovery document. It shows
the code and the address to open on a phone or computer, polls the token endpoint at the interval the
server asks for (slowing down when told to), and on success greets the person by name.

    python scripts/device_kiosk.py http://localhost:8000 --client-id demo-kiosk

Only the Python standard library: a kiosk image needs nothing else. Exit status: 0 logged in,
2 the person denied, 3 the code expired, 1 any other error.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class ServerError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status} {body}")
        self.status, self.error = status, body.get("error")
        self.description = body.get("error_description", "")


def call(url: str, data: dict | None = None, headers: dict | None = None, timeout: float = 10) -> dict:
    """GET (or POST a form) and return the JSON answer; an OAuth error answer raises ServerError."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            answer = json.load(error)
        except ValueError:
            answer = {}
        raise ServerError(error.code, answer if isinstance(answer, dict) else {}) from None


def client_auth(client_id: str, secret: str | None) -> tuple[dict, dict]:
    """(form fields, headers) that authenticate the kiosk: client_secret_basic, or a public client_id."""
    if secret:
        pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
        return {}, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {"client_id": client_id}, {}


def show(grant: dict, out) -> None:
    print("=" * 60, file=out)
    print("请在手机或电脑上打开 / On your phone or computer open:", file=out)
    print(f"    {grant['verification_uri']}", file=out)
    print(f"输入验证码 / and enter the code:   {grant['user_code']}", file=out)
    if grant.get("verification_uri_complete"):
        print(f"(或直接打开 / or open directly: {grant['verification_uri_complete']})", file=out)
    print(f"有效期 / valid for {grant['expires_in'] // 60} min", file=out)
    print("=" * 60, file=out, flush=True)


def run(issuer: str, client_id: str, secret: str | None, scope: str, out=sys.stdout) -> int:
    metadata = call(issuer.rstrip("/") + "/.well-known/openid-configuration")
    fields, headers = client_auth(client_id, secret)
    grant = call(metadata["device_authorization_endpoint"], {**fields, "scope": scope}, headers)
    show(grant, out)
    interval = int(grant.get("interval", 5))
    deadline = time.monotonic() + int(grant["expires_in"])
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            tokens = call(metadata["token_endpoint"], {**fields, "grant_type": DEVICE_GRANT,
                                                       "device_code": grant["device_code"]}, headers)
        except ServerError as error:
            if error.error == "authorization_pending":
                print("等待确认 / waiting for approval ...", file=out, flush=True)
                continue
            if error.error == "slow_down":
                interval += 5  # RFC 8628 3.5, for this and every later request
                print(f"放慢轮询 / slowing down to every {interval} s", file=out, flush=True)
                continue
            if error.error == "access_denied":
                print("已被拒绝 / the request was denied", file=out, flush=True)
                return 2
            if error.error == "expired_token":
                print("验证码已过期 / the code expired; start again", file=out, flush=True)
                return 3
            print(f"错误 / error: {error.error} {error.description}", file=out, flush=True)
            return 1
        user = call(metadata["userinfo_endpoint"], headers={"Authorization": "Bearer " + tokens["access_token"]})
        print(f"欢迎 / welcome, {user.get('name') or user['sub']}", file=out)
        print(json.dumps({"sub": user["sub"], "name": user.get("name"), "scope": tokens.get("scope"),
                          "refresh_token": bool(tokens.get("refresh_token")),
                          "id_token": bool(tokens.get("id_token"))}, ensure_ascii=False), file=out, flush=True)
        return 0
    print("验证码已过期 / the code expired; start again", file=out, flush=True)
    return 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("issuer", help="the identity server's issuer, e.g. http://localhost:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=None, help="for a confidential kiosk (client_secret_basic)")
    parser.add_argument("--scope", default="openid profile")
    args = parser.parse_args(argv)
    try:
        return run(args.issuer, args.client_id, args.client_secret, args.scope)
    except ServerError as error:
        print(f"错误 / error: {error.status} {error.error} {error.description}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
