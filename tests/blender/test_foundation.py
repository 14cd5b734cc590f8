"""The scripting interface, install/enable/disable, and the online-access gate."""

import pytest
from blhelpers import OPERATORS, PKG, disable, enable, install_zip, prefs

import bpy


def test_install_enable_disable_three_times(installed):
    for _ in range(3):
        disable()
        assert PKG not in bpy.context.preferences.addons
        assert not hasattr(bpy.types, "MAPSMITH_OT_depth_relief")
        enable()
        assert hasattr(bpy.types, "MAPSMITH_OT_depth_relief")
    install_zip()  # reinstalling over itself works too


def test_operators_exist_with_their_names(blank):
    for name in OPERATORS:
        op = getattr(bpy.ops.mapsmith, name)
        props = op.get_rna_type().properties
        assert "image" in props and "provider" in props or name == "cleanup_paint_mask", name
    modes = bpy.ops.mapsmith.remove_background.get_rna_type().properties["mode"].enum_items.keys()
    assert set(modes) == {"CUTOUT", "CUTOUT_SHADOW", "MASK"}


def test_preferences_have_their_names(blank):
    p = prefs()
    assert type(p).bl_idname == PKG
    rna = p.bl_rna.properties
    for key in ("clipdrop_api_key", "erase_api_key", "bgremoval_api_key"):
        assert rna[key].subtype == "PASSWORD"
    for url in ("clipdrop_url", "erase_url", "bgremoval_url"):
        assert getattr(p, url) == ""
    for cap, offered in {"depth": {"OFFLINE", "CLIPDROP"}, "normals": {"OFFLINE", "CLIPDROP"},
                         "background": {"OFFLINE", "BGREMOVAL"},
                         "cleanup": {"OFFLINE", "CLIPDROP", "ERASE"}}.items():
        prop = f"{cap}_provider"
        assert getattr(p, prop) == "OFFLINE"
        assert set(rna[prop].enum_items.keys()) >= offered  # and any provider added since
    assert p.timeout_s > 0


def test_preferences_and_test_connection_follow_the_provider_records(blank):
    from importlib import import_module
    providers = import_module(PKG + ".providers")
    rna = prefs().bl_rna.properties
    for cap in ("depth", "normals", "background", "cleanup"):
        items = rna[f"{cap}_provider"].enum_items
        assert items.keys() == providers.offering(cap)
        assert [i.name for i in items] == [providers.label(pid) for pid in items.keys()]
    services = bpy.ops.mapsmith.test_connection.get_rna_type().properties["service"].enum_items
    assert [(i.identifier, i.name) for i in services] == \
        [(r.service, r.label) for r in providers.REMOTE]
    for record in providers.REMOTE:
        assert rna[f"{record.service}_api_key"].name == f"{record.label} API Key"
        assert record.key_env in rna[f"{record.service}_api_key"].description
        assert rna[f"{record.service}_url"].name == f"{record.label} URL"
        assert all(base in rna[f"{record.service}_url"].description
                   for base in record.official_bases)
    assert rna["bgremoval_api_key"].name == "Background Removal API Key"


def test_keys_are_not_saved_in_blend_files(blank, tmp_path, monkeypatch):
    secret = "sk-mapsmith-test-1234567890"
    prefs().clipdrop_api_key = secret
    assert prefs().clipdrop_api_key == secret
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    bpy.ops.wm.save_userpref()
    for path in [tmp_path / "scene.blend", *tmp_path.parent.glob("**/userpref.blend")]:
        assert secret.encode() not in path.read_bytes()
    import os
    user = os.environ["BLENDER_USER_RESOURCES"]
    import pathlib
    for path in pathlib.Path(user).rglob("*.blend"):
        assert secret.encode() not in path.read_bytes(), path


def test_env_var_stands_in_for_an_empty_key(blank, monkeypatch):
    from importlib import import_module
    preferences = import_module(PKG + ".preferences")
    monkeypatch.setenv("MAPSMITH_ERASE_API_KEY", "from-env")
    assert preferences.api_key(prefs(), "erase") == "from-env"
    prefs().erase_api_key = "typed"
    assert preferences.api_key(prefs(), "erase") == "typed"
    settings = preferences.provider_settings(prefs(), "ERASE")
    assert "typed" not in repr(settings)


