"""A private shibd (the Shibboleth SP daemon) for tests: its configuration, socket, pid file and metadata
cache in one directory, in the foreground, started and stopped by the test. The Apache side (mod_shib)
reads the same shibboleth2.xml (ShibConfig) and talks to this shibd over the socket named there."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from helpers import stop_process

SHIBD = shutil.which("shibd") or "/usr/sbin/shibd"


def shibd_missing() -> str | None:
    """Why shibd cannot run here, or None."""
    if not Path(SHIBD).exists():
        return "shibd is not installed (Debian package shibboleth-sp-utils)"
    return None


class Shibd:
    def __init__(self, config: Path, socket_path: Path):
        self.config, self.socket_path = config, socket_path
        self.directory = config.parent
        self.log_path = self.directory / "shibd.log"
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 30) -> "Shibd":
        check = subprocess.run([SHIBD, "-t", "-c", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"shibd refused the configuration: {check.stdout}{check.stderr}")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [SHIBD, "-F", "-f", "-c", str(self.config), "-p", str(self.directory / "shibd.pid")],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"shibd exited with {self.process.returncode}:\n{self.log}")
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(self.socket_path))
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"shibd did not listen on {self.socket_path} within {timeout} s:\n{self.log}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def __enter__(self) -> "Shibd":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
