"""Costs as formulas of the model's symbolic dims (``onnxstat profile --symbolic``).

Shape inference is concrete-only, so the formulas are recovered from probes:

1. **Symbols** are the input dim names (``dim_param``) not fixed by ``dims`` or
   ``input_shapes``.  Shapes are resolved concretely (:func:`onnxstat.shapes.resolve`)
   at 12-24 *probe* assignments of the symbols (distinct pseudo-random values in
   ``[PROBE_LO, PROBE_HI]``, the same on every run).  A probe the model cannot
   take is replaced; when most fail, the probes are redone at multiples of ``ALIGN``.
2. **Every tensor dim is fitted** as a sympy expression of the symbols, taking the
   first of these that reproduces its value at *every* probe: a constant; an
   expression already fitted for another dim (pass-through); a polynomial in the
   symbols with rational coefficients (``batch*seq``, ``past + seq``); an
   affine-floor function ``c + m*floor((a*u + b)/s)`` of one dim ``u`` the producing
   node reads (convolution and pooling strides, ``Resize``, strided ``Slice``);
   a polynomial in the producing node's input dims and the symbols (``Flatten`` of
   ``C x H' x W'``); the affine-floor form in a symbol.  Polynomial parameters come
   from an exact rational solve, accepted with at least ``CHECK_MARGIN`` more
   probes than unknowns.  When several floor fits agree on every probe but differ
   elsewhere, probes that split them are added (up to ``MAX_PROBES``) and the dims
   are fitted again.  A dim that fits nothing is *not symbolic*: it is set to the
   value given for its label (``dims["tensor[k]"]``) or 1, and named in
   ``fallback`` and a warning.
3. The normal handler pass (:class:`onnxstat.passes.analysis.Analyzer`) runs on those
   shapes: handlers are plain arithmetic, so they return formulas.  Each node's
   formulas are then checked against the concrete handler pass at every probe;
   a node whose handler failed on symbolic dims, or disagrees, gets its costs
   fitted from the concrete probe values instead (polynomial in the symbols and
   the node's non-polynomial dims), named in ``fitted_nodes``.
4. Totals and per-op-type sums are expanded (``sympy.expand``); strings come in
   two forms: exact (``"7668032*batch"``, the JSON contract) and pretty with three
   significant digits (``7.67e6·batch``), plus the smooth approximation
   (``floor(x) -> x``) when a formula has floors.

Data-dependent dims (``NonZero`` counts) never vary with the symbols: shape
resolution sets them to the ``dims`` value given for their name or 1, they are
constant in every formula, and :attr:`SymbolicResult.fallback` names them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import onnx
import sympy

from ...errors import OnnxstatError, UsageError
from ...model.loader import LoadedModel, load
from ...result import METRIC_LABELS, unique
from ...shapes.resolve import Shapes, ValueType, resolve, type_of
from ..analysis import Analyzer, NodeCost

#: the per-node and total metrics that get formulas (memory traffic = read + written)
METRICS = ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written")
TOTAL_METRICS = METRICS + ("memory_traffic_bytes",)
LABELS = METRIC_LABELS

#: probe values of every symbol are distinct integers in this range
PROBE_LO, PROBE_HI = 64, 512
#: at most this many probes (one shape resolution + one handler pass each); the
#: first design has at most FIRST_PROBES, the rest split floor fits the first leave open
MAX_PROBES = 30
FIRST_PROBES = 24
#: a fit must have at least this many probes more than it has unknowns
CHECK_MARGIN = 6
#: probes when the model rejects unaligned values (e.g. a Reshape needing multiples)
ALIGN = 64
SEED = 20240917
#: terms of a pretty formula of the same degree are ordered by their size at this value
REF_VALUE = 1024
POOL = np.arange(PROBE_LO, PROBE_HI + 1, dtype=np.int64)
#: affine-floor search: strides up to MAX_STRIDE_A1 for floor((u + b)/s), and for
#: floor((a*u + b)/s) with 1 < a <= MAX_NUMER up to MAX_STRIDE
MAX_STRIDE = 8
MAX_STRIDE_A1 = 64
MAX_NUMER = 4


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol for a dim name (a positive integer)."""
    return sympy.Symbol(name, integer=True, positive=True)


# --------------------------------------------------------------------------- exact evaluation


