"""A node told to stop (SIGTERM, as Kubernetes and Docker do) finishes the requests it is serving:
granian started with the Dockerfile's own command line, requests in progress, then SIGTERM."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import dockerfile
from helpers import free_port

PAUSE = 3.0


def server_command(port: int) -> list[str]:
    """The Dockerfile's CMD, on a loopback port, one worker, serving tests/paused_wsgi.py."""
    command = dockerfile.server_command()
    assert command[0] == "granian" and command[-1] == "idp.wsgi:app"
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    granian = shutil.which("granian", path=str(Path(sys.executable).parent)) or "granian"
    return [granian, *command[1:-1], "--workers", "1", "paused_wsgi:app"]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if requests.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail("the server did not become ready")


def test_sigterm_lets_the_requests_in_progress_finish(tmp_path):
    if shutil.which("granian", path=str(Path(sys.executable).parent)) is None and shutil.which("granian") is None:
        pytest.skip("granian is not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, IDP_ISSUER=url, IDP_SECRET_KEY="drain-secret-" + "x" * 32,
               IDP_DATABASE_URL=f"sqlite:///{tmp_path}/idp.db", IDP_CREATE_SCHEMA="true", IDP_SESSION_BACKEND="sql",
               IDP_CRL_REFRESH_SECONDS="0", GRANIAN_WORKERS="1",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    env.pop("IDP_ENV_FILE", None)
    process = subprocess.Popen(server_command(port), cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(url, process)
        with ThreadPoolExecutor(4) as pool:
            in_progress = [pool.submit(requests.get, url + "/.well-known/openid-configuration",
                                       headers={"X-Test-Pause": str(PAUSE)}, timeout=PAUSE + 30)
                           for _ in range(4)]
            time.sleep(1.0)  # the requests have reached the application and are pausing in it
            stopped_at = time.monotonic()
            process.send_signal(signal.SIGTERM)
            responses = [future.result() for future in in_progress]
        assert [r.status_code for r in responses] == [200] * 4
        assert all(r.json()["issuer"] == url for r in responses)
        assert process.wait(timeout=dockerfile.kill_timeout() + 15) == 0
        assert time.monotonic() - stopped_at < dockerfile.kill_timeout()  # it left once they were done
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/healthz", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stderr.close()
