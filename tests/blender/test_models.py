"""The model manager in real Blender, from the built zip, against the loopback models host.

Stand-in ONNX models (tests/servers/stand_in_models.py) with the real models' signatures are
served the way Hugging Face serves files; the ``models_url`` preference points at the host.
"""

import importlib
import pathlib
import time

import numpy as np
import pytest
from blhelpers import PKG, prefs
from portrait import image_bytes, portrait  # noqa: F401

import bpy

from mapsmith.tests.servers import stand_in_models
from mapsmith.tests.servers.model_host import ModelHost


def mod(name):
    return importlib.import_module(f"{PKG}.{name}")


@pytest.fixture(scope="module")
def catalogue(installed):
    return mod("providers.offline.learned").CATALOGUE


@pytest.fixture(scope="module")
def host(catalogue):
    with ModelHost(stand_in_models.files(catalogue)) as h:
        yield h


@pytest.fixture
def models(blank, host):
    """Online access on, Models URL at the loopback host, an empty models folder."""
    bpy.context.preferences.system.use_online_access = True
    prefs().models_url = host.url
    prefs().timeout_s = 10.0
    host.fault = None
    folder = pathlib.Path(mod("preferences").models_folder(create=True))
    for info in mod("providers.offline.learned").CATALOGUE:
        mod("providers.offline.downloads").remove(info, folder)
    mod("providers.offline.learned").forget(folder)
    yield folder
    prefs().models_url = ""


def _rgb(image):
    return (image_bytes(image)[..., :3] * 255).round().astype(np.uint8)


def _offline_with(folder):
    providers = mod("providers")
    return providers.create("OFFLINE", providers.Settings(user_models_dir=str(folder)))


def test_download_needs_online_access(models):
    bpy.context.preferences.system.use_online_access = False
    with pytest.raises(RuntimeError, match="online access"):
        bpy.ops.mapsmith.download_model(model="MODNET")
    assert not any(models.iterdir())


def test_models_folder_is_the_extension_user_folder(models):
    assert models.is_dir()
    assert "extensions" in models.parts and PKG.rsplit(".", 1)[-1] in models.parts
    assert mod("preferences").provider_settings(prefs(), "OFFLINE").user_models_dir == \
        str(models)


def test_download_remove_and_the_offline_provider_uses_the_models(models, host, portrait):  # noqa: F811
    rgb = _rgb(portrait)
    before = _offline_with(models).depth(rgb)
    assert bpy.ops.mapsmith.download_model(model="MODNET") == {"FINISHED"}
    assert bpy.ops.mapsmith.download_model(model="DEPTH_ANYTHING_V2_SMALL") == {"FINISHED"}
    downloads = mod("providers.offline.downloads")
    learned = mod("providers.offline.learned")
    assert downloads.installed(learned.MODNET, models)
    assert (models / "SHA256SUMS").read_text().count(".onnx") == 2
    assert not list(models.glob("*.part"))
    # The one-click material: mask from the matte model, depth from the depth model.
    assert bpy.ops.mapsmith.material_setup(image=portrait.name, use_normals=False) \
        == {"FINISHED"}
    expected = _offline_with(models)
    depth = expected.depth(rgb)
    assert "Depth Anything V2 Small" in depth.note and depth.note != before.note
    got = image_bytes(bpy.data.images["astronaut depth"])[..., 0]
    assert np.abs(got - depth.image).max() < 1e-3
    matte = expected.background(rgb, "MASK")
    assert "MODNet" in matte.note
    mask = mod("core.cutout").refine(rgb, matte.image)
    got = (image_bytes(bpy.data.images["astronaut mask"])[..., 0] * 255).round()
    assert np.abs(got - mask).max() <= 1
    assert "astronaut edge colour" in bpy.data.images            # edge colour on by default
    # Removed: the built-in methods again.
    assert bpy.ops.mapsmith.remove_model(model="DEPTH_ANYTHING_V2_SMALL") == {"FINISHED"}
    assert not downloads.installed(learned.DEPTH_ANYTHING, models)
    assert _offline_with(models).depth(rgb).note == before.note


def test_inpainting_model_fills_large_holes_through_cleanup(models, host, tmp_path):
    # LaMa's real SHA-256 is pinned, so the operator refuses the stand-in...
    with pytest.raises(RuntimeError, match="different file|failed verification"):
        bpy.ops.mapsmith.download_model(model="LAMA")
    learned = mod("providers.offline.learned")
    assert not (models / learned.LAMA.filename).exists()
    # ...which the test installs with the stand-in's checksum instead.
    data = stand_in_models.files([learned.LAMA])
    info = stand_in_models.stand_in_infos([learned.LAMA], data)[0]
    mod("providers.offline.downloads").download(info, models, base_url=host.url)
    learned.forget(models)
    from test_cleanup import disc, mask_of, paint, stored, textured_plane
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 60, (256, 256, 3)).astype(np.uint8)
    from blhelpers import new_image
    tex = new_image("dark", rgb)
    textured_plane(tex)
    original = stored(tex)
    bpy.ops.mapsmith.cleanup_paint_mask()
    where = disc(original.shape[:2], 128, 128, 50)            # large: > 48 x 48 px
    paint(mask_of(tex), where)
    bpy.ops.object.mode_set(mode="OBJECT")
    assert bpy.ops.mapsmith.cleanup_apply(provider="OFFLINE", grow=0) == {"FINISHED"}
    after = stored(tex)
    inner = disc(original.shape[:2], 128, 128, 40)
    assert np.abs(after[inner][:, :3].astype(int) - 128).max() <= 2    # the stand-in's grey
    assert np.array_equal(after[~where], original[~where])             # texel-exact