def _ev(expr: Any, env: Mapping[sympy.Symbol, int], memo: dict) -> Any:
    """Exact value of ``expr`` (int or Fraction) with symbols from ``env``."""
    if isinstance(expr, (int, Fraction)):
        return expr
    if isinstance(expr, float):
        return Fraction(expr)
    hit = memo.get(expr)
    if hit is not None:
        return hit
    if expr.is_Integer:
        v: Any = int(expr)
    elif expr.is_Rational:
        v = Fraction(int(expr.p), int(expr.q))
    elif expr.is_Symbol:
        try:
            v = int(env[expr])
        except KeyError:
            raise UsageError(f"no value given for the symbol {expr.name!r}") from None
    elif expr.is_Add:
        v = sum((_ev(a, env, memo) for a in expr.args), 0)
    elif expr.is_Mul:
        v = 1
        for a in expr.args:
            v = v * _ev(a, env, memo)
    elif expr.is_Pow and expr.exp.is_Integer:
        b, e = _ev(expr.base, env, memo), int(expr.exp)
        v = b**e if e >= 0 else Fraction(1) / Fraction(b) ** (-e)
    elif isinstance(expr, sympy.floor):
        v = math.floor(_ev(expr.args[0], env, memo))
    elif isinstance(expr, sympy.ceiling):
        v = math.ceil(_ev(expr.args[0], env, memo))
    elif isinstance(expr, sympy.Max):
        v = max(_ev(a, env, memo) for a in expr.args)
    elif isinstance(expr, sympy.Min):
        v = min(_ev(a, env, memo) for a in expr.args)
    elif isinstance(expr, sympy.Mod):
        v = _ev(expr.args[0], env, memo) % _ev(expr.args[1], env, memo)
    else:  # anything else: let sympy do it
        r = sympy.nsimplify(expr.subs({s: int(x) for s, x in env.items()}))
        if not r.is_Rational:
            raise ValueError(f"cannot evaluate {expr} exactly")
        v = Fraction(int(r.p), int(r.q))
    if isinstance(v, Fraction) and v.denominator == 1:
        v = int(v)
    memo[expr] = v
    return v


def evaluate(expr: Any, values: Mapping[Any, int]) -> int | Fraction:
    """Exact value of a formula at a point: ``evaluate(e, {"batch": 8, "seq": 128})``.

    Keys are dim names or symbols; an integer result is returned as ``int``.
    """
    env = {}
    for k, v in values.items():
        env[k if isinstance(k, sympy.Symbol) else symbol(str(k))] = int(v)
    if not isinstance(expr, sympy.Basic):
        return expr if isinstance(expr, (int, Fraction)) else Fraction(expr)
    # a symbol with other assumptions (e.g. from sympify) is matched by name
    by_name = {s.name: v for s, v in env.items()}
    for s in expr.free_symbols:
        if s not in env and s.name in by_name:
            env[s] = by_name[s.name]
    return _ev(expr, env, {})


# --------------------------------------------------------------------------- exact linear algebra


def _solve(rows: Sequence[Sequence[int]], y: Sequence[int]) -> list[Fraction] | None:
    """A solution of ``rows @ c == y`` that satisfies every row, else None.

    Gauss-Jordan elimination over the rationals; dependent columns get 0.
    """
    m = len(rows[0]) if rows else 0
    a = [[Fraction(v) for v in r] + [Fraction(t)] for r, t in zip(rows, y)]
    pivots: list[int] = []
    r = 0
    for c in range(m):
        p = next((i for i in range(r, len(a)) if a[i][c] != 0), None)
        if p is None:
            continue
        a[r], a[p] = a[p], a[r]
        inv = 1 / a[r][c]
        a[r] = [v * inv for v in a[r]]
        for i in range(len(a)):
            if i != r and a[i][c] != 0:
                f = a[i][c]
                a[i] = [vi - f * vr for vi, vr in zip(a[i], a[r])]
        pivots.append(c)
        r += 1
        if r == len(a):
            break
    if any(row[m] != 0 for row in a[r:]):
        return None  # inconsistent: no exact fit
    sol = [Fraction(0)] * m
    for i, c in enumerate(pivots):
        sol[c] = a[i][m]
    return sol


def _float_screen(rows: Sequence[Sequence[int]], y: Sequence[int]) -> bool:
    """Cheap float64 least-squares test: False when clearly no exact fit exists."""
    try:
        a = np.array(rows, dtype=float)
        b = np.array([float(v) for v in y])
        scale = np.abs(a).max(axis=0)
        scale[scale == 0] = 1.0
        sol, *_ = np.linalg.lstsq(a / scale, b, rcond=None)
        resid = np.abs((a / scale) @ sol - b).max()
    except (OverflowError, ValueError, np.linalg.LinAlgError):
        return True  # let the exact solve decide
    return bool(resid <= 1e-6 * max(1.0, float(np.abs(b).max())))


