"""Instructions executed per token request (code exchange, refresh rotation, client credentials),
counted by callgrind: the same count run after run, whatever else the machine is doing.

    .venv/bin/python bench/token_instructions.py [--count 40] [--postgres URL] [--root DIR]

Runs the set-up of ``server_throughput.py`` (a fresh database, keys, a person, two clients, one real
login, the codes) under ``valgrind --tool=callgrind --instr-atstart=no``, then switches
instrumentation on (``callgrind_control -i on``) for ``--count`` warm requests of each kind and dumps
the counts of each kind separately. Prints, per kind, the instructions per request in all and without
the signatures (``EVP_PKEY_sign``: under valgrind OpenSSL takes its generic code paths, and the
signatures are the same in every version of the server). ``--root`` measures another checkout of the
server with this script (e.g. the version before a change). Takes a few minutes.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

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
        for kind, call in zip(KINDS, (exchange, refresh, client_credentials)):
            print(f"READY {kind}", flush=True)
            sys.stdin.readline()
            for i in range(count):
                call(i)
            print(f"DONE {kind}", flush=True)
            sys.stdin.readline()
        app.extensions["idp"].notifier.wait_idle(5)
        with app.app_context():
            from idp.extensions import db
            db.engine.dispose()


# --- the driver ---------------------------------------------------------------------------
def total_and_signing(path: Path) -> tuple[int, int]:
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(path)],
                               capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", annotated, re.M).group(1).replace(",", ""))
    signing = 0
    for line in annotated.splitlines():
        match = re.match(r"^\s*([\d,]+) \([^)]*\)\s+\S*:?EVP_PKEY_sign(?:\s|$| )", line)
        if match:
            signing = max(signing, int(match.group(1).replace(",", "")))
    return total, signing


def driver(args) -> None:
    out = Path(tempfile.mkdtemp(prefix="callgrind-"))
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
               sys.executable, __file__, "--child", "--root", args.root, "--count", str(args.count)]
    if args.postgres:
        command += ["--postgres", args.postgres]
    # a fixed hash seed: the same dict and set layouts, so the same count, run after run
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONHASHSEED="0"))
    pid = str(process.pid)
    results = {}
    for kind in KINDS:
        line = process.stdout.readline()
        if not line.startswith("READY"):
            process.kill()
            raise SystemExit(f"child: {line!r}")
        subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        process.stdin.write("\n")
        process.stdin.flush()
        if not process.stdout.readline().startswith("DONE"):
            process.kill()
            raise SystemExit("child stopped")
        subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-d", kind, pid], check=True, capture_output=True)
        dumps = sorted(out.glob(f"cg.{pid}*"), key=os.path.getmtime)
        results[kind] = total_and_signing(dumps[-1])
        process.stdin.write("\n")
        process.stdin.flush()
    process.wait(timeout=600)
    print(f"{'operation':<28} {'M instr/request':>16} {'without signatures':>19}")
    for kind, (total, signing) in results.items():
        print(f"POST /token {kind:<16} {total / args.count / 1e6:>16.3f} {(total - signing) / args.count / 1e6:>19.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="requests of each kind")
    parser.add_argument("--postgres", metavar="URL", help="a scratch database on this PostgreSQL server")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout of the server to measure (default: this one)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.root, args.count, args.postgres)
    else:
        driver(args)


if __name__ == "__main__":
    main()
