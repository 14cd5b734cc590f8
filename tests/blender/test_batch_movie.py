"""mapsmith.batch_maps on a movie data-block, in real Blender from the built zip: a short
movie made here (distinct frames rendered through the Video Sequencer to MPEG-4 H.264), its
frames decoded by Blender and batched offline, one output set per frame that matches the
same frame batched as PNG files, a frame range, resume without decoding again, the maps
loaded back as image sequences that follow the frame, cancelling (while the frames are
read, and after) leaving no temporary scene, image or file behind, and the modal path (a
frame a tick, Esc) driven with a stand-in window."""

import os
import tempfile
import time
import types

os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"   # before cv2 is imported

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from blhelpers import make_movie  # noqa: E402
from skimage import data  # noqa: E402
from test_batch import (  # noqa: E402
    SIZE,
    _save,
    batch,
    cancelled_at_the_second_item,
    mod,
    report_of,
    statuses,
)

import bpy  # noqa: E402

FRAMES = 4
MAPS = {"NORMAL", "MASK", "DEPTH"}

pytestmark = pytest.mark.skipif(
    not bpy.app.ffmpeg.supported,
    reason="this bpy wheel was built without FFmpeg: Blender cannot write or read a movie")


def _movie(folder, frames=FRAMES):
    """Numbered PNG frames (the astronaut moving right) and clip.mp4 made of them by
    Blender's Video Sequencer (H.264, lossless quality), loaded as an Image; the PNG files
    loaded as an image sequence."""
    folder.mkdir()
    photo = data.astronaut()
    pngs = [_save(folder / f"shot_{f:04d}.png", np.roll(photo, 64 * f, axis=1))
            for f in range(1, frames + 1)]
    movie = make_movie(pngs, folder / "clip.mp4")
    assert movie.source == "MOVIE" and movie.frame_duration == frames
    sequence = bpy.data.images.load(str(pngs[0]))
    sequence.source = "SEQUENCE"
    return movie, sequence


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """Python's temporary folder for this test: the decoded frames go there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def renders():
    """The movie frames Blender decoded (each is one render of the batch's scene)."""
    seen = []

    def count(scene, *_args):
        if scene.name.startswith(mod("blender.movie_frames").SCENE_NAME):
            seen.append(scene.frame_current)

    bpy.app.handlers.render_post.append(count)
    yield seen
    bpy.app.handlers.render_post.remove(count)


def _blender_data():
    return ({s.name for s in bpy.data.scenes},
            sorted(i.name for i in bpy.data.images if i.type == "RENDER_RESULT"))


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64)


def test_every_frame_of_a_movie_and_the_maps_back_as_animated_sequences(
        blank, tmp_path, temp_dir, renders):
    movie, sequence = _movie(tmp_path / "shot")
    before = _blender_data()
    out = tmp_path / "maps"
    assert batch(source="SEQUENCE", sequence=movie.name, output=str(out),
                 maps=MAPS) == {"FINISHED"}
    assert statuses(out) == {f"clip.mp4 frame {f}": "done" for f in range(1, FRAMES + 1)}
    items, _saved = report_of(out)
    assert [i["frame"] for i in items.values()] == [1, 2, 3, 4]
    assert items["clip.mp4 frame 3"]["made"] == [
        "clip_0003_normal.png", "clip_0003_depth.exr", "clip_0003_mask.png"]
    assert renders == [1, 2, 3, 4]                      # each frame decoded once
    # Nothing left: no temporary scene, no Render Result, no decoded frame on disk.
    assert _blender_data() == before
    assert list(temp_dir.iterdir()) == []

    # Each frame's maps are those of that frame: the same frames batched as PNG files.
    png_out = tmp_path / "png maps"
    batch(source="SEQUENCE", sequence=sequence.name, output=str(png_out), maps={"MASK"},
          load_sequences=False)
    for f in range(1, FRAMES + 1):
        mask = _read(out / f"clip_{f:04d}_mask.png")
        gaps = [np.abs(mask - _read(png_out / f"shot_{g:04d}_mask.png")).mean()
                for g in range(1, FRAMES + 1)]
        assert int(np.argmin(gaps)) == f - 1, gaps
    assert gaps[0] > 10 * gaps[-1]                      # the frames differ, as the inputs do

    # Loaded back: image sequences in the plane's material that follow the frame.
    obj = bpy.context.active_object
    assert obj.name == "clip"
    tree = obj.active_material.node_tree
    assert tree.nodes["Mapsmith Photo"].image == movie
    for name in ("Mapsmith Normals", "Mapsmith Mask", "Mapsmith Depth"):
        node = tree.nodes[name]
        assert node.image.source == "SEQUENCE" and node.image.colorspace_settings.is_data
        assert node.image_user.frame_duration == FRAMES and node.image_user.use_auto_refresh
    node = tree.nodes["Mapsmith Normals"]
    shown = {}
    for frame in (1, 3):                    # headless, nothing advances frame_current
        node.image_user.frame_current = frame
        shown[frame] = node.image.filepath_from_user(image_user=node.image_user)
        assert os.path.basename(shown[frame]) == f"clip_{frame:04d}_normal.png"
    assert np.abs(_read(shown[1]) - _read(shown[3])).mean() > 100      # 16-bit levels


