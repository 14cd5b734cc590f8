"""The answer cache: a provider's answer is fetched once per source pixels and request. bpy-free.

A re-run that only changes how an answer becomes Blender data (Strength, Size, Resolution,
Smoothing... in Adjust Last Operation) finds the answer here: no request is sent, no credit
is spent, and the operator builds its result at once on the main thread.

The key of an answer is a hash of what is actually sent: the provider (its id and endpoint),
the capability, every array handed to it (the source pixels, a cleanup mask) and its other
arguments (a background mode, cleanup options). Never the API key, a timeout or a retry
count: they do not change the answer. A changed source pixel, provider or request option is
a different key, hence a new request.

- In memory: least recently used answers go first once their images exceed ``max_bytes``.
- On disk (optional, off by default; the ``directory`` is the extension's user folder): one
  ``.npz`` file per answer (no pickles), the least recently used removed beyond
  ``max_disk_bytes``.

:class:`CachedProvider` wraps a provider. Inside :func:`only_cached` (used on the main thread to
try a run synchronously first) a miss raises :class:`CacheMiss` instead of asking the
provider, so the caller starts the job on a worker thread instead.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import threading
import zipfile

import numpy as np

from .contract import Result

FORMAT = 1                        # bump when what a key covers changes
MAX_BYTES = 256 * 2**20           # answers kept in memory
MAX_DISK_BYTES = 2 * 2**30        # answers kept on disk, when that is on

_local = threading.local()


class CacheMiss(Exception):
    """Raised inside :func:`only_cached` when an answer would need the provider."""


@contextlib.contextmanager
def only_cached():
    """On this thread, serve answers from the cache only; a miss raises :class:`CacheMiss`."""
    before = getattr(_local, "only_cached", False)
    _local.only_cached = True
    try:
        yield
    finally:
        _local.only_cached = before


def serving_only_cached() -> bool:
    """Whether this thread is inside :func:`only_cached` (work that must not run there, such
    as a batch, raises :class:`CacheMiss` at once)."""
    return getattr(_local, "only_cached", False)


def leave_main_thread() -> None:
    """Inside :func:`only_cached`: raise :class:`CacheMiss`, so the job starts on a worker
    thread after all. For work whose answers are cached but whose own remaining part is too
    heavy for the main thread (e.g. cleanup's fill across UV seams)."""
    if getattr(_local, "only_cached", False):
        raise CacheMiss("heavy work left: run in the background")


class CachedResult(Result):
    """A :class:`Result` that came from the cache: no credits were spent on it."""


class AnswerCache:
    def __init__(self, max_bytes: int = MAX_BYTES, directory: str | None = None,
                 max_disk_bytes: int = MAX_DISK_BYTES):
        self.max_bytes = max_bytes
        self.directory = directory
        self.max_disk_bytes = max_disk_bytes
        self._lock = threading.Lock()
        self._memory: collections.OrderedDict[str, tuple[np.ndarray, str]] = \
            collections.OrderedDict()
        self._bytes = 0
        self.hits = 0       # answers served from the cache
        self.misses = 0     # answers the provider had to compute or fetch
        self.asked: collections.deque[str] = collections.deque(maxlen=100)  # recent keys

    # -- memory ------------------------------------------------------------------------
    @property
    def memory_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: str) -> tuple[np.ndarray, str] | None:
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
                return entry
        entry = self._read_disk(key)
        if entry is not None:
            self._remember(key, *entry)
        return entry

    def put(self, key: str, image: np.ndarray, note: str = "", *, disk: bool = True) -> None:
        image = np.array(image, copy=True)     # the caller's array stays the caller's
        image.setflags(write=False)
        self._remember(key, image, note)
        if disk:
            self._write_disk(key, image, note)

    def _remember(self, key: str, image: np.ndarray, note: str) -> None:
        if image.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._bytes -= old[0].nbytes
            self._memory[key] = (image, note)
            self._bytes += image.nbytes
            while self._bytes > self.max_bytes:
                _key, (dropped, _note) = self._memory.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self, directory: str | None = None) -> tuple[int, int]:
        """Forget every answer, in memory and on disk (in ``directory`` if given, e.g. while
        keeping answers on disk is off): (answers, bytes) removed."""
        with self._lock:
            count, size = len(self._memory), self._bytes
            self._memory.clear()
            self._bytes = 0
        for path, nbytes, _mtime in self._disk_files(directory or self.directory):
            with contextlib.suppress(OSError):
                os.remove(path)
                count, size = count + 1, size + nbytes
        return count, size

    # -- disk --------------------------------------------------------------------------
    def _path(self, key: str) -> str | None:
        return os.path.join(self.directory, key + ".npz") if self.directory else None

    @staticmethod
    def _disk_files(directory: str | None):
        if not directory or not os.path.isdir(directory):
            return []
        found = []
        for entry in os.scandir(directory):
            if entry.name.endswith(".npz") and entry.is_file():
                stat = entry.stat()
                found.append((entry.path, stat.st_size, stat.st_mtime))
        return found

    def _read_disk(self, key: str) -> tuple[np.ndarray, str] | None:
        path = self._path(key)
        if path is None or not os.path.isfile(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                image, note = data["image"], str(data["note"])
            os.utime(path)                       # recently used
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            # damaged or half-written: ask again
            with contextlib.suppress(OSError):
                os.remove(path)
            return None
        image.setflags(write=False)
        return image, note

    def _write_disk(self, key: str, image: np.ndarray, note: str) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "wb") as f:
                np.savez(f, image=image, note=np.array(note))
            os.replace(tmp, path)
        except OSError:
            return                               # a full or read-only disk: memory only
        files = sorted(self._disk_files(self.directory), key=lambda f: f[2], reverse=True)
        total = 0
        for old_path, nbytes, _mtime in files:
            total += nbytes
            if total > self.max_disk_bytes:
                with contextlib.suppress(OSError):
                    os.remove(old_path)


