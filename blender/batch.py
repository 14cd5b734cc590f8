"""The batch runner behind ``mapsmith.batch_maps``: many inputs, one job. bpy-free.

The operator (``operators/batch.py``) gathers the inputs on the main thread (files by path,
or pixels it had to read through Blender) and a :class:`Plan`; :func:`run` then works on the
job's thread, one item after the other:

- an item whose outputs all exist and are newer than its input is skipped (unless
  ``overwrite``);
- each map goes to ``<output>/<stem>_<map>.<ext>``, written to a temporary name and renamed
  (``core.map_files``, ``core.stl``), so a failure never leaves a half file nor spoils an
  older one;
- a failure (an unreadable file, a missing frame, a provider's error) fails that item only,
  with its message; the batch goes on;
- ``should_stop()`` is asked between items (Esc / Cancel): the item in progress finishes;
- the providers' own pacing (``providers/http.py``) paces the calls; retries are theirs;
- at the end (also after a stop) ``batch_report.json`` and ``batch_report.csv`` list every
  item: what was made, by which provider, the credits used, each failure's message.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import pathlib
import re
import time
from collections.abc import Callable

import numpy as np

from ..core import cutout, lithophane, map_files, relief_mesh, stl, texture_maps
from ..core.errors import NEVER_CANCELLED, CancelToken, InputError, MapsmithError
from ..providers.offline.face import face_mask

# Map -> (file suffix, capability asked of a provider for a PORTRAIT; None: computed here)
MAPS = {
    "NORMAL": ("_normal.png", "normals"),
    "DEPTH": ("_depth.exr", "depth"),
    "MASK": ("_mask.png", "background"),
    "CUTOUT": ("_cutout.png", "background"),
    "HEIGHT": ("_height.png", None),
    "RELIEF": ("_relief.stl", "depth"),
    "LITHOPHANE": ("_lithophane.stl", None),
}
SUBJECTS = ("PORTRAIT", "TEXTURE")
REPORT_JSON, REPORT_CSV = "batch_report.json", "batch_report.csv"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".tga")

DONE, SKIPPED, FAILED, STOPPED = "done", "skipped", "failed", "not run (stopped)"


def capability(map_name: str, subject: str) -> str | None:
    """The provider capability a map needs (None: made here, from the pixels alone). A
    texture's normals, depth and relief come from its height (``core.texture_maps``)."""
    if subject == "TEXTURE" and map_name in ("NORMAL", "DEPTH", "RELIEF"):
        return None
    return MAPS[map_name][1]


def capabilities(maps, subject: str) -> list[str]:
    return sorted({c for m in maps if (c := capability(m, subject))})


# -- inputs -------------------------------------------------------------------------------
@dataclasses.dataclass
class Item:
    """One input: a file read here (``path``), or pixels read on the main thread (``rgba``).
    ``error`` is a failure known before the run (a missing frame). A movie's frame has a
    ``path`` (a PNG Blender decoded it to) only once it is read; its date is the movie's
    (``source_file``)."""

    name: str                               # what the report shows
    stem: str                               # outputs are <stem>_<map>.<ext>
    path: str | None = None
    rgba: np.ndarray | None = None       # uint8 (H, W, 4), top row first
    frame: int | None = None
    error: str = ""
    source_file: str | None = None          # the file whose date counts, if not ``path``

    def mtime(self) -> float | None:
        dated = self.source_file or self.path
        try:
            return os.stat(dated).st_mtime if dated else None
        except OSError:
            return None

    def load(self) -> np.ndarray:
        if self.error:
            raise InputError(self.error)
        if self.rgba is not None:
            return self.rgba
        if not self.path:
            raise InputError(f"{self.name} was not read: run the batch again")
        return read_file(self.path)


