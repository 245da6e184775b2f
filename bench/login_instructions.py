"""Instructions of a successful password login (``POST /login``) besides its argon2id verification,
and of an SSO hop (``/authorize`` with a session), counted by callgrind: what the server's own code
decides of a person's way in.

    .venv/bin/python bench/login_instructions.py [--count 20] [--root DIR] [--keep DIR]

The set-up of ``server_throughput.py`` (a SQLite database, one person, a code-flow client). Before the
count, each login is prepared through Werkzeug's test client: ``/authorize``, the login page (its CSRF
token and cookies). Only the ``POST /login`` itself is counted, as a WSGI call of the application with
the environ a server would hand it; it must answer 302 back to ``/authorize``. The argon2id
verification is the inclusive count of ``argon2_verify`` (the C library's entry point); "the rest" is
everything else the request executed. The SSO hop is ``GET /authorize?prompt=none`` from a browser
that has logged in, answered with a code (session read, consent and nonce checks, the code saved with
its audit record). Instructions are not seconds (argon2id is memory-bound and takes
longer per instruction than Python does), so the script also prints a time split measured in the same
process without valgrind, logins and verifications alone taking turns: the medians of each.
"""
from __future__ import annotations

import argparse
import gc
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from callgrind import measure, run_kinds  # noqa: E402

KIND = "POST /login (password, success)"
HOP = "GET /authorize prompt=none (SSO hop, code issued)"


def inclusive(dump: Path, symbol: str) -> int:
    """The inclusive instruction count of ``symbol`` in a callgrind dump (0 when it never ran)."""
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
                               capture_output=True, text=True, check=True).stdout
    counts = [int(match.group(1).replace(",", "")) for match in
              re.finditer(rf"^\s*([\d,]+) \([^)]*\)\s+\S*:?{symbol}(?:\s|$)", annotated, re.M)]
    return max(counts, default=0)


