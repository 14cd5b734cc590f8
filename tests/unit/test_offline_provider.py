"""The offline provider on real portraits: skimage's astronaut() (512x512) and matplotlib's
grace_hopper.jpg (512 wide, 600 high). Pixel positions below were picked by looking at the
pictures (x = column, y = row)."""

import pathlib
import shutil

import numpy as np
import pytest

from mapsmith.core.errors import Cancelled, CancelToken
from mapsmith.providers import ProviderError, create
from mapsmith.providers.offline import OfflineProvider, segment
from mapsmith.providers.offline.runtime import MODELS_DIR, default_store

# (x, y) points, by looking at the photos
ASTRONAUT = {
    "inside": {"forehead": (225, 85), "nose": (223, 131), "chin": (222, 165),
               "chest": (150, 350), "right arm": (60, 330), "neck ring": (215, 200)},
    "outside": {"top-left corner": (3, 3), "top-right corner": (508, 3),
                "wall right of head": (330, 60), "rocket": (400, 150),
                "wall left of head": (100, 60)},
    "nose": (223, 131), "cheeks": [(195, 127), (253, 130)],
}
GRACE = {
    "inside": {"forehead": (265, 170), "nose": (268, 245), "chin": (265, 320),
               "chest": (256, 500), "left shoulder": (80, 480), "cap": (250, 60)},
    "outside": {"top-left corner": (3, 3), "top-right corner": (508, 3),
                "flag left of head": (60, 150), "blue right of head": (470, 150)},
    "nose": (268, 245), "cheeks": [(211, 244), (322, 239)],
}


def _grace():
    import matplotlib
    from PIL import Image
    path = pathlib.Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return np.asarray(Image.open(path).convert("RGB"))


def _astronaut():
    from skimage import data
    return data.astronaut()


@pytest.fixture(scope="module")
def provider():
    return OfflineProvider()


@pytest.fixture(scope="module", params=["astronaut", "grace"])
def portrait(request, provider):
    img = _astronaut() if request.param == "astronaut" else _grace()
    points = ASTRONAUT if request.param == "astronaut" else GRACE
    depth = provider.depth(img)
    normals = provider.normals(img)
    mask = provider.background(img, "MASK")
    return {"name": request.param, "img": img, "points": points, "depth": depth,
            "normals": normals, "mask": mask}


def test_registry_creates_offline_provider():
    p = create("OFFLINE")
    assert isinstance(p, OfflineProvider)
    assert p.id == "OFFLINE" and p.remote is False
    assert p.capabilities == {"depth", "normals", "background", "cleanup"}


def test_mask_inside_and_outside(portrait):
    mask = portrait["mask"].image
    assert mask.dtype == np.uint8 and mask.shape == portrait["img"].shape[:2]
    for name, (x, y) in portrait["points"]["inside"].items():
        assert mask[y, x] >= 200, f"{portrait['name']}: {name} should be inside, got {mask[y, x]}"
    for name, (x, y) in portrait["points"]["outside"].items():
        assert mask[y, x] <= 30, f"{portrait['name']}: {name} should be outside, got {mask[y, x]}"


def test_mask_edge_is_sharper_than_a_bilinear_stretch(portrait, provider):
    from mapsmith.core import images
    mask = portrait["mask"].image
    soft = ((mask > 10) & (mask < 245)).mean()
    rgbf = images.to_float_rgb(portrait["img"])
    prob = segment.coarse_mask(default_store(), rgbf)  # the store OfflineProvider() uses
    stretched = images.resize(prob, *mask.shape) * 255
    soft_stretched = ((stretched > 10) & (stretched < 245)).mean()
    assert 0.0005 < soft < 0.7 * soft_stretched, (soft, soft_stretched)


def test_mask_is_opaque_where_the_model_is_sure_of_the_person(portrait):
    # The guided filter dips below 1 inside the person at strong photo edges; where the model
    # itself is sure (> 0.98) the mask trusts the model.
    from mapsmith.core import images
    rgbf = images.to_float_rgb(portrait["img"])
    prob = segment.coarse_mask(default_store(), rgbf)
    sure = images.resize(prob, *rgbf.shape[:2]) > 0.98
    assert sure.sum() > 10_000
    assert (portrait["mask"].image[sure] == 255).all()


def test_cutout_and_shadow(provider):
    img = _grace()
    cut = provider.background(img, "CUTOUT").image
    shadow = provider.background(img, "CUTOUT_SHADOW").image
    mask = provider.background(img, "MASK").image
    assert cut.shape == img.shape[:2] + (4,) and cut.dtype == np.uint8
    assert np.array_equal(cut[..., 3], mask)
    solid = mask == 255
    assert np.array_equal(cut[..., :3][solid], img[solid])
    assert np.array_equal(shadow[..., :3][solid], img[solid])
    # the shadow only adds opacity, and it adds some next to the person
    assert (shadow[..., 3].astype(int) >= cut[..., 3].astype(int) - 1).all()
    assert (shadow[..., 3].astype(int) - cut[..., 3] > 20).sum() > 500


