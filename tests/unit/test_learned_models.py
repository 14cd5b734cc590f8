"""providers/offline/learned.py: the catalogue, each model's pre- and post-processing, and the
offline provider using a downloaded model end to end (stand-in ONNX models over loopback)."""

import re

import cv2
import numpy as np
import pytest
from skimage import data

from mapsmith.core import images
from mapsmith.core.errors import ProviderError
from mapsmith.providers import Settings
from mapsmith.providers.offline import OfflineProvider, downloads, learned
from mapsmith.providers.offline.runtime import SUMS_FILE
from mapsmith.tests.servers import stand_in_models
from mapsmith.tests.servers.helpers import loopback_only  # noqa: F401 (autouse)
from mapsmith.tests.servers.model_host import ModelHost

FILES = stand_in_models.files(learned.CATALOGUE)
STAND_INS = {info.id: info for info in stand_in_models.stand_in_infos(learned.CATALOGUE, FILES)}


@pytest.fixture(scope="module")
def host():
    with ModelHost(FILES) as h:
        yield h


def install(host, folder, *ids):
    for model_id in ids:
        downloads.download(STAND_INS[model_id], folder, base_url=host.url)
    learned.forget(folder)


def provider(folder):
    return OfflineProvider(Settings(user_models_dir=str(folder)))


# -- the catalogue -----------------------------------------------------------------------------

def test_catalogue_entries_are_pinned_and_licensed():
    assert set(learned.BY_ID) == {"DEPTH_ANYTHING_V2_SMALL", "MODNET", "LAMA"}
    for info in learned.CATALOGUE:
        assert info.licence == "Apache-2.0"
        assert re.search(r"/resolve/[0-9a-f]{40}/", info.path), info.path   # a fixed commit
        assert info.filename.endswith(".onnx") and info.size > 1_000_000
        assert downloads.url_for(info).startswith("https://huggingface.co/")
    assert len(learned.LAMA.sha256) == 64                # pinned from the publisher's LFS pointer
    with pytest.raises(ProviderError, match="Unknown model"):
        learned.lookup("NOPE")


# -- pre- and post-processing against the reference rules -------------------------------------

def test_depth_input_size_follows_the_reference_resize():
    # Depth-Anything-V2 util/transform.py Resize(518, lower_bound, multiple of 14)
    assert learned.depth_input_size(512, 512) == (518, 518)
    assert learned.depth_input_size(480, 640) == (518, 686)     # 640 * 518/480 = 690.7 -> 686
    assert learned.depth_input_size(1080, 1920) == (518, 924)
    for h, w in ((300, 1000), (2000, 700), (37, 53)):
        nh, nw = learned.depth_input_size(h, w)
        assert nh % 14 == 0 and nw % 14 == 0 and min(nh, nw) >= 518


def test_matte_input_size_follows_the_reference_rule():
    # MODNet colab/inference.py: ref_size 512, multiple of 32 (rounded down)
    assert learned.matte_input_size(512, 512) == (512, 512)
    assert learned.matte_input_size(400, 300) == (672, 512)     # long side < 512: short -> 512
    assert learned.matte_input_size(1080, 1920) == (512, 896)   # short side > 512
    assert learned.matte_input_size(600, 400) == (576, 384)     # in between: kept, floored


def test_resizes_match_the_libraries_the_references_use():
    rng = np.random.default_rng(1)
    a = rng.random((37, 53, 3)).astype(np.float32)
    for h, w in ((518, 700), (20, 30), (100, 17)):
        ref = cv2.resize(a, (w, h), interpolation=cv2.INTER_CUBIC)
        assert np.abs(images.resize_cubic(a, h, w) - ref).max() < 1e-4
    b = rng.random((64, 96)).astype(np.float32)
    assert np.allclose(images.resize_area(b, 16, 32), b.reshape(16, 4, 32, 3).mean(axis=(1, 3)),
                       atol=1e-6)
    small = rng.random((5, 7)).astype(np.float32)
    up = images.resize_aligned(small, 9, 13)
    assert np.allclose(up[::2, ::2], small, atol=1e-6)           # corners aligned: exact taps
    assert np.allclose(up[1, 0], (small[0, 0] + small[1, 0]) / 2, atol=1e-6)


# -- the provider with and without the models --------------------------------------------------

def test_without_models_everything_is_as_before(tmp_path):
    photo = data.astronaut()
    result = provider(tmp_path).depth(photo)
    assert result.note.startswith("Approximate depth (offline)")
    assert "downloaded" not in provider(tmp_path).background(photo, "MASK").note