def _monomials(n_atoms: int, max_each: int, max_total: int) -> list[tuple[int, ...]]:
    out = [e for e in itertools.product(range(max_each + 1), repeat=n_atoms) if sum(e) <= max_total]
    out.sort(key=lambda e: (sum(e), tuple(-x for x in e)))
    return out


def _poly_fit(atoms: Sequence[tuple[Any, np.ndarray]], y: np.ndarray, exps: Sequence[tuple[int, ...]]):
    """Exact rational polynomial in ``atoms`` (expr, values) matching ``y`` at every probe."""
    n = len(y)
    if len(exps) + CHECK_MARGIN > n:
        return None
    cols = []
    for e in exps:
        col = [1] * n
        for (_, vals), k in zip(atoms, e):
            if k:
                col = [c * int(v) ** k for c, v in zip(col, vals)]
        cols.append(col)
    rows = [[cols[j][i] for j in range(len(exps))] for i in range(n)]
    if not _float_screen(rows, y):
        return None
    sol = _solve(rows, [int(v) for v in y])
    if sol is None:
        return None
    expr = sympy.Integer(0)
    for c, e in zip(sol, exps):
        if c == 0:
            continue
        term = sympy.Rational(c.numerator, c.denominator)
        for (ae, _), k in zip(atoms, e):
            if k:
                term = term * ae**k
        expr = expr + term
    return expr


def _floor_candidates(u: Sequence[int], y: Sequence[int], *, max_stride: int = MAX_STRIDE_A1, max_numer: int = MAX_NUMER):
    """Every (c, m, a, b, s) with y == c + m*floor((a*u + b)/s) at every probe, simplest first.

    ``s <= max_stride`` for ``a == 1``; ``a <= max_numer`` (coprime to s) for ``s <= MAX_STRIDE``;
    ``0 <= b < s``; ``m`` and ``c`` rational, from the data.
    """
    if max(max(abs(int(v)) for v in u), max(abs(int(v)) for v in y)) > 2**40:
        return []
    uu = np.array([int(v) for v in u], dtype=np.int64)
    yy = np.array([int(v) for v in y], dtype=np.int64)
    dy = yy - yy[0]
    out = []
    for s in range(1, max_stride + 1):
        for a in range(1, (max_numer if 1 < s <= MAX_STRIDE else 1) + 1):
            if math.gcd(a, s) != 1:
                continue
            bs = np.arange(s, dtype=np.int64)
            g = (a * uu[None, :] + bs[:, None]) // s
            dg = g - g[:, :1]
            j = np.argmax(np.abs(dg), axis=1)
            rows = np.arange(s)
            dgj = dg[rows, j]
            dyj = dy[j]
            ok = (dgj != 0) & np.all(dy[None, :] * dgj[:, None] == dg * dyj[:, None], axis=1)
            for b in np.nonzero(ok)[0]:
                m = Fraction(int(dyj[b]), int(dgj[b]))
                c = int(yy[0]) - m * int(g[b, 0])
                out.append((c, m, a, int(b), s))
    return out


def _floor_affine(u, y, *, max_stride: int = MAX_STRIDE_A1, max_numer: int = MAX_NUMER):
    """The simplest (c, m, a, b, s) of :func:`_floor_candidates`, or None."""
    cands = _floor_candidates(u, y, max_stride=max_stride, max_numer=max_numer)
    return cands[0] if cands else None


def _largest_class(cols: np.ndarray) -> np.ndarray:
    """Per column: how many rows share the most common value."""
    n, c = cols.shape
    srt = np.sort(cols, axis=0)
    starts = np.vstack([np.ones((1, c), dtype=bool), srt[1:] != srt[:-1]])
    gid = np.cumsum(starts, axis=0) - 1 + np.arange(c)[None, :] * n
    return np.bincount(gid.ravel(order="F"), minlength=n * c).reshape(c, n).max(axis=1)


def _predict(fit, u: np.ndarray) -> np.ndarray | None:
    """Values of a floor-affine fit on ``u`` (int64); None when some value is not an integer."""
    c, m, a, b, s = fit
    g = (a * u + b) // s
    num = c.numerator * m.denominator + m.numerator * c.denominator * g
    den = c.denominator * m.denominator
    if np.any(num % den):
        return None
    return num // den


