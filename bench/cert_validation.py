"""Milliseconds per certificate login (path validation, warm CRL cache, identity extraction).

    .venv/bin/python bench/cert_validation.py [--rounds 300]

Generates the demo PKI into a temporary directory, warms the CRL cache once, then times
``TrustStore.authenticate`` for each demo CA's citizen certificate.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idp.pki import TrustStore, demo, sm2  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        manifest = demo.generate(tmp)
        print(f"demo PKI generated in {1000 * (time.perf_counter() - started):.0f} ms")
        store = TrustStore.from_directory(Path(tmp) / "profiles")
        problems = store.warm()
        if problems:
            sys.exit(f"CRL warm-up failed: {problems}")
        print(f"SM2 backend: {sm2.backend_name()}")
        for ca in demo.CAS:
            entry = next(c for c in manifest["certificates"] if c["ca"] == ca and c["role"] == "person")
            cert = (Path(tmp) / entry["cert"]).read_bytes()
            chain = [(Path(tmp) / p).read_bytes() for p in entry["chain"]]
            store.authenticate(cert, chain)          # first call: parses and verifies the CRLs
            times = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                store.authenticate(cert, chain)
                times.append(1000 * (time.perf_counter() - t))
            times.sort()
            print(f"{ca:<14} {demo.CAS[ca]['key']:<4} median {statistics.median(times):6.2f} ms"
                  f"   p95 {times[int(0.95 * len(times)) - 1]:6.2f} ms   ({args.rounds} rounds)")


if __name__ == "__main__":
    main()