def test_depth_contract_and_ordering(portrait):
    result = portrait["depth"]
    d = result.image
    assert d.dtype == np.float32 and d.shape == portrait["img"].shape[:2]
    assert d.min() >= 0.0 and d.max() <= 1.0 and d.max() > 0.95
    assert "approximat" in result.note.lower()
    pts = portrait["points"]
    nx, ny = pts["nose"]
    nose = d[ny - 1:ny + 2, nx - 1:nx + 2].mean()
    for cx, cy in pts["cheeks"]:
        assert nose > d[cy, cx] + 0.02, (portrait["name"], nose, d[cy, cx])
    for name, (x, y) in pts["outside"].items():
        assert d[y, x] == 0.0, name
    # background exactly 0: wherever the person mask is empty
    assert (d[portrait["mask"].image == 0] == 0.0).all()
    # the face is the nearest part of the portrait
    fx, fy = pts["inside"]["forehead"]
    assert nose > d[fy, fx] > d[pts["inside"]["chest"][1], pts["inside"]["chest"][0]] - 0.2


def _interior(d, margin):
    from mapsmith.core import images
    inside = (d > 0).astype(np.float32)
    return images.box_filter(inside, margin) > 0.999


def test_depth_is_smooth_inside_the_person(portrait):
    d = portrait["depth"].image
    core = _interior(d, 12)   # away from the silhouette, where a rounded volume turns steep
    gy, gx = np.gradient(d)
    step = np.hypot(gx, gy)[core]
    # no steps: the steepest slope inside stays small per pixel at this resolution
    assert step.max() < 0.02, step.max()
    # no creases: the second differences are tiny everywhere inside
    for axis in (0, 1):
        second = np.zeros_like(d)
        second[1:-1] = np.diff(d, 2, axis=0) if axis == 0 else 0
        if axis == 1:
            second[:, 1:-1] = np.diff(d, 2, axis=1)
        assert np.abs(second[core]).max() < 0.004, (axis, np.abs(second[core]).max())


def test_normals_consistent_with_depth(portrait):
    from mapsmith.core.normals import decode
    n = portrait["normals"].image
    d = portrait["depth"].image
    assert n.dtype == np.uint8 and n.shape == d.shape + (3,)
    bg = d == 0
    assert (n[bg] == (128, 128, 255)).all()
    v = decode(n)
    gy, gx = np.gradient(d)
    core = _interior(d, 4)
    # X right: depth rising to the right tilts the normal to the left; Y up: rows go down
    sel = core & (np.abs(gx) > 2e-3)
    assert (np.sign(v[..., 0][sel]) == np.sign(-gx[sel])).mean() > 0.95
    sel = core & (np.abs(gy) > 2e-3)
    assert (np.sign(v[..., 1][sel]) == np.sign(gy[sel])).mean() > 0.95
    flat = core & (np.hypot(gx, gy) < 2e-4)
    assert v[..., 2][flat].min() > 0.95
    # beside the nose the normals face away from it
    nx, ny = portrait["points"]["nose"]
    assert v[ny, nx - 8, 0] < -0.05 and v[ny, nx + 8, 0] > 0.05
    assert "approximat" in portrait["normals"].note.lower()


def test_no_face_degrades_to_body_only(provider):
    # the astronaut's face painted over with flat skin: a person without a face
    img = _astronaut().copy()
    img[60:185, 170:280] = (200, 160, 140)
    result = provider.depth(img)
    d = result.image
    assert d.max() > 0.5
    assert "no face" in result.note.lower()
    assert "approximat" in result.note.lower()


def test_no_person_is_empty():
    p = OfflineProvider()
    flat = np.full((64, 80, 3), 90, np.uint8)
    assert p.depth(flat).image.max() == 0.0
    assert p.background(flat, "MASK").image.max() == 0
    n = p.normals(flat).image
    assert (n == (128, 128, 255)).all()


def test_rgba_and_odd_sizes(provider):
    img = _astronaut()[:301, :217]
    rgba = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert provider.depth(rgba).image.shape == (301, 217)
    assert provider.background(rgba, "CUTOUT").image.shape == (301, 217, 4)
    with pytest.raises(ProviderError):
        provider.background(img, "SOMETHING")


def test_guided_refinement_follows_photo_edge():
    # a sharp vertical edge in the photo and a blurry, misplaced coarse mask
    h, w = 200, 200
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[:, :100] = 0.9
    coarse = np.zeros((25, 25), np.float32)
    coarse[:, :12] = 1.0
    coarse[:, 12] = 0.5
    alpha = segment.refine(coarse, rgb)
    assert alpha[:, :96].min() > 0.95
    assert alpha[:, 104:].max() < 0.05
    row = alpha[100]
    assert np.count_nonzero((row > 0.05) & (row < 0.95)) <= 4  # sharp, not a bilinear ramp


def test_progress_and_cancel(provider):
    seen = []
    token = CancelToken(lambda f, t: seen.append(f))
    provider.depth(_astronaut()[:128, 128:256], cancel=token)
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        provider.background(_astronaut(), "MASK", cancel=token)


def _copy_models(tmp_path):
    dest = tmp_path / "models"
    shutil.copytree(MODELS_DIR, dest)
    return dest


