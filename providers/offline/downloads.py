"""Optional learned models: what can be downloaded, and the download itself. bpy-free.

Nothing here runs unless the user asks for a model in the preferences' model manager, with
Blender's online access on (the operator checks both); nothing is downloaded at install time.

- A download goes to ``<name>.part`` in the user's models folder and resumes from it (an HTTP
  ``Range`` request) when it was interrupted. Only a file that is complete and whose SHA-256
  matches is renamed into place, so the model path never holds a partial or unverified file.
- The expected SHA-256 is pinned here where the publisher states it; otherwise it is the one
  the host declares for the file: Hugging Face answers a download of a large (LFS) file with
  its SHA-256 in ``X-Linked-Etag`` (and its size in ``X-Linked-Size``) on the first response,
  before redirecting to its CDN. A host that declares neither gets no trust: nothing is
  installed. A file that fails verification is deleted and reported.
- A verified file is recorded in the folder's ``SHA256SUMS``, the list
  :class:`~.runtime.ModelStore` checks every model against before it loads it.
- Every wait goes through the :class:`CancelToken`; a cancelled download keeps its ``.part``
  (so it can resume) and nothing else.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from urllib.parse import urlsplit

import requests

from ...core.errors import NEVER_CANCELLED, CancelToken, ProviderError
from .runtime import SUMS_FILE, file_sha256, parse_sums

OFFICIAL_HOST = "https://huggingface.co"
CHUNK = 1 << 20
SIZE_SLACK = 1.05          # a file may be this much larger than listed, no more


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """One downloadable model, as the model manager lists it."""

    id: str            # enum identifier: mapsmith.download_model(model=id)
    label: str
    capability: str    # "depth", "background" or "cleanup": what the offline provider uses it for
    improves: str      # one line for the model manager
    licence: str       # SPDX identifier
    source: str        # where the weights come from (the publisher's page)
    path: str          # path of the file on the models host (Hugging Face layout)
    filename: str      # local file name in the user's models folder
    size: int          # bytes, as the host lists it
    sha256: str = ""   # pinned where the publisher states it; else the host's X-Linked-Etag

    @property
    def size_mb(self) -> float:
        return self.size / 1e6


def url_for(info: ModelInfo, base_url: str = "") -> str:
    """The file's URL on the official host, or on a mirror with the same layout."""
    base = (base_url or OFFICIAL_HOST).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderError(f'Models URL "{parts.scheme}://{parts.hostname or ""}..." is not '
                            "an http(s) address: fix it in the add-on preferences, or clear it "
                            "to use the official host")
    if parts.username or parts.password:
        raise ProviderError("Models URL must not contain a user name or password")
    return f"{base}/{info.path.lstrip('/')}"


def installed(info: ModelInfo, models_dir: pathlib.Path) -> bool:
    """The model's file is in place and listed (verified) in ``SHA256SUMS``."""
    path = pathlib.Path(models_dir) / info.filename
    return path.is_file() and info.filename in _read_sums(pathlib.Path(models_dir))


def partial_bytes(info: ModelInfo, models_dir: pathlib.Path) -> int:
    part = _part(pathlib.Path(models_dir), info)
    return part.stat().st_size if part.is_file() else 0


def remove(info: ModelInfo, models_dir: pathlib.Path) -> bool:
    """Delete the model, its partial download and its checksum line. True if anything was
    there."""
    folder = pathlib.Path(models_dir)
    found = False
    for path in (folder / info.filename, _part(folder, info)):
        if path.exists():
            path.unlink()
            found = True
    sums = _read_sums(folder)
    if sums.pop(info.filename, None) is not None:
        _write_sums(folder, sums)
        found = True
    return found