def test_a_frame_range_resumes_without_reading_the_frames_again(
        blank, tmp_path, temp_dir, renders):
    movie, _sequence = _movie(tmp_path / "shot")
    out = tmp_path / "maps"
    run = dict(source="SEQUENCE", sequence=movie.name, output=str(out), maps={"NORMAL"})
    batch(frame_start=2, frame_end=3, **run)
    assert statuses(out) == {"clip.mp4 frame 2": "done", "clip.mp4 frame 3": "done"}
    assert sorted(p.name for p in out.glob("*.png")) == ["clip_0002_normal.png",
                                                         "clip_0003_normal.png"]
    assert len(renders) == 2
    user = bpy.context.active_object.active_material.node_tree.nodes[
        "Mapsmith Normals"].image_user
    assert user.frame_duration == 2 and user.frame_offset == 1   # scene frame 1: movie's 2

    batch(frame_start=2, frame_end=0, load_sequences=False, **run)   # 2 to the last
    assert statuses(out) == {"clip.mp4 frame 2": "skipped", "clip.mp4 frame 3": "skipped",
                             "clip.mp4 frame 4": "done"}
    assert renders == [2, 3, 4]                         # only frame 4 was read
    batch(frame_start=2, load_sequences=False, **run)   # all up to date: nothing to read
    assert set(statuses(out).values()) == {"skipped"} and renders == [2, 3, 4]
    later = time.time() + 5                             # the movie edited after its maps
    os.utime(tmp_path / "shot" / "clip.mp4", (later, later))
    batch(frame_start=4, load_sequences=False, **run)
    assert statuses(out) == {"clip.mp4 frame 4": "done"} and renders == [2, 3, 4, 4]

    with pytest.raises(RuntimeError, match='"clip.mp4" has 4 frames: choose a Last Frame of '
                                           "at most 4"):
        batch(frame_end=9, **run)
    assert list(temp_dir.iterdir()) == []


def test_cancel_while_the_frames_are_read_leaves_nothing(blank, tmp_path, temp_dir, renders,
                                                         capfd):
    movie, _sequence = _movie(tmp_path / "shot")
    before = _blender_data()
    objects = len(bpy.data.objects)
    sessions = mod("blender.job_session")

    def cancel_at_the_second_frame(scene, *_args):       # Esc, between two frames
        if len(renders) == 2:
            for session in sessions.running("mapsmith.batch_maps"):
                assert session.job.text == "Reading frame 1/4"
                session.cancel()

    bpy.app.handlers.render_post.append(cancel_at_the_second_frame)
    out = tmp_path / "maps"
    capfd.readouterr()
    try:
        assert batch(source="SEQUENCE", sequence=movie.name, output=str(out),
                     maps=MAPS) == {"CANCELLED"}
    finally:
        bpy.app.handlers.render_post.remove(cancel_at_the_second_frame)
    assert ('Batch Maps cancelled while reading the frames of "clip.mp4": nothing was made'
            in capfd.readouterr().out)
    assert renders == [1, 2]                            # no frame read after the cancel
    assert _blender_data() == before and len(bpy.data.objects) == objects
    assert list(temp_dir.iterdir()) == []
    assert list(out.iterdir()) == []                    # no map, no report
    assert not sessions.running()


