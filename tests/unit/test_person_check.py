"""The offline person check behind Subject: Auto (portrait maps or texture maps)."""

import numpy as np
import pytest
from PIL import Image
from skimage import data

from mapsmith.providers import cache
from mapsmith.providers.offline import OfflineProvider


@pytest.fixture(scope="module")
def offline():
    return OfflineProvider()


def rgb(name):
    a = getattr(data, name)()
    return np.dstack([a] * 3) if a.ndim == 2 else a[..., :3]


def test_portraits_are_found_even_small(offline):
    assert offline.person_evidence(rgb("astronaut")) == "a face"
    tiny = np.asarray(Image.fromarray(data.astronaut()).resize((48, 48), Image.LANCZOS))
    assert offline.find_person(tiny)


@pytest.mark.parametrize("name", ["brick", "grass", "gravel", "coffee", "chelsea"])
def test_textures_and_objects_are_not_people(offline, name):
    assert offline.person_evidence(rgb(name)) == ""
    assert not offline.find_person(rgb(name))


def test_a_speck_of_mask_is_not_a_person(offline):
    # The selfie model sees a small person-shaped blob in the moon's craters (about 1 % of
    # the frame): too small to be a portrait's subject.
    assert not offline.find_person(rgb("moon"))


def test_a_large_picture_is_checked_on_a_small_copy(offline):
    big = np.asarray(Image.fromarray(data.astronaut()).resize((2048, 2048)))
    assert offline.person_evidence(big) == "a face"


def test_the_check_is_kept_in_memory_not_on_disk(offline, tmp_path):
    answers = cache.AnswerCache(directory=str(tmp_path))
    checker = cache.CachedProvider(offline, answers)
    first = checker.person_check(rgb("astronaut"))
    again = checker.person_check(rgb("astronaut"))
    assert bool(first.image) and first.note == "a face"
    assert isinstance(again, cache.CachedResult) and bool(again.image)
    assert (answers.misses, answers.hits) == (1, 1)
    assert not list(tmp_path.iterdir())
