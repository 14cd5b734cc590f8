"""The answer cache without Blender: keys, memory bound, disk, and cached-only runs."""

import numpy as np
import pytest
from skimage import data

from mapsmith.providers import Credits, Provider, Result, Settings, cache


class Counting(Provider):
    """A provider that answers from the pixels and counts what it was asked."""

    id = "COUNTING"
    label = "Counting"
    remote = True

    def __init__(self, settings=Settings(api_key="secret-key-1", base_url="http://a")):
        super().__init__(settings)
        self.calls = []

    def depth(self, rgb, *, cancel=None):
        self.calls.append(("depth", rgb.shape))
        return Result(rgb[..., 0].astype(np.float32) / 255, Credits(9, 1, "COUNTING"), "note")

    def background(self, rgb, mode="CUTOUT", *, cancel=None):
        self.calls.append(("background", mode))
        return Result(np.full(rgb.shape[:2], 255 if mode == "MASK" else 1, np.uint8))

    def cleanup(self, rgb, mask, *, cancel=None, exclude_person=False):
        self.calls.append(("cleanup", exclude_person))
        return Result(rgb.copy())


@pytest.fixture
def photo():
    return data.astronaut()[:128, :128].copy()


def test_same_pixels_and_request_are_answered_once(photo):
    answers, inner = cache.AnswerCache(), Counting()
    provider = cache.CachedProvider(inner, answers)
    first = provider.depth(photo)
    again = provider.depth(photo.copy())            # the same pixels, another array
    assert len(inner.calls) == 1 and (answers.misses, answers.hits) == (1, 1)
    assert np.array_equal(first.image, again.image)
    assert isinstance(again, cache.CachedResult) and not isinstance(first, cache.CachedResult)
    assert again.credits is None and again.note == "note"   # no credit spent on it


def test_a_changed_pixel_provider_endpoint_or_option_asks_again(photo):
    answers, inner = cache.AnswerCache(), Counting()
    provider = cache.CachedProvider(inner, answers)
    provider.background(photo, "MASK")
    changed = photo.copy()
    changed[5, 7, 1] ^= 1
    provider.background(changed, "MASK")                          # a pixel
    provider.background(photo, "CUTOUT")                           # a request option
    other = Counting(Settings(api_key="secret-key-1", base_url="http://b"))
    cache.CachedProvider(other, answers).background(photo, "MASK")  # another endpoint
    mask = np.zeros(photo.shape[:2], np.uint8)
    provider.cleanup(photo, mask)
    provider.cleanup(photo, mask, exclude_person=True)             # a keyword option
    assert answers.hits == 0 and answers.misses == 6


def test_the_key_ignores_the_api_key_and_never_contains_it(photo):
    answers = cache.AnswerCache()
    one = cache.CachedProvider(Counting(Settings(api_key="key-one", base_url="http://a")),
                               answers)
    two = cache.CachedProvider(Counting(Settings(api_key="key-two", base_url="http://a")),
                               answers)
    assert one.key("depth", photo) == two.key("depth", photo)
    assert "key-one" not in one.key("depth", photo)


def test_answers_handed_out_are_the_callers_own(photo):
    answers, inner = cache.AnswerCache(), Counting()
    provider = cache.CachedProvider(inner, answers)
    first = provider.depth(photo)
    first.image[:] = 0                               # a consumer that writes in place
    again = provider.depth(photo)
    again.image[:] = 0
    assert provider.depth(photo).image.max() > 0


def test_memory_is_bounded_least_recently_used_first(photo):
    one = photo[..., 0].astype(np.float32).nbytes     # a 128x128 float depth
    answers = cache.AnswerCache(max_bytes=2 * one + 10)
    provider = cache.CachedProvider(Counting(), answers)
    a, b, c = photo, photo[::-1].copy(), photo[:, ::-1].copy()
    provider.depth(a)
    provider.depth(b)
    provider.depth(a)                                 # a is now the most recent
    provider.depth(c)                                 # b goes
    assert len(answers) == 2 and answers.memory_bytes <= answers.max_bytes
    misses = answers.misses
    provider.depth(a)
    provider.depth(c)
    assert answers.misses == misses
    provider.depth(b)
    assert answers.misses == misses + 1


def test_disk_keeps_answers_across_sessions_and_clear_removes_them(photo, tmp_path):
    folder = str(tmp_path / "answers")
    first = cache.CachedProvider(Counting(), cache.AnswerCache(directory=folder))
    made = first.depth(photo)
    files = list((tmp_path / "answers").glob("*.npz"))
    assert len(files) == 1
    assert "secret-key-1" not in files[0].read_bytes().decode("latin-1")
    later = cache.AnswerCache(directory=folder)       # a new Blender session
    inner = Counting()
    again = cache.CachedProvider(inner, later).depth(photo)
    assert inner.calls == [] and np.array_equal(again.image, made.image)
    assert again.note == "note"
    count, size = later.clear()
    assert count == 2 and size > 0                    # the memory copy and the file
    assert list((tmp_path / "answers").glob("*")) == []


def test_a_damaged_file_is_asked_again(photo, tmp_path):
    folder = tmp_path / "answers"
    cache.CachedProvider(Counting(), cache.AnswerCache(directory=str(folder))).depth(photo)
    (path,) = folder.glob("*.npz")
    path.write_bytes(path.read_bytes()[:50])
    inner = Counting()
    cache.CachedProvider(inner, cache.AnswerCache(directory=str(folder))).depth(photo)
    assert len(inner.calls) == 1


def test_disk_is_bounded(photo, tmp_path):
    answers = cache.AnswerCache(directory=str(tmp_path), max_disk_bytes=1)
    provider = cache.CachedProvider(Counting(), answers)
    provider.depth(photo)
    provider.depth(photo[::-1].copy())
    assert len(list(tmp_path.glob("*.npz"))) <= 1


def test_only_cached_raises_on_a_miss_and_serves_a_hit(photo):
    answers, inner = cache.AnswerCache(), Counting()
    provider = cache.CachedProvider(inner, answers)
    with cache.only_cached(), pytest.raises(cache.CacheMiss):
        provider.depth(photo)
    assert inner.calls == []
    provider.depth(photo)
    with cache.only_cached():
        assert isinstance(provider.depth(photo), cache.CachedResult)
    assert len(inner.calls) == 1


def test_the_wrapper_is_the_provider_otherwise():
    inner = Counting()
    provider = cache.CachedProvider(inner)
    assert provider.id == "COUNTING" and provider.remote is True
    assert provider.settings is inner.settings
    assert "secret-key-1" not in repr(provider)