def _floor_parts(e: Any):
    """(c, A, s) when ``e == c + floor(A/s)``, c an integer, A an integer polynomial; else None."""
    if not isinstance(e, sympy.Basic):
        return None
    c, rest = e.as_coeff_Add()
    if not c.is_Integer or not isinstance(rest, sympy.floor):
        return None
    num, den = sympy.fraction(sympy.together(rest.args[0]))
    if not den.is_Integer or int(den) <= 0:
        return None
    try:
        poly = sympy.Poly(num, *sorted(num.free_symbols, key=str))
    except sympy.PolynomialError:
        return None
    if not all(coef.is_Integer for coef in poly.coeffs()):
        return None
    return int(c), sympy.expand(num), int(den)


def _floor_expr(fit, e) -> Any:
    """``c + m*floor((a*e + b)/s)``; a floor of a floor collapses (integer arguments):
    floor((c0 + floor(A/s0) + b)/s) == floor((A + (c0 + b)*s0)/(s0*s))."""
    c, m, a, b, s = fit
    if s == 1:
        inner = a * e + b
    else:
        parts = _floor_parts(e) if a == 1 else None
        if parts is not None:
            c0, big_a, s0 = parts
            inner = sympy.floor((big_a + (c0 + b) * s0) / sympy.Integer(s0 * s))
        else:
            inner = sympy.floor((a * e + b) / sympy.Integer(s))
    return sympy.Rational(c.numerator, c.denominator) + sympy.Rational(m.numerator, m.denominator) * inner


def _is_poly(expr, symbols) -> bool:
    try:
        return sympy.Poly(expr, *symbols) is not None and not expr.has(sympy.floor, sympy.ceiling)
    except sympy.PolynomialError:
        return False


# --------------------------------------------------------------------------- fitting dims


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


# --------------------------------------------------------------------------- the result


@dataclass
class SymbolicResult:
    """Totals and per-op-type costs as sympy formulas of :attr:`symbols`."""

    symbols: list[str]
    totals: dict[str, Any]
    by_op_type: list[tuple[str, str, dict[str, Any]]]
    nodes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (path, op_type, {metric: expr})
    fallback: dict[str, int] = field(default_factory=dict)
    fitted_nodes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    probes: list[dict[str, int]] = field(default_factory=list)
    dims: dict[str, int] = field(default_factory=dict)

    def at(self, values: Mapping[str, int]) -> dict[str, int]:
        """Every total evaluated at a point (must give every symbol)."""
        values = {**self.dims, **dict(values)}
        missing = [s for s in self.symbols if s not in values]
        if missing:
            raise UsageError(f"give a value for {', '.join(missing)}")
        return {m: evaluate(e, values) for m, e in self.totals.items()}

    def pretty(self, metric: str) -> str:
        return pretty(self.totals[metric])

    def __repr__(self) -> str:
        text = pretty(self.totals["flops"]) if "flops" in self.totals else ""
        if len(text) > 100:
            text = text[:99] + "…"
        return f"SymbolicResult(symbols={self.symbols[:6]!r}, flops={text!r})"

    def to_dict(self) -> dict:
        """Keys to merge into the profile JSON (``res.extras.update(...)``)."""
        approx = {m: "≈ " + pretty(smooth(e)) for m, e in self.totals.items() if _has_floor(e)}
        d: dict[str, Any] = {
            "totals_symbolic": {m: exact(e) for m, e in self.totals.items()},
            "by_op_type_symbolic": [
                {"domain": dom, "op_type": op, **{m: exact(e) for m, e in costs.items()}} for dom, op, costs in self.by_op_type
            ],
            "symbolic": {
                "symbols": list(self.symbols),
                "pretty": {m: pretty(e) for m, e in self.totals.items()},
                "trend": {m: trend(e) for m, e in self.totals.items()},
                "fallback": dict(self.fallback),
                "fitted_nodes": list(self.fitted_nodes),
                "probes": len(self.probes),
                "warnings": list(self.warnings),
            },
        }
        if approx:
            d["symbolic"]["approx"] = approx
        return d


# --------------------------------------------------------------------------- strings


def exact(expr: Any) -> str:
    """Exact string (sympy syntax, integer coefficients stay exact): ``"7668032*batch"``."""
    if isinstance(expr, (int, np.integer)):
        return str(int(expr))
    return str(sympy.expand(expr))


def smooth(expr: Any) -> Any:
    """The formula with every floor/ceiling replaced by its argument (the large-dim trend)."""
    if not isinstance(expr, sympy.Basic):
        return expr
    return sympy.expand(expr.replace(sympy.floor, lambda a: a).replace(sympy.ceiling, lambda a: a))


