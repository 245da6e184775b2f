"""A real nginx on loopback serving a site configuration the test writes, stopped when the block ends.

    with nginx_serving(tmp_path, site_conf, port, access_log="main") as process: ...

``site_conf`` is the text of one or more ``server``/``upstream`` blocks (an http-level include);
``port`` is the loopback port the site listens on (the block waits until it accepts connections).
``round_robin_site(port, node_ports)`` is the site of several idp nodes behind one address.
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


def round_robin_site(port: int, node_ports: list[int]) -> str:
    """A site on ``port`` spreading requests round-robin over the idp nodes on ``node_ports`` (all on
    loopback); a request with ``X-Test-Node: i`` goes to node i only, and ``X-Upstream`` names the node
    that answered."""
    # max_fails=0: a node's 503 (storage failing over) is a live node's answer and must not take it out
    # of the group (nginx counts the answers proxy_next_upstream names as failures); a dead node on
    # loopback refuses the connection at once and the request goes to the next one
    nodes = "".join(f"server 127.0.0.1:{p} max_fails=0; " for p in node_ports)
    pinned = "".join(f"upstream node{i} {{ server 127.0.0.1:{p}; }}\n" for i, p in enumerate(node_ports, 1))
    choices = "".join(f"{i} node{i}; " for i in range(1, len(node_ports) + 1))
    return (f"upstream idp_nodes {{ {nodes} }}\n{pinned}"
            f"map $http_x_test_node $idp_upstream {{ default idp_nodes; {choices} }}\n"
            f"server {{ listen 127.0.0.1:{port};\n"
            "  location / {\n"
            "    proxy_pass http://$idp_upstream;\n"
            "    proxy_next_upstream error timeout http_502 http_503;\n"
            "    proxy_next_upstream_tries 3;\n"
            "    proxy_connect_timeout 1s; proxy_read_timeout 30s;\n"
            "    proxy_set_header Host $http_host;\n"
            "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "    proxy_set_header X-Forwarded-Proto $scheme;\n"
            "    add_header X-Upstream $upstream_addr always;\n"
            "  }\n}\n")
