"""The layers hold: ``core/`` imports nothing outside ``core/``; ``core/`` and ``providers/``
never import bpy (read from the source with ``ast``, so an import inside a function counts)."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT.name  # the add-on folder, imported as "mapsmith" by the tests' conftest


def imports(path: pathlib.Path):
    """(line, name, relative) of each import: a relative one resolved to its dotted name from
    the add-on root ("core.images", or the package "providers" of "from ..providers import x"),
    an absolute one as written."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return imports_in(path.read_text(encoding="utf-8"), parts[:-1])


def imports_in(text: str, package: tuple):
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, False
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module, False
                continue
            if node.level - 1 > len(package):
                yield node.lineno, "<beyond the add-on>", True
                continue
            base = package[:len(package) - (node.level - 1)]
            names = [node.module] if node.module else [a.name for a in node.names]
            for name in names:
                yield node.lineno, ".".join(base + tuple(name.split("."))), True


def sources(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_layers_have_sources():
    assert len(sources("core")) >= 5 and len(sources("providers")) >= 5


@pytest.mark.parametrize("path", sources("core"), ids=lambda p: p.name)
def test_core_imports_nothing_outside_core(path):
    outside = [f"{path.name}:{line} {name}" for line, name, relative in imports(path)
               if (relative and name.split(".")[0] != "core")
               or (not relative and name.split(".")[0] in ("bpy", PACKAGE, "mapsmith"))]
    assert not outside


@pytest.mark.parametrize("path", sources("core") + sources("providers"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bpy_below_the_blender_layer(path):
    found = [f"{line} {name}" for line, name, relative in imports(path)
             if not relative and name.split(".")[0] in ("bpy", "bmesh", "mathutils", "gpu")]
    assert not found


def test_the_import_reader_sees_relative_imports_outside_core():
    # The checker itself: a core module reaching into providers must be caught.
    found = list(imports_in("from ..providers import contract\nfrom . import images\n"
                            "def f():\n    import bpy\n", ("core",)))
    assert (1, "providers", True) in found and (2, "core.images", True) in found
    assert (4, "bpy", False) in found
