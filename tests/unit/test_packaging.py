"""Installing the project is quiet and ships what the code needs: every pyproject installs (editable,
as scripts/demo.sh and scripts/test.sh do) without a setuptools warning, and the demo portal's wheel
carries its templates."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = [".", "adapters/python", "adapters/demo_portal", "adapters/gateway"]


def quiet_lines(output: str) -> list[str]:
    """What pip printed, without what this machine's pip configuration adds (unreachable extra indexes)."""
    return [line for line in output.splitlines()
            if line.strip() and not (line.startswith("WARNING: Location ") and line.endswith("is ignored: it is "
                                                                                             "neither a file nor a directory."))]


@pytest.fixture(scope="module")
def scratch_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True,
                   timeout=300)
    return venv / "bin" / "python"


def test_editable_installs_print_nothing(scratch_venv):
    # the test environment's pip (scripts upgrade it: recent versions show the build backend's warnings)
    args = [sys.executable, "-m", "pip", "--python", str(scratch_venv), "install", "--quiet",
            "--disable-pip-version-check", "--no-deps"]
    for project in PROJECTS:
        args += ["-e", str(ROOT / project)]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    assert quiet_lines(completed.stdout + completed.stderr) == []


def test_demo_portal_wheel_carries_its_templates(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                                "--no-deps", "-w", str(tmp_path), str(ROOT / "adapters" / "demo_portal")],
                               capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert quiet_lines(completed.stdout + completed.stderr) == []
    (wheel,) = tmp_path.glob("idp_demo_portal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (ROOT / "adapters" / "demo_portal" / "demo_portal" / "templates").glob("*.html")}
    assert templates and {f"demo_portal/templates/{name}" for name in templates} <= names
