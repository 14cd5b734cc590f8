"""The remote providers end to end in real Blender, against the loopback fake services.

Every remote provider is pointed at :class:`FakeServices` through its ``*_url`` preference,
with its key typed into the preferences and online access on. The operators' results land
in Blender (data-blocks checked against what the fake service computed); every fault gives
the artist's message as RuntimeError from ``bpy.ops`` and leaves the scene and the source
image exactly as they were. Nothing leaves loopback; ``requests`` is never patched.
"""

import importlib
import pathlib
import time

import numpy as np
import pytest
from blhelpers import PKG, load_astronaut, prefs

import bpy

from mapsmith.tests.servers.fake_services import (
    BROKE_KEY,
    HUGE,
    KEY_OF,
    RAPIDAPI_KEY,
    FakeServices,
    depth_of,
    foreground,
    normals_of,
)

SIZE = 96
KEYS = (*KEY_OF.values(), BROKE_KEY)
DEPTH, NORMALS = "/portrait-depth-estimation/v1", "/portrait-surface-normals/v1"
RESULTS = "/v1/results"


def mod(name):
    return importlib.import_module(f"{PKG}.{name}")


def key_env(service: str) -> str:
    """The environment variable standing in for a service's empty key preference."""
    return next(r.key_env for r in mod("providers").REMOTE if r.service == service)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def srv(online, monkeypatch, capfd):
    """Fake services (a fresh port per test: fresh pacers and rate-limit windows), every
    provider pointed at them with valid keys, fast retries; no key leaks to the terminal."""
    remote = mod("providers").REMOTE
    for record in remote:
        monkeypatch.delenv(record.key_env, raising=False)
    with FakeServices() as services:
        p = prefs()
        for record in remote:
            setattr(p, f"{record.service}_url", services.url)
            setattr(p, f"{record.service}_api_key", KEY_OF[record.service])
        p.max_retries, p.timeout_s = 1, 5.0
        mod("preferences").last_credits.clear()
        yield services
    out, err = capfd.readouterr()
    for key in KEYS:
        assert key not in out + err
    assert all(r.headers.get(h, "<redacted>") == "<redacted>"
               for r in services.requests for h in ("x-api-key", "authorization"))


@pytest.fixture
def photo(srv):
    return load_astronaut(size=SIZE)


# -- helpers ----------------------------------------------------------------------------------
def pixels_of(image):
    buf = np.empty(len(image.pixels), np.float32)
    image.pixels.foreach_get(buf)
    return buf


def snapshot(image=None):
    """Names and pointers of every data-block in every bpy.data collection, the scene's
    objects and the active one, and the source image's pixels and settings."""
    state = {}
    for attr in dir(bpy.data):
        coll = getattr(bpy.data, attr, None)
        if isinstance(coll, bpy.types.bpy_prop_collection):
            state[attr] = sorted((idb.name, idb.as_pointer()) for idb in coll)
    scene = bpy.context.scene
    state["scene objects"] = sorted(o.name for o in scene.objects)
    state["active"] = getattr(bpy.context.view_layer.objects.active, "name", None)
    if image is not None:
        state["image"] = (image.name, tuple(image.size), image.colorspace_settings.name,
                          image.is_dirty, image.packed_file is None, image.users)
        state["pixels"] = pixels_of(image).tobytes()
    return state


def message(err: RuntimeError) -> str:
    """bpy.ops's 'Error: <report>\\n' -> the report."""
    text = str(err).strip()
    return text[len("Error: "):] if text.startswith("Error: ") else text


def upload(request, field):
    return request.files[field].array()


def posts(srv, path):
    return [r for r in srv.requests if r.method == "POST" and r.path == path]


def rgb_u8(image):
    return (mod("blender.pixels").read(image) * 255).round().astype(np.int16)


