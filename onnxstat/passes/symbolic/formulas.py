"""Formulas as text: exact (sympy syntax, the JSON contract), pretty (terminal and
Markdown), the trend in O-notation, and the smooth approximation (floors dropped).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from .algebra import _ev

#: terms of a pretty formula of the same degree are ordered by their size at this value
REF_VALUE = 1024


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