def test_cancel_after_the_frames_are_read_stops_after_the_current_frame(
        blank, tmp_path, temp_dir):
    movie, _sequence = _movie(tmp_path / "shot")
    items, saved = cancelled_at_the_second_item(
        tmp_path / "maps", finished=lambda: not list(temp_dir.iterdir()),
        source="SEQUENCE", sequence=movie.name)
    assert saved["stopped"]
    assert [i["status"] for i in items.values()] == ["done", "done", "not run (stopped)",
                                                     "not run (stopped)"]
    assert list(temp_dir.iterdir()) == []             # the decoded frames are gone


def test_a_movie_that_cannot_be_read_is_a_message(blank, tmp_path, temp_dir):
    movie, _sequence = _movie(tmp_path / "shot")
    os.remove(tmp_path / "shot" / "clip.mp4")
    out = tmp_path / "maps"
    with pytest.raises(RuntimeError, match='The file of the movie "clip.mp4" .* does not '
                                           "exist"):
        batch(source="SEQUENCE", sequence=movie.name, output=str(out))
    generated = bpy.data.images.new("painted", 8, 8)
    with pytest.raises(RuntimeError, match="is not an image sequence or a movie"):
        batch(source="SEQUENCE", sequence=generated.name, output=str(out))
    assert list(temp_dir.iterdir()) == []


def test_the_decoded_frames_are_the_movies_pixels_and_the_scene_always_goes(blank, tmp_path):
    """blender/movie_frames.py on its own: a frame is the movie's pixels unchanged (colour
    management passes them through), a frame past the end fails alone, and the temporary
    scene goes when the reading ends or is closed half-way (a cancel)."""
    movie, _sequence = _movie(tmp_path / "shot")
    frames, items_of = mod("blender.movie_frames"), mod("blender.batch").Item
    folder = tmp_path / "frames"
    folder.mkdir()
    scenes = {s.name for s in bpy.data.scenes}
    for result in [i for i in bpy.data.images if i.type == "RENDER_RESULT"]:
        bpy.data.images.remove(result)              # the first render makes one: ours to remove
    items = [items_of(f"frame {f}", f"clip_{f}", frame=f) for f in (2, 9)]
    steps = frames.read_frames(movie.name, frames.movie_file(movie), tuple(movie.size), items,
                               str(folder))
    assert next(steps) == (0.5, "Reading frame 1/2")
    assert frames.SCENE_NAME in bpy.data.scenes
    assert list(steps) == [(1.0, "Reading frame 2/2")]
    assert {s.name for s in bpy.data.scenes} == scenes
    assert not [i for i in bpy.data.images if i.type == "RENDER_RESULT"]
    decoded, source = _read(items[0].path), _read(tmp_path / "shot" / "shot_0002.png")
    assert decoded.shape == source.shape == (SIZE, SIZE, 3)
    gap = np.abs(decoded - source)
    assert gap.mean() < 1.0 and gap.max() <= 4, (gap.mean(), gap.max())   # 0.36, 2
    assert items[1].path is None and "read only 4 frames" in items[1].error

    steps = frames.read_frames(movie.name, frames.movie_file(movie), tuple(movie.size),
                               [items_of("f", "f", frame=f) for f in (1, 2, 3)], str(folder))
    next(steps)
    steps.close()                                                  # cancelled
    assert {s.name for s in bpy.data.scenes} == scenes


