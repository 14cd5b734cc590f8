"""Keys across restarts, safely: "Remember Keys on This Computer" (blender/keystore.py)."""

import json
import os
import pathlib
import stat

import pytest
from blhelpers import PKG, disable, enable, prefs

import bpy

SECRET = "sk-mapsmith-remember-0123456789"


def keystore():
    from importlib import import_module
    return import_module(PKG + ".blender.keystore")


def restart():
    """What a Blender restart does to the add-on: unregistered, registered again."""
    disable()
    assert PKG not in bpy.context.preferences.addons
    enable()


@pytest.fixture
def fresh(blank):
    keystore().forget()
    yield blank
    keystore().forget()


def test_remembered_key_survives_a_restart_in_a_0600_file_and_never_in_blend_files(
        fresh, tmp_path):
    ks = keystore()
    assert not prefs().remember_keys and not ks.remembered()
    prefs().remember_keys = True
    prefs().clipdrop_api_key = SECRET
    path = pathlib.Path(ks.path())
    assert path.parent == pathlib.Path(bpy.utils.extension_path_user(PKG))
    assert path.parent.is_relative_to(os.environ["BLENDER_USER_RESOURCES"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"clipdrop": SECRET}

    restart()
    assert prefs().clipdrop_api_key == SECRET
    assert prefs().remember_keys

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    bpy.ops.wm.save_userpref()
    blends = [tmp_path / "scene.blend",
              *pathlib.Path(os.environ["BLENDER_USER_RESOURCES"]).rglob("*.blend")]
    assert any(p.name == "userpref.blend" for p in blends)
    for blend in blends:
        assert SECRET.encode() not in blend.read_bytes(), blend

    # A changed key is remembered too, and an emptied one dropped from the file.
    prefs().erase_api_key = "erase-key"
    prefs().clipdrop_api_key = ""
    assert json.loads(path.read_text()) == {"erase": "erase-key"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_forget_keys_deletes_the_file_and_the_keys(fresh, monkeypatch):
    prefs().remember_keys = True
    prefs().bgremoval_api_key = SECRET
    assert bpy.ops.mapsmith.forget_keys() == {"FINISHED"}
    assert not os.path.exists(keystore().path())
    assert prefs().bgremoval_api_key == "" and not prefs().remember_keys
    restart()
    assert prefs().bgremoval_api_key == ""
    # Environment variables keep working.
    from importlib import import_module
    monkeypatch.setenv("MAPSMITH_BGREMOVAL_API_KEY", "from-env")
    assert import_module(PKG + ".preferences").api_key(prefs(), "bgremoval") == "from-env"
    with pytest.raises(RuntimeError, match="No keys are remembered"):
        bpy.ops.mapsmith.forget_keys()


def test_without_opting_in_keys_end_with_the_session(fresh):
    prefs().clipdrop_api_key = SECRET
    assert not os.path.exists(keystore().path())
    restart()
    assert prefs().clipdrop_api_key == ""


def test_turning_the_option_off_deletes_the_file(fresh):
    prefs().clipdrop_api_key = SECRET
    prefs().remember_keys = True           # opting in later stores the keys already typed
    assert json.loads(pathlib.Path(keystore().path()).read_text()) == {"clipdrop": SECRET}
    prefs().remember_keys = False
    assert not os.path.exists(keystore().path())
    assert prefs().clipdrop_api_key == SECRET    # still in memory for this session


def test_a_widened_file_is_narrowed_again_on_load(fresh):
    prefs().remember_keys = True
    prefs().clipdrop_api_key = SECRET
    os.chmod(keystore().path(), 0o644)
    restart()
    assert prefs().clipdrop_api_key == SECRET
    assert stat.S_IMODE(os.stat(keystore().path()).st_mode) == 0o600


def test_preferences_say_where_keys_are_and_how_to_forget_them(fresh):
    from test_places import draw, labels, operators
    p = prefs()
    log = draw(type(p), bpy.context, p)
    assert "Keys are forgotten when Blender closes" in labels(log)
    assert "mapsmith.forget_keys" not in [e[0] for e in operators(log)]
    p.remember_keys = True
    log = draw(type(p), bpy.context, p)
    assert keystore().path() in labels(log)
    drawn = {e[0]: e[3].values for e in operators(log)}
    assert "mapsmith.forget_keys" in drawn
    assert drawn["wm.path_open"] == {"filepath": bpy.utils.extension_path_user(PKG)}
