"""Which ONNX nodes each onnxruntime kernel executes, and where each kernel sits under the roof.

onnxruntime's graph optimiser replaces groups of nodes by fused kernels
(BiasGelu for Add + Gelu, FusedConv for Conv + activation, FusedMatMul for
MatMul + scale, the NCHWc convolutions, …) whose names often say nothing of the
nodes they replace.  The session writes the graph it runs
(``SessionOptions.optimized_model_filepath``), and the profiler names each kernel
after a node of that graph.  :func:`fused_sources` maps every node of the
optimised graph back to the original nodes it executes, by tensors:

* an *anchor* is a tensor name present in both graphs (graph inputs, initializers
  and every intermediate the optimiser kept);
* optimised nodes joined by non-anchor tensors form one *region*.  NCHWc kernels
  are named after the original tensor they compute (``relu1_out_nchwc`` computes
  ``relu1_out`` in blocked layout): their outputs count as that tensor;
* the original nodes a region executes are found by walking the original graph
  backwards from the anchors the region produces, stopping at anchors (whatever
  the optimised graph still has is computed elsewhere).  Nodes the optimiser
  removed (Identity, a Div folded into FusedMatMul, a common subexpression) are
  thereby attributed to the kernel that now does their work;
* inside a region the original nodes go to one kernel: the one named like one of
  them, else the one whose op type is theirs (``FusedConv`` for ``Conv``), else
  the first that is not a layout or copy kernel.  Kernels onnxruntime adds
  (ReorderInput/ReorderOutput, Memcpy) claim nodes last, so a node goes to the
  kernel doing its work; left without nodes, they are "unmatched".

:func:`kernel_roofline` then gives every kernel its measured time, the FLOPs and
bytes of its source nodes (for a fused kernel the bytes are those of
the tensors crossing the group's boundary, read or written once each: the
intermediates of a fused kernel stay in registers or cache; never more than the
unfused nodes' traffic), achieved FLOP/s and bytes/s and, with a device, its
efficiency against the roof at its intensity.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import onnx

#: kernels onnxruntime adds to change layout or copy memory: never the main kernel of a region
#: kernels that only onnxruntime adds: they execute no original node when another kernel can
ADDED_OPS = frozenset({"ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost"})
NCHWC_SUFFIX = "_nchwc"
LAYOUT_OPS = frozenset({"ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost", "Transpose", "Cast",
                        "Reshape", "Squeeze", "Unsqueeze"})


def _ort_names(graph: onnx.GraphProto) -> list[str | None]:
    """onnxruntime's name of every node (None for Constant nodes, which become initializers)."""
    out: list[str | None] = []
    k = 0
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            out.append(None)
            continue
        out.append(n.name or f"{n.op_type}_{k}")
        k += 1
    return out


def _strip(op: str) -> str:
    return op[len("Fused"):] if op.startswith("Fused") else op


def fused_sources(original: onnx.ModelProto, optimized: onnx.ModelProto) -> dict[str, list[str]]:
    """Name of every node of ``optimized``'s main graph -> static paths of the original nodes it executes.

    Paths are :func:`onnxstat.model.graph.node_label` of the original main graph (the
    static profile's node paths).  A node mapped to ``[]`` executes no original
    node (a layout change or copy the optimiser added).  Subgraphs are not walked.
    """
    from ..model.graph import node_label

    g = original.graph
    prod = _producers(g.node)
    orig_tensors = set(prod) | {x.name for x in g.input} | {t.name for t in g.initializer}
    labels = [node_label(n, i) for i, n in enumerate(g.node)]
    ort_names = _ort_names(g)

    opt_nodes = list(optimized.graph.node)
    anchors, alias = _anchors(optimized.graph, orig_tensors, prod)
    stops = anchors | set(alias.values())  # original tensors computed by some kernel
    regions = _regions(opt_nodes, anchors | set(alias))  # anchors and aliases: tensors between regions

    claimed: set[int] = set()
    out: dict[str, list[str]] = {}
    # regions of kernels onnxruntime adds (reorders, copies) last: the kernel doing the work claims first
    order = sorted(regions, key=lambda m: any(opt_nodes[j].op_type in ADDED_OPS for j in m))
    for members in order:
        outs = [o if o in anchors else alias.get(o) for j in members for o in opt_nodes[j].output]
        found = _claim([prod[o] for o in outs if o in prod], g.node, prod, stops, claimed)
        found = sorted(i for i in found if ort_names[i] is not None)  # Constant nodes: initializers, no work
        for j in members:
            out.setdefault(opt_nodes[j].name, [])
        if not found:
            continue
        main = _main_kernel([opt_nodes[j] for j in members], [g.node[i] for i in found],
                            [ort_names[i] for i in found])
        out[main.name] = [labels[i] for i in found]
    return out