def test_depth_model_end_to_end(host, tmp_path):
    install(host, tmp_path, "DEPTH_ANYTHING_V2_SMALL")
    photo = np.full((90, 160, 3), 30, np.uint8)
    photo[20:60, 100:140] = 240                   # a bright block: "nearer" for the stand-in
    result = provider(tmp_path).depth(photo)
    assert "Depth Anything V2 Small" in result.note
    depth = result.image
    assert depth.shape == (90, 160) and depth.dtype == np.float32
    assert depth.min() == 0.0 and depth.max() == pytest.approx(1.0)
    assert depth[40, 120] > 0.9 and depth[5, 5] < 0.1
    # The stand-in outputs the mean normalised channel, so the whole chain is checkable:
    rgbf = photo.astype(np.float32) / 255
    x = (images.resize_cubic(rgbf, 518, 924) - learned.IMAGENET_MEAN) / learned.IMAGENET_STD
    expected = images.resize_aligned(x.mean(axis=2), 90, 160)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    assert np.abs(depth - expected).max() < 1e-4
    normals = provider(tmp_path).normals(photo)
    assert "Depth Anything V2 Small" in normals.note


def test_matte_model_end_to_end(host, tmp_path):
    install(host, tmp_path, "MODNET")
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[60:240, 120:280] = 255                  # the stand-in's matte is the brightness
    result = provider(tmp_path).background(photo, "MASK")
    assert "MODNet" in result.note
    mask = result.image
    assert mask.shape == (300, 400)
    assert mask[150, 200] == 255 and mask[10, 10] == 0
    assert abs(int((mask > 127).sum()) - 180 * 160) < 2 * (180 + 160) * 3


def test_inpainting_model_takes_large_holes_only(host, tmp_path):
    install(host, tmp_path, "LAMA")
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 60, (200, 240, 3)).astype(np.uint8)   # dark noise
    mask = np.zeros((200, 240), np.uint8)
    mask[40:120, 40:130] = 255                    # large: LaMa (the stand-in paints grey)
    mask[150:156, 200:206] = 255                  # small: the built-in exemplar fill
    result = provider(tmp_path).cleanup(photo, mask)
    out = result.image
    assert "Big LaMa" in result.note
    assert np.abs(out[45:115, 45:125].astype(int) - 128).max() <= 2
    assert out[150:156, 200:206].max() < 100      # filled from the dark noise, not grey
    assert np.array_equal(out[mask == 0], photo[mask == 0])       # the rest byte-identical
    # Without the model the large hole is filled from the image too.
    plain = provider(tmp_path / "none").cleanup(photo, mask).image
    assert plain[45:115, 45:125].max() < 100


def test_corrupt_downloaded_model_is_refused_with_the_right_hint(host, tmp_path):
    install(host, tmp_path, "DEPTH_ANYTHING_V2_SMALL")
    path = tmp_path / STAND_INS["DEPTH_ANYTHING_V2_SMALL"].filename
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    learned.forget(tmp_path)
    with pytest.raises(ProviderError, match="damaged.*download it again in the model manager"):
        provider(tmp_path).depth(np.zeros((40, 40, 3), np.uint8))


def test_pinned_checksum_refuses_another_file(host, tmp_path):
    # The real LaMa entry pins the publisher's SHA-256: the host's stand-in is not that file.
    with pytest.raises(ProviderError, match="different file|failed verification"):
        downloads.download(learned.LAMA, tmp_path, base_url=host.url)
    assert not (tmp_path / learned.LAMA.filename).exists()
    assert learned.find("cleanup", tmp_path) is None


def test_removed_model_is_no_longer_used(host, tmp_path):
    install(host, tmp_path, "DEPTH_ANYTHING_V2_SMALL")
    info = STAND_INS["DEPTH_ANYTHING_V2_SMALL"]
    assert learned.find("depth", tmp_path) is not None
    assert downloads.remove(info, tmp_path)
    learned.forget(tmp_path)
    assert learned.find("depth", tmp_path) is None
    assert info.filename not in (tmp_path / SUMS_FILE).read_text()
    assert provider(tmp_path).depth(data.astronaut()).note.startswith("Approximate depth")


def test_stand_ins_have_the_real_signatures():
    import onnxruntime as ort
    for capability, names in (("depth", (["pixel_values"], ["predicted_depth"])),
                              ("background", (["input"], ["output"])),
                              ("cleanup", (["image", "mask"], ["output"]))):
        sess = ort.InferenceSession(stand_in_models.BUILDERS[capability]())
        assert [i.name for i in sess.get_inputs()] == names[0]
        assert [o.name for o in sess.get_outputs()] == names[1]
