"""Make the repository importable as the package ``mapsmith`` without running its
``__init__`` (which needs bpy), so bpy-free modules test with plain pytest."""

import importlib.machinery
import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

if "mapsmith" not in sys.modules:
    spec = importlib.machinery.ModuleSpec("mapsmith", None, is_package=True)
    module = importlib.util.module_from_spec(spec)
    module.__path__ = [str(ROOT)]
    sys.modules["mapsmith"] = module
