"""Instructions executed per token request (code exchange, refresh rotation, client credentials),
counted by callgrind: the same count run after run, whatever else the machine is doing.

    .venv/bin/python bench/token_instructions.py [--count 40] [--postgres URL] [--root DIR]

Runs the set-up of ``server_throughput.py`` (a fresh database, keys, a person, two clients, one real
login, the codes) under ``valgrind --tool=callgrind --instr-atstart=no``, then switches
instrumentation on (``callgrind_control -i on``) for ``--count`` warm requests of each kind and dumps
the counts of each kind separately. Prints, per kind, the instructions per request in all and without
the signatures (``EVP_PKEY_sign``: under valgrind OpenSSL takes its generic code paths, and the
signatures are the same in every version of the server). ``--root`` measures another checkout of the
server with this script (e.g. the version before a change); ``--keep DIR`` keeps the dumps (one per
kind) for ``callgrind_annotate``. The driver is ``callgrind.py``'s. Takes a few minutes.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from callgrind import measure, run_kinds  # noqa: E402

KINDS = ("authorization_code", "refresh_token", "client_credentials")


# --- inside valgrind ----------------------------------------------------------------------
def child(root: str, count: int, postgres: str | None) -> None:
    import contextlib
    import gc
    from urllib.parse import urlencode

    sys.path.insert(0, root)
    sys.path.insert(0, str(Path(root) / "bench"))
    import server_throughput as bench  # the set-up of the throughput script, from the measured checkout

    bench.DATABASE_URL = None
    database = bench.scratch_postgres(postgres) if postgres else contextlib.nullcontext(None)
    with database as url, tempfile.TemporaryDirectory() as tmp:
        bench.DATABASE_URL = url
        app, ids = bench.prepare(tmp, "http://localhost")
        portal_id, portal_secret = ids["portal"]
        client = app.test_client()
        _, location = bench.login_in_process(client, portal_id)
        client.get(location)
        codes = []
        for _ in range(count + 2):
            params, verifier = bench.auth_params(portal_id, prompt="none")
            query = bench.query_of(client.get("/authorize?" + urlencode(params)).headers["Location"])
            codes.append((query["code"], verifier))
        api = app.test_client()
        portal = bench.basic(portal_id, portal_secret)
        batch = bench.basic(*ids["batch"])
        refresh_tokens = []

        def post(headers, data):
            response = api.post("/token", headers=headers, data=data)
            if response.status_code != 200:
                raise SystemExit(f"token: HTTP {response.status_code}: {response.get_data(as_text=True)}")
            return response.get_json()

        def exchange(i):
            code, verifier = codes[i]
            refresh_tokens.append(post(portal, {"grant_type": "authorization_code", "code": code,
                                                "redirect_uri": bench.REDIRECT_URI,
                                                "code_verifier": verifier})["refresh_token"])

        def refresh(i):
            post(portal, {"grant_type": "refresh_token", "refresh_token": refresh_tokens[i]})

        def client_credentials(i):
            post(batch, {"grant_type": "client_credentials", "scope": "profile"})

        # warm-up: one request of each kind (keys loaded, statements compiled)
        exchange(count + 1)
        refresh(0)
        client_credentials(0)
        refresh_tokens.clear()
        gc.collect()
        gc.freeze()
        run_kinds(zip(KINDS, (exchange, refresh, client_credentials)), count)
        app.extensions["idp"].notifier.wait_idle(5)
        with app.app_context():
            from idp.extensions import db
            db.engine.dispose()


# --- the driver ---------------------------------------------------------------------------
def driver(args) -> None:
    child_args = ["--root", args.root, "--count", str(args.count)]
    if args.postgres:
        child_args += ["--postgres", args.postgres]
    results = {kind: (total, signing) for kind, total, signing, _ in measure(__file__, child_args, KINDS, args.keep)}
    print(f"{'operation':<28} {'M instr/request':>16} {'without signatures':>19}")
    for kind, (total, signing) in results.items():
        print(f"POST /token {kind:<16} {total / args.count / 1e6:>16.3f} {(total - signing) / args.count / 1e6:>19.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="requests of each kind")
    parser.add_argument("--postgres", metavar="URL", help="a scratch database on this PostgreSQL server")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout of the server to measure (default: this one)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the callgrind dumps there")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.root, args.count, args.postgres)
    else:
        driver(args)


if __name__ == "__main__":
    main()
