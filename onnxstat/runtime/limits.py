"""Budgets checked before anything is allocated or run.

A model or a command line can ask for a tensor of a terabyte or a Loop of 10^18
iterations; both are refused here, before numpy allocates or onnxruntime runs,
with one line naming the tensor (or node) and its size:

* **memory**: a generated input, or any tensor whose shape is known before an
  onnxruntime session is created, larger than ``max_tensor_bytes``
  (``--max-tensor-bytes``; default: a quarter of the memory this process may
  use: the machine's RAM, lowered by a cgroup limit and by ``RLIMIT_AS``);
* **time**: a Loop whose trip count (a constant, or ``M`` folded from the
  shapes) times the node runs of its body exceeds :data:`MAX_LOOP_WORK`, or a
  Loop with neither a trip count nor a condition (it never ends), is not run
  by ``bench`` or ``--shape-source ort`` unless ``--force`` is given.  Static
  counting (``profile``) never runs a model and is not limited.

The settings are per process: the command line sets them once
(:func:`configure`); library callers may do the same.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterable, Mapping

from ..errors import UsageError

#: node runs (trip count x nodes of the body, nested loops multiplied) a Loop may take
MAX_LOOP_WORK = 10**8
#: nodes a model may have (all graphs and functions); the largest exported models have ~10^5
MAX_NODES = 1_000_000
#: the default memory budget is this fraction of the memory available to the process
DEFAULT_FRACTION = 4

_DEFAULTS: dict[str, Any] = {"max_tensor_bytes": None, "force": False, "max_nodes": MAX_NODES}
#: settings travel to worker processes (``profile -j N`` starts them with ``spawn``) in this variable
_ENV = "ONNXSTAT_LIMITS"


def _from_env() -> dict[str, Any]:
    out = dict(_DEFAULTS)
    try:
        given = json.loads(os.environ.get(_ENV, "{}"))
    except ValueError:
        return out
    if isinstance(given, dict):
        out.update((k, v) for k, v in given.items() if k in out and isinstance(v, (int, bool, type(None))))
    return out


_settings: dict[str, Any] = _from_env()


def _publish() -> None:
    changed = {k: v for k, v in _settings.items() if v != _DEFAULTS[k]}
    if changed:
        os.environ[_ENV] = json.dumps(changed)
    else:
        os.environ.pop(_ENV, None)


class BudgetError(UsageError):
    """A declared or derived size or a trip count is over a budget (exit code 2)."""


def configure(*, max_tensor_bytes: int | None = None, force: bool | None = None, max_nodes: int | None = None) -> None:
    """Set the budgets for this process (None leaves a setting as it is)."""
    if max_nodes is not None:
        if not isinstance(max_nodes, int) or max_nodes < 1:
            raise UsageError(f"max_nodes must be a positive integer, got {max_nodes!r}")
        _settings["max_nodes"] = max_nodes
    if max_tensor_bytes is not None:
        if not isinstance(max_tensor_bytes, int) or max_tensor_bytes < 1:
            raise UsageError(f"max_tensor_bytes must be a positive integer, got {max_tensor_bytes!r}")
        _settings["max_tensor_bytes"] = max_tensor_bytes
    if force is not None:
        _settings["force"] = bool(force)
    _publish()


def reset() -> None:
    """Back to the defaults (tests)."""
    _settings.update(_DEFAULTS)
    _publish()


def available_memory() -> int:
    """Bytes this process may use: physical RAM, lowered by a cgroup limit and RLIMIT_AS."""
    candidates = []
    try:
        candidates.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 2**60:
            candidates.append(int(text))
        break
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            candidates.append(soft)
    except (ImportError, ValueError, OSError):
        pass
    return min(candidates) if candidates else 8 * 2**30


def max_tensor_bytes() -> int:
    """The memory budget of one tensor, in bytes."""
    v = _settings["max_tensor_bytes"]
    return v if v is not None else max(available_memory() // DEFAULT_FRACTION, 1)


def max_nodes() -> int:
    """The most nodes a model may have (counted while the file is read, before parsing)."""
    return int(_settings["max_nodes"])


def forced() -> bool:
    return bool(_settings["force"])


def human_bytes(n: int) -> str:
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _bits(dtype: str) -> int:
    from op_handlers.base import DTYPES

    for name, bits in DTYPES.values():
        if name == dtype:
            return bits or 8
    return 64 if dtype == "string" else 8  # a string costs at least a pointer


def tensor_bytes(dtype: str, shape: Iterable[int]) -> int:
    numel = 1
    for d in shape:
        numel *= int(d)
    return -(-numel * _bits(dtype) // 8)


def _shape_text(shape) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def check_tensor(what: str, dtype: str, shape, budget: int | None = None) -> None:
    """Refuse a tensor of ``dtype`` and ``shape`` (ints) over the memory budget.

    ``what`` names it in the message ("input 'x'", "tensor 'y'").
    """
    if shape is None or any(not isinstance(d, int) or isinstance(d, bool) for d in shape):
        return
    budget = max_tensor_bytes() if budget is None else budget
    n = tensor_bytes(dtype, shape)
    if n > budget:
        raise BudgetError(
            f"{what} would take {human_bytes(n)} ({n} bytes: {_shape_text(shape)} of {dtype}), over the memory "
            f"budget of {human_bytes(budget)} per tensor; give smaller dims or raise --max-tensor-bytes"
        )


def check_shapes(sh) -> None:
    """Every main-graph tensor whose shape is known (an :class:`onnxstat.shapes.resolve.Shapes`) within the budget,
    before an onnxruntime session allocates them."""
    budget = max_tensor_bytes()
    for name, dtype, shape in getattr(sh, "inputs", ()):
        check_tensor(f"input {name!r}", dtype, shape, budget)
    for name, vt in sorted(sh.scopes.get("", {}).items()):
        shape = getattr(vt, "shape", None)
        if shape is not None and getattr(vt, "known", False):
            check_tensor(f"tensor {name!r}", vt.dtype, shape, budget)


# --------------------------------------------------------------------------- Loop trip counts


def _static_scalars(graph) -> dict[str, int]:
    """Integer scalars a graph defines as initializers or Constant nodes."""
    from onnx import numpy_helper

    out: dict[str, int] = {}

    def take(name: str, t) -> None:
        n = 1
        for d in t.dims:
            n *= d
        if n != 1 or t.data_location == t.EXTERNAL:
            return
        try:
            v = numpy_helper.to_array(t)
        except Exception:  # noqa: BLE001 - an unreadable tensor is just not known
            return
        if v.dtype.kind in "iub":
            out[name] = int(v.reshape(-1)[0])

    for t in getattr(graph, "initializer", ()):
        take(t.name, t)
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and n.output:
            for a in n.attribute:
                if a.name == "value" and a.HasField("t"):
                    take(n.output[0], a.t)
                elif a.name == "value_int":
                    out[n.output[0]] = int(a.i)
    return out


def _node_label(node) -> str:
    return f"node {node.name!r} ({node.op_type})" if node.name else f"a {node.op_type} node"


#: exporters write a trip count this large (INT32_MAX, INT64_MAX) as a dummy bound of a "while" loop
LOOP_SENTINEL = 2**31 - 1


def _cond_never_stops(node, body, known: Mapping[str, int]) -> bool:
    """True when the Loop's condition cannot end it: no condition input, or a condition that is
    statically true and that the body hands back unchanged (as is, or through Identity)."""
    cond = node.input[1] if len(node.input) > 1 else ""
    if not cond:
        return True
    if known.get(cond) != 1 or len(body.input) < 2 or not body.output:
        return False
    cond_in, cond_out = body.input[1].name, body.output[0].name
    if cond_out == cond_in:
        return True
    return any(n.op_type == "Identity" and list(n.input) == [cond_in] and list(n.output) == [cond_out]
               for n in body.node)


def _trip(node, known: Mapping[str, int]) -> int | None:
    m = node.input[0] if len(node.input) > 0 else ""
    if not m:
        return None
    v = known.get(m)
    return None if v is None else max(int(v), 0)


def _graph_work(graph, outer: Mapping[str, int], found: list) -> int:
    """Node runs of one pass over ``graph`` (Loop bodies times their static trip counts);
    Loops over the budget or without an end are appended to ``found``."""
    known = dict(outer)
    known.update(_static_scalars(graph))
    work = 0
    for node in graph.node:
        bodies = [a.g for a in node.attribute if a.HasField("g")]
        if node.op_type == "Loop" and node.domain in ("", "ai.onnx") and bodies:
            body = _graph_work(bodies[0], known, found)
            trip = _trip(node, known)
            endless = _cond_never_stops(node, bodies[0], known)
            if trip is None and endless and not (node.input and node.input[0]):
                found.append((node, None, body))
                work += body
                continue
            if trip is not None and trip >= LOOP_SENTINEL and not endless:
                trip = None  # a while loop: its condition decides, M is the exporter's dummy bound
            runs = (trip if trip is not None else 1) * max(body, 1)
            if trip is not None and runs > MAX_LOOP_WORK:
                found.append((node, trip, body))
            work += runs
        elif bodies:
            work += 1 + max(_graph_work(b, known, found) for b in bodies)
        else:
            work += 1
    return work


def check_loops(model, values: Mapping[str, Any] | None = None, what: str = "onnxruntime") -> None:
    """Refuse to run ``model`` when a Loop would run longer than the time budget (unless ``--force``).

    ``values``: values known from shape resolution (trip counts computed from shapes).
    """
    if forced():
        return
    known: dict[str, int] = {}
    for name, v in (values or {}).items():
        try:
            if getattr(v, "size", 0) == 1 and getattr(v, "dtype", None) is not None and v.dtype.kind in "iu":
                known[name] = int(v.reshape(-1)[0])
        except (TypeError, ValueError, OverflowError):
            continue
    found: list = []
    _graph_work(model.graph, known, found)
    if not found:
        return
    node, trip, body = found[0]
    if trip is None:
        raise BudgetError(
            f"{_node_label(node)} has no trip count and a condition that never turns false: it loops forever; "
            f"{what} does not run it (profile counts it statically; --force runs it anyway)"
        )
    raise BudgetError(
        f"{_node_label(node)} runs {trip} iterations of a {body}-node body ({trip * max(body, 1):.3g} node runs, "
        f"over the time budget of {MAX_LOOP_WORK:.0e}); {what} does not run it "
        "(profile counts it statically; --force runs it anyway)"
    )


def check_run(model, sh, what: str) -> None:
    """Before onnxruntime runs ``model`` on the shapes ``sh`` resolved: every known tensor within the
    memory budget and every Loop within the time budget."""
    check_loops(model, getattr(sh, "values", None), what)
    check_shapes(sh)


# --------------------------------------------------------------------------- native code


def _vm_size() -> int | None:
    """This process's virtual memory size in bytes (Linux), None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


