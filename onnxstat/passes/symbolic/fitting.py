"""Fitting: every tensor dim of the probes' shapes as a formula of the symbols
(:class:`_DimFitter`, step 2 of the method in :mod:`onnxstat.passes.symbolic`), with
probes added while affine-floor fits stay ambiguous; the same fitter gives node costs
from their probe values when a handler's formula does not hold.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import onnx
import sympy

from ...errors import OnnxstatError
from ...model.loader import LoadedModel
from ...shapes.resolve import Shapes, ValueType
from .algebra import CHECK_MARGIN, _ev, _floor_candidates, _floor_expr, _is_poly, _largest_class, _monomials, _poly_fit, _predict
from .probes import ALIGN, MAX_PROBES, POOL, PROBE_LO, SEED, _resolve


class _DimFitter:
    """Fits value vectors (one value per probe) to expressions of the symbols."""

    def __init__(self, symbols: Sequence[sympy.Symbol], probes: Sequence[Mapping[str, int]]):
        self.symbols = list(symbols)
        self.n = len(probes)
        self.sym_atoms = [(s, np.array([p[s.name] for p in probes], dtype=object)) for s in self.symbols]
        k = len(self.symbols)
        self.dim_exps = self._exps(k, dims=True)
        self.cost_exps = self._exps(k, dims=False)
        self.known: dict[tuple, Any] = {}
        for s, v in self.sym_atoms:
            self.known.setdefault(tuple(v), s)
        self.nonpoly: dict[tuple, Any] = {}  # floor-type dims fitted so far
        self.failed: set[tuple] = set()
        #: (symbol, distinct predictions over POOL) of floor fits the probes do not pin down
        self.ambiguous: list[tuple[str, np.ndarray]] = []
        self._pool_cache: dict = {}

    def _exps(self, k: int, dims: bool) -> list[tuple[int, ...]]:
        # dims: degree <= 2 per symbol, <= 3 in total; costs may be cubic in one symbol
        budget = self.n - CHECK_MARGIN
        tries = [(2, 3), (2, 2), (1, 1)] if dims else [(3, 3), (2, 3), (2, 2), (1, 1)]
        for each, total in tries:
            exps = _monomials(k, each, total)
            if len(exps) <= budget:
                return exps
        return _monomials(k, 1, 1)[: max(1, budget)]

    def fit(self, y: Sequence[int], local: Sequence[tuple[Any, tuple]] = ()) -> Any:
        """Expression for the vector ``y`` (ints), or None."""
        y = tuple(int(v) for v in y)
        if all(v == y[0] for v in y):
            return y[0]
        if y in self.known:
            return self.known[y]
        if y in self.failed:
            return None
        expr = self._fit_new(np.array(y, dtype=object), local)
        if expr is None:
            self.failed.add(y)
            return None
        self.known[y] = expr
        if not _is_poly(expr, self.symbols):
            self.nonpoly[y] = expr
        return expr

    def _fit_new(self, y: np.ndarray, local: Sequence[tuple[Any, tuple]]):
        if self.symbols:
            e = _poly_fit(self.sym_atoms, y, self.dim_exps)
            if e is not None:
                return e
        feats = []
        seen = set()
        for e, vec in local:
            if vec in seen or all(v == vec[0] for v in vec):
                continue
            seen.add(vec)
            feats.append((e, np.array(vec, dtype=object)))
        # affine-floor in a dim the node reads (strides, resize, strided slice)
        for e, u in feats:
            f = self._floor(e, u, y)
            if f is not None:
                return f
        # polynomial in the node's input dims and the symbols (Flatten of C x H x W)
        atoms = feats + [(s, v) for s, v in self.sym_atoms if tuple(v) not in seen]
        if feats:
            atoms = atoms[:6]
            for total in (3, 2):
                exps = _monomials(len(atoms), 1, total)
                if len(exps) + CHECK_MARGIN <= self.n:
                    e = _poly_fit(atoms, y, exps)
                    if e is not None:
                        return e
                    break
        # affine-floor in a symbol or in any floor-type dim seen so far
        for e, u in [(s, v) for s, v in self.sym_atoms] + [(e, np.array(v, dtype=object)) for v, e in self.nonpoly.items()]:
            f = self._floor(e, u, y)
            if f is not None:
                return f
        return None

    # -- affine floors and the probes that tell them apart ----------------------
    def _univariate(self, e: Any) -> sympy.Symbol | None:
        free = [x for x in getattr(e, "free_symbols", ()) if x in self.symbols]
        return free[0] if len(free) == 1 else None

    def _u_pool(self, e: Any, x: sympy.Symbol) -> np.ndarray | None:
        key = (e, x)
        if key not in self._pool_cache:
            if e == x:
                vals = POOL.copy()
            else:
                try:
                    vals = np.array([int(_ev(e, {x: int(v)}, {})) for v in POOL], dtype=np.int64)
                except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                    vals = None
            self._pool_cache[key] = vals
        return self._pool_cache[key]

    def _floor(self, e: Any, u: np.ndarray, y: np.ndarray):
        """Fit y = c + m*floor((a*u + b)/s); record when several fits disagree off the probes."""
        cands = _floor_candidates(u, y)
        if not cands:
            return None
        x = self._univariate(e)
        up = self._u_pool(e, x) if x is not None and len(cands) > 1 else None
        if up is not None:
            keep, preds = [], []
            for f in cands:
                pr = _predict(f, up)
                if pr is not None:  # a dim is an integer wherever the model is used
                    keep.append(f)
                    preds.append(pr)
            if keep:
                cands = keep
                distinct = np.unique(np.array(preds), axis=0)
                if len(distinct) > 1:
                    self.ambiguous.append((x.name, distinct))
        return _floor_expr(cands[0], e)

    def next_probe(self, used: Sequence[Mapping[str, int]], rng: np.random.Generator) -> dict[str, int]:
        """A new probe: for each symbol, the value that best splits the floor fits still ambiguous."""
        out = {}
        for x in self.symbols:
            taken = {p[x.name] for p in used}
            free = np.array([v for v in POOL if v not in taken], dtype=np.int64)
            mats = [m for name, m in self.ambiguous if name == x.name]
            if not mats:
                out[x.name] = int(rng.choice(free))
                continue
            idx = free - PROBE_LO
            score = np.zeros(len(free))
            for m in mats:
                score += _largest_class(m[:, idx]) / m.shape[0]
            best = np.flatnonzero(score == score.min())
            out[x.name] = int(free[best[len(best) // 2]])
        return out

    def fit_cost(self, y: Sequence[int], extra_atoms: Sequence[tuple[Any, tuple]] = ()) -> Any:
        """A node cost vector: polynomial in the symbols, then with the node's non-polynomial dims."""
        y = tuple(int(v) for v in y)
        if all(v == y[0] for v in y):
            return y[0]
        arr = np.array(y, dtype=object)
        if self.symbols:
            e = _poly_fit(self.sym_atoms, arr, self.cost_exps)
            if e is not None:
                return e
        atoms = []
        seen = set()
        for e, vec in extra_atoms:
            if vec in seen or all(v == vec[0] for v in vec):
                continue
            seen.add(vec)
            atoms.append((e, np.array(vec, dtype=object)))
        if atoms:
            atoms = (atoms + [(s, v) for s, v in self.sym_atoms if tuple(v) not in seen])[:5]
            for each, total in ((1, 5), (1, 3), (1, 2)):
                exps = _monomials(len(atoms), each, total)
                if len(exps) + CHECK_MARGIN <= self.n:
                    e = _poly_fit(atoms, arr, exps)
                    if e is not None:
                        return e
        return None