def download(info: ModelInfo, models_dir: pathlib.Path, *, base_url: str = "",
             timeout_s: float = 60.0, token: CancelToken = NEVER_CANCELLED) -> pathlib.Path:
    """Download (or resume), verify and install ``info``; returns the model's path."""
    folder = pathlib.Path(models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    url = url_for(info, base_url)
    part = _part(folder, info)
    have = part.stat().st_size if part.is_file() else 0
    token.progress(have / max(info.size, 1), f"downloading {info.label}")
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with requests.Session() as session:
            session.trust_env = False          # no proxies or .netrc picked up on the way
            response = session.get(url, headers=headers, stream=True,
                                   timeout=(min(timeout_s, 30.0), timeout_s))
            with response:
                status = response.status_code
                if status not in (200, 206, 416) or (status != 200 and not have):
                    raise ProviderError(f"Model download: the host answered {status} for "
                                        f"{info.label}; check the models URL, or try again "
                                        "later")
                expected = _expected_sha256(info, response)
                if status == 206:
                    _append(response, part, info, have, token)
                elif status == 200:
                    _append(response, part, info, 0, token)
                # 416: the .part is already whole; it is verified below.
    except requests.Timeout:
        raise ProviderError(f"Model download: no answer within {timeout_s:g} s; the partial "
                            "file is kept, so the next try resumes") from None
    except requests.RequestException as err:
        raise ProviderError(f"Model download failed ({type(err).__name__}); the partial file "
                            "is kept, so the next try resumes") from None
    token.progress(0.99, f"verifying {info.label}")
    digest = file_sha256(part)
    if digest != expected:
        part.unlink()
        raise ProviderError(f"{info.label} failed verification (its SHA-256 is not the one "
                            "the publisher or host declares) and was deleted. Try again; if it "
                            "fails again, the host or your network is serving a different file")
    final = folder / info.filename
    os.replace(part, final)
    sums = _read_sums(folder)
    sums[info.filename] = digest
    _write_sums(folder, sums)
    return final


# -- helpers ---------------------------------------------------------------------------------

def _part(folder: pathlib.Path, info: ModelInfo) -> pathlib.Path:
    return folder / f"{info.filename}.part"


def _expected_sha256(info: ModelInfo, response: requests.Response) -> str:
    """The SHA-256 to check against: pinned, else X-Linked-Etag from any response on the way
    (redirects included). A host declaring a size beyond the listed one is refused."""
    etag = ""
    for r in (*response.history, response):
        linked = r.headers.get("X-Linked-Etag", "").strip().strip('"').lower()
        if linked.startswith("w/"):
            linked = linked[2:].strip('"')
        if len(linked) == 64 and all(c in "0123456789abcdef" for c in linked):
            etag = linked
        size = r.headers.get("X-Linked-Size", "")
        if size.isdigit() and int(size) > info.size * SIZE_SLACK:
            raise ProviderError(f"Model download: {info.label} on this host is larger than "
                                f"the {info.size_mb:.0f} MB it should be; nothing was "
                                "installed")
    expected = info.sha256.lower() or etag
    if not expected:
        raise ProviderError(f"The models host declared no SHA-256 for {info.label}, so it "
                            "cannot be verified: nothing was installed. Use the official host "
                            "or a mirror that sends X-Linked-Etag")
    if info.sha256 and etag and etag != info.sha256.lower():
        raise ProviderError(f"The models host declares a different file for {info.label} than "
                            "the one Mapsmith expects: nothing was installed")
    return expected


def _append(response: requests.Response, part: pathlib.Path, info: ModelInfo, offset: int,
            token: CancelToken) -> None:
    limit = int(info.size * SIZE_SLACK)
    # The whole file's size as this answer states it (Content-Range's total, or the offset
    # plus Content-Length), else the listed size.
    total = info.size
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        total = int(content_range.rsplit("/", 1)[1])
    elif response.headers.get("Content-Length", "").isdigit():
        total = offset + int(response.headers["Content-Length"])
    done = offset
    with open(part, "ab" if offset else "wb") as out:
        for chunk in response.iter_content(CHUNK):
            token.check()
            done += len(chunk)
            if done > limit:
                out.close()
                part.unlink()
                raise ProviderError(f"Model download: {info.label} is larger than the "
                                    f"{info.size_mb:.0f} MB it should be; it was deleted")
            out.write(chunk)
            token.progress(min(done / max(total, 1), 0.99), f"downloading {info.label}")
    if done < total:
        raise ProviderError(f"Model download of {info.label} stopped at {done / 1e6:.1f} of "
                            f"{total / 1e6:.1f} MB; the partial file is kept, so the next try "
                            "resumes")


def _read_sums(folder: pathlib.Path) -> dict[str, str]:
    try:
        return parse_sums((folder / SUMS_FILE).read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError):
        return {}


def _write_sums(folder: pathlib.Path, sums: dict[str, str]) -> None:
    tmp = folder / f"{SUMS_FILE}.tmp"
    tmp.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())),
                   encoding="ascii")
    os.replace(tmp, folder / SUMS_FILE)