def test_remote_provider_refused_while_offline_no_socket_opened(blank, counting_server):
    from blhelpers import load_astronaut
    load_astronaut(size=64)
    prefs().clipdrop_url = counting_server.url
    prefs().clipdrop_api_key = "k"
    with pytest.raises(RuntimeError, match="online access"):
        bpy.ops.mapsmith.depth_relief(image="astronaut.png", provider="CLIPDROP")
    assert counting_server.connections == 0
    assert set(bpy.data.images.keys()) == {"astronaut.png"}


def test_no_image_at_all_fails_poll_with_advice(blank):
    with pytest.raises(RuntimeError, match="No image: open one in the Image Editor"):
        bpy.ops.mapsmith.normal_map()


def test_misnamed_image_is_a_clear_error(blank):
    from blhelpers import load_astronaut
    load_astronaut(size=32)
    with pytest.raises(RuntimeError, match='No image named "nope"'):
        bpy.ops.mapsmith.normal_map(image="nope")
    assert set(bpy.data.images.keys()) == {"astronaut.png"}


def test_modal_code_reads_only_what_blender_events_have(installed):
    """The modal path needs a window, which headless Blender has not: check statically that
    every `event.<name>` the operators read exists on bpy.types.Event (an `event.timer`
    once slipped through and would have broken every run in the UI)."""
    import ast
    import pathlib
    have = {p.identifier for p in bpy.types.Event.bl_rna.properties}
    used = set()
    root = pathlib.Path(installed.__file__).parent
    for path in [*(root / "operators").glob("*.py"), root / "blender" / "job_session.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "event"):
                used.add((path.name, node.attr))
    assert {a for _f, a in used} >= {"type", "value", "mouse_x", "mouse_y"}, used
    assert {(f, a) for f, a in used if a not in have} == set()


def test_options_drawn_exist_on_their_operators(installed):
    """Options are drawn in the UI only (Adjust Last Operation and the sidebar). Check
    statically that each `props.<name>` / `.prop(props, "<name>")` in an operator's
    draw_options, and in the main panel's cleanup row, exists on that operator."""
    import ast
    import pathlib
    root = pathlib.Path(installed.__file__).parent
    sources = [(p, None) for p in (root / "operators").glob("*.py")]
    sources.append((root / "panels" / "__init__.py", "mapsmith.cleanup_apply"))
    checked = 0
    for path, fixed in sources:
        for cls in (n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)):
            idname = fixed or next((n.value.value for n in cls.body if isinstance(n, ast.Assign)
                                    and getattr(n.targets[0], "id", "") == "bl_idname"), None)
            if not idname or (fixed and cls.name != "_MainPanel"):
                continue
            module, name = idname.split(".")
            rna = getattr(getattr(bpy.ops, module), name).get_rna_type().properties.keys()
            for node in ast.walk(cls):
                names = []
                if isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "props":
                    names.append(node.attr)
                if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "prop"
                        and len(node.args) >= 2 and getattr(node.args[0], "id", "") == "props"):
                    names.append(node.args[1].value)
                for prop in names:
                    assert prop in rna, f"{cls.name} draws {idname}.{prop}, which does not exist"
                    checked += 1
    assert checked > 20


def test_bundled_wheels_are_installed_for_this_python(installed):
    """Blender unpacks the zip's wheels for the running Python into the extensions' own
    site-packages (users have no Pillow or onnxruntime otherwise)."""
    import pathlib
    import sys
    local = pathlib.Path(bpy.utils.user_resource("EXTENSIONS", path=".local"))
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = {p.name for p in local.glob(f"lib/{python}/site-packages/*")}
    import tomllib
    path = pathlib.Path(installed.__file__).parent / "blender_manifest.toml"
    manifest = tomllib.loads(path.read_text())
    tag = f"-cp{sys.version_info.major}{sys.version_info.minor}-"
    wanted = {"-".join(pathlib.PurePosixPath(w).name.split("-")[:2]) + ".dist-info"
              for w in manifest["wheels"] if tag in w and "manylinux" in w}
    assert {w.split("-")[0] for w in wanted} == {"pillow", "onnxruntime"}
    assert wanted | {"PIL", "onnxruntime"} <= found
    site = next(local.glob("lib/python*/site-packages"))
    assert str(site) in sys.path
