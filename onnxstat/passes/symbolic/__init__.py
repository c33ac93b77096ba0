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

Modules: :mod:`.probes` (symbols, probe points, shapes at each probe), :mod:`.algebra`
(exact evaluation, rational solves, polynomial and affine-floor fits), :mod:`.fitting`
(tensor dims and node costs as formulas), :mod:`.profile` (the pass and
:class:`SymbolicResult`), :mod:`.formulas` (exact, pretty and trend strings) and
:mod:`.render` (terminal and Markdown views).
"""

from __future__ import annotations

# ruff: noqa: F401  (the names of the modules below, importable from here as before the split)
from ..._callable import make_callable
from .algebra import (
    CHECK_MARGIN,
    MAX_NUMER,
    MAX_STRIDE,
    MAX_STRIDE_A1,
    _floor_candidates,
    _floor_expr,
    _poly_fit,
    _solve,
    evaluate,
    symbol,
)
from .fitting import _DimFitter
from .formulas import REF_VALUE, exact, pretty, smooth, trend
from .probes import (
    ALIGN,
    FIRST_PROBES,
    MAX_PROBES,
    POOL,
    PROBE_HI,
    PROBE_LO,
    SEED,
    input_dim_names,
    model_symbols,
    n_probes,
    probe_points,
)
from .profile import LABELS, METRICS, TOTAL_METRICS, SymbolicResult, symbolic_profile
from .render import print_symbolic, symbolic_lines, symbolic_markdown

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

make_callable(__name__, "symbolic_profile")
