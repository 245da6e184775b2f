"""Password login latency with N people in PostgreSQL (10k, 10M), and what the login's queries cost there.

    .venv/bin/python bench/login_latency.py [--people 10M] [--measured 200] [--logins 400]
        [--concurrency 2] [--postgres URL] [--quick]

1. A scratch database on the PostgreSQL server (``--postgres``, default 127.0.0.1:5432; dropped at the
   end), its schema made by the migrations, then ``--people`` persons loaded with COPY (psycopg's
   ``cursor.copy``) into the real ``persons`` table: valid GB 11643 ID numbers (check character
   included; ``id_number(i)``, distinct for distinct i), random public ids, one precomputed argon2id
   hash shared by all but the ``--measured`` accounts, which are spread at random over the table and
   each have a password and hash of their own. The table's indexes (as the migrations made them) are
   dropped for the load and created again from their own definitions afterwards (one sort each
   instead of 10M random B-tree inserts); then VACUUM (ANALYZE) and a CHECKPOINT, so that neither
   autovacuum nor the load's dirty pages are at work during the measurement.
2. The login's queries: one login in process with every SQL statement recorded, then EXPLAIN
   (ANALYZE, BUFFERS) of each SELECT with its parameters: the plan, whether it uses an index, the time.
3. One node behind nginx as ``cluster_throughput.py`` deploys it (granian as the Dockerfile runs it,
   pinned to CPU 0; Redis for sessions; the browsers on CPU 1): ``--logins`` whole login page flows,
   ``--concurrency`` at a time, each as a random measured account with fresh cookies; p50/p99 of the
   ``POST /login``.

``--people`` takes 10000, 10k or 10M. 10M rows are about 3 GB with their indexes and take minutes.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent / "tests")]

import cluster_throughput as ct  # noqa: E402  (the deployment and the login load)
from backends import libpq_url  # noqa: E402
import server_throughput as st  # noqa: E402

# --- GB 11643-1999 ID numbers -----------------------------------------------------------------
# Six-digit administrative division codes (GB/T 2260) that python-stdnum, which idp validates with,
# knows for every birth year used (Beijing's districts and two counties of Hangzhou), birth dates from
# 1950-01-01 on, a three-digit sequence number, then the ISO 7064 MOD 11-2 check character.
REGIONS = ("330122", "330127", "110101", "110102", "110103", "110104", "110105", "110106", "110107", "110108",
           "110109")
FIRST_BIRTH = datetime.date(1950, 1, 1)
DAYS = (datetime.date(2005, 12, 31) - FIRST_BIRTH).days + 1
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
CAPACITY = len(REGIONS) * DAYS * 1000


def _weighted(digits: str, offset: int) -> int:
    return sum(int(d) * w for d, w in zip(digits, WEIGHTS[offset:]))


_REGION = [(code, _weighted(code, 0)) for code in REGIONS]
_DATE = [((FIRST_BIRTH + datetime.timedelta(days)).strftime("%Y%m%d"),) for days in range(DAYS)]
_DATE = [(text, _weighted(text, 6)) for (text,) in _DATE]
_SEQUENCE = [(f"{n:03d}", _weighted(f"{n:03d}", 14)) for n in range(1000)]


def id_number(i: int) -> str:
    """The i-th generated ID number (0 <= i < CAPACITY): consecutive i differ in region first, then in
    the sequence number, then in the birth date; the check character from precomputed weighted sums."""
    if not 0 <= i < CAPACITY:
        raise ValueError(f"index {i} outside 0..{CAPACITY - 1}")
    rest, region = divmod(i, len(REGIONS))
    day, sequence = divmod(rest, 1000)
    (r, rs), (d, ds), (s, ss) = _REGION[region], _DATE[day], _SEQUENCE[sequence]
    return f"{r}{d}{s}{CHECK[(rs + ds + ss) % 11]}"


def people_count(text: str) -> int:
    """10000, 10k, 10K, 10M, 1.5M -> a number of people."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of people such as 10000, 10k or 10M")
    value = float(match.group(1)) * {"": 1, "k": 10**3, "m": 10**6}[match.group(2).lower()]
    if value != int(value) or not 1 <= value <= CAPACITY:
        raise argparse.ArgumentTypeError(f"{text!r}: from 1 to {CAPACITY:,} whole people")
    return int(value)


