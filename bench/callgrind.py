"""The callgrind driver shared by ``request_instructions.py`` and ``token_instructions.py``.

A script runs itself as a child under ``valgrind --tool=callgrind --instr-atstart=no`` with a fixed
``PYTHONHASHSEED`` (the same dict and set layouts, so the same count run after run). The child sets up,
then for each kind of request prints ``READY <kind>``, waits for a line on stdin, makes its requests,
prints ``DONE <kind>`` and waits again (``run_kinds``). Around each kind the driver zeroes the counters,
switches instrumentation on, switches it off and dumps (``measure``), so each kind has a dump of its own:
the counts of the requests alone, without the set-up.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator


# --- inside valgrind ----------------------------------------------------------------------
def run_kinds(calls: Iterable[tuple[str, Callable[[int], object]]], count: int) -> None:
    """In the child: ``count`` calls of each kind, each between a READY and a DONE handshake."""
    for kind, call in calls:
        print(f"READY {kind}", flush=True)
        sys.stdin.readline()
        for i in range(count):
            call(i)
        print(f"DONE {kind}", flush=True)
        sys.stdin.readline()


# --- the driver ---------------------------------------------------------------------------
def total_and_signing(path: Path) -> tuple[int, int]:
    """Instructions of a dump in all, and inclusive in ``EVP_PKEY_sign`` (the signatures: under valgrind
    OpenSSL takes its generic code paths, and they are the same in every version of the server)."""
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(path)],
                               capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", annotated, re.M).group(1).replace(",", ""))
    signing = 0
    for line in annotated.splitlines():
        match = re.match(r"^\s*([\d,]+) \([^)]*\)\s+\S*:?EVP_PKEY_sign(?:\s|$| )", line)
        if match:
            signing = max(signing, int(match.group(1).replace(",", "")))
    return total, signing


def measure(script: str, child_args: list[str], kinds: Iterable[str], keep: Path | None = None,
            ) -> Iterator[tuple[str, int, int, Path]]:
    """Run ``script --child *child_args`` under callgrind; yield (kind, instructions, of them in the
    signatures, the dump) per kind as its requests end. ``keep``: where the dumps stay (for
    ``callgrind_annotate``); a temporary folder otherwise."""
    out = keep or Path(tempfile.mkdtemp(prefix="callgrind-"))
    out.mkdir(parents=True, exist_ok=True)
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
               sys.executable, script, "--child", *child_args]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONHASHSEED="0"))
    pid = str(process.pid)

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)

    def step(expected: str) -> None:
        line = process.stdout.readline()
        if not line.startswith(expected):
            process.kill()
            raise SystemExit(f"child: expected {expected}, got {line!r}")

    try:
        for number, kind in enumerate(kinds):
            step("READY")
            control("-z")
            control("-i", "on")
            process.stdin.write("\n")
            process.stdin.flush()
            step("DONE")
            control("-i", "off")
            control("-d", f"kind{number}")
            dump = max(out.glob(f"cg.{pid}*"), key=os.path.getmtime)
            total, signing = total_and_signing(dump)
            yield kind, total, signing, dump
            process.stdin.write("\n")
            process.stdin.flush()
        process.wait(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