def test_checksum_failure_resume_and_corrupt_file(models, host, portrait):  # noqa: F811
    downloads = mod("providers.offline.downloads")
    learned = mod("providers.offline.learned")
    host.fault = "corrupt"
    with pytest.raises(RuntimeError, match="failed verification"):
        bpy.ops.mapsmith.download_model(model="MODNET")
    assert not any(p.name.startswith("modnet") for p in models.iterdir())
    # An interrupted download (the stand-in is smaller than one read, so its first half is
    # put in place as a dropped connection would leave it) resumes with a Range request.
    whole = host.files[learned.MODNET.path]
    have = len(whole) // 2
    (models / f"{learned.MODNET.filename}.part").write_bytes(whole[:have])
    assert not downloads.installed(learned.MODNET, models)
    host.fault = None
    assert bpy.ops.mapsmith.download_model(model="MODNET") == {"FINISHED"}
    assert host.requests[-1][2] == f"bytes={have}-"
    # A file damaged after the download is refused before it is loaded, with what to do.
    path = models / learned.MODNET.filename
    path.write_bytes(path.read_bytes()[:-4] + b"XXXX")
    learned.forget(models)
    with pytest.raises(RuntimeError, match="download it again in the model manager"):
        bpy.ops.mapsmith.remove_background(image=portrait.name, mode="MASK")


def test_cancel_keeps_only_the_partial_file(models, host):
    downloads = mod("providers.offline.downloads")
    learned = mod("providers.offline.learned")
    jobs = mod("blender.jobs")
    # A file of a few reads (the stand-ins are smaller than one), served slowly.
    import dataclasses
    info = dataclasses.replace(learned.MODNET, path="test/big/resolve/main/model.onnx",
                               size=4 * downloads.CHUNK)
    host.files[info.path] = np.random.default_rng(0).bytes(info.size)
    host.fault, host.slow_chunk = "slow", downloads.CHUNK // 4
    job = jobs.Job(lambda token: downloads.download(info, models, base_url=host.url,
                                                    token=token), label="download").start()
    deadline = time.monotonic() + 10
    while not downloads.partial_bytes(info, models) and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    assert job.poll() == jobs.CANCELLED
    job.join(5)
    assert not downloads.installed(info, models) and not (models / info.filename).exists()
    assert downloads.partial_bytes(info, models) > 0
    assert bpy.ops.mapsmith.remove_model(model="MODNET") == {"FINISHED"}
    assert not list(models.glob("modnet*"))


def test_model_manager_states_and_choices(models, host):
    panel = mod("panels.models")
    learned = mod("providers.offline.learned")
    info = learned.MODNET
    assert panel._state(info, models)[0].startswith("Not installed")
    (models / f"{info.filename}.part").write_bytes(b"x" * 1000)
    assert panel._state(info, models)[0].startswith("Partly downloaded")
    with pytest.raises(RuntimeError, match="failed verification"):   # a stale .part
        bpy.ops.mapsmith.download_model(model="MODNET")
    assert panel._state(info, models)[0].startswith("Not installed")
    assert bpy.ops.mapsmith.download_model(model="MODNET") == {"FINISHED"}
    assert panel._state(info, models)[0] == "Installed"
    rna = bpy.ops.mapsmith.download_model.get_rna_type()
    assert [i.identifier for i in rna.properties["model"].enum_items] == \
        [info.id for info in learned.CATALOGUE]


class _Layout:
    """Stands in for UILayout: records what the model manager draws, checks property names."""

    def __init__(self, drawn):
        self.drawn, self.enabled = drawn, True

    def box(self):
        return _Layout(self.drawn)

    row = column = box

    def label(self, text="", icon="NONE"):
        self.drawn.append(("label", text))

    def prop(self, data, name, **kw):
        assert hasattr(data, name), name
        self.drawn.append(("prop", name))

    def operator(self, idname, text="", icon="NONE"):
        module, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, module), name), idname
        self.drawn.append(("operator", idname))
        return type("Props", (), {})()


def test_preferences_box_lists_every_model(models, host):
    drawn = []
    mod("panels.models").draw_model_manager(_Layout(drawn), prefs())
    labels = [text for kind, text in drawn if kind == "label"]
    for info in mod("providers.offline.learned").CATALOGUE:
        assert any(info.label in t and info.licence in t and "MB" in t for t in labels)
        assert f"Improves: {info.improves}" in labels
    assert ("prop", "models_url") in drawn
    assert drawn.count(("operator", "mapsmith.download_model")) == 3
    assert drawn.count(("operator", "mapsmith.remove_model")) == 3
    assert any(t.startswith("Folder: ") and str(models) in t for t in labels)
