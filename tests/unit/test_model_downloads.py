"""providers/offline/downloads.py over real loopback HTTP against a stand-in models host."""

import hashlib
import os
import threading

import pytest

from mapsmith.core.errors import Cancelled, CancelToken, ProviderError
from mapsmith.providers.offline import downloads
from mapsmith.providers.offline.runtime import SUMS_FILE, ModelStore
from mapsmith.tests.servers.helpers import loopback_only  # noqa: F401 (autouse)
from mapsmith.tests.servers.model_host import ModelHost

PATH = "example/tiny-model/resolve/0123abc/onnx/model.onnx"
DATA = os.urandom(3 * downloads.CHUNK + 12345)
INFO = downloads.ModelInfo(
    id="TINY", label="Tiny test model", capability="depth", improves="nothing",
    licence="Apache-2.0", source="https://example.invalid/tiny", path=PATH,
    filename="tiny.onnx", size=len(DATA))


@pytest.fixture
def host():
    with ModelHost({PATH: DATA}) as h:
        yield h


def test_download_verifies_and_records(host, tmp_path):
    seen = []
    token = CancelToken(on_progress=lambda f, text: seen.append(f))
    path = downloads.download(INFO, tmp_path, base_url=host.url, token=token)
    assert path == tmp_path / "tiny.onnx" and path.read_bytes() == DATA
    assert downloads.installed(INFO, tmp_path)
    assert not (tmp_path / "tiny.onnx.part").exists()
    sums = (tmp_path / SUMS_FILE).read_text()
    assert hashlib.sha256(DATA).hexdigest() in sums
    assert seen and seen == sorted(seen)          # progress only goes forward
    # The first request went to the host, the bytes came from its CDN (a redirect).
    assert [r[1] for r in host.requests] == [f"/{PATH}", f"/cdn/{PATH}"]


def test_interrupted_download_resumes_with_range(host, tmp_path):
    host.fault, host.drop_after = "drop", downloads.CHUNK + 100
    with pytest.raises(ProviderError, match="partial file is kept"):
        downloads.download(INFO, tmp_path, base_url=host.url)
    have = downloads.partial_bytes(INFO, tmp_path)
    assert 0 < have < len(DATA)
    assert not (tmp_path / "tiny.onnx").exists()   # nothing partial in place
    host.fault = None
    downloads.download(INFO, tmp_path, base_url=host.url)
    assert (tmp_path / "tiny.onnx").read_bytes() == DATA
    assert host.requests[-1][2] == f"bytes={have}-"


def test_host_ignoring_range_restarts_cleanly(host, tmp_path):
    (tmp_path / "tiny.onnx.part").write_bytes(b"stale bytes")
    host.fault = "no-range"
    downloads.download(INFO, tmp_path, base_url=host.url)
    assert (tmp_path / "tiny.onnx").read_bytes() == DATA


@pytest.mark.parametrize("fault", ["corrupt", "wrong-etag"])
def test_checksum_failure_deletes_the_file(host, tmp_path, fault):
    host.fault = fault
    with pytest.raises(ProviderError, match="failed verification .* was deleted"):
        downloads.download(INFO, tmp_path, base_url=host.url)
    assert not any(tmp_path.iterdir()) or list(tmp_path.iterdir()) == []
    assert not downloads.installed(INFO, tmp_path)


def test_pinned_checksum_beats_the_host(host, tmp_path):
    pinned = downloads.ModelInfo(**{**INFO.__dict__, "sha256": "0" * 64})
    with pytest.raises(ProviderError, match="different file"):
        downloads.download(pinned, tmp_path, base_url=host.url)
    assert not (tmp_path / "tiny.onnx").exists()


def test_no_declared_checksum_installs_nothing(host, tmp_path):
    host.fault = "no-etag"
    with pytest.raises(ProviderError, match="declared no SHA-256"):
        downloads.download(INFO, tmp_path, base_url=host.url)
    assert not (tmp_path / "tiny.onnx").exists()


def test_cancel_keeps_only_the_part(host, tmp_path):
    host.fault, host.slow_chunk = "slow", 64 * 1024
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    with pytest.raises(Cancelled):
        downloads.download(INFO, tmp_path, base_url=host.url, token=token)
    timer.join()
    assert not (tmp_path / "tiny.onnx").exists()
    assert not downloads.installed(INFO, tmp_path)


def test_oversized_file_is_refused(tmp_path):
    big = DATA + os.urandom(len(DATA))
    with ModelHost({PATH: big}) as h:
        with pytest.raises(ProviderError, match="larger than"):  # declared, and streamed
            downloads.download(INFO, tmp_path, base_url=h.url)
    assert not any(p.name.startswith("tiny") for p in tmp_path.iterdir())


def test_missing_file_and_bad_urls(host, tmp_path):
    other = downloads.ModelInfo(**{**INFO.__dict__, "path": "nope/model.onnx"})
    with pytest.raises(ProviderError, match="answered 404"):
        downloads.download(other, tmp_path, base_url=host.url)
    for bad in ("ftp://example.invalid/models", "not a url", "https://user:pw@localhost/"):
        with pytest.raises(ProviderError) as err:
            downloads.download(INFO, tmp_path, base_url=bad)
        assert "pw" not in str(err.value)
    with pytest.raises(ProviderError, match="failed"):
        downloads.download(INFO, tmp_path, base_url="http://127.0.0.1:9")   # nothing listens


def test_remove(host, tmp_path):
    downloads.download(INFO, tmp_path, base_url=host.url)
    assert downloads.remove(INFO, tmp_path)
    assert not (tmp_path / "tiny.onnx").exists()
    assert "tiny.onnx" not in (tmp_path / SUMS_FILE).read_text()
    assert not downloads.remove(INFO, tmp_path)


def test_model_store_checks_the_recorded_sum(host, tmp_path):
    downloads.download(INFO, tmp_path, base_url=host.url)
    (tmp_path / "tiny.onnx").write_bytes(DATA[:-1] + b"\0")      # damaged after install
    with pytest.raises(ProviderError):
        ModelStore(tmp_path).session("tiny")


def test_official_url_layout():
    assert downloads.url_for(INFO) == f"https://huggingface.co/{PATH}"
    assert downloads.url_for(INFO, "http://127.0.0.1:8000/mirror/") == \
        f"http://127.0.0.1:8000/mirror/{PATH}"