def test_missing_model_file_is_a_clear_error(tmp_path):
    models = _copy_models(tmp_path)
    (models / "selfie_segmentation.onnx").unlink()
    p = OfflineProvider(models_dir=models)
    with pytest.raises(ProviderError) as err:
        p.background(_astronaut(), "MASK")
    msg = str(err.value)
    assert "selfie_segmentation.onnx" in msg and "missing" in msg and "Reinstall" in msg


def test_corrupt_model_file_is_a_clear_error(tmp_path):
    models = _copy_models(tmp_path)
    path = models / "face_landmark.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    p = OfflineProvider(models_dir=models)
    assert p.background(_astronaut(), "MASK").image.max() == 255  # other models still work
    with pytest.raises(ProviderError) as err:
        p.depth(_astronaut())
    msg = str(err.value)
    assert "face_landmark.onnx" in msg and "damaged" in msg and "Reinstall" in msg


def test_truncated_model_with_matching_checksum_is_a_clear_error(tmp_path):
    models = _copy_models(tmp_path)
    path = models / "face_detection_short_range.onnx"
    path.write_bytes(b"not an onnx model")
    import hashlib
    sums = (models / "SHA256SUMS").read_text().splitlines()
    digest = hashlib.sha256(b"not an onnx model").hexdigest()
    sums = [f"{digest}  {path.name}" if line.endswith(path.name) else line for line in sums]
    (models / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    with pytest.raises(ProviderError) as err:
        OfflineProvider(models_dir=models).test_connection()
    assert "face_detection_short_range.onnx" in str(err.value)
    assert "Reinstall" in str(err.value)


def test_models_match_their_checksums():
    import hashlib
    lines = (MODELS_DIR / "SHA256SUMS").read_text().split("\n")
    entries = [line.split() for line in lines if line.strip()]
    assert {name for _, name in entries} == {
        "selfie_segmentation.onnx", "face_detection_short_range.onnx", "face_landmark.onnx"}
    for digest, name in entries:
        assert hashlib.sha256((MODELS_DIR / name).read_bytes()).hexdigest() == digest
    notice = (MODELS_DIR / "NOTICE").read_text()
    assert "Apache" in notice and "mediapipe 0.10.21" in notice
    assert "Apache License" in (MODELS_DIR / "LICENSE").read_text()


def test_cleanup_fills_a_hole_from_its_surroundings(provider):
    rng = np.random.default_rng(1)
    img = np.empty((96, 96, 3), np.uint8)
    img[:] = (110, 150, 90)
    img = np.clip(img + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    holed = img.copy()
    holed[40:56, 40:56] = (255, 0, 255)
    mask = np.zeros((96, 96), np.uint8)
    mask[38:58, 38:58] = 255
    out = provider.cleanup(holed, mask).image
    assert out.shape == img.shape and out.dtype == np.uint8
    err = np.abs(out[40:56, 40:56].astype(int) - (110, 150, 90)).mean()
    assert err < 12, err


def test_cleanup_can_keep_the_person_out_of_the_fill(provider, monkeypatch):
    """exclude_person hands core.inpaint the person as a no-source region."""
    from mapsmith.core import inpaint as inpaint_module
    seen = {}
    real = inpaint_module.inpaint

    def spy(rgb, mask, **kwargs):
        seen.update(kwargs)
        return real(rgb, mask, **kwargs)

    monkeypatch.setattr(inpaint_module, "inpaint", spy)
    rgb = _astronaut()
    mask = np.zeros(rgb.shape[:2], np.uint8)
    mask[40:60, 320:340] = 255                                  # a patch of wall
    filled = provider.cleanup(rgb, mask, exclude_person=True).image
    exclude = seen["exclude"]
    for x, y in ASTRONAUT["inside"].values():
        assert exclude[y, x], (x, y)
    for x, y in ASTRONAUT["outside"].values():
        assert not exclude[y, x], (x, y)
    assert (filled[mask == 0] == rgb[mask == 0]).all()
    provider.cleanup(rgb, mask)
    assert seen["exclude"] is None                              # off by default


# -- issue 11 item 15: a subject that is not a person says so ---------------------------------
@pytest.mark.parametrize("picture", ["chelsea", "coffee"])
def test_not_a_person_is_said_in_the_note(picture):
    """The selfie model calls a cat 96 % person and a coffee cup 37 %: with no face and a mask
    that is not person-shaped the note says so; the result is still made."""
    from skimage import data

    from mapsmith.providers.offline import NOT_A_PERSON_NOTE
    rgb = getattr(data, picture)()
    result = OfflineProvider().background(rgb, "MASK")
    assert result.note == NOT_A_PERSON_NOTE
    assert (result.image > 127).mean() > 0.2          # made all the same
    assert segment.person_shaped(result.image / 255.0) is False


def test_people_get_no_such_note():
    from skimage import data
    for rgb in (data.astronaut(), _grace()):
        result = OfflineProvider().background(rgb, "CUTOUT")
        assert result.note == ""
        assert segment.person_shaped(result.image[..., 3] / 255.0)