def _producers(nodes: Iterable[onnx.NodeProto]) -> dict[str, int]:
    """Tensor name -> index of the node that outputs it."""
    prod: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            if o:
                prod[o] = i
    return prod


def _anchors(og: onnx.GraphProto, orig_tensors: set[str], prod: Mapping[str, int]) -> tuple[set[str], dict[str, str]]:
    """(anchors: tensors both graphs have, alias: output of an NCHWc kernel -> the original tensor
    it computes in blocked layout)."""
    opt_nodes = list(og.node)
    opt_tensors = {x.name for x in og.input} | {t.name for t in og.initializer} | {o.name for o in og.output}
    for n in opt_nodes:
        opt_tensors.update(x for x in n.input if x)
        opt_tensors.update(x for x in n.output if x)
    anchors = opt_tensors & orig_tensors
    # NCHWc kernels are named after the original tensor they compute in blocked layout
    alias = {n.output[0]: n.name[: -len(NCHWC_SUFFIX)] for n in opt_nodes
             if n.name.endswith(NCHWC_SUFFIX) and n.name[: -len(NCHWC_SUFFIX)] in prod and len(n.output) == 1
             and n.output[0] not in anchors}
    return anchors, alias


def _regions(opt_nodes: Sequence[onnx.NodeProto], splits: set[str]) -> list[list[int]]:
    """Optimised nodes joined by tensors not in ``splits`` (tensors the original graph does not
    have), as lists of node indices."""
    parent = list(range(len(opt_nodes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    opt_prod = _producers(opt_nodes)
    for j, n in enumerate(opt_nodes):
        for x in n.input:
            if x and x not in splits and x in opt_prod:
                a, b = find(j), find(opt_prod[x])
                if a != b:
                    parent[a] = b
    regions: dict[int, list[int]] = {}
    for j in range(len(opt_nodes)):
        regions.setdefault(find(j), []).append(j)
    return list(regions.values())


def _claim(stack: list[int], nodes: Sequence[onnx.NodeProto], prod: Mapping[str, int], stops: set[str],
           claimed: set[int]) -> list[int]:
    """Original nodes reached walking backwards from ``stack`` without crossing ``stops`` or a node
    already ``claimed`` (by another region); they are claimed."""
    found: list[int] = []
    while stack:
        i = stack.pop()
        if i in claimed:
            continue
        claimed.add(i)
        found.append(i)
        for x in nodes[i].input:
            if x and x not in stops and x in prod:
                stack.append(prod[x])
    return found


def _main_kernel(kernels: Sequence[onnx.NodeProto], sources: Sequence[onnx.NodeProto],
                 source_names: Sequence[str | None]) -> onnx.NodeProto:
    if len(kernels) == 1:
        return kernels[0]
    names = {s for s in source_names if s}
    for k in kernels:
        if k.name in names or any(k.name.startswith(s + "/") for s in names):
            return k
    ops = {s.op_type for s in sources}
    for k in kernels:
        if k.op_type in ops or _strip(k.op_type) in ops:
            return k
    for k in kernels:
        if k.op_type not in LAYOUT_OPS:
            return k
    return kernels[0]


def tensor_consumers(static_nodes: Iterable[Any]) -> dict[str, set[str]]:
    """Tensor name -> paths of the static nodes that read it."""
    out: dict[str, set[str]] = {}
    for n in static_nodes:
        for name, _dt, _shape in n.inputs:
            if name:
                out.setdefault(name, set()).add(n.path)
    return out


def group_traffic(group: Sequence[Any], consumers: Mapping[str, set[str]], graph_outputs: Iterable[str]) -> int | None:
    """Bytes one kernel executing the static nodes ``group`` moves: every tensor it takes from
    outside read once, every tensor it gives to a node outside (or a graph output) written
    once; the intermediates stay inside the kernel.  None when a size is not known."""
    from ..passes.memory import tensor_bytes

    outs = set(graph_outputs)
    produced = {name for n in group for name, _d, _s in n.outputs if name}
    paths = {n.path for n in group}
    seen: set[str] = set()
    total = 0
    for n in group:
        for name, dtype, shape in n.inputs:
            if not name or name in produced or name in seen:
                continue
            seen.add(name)
            b = tensor_bytes(dtype, shape)
            if b is None:
                return None
            total += b
        for name, dtype, shape in n.outputs:
            if name and (name in outs or any(c not in paths for c in consumers.get(name, ()))):
                b = tensor_bytes(dtype, shape)
                if b is None:
                    return None
                total += b
    return total


def load_optimized(path: str) -> onnx.ModelProto | None:
    """The model onnxruntime wrote, or None when it wrote none (or cannot be read)."""
    import os

    try:
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return None
        return onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001 - a missing optimised model only means name-based matching
        return None


# --------------------------------------------------------------------------- measured roofline


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v


def kernel_roofline(rows: Iterable[dict], static_by_path: Mapping[str, Any], device=None) -> list[str]:
    """Add the measured roofline fields to per-kernel rows (in place); returns warnings.

    Every row gets ``measured_time_s`` (mean per run), ``intensity`` (FLOPs /
    bytes of its source nodes), ``achieved_flops_per_s`` and ``achieved_bytes_per_s``.
    With ``device``: ``roofline_precision``, ``attainable_flops_per_s`` (the roof at
    the kernel's intensity: min(peak, intensity x bandwidth)) and
    ``roofline_efficiency`` = achieved / attainable (a fraction; 1.0 = on the roof).
    The bandwidth of the roof (``roofline_bandwidth_bytes_per_s``) is the device's
    memory bandwidth, or for a measured host the bandwidth of the smallest measured
    cache level that holds the kernel's bytes (:meth:`Device.bandwidth_at`): a kernel
    whose data stays in cache is held to the cache's roof, not to DRAM's.
    A kernel whose sources do no arithmetic (data movement) is measured against the
    bandwidth: achieved bytes/s / bandwidth.
    """
    from ..passes.roofline import precision_of

    above = []
    for r in rows:
        t = r["mean_ms"] / 1e3
        flops, nbytes = _num(r.get("flops")), _num(r.get("bytes"))
        r["measured_time_s"] = t
        r["intensity"] = flops / nbytes if flops is not None and nbytes else None
        r["achieved_flops_per_s"] = flops / t if flops is not None and t > 0 else None
        r["achieved_bytes_per_s"] = nbytes / t if nbytes is not None and t > 0 else None
        if device is None:
            continue
        r["roofline_precision"] = None
        r["attainable_flops_per_s"] = None
        r["roofline_efficiency"] = None
        if r.get("includes_subgraphs") or flops is None or nbytes is None or t <= 0:
            continue
        srcs = [static_by_path[p] for p in (r.get("source_nodes") or ([r["node"]] if r.get("node") else []))
                if p in static_by_path]
        main = max(srcs, key=lambda n: _num(n.flops) or 0.0, default=None)
        prec = precision_of(main.compute_dtype)[0] if main is not None else None
        bw = device.bandwidth_at(nbytes)  # a cache level's bandwidth when the kernel's bytes fit there
        r["roofline_bandwidth_bytes_per_s"] = bw
        if prec is None or not flops:
            if nbytes > 0:
                r["roofline_efficiency"] = (nbytes / t) / bw
        else:
            peak, used = device.peak_for(prec)
            attainable = min(peak, r["intensity"] * bw) if r["intensity"] else peak
            r["roofline_precision"] = used
            r["attainable_flops_per_s"] = attainable
            r["roofline_efficiency"] = (flops / t) / attainable
        if r["roofline_efficiency"] is not None and r["roofline_efficiency"] > 1.0:
            above.append(r)
    warnings = []
    if above:
        shown = ", ".join(f"{r['name']} ({100 * r['roofline_efficiency']:.0f}%)" for r in
                          sorted(above, key=lambda r: -r["roofline_efficiency"])[:5])
        more = f" and {len(above) - 5} more" if len(above) > 5 else ""
        warnings.append(
            f"{len(above)} kernel(s) run above the {device.name} roof: {shown}{more}. No measurement can beat a "
            "correct roof: the device's peaks or bandwidths understate this machine (a preset for other "
            "hardware, or a measurement taken while the machine was busy); read their efficiency as relative only"
        )
    return warnings


def unmatched_kernels(rows: Iterable[dict]) -> list[dict]:
    """Kernels that execute no original node: name, op type, mean time per run in seconds."""
    return [{"name": r["name"], "op_type": r["op_type"], "time_s": r["mean_ms"] / 1e3}
            for r in rows if r.get("status") == "fused/unmatched"]


def kernel_summary(rows: Sequence[Mapping[str, Any]], top: int = 3) -> str | None:
    """One line on per-kernel rows: counts by status and the slowest kernels with their roof %."""
    rows = [r for r in rows if not r.get("includes_subgraphs")]
    if not rows:
        return None
    fused = sum(1 for r in rows if r.get("status") == "fused")
    unmatched = sum(1 for r in rows if r.get("status") == "fused/unmatched")
    slow = []
    for r in sorted(rows, key=lambda r: -r["mean_ms"])[:top]:
        eff = r.get("roofline_efficiency")
        slow.append(f"{r['name']} {r['mean_ms']:.3f} ms" + (f" ({100 * eff:.0f}% of roof)" if eff is not None else ""))
    return f"{len(rows)} kernels ({fused} fused, {unmatched} unmatched); slowest: " + ", ".join(slow)


__all__ = ["fused_sources", "kernel_summary", "group_traffic", "tensor_consumers", "kernel_roofline", "load_optimized", "unmatched_kernels", "LAYOUT_OPS"]
