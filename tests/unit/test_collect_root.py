"""The tests run from a checkout in any folder: pytest must not import the repository root's
``__init__.py`` (the add-on) as a package named after the folder (tests/collect_root.py)."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_unit_tests_run_from_a_folder_whose_name_is_not_an_identifier(tmp_path):
    checkout = tmp_path / "mapsmith-main"          # as `git clone ... mapsmith-main` makes
    checkout.mkdir()
    for entry in ROOT.iterdir():
        if not entry.name.startswith((".venv", ".git", "dist", "wheels")):
            (checkout / entry.name).symlink_to(entry)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit/test_components.py", "-q"],
        cwd=checkout, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "error" not in run.stdout.lower()