def _fit_rounds(lm, syms, probes, resolved, input_shapes, dims, shape_source, notes):
    """Fit every dim; while floor fits stay ambiguous, add probes that split them (up to MAX_PROBES)."""
    rng = np.random.default_rng(SEED + 1)
    aligned = bool(syms) and all(p[x.name] % ALIGN == 0 for p in probes for x in syms)
    while True:
        fitter = _DimFitter(syms, probes)
        sym_shapes, bad = _fit_shapes(lm, resolved, fitter, dims)
        if not fitter.ambiguous or len(probes) >= MAX_PROBES or aligned:
            break
        p = fitter.next_probe(probes, rng)
        try:
            sh = _resolve(lm, input_shapes, {**dims, **p}, source=shape_source)
        except OnnxstatError:
            break
        probes.append(p)
        resolved.append(sh)
    if fitter.ambiguous:
        names = sorted({name for name, _ in fitter.ambiguous})
        notes.append(
            f"{len(fitter.ambiguous)} floor formula(s) in {', '.join(names)} are not pinned down by {len(probes)} probes; "
            f"the simplest fit is used"
        )
    return fitter, sym_shapes, bad


def _fit_shapes(lm: LoadedModel, resolved: Sequence[Shapes], fitter: _DimFitter, dims: Mapping[str, int]):
    """A Shapes whose dims are formulas; returns it with the dims that fit nothing."""
    sh0 = resolved[0]
    out = Shapes(source=sh0.source)
    bad: dict[str, int] = {}
    done: dict[tuple[str, str], Any] = {}
    view = lm.main_view()

    def vec_of(path: str, name: str):
        vts = [sh.scopes.get(path, {}).get(name) for sh in resolved]
        return vts

    def fit_tensor(path: str, name: str, local):
        vts = vec_of(path, name)
        vt0 = vts[0]
        if vt0 is None:
            return None
        if any(v is None or v.shape is None for v in vts) or len({len(v.shape) for v in vts}) != 1:
            same = all(v is not None and v.shape == vt0.shape for v in vts)
            return ValueType(vt0.dtype, vt0.shape if same else None)
        shape = []
        for k in range(len(vt0.shape)):
            y = [v.shape[k] for v in vts]
            if any(not isinstance(d, (int, np.integer)) for d in y):
                shape.append(y[0])
                continue
            e = fitter.fit(y, local)
            if e is None:
                label = f"{path + ':' if path else ''}{name}[{k}]"
                e = int(dims.get(label, 1))
                bad[label] = e
            shape.append(e)
        return ValueType(vt0.dtype, tuple(shape))

    def local_feats(path: str, node: onnx.NodeProto):
        feats = []
        for x in node.input:
            if not x:
                continue
            vt = done.get((path, x))
            vts = vec_of(path, x)
            if vt is None or vt.shape is None or any(v is None or v.shape is None for v in vts):
                continue
            for k, e in enumerate(vt.shape):
                if isinstance(e, sympy.Basic) and all(len(v.shape) == len(vt.shape) for v in vts):
                    feats.append((e, tuple(int(v.shape[k]) for v in vts)))
        return feats

    main = sh0.scopes.get("", {})
    scope_out: dict[str, ValueType] = {}
    out.scopes[""] = scope_out
    # inputs and initializers first, then node outputs in topological order
    ordered = [n for n in main if n not in view.producer]
    for name in ordered:
        vt = fit_tensor("", name, ())
        if vt is not None:
            scope_out[name] = done[("", name)] = vt
    for i in view.order:
        node = view.graph.node[i]
        feats = local_feats("", node)
        for o in node.output:
            if o and o in main:
                vt = fit_tensor("", o, feats)
                if vt is not None:
                    scope_out[o] = done[("", o)] = vt
    for path, scope in sh0.scopes.items():
        if path == "":
            continue
        target = out.scopes.setdefault(path, {})
        for name in scope:
            vt = fit_tensor(path, name, ())
            if vt is not None:
                target[name] = vt
    out.inputs = [(nm, dt, scope_out[nm].shape if nm in scope_out else shp) for nm, dt, shp in sh0.inputs]
    out.outputs = [(nm, dt, scope_out[nm].shape if nm in scope_out else shp) for nm, dt, shp in sh0.outputs]
    out.unresolved = dict(sh0.unresolved)
    return out, bad
