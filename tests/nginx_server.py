"""A real nginx on loopback serving a site configuration the test writes, stopped when the block ends.

    with nginx_serving(tmp_path, site_conf, port, access_log="main") as process: ...

``site_conf`` is the text of one or more ``server``/``upstream`` blocks (an http-level include);
``port`` is the loopback port the site listens on (the block waits until it accepts connections).
Tests that use it skip when nginx is not installed (``NGINX_MISSING``).
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

NGINX_MISSING = shutil.which("nginx") is None


@contextlib.contextmanager
def nginx_serving(directory: Path, site_conf: str, port: int, *, http_extra: str = "access_log off;",
                  worker_connections: int = 64):
    (directory / "idp-site.conf").write_text(site_conf)
    temp_dirs = " ".join(f"{d}_temp_path {directory}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (directory / "nginx.conf").write_text(
        f"worker_processes 1; pid {directory}/nginx.pid; error_log {directory}/error.log;\n"
        f"events {{ worker_connections {worker_connections}; }}\n"
        f"http {{ {http_extra} {temp_dirs} include {directory}/idp-site.conf; }}\n")
    process = subprocess.Popen(["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    process.kill()
                    raise AssertionError("nginx did not start: " + process.stderr.read().decode(errors="replace"))
                time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
