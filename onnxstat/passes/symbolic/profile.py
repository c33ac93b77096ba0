"""The symbolic pass: :func:`symbolic_profile` runs the steps of the method described in
:mod:`onnxstat.passes.symbolic` (probes, fitted shapes, the handler pass on formulas
checked against the concrete pass, sums) and returns a :class:`SymbolicResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import onnx
import sympy

from ...errors import UsageError
from ...model.loader import LoadedModel, load
from ...result import METRIC_LABELS, unique
from ...shapes.resolve import Shapes
from ..analysis import Analyzer, NodeCost
from .algebra import _ev, _is_poly, evaluate, symbol
from .fitting import _fit_rounds
from .formulas import _has_floor, exact, pretty, smooth, trend
from .probes import _norm, _resolve, _run_probes, input_dim_names, model_symbols

#: the per-node and total metrics that get formulas (memory traffic = read + written)
METRICS = ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written")
TOTAL_METRICS = METRICS + ("memory_traffic_bytes",)
LABELS = METRIC_LABELS


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


def symbolic_profile(
    model: str | Path | onnx.ModelProto | LoadedModel,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    shape_source: str = "onnx",
) -> SymbolicResult:
    """Costs as formulas of the input dims not fixed by ``input_shapes``/``dims``.

    See the docstring of :mod:`onnxstat.passes.symbolic` for the method.  ``dims`` may
    also give values for data-dependent dims (by name) and for dims that cannot stay
    symbolic (by the label ``"tensor[k]"`` the warning names).

    >>> import onnxstat
    >>> sym = onnxstat.symbolic("model.onnx", dims={"batch": 1})
    >>> sym.pretty("flops"), sym.at({"seq": 128})["flops"]
    """
    input_shapes, dims_all = _norm_shapes_and_dims(input_shapes, dims)
    lm = model if isinstance(model, LoadedModel) else load(model)
    from ...profiler import check_opsets

    check_opsets(lm)
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

    # 2. fit every tensor dim (done above); the dims that are not symbolic get values
    fallback, warnings = _fallback(lm, names, probes, sh0, bad_dims, input_shapes, dims_all, shape_source, warnings)
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
    node_formulas, fitted = _node_formulas(an.nodes, concrete, syms, probes, resolved, sym_shapes, fitter, bad_dims, warnings)

    # 4. sums
    return _summed(names, node_formulas, probes, concrete, bad_dims, fallback, fitted, warnings, dims_all)


def _fallback(lm, names, probes, sh0, bad_dims, input_shapes, dims_all, shape_source, warnings):
    """Values of the dims that are not symbolic (data-dependent sizes: 1 unless ``dims``
    gives one; dims that fit no formula), and the warnings with those that name them."""
    fallback: dict[str, int] = {}
    for label in sh0.unresolved:
        fallback[label] = 1
    # values the user gave for dims that are not input dims (NonZero counts, ...)
    extra = {k: v for k, v in dims_all.items() if k not in input_dim_names(lm)}
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
    return fallback, warnings


def _node_formulas(nodes, concrete, syms, probes, resolved, sym_shapes, fitter, bad_dims, warnings):
    """(path, op_type, {metric: formula}, domain) of every node, each checked against the
    concrete costs at every probe; and the paths of the nodes whose costs were fitted."""
    want_of = _matcher(nodes, concrete)
    env = [{s: p[s.name] for s in syms} for p in probes]
    memos: list[dict] = [{} for _ in probes]
    fitted: list[str] = []
    node_formulas: list[tuple[str, str, dict[str, Any], str]] = []
    for i, n in enumerate(nodes):
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
            costs = _refit_node(n, costs, want, syms, probes, resolved, sym_shapes, fitter, bad_dims, fitted, warnings)
        node_formulas.append((n.path, n.op_type, costs, n.domain))
    return node_formulas, fitted


def _refit_node(n, costs, want, syms, probes, resolved, sym_shapes, fitter, bad_dims, fitted, warnings):
    """Costs of a node whose handler failed on formulas or disagrees with the concrete costs
    ``want``: fitted from those (the node joins ``fitted``); where no formula fits, the
    handler's formula (or, when it failed, the value at the first probe) with a warning."""
    scope = _scope_of(n.path, sym_shapes)
    touches_bad = any(
        f"{scope + ':' if scope else ''}{name}[{k}]" in bad_dims
        for name, _dt, shape in list(n.inputs) + list(n.outputs)
        for k in range(len(shape or ()))
    )
    atoms = _node_atoms(n, scope, syms, resolved)
    new = {m: fitter.fit_cost(want[m], atoms) for m in METRICS}
    if all(v is not None for v in new.values()):
        fitted.append(n.path)
        return new
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
    return costs


def _summed(names, node_formulas, probes, concrete, bad_dims, fallback, fitted, warnings, dims_all) -> SymbolicResult:
    """The result: totals and per-op-type sums of the node formulas (rows by FLOPs, then
    traffic, at the middle probe), the totals checked against the concrete profiles."""
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