def test_a_movie_too_long_for_the_free_disk_space_is_refused_before_reading(blank, tmp_path):
    frames = mod("blender.movie_frames")
    assert frames.disk_needed((1920, 1080), 10) == 10 * (54 + 1080 * 5760)
    frames.check_room(str(tmp_path), (1920, 1080), 10, "clip.mp4")
    with pytest.raises(mod("core.errors").InputError, match=r'The 100000000 frames of '
                       r'"clip.mp4" need .* GB of temporary space .* batch a frame range'):
        frames.check_room(str(tmp_path), (1920, 1080), 10**8, "clip.mp4")


class _Timer:
    time_duration = 0.0


class _WindowManager:
    """What the job session needs of Blender's window manager: a timer per session."""

    def __init__(self, window):
        self.windows, self.timers = [window], []

    def event_timer_add(self, step, window=None):
        self.timers.append(_Timer())
        return self.timers[-1]

    def event_timer_remove(self, timer):
        self.timers.remove(timer)


def _event(kind, x=10, y=10):
    return types.SimpleNamespace(type=kind, value="PRESS", mouse_x=x, mouse_y=y)


def test_in_the_ui_a_frame_is_read_each_tick_and_esc_leaves_nothing(
        blank, tmp_path, temp_dir, renders, monkeypatch):
    """The modal path with a stand-in window (timers never fire headless): the job session's
    own tick reads one frame on the main thread (the step budget set to one frame), the panel
    shows "Reading frame i/n"; Esc between two frames ends the run, and the teardown removes
    the temporary scene and the decoded frames, and the batch never starts."""
    movie, _sequence = _movie(tmp_path / "shot")
    jobs, session_mod = mod("blender.jobs"), mod("blender.job_session")
    frames = mod("blender.movie_frames")
    monkeypatch.setattr(session_mod, "STEP_BUDGET_S", 0.0)
    area = types.SimpleNamespace(as_pointer=lambda: 2, x=0, y=0, width=100, height=100)
    window = types.SimpleNamespace(as_pointer=lambda: 1,
                                   screen=types.SimpleNamespace(areas=[area]))
    scenes = {s.name for s in bpy.data.scenes}

    def start(work):
        wm = _WindowManager(window)
        job = jobs.Job(work, "Batch Maps")
        return wm, session_mod.JobSession(job, "mapsmith.batch_maps", "Batch Maps").start(
            wm, window, area)

    def tick(wm, session):
        wm.timers[0].time_duration += session_mod.TICK_S
        return session.handle(_event("TIMER"))

    ran = []
    items = frames.batch_items(movie)
    wm, session = start(frames.after_reading(movie, items, lambda token: ran.append(1)))
    assert renders == [] and tick(wm, session) == session_mod.PASS
    assert renders == [1] and session.text == "Batch Maps: Reading frame 1/4 25%"
    assert tick(wm, session) == session_mod.PASS and renders == [1, 2]
    assert frames.SCENE_NAME in bpy.data.scenes
    assert session.handle(_event("ESC")) == session_mod.END
    session.teardown()                                  # what the operator's end does
    assert {s.name for s in bpy.data.scenes} == scenes and list(temp_dir.iterdir()) == []
    assert renders == [1, 2] and ran == []

    def work(token):                                    # the batch sees every frame read
        ran.append([os.path.isfile(item.path) for item in items])
        return "done"

    items = frames.batch_items(movie, 3)
    wm, session = start(frames.after_reading(movie, items, work))
    for _ in range(500):                                # two frames, then the work's thread
        if tick(wm, session) == session_mod.END:
            break
        time.sleep(0.01)
    assert session.job.poll() == jobs.DONE and ran == [[True, True]]
    assert renders == [1, 2, 3, 4]
    session.teardown()
    assert {s.name for s in bpy.data.scenes} == scenes and list(temp_dir.iterdir()) == []
