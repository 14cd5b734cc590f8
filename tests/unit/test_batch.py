"""The bpy-free batch runner (blender/batch.py) and the STL writer (core/stl.py), with the
real offline provider and real images written to a temporary folder."""

import csv
import json
import os
import struct

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from mapsmith.blender import batch
from mapsmith.core import cutout, mesh_check, relief_mesh, stl
from mapsmith.core.errors import InputError
from mapsmith.providers import create
from mapsmith.providers.offline.face import face_mask

SIZE = 64


def _save(folder, name, rgb, size=SIZE):
    path = folder / name
    Image.fromarray(rgb).resize((size, size)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, rgb in (("astronaut.png", data.astronaut()), ("coffee.png", data.coffee()),
                      ("chelsea.jpg", data.chelsea())):
        _save(folder, name, rgb)
    return folder


def _plan(folder, out, maps=("NORMAL", "DEPTH", "MASK"), **kw):
    items = batch.file_items(batch.folder_files(str(folder), kw.pop("pattern", "*")))
    offline = create("OFFLINE")
    plan = batch.Plan(items=items, maps=maps, output=str(out), **kw)
    for cap in batch.capabilities(maps, plan.subject):
        plan.providers[cap] = offline
    return plan


def test_a_folder_makes_every_map_and_a_report(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    report = batch.run(_plan(photos, out, pattern="*.png"))
    assert [r.status for r in report.items] == ["done", "done"]      # the .jpg left out
    assert sorted(os.listdir(out)) == sorted(
        [f"{s}_{m}" for s in ("astronaut", "coffee")
         for m in ("normal.png", "depth.exr", "mask.png")] + ["batch_report.json",
                                                               "batch_report.csv"])
    saved = json.loads((out / "batch_report.json").read_text())
    assert saved["items"][0]["made"] == ["astronaut_normal.png", "astronaut_depth.exr",
                                         "astronaut_mask.png"]
    assert saved["items"][0]["providers"]["normals"] == "Offline (built in)"
    rows = list(csv.DictReader((out / "batch_report.csv").open()))
    assert [r["status"] for r in rows] == ["done", "done"]
    with Image.open(out / "coffee_mask.png") as im:
        assert im.mode.startswith("I;16") and im.size == (SIZE, SIZE)


def test_mask_and_cutout_are_refined_as_remove_background_refines_them(tmp_path):
    """The batch's mask and cutout are the provider's answer through ``cutout.refine`` (the
    flag strip joined to the astronaut's sleeve dropped, edge colours estimated), as
    Remove Background makes them, not the raw answer."""
    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    rgb = np.asarray(Image.open(_save(photos, "astronaut.png", data.astronaut(), 128)))
    batch.run(_plan(photos, out, maps=("MASK", "CUTOUT")))
    raw = create("OFFLINE").background(rgb, "CUTOUT").image
    refined = cutout.refine(rgb, raw, keep=face_mask(rgb))
    with Image.open(out / "astronaut_mask.png") as im:
        mask = np.round(np.asarray(im, np.float64) / 257).astype(np.uint8)
    assert np.array_equal(mask, refined[..., 3])
    assert (mask < raw[..., 3]).sum() > 300             # the flag strip and its fringe
    bgra = cv2.imread(str(out / "astronaut_cutout.png"), cv2.IMREAD_UNCHANGED)
    assert bgra.dtype == np.uint16
    assert np.array_equal(bgra[..., [2, 1, 0, 3]], refined.astype(np.uint16) * 257)


def test_resume_skips_what_is_up_to_date_and_overwrite_redoes_it(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    batch.run(_plan(photos, out))
    made = out / "coffee_normal.png"
    before = made.stat().st_mtime_ns
    report = batch.run(_plan(photos, out))
    assert [r.status for r in report.items] == ["skipped"] * 3
    assert made.stat().st_mtime_ns == before
    later = before / 1e9 + 10                          # the input edited after its maps
    os.utime(photos / "coffee.png", (later, later))
    report = batch.run(_plan(photos, out))
    assert {r.input: r.status for r in report.items}["coffee.png"] == "done"
    assert sorted(r.status for r in report.items) == ["done", "skipped", "skipped"]
    report = batch.run(_plan(photos, out, overwrite=True))
    assert [r.status for r in report.items] == ["done"] * 3


def test_a_bad_file_fails_alone_and_nothing_old_is_spoilt(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (photos / "broken.png").write_bytes(b"\x89PNG not really")
    (out / "broken_normal.png").write_bytes(b"an older map")
    report = batch.run(_plan(photos, out, overwrite=True))
    status = {r.input: (r.status, r.message) for r in report.items}
    assert status["broken.png"][0] == "failed"
    assert "Cannot read \"broken.png\"" in status["broken.png"][1]
    assert [s for s, _m in status.values()].count("done") == 3
    assert (out / "broken_normal.png").read_bytes() == b"an older map"
    assert not [p for p in os.listdir(out) if p.endswith(".part")]


def test_an_output_that_cannot_be_written_fails_that_item_only(photos, tmp_path):
    out = tmp_path / "out"
    (out / "coffee_normal.png").mkdir(parents=True)         # a folder in the file's place
    report = batch.run(_plan(photos, out))
    status = {r.input: r for r in report.items}
    assert status["coffee.png"].status == "failed"
    assert "cannot write coffee_normal.png" in status["coffee.png"].message
    assert status["coffee.png"].made == ["coffee_depth.exr", "coffee_mask.png"]
    assert status["astronaut.png"].status == status["chelsea.jpg"].status == "done"
    assert not [p for p in os.listdir(out) if p.endswith(".part")]


def test_stop_between_items_writes_the_report(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    seen = []
    report = batch.run(_plan(photos, out), progress=lambda f, t: seen.append((f, t)),
                       should_stop=lambda: any(t.startswith("2/") for _f, t in seen))
    assert report.stopped
    assert [r.status for r in report.items] == ["done", "done", "not run (stopped)"]
    second = [t for _f, t in seen if t.startswith("2/3")]
    assert second and all("left" in t for t in second)           # a time-left estimate
    fractions = [f for f, _t in seen]
    assert fractions == sorted(fractions) and 0 < fractions[1] < 1 / 3  # within item 1 too
    assert json.loads((out / "batch_report.json").read_text())["stopped"] is True


def test_a_sequence_with_a_missing_frame_and_a_wrong_size(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    for frame in (1, 2, 4):
        _save(folder, f"shot_{frame:04d}.png", data.astronaut())
    _save(folder, "shot_0005.png", data.astronaut(), size=SIZE // 2)
    items = batch.sequence_items(str(folder / "shot_0001.png"))
    assert [i.frame for i in items] == [1, 2, 3, 4, 5]
    assert "Frame 3 is missing" in items[2].error
    out = tmp_path / "out"
    out.mkdir()
    plan = batch.Plan(items=items, maps=("NORMAL",), output=str(out), same_size=True,
                      providers={"normals": create("OFFLINE")})
    report = batch.run(plan)
    assert [r.status for r in report.items] == ["done", "done", "failed", "done", "failed"]
    assert "same size" in report.items[4].message
    assert (out / "shot_0002_normal.png").is_file()
    assert [i.frame for i in batch.sequence_items(str(folder / "shot_0001.png"), 2, 3)] == [2, 3]


def test_a_movies_frames_are_numbered_like_a_sequence_and_dated_by_the_movie(tmp_path):
    movie = tmp_path / "clip.mp4"
    movie.write_bytes(b"not decoded here")
    items = batch.movie_items("clip.mp4", "clip", str(movie), 5)
    assert [(i.name, i.stem, i.frame) for i in items[:2]] == [
        ("clip.mp4 frame 1", "clip_0001", 1), ("clip.mp4 frame 2", "clip_0002", 2)]
    assert [i.frame for i in batch.movie_items("clip.mp4", "clip", str(movie), 5, 2, 3)] == [2, 3]
    assert [i.frame for i in batch.movie_items("clip.mp4", "clip", str(movie), 5, 4)] == [4, 5]
    for start, end, option in ((6, 0, "First"), (0, 9, "Last")):
        with pytest.raises(InputError, match=f"has 5 frames: choose a {option} Frame"):
            batch.movie_items("clip.mp4", "clip", str(movie), 5, start, end)
    with pytest.raises(InputError, match="empty"):
        batch.movie_items("clip.mp4", "clip", str(movie), 5, 3, 2)
    # A frame not read (no PNG decoded for it) fails with a message, not a crash.
    out = tmp_path / "out"
    out.mkdir()
    plan = batch.Plan(items=items[:1], maps=("NORMAL",), output=str(out),
                      providers={"normals": create("OFFLINE")})
    assert "was not read" in batch.run(plan).items[0].message
    # Up to date: the outputs are newer than the movie (the decoded PNG is always newer).
    frame = tmp_path / "frame.png"
    _save(tmp_path, "frame.png", data.astronaut())
    (out / "clip_0001_normal.png").write_bytes(b"made earlier")
    os.utime(movie, (1000, 1000))
    items[0].path = str(frame)
    assert batch.up_to_date(plan, items[0])
    os.utime(movie, None)
    os.utime(out / "clip_0001_normal.png", (1000, 1000))
    assert not batch.up_to_date(plan, items[0])


def test_bad_folders_are_messages(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        batch.folder_files(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="No image"):
        batch.folder_files(str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(InputError, match="Cannot write to the output folder"):
        batch.check_output_folder(str(blocker / "out"))


def test_credits_warning_when_the_batch_needs_more():
    labels = {"CLIPDROP": "ClipDrop"}
    warned = batch.credits_warnings({"CLIPDROP": 5}, {"CLIPDROP": "3 credits left, 1 used"},
                                    labels)
    assert len(warned) == 1 and "3 credits left" in warned[0] and "5 calls" in warned[0]
    assert batch.credits_warnings({"CLIPDROP": 3}, {"CLIPDROP": "3 credits left"}, labels) == []
    assert batch.credits_warnings({"CLIPDROP": 9}, {}, labels) == []   # nothing reported yet


def test_texture_maps_need_no_provider(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _save(folder, "brick.png", np.dstack([data.brick()] * 3))
    out = tmp_path / "out"
    out.mkdir()
    plan = _plan(folder, out, maps=("NORMAL", "HEIGHT", "RELIEF"), subject="TEXTURE",
                 relief=dict(resolution=32, long_side=0.1, background="BASE", solid=True,
                             background_level=-1.0))
    assert plan.providers == {}
    report = batch.run(plan)
    assert report.items[0].status == "done", report.items[0].message
    with Image.open(out / "brick_height.png") as im:
        height = np.asarray(im)
    assert height.dtype == np.uint16 and height.std() > 1000


def test_stl_round_trip(tmp_path):
    depth = np.zeros((20, 30), np.float32)
    depth[5:15, 5:25] = 1.0
    mesh = relief_mesh.depth_to_relief(depth, resolution=30, long_side=0.2, solid=True)
    path = stl.write_stl(tmp_path / "r.stl", mesh, 1000.0)
    raw = path.read_bytes()
    (count,) = struct.unpack_from("<I", raw, 80)
    tri = mesh_check.triangles(mesh)
    assert count == len(tri) and len(raw) == 84 + 50 * count
    facets = np.frombuffer(raw, stl._FACET, offset=84)
    np.testing.assert_allclose(facets["v"][:, 0], mesh.co[tri[:, 0]] * 1000.0, rtol=1e-6)
    span = facets["v"][..., 0].max() - facets["v"][..., 0].min()            # millimetres
    assert abs(span - 1000.0 * np.ptp(mesh.co[:, 0])) < 1e-3 and span > 100.0
    assert np.allclose(np.linalg.norm(facets["normal"], axis=1), 1.0, atol=1e-5)