#: what static shape resolution may grow the process by, at least (values it propagates are
#: shape-like; the graph's own copies scale with its size, see :func:`resolve_cap`)
RESOLVE_BYTES = 512 * 2**20


def resolve_cap(model, shape_source: str = "onnx") -> int:
    """The growth allowed to shape resolution of ``model``: 512 MB or 32 times the graph's size;
    with ``--shape-source ort``, where the model runs, at least twice the tensor budget."""
    try:
        size = model.ByteSize()
    except Exception:  # noqa: BLE001
        size = 0
    cap = max(RESOLVE_BYTES, 32 * size)
    if shape_source == "ort":
        cap = max(cap, 2 * max_tensor_bytes())
    return cap


@contextmanager
def address_space_cap(extra: int | None = None):
    """Native code inside the block may grow this process by at most ``extra`` bytes
    (default: the tensor budget), enforced with a temporary ``RLIMIT_AS`` soft limit.

    onnx's shape inference propagates values in C++ (``data_prop``): a Range of 10^12
    elements or a Tile of 10^11 repeats is materialised there, beyond any check onnxstat
    can make first.  Under the cap such an allocation fails at once (``MemoryError``),
    and shape resolution falls back to inference without value propagation.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    vm = _vm_size()
    if vm is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + (extra if extra is not None else max_tensor_bytes())
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield  # already as tight
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    except MemoryError:
        raise BudgetError(
            f"shape resolution needed more than {human_bytes(cap - vm)} of memory (its budget); "
            "a value or tensor of the model is too large to resolve"
        ) from None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
