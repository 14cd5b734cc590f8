"""A pytest plugin (pytest.ini: ``-p tests.collect_root``): the repository root is the
extension's package, not a test package.

Its ``__init__.py`` makes pytest collect the root as a ``Package`` and import that file
before any test, as a package named after the checkout's folder: that imports the add-on
(and bpy) into every unit test, and fails outright in a folder whose name is not a Python
identifier (``git clone ... mapsmith-main``). Collected as a plain directory instead, the
root imports nothing; tests import the code as ``mapsmith`` (tests/conftest.py) or install
the built zip (tests/blender). A plugin, not the root's conftest.py: pytest creates the
root's node before it reads a conftest there.
"""

import pytest


def pytest_collect_directory(path, parent):
    if path == parent.config.rootpath and (path / "__init__.py").is_file():
        return pytest.Dir.from_parent(parent, path=path)
    return None
