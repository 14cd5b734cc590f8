"""What artists read: tooltips on one line, a description for every option and choice, and
messages built for translation (issue 14, words)."""

import ast
import pathlib

import pytest
from blhelpers import PKG, prefs

import bpy

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _operators():
    return [getattr(bpy.ops.mapsmith, name).get_rna_type() for name in dir(bpy.ops.mapsmith)]


def _ui_classes():
    return [cls for cls in (*bpy.types.Panel.__subclasses__(), *bpy.types.Menu.__subclasses__())
            if cls.__module__.startswith(PKG)]


def _clean(text: str) -> bool:
    return "\n" not in text and "  " not in text and text == text.strip()


def test_tooltips_are_one_clean_line(installed):
    ops = _operators()
    assert len(ops) >= 10
    for rna in ops:
        assert rna.description, f"{rna.identifier} has no tooltip"
        assert _clean(rna.description), f"{rna.identifier}: {rna.description!r}"
    for cls in _ui_classes():
        text = cls.bl_rna.description
        assert _clean(text), f"{cls.__name__}: {text!r}"


def _properties(rna):
    for prop in rna.properties:
        if prop.identifier in ("rna_type", "bl_idname") or prop.is_hidden:
            continue
        yield prop


@pytest.mark.parametrize("which", ["operators", "preferences"])
def test_every_option_and_choice_says_what_it_does(installed, which):
    rnas = _operators() if which == "operators" else [prefs().bl_rna]
    missing = []
    for rna in rnas:
        for prop in _properties(rna):
            if not prop.description.strip():
                missing.append(f"{rna.identifier}.{prop.identifier}")
            elif not _clean(prop.description):
                missing.append(f"{rna.identifier}.{prop.identifier} (line break)")
            if prop.type == "ENUM" and not prop.is_enum_flag:
                for item in prop.enum_items:
                    if not item.description.strip():
                        missing.append(f"{rna.identifier}.{prop.identifier}[{item.identifier}]")
    assert not missing, "\n".join(missing)


BLENDER_LAYER = ["operators", "panels", "preferences.py"]


def _modules():
    for entry in BLENDER_LAYER:
        path = ROOT / entry
        yield from (sorted(path.glob("*.py")) if path.is_dir() else [path])


def test_reports_are_built_for_translation():
    """``self.report`` gets a message wrapped in ``rpt_`` (and ``.format`` for its values) or
    an error's own text, never an f-string that no translation could match."""
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "report" and len(node.args) == 2):
                message = node.args[1]
                if isinstance(message, (ast.JoinedStr, ast.Constant, ast.BinOp)):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "\n".join(bad)
