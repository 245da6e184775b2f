"""IDP_REQUIRE_BACKENDS=1 turns a skipped postgres/redis test into a failure; without it, a skip."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[2]

SAMPLE = '''
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pytest.skip("PostgreSQL not reachable")

@pytest.mark.redis
def test_needs_redis():
    pytest.skip("Redis not reachable")

def test_plain_skip():
    pytest.skip("nothing to do with backends")

def test_passes():
    pass
'''


def run_sample(tmp_path, require: str | None):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    postgres: pg\n    redis: redis\n")
    env = {k: v for k, v in os.environ.items() if k != "IDP_REQUIRE_BACKENDS"}
    if require is not None:
        env["IDP_REQUIRE_BACKENDS"] = require
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "backend_requirements", "-q",
                           "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_skips_stay_skips_without_the_variable(tmp_path):
    result = run_sample(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 3 skipped" in result.stdout


@pytest.mark.parametrize("value", ["1", "true"])
def test_skipped_backend_tests_fail_when_required(tmp_path, value):
    result = run_sample(tmp_path, value)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed, 1 passed, 1 skipped" in result.stdout
    assert "IDP_REQUIRE_BACKENDS=1 but this postgres test was skipped: PostgreSQL not reachable" in result.stdout
    assert "IDP_REQUIRE_BACKENDS=1 but this redis test was skipped: Redis not reachable" in result.stdout


def test_zero_means_not_required(tmp_path):
    assert run_sample(tmp_path, "0").returncode == 0
