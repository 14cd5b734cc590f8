"""core/map_files.py, read back with OpenCV (test venv only): 16-bit PNG and OpenEXR."""

import os

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")   # before cv2 is imported

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mapsmith.core import map_files  # noqa: E402
from mapsmith.core.errors import InputError  # noqa: E402


def read(path):
    out = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert out is not None, path
    if out.ndim == 3:   # OpenCV gives BGR(A)
        out = out[..., [2, 1, 0, 3][:out.shape[2]]] if out.shape[2] == 4 else out[..., ::-1]
    return out


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png16_round_trip(tmp_path, channels):
    rng = np.random.default_rng(channels)
    values = rng.integers(0, 65536, (37, 53, channels), dtype=np.uint16)
    path = map_files.write_png16(tmp_path / "map.png", values)
    back = read(path)
    assert back.dtype == np.uint16
    assert np.array_equal(back.reshape(values.shape), values)


def test_png16_from_float_and_bytes(tmp_path):
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :].repeat(4, 0)
    back = read(map_files.write_png16(tmp_path / "f.png", ramp))
    assert np.array_equal(back, np.rint(ramp * 65535).astype(np.uint16))
    assert len(np.unique(back)) == 256           # more than 8 bits of levels survive
    byte = np.arange(256, dtype=np.uint8)[None, :]
    assert np.array_equal(read(map_files.write_png16(tmp_path / "b.png", byte)),
                          byte.astype(np.uint16) * 257)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_exr_round_trip(tmp_path, channels):
    values = np.random.default_rng(7).normal(size=(19, 23, channels)).astype(np.float32)
    back = read(map_files.write_exr(tmp_path / "d.exr", values))
    assert back.dtype == np.float32
    assert np.array_equal(back.reshape(values.shape), values)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")
    with pytest.raises(InputError):
        map_files.write_png16(target, np.zeros((4, 4, 2)))
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]
    with pytest.raises(OSError):
        map_files.write_exr(tmp_path / "missing-folder" / "x.exr", np.zeros((2, 2)))
