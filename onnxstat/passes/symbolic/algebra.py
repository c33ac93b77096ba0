"""Exact arithmetic of the symbolic pass: formulas evaluated exactly, rational linear
solves, and the fits of one value vector (one value per probe) that the dim and cost
fitters (:mod:`.fitting`) try: polynomials with rational coefficients and affine floors
``c + m*floor((a*u + b)/s)``.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np
import sympy

from ...errors import UsageError

#: a fit must have at least this many probes more than it has unknowns
CHECK_MARGIN = 6
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