def _has_floor(expr: Any) -> bool:
    return isinstance(expr, sympy.Basic) and expr.has(sympy.floor, sympy.ceiling)


_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _num(c: Any, sig: bool) -> str:
    c = sympy.Rational(c) if not isinstance(c, sympy.Basic) else c
    if c.is_Integer and (not sig or abs(int(c)) < 100000):
        return str(int(c))
    if not sig and c.is_Rational:
        return f"{c.p}/{c.q}"
    s = f"{float(c):.3g}"
    if "e" in s:
        mant, _, exp_ = s.partition("e")
        s = f"{mant}e{int(exp_)}"
    return s


def _factor(b: Any, k: int) -> str:
    if isinstance(b, (sympy.floor, sympy.ceiling)):
        num, den = sympy.fraction(sympy.together(b.args[0]))
        num = sympy.expand(num)
        is_floor = isinstance(b, sympy.floor)
        c0, rest = num.as_coeff_Add()
        if is_floor and den.is_Integer and den > 1 and c0 == den - 1 and rest != 0:
            num, is_floor = rest, False  # floor((x + s - 1)/s) == ceil(x/s)
        inner = _pretty(num, sig=False)
        if den != 1:
            inner = (f"({inner})" if len(sympy.Add.make_args(num)) > 1 else inner) + f"/{den}"
        s = ("⌊" + inner + "⌋") if is_floor else ("⌈" + inner + "⌉")
    elif b.is_Symbol:
        s = b.name
    else:
        s = f"({_pretty(b, sig=False)})"
    return s + (str(k).translate(_SUP) if k != 1 else "")


def _at_ref(term: Any) -> float:
    """Size of a term with every symbol at ``REF_VALUE`` (orders terms: largest first)."""
    try:
        return float(_ev(term, {x: REF_VALUE for x in term.free_symbols}, {}))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return 0.0


def _degree(term: Any) -> int:
    _, rest = term.as_coeff_Mul()
    return sum(int(e) if e.is_Integer else 1 for _, e in rest.as_powers_dict().items()) if rest != 1 else 0


def _pretty(expr: Any, sig: bool = True) -> str:
    if not isinstance(expr, sympy.Basic):
        return _num(sympy.Rational(expr), sig)
    expr = sympy.expand(expr)
    if expr.is_Rational:
        return _num(expr, sig)
    terms = list(sympy.Add.make_args(expr))
    terms.sort(key=lambda t: (-_degree(t), -abs(_at_ref(t)), str(t)))
    parts = []
    for t in terms:
        c, rest = t.as_coeff_Mul()
        neg = c < 0
        c = -c if neg else c
        if rest == 1:
            body = _num(c, sig)
        else:
            factors = []
            for b, e in sorted(rest.as_powers_dict().items(), key=lambda be: str(be[0])):
                factors.append(_factor(b, int(e)) if e.is_Integer else f"{_factor(b, 1)}^{e}")
            body = "·".join(factors)
            if c != 1:
                body = _num(c, sig) + "·" + body
        parts.append(("-" if neg else "+", body))
    out = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    for sign, body in parts[1:]:
        out += f" {sign} {body}"
    return out


def pretty(expr: Any) -> str:
    """Human formula with exact coefficients (integers and rationals as they are), terms
    by degree: ``280·batch·seq² + 101592·batch·seq``, ``1/2·seq``, ``⌈height/32⌉``."""
    return _pretty(expr, sig=False)


def trend(expr: Any) -> str:
    """The growth of a formula: its leading monomials (highest total degree, floors and
    ceilings dropped, coefficients left out) in O-notation: ``O(batch·seq²)``; ``O(1)``
    for a constant."""
    e = smooth(expr)
    if not isinstance(e, sympy.Basic) or not e.free_symbols:
        return "O(1)"
    terms = [t for t in sympy.Add.make_args(sympy.expand(e)) if t.free_symbols]
    top = max(_degree(t) for t in terms)
    monos = []
    for t in terms:
        if _degree(t) == top:
            m = _pretty(t.as_coeff_Mul()[1], sig=False)
            if m not in monos:
                monos.append(m)
    return "O(" + " + ".join(sorted(monos)) + ")"


# --------------------------------------------------------------------------- probes


def _norm(input_shapes, dims):
    from ...profiler import _norm_dims, _norm_input_shapes

    return _norm_input_shapes(input_shapes), _norm_dims(dims)


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


def _input_dim_names(lm: LoadedModel) -> set[str]:
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