# --- the population ---------------------------------------------------------------------------
def measured_password(i: int) -> str:
    return f"measured account {i} password"


def populate(database_url: str, people: int, measured: int, seed: int = 15) -> list[tuple[str, str]]:
    """COPY ``people`` persons into the migrated schema (after the one person the set-up made); returns
    the measured accounts as (ID number, password)."""
    import psycopg
    from psycopg import sql

    from idp.identity.passwords import hash_password

    rng = random.Random(seed)
    shared_hash = hash_password("a password no benchmark login uses")
    chosen = sorted(rng.sample(range(people), measured))
    own_hash = {i: hash_password(measured_password(i)) for i in chosen}
    started = time.monotonic()
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'persons' "
                               "AND indexname <> 'persons_pkey'").fetchall()
        (first_id,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM persons").fetchone()
        taken = {row[0] for row in conn.execute("SELECT id_number FROM persons")}
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        created = datetime.datetime.now(datetime.timezone.utc).isoformat()
        tail = f"\tid_card\t{{}}\t\\N\t\\N\t{{}}\tf\tf\t{created}\n"
        columns = "id, public_id, id_number, id_type, name, phone, email, password_hash, is_admin, disabled, created_at"
        with conn.cursor().copy(f"COPY persons ({columns}) FROM STDIN") as copy:
            block = 50_000
            for start in range(0, people, block):
                stop = min(people, start + block)
                ids = base64.urlsafe_b64encode(os.urandom(18 * (stop - start))).decode()
                lines = []
                for k, i in enumerate(range(start, stop)):
                    number = id_number(i)
                    if number in taken:
                        raise SystemExit(f"generated ID number {number} exists already")
                    lines.append(f"{first_id + i}\t{ids[24 * k:24 * k + 24]}\t{number}"
                                 + tail.format(f"居民{i}", own_hash.get(i, shared_hash)))
                copy.write("".join(lines))
        loaded = time.monotonic()
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("SELECT setval(pg_get_serial_sequence('persons', 'id'), (SELECT max(id) FROM persons))")
        conn.commit()
        conn.autocommit = True
        # VACUUM as well: autovacuum would otherwise visit the freshly loaded rows during the measurement;
        # the checkpoint writes the load's dirty pages before it, not while the logins commit
        conn.execute("VACUUM (ANALYZE) persons")
        conn.execute("CHECKPOINT")
        (size,) = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('persons'))").fetchone()
    print(f"people: {people:,} loaded with COPY in {loaded - started:.1f} s, {len(indexes)} indexes built, "
          f"VACUUM (ANALYZE) and CHECKPOINT in {time.monotonic() - loaded:.1f} s; persons with indexes: {size}",
          flush=True)
    return [(id_number(i), measured_password(i)) for i in chosen]


# --- the login's queries ------------------------------------------------------------------------
def login_statements(app, client_id: str, account) -> list[tuple[str, object]]:
    """The SQL statements (with parameters) of one login in process, in order."""
    from sqlalchemy import event

    from idp.extensions import db

    recorded = []

    def record(conn, cursor, statement, parameters, context, executemany):
        recorded.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        st.login_in_process(app.test_client(), client_id, *account)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return recorded


def explain(database_url: str, statements) -> list[tuple[str, str, float, bool]]:
    """(statement, plan, execution ms, uses an index or reads no table) of each distinct SELECT."""
    import psycopg

    out, seen = [], set()
    with psycopg.connect(libpq_url(database_url)) as conn:
        for statement, parameters in statements:
            text = " ".join(statement.split())
            if not text.upper().startswith("SELECT") or text in seen:
                continue
            seen.add(text)
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None).fetchall()
            conn.rollback()
            plan = "\n".join(row[0] for row in rows)
            took = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
            scans = re.findall(r"Seq Scan on (\w+)", plan)
            out.append((text, plan, took, not any(table == "persons" for table in scans)))
    return out


