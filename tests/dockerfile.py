"""What the repository's Dockerfile promises, read from it: the server command line, its port, user
and shutdown timeout, for the tests that hold the deployment manifests and the server to it."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def text() -> str:
    return DOCKERFILE.read_text()


def server_command() -> list[str]:
    """The CMD (exec form), continuation lines joined."""
    match = re.search(r"^CMD (\[.*?\])\s*$", text().replace("\\\n", ""), re.M)
    return yaml.safe_load(match.group(1))


def option(name: str) -> str:
    command = server_command()
    return command[command.index(name) + 1]


def port() -> int:
    value = int(option("--port"))
    assert re.search(rf"^EXPOSE {value}$", text(), re.M), "the CMD's port is not the EXPOSEd one"
    return value


def kill_timeout() -> int:
    """Seconds granian gives the requests in progress after SIGTERM."""
    return int(option("--workers-kill-timeout"))


def uid() -> int:
    return int(re.search(r"useradd .*--uid (\d+)", text()).group(1))
