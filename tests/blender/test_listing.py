"""Listing-ready: the README's scripting example finds the add-on wherever it is installed."""

import pathlib
import re

from blhelpers import PKG, ROOT, disable

import bpy


def test_readme_scripting_example_finds_the_add_on_without_a_fixed_key(blank):
    readme = (pathlib.Path(ROOT) / "README.md").read_text()
    block = re.search(r"## Scripting.*?```python\n(.*?)```", readme, re.S).group(1)
    lookup = block[:block.index("img = ")]          # imports, the lookup, the preferences
    assert "bl_ext.user_default" not in lookup
    disable()                                       # the example enables it if needed
    scope = {}
    exec(compile(lookup, "README.md", "exec"), scope)
    assert scope["name"] == PKG
    assert scope["prefs"] == bpy.context.preferences.addons[PKG].preferences
    assert scope["prefs"].depth_provider == "OFFLINE"