def as_served(array):
    """What the fake ClipDrop sends (JPEG, quality 92), decoded as the client decodes it."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=92)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue()))).astype(np.int16)


def assert_no_key(text):
    for key in KEYS:
        assert key not in text


# -- results land in Blender ------------------------------------------------------------------
def test_depth_relief_with_clipdrop(photo, srv):
    assert bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP",
                                         resolution=48) == {"FINISHED"}
    (request,) = posts(srv, DEPTH)
    assert request.key == "valid" and request.headers["x-api-key"] == "<redacted>"
    sent = upload(request, "image_file")
    assert sent.shape[:2] == (SIZE, SIZE)
    obj = bpy.data.objects["astronaut relief"]
    assert obj.name in bpy.context.scene.objects and obj.type == "MESH"
    z = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", z)
    z = z.reshape(-1, 3)[:, 2]
    assert z.max() - z.min() > 0.005                       # the service's depth, not flat
    # CUT keeps only the person: fewer vertices than the full grid, as the depth says.
    person = (depth_of(sent[..., :3]) > 0).mean()
    assert 0 < person < 1
    assert len(obj.data.vertices) < 48 * 48
    assert obj.active_material.name == "astronaut relief"


def test_normal_map_with_clipdrop(photo, srv):
    assert bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP") == {"FINISHED"}
    (request,) = posts(srv, NORMALS)
    expected = as_served(normals_of(upload(request, "image_file")[..., :3]))
    image = bpy.data.images["astronaut normals"]
    assert image.colorspace_settings.name == "Non-Color"
    got = rgb_u8(image)[..., :3]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1              # the service's JPEG, decoded
    obj = bpy.data.objects["astronaut"]                     # no active mesh: a new plane
    nodes = obj.active_material.node_tree.nodes
    assert nodes["Mapsmith Normals"].image == image


def _shadowed(alpha):
    shadow = np.roll(alpha, max(1, alpha.shape[0] // 20), axis=0) // 2
    return np.maximum(alpha, shadow)


@pytest.mark.parametrize("mode, wire", [("CUTOUT", "fg-image"),
                                        ("CUTOUT_SHADOW", "fg-image-shadow"),
                                        ("MASK", "fg-mask")])
def test_remove_background_with_bgremoval(photo, srv, mode, wire):
    before = pixels_of(photo)
    assert bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL",
                                              mode=mode) == {"FINISHED"}
    (request,) = posts(srv, RESULTS)
    assert request.query == {"mode": wire} and request.key == "valid"
    assert request.headers["x-rapidapi-host"] == "background-removal4.p.rapidapi.com"
    sent = upload(request, "image")[..., :3]
    alpha = (foreground(sent) * 255 + 0.5).astype(np.uint8)
    assert 0 < (alpha > 127).mean() < 1
    if mode == "MASK":
        image = bpy.data.images["astronaut mask"]
        assert image.colorspace_settings.name == "Non-Color"
        assert np.abs(rgb_u8(image)[..., 0] - alpha).max() <= 1
        assert "astronaut cutout" not in bpy.data.objects
    else:
        image = bpy.data.images["astronaut cutout"]
        want = _shadowed(alpha) if mode == "CUTOUT_SHADOW" else alpha
        got = rgb_u8(image)
        assert np.abs(got[..., 3] - want).max() <= 1
        obj = bpy.data.objects["astronaut cutout"]
        assert obj.name in bpy.context.scene.objects
        assert obj.active_material.node_tree.nodes["Mapsmith Photo"].image == image
    assert np.array_equal(pixels_of(photo), before)


def test_material_setup_with_all_providers_remote(photo, srv):
    assert bpy.ops.mapsmith.material_setup(
        image=photo.name, provider="CLIPDROP", normals_provider="CLIPDROP",
        background_provider="BGREMOVAL") == {"FINISHED"}
    (bg,) = posts(srv, RESULTS)
    assert bg.query == {"mode": "fg-mask"}
    (normals,) = posts(srv, NORMALS)
    (depth,) = posts(srv, DEPTH)
    sent = upload(depth, "image_file")[..., :3]
    material = bpy.data.materials["astronaut material"]
    assert bpy.data.objects["astronaut"].active_material == material
    mask = bpy.data.images["astronaut mask"]
    alpha = (foreground(upload(bg, "image")[..., :3]) * 255 + 0.5).astype(np.int16)
    assert np.abs(rgb_u8(mask)[..., 0] - alpha).max() <= 1
    nmap = bpy.data.images["astronaut normals"]
    assert np.abs(rgb_u8(nmap)[..., :3] - as_served(normals_of(sent))).max() <= 1
    dimg = bpy.data.images["astronaut depth"]
    assert dimg.is_float
    got = mod("blender.pixels").read(dimg)[..., 0]
    want = as_served((depth_of(sent) * 255 + 0.5).astype(np.uint8)) / 255.0
    assert np.abs(got - want).max() < 1e-3
    for image in (mask, nmap, dimg):
        assert image.packed_file is not None


def test_credits_show_after_a_run_and_in_test_connection(photo, srv, capfd):
    assert bpy.ops.mapsmith.material_setup(
        image=photo.name, provider="CLIPDROP", normals_provider="CLIPDROP",
        background_provider="BGREMOVAL") == {"FINISHED"}
    out = capfd.readouterr().out
    assert ('Info: Material "astronaut material" on "astronaut" '
            "(ClipDrop: 998 credits left, 1 used)") in out
    assert bpy.ops.mapsmith.test_connection(service="clipdrop") == {"FINISHED"}
    status = ("ClipDrop: reachable, key not refused (credits show after a run); "
              "after the last run: 998 credits left, 1 used")
    assert mod("preferences").last_status["clipdrop"] == status
    out = capfd.readouterr().out
    assert status in out
    assert_no_key(out)


# -- the fault matrix -------------------------------------------------------------------------
def _no_key(srv):
    prefs().clipdrop_api_key = ""


def _bad_key(srv):
    prefs().clipdrop_api_key = "not-a-valid-key-42"


def _broke(srv):
    prefs().clipdrop_api_key = BROKE_KEY


def _refused(srv):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    prefs().clipdrop_url = prefs().bgremoval_url = f"http://127.0.0.1:{port}"


def _timeout(srv):
    prefs().timeout_s = 1.0
    srv.fault("delay", seconds=2.5)


def fault(*args, **kw):
    return lambda srv: srv.fault(*args, **kw)


CD = "ClipDrop: "
BG = "Background Removal: "
# (id, operator, setup, expected message, POSTs the service saw)
FAULTS = [
    ("no key", "depth", _no_key, CD + "no API key set; add one in the add-on preferences", 0),
    ("bad key", "depth", _bad_key,
     CD + "API key rejected; check it in the add-on preferences (403): Invalid api key", 1),
    ("no credits", "depth", _broke,
     CD + "no credits left (402): Your account has no remaining credits", 1),
    ("rate limit forever", "depth", fault(429, None, retry_after=0),
     CD + "too many requests (rate limit); wait a minute and try again (429): "
          "Injected failure", 2),
    ("rate limit, long Retry-After", "normals", fault(429, None, retry_after=600),
     CD + "the service is busy and asks to wait 600 s; try again later", 1),
    ("500", "normals", fault(500, None, retry_after=0),
     CD + "the service had an internal error; try again later (500): Injected failure", 2),
    ("503", "depth", fault(503, None, retry_after=0),
     CD + "the service is unavailable; try again later (503): Injected failure", 2),
    ("timeout", "depth", _timeout,
     CD + "no answer within 1 s (timeout); the service may be busy, try again", 1),
    ("refused", "depth", _refused, CD + "could not connect to 127.0.0.1 (connection refused)",
     0),
    ("dropped", "normals", fault("drop"),
     CD + "the connection was dropped before the answer arrived", 1),
    ("corrupt image", "depth", fault("corrupt_image"),
     CD + "the service sent back a damaged or incomplete image", 1),
    ("truncated image", "normals", fault("truncated_image"),
     CD + "the service sent back a damaged or incomplete image", 1),
    ("not an image", "depth", fault("bad_json"),
     CD + "the service sent back a damaged or incomplete image", 1),
    ("wrong size", "normals", fault("wrong_size"),
     CD + f"the service sent back a {SIZE // 2}x{SIZE // 2} image for a {SIZE}x{SIZE} input", 1),
    ("bg no key", "background", lambda s: setattr(prefs(), "bgremoval_api_key", ""),
     BG + "no API key set; add one in the add-on preferences", 0),
    ("bg bad key", "background", lambda s: setattr(prefs(), "bgremoval_api_key", "nope-nope-1"),
     BG + "API key rejected; check it in the add-on preferences (403): "
          "You are not subscribed to this API.", 1),
    ("bg no credits", "background", lambda s: setattr(prefs(), "bgremoval_api_key", BROKE_KEY),
     BG + "no credits left (402): You have exceeded the quota for requests on your plan", 1),
    ("bg corrupt base64", "background", fault("bad_base64"),
     BG + "the service sent back a damaged image (invalid base64)", 1),
    ("bg corrupt image", "background", fault("corrupt_image"),
     BG + "the service sent back a damaged or incomplete image", 1),
    ("bg failure in 200", "background", fault("failure_in_200"),
     BG + "could not process the image: Can not load image.", 1),
    ("bg 413", "background", fault(413, route=RESULTS),
     BG + f"image too large for the service even after resizing to {SIZE}x{SIZE} (413)", 1),
    ("bg 422", "background", fault(422, route=RESULTS),
     BG + "the service received no image (422)", 1),
    ("bg bad JSON", "background", fault("bad_json"),
     BG + "the service sent an unreadable answer (invalid JSON)", 1),
    ("bg 500", "background", fault(500, None, retry_after=0),
     BG + "the service had an internal error; try again later (500): Injected failure", 2),
    ("bg refused", "background", _refused,
     BG + "could not connect to 127.0.0.1 (connection refused)", 0),
]


def _run(kind, photo):
    if kind == "depth":
        return bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP")
    if kind == "normals":
        return bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP")
    return bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL")


@pytest.mark.parametrize("kind, setup, expected, seen",
                         [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_fault_gives_the_message_and_changes_nothing(photo, srv, kind, setup, expected, seen):
    setup(srv)
    before = snapshot(photo)
    with pytest.raises(RuntimeError) as caught:
        _run(kind, photo)
    assert message(caught.value) == expected
    assert_no_key(str(caught.value))
    assert snapshot(photo) == before
    assert len([r for r in srv.requests if r.method == "POST"]) == seen


def test_rate_limit_then_success(photo, srv):
    srv.fault(429, 1, route=DEPTH, retry_after=0)
    assert bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP",
                                         resolution=32) == {"FINISHED"}
    assert [r.status for r in posts(srv, DEPTH)] == [429, 200]
    assert "astronaut relief" in bpy.data.objects


def test_retry_after_is_honoured(photo, srv):
    srv.fault(503, 1, route=RESULTS, retry_after=1)
    assert bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL",
                                              mode="MASK") == {"FINISHED"}
    first, second = posts(srv, RESULTS)
    assert (first.status, second.status) == (503, 200)
    assert second.time - first.time >= 0.9
    assert "astronaut mask" in bpy.data.images


def test_material_setup_fails_late_and_leaves_nothing(photo, srv):
    """Background and normals succeed, depth fails last: nothing of the first two stays."""
    srv.fault(402, None, route=DEPTH)
    before = snapshot(photo)
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.material_setup(
            image=photo.name, provider="CLIPDROP", normals_provider="CLIPDROP",
            background_provider="BGREMOVAL")
    assert message(caught.value) == CD + "no credits left (402): Injected failure"
    assert [r.status for r in posts(srv, RESULTS)] == [200]
    assert [r.status for r in posts(srv, NORMALS)] == [200]
    assert snapshot(photo) == before


# -- online access off ------------------------------------------------------------------------
OFFLINE_CALLS = [
    ("depth_relief", dict(provider="CLIPDROP"), "ClipDrop"),
    ("normal_map", dict(provider="CLIPDROP"), "ClipDrop"),
    ("remove_background", dict(provider="BGREMOVAL", mode="MASK"), "Background Removal"),
    ("material_setup", dict(provider="OFFLINE", normals_provider="OFFLINE",
                            background_provider="BGREMOVAL"), "Background Removal"),
]


@pytest.mark.parametrize("op, kwargs, label", OFFLINE_CALLS, ids=[c[0] for c in OFFLINE_CALLS])
def test_online_access_off_refuses_without_a_request(photo, srv, op, kwargs, label):
    bpy.context.preferences.system.use_online_access = False
    assert not bpy.app.online_access
    before = snapshot(photo)
    with pytest.raises(RuntimeError) as caught:
        getattr(bpy.ops.mapsmith, op)(image=photo.name, **kwargs)
    assert message(caught.value) == (
        f"{label} needs online access, which is off (Preferences > System > Network > "
        "Allow Online Access). Or choose the Offline provider")
    assert srv.requests == []
    assert snapshot(photo) == before


def test_test_connection_refused_while_offline(srv):
    bpy.context.preferences.system.use_online_access = False
    with pytest.raises(RuntimeError, match=r"Online access is off \(Preferences > System"):
        bpy.ops.mapsmith.test_connection(service="clipdrop")
    assert srv.requests == []


# -- Test connection --------------------------------------------------------------------------
CONNECTION = [
    ("clipdrop", "ClipDrop: reachable, key not refused (credits show after a run)"),
    ("erase", "Erase: reachable, key not refused"),
    ("bgremoval", "Background Removal: service v1.5.0, ready"),
]


@pytest.mark.parametrize("service, status", CONNECTION, ids=[c[0] for c in CONNECTION])
def test_test_connection_shows_the_status(srv, capfd, service, status):
    last = mod("preferences").last_status
    last.pop(service, None)
    assert bpy.ops.mapsmith.test_connection(service=service) == {"FINISHED"}
    assert last[service] == status
    out = capfd.readouterr().out
    assert status in out                                   # the operator's INFO report
    assert_no_key(out + last[service])
    assert srv.requests and all(r.key == "valid" for r in srv.requests)


@pytest.mark.parametrize("service, key, expected", [
    ("clipdrop", "wrong-key-000000", "ClipDrop: API key rejected; check it in the add-on "
                                     "preferences (403): Invalid api key"),
    ("erase", "", "Erase: no API key set; add one in the add-on preferences"),
    ("bgremoval", BROKE_KEY, None),     # version and modes are free: a broke key still works
    ("erase", BROKE_KEY, "Erase: no credits left (402): Insufficient credits"),
])
def test_test_connection_reports_key_problems(srv, service, key, expected):
    setattr(prefs(), f"{service}_api_key", key)
    last = mod("preferences").last_status
    last.pop(service, None)
    if expected is None:
        assert bpy.ops.mapsmith.test_connection(service=service) == {"FINISHED"}
        assert last[service].startswith("Background Removal: service v1.5.0")
        return
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.test_connection(service=service)
    assert message(caught.value) == expected
    assert_no_key(str(caught.value))
    assert service not in last


# -- secrets (issue 11.7) ---------------------------------------------------------------------
SHORT_KEY = "Zq9#W"     # shorter than any real key: refused, never sent, shown nowhere
PASSWORD = "hunter2hunter2"


@pytest.mark.parametrize("source", ["preference", "environment"])
def test_test_connection_masks_a_key_the_server_echoes(srv, capfd, monkeypatch, source):
    """The /v1/version text carries the key: the status line and report show it masked."""
    srv.fault("echo_key", times=None)
    if source == "environment":
        prefs().bgremoval_api_key = ""
        monkeypatch.setenv(key_env("bgremoval"), RAPIDAPI_KEY)
    last = mod("preferences").last_status
    last.pop("bgremoval", None)
    assert bpy.ops.mapsmith.test_connection(service="bgremoval") == {"FINISHED"}
    assert last["bgremoval"] == "Background Removal: service v1.5.0 (key ***), ready"
    out, err = capfd.readouterr()
    assert last["bgremoval"] in out
    assert_no_key(out + err + last["bgremoval"])
    assert srv.requests and all(r.key == "valid" for r in srv.requests)


def test_an_echoed_key_is_masked_in_an_error(photo, srv, capfd):
    srv.fault("echo_key", times=None)
    prefs().bgremoval_api_key = wrong = "wrong-but-long-key-0042"
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL")
    assert message(caught.value) == (BG + "API key rejected; check it in the add-on preferences "
                                     "(403): You are not subscribed to this API. (key ***)")
    out, err = capfd.readouterr()
    assert wrong not in out + err + str(caught.value)


@pytest.mark.parametrize("source", ["preference", "environment"])
@pytest.mark.parametrize("service", ["clipdrop", "erase", "bgremoval"])
def test_a_short_key_is_refused_and_shown_nowhere(srv, capfd, monkeypatch, service, source):
    setattr(prefs(), f"{service}_api_key", "" if source == "environment" else SHORT_KEY)
    if source == "environment":
        monkeypatch.setenv(key_env(service), SHORT_KEY)
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.test_connection(service=service)
    assert message(caught.value).endswith(": the API key is too short to be a real key; paste "
                                          "the whole key from the service's dashboard")
    out, err = capfd.readouterr()
    assert SHORT_KEY not in out + err + str(caught.value)
    assert service not in mod("preferences").last_status or \
        SHORT_KEY not in mod("preferences").last_status[service]
    assert srv.requests == []


def test_a_short_key_stops_a_run_before_sending(photo, srv, capfd):
    prefs().clipdrop_api_key = SHORT_KEY
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP")
    assert SHORT_KEY not in str(caught.value) + "".join(capfd.readouterr())
    assert srv.requests == []


def test_url_credentials_are_dropped_and_never_echoed(srv, capfd):
    p = prefs()
    p.clipdrop_url = srv.url.replace("http://", f"http://alice:{PASSWORD}@")
    assert p.clipdrop_url == srv.url                       # the address stays, the login goes
    p.erase_url = f"ftp://alice:{PASSWORD}@files.example.invalid/x"
    assert p.erase_url == "ftp://files.example.invalid/x"
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.test_connection(service="erase")
    assert message(caught.value) == ("Erase: the service URL 'ftp://files.example.invalid/x' is "
                                     "not an http(s) address; fix or clear it in the add-on "
                                     "preferences")
    assert bpy.ops.mapsmith.test_connection(service="clipdrop") == {"FINISHED"}
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err + str(caught.value) and "alice" not in out + err


def test_no_key_and_no_url_credential_reach_a_file(srv, tmp_path, monkeypatch):
    """Keys (typed or from the environment) and a URL login are in neither userpref.blend nor
    a saved .blend file, after they were used."""
    monkeypatch.setenv(key_env("erase"), BROKE_KEY)
    prefs().erase_api_key = ""
    prefs().bgremoval_url = srv.url.replace("http://", f"http://alice:{PASSWORD}@")
    for service in ("clipdrop", "erase", "bgremoval"):
        try:
            bpy.ops.mapsmith.test_connection(service=service)
        except RuntimeError:
            pass                                           # the broke key: 402, that's fine
    assert bpy.ops.wm.save_userpref() == {"FINISHED"}
    userpref = pathlib.Path(bpy.utils.user_resource("CONFIG"), "userpref.blend")
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    saved = userpref.read_bytes()
    assert srv.url.encode() in saved                       # the preferences are in it...
    for data in (saved, blend.read_bytes()):
        for secret in (*KEYS, PASSWORD):
            assert secret.encode() not in data             # ...but no secret


# -- the whole request is bounded; answers are capped (issues 11.8 and 11.9) ------------------
def test_a_trickling_answer_ends_at_the_timeout(photo, srv):
    """One byte every 0.4 s would take many minutes; timeout_s=1.5 ends it well before 4.5 s."""
    prefs().timeout_s = 1.5
    srv.fault("trickle", seconds=0.4)
    before = snapshot(photo)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP")
    assert time.monotonic() - t0 < 4.5
    assert message(caught.value) == CD + ("no answer within 1.5 s (timeout); the service may be "
                                          "busy, try again")
    assert snapshot(photo) == before
    assert len(posts(srv, NORMALS)) == 1


@pytest.mark.parametrize("kind", ["huge", "huge_chunked"])
def test_an_oversized_answer_fails_without_being_read(photo, srv, kind):
    srv.fault(kind)
    before = snapshot(photo)
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.remove_background(image=photo.name, provider="BGREMOVAL")
    announced = "314.6 MB announced; " if kind == "huge" else ""
    assert message(caught.value) == BG + (
        f"the answer is too large ({announced}at most 1.1 MB expected), so it was not read; the "
        "server at this address does not behave like the service: try again, or check the "
        "service URL")
    assert snapshot(photo) == before
    assert srv.body_bytes_sent < HUGE / 8


# -- settings that used to end in a traceback (issue 11.10) -----------------------------------
def test_a_malformed_url_preference_is_a_message(photo, srv):
    prefs().clipdrop_url = "http://[::1"
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP")
    assert message(caught.value) == CD + ("the service URL 'http://[::1' is not a valid "
                                          "address; fix or clear it in the add-on preferences")
    assert "Internal error" not in str(caught.value)


def test_a_timeout_that_is_not_a_number_is_a_message(photo, srv):
    prefs().timeout_s = float("nan")
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.mapsmith.normal_map(image=photo.name, provider="CLIPDROP")
    assert message(caught.value) == CD + ("the Timeout preference (timeout_s) is nan, not a "
                                          "number of seconds; set it to 1..600 (60 is the "
                                          "default)")
    assert srv.requests == []


def test_relief_outline_comes_from_the_local_mask_and_never_costs_a_call(photo, srv):
    """A service's depth is outlined by the offline person mask when the background provider
    is the offline one (the default); with a service set for backgrounds, the relief does
    not call it (no credits spent for an outline): the depth's own values give it."""
    def relief_share():
        assert bpy.ops.mapsmith.depth_relief(image=photo.name, provider="CLIPDROP",
                                             resolution=48) == {"FINISHED"}
        share = len(bpy.context.active_object.data.vertices) / (48 * 48)
        bpy.data.objects.remove(bpy.context.active_object)
        return share

    rgb = (mod("blender.pixels").read(photo)[..., :3] * 255).round().astype(np.uint8)
    person = (mod("providers").create("OFFLINE").background(rgb, "MASK").image > 127).mean()
    blob = (depth_of(rgb) > 0).mean()
    assert abs(person - blob) > 0.05                  # the two outlines really differ
    assert abs(relief_share() - person) < 0.03
    prefs().background_provider = "BGREMOVAL"
    assert abs(relief_share() - blob) < 0.03
    assert posts(srv, RESULTS) == []
