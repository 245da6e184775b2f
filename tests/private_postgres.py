"""A PostgreSQL server of the test's own (initdb on a loopback port, trust auth, socket in a temporary
directory), which the test may stop and start with pg_ctl without touching the machine's server.

    with private_postgres() as pg:     # pg.url = "postgresql+psycopg://postgres@127.0.0.1:p/idp"
        pg.stop(); pg.start()

``private_postgres()`` skips the calling test, saying why, when the server binaries are absent. As
root (initdb refuses to run as root) the server runs as the ``postgres`` system user.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from helpers import free_port


def binaries_or_skip() -> Path:
    import pytest

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


class PrivatePostgres:
    def __init__(self, bin_dir: Path, directory: Path, port: int, run_as: str | None):
        self.bin_dir, self.directory, self.port, self.run_as = bin_dir, directory, port, run_as
        self.data = directory / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/idp"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout}{result.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory} "
                   "-c fsync=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str = "idp") -> None:
        import psycopg
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def private_postgres():
    bin_dir = binaries_or_skip()
    run_as = None
    directory = Path(tempfile.mkdtemp(prefix="idp-pg-"))
    if os.geteuid() == 0:
        run_as = "postgres"
        account = pwd.getpwnam(run_as)
        os.chown(directory, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(bin_dir, directory, free_port(), run_as)
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        with contextlib.suppress(Exception):
            if server.running():
                server.stop("immediate")
        deadline = time.monotonic() + 10
        while server.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(directory, ignore_errors=True)
