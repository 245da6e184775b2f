"""Instructions executed per request by the application alone (no HTTP server, no test client): the
framework's share of the floor, JWKS, discovery and the token endpoint, counted by callgrind.

    .venv/bin/python bench/request_instructions.py [--count 200] [--root DIR]

The set-up of ``server_throughput.py``; then each request is a WSGI call of the application with a
hand-made environ, as a server would make it (so Werkzeug's test client, a third of a request through
it, is not counted). Instrumentation is switched on around ``--count`` warm requests of each kind (the driver of
``callgrind.py``, shared with ``token_instructions.py``). ``--root`` measures another checkout;
``--keep DIR`` keeps the dumps (one per kind) for ``callgrind_annotate``.
"""
from __future__ import annotations

import argparse
import base64
import gc
import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from callgrind import measure, run_kinds  # noqa: E402

KINDS = {
    "GET /healthz": ("GET", "/healthz", ""),
    "GET /jwks.json": ("GET", "/jwks.json", ""),
    "GET /jwks.json?via=flask": ("GET", "/jwks.json", "via=flask"),
    "GET /.well-known/openid-configuration": ("GET", "/.well-known/openid-configuration", ""),
    "POST /token client_credentials": ("POST", "/token", ""),
}


def child(root: str, count: int) -> None:
    from urllib.parse import urlencode
    sys.path.insert(0, root)
    sys.path.insert(0, str(Path(root) / "bench"))
    import server_throughput as bench

    with tempfile.TemporaryDirectory() as tmp:
        app, ids = bench.prepare(tmp, "http://127.0.0.1:8000")
        app.config["TESTING"] = False
        client_id, secret = ids["batch"]
        authorization = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        form = urlencode({"grant_type": "client_credentials", "scope": "profile"}).encode()
        statuses = []

        def start_response(status, headers, exc_info=None):
            statuses.append(status)

        def call(method, path, query):
            environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
                       "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
                       "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "bench",
                       "HTTP_ACCEPT": "*/*", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
                       "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
                       "wsgi.run_once": False, "wsgi.version": (1, 0)}
            if method == "POST":
                environ.update({"wsgi.input": io.BytesIO(form), "CONTENT_LENGTH": str(len(form)),
                                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                                "HTTP_AUTHORIZATION": authorization})
            body = app(environ, start_response)
            b"".join(body)
            if hasattr(body, "close"):
                body.close()
            if not statuses[-1].startswith("200"):
                raise SystemExit(f"{method} {path}: {statuses[-1]}")

        for request in KINDS.values():  # warm-up: keys loaded, statements compiled
            for _ in range(3):
                call(*request)
        gc.collect()
        gc.freeze()
        run_kinds(((kind, lambda i, request=request: call(*request)) for kind, request in KINDS.items()), count)
        app.extensions["idp"].notifier.wait_idle(5)
        with app.app_context():
            from idp.extensions import db
            db.engine.dispose()


def driver(args) -> None:
    print(f"{'request':<40} {'M instr/request':>16} {'without signatures':>19}")
    for kind, total, signing, _ in measure(__file__, ["--root", args.root, "--count", str(args.count)], KINDS,
                                           args.keep):
        print(f"{kind:<40} {total / args.count / 1e6:>16.3f} {(total - signing) / args.count / 1e6:>19.3f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="requests of each kind")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout of the server to measure (default: this one)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the callgrind dumps there")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.root, args.count)
    else:
        driver(args)


if __name__ == "__main__":
    main()
