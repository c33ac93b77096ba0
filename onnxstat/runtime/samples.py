"""Input samples that several models run on: generated from an input signature, or real
ones read from a folder of ``.npy``/``.npz`` files (``compare --fidelity``, ``--inputs-dir``,
``--calibration-dir``).

:func:`generated_samples` makes sample ``i`` with :func:`onnxstat.runtime.inputs.make_inputs`
seeded with ``seed + i``, as :mod:`onnxstat.runtime.bench` does; :func:`load_samples` reads
a folder in one of the layouts it lists and checks every array against the model's inputs.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import UsageError
from .inputs import DEFAULT_INT_RANGE, check_user_array, make_inputs

#: generated samples when --samples is not given
DEFAULT_SAMPLES = 4


@dataclass
class Samples:
    """Input feeds, one dict per sample, and where they came from."""

    feeds: list[dict[str, np.ndarray]]
    source: str  # "generated" or "folder"
    folder: str | None = None
    seed: int | None = None
    files: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        d: dict[str, Any] = {"source": self.source, "samples": len(self.feeds)}
        if self.folder is not None:
            d["folder"] = self.folder
        if self.seed is not None:
            d["seed"] = self.seed
        return d

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The first sample's input shapes (the shapes the static counts use)."""
        return {n: tuple(int(d) for d in a.shape) for n, a in self.feeds[0].items()} if self.feeds else {}


def generated_samples(inputs: Sequence[tuple[str, str, Any]], n: int, seed: int = 0,
                      int_range=DEFAULT_INT_RANGE) -> Samples:
    """``n`` samples from the signature ``[(name, dtype, shape)]``; sample ``i`` uses seed ``seed + i``."""
    if n < 1:
        raise UsageError(f"--samples must be at least 1, got {n}")
    feeds = [make_inputs(inputs, seed=seed + i, int_range=int_range) for i in range(n)]
    return Samples(feeds, "generated", seed=seed)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``exc``'s message on one line, at most ``limit`` characters (its type's name when it has none)."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def _read_npy(path: Path, what: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except PermissionError:
        raise UsageError(f"{what}: {path.name}: permission denied") from None
    except Exception as exc:  # ValueError, OSError, EOFError, ...
        raise UsageError(f"{what}: {path.name} is not a readable .npy array ({one_line(exc)})") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise UsageError(f"{what}: {path.name} is an .npz archive, not a .npy array")
    return arr


def _read_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise UsageError(f"{what}: {path.name} is a .npy array, not an .npz archive")
            return {k: z[k] for k in z.files}
    except UsageError:
        raise
    except PermissionError:
        raise UsageError(f"{what}: {path.name}: permission denied") from None
    except (zipfile.BadZipFile, Exception) as exc:
        raise UsageError(f"{what}: {path.name} is not a readable .npz archive ({one_line(exc)})") from None


def load_samples(folder: str | os.PathLike, declared: Sequence[tuple[str, str, Any]], n: int | None = None,
                 what: str = "--inputs-dir") -> Samples:
    """Samples from ``folder``, checked against the model inputs ``declared`` ([(name, dtype, shape)]).

    Layouts, in this order of preference:

    * ``*.npz``: one archive per sample, one array per model input, keyed by input
      name (a single-input model also takes an archive holding one array under any key);
    * sub-folders, one per sample, each with ``<input>.npy`` for every input;
    * ``<input>.npy`` for every input directly in the folder: one sample;
    * a single-input model: every ``*.npy`` file is one sample.

    Files are taken in name order, the first ``n`` when ``n`` is given.  Every array
    must have the input's dtype, rank and fixed dims (:func:`check_user_array`).
    """
    p = Path(folder)
    label = f"{what} {p}"
    if not p.exists():
        raise UsageError(f"{label}: no such folder")
    if not p.is_dir():
        raise UsageError(f"{label}: not a folder")
    if n is not None and n < 1:
        raise UsageError(f"--samples must be at least 1, got {n}")
    names = [name for name, _d, _s in declared]
    try:
        entries = sorted(p.iterdir(), key=lambda e: e.name)
    except OSError as exc:
        raise UsageError(f"{label}: cannot list the folder ({exc.strerror or exc})") from None
    npz = [e for e in entries if e.suffix == ".npz" and e.is_file()]
    npy = [e for e in entries if e.suffix == ".npy" and e.is_file()]
    subdirs = [e for e in entries if e.is_dir() and all((e / f"{nm}.npy").is_file() for nm in names)]
    raw: list[tuple[str, dict[str, np.ndarray]]] = []
    if npz:
        for f in npz[:n]:
            arrays = _read_npz(f, label)
            if len(names) == 1 and len(arrays) == 1:
                arrays = {names[0]: next(iter(arrays.values()))}
            extra = [k for k in arrays if k not in names]
            if extra:
                raise UsageError(f"{label}: {f.name} holds {', '.join(map(repr, extra))}, which "
                                 f"{'is not a model input' if len(extra) == 1 else 'are not model inputs'} "
                                 f"(inputs: {', '.join(names)})")
            missing = [k for k in names if k not in arrays]
            if missing:
                raise UsageError(f"{label}: {f.name} has no array for input {', '.join(map(repr, missing))}")
            raw.append((f.name, arrays))
    elif subdirs:
        for d in subdirs[:n]:
            raw.append((d.name, {nm: _read_npy(d / f"{nm}.npy", label) for nm in names}))
    elif names and all((p / f"{nm}.npy").is_file() for nm in names):
        raw.append((p.name, {nm: _read_npy(p / f"{nm}.npy", label) for nm in names}))
    elif len(names) == 1 and npy:
        for f in npy[:n]:
            raw.append((f.name, {names[0]: _read_npy(f, label)}))
    else:
        raise UsageError(f"{label}: no samples found; expected one .npz per sample, a sub-folder per sample "
                         f"with one .npy per input, or {', '.join(f'{nm}.npy' for nm in names)}")
    by_name = {name: (dtype, shape) for name, dtype, shape in declared}
    feeds = []
    for sample, arrays in raw:
        feed = {}
        bound: dict[str, int] = {}
        for nm in names:
            dtype, shape = by_name[nm]
            arr, dims = check_user_array(nm, arrays[nm], dtype, shape, f"{label}: {sample}")
            for d, v in dims.items():
                if bound.setdefault(d, v) != v:
                    raise UsageError(f"{label}: {sample} gives dim {d!r} two values ({bound[d]} and {v})")
            feed[nm] = arr
        feeds.append(feed)
    return Samples(feeds, "folder", folder=str(p), files=[s for s, _a in raw])