ANSWERS = AnswerCache()
"""The add-on's one cache (its disk folder is set from the preferences before each run)."""


def _digest_array(h, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array)
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(memoryview(array).cast("B"))


class CachedProvider:
    """``provider`` with its answers kept in ``cache``; otherwise the same provider."""

    def __init__(self, provider, cache: AnswerCache = ANSWERS):
        self._provider = provider
        self._cache = cache
        self._digests: dict[int, tuple[np.ndarray, bytes]] = {}  # id -> (array, digest)

    def __getattr__(self, name):          # id, label, remote, settings, test_connection...
        return getattr(self._provider, name)

    def __repr__(self) -> str:
        return f"<cached {self._provider!r}>"

    def key(self, capability: str, *args, **kwargs) -> str:
        """The answer's key: provider, endpoint, capability and the request's own data."""
        h = hashlib.blake2b(digest_size=20)
        settings = getattr(self._provider, "settings", None)
        identity = (self._provider.cache_identity() if hasattr(self._provider, "cache_identity")
                    else getattr(settings, "base_url", ""))
        h.update(repr((FORMAT, self._provider.id, identity, capability)).encode())
        for name, value in [("", a) for a in args] + sorted(kwargs.items()):
            h.update(f"|{name}=".encode())
            if isinstance(value, np.ndarray):
                h.update(self._array_digest(value))
            else:
                h.update(repr(value).encode())
        return h.hexdigest()

    def _array_digest(self, array: np.ndarray) -> bytes:
        # The same array is hashed once per run (tried from the cache, then on the worker).
        known = self._digests.get(id(array))
        if known is not None and known[0] is array:
            return known[1]
        h = hashlib.blake2b(digest_size=20)
        _digest_array(h, array)
        digest = h.digest()
        self._digests[id(array)] = (array, digest)
        return digest

    def _answer(self, capability: str, call, args, kwargs, disk: bool = True) -> Result:
        key = self.key(capability, *args, **kwargs)
        self._cache.asked.append(key)
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.hits += 1
            image, note = entry
            return CachedResult(image=np.array(image, copy=True), credits=None, note=note)
        if getattr(_local, "only_cached", False):
            raise CacheMiss(capability)
        result = call(*args, **kwargs)
        self._cache.misses += 1
        self._cache.put(key, result.image, result.note, disk=disk)
        return result

    def depth(self, rgb, *, cancel=None, **options) -> Result:
        return self._call("depth", (rgb,), options, cancel)

    def normals(self, rgb, *, cancel=None, **options) -> Result:
        return self._call("normals", (rgb,), options, cancel)

    def background(self, rgb, mode: str = "CUTOUT", *, cancel=None, **options) -> Result:
        return self._call("background", (rgb, mode), options, cancel)

    def cleanup(self, rgb, mask, *, cancel=None, **options) -> Result:
        return self._call("cleanup", (rgb, mask), options, cancel)

    def person_check(self, rgb) -> Result:
        """The offline provider's person check (``person_evidence``), kept like an answer
        (in memory only: it costs no request): a 0-d bool image, the evidence ("a face") in
        the note."""
        def call(rgb):
            evidence = self._provider.person_evidence(rgb)
            return Result(np.array(bool(evidence)), note=evidence)

        return self._answer("person", call, (rgb,), {}, disk=False)

    def _call(self, capability, args, options, cancel) -> Result:
        method = getattr(self._provider, capability)

        def call(*a, **kw):
            return method(*a, **kw) if cancel is None else method(*a, cancel=cancel, **kw)

        return self._answer(capability, call, args, options)
