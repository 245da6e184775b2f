"""The package layers hold: the contracts in .importlinter, checked by import-linter over the real imports
(module-level and inside functions alike)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(capsys, tmp_path):
    from importlinter.cli import lint_imports

    status = lint_imports(config_filename=str(ROOT / ".importlinter"), cache_dir=str(tmp_path), no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report