def prepared_logins(app, bench, client_id: str, count: int) -> list[tuple[dict, str]]:
    """``count`` login forms ready to post: (WSGI environ, its body) each, from a browser of its own."""
    from werkzeug.test import EnvironBuilder
    logins = []
    for _ in range(count):
        client = app.test_client()
        params, _ = bench.auth_params(client_id)
        location = client.get("/authorize?" + urlencode(params)).headers["Location"]
        page = client.get(location)
        bench.expect(page.status_code, 200, "login page")
        form = {"csrf_token": bench.csrf_token(page.get_data(as_text=True)), "username": bench.ID_NUMBER,
                "password": bench.PASSWORD, "tx": bench.query_of(location)["tx"]}
        cookies = "; ".join(f"{cookie.key}={cookie.value}" for cookie in client._cookies.values())
        builder = EnvironBuilder(path="/login", method="POST", data=form, base_url="http://127.0.0.1:8000",
                                 headers={"Cookie": cookies, "User-Agent": "bench", "Accept": "text/html"},
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
        environ = builder.get_environ()
        logins.append((environ, environ["wsgi.input"].read()))
    return logins


def prepared_hops(app, bench, client_id: str, count: int) -> list[dict]:
    """``count`` authorization requests (prompt=none, each its own state, nonce and PKCE challenge) of one
    browser that has logged in: the hop to another portal of the same person, answered with a code."""
    from werkzeug.test import EnvironBuilder
    client = app.test_client()
    bench.login_in_process(client, client_id)
    cookies = "; ".join(f"{cookie.key}={cookie.value}" for cookie in client._cookies.values())
    hops = []
    for _ in range(count):
        params, _ = bench.auth_params(client_id, prompt="none")
        hops.append(EnvironBuilder(path="/authorize", query_string=params, base_url="http://127.0.0.1:8000",
                                   headers={"Cookie": cookies, "User-Agent": "bench", "Accept": "text/html"},
                                   environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ())
    return hops


def child(root: str, count: int, timing: bool) -> None:
    import io
    sys.path.insert(0, root)
    sys.path.insert(0, str(Path(root) / "bench"))
    import server_throughput as bench

    with tempfile.TemporaryDirectory() as tmp:
        app, ids = bench.prepare(tmp, "http://127.0.0.1:8000")
        app.config["TESTING"] = False
        client_id = ids["portal"][0]
        answers = []

        def start_response(status, headers, exc_info=None):
            answers.append((status, dict(headers)))

        def post(login) -> float:
            environ, body = login
            environ = dict(environ, **{"wsgi.input": io.BytesIO(body)})
            started = time.perf_counter()
            response = app(environ, start_response)
            b"".join(response)
            if hasattr(response, "close"):
                response.close()
            elapsed = time.perf_counter() - started
            status, headers = answers[-1]
            if not status.startswith("302") or "/authorize" not in headers.get("Location", ""):
                raise SystemExit(f"POST /login: {status} to {headers.get('Location')}")
            return elapsed

        for login in prepared_logins(app, bench, client_id, 3):  # warm-up: statements compiled, templates loaded
            post(login)
        if timing:
            from idp.identity.passwords import verify_password
            from idp.identity.service import find_person
            from idp.identity.identifiers import parse_login_identifier
            with app.app_context():
                stored = find_person(parse_login_identifier(bench.ID_NUMBER)).password_hash
            logins, verifies = [], []
            for login in prepared_logins(app, bench, client_id, count):  # interleaved: noise hits both alike
                logins.append(post(login))
                started = time.perf_counter()
                verify_password(bench.PASSWORD, stored)
                verifies.append(time.perf_counter() - started)
            login_ms, verify_ms = statistics.median(logins) * 1e3, statistics.median(verifies) * 1e3
            print(f"TIMING {login_ms:.2f} {verify_ms:.2f}", flush=True)
            return
        def hop(environ) -> None:
            response = app(environ, start_response)
            b"".join(response)
            if hasattr(response, "close"):
                response.close()
            status, headers = answers[-1]
            if not status.startswith("302") or "code=" not in headers.get("Location", ""):
                raise SystemExit(f"GET /authorize: {status} to {headers.get('Location')}")

        for environ in prepared_hops(app, bench, client_id, 3):
            hop(environ)
        logins = prepared_logins(app, bench, client_id, count)
        hops = prepared_hops(app, bench, client_id, count)
        gc.collect()
        gc.freeze()
        run_kinds([(KIND, lambda i: post(logins[i])), (HOP, lambda i: hop(hops[i]))], count)
        app.extensions["idp"].notifier.wait_idle(5)


def driver(args) -> None:
    timing = subprocess.run([sys.executable, __file__, "--child", "--timing", "--root", args.root,
                             "--count", str(max(args.count, 30))], capture_output=True, text=True, check=True)
    login_ms, verify_ms = map(float, re.search(r"^TIMING (\S+) (\S+)$", timing.stdout, re.M).groups())
    for kind, total, _, dump in measure(__file__, ["--root", args.root, "--count", str(args.count)], [KIND, HOP],
                                        args.keep):
        if kind == HOP:
            print(f"{kind}: {total / args.count / 1e6:.3f} M instructions per request")
            continue
        argon2 = inclusive(dump, "argon2_verify")
        rest = total - argon2
        print(f"{kind}: {total / args.count / 1e6:.2f} M instructions per login, argon2id verification "
              f"{argon2 / args.count / 1e6:.2f} M, the rest {rest / args.count / 1e6:.3f} M "
              f"({rest / total:.1%} of the login)")
    print(f"time, same process without valgrind (medians of {max(args.count, 30)}): login {login_ms:.2f} ms, "
          f"argon2id verification alone {verify_ms:.2f} ms, the rest {login_ms - verify_ms:.2f} ms "
          f"({(login_ms - verify_ms) / login_ms:.1%} of the login)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="logins counted")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout of the server to measure (default: this one)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the callgrind dump there")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--timing", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.root, args.count, args.timing)
    else:
        driver(args)


if __name__ == "__main__":
    main()