def read_file(path: str) -> np.ndarray:
    """uint8 (H, W, 4) of an image file (Pillow), or an InputError saying why not."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise InputError(f'"{path}" does not exist (moved or deleted?): check the list of files')
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im, np.float64)
                scale = 65535.0 if a.max() > 255 else 255.0
                grey = np.clip(a / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
                return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
            return np.asarray(im.convert("RGBA")).copy()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        reason = str(err).split(" '")[0] if isinstance(err, UnidentifiedImageError) else err
        raise InputError(f'Cannot read "{os.path.basename(path)}" as an image ({reason}): '
                         "check the file, or leave it out of the batch") from None


def folder_files(folder: str, pattern: str = "*") -> list[str]:
    """The image files in ``folder`` matching ``pattern`` (a glob, e.g. "*.jpg"), sorted."""
    root = pathlib.Path(folder)
    if not folder or not root.is_dir():
        raise InputError(f'The folder "{folder}" does not exist: choose the folder of images '
                         "to process")
    pattern = pattern or "*"
    found = sorted(str(p) for p in root.glob(pattern)
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not found:
        raise InputError(f'No image in "{folder}" matches "{pattern}" (PNG, JPEG, WebP, TIFF, '
                         "BMP or TGA): check the folder and the pattern")
    return found


def file_items(paths) -> list[Item]:
    return [Item(os.path.basename(p), pathlib.Path(p).stem, path=str(p)) for p in paths]


_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


def sequence_items(first_path: str, start: int = 0, end: int = 0) -> list[Item]:
    """One item per frame of the numbered image sequence ``first_path`` belongs to
    ("shot_0001.png": the files shot_<number>.png beside it), frames ``start``..``end``
    (0: from the first / to the last file found). A frame missing in between is an item
    that fails with a message; every frame must have the first one's size (checked as each
    is read, see :func:`run`)."""
    path = pathlib.Path(first_path)
    match = _NUMBERED.match(path.stem)
    if match is None:
        raise InputError(f'"{path.name}" has no frame number in its name: an image sequence '
                         "is numbered files like shot_0001.png, shot_0002.png")
    head, digits, tail = match.groups()
    if not path.parent.is_dir():
        raise InputError(f'The folder of the sequence, "{path.parent}", does not exist')
    number = re.compile(re.escape(head) + r"(\d+)" + re.escape(tail + path.suffix) + "$")
    frames = {}
    for candidate in path.parent.iterdir():
        m = number.match(candidate.name)
        if m:
            frames.setdefault(int(m.group(1)), candidate)
    if not frames:
        raise InputError(f'No frame of the sequence "{path.name}" was found in "{path.parent}"')
    first, last = _frame_range(start, end, min(frames), max(frames))
    items = []
    width = len(digits)
    for frame in range(first, last + 1):
        expected = f"{head}{frame:0{width}d}{tail}"
        if frame in frames:
            found = frames[frame]
            items.append(Item(found.name, found.stem, path=str(found), frame=frame))
        else:
            items.append(Item(expected + path.suffix, expected, frame=frame,
                              error=f"Frame {frame} is missing ({expected}{path.suffix} is not "
                                    f"in the sequence's folder): render or copy it, then run "
                                    "the batch again (the other frames are skipped)"))
    return items


def _frame_range(start: int, end: int, first: int, last: int) -> tuple[int, int]:
    """First Frame / Last Frame (0: the first / the last there is)."""
    first, last = start or first, end or last
    if last < first:
        raise InputError(f"The frame range {first}-{last} is empty: the end must not be "
                         "before the start")
    return first, last


def movie_items(name: str, stem: str, movie_file: str, count: int, start: int = 0,
                end: int = 0) -> list[Item]:
    """One item per frame of a movie of ``count`` frames (numbered from 1, as Blender's image
    users number them), frames ``start``..``end`` (0: the first / the last). Frame 3 of
    "clip.mp4" has the outputs clip_0003_<map>.<ext>, numbered as an image sequence's are, so
    they load back as image sequences. The frames are read later (``movie_frames``)."""
    if count < 1:
        raise InputError(f'Blender finds no frame in the movie "{name}": check that the file '
                         "plays in Blender (e.g. in the Image Editor)")
    for option, frame in (("First", start), ("Last", end)):
        if frame > count:
            raise InputError(f'"{name}" has {count} frames: choose a {option} Frame of at most '
                             f"{count} (0: the {option.lower()})")
    first, last = _frame_range(start, end, 1, count)
    return [Item(f"{name} frame {frame}", f"{stem}_{frame:04d}", frame=frame,
                 source_file=movie_file) for frame in range(first, last + 1)]


# -- the plan and the report ----------------------------------------------------------------
@dataclasses.dataclass
class Plan:
    items: list
    maps: tuple                     # of MAPS' keys
    output: str                     # folder
    subject: str = "PORTRAIT"
    overwrite: bool = False
    same_size: bool = False         # a sequence: every frame the first one's size
    providers: dict = dataclasses.field(default_factory=dict)   # capability -> Provider
    relief: dict = dataclasses.field(default_factory=dict)      # relief_mesh.depth_to_relief
    relief_scale: float = 1000.0    # relief units -> mm
    lithophane: dict = dataclasses.field(default_factory=dict)  # lithophane.build (mm)
    texture: dict = dataclasses.field(default_factory=dict)     # texture_maps.texture_maps
    warnings: list = dataclasses.field(default_factory=list)
    credits_left: dict = dataclasses.field(default_factory=dict)  # id -> what it reported last

    def outputs(self, item: Item) -> dict:
        return {m: os.path.join(self.output, item.stem + MAPS[m][0]) for m in self.maps}


@dataclasses.dataclass
class ItemReport:
    input: str
    status: str = STOPPED
    made: list = dataclasses.field(default_factory=list)
    providers: dict = dataclasses.field(default_factory=dict)   # capability -> label
    credits_used: int | None = None
    message: str = ""
    frame: int | None = None
    seconds: float = 0.0


@dataclasses.dataclass
class Report:
    output: str
    items: list
    stopped: bool = False
    warnings: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.items if r.status == status)

    @property
    def credits_used(self) -> int:
        return sum(r.credits_used or 0 for r in self.items)

    def summary(self) -> str:
        text = (f"{self.count(DONE)} done, {self.count(SKIPPED)} skipped (up to date), "
                f"{self.count(FAILED)} failed")
        if self.stopped:
            text += f", {self.count(STOPPED)} not run (stopped)"
        if self.credits_used:
            text += f"; {self.credits_used} credits used"
        return text

    def as_dict(self) -> dict:
        return {"output_folder": self.output, "stopped": self.stopped,
                "summary": self.summary(), "seconds": round(self.seconds, 3),
                "warnings": list(self.warnings),
                "items": [dataclasses.asdict(r) for r in self.items]}

    def write(self) -> tuple[pathlib.Path, pathlib.Path]:
        """batch_report.json and batch_report.csv in the output folder (temp, then rename)."""
        folder = pathlib.Path(self.output)
        data = json.dumps(self.as_dict(), indent=2).encode()
        json_path = folder / REPORT_JSON
        map_files.write_atomic(json_path, data)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["input", "frame", "status", "made", "providers", "credits_used",
                         "message"])
        for r in self.items:
            writer.writerow([r.input, "" if r.frame is None else r.frame, r.status,
                             ";".join(r.made),
                             ";".join(f"{k}={v}" for k, v in sorted(r.providers.items())),
                             "" if r.credits_used is None else r.credits_used, r.message])
        csv_path = folder / REPORT_CSV
        map_files.write_atomic(csv_path, out.getvalue().encode())
        return json_path, csv_path


def check_output_folder(folder: str) -> None:
    """Create the output folder if needed and make sure it can be written (raises with a
    message before anything runs: there would be nowhere to put the report)."""
    if not folder:
        raise InputError("No output folder: choose where the maps go")
    path = pathlib.Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".mapsmith-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise InputError(f'Cannot write to the output folder "{folder}" '
                         f"({err.strerror or err}): choose another folder. Nothing was "
                         "written") from None


def up_to_date(plan: Plan, item: Item) -> bool:
    """Every output exists and is newer than the input (an input read through Blender has
    no file date: existing outputs count as up to date)."""
    if item.error:
        return False
    since = item.mtime()
    for path in plan.outputs(item).values():
        try:
            made = os.stat(path).st_mtime
        except OSError:
            return False
        if since is not None and made < since:
            return False
    return True


_CREDITS_LEFT = re.compile(r"(\d+) credits left")


def credits_warnings(calls: dict, last_credits: dict, labels: dict) -> list[str]:
    """A warning per provider whose last reported credits (``preferences.last_credits``:
    id -> "97 credits left, 1 used") are fewer than the calls the batch will make."""
    out = []
    for pid, needed in sorted(calls.items()):
        match = _CREDITS_LEFT.search(last_credits.get(pid, ""))
        if match and needed > int(match.group(1)):
            left = int(match.group(1))
            out.append(f"{labels[pid]} reported {left} credits left, and this batch needs "
                       f"about {needed} calls: items after the credits run out will fail "
                       "(no credits left). Buy credits, or choose the Offline provider")
    return out


def estimate_calls(plan: Plan, items) -> dict:
    """provider id -> calls the batch makes (one per capability per item; cached answers
    and skipped items cost nothing, so this is an upper bound)."""
    calls = {}
    for cap in capabilities(plan.maps, plan.subject):
        provider = plan.providers.get(cap)
        if provider is not None and provider.remote:
            calls[provider.id] = calls.get(provider.id, 0) + len(items)
    return calls


# -- one item ------------------------------------------------------------------------------
class _ItemToken(CancelToken):
    """What one item's work gets: the run's token (cancelled only by a caller that means it),
    its progress drawn into the item's share of the whole batch's bar."""

    def __init__(self, outer: CancelToken, on_progress):
        super().__init__(on_progress=on_progress)
        self._outer = outer

    def cancel(self) -> None:
        self._outer.cancel()

    @property
    def cancelled(self) -> bool:
        return self._outer.cancelled

    def check(self) -> None:
        self._outer.check()

    def wait(self, seconds: float) -> None:
        self._outer.wait(seconds)


def _make_maps(plan: Plan, rgba: np.ndarray, item: Item, rep: ItemReport,
               token: CancelToken) -> list[str]:
    """Compute and write every map of one item: the failures' messages (one per map)."""
    rgb = rgba[..., :3]
    answers, failures = {}, []
    tex = None

    def answer(cap):
        if cap not in answers:
            provider = plan.providers[cap]
            rep.providers[cap] = provider.label
            if cap == "background":
                # Refined as Remove Background refines it: pieces of the background joined
                # to the subject and islands dropped (the face kept), edge colours estimated.
                result = provider.background(rgb, "CUTOUT", cancel=token)
                result.image = cutout.refine(rgb, result.image, keep=face_mask(rgb),
                                             cancel=token)
            else:
                result = getattr(provider, cap)(rgb, cancel=token)
            answers[cap] = result
            credits = result.credits
            if credits is not None and credits.consumed is not None:
                rep.credits_used = (rep.credits_used or 0) + credits.consumed
            if credits is not None and credits.provider and credits.remaining is not None:
                plan.credits_left[credits.provider] = str(credits)
        return answers[cap]

    def texture():
        nonlocal tex
        if tex is None:
            rep.providers.setdefault("texture", "Mapsmith (from the texture)")
            tex = texture_maps.texture_maps(rgb, cancel=token, **plan.texture)
        return tex

    def depth():
        if plan.subject == "TEXTURE":
            return texture().height
        return np.asarray(answer("depth").image, np.float32)

    for name, path in plan.outputs(item).items():
        try:
            if name == "NORMAL":
                if plan.subject == "TEXTURE":
                    map_files.write_png16(path, texture().normals * 0.5 + 0.5)
                else:
                    map_files.write_png16(path, answer("normals").image[..., :3])
            elif name == "DEPTH":
                map_files.write_exr(path, depth())
            elif name in ("MASK", "CUTOUT"):
                cut = answer("background").image
                alpha = cut[..., 3] if cut.ndim == 3 else cut
                map_files.write_png16(path, alpha if name == "MASK" else cut)
            elif name == "HEIGHT":
                map_files.write_png16(path, texture().height)
            elif name == "RELIEF":
                mesh = relief_mesh.depth_to_relief(depth(), **plan.relief)
                stl.write_stl(path, mesh, plan.relief_scale)
            elif name == "LITHOPHANE":
                stl.write_stl(path, lithophane.build(rgba, cancel=token, **plan.lithophane))
            rep.made.append(os.path.basename(path))
        except MapsmithError as err:
            failures.append(f"{name.lower()}: {err}")
        except OSError as err:
            failures.append(f"{name.lower()}: cannot write {os.path.basename(path)} "
                            f"({err.strerror or err}); the older file, if any, is unchanged")
    return failures