# --------------------------------------------------------------------------- the pass


def symbolic_profile(
    model: str | Path | onnx.ModelProto | LoadedModel,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    shape_source: str = "onnx",
) -> SymbolicResult:
    """Costs as formulas of the input dims not fixed by ``input_shapes``/``dims``.

    See the module docstring for the method.  ``dims`` may also give values for
    data-dependent dims (by name) and for dims that cannot stay symbolic (by the
    label ``"tensor[k]"`` the warning names).

    >>> import onnxstat
    >>> sym = onnxstat.symbolic("model.onnx", dims={"batch": 1})
    >>> sym.pretty("flops"), sym.at({"seq": 128})["flops"]
    """
    input_shapes, dims_all = _norm_shapes_and_dims(input_shapes, dims)
    lm = model if isinstance(model, LoadedModel) else load(model)
    from ...profiler import _check_opsets

    _check_opsets(lm)
    names = model_symbols(lm, input_shapes, dims_all)
    syms = [symbol(s) for s in names]
    warnings: list[str] = list(lm.warnings)
    if not names:
        warnings.append("no symbolic input dims left: every formula is a constant")

    # 1. probes
    probes, resolved, notes = _run_probes(lm, names, input_shapes, dims_all, shape_source)
    fitter, sym_shapes, bad_dims = _fit_rounds(lm, syms, probes, resolved, input_shapes, dims_all, shape_source, notes)
    warnings.extend(notes)
    sh0 = resolved[0]
    warnings.extend(sh0.warnings)

    # 2. fit every tensor dim
    fallback: dict[str, int] = {}
    for label in sh0.unresolved:
        fallback[label] = 1
    # values the user gave for dims that are not input dims (NonZero counts, ...)
    extra = {k: v for k, v in dims_all.items() if k not in _input_dim_names(lm)}
    if extra and names:
        base = {k: v for k, v in dims_all.items() if k not in extra}
        check = _resolve(lm, input_shapes, {**base, **probes[0]}, source=shape_source)
        used = [k for k in extra if k in check.unresolved]
        for k in used:
            fallback[k] = int(extra[k])
        warnings = [w for w in warnings if not any(w.startswith(f"--dim {k} matches no") for k in used)]
    for label, value in bad_dims.items():
        fallback[label] = value
    if bad_dims:
        shown = ", ".join(f"{k}={v}" for k, v in list(bad_dims.items())[:8])
        more = f" and {len(bad_dims) - 8} more" if len(bad_dims) > 8 else ""
        warnings.append(
            f"dims not expressible in {', '.join(names)} (not polynomial or floor-affine), not symbolic: "
            f"{shown}{more}; set them with --dim 'TENSOR[k]=VALUE'"
        )
    warnings = [w for w in warnings if not any(w.startswith(f"--dim {lab} matches no") for lab in bad_dims)]
    sym_shapes.values = sh0.values
    sym_shapes.dims = dict(sh0.dims)
    for s in names:
        sym_shapes.dims.pop(s, None)

    # 3. handler pass on formulas, checked against the concrete pass at every probe
    analyses = [Analyzer(lm, sh).run() for sh in resolved]
    concrete = [a.nodes for a in analyses]
    an = Analyzer(lm, sym_shapes).run()
    an0 = analyses[0]
    warnings.extend(an0.warnings)
    if an0.unsupported:
        listed = ", ".join(f"{d + '::' if d else ''}{o} ({c})" for (d, o), c in sorted(an0.unsupported.items()))
        warnings.append(f"unsupported ops, MACs/FLOPs not counted: {listed}")
    want_of = _matcher(an.nodes, concrete)
    env = [{s: p[s.name] for s in syms} for p in probes]
    memos: list[dict] = [{} for _ in probes]
    fitted: list[str] = []
    node_formulas: list[tuple[str, str, dict[str, Any], str]] = []
    for i, n in enumerate(an.nodes):
        costs = {m: _clean(getattr(n, m)) for m in METRICS}
        want, concrete_failed = want_of(i, n)
        if n.error and concrete_failed:  # the concrete pass cannot count it either (its warning says why)
            node_formulas.append((n.path, n.op_type, {m: want[m][0] for m in METRICS}, n.domain))
            continue
        ok = n.error is None
        if ok:
            try:
                ok = all(all(_ev(costs[m], e, memo) == w for e, memo, w in zip(env, memos, want[m])) for m in METRICS)
            except (TypeError, ValueError, ZeroDivisionError):
                ok = False
        if not ok:
            scope = _scope_of(n.path, sym_shapes)
            touches_bad = any(
                f"{scope + ':' if scope else ''}{name}[{k}]" in bad_dims
                for name, _dt, shape in list(n.inputs) + list(n.outputs)
                for k in range(len(shape or ()))
            )
            atoms = _node_atoms(n, scope, syms, resolved)
            new = {m: fitter.fit_cost(want[m], atoms) for m in METRICS}
            if all(v is not None for v in new.values()):
                costs = new
                fitted.append(n.path)
            else:
                missing = [m for m, v in new.items() if v is None]
                for m, v in new.items():
                    if v is not None:
                        costs[m] = v
                    elif n.error:
                        costs[m] = want[m][0]
                if n.error:
                    warnings.append(
                        f"node {n.path!r} ({n.op_type}): handler failed on symbolic dims ({n.error}) and "
                        f"{', '.join(missing)} fit no formula; the value at {probes[0]} is used"
                    )
                elif not touches_bad:
                    warnings.append(
                        f"node {n.path!r} ({n.op_type}): the handler's formula for {', '.join(missing)} disagrees "
                        f"with the concrete cost at the probes and no formula fits; the handler's formula is kept"
                    )
        node_formulas.append((n.path, n.op_type, costs, n.domain))

    # 4. sums
    totals = _sum_metrics([c for _, _, c, _ in node_formulas])
    groups: dict[tuple[str, str], list[dict]] = {}
    for _, op, c, dom in node_formulas:
        groups.setdefault((dom, op), []).append(c)
    ref = probes[len(probes) // 2] if probes else {}
    rows = [(dom, op, _sum_metrics(cs)) for (dom, op), cs in groups.items()]
    rows.sort(key=lambda r: (-float(evaluate(r[2]["flops"], ref)), -float(evaluate(r[2]["memory_traffic_bytes"], ref)), r[1]))
    # the totals must reproduce the concrete profile at every probe (unless dims fell back)
    off = sorted({
        m
        for p, nodes in zip(probes, concrete)
        for m in METRICS
        if evaluate(totals[m], p) != sum((getattr(x, m) for x in nodes), 0)
    }, key=METRICS.index)
    if off and not bad_dims:
        warnings.append(f"{', '.join(off)}: the formula differs from the concrete profile at some probes")
    return SymbolicResult(
        symbols=names,
        totals=totals,
        by_op_type=rows,
        nodes=[(p_, op, c) for p_, op, c, _ in node_formulas],
        fallback=fallback,
        fitted_nodes=fitted,
        warnings=unique(warnings),
        probes=probes,
        dims={k: v for k, v in dims_all.items()},
    )


def _norm_shapes_and_dims(input_shapes, dims):
    return _norm(input_shapes, dims)




def _clean(v: Any) -> Any:
    if isinstance(v, sympy.Basic):
        v = sympy.expand(v)
        return int(v) if v.is_Integer else v
    return int(v) if isinstance(v, (int, np.integer)) else v


def _sum_metrics(costs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in METRICS:
        ints = sum(c[m] for c in costs if isinstance(c[m], int))
        exprs = [c[m] for c in costs if not isinstance(c[m], int)]
        out[m] = _clean(sympy.Add(*exprs) + ints) if exprs else ints
    out["memory_traffic_bytes"] = _clean(sympy.Integer(0) + out["bytes_read"] + out["bytes_written"])
    return out


def _resolve(lm, input_shapes, dims, source: str = "onnx") -> Shapes:
    """Shapes at one probe; data-dependent sizes the caller did not give (a NonZero
    count) are taken as 1 and stay listed in ``unresolved`` as the fallback."""
    sh = resolve(lm, input_shapes, dims, source=source)
    inputs = _input_dim_names(lm)
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


def _scope_of(path: str, shapes: Shapes) -> str:
    """The graph scope a node path lives in (the longest scope path that prefixes it)."""
    best = ""
    for sp in shapes.scopes:
        if sp and path.startswith(sp + "/") and len(sp) > len(best):
            best = sp
    return best


def _matcher(sym_nodes: Sequence[NodeCost], concrete: Sequence[Sequence[NodeCost]]):
    """want(i, node) -> {metric: [value at each probe]} (by position when the node lists agree, else by path)."""
    paths = [n.path for n in sym_nodes]
    by_pos = [[n.path for n in c] == paths for c in concrete]
    by_path = [{n.path: n for n in c} for c in concrete]

    def want(i: int, n: NodeCost) -> tuple[dict[str, list[int]], bool]:
        picked = [c[i] if pos else bp.get(n.path) for c, pos, bp in zip(concrete, by_pos, by_path)]
        vals = {m: [int(getattr(x, m)) if x is not None else 0 for x in picked] for m in METRICS}
        return vals, all(x is not None and x.error for x in picked)

    return want


def _node_atoms(n: NodeCost, scope: str, syms, resolved) -> list[tuple[Any, tuple]]:
    """Non-polynomial dims of a node's tensors with their values at the probes (for cost fits)."""
    atoms = []
    for name, _dt, shape in list(n.inputs) + list(n.outputs):
        for k, e in enumerate(shape or ()):
            if not isinstance(e, sympy.Basic) or _is_poly(e, syms):
                continue
            vals = []
            for sh in resolved:
                vt = sh.lookup(scope, name)
                if vt is None or vt.shape is None or k >= len(vt.shape) or not isinstance(vt.shape[k], (int, np.integer)):
                    break
                vals.append(int(vt.shape[k]))
            if len(vals) == len(resolved):
                atoms.append((e, tuple(vals)))
    return atoms


# --------------------------------------------------------------------------- renderers


def symbolic_lines(res: SymbolicResult, metrics: Sequence[str] = ("macs", "flops", "params", "weight_bytes", "memory_traffic_bytes")) -> list[str]:
    """``MACs = 7668032·batch`` lines (with the smooth trend when a formula has floors)."""
    out = []
    for m in metrics:
        e = res.totals[m]
        line = f"{LABELS[m]} = {pretty(e)}"
        if _has_floor(e):
            line += f"   (≈ {pretty(smooth(e))})"
        out.append(line)
    return out


def print_symbolic(res: SymbolicResult, console=None, top: int | None = None) -> None:
    """Terminal view: totals as formulas, then MACs/FLOPs/traffic formulas per op type."""
    from rich.table import Table

    from ...render.formats import terminal_console

    console = console or terminal_console()
    syms = ", ".join(res.symbols) or "none"
    t = Table(title=f"Costs as formulas of {syms} (exact)", show_lines=False)
    t.add_column("Metric", no_wrap=True)
    t.add_column("Trend", no_wrap=True)
    t.add_column("Formula", overflow="fold")
    for m in TOTAL_METRICS:
        e = res.totals[m]
        formula = pretty(e) + (f"  (≈ {pretty(smooth(e))})" if _has_floor(e) else "")
        t.add_row(LABELS[m], trend(e), formula)
    console.print(t)
    rows = res.by_op_type[:top] if top else res.by_op_type
    t2 = Table(title="Per op type")
    for h in ("Op type", "MACs", "FLOPs", "Memory traffic"):
        t2.add_column(h)
    for dom, op, c in rows:
        t2.add_row(f"{dom + '::' if dom else ''}{op}", pretty(c["macs"]), pretty(c["flops"]), pretty(c["memory_traffic_bytes"]))
    console.print(t2)
    if res.fallback:
        console.print("Not symbolic (value used): " + ", ".join(f"{k}={v}" for k, v in res.fallback.items()))


def symbolic_markdown(res: SymbolicResult, top: int | None = None) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [f"## Costs as formulas of {', '.join(res.symbols) or 'no symbols'}", "",
             "| Metric | Trend | Formula | sympy |", "|---|---|---|---|"]
    for m in TOTAL_METRICS:
        e = res.totals[m]
        lines.append(f"| {LABELS[m]} | {esc(trend(e))} | {esc(pretty(e))} | `{esc(exact(e))}` |")
    lines += ["", "| Op type | MACs | FLOPs | Memory traffic |", "|---|---|---|---|"]
    for dom, op, c in (res.by_op_type[:top] if top else res.by_op_type):
        lines.append(
            f"| {esc((dom + '::' if dom else '') + op)} | {esc(pretty(c['macs']))} | {esc(pretty(c['flops']))} | "
            f"{esc(pretty(c['memory_traffic_bytes']))} |"
        )
    if res.fallback:
        lines += ["", "Not symbolic (value used): " + ", ".join(f"`{k}`={v}" for k, v in res.fallback.items())]
    return "\n".join(lines) + "\n"


__all__ = [
    "SymbolicResult",
    "symbolic_profile",
    "evaluate",
    "exact",
    "pretty",
    "trend",
    "smooth",
    "symbol",
    "symbolic_lines",
    "print_symbolic",
    "symbolic_markdown",
    "model_symbols",
    "probe_points",
]


from ..._callable import make_callable  # noqa: E402

make_callable(__name__, "symbolic_profile")
