"""Probes: the symbols, the concrete values they take at each probe, and the shapes
resolved there (a probe the model cannot take is replaced; when most fail, the probes
are redone at multiples of ``ALIGN``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ...errors import OnnxstatError
from ...model.loader import LoadedModel
from ...shapes.resolve import Shapes, resolve, type_of
from .algebra import CHECK_MARGIN, _monomials

#: probe values of every symbol are distinct integers in this range
PROBE_LO, PROBE_HI = 64, 512
#: at most this many probes (one shape resolution + one handler pass each); the
#: first design has at most FIRST_PROBES, the rest split floor fits the first leave open
MAX_PROBES = 30
FIRST_PROBES = 24
#: probes when the model rejects unaligned values (e.g. a Reshape needing multiples)
ALIGN = 64
SEED = 20240917
POOL = np.arange(PROBE_LO, PROBE_HI + 1, dtype=np.int64)


def _norm(input_shapes, dims):
    from ...profiler import norm_dims, norm_input_shapes

    return norm_input_shapes(input_shapes), norm_dims(dims)


def model_symbols(lm: LoadedModel, input_shapes: Mapping[str, Any], dims: Mapping[str, int]) -> list[str]:
    """Input dim names left free by ``input_shapes`` and ``dims``, in input order."""
    g = lm.model.graph
    inits = {t.name for t in g.initializer}
    out: list[str] = []
    fixed = set(dims)
    for vi in g.input:
        if vi.name in inits:
            continue
        shape = type_of(vi.type).shape or ()
        if vi.name in input_shapes:
            fixed.update(d for d in shape if isinstance(d, str))
            continue
        out.extend(d for d in shape if isinstance(d, str) and d not in out)
    return [d for d in out if d not in fixed]


def input_dim_names(lm: LoadedModel) -> set[str]:
    g = lm.model.graph
    inits = {t.name for t in g.initializer}
    return {d for vi in g.input if vi.name not in inits for d in (type_of(vi.type).shape or ()) if isinstance(d, str)}


def probe_points(symbols: Sequence[str], n: int, aligned: bool = False) -> list[dict[str, int]]:
    """``n`` assignments of the symbols: distinct values per symbol, deterministic."""
    rng = np.random.default_rng(SEED)
    cols = {}
    for s in symbols:
        if aligned:
            vals = ALIGN * (1 + rng.choice(PROBE_HI // ALIGN * 4, size=n, replace=False))
        else:
            vals = rng.choice(np.arange(PROBE_LO, PROBE_HI + 1), size=n, replace=False)
        cols[s] = [int(v) for v in vals]
    return [{s: cols[s][i] for s in symbols} for i in range(n)]


def n_probes(k: int) -> int:
    """Probes for ``k`` symbols: enough for the polynomial fits plus ``CHECK_MARGIN`` checks."""
    if k == 0:
        return 1
    m = len(_monomials(k, 3, 3)) if k <= 2 else len(_monomials(k, 2, 3))
    return min(FIRST_PROBES, max(12, m + CHECK_MARGIN + 2))


def _resolve(lm, input_shapes, dims, source: str = "onnx") -> Shapes:
    """Shapes at one probe; data-dependent sizes the caller did not give (a NonZero
    count) are taken as 1 and stay listed in ``unresolved`` as the fallback."""
    sh = resolve(lm, input_shapes, dims, source=source)
    inputs = input_dim_names(lm)
    extra = {label: 1 for label in sh.unresolved if label not in inputs and label not in dims}
    if not extra:
        return sh
    again = resolve(lm, input_shapes, {**dims, **extra}, source=source)
    for label in extra:
        again.unresolved.setdefault(label, sh.unresolved[label])
    again.unknown_dims = [d for d in again.unknown_dims if d not in extra]
    again.warnings = [w for w in again.warnings if not w.startswith(tuple(f"--dim {k} " for k in extra))]
    shown = ", ".join(extra)
    again.warnings.append(f"data-dependent sizes taken as 1: {shown}; give their values with --dim 'NAME=VALUE'")
    return again


def _run_probes(lm, names, input_shapes, dims, shape_source):
    """Resolve shapes at every probe.

    A probe where shapes fail, or where dims are left unresolved that are resolved
    at most probes (a size the model cannot take, e.g. below a pooling window),
    is replaced by one with values from the upper half of the range.  When most
    probes fail, the design is redone with multiples of ``ALIGN``.
    """
    notes: list[str] = []
    if not names:
        return [{}], [_resolve(lm, input_shapes, dims, source=shape_source)], notes
    n = n_probes(len(names))
    rng = np.random.default_rng(SEED + 2)
    first_error: OnnxstatError | None = None
    for aligned in (False, True):
        probes = probe_points(names, n, aligned)
        got: list[tuple[dict, Shapes]] = []
        failed = 0
        for p in probes:
            try:
                got.append((p, _resolve(lm, input_shapes, {**dims, **p}, source=shape_source)))
            except OnnxstatError as exc:
                first_error = first_error or exc
                failed += 1
        if len(got) < n // 2 + 1:
            continue
        sets = [frozenset(sh.unresolved) for _, sh in got]
        normal = max(set(sets), key=lambda x: (sets.count(x), -len(x)))
        good = [(p, sh) for (p, sh), st in zip(got, sets) if st == normal]
        dropped = len(probes) - len(good)
        for _ in range(2 * dropped):
            if len(good) >= n:
                break
            p = _fresh_probe(names, [q for q, _ in good], rng, aligned)
            try:
                sh = _resolve(lm, input_shapes, {**dims, **p}, source=shape_source)
            except OnnxstatError:
                continue
            if frozenset(sh.unresolved) == normal:
                good.append((p, sh))
        if dropped:
            notes.append(f"{dropped} probe(s) gave no usable shapes (sizes the model cannot take) and were replaced")
        if aligned:
            notes.append(
                f"shapes fail at unaligned dims ({first_error}); formulas were fitted at multiples of {ALIGN} "
                f"and hold for such values"
            )
        return [p for p, _ in good], [sh for _, sh in good], notes
    assert first_error is not None
    raise first_error


def _fresh_probe(names, used, rng, aligned: bool) -> dict[str, int]:
    """Unused values from the upper half of the probe range (or multiples of ALIGN)."""
    out = {}
    for x in names:
        taken = {p[x] for p in used}
        if aligned:
            pool = [v for v in range(ALIGN, ALIGN * (PROBE_HI // ALIGN * 4 + 1), ALIGN) if v not in taken]
        else:
            pool = [v for v in range((PROBE_LO + PROBE_HI) // 2, PROBE_HI + 1) if v not in taken]
        out[x] = int(rng.choice(pool))
    return out