def _item(plan: Plan, item: Item, token: CancelToken, size: list) -> ItemReport:
    rep = ItemReport(item.name, frame=item.frame)
    started = time.monotonic()
    try:
        if not plan.overwrite and up_to_date(plan, item):
            rep.status, rep.message = SKIPPED, "outputs up to date (overwrite to redo)"
            return rep
        rgba = item.load()
        shape = rgba.shape[:2]
        if plan.same_size:
            if not size:
                size.append(shape)
            elif shape != size[0]:
                raise InputError(f"{item.name} is {shape[1]}x{shape[0]} pixels but the "
                                 f"sequence's first frame is {size[0][1]}x{size[0][0]}: every "
                                 "frame of a sequence must have the same size")
        failures = _make_maps(plan, rgba, item, rep, token)
        rep.status = FAILED if failures else DONE
        rep.message = "; ".join(failures)
    except MapsmithError as err:
        rep.status, rep.message = FAILED, str(err)
    except MemoryError:
        rep.status, rep.message = FAILED, "Out of memory: try a smaller image"
    finally:
        rep.seconds = round(time.monotonic() - started, 3)
    return rep


def _eta(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} s"
    return f"{seconds / 60:.0f} min"


def run(plan: Plan, *, progress: Callable[[float, str], None] = lambda f, t: None,
        should_stop: Callable[[], bool] = lambda: False,
        token: CancelToken = NEVER_CANCELLED) -> Report:
    """Work through the plan (see the module docstring); the report is written at the end.

    ``progress(fraction, text)`` gets the item in hand and an estimate of the time left;
    ``token`` goes to the providers (the operator hands one Esc does not cancel, so the
    item in progress finishes)."""
    started = time.monotonic()
    reports = [ItemReport(item.name, frame=item.frame) for item in plan.items]
    report = Report(plan.output, reports, warnings=list(plan.warnings))
    n = len(plan.items)
    worked, work_time, size = 0, 0.0, []
    try:
        for i, item in enumerate(plan.items):
            if should_stop():
                report.stopped = True
                break
            left = ""
            if worked:
                left = f", about {_eta(work_time / worked * (n - i))} left"
            head = f"{i + 1}/{n} {item.name}"
            progress(i / n, head + left)

            reached = [0.0]       # each provider call reports 0..1 again: the bar never goes back

            def step(fraction, text, i=i, head=head, left=left, reached=reached):
                reached[0] = max(reached[0], fraction)
                progress((i + reached[0]) / n, f"{head}: {text}{left}" if text else head + left)

            rep = _item(plan, item, _ItemToken(token, step), size)
            reports[i] = rep
            if rep.status != SKIPPED:
                worked += 1
                work_time += rep.seconds
        progress(1.0, f"{n}/{n} writing the report")
    finally:
        report.seconds = time.monotonic() - started
        try:
            report.write()
        except OSError as err:
            raise InputError(f'Cannot write {REPORT_JSON} in "{plan.output}" '
                             f"({err.strerror or err}): the maps made are there, the report "
                             "is not. Free some space or check the folder") from None
    return report