def print_explain(found) -> bool:
    print("\nThe login's SELECT statements, EXPLAIN (ANALYZE, BUFFERS):")
    all_indexed = True
    for text, plan, took, indexed in found:
        all_indexed &= indexed
        short = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", text)
        print(f"\n-- {took:.3f} ms{'' if indexed else '  (SEQUENTIAL SCAN OF persons)'}: {short[:300]}")
        for line in plan.splitlines():
            if not line.startswith("Planning") or "Time" in line:
                print("   " + line)
    return all_indexed


# --- main ---------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=people_count, default=people_count("10k"),
                        help="persons to load, e.g. 10k or 10M (default 10k)")
    parser.add_argument("--measured", type=int, default=200, help="measured accounts with their own hash")
    parser.add_argument("--logins", type=int, default=400, help="measured logins")
    parser.add_argument("--concurrency", type=int, default=2, help="browsers logging in at once")
    parser.add_argument("--postgres", default=ct.DEFAULT_POSTGRES, metavar="URL",
                        help="the PostgreSQL server; a scratch database is created there and dropped after")
    ct.add_lock_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="a self-check: 2,000 people, 10 accounts, 20 logins")
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.measured, args.logins = 2000, 10, 20
    if min(args.measured, args.logins, args.concurrency) <= 0:
        parser.error("--measured, --logins and --concurrency must be positive")
    if args.measured > args.people:
        parser.error("--measured cannot exceed --people")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    print(f"python {sys.version.split()[0]}; {args.people:,} people, {args.measured} measured accounts, "
          f"{args.logins} logins {args.concurrency} at a time; one node (granian as the Dockerfile runs it) on "
          "CPU 0 behind nginx, the browsers on CPU 1; PostgreSQL and Redis not pinned")
    print("machine: " + st.yardstick(0) + f"; load average {os.getloadavg()[0]:.2f}")
    accounts = []

    def load(app, database_url, ids):
        accounts.extend(populate(database_url, args.people, args.measured))
        statements = login_statements(app, ids["portal"][0], accounts[0])
        if not print_explain(explain(database_url, statements)):
            print("\nA login query reads persons without an index.")
        writes = [re.match(r"\s*(\w+(?: INTO| FROM)? \w+)", statement).group(1) for statement, _ in statements
                  if not statement.lstrip().upper().startswith("SELECT")]
        print(f"\nThe login's other statements ({len(writes)}): " + ", ".join(writes))

    with tempfile.TemporaryDirectory() as tmp_name:
        with ct.deployment(args.postgres, Path(tmp_name), node_total=1, populate=load) as found:
            found.use(1)
            client_id = found.ids["portal"][0]
            with ct.held_lock(args.lock, args.lock_owner):
                ct.login_load(found.base, client_id, accounts, args.concurrency, ct.client_cpus(1), count=4)  # warm
                before, started = ct.cpu_seconds(found), time.monotonic()
                _, durations = ct.login_load(found.base, client_id, accounts, args.concurrency, ct.client_cpus(1),
                                             count=args.logins)
                after, elapsed = ct.cpu_seconds(found), time.monotonic() - started
    ours = sum(after[part] - before[part] for part in ct.PARTS)
    others = max(0.0, after["machine"] - before["machine"] - ours) / elapsed
    p50, p99 = ct.percentiles(durations)
    print(f"\n| people | logins | concurrency | POST /login p50 ms | p99 ms | {ct.OTHERS} |\n"
          f"|---:|---:|---:|---:|---:|---:|\n"
          f"| {args.people:,} | {len(durations)} | {args.concurrency} | {p50:.1f} | {p99:.1f} | {others:.2f} |")


if __name__ == "__main__":
    main()
