"""Loading and running the bundled ONNX models (onnxruntime, CPU).

Each model is loaded once, lazily, after its SHA-256 was checked against ``models/SHA256SUMS``,
and cached for the session of Blender. Runs are serialised by one lock: interleaved sessions
fight over the cores and are slower than running one after another.
"""

from __future__ import annotations

import hashlib
import pathlib
import threading

import numpy as np

from ..contract import ProviderError

MODELS_DIR = pathlib.Path(__file__).resolve().parent / "models"
SUMS_FILE = "SHA256SUMS"
REINSTALL = "Reinstall the Mapsmith extension to restore it."
INTRA_OP_THREADS = 2


def file_sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_sums(text: str) -> dict[str, str]:
    """``sha256sum`` output -> {file name: lower-case hex digest}."""
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


class ModelStore:
    """The offline models of one folder: ``run(name, {input: array})`` -> list of outputs."""

    def __init__(self, models_dir: pathlib.Path | None = None, *, hint: str = REINSTALL):
        self.models_dir = pathlib.Path(models_dir) if models_dir is not None else MODELS_DIR
        self.hint = hint   # what to do about a missing or damaged file (differs per folder)
        self._sessions: dict[str, object] = {}
        self._sums: dict[str, str] | None = None
        self._lock = threading.RLock()

    def _expected_sums(self) -> dict[str, str]:
        if self._sums is None:
            path = self.models_dir / SUMS_FILE
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as err:
                raise ProviderError(
                    f"The offline model list {path} is missing or unreadable ({err}). "
                    f"{self.hint}") from None
            self._sums = parse_sums(text)
        return self._sums

    def session(self, name: str):
        with self._lock:
            sess = self._sessions.get(name)
            if sess is None:
                sess = self._load(name)
                self._sessions[name] = sess
            return sess

    def _load(self, name: str):
        filename = f"{name}.onnx"
        path = self.models_dir / filename
        if not path.is_file():
            raise ProviderError(f"The offline model file {path} is missing. {self.hint}")
        expected = self._expected_sums().get(filename)
        if expected is None:
            raise ProviderError(f"The offline model {filename} is not listed in "
                                f"{self.models_dir / SUMS_FILE}. {self.hint}")
        try:
            actual = file_sha256(path)
        except OSError as err:
            raise ProviderError(f"The offline model file {path} cannot be read ({err}). "
                                f"{self.hint}") from None
        if actual != expected:
            raise ProviderError(f"The offline model file {path} is damaged (its checksum does "
                                f"not match). {self.hint}")
        try:
            import onnxruntime as ort
        except Exception as err:  # ImportError, or a broken native library
            raise ProviderError(
                "The offline provider needs onnxruntime, which is bundled with the extension "
                f"but could not be loaded ({err}). {REINSTALL}") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = INTRA_OP_THREADS
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        try:
            return ort.InferenceSession(str(path), sess_options=opts,
                                        providers=["CPUExecutionProvider"])
        except Exception as err:
            raise ProviderError(f"The offline model file {path} could not be loaded ({err}). "
                                f"{self.hint}") from None

    def run(self, name: str, feeds: dict[str, np.ndarray]) -> list:
        sess = self.session(name)
        with self._lock:  # one model at a time
            try:
                return sess.run(None, feeds)
            except Exception as err:
                raise ProviderError(f"The offline model {name} failed to run ({err}).") from None

    def input_name(self, name: str) -> str:
        return self.session(name).get_inputs()[0].name


_DEFAULT: ModelStore | None = None
_DEFAULT_LOCK = threading.Lock()


def default_store() -> ModelStore:
    """The process-wide store of the bundled models (sessions cached across calls)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = ModelStore()
        return _DEFAULT
