"""Signing-key rotation under load: logins and token validations by the Python adapter while keys rotate.

    .venv/bin/python bench/key_rotation_load.py [--seconds 20] [--workers 4] [--rotations 3] [--prepublish 2]

Starts a live server on a loopback port with a fresh SQLite database, runs `--workers` threads doing
full logins (authorize, password, code exchange, ID-token validation) plus an access-token
validation each, rotates both key algorithms `--rotations` times, and prints throughput, latency
percentiles, the signing keys seen, and the number of failures (which must be 0).
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "functional"), str(ROOT / "adapters" / "python")]

from live_server import LiveServer  # noqa: E402
from test_key_rotation import REDIRECT_URI, _kid, _login  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="Minimum duration of the load.")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rotations", type=int, default=3)
    parser.add_argument("--prepublish", type=int, default=2, help="IDP_KEY_PREPUBLISH_SECONDS.")
    args = parser.parse_args()

    from idp_rp import AccessTokenValidator, RelyingParty, RPConfig
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise

    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp) / "idp", key_prepublish_seconds=args.prepublish,
                                                          id_token_ttl=60, access_token_ttl=60) as idp:
        person = idp.seed_person()
        client = idp.register_client(name="Bench portal", redirect_uris=[REDIRECT_URI])
        rp = RelyingParty(RPConfig(issuer=idp.issuer, client_id=client.client_id, client_secret=client.client_secret,
                                   base_url="http://127.0.0.1:9", session_secret="s" * 32, jwks_ttl=1,
                                   jwks_refetch_interval=3600))
        api = AccessTokenValidator(idp.issuer, client.client_id, jwks_ttl=1, jwks_refetch_interval=3600)
        latencies, failures, kids = [], [], set()
        lock, stop = threading.Lock(), threading.Event()

        def load():
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    claims, session = _login(rp, idp.issuer, person)
                    rp.validate_id_token(session.id_token, nonce=claims.get("nonce"))
                    api.validate(session.access_token)
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        kids.update((_kid(session.id_token), _kid(session.access_token)))
                except Exception as exc:  # noqa: BLE001 - counted and printed
                    with lock:
                        failures.append(repr(exc))

        def rotate():
            with idp.app.app_context():
                manager = idp.app.extensions["idp"].keys
                for _ in range(args.rotations):
                    created = {k.alg: k.kid for k in manager.rotate()}
                    while not stop.is_set() and any(manager.signing_key(a).kid != k for a, k in created.items()):
                        time.sleep(0.2)

        threads = [threading.Thread(target=load) for _ in range(args.workers)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        rotator = threading.Thread(target=rotate)
        rotator.start()
        rotator.join()
        remaining = args.seconds - (time.perf_counter() - began)
        if remaining > 0:
            time.sleep(remaining)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began

    done = len(latencies)
    print(f"duration            {elapsed:8.1f} s")
    print(f"logins validated    {done:8d}  ({done / elapsed:.1f}/s, each: login + ID token + access token)")
    if latencies:
        ordered = sorted(latencies)
        print(f"latency p50         {statistics.median(ordered) * 1000:8.1f} ms")
        print(f"latency p95         {ordered[int(0.95 * (len(ordered) - 1))] * 1000:8.1f} ms")
    print(f"rotations           {args.rotations:8d}  (both algorithms; pre-publication {args.prepublish} s)")
    print(f"signing keys seen   {len(kids):8d}")
    print(f"failures            {len(failures):8d}")
    for failure in failures[:5]:
        print("  ", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
