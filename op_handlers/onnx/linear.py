"""Dense linear algebra: Gemm, MatMul, Einsum."""

from __future__ import annotations

from ..base import Cost, NodeContext, ShapeUnknown, prod
from ..registry import register


def matmul_macs(ctx: NodeContext, a: int = 0, y: int = 0):
    """MACs of a (batched, broadcast) MatMul = numel(Y) · K, K = last dim of A.

    Covers the 1-D cases too: A of shape (K,) gives Y without the M axis, B of
    shape (K,) gives Y without the N axis; in both every output element is a dot
    product of length K.
    """
    return ctx.out_numel(y) * ctx.in_shape(a)[-1]


def gemm_dims(ctx: NodeContext, a: int = 0, b: int = 1):
    """(M, K, N) of a Gemm honouring transA / transB."""
    sa, sb = ctx.in_shape(a), ctx.in_shape(b)
    m, k = (sa[1], sa[0]) if ctx.attr("transA", 0) else (sa[0], sa[1])
    n = sb[0] if ctx.attr("transB", 0) else sb[1]
    return m, k, n


def gemm_epilogue_flops(ctx: NodeContext, m, n, c_index: int = 2):
    """Elementwise work after the product: alpha scaling and beta·C addition."""
    mn = m * n
    flops = 0
    if ctx.attr("alpha", 1.0) != 1.0:
        flops += mn
    if ctx.has_input(c_index) and ctx.attr("beta", 1.0) != 0.0:
        flops += mn  # + C
        if ctx.attr("beta", 1.0) != 1.0:
            flops += mn  # beta · C
    return flops


@register("Gemm", formula="MACs = M·N·K; FLOPs = 2·MACs + M·N per alpha≠1, per C, per beta∉{0,1}")
def gemm(ctx: NodeContext) -> Cost:
    m, k, n = gemm_dims(ctx)
    macs = m * n * k
    return ctx.cost(macs, 2 * macs + gemm_epilogue_flops(ctx, m, n), weights=(0, 1, 2))


@register("MatMul", formula="MACs = numel(Y)·K (K = last dim of A, batch dims broadcast); FLOPs = 2·MACs")
def matmul(ctx: NodeContext) -> Cost:
    macs = matmul_macs(ctx)
    return ctx.cost(macs, 2 * macs, weights=(0, 1))


def _einsum_terms(equation: str, n_inputs: int):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs, rhs = eq, None
    terms = lhs.split(",")
    if len(terms) != n_inputs:
        raise ShapeUnknown(f"Einsum equation {equation!r} names {len(terms)} operands, node has {n_inputs}")
    return terms, rhs


def einsum_macs(ctx: NodeContext):
    """Pairwise left-to-right contraction; each step costs prod(sizes of all letters involved).

    Ellipsis dims are aligned from the right, as numpy broadcasting does.
    """
    operands = ctx.present_inputs
    terms, rhs = _einsum_terms(ctx.attr("equation", ""), len(operands))
    sizes: dict[str, object] = {}
    named: list[list[str]] = []
    for t, info in zip(terms, operands):
        if info.shape is None:
            raise ShapeUnknown(f"Einsum operand {info.name} has no known shape")
        if "..." in t:
            head, tail = t.split("...")
            n_ell = len(info.shape) - len(head) - len(tail)
            names = list(head) + [f"…{n_ell - i}" for i in range(n_ell)] + list(tail)
        else:
            names = list(t)
        for name, d in zip(names, info.shape):
            if name not in sizes or sizes[name] == 1:
                sizes[name] = d
        named.append(names)
    if len(named) == 1:
        return 0
    if rhs is None:  # implicit output: letters that appear once, plus the ellipsis
        counts: dict[str, int] = {}
        for names in named:
            for c in names:
                counts[c] = counts.get(c, 0) + 1
        out = {c for c, n in counts.items() if n == 1 or c.startswith("…")}
    else:
        out = set(rhs.replace("...", "")) | {c for c in sizes if c.startswith("…")}
    macs = 0
    cur = set(named[0])
    for i in range(1, len(named)):
        involved = cur | set(named[i])
        macs = macs + prod(sizes[c] for c in sorted(involved))
        later = set().union(*named[i + 1:]) if i + 1 < len(named) else set()
        cur = {c for c in involved if c in later or c in out}
    return macs


@register("Einsum", since_version=12, formula="pairwise left to right: MACs = Σ prod(sizes of the letters in each pair); 1 operand: FLOPs = numel(X)")
def einsum(ctx: NodeContext) -> Cost:
    macs = einsum_macs(ctx)
    if macs == 0:  # single operand: a sum / trace / transpose
        return ctx.cost(0, ctx.in_numel(0), weights=None)
    return ctx.cost(macs, 2 * macs, weights=None)
