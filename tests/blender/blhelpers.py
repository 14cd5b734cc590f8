"""Helpers for the Blender tests (import as `blhelpers`; conftest.py sets things up first).

The install/enable machinery is tools/blenv.py, shared with the demo and the benchmark.
"""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools"))

from blenv import (  # noqa: E402,F401
    PKG,
    ROOT,
    SetupError,
    addon_module,
    built_zip,
    disable,
    enable,
    exit_now,
    install,
    load_astronaut,
    make_movie,
    new_image,
    prefs,
)

OPERATORS = ("depth_relief", "normal_map", "remove_background", "cleanup_paint_mask",
             "cleanup_apply", "material_setup")


def install_zip() -> None:
    try:
        install()
    except SetupError as err:
        pytest.exit(str(err), returncode=3)
