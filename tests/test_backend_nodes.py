"""Every model of onnx's backend node tests profiles without an exception, without a
failed handler, and with no node reported unsupported except the ops listed in
:data:`ALLOWED_UNSUPPORTED` (with the reason).

The models are onnx/backend/test/data/node/*/model.onnx when the installed onnx
ships them; the PyPI wheels of onnx 1.2x do not, so otherwise the same models are
generated in-process from onnx's own test-case definitions
(``onnx.backend.test.case.node.collect_testcases``, the source the data directory
is written from).  Everything runs in-process, without onnxruntime.
"""

from __future__ import annotations

import glob
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import onnx
import pytest

import onnxstat
from onnxstat.errors import OnnxstatError
from onnx_versions import opset_known

#: (domain, op_type) -> why a node of it may be reported unsupported.  Empty: every
#: op met in the node tests has a handler.
ALLOWED_UNSUPPORTED: dict[tuple[str, str], str] = {}


@dataclass
class Outcome:
    name: str
    error: str | None = None
    unsupported: list = field(default_factory=list)
    handler_failures: list = field(default_factory=list)
    shape_failures_with_shapes: list = field(default_factory=list)
    nodes: int = 0
    ops: set = field(default_factory=set)
    macs: object = 0
    complete: bool = False  # every node counted on resolved shapes


def _models():
    base = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    files = sorted(glob.glob(os.path.join(base, "*", "model.onnx")))
    if files:
        for f in files:
            yield os.path.basename(os.path.dirname(f)), onnx.load(f)
        return
    from onnx.backend.test.case import node as node_cases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases(None)
    for c in cases:
        yield c.name, c.model


def _all_known(shapes) -> bool:
    return all(s is not None and all(isinstance(d, int) for d in s) for _n, _d, s in shapes)


def _run(name: str, model: onnx.ModelProto) -> Outcome:
    out = Outcome(name)
    try:
        res = onnxstat.profile(model)
    except OnnxstatError as exc:  # a one-line error is fine only for models onnx itself marks invalid
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    except Exception as exc:  # noqa: BLE001 - the point of the test
        out.error = f"crash {type(exc).__name__}: {exc}"
        return out
    out.nodes = len(res.nodes)
    out.macs = res.totals.macs
    # every node counted, on shapes that were all resolved (no dim defaulted to 1)
    out.complete = not any("not counted" in w or "unresolved dims" in w for w in res.warnings)
    out.unsupported = [(d, o) for d, o, _c in res.unsupported if (d, o) not in ALLOWED_UNSUPPORTED]
    out.handler_failures = [w for w in res.warnings if "handler failed" in w]
    for n in res.nodes:
        out.ops.add((n.domain, n.op_type))
        # a handler that gives up although every input and output shape is known is a bug
        if n.error and n.kind not in ("unsupported", "control_flow") and _all_known(n.inputs) and _all_known(n.outputs):
            present = [s for s in n.inputs if s[0]]
            if present:
                out.shape_failures_with_shapes.append(f"{n.path} ({n.op_type}): {n.error}")
    return out


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return [_run(name, model) for name, model in _models()]


def test_enough_models(outcomes):
    # onnx 1.23 defines about 1,900 node test models; onnx 1.16 (opset 21), the lowest
    # supported, ships 1,282
    assert len(outcomes) >= (1400 if opset_known(23) else 1250)


def test_no_exception(outcomes):
    bad = [f"{o.name}: {o.error}" for o in outcomes if o.error]
    assert not bad, "\n".join(bad)


def test_no_failed_handler(outcomes):
    bad = [f"{o.name}: {w}" for o in outcomes for w in o.handler_failures]
    assert not bad, "\n".join(bad)


def test_no_unsupported_node(outcomes):
    bad = sorted({f"{d or 'ai.onnx'}::{op} (first in {o.name})" for o in outcomes for d, op in o.unsupported})
    assert not bad, "\n".join(bad)


def test_no_handler_gives_up_with_known_shapes(outcomes):
    bad = [f"{o.name}: {m}" for o in outcomes for m in o.shape_failures_with_shapes]
    assert not bad, "\n".join(bad)


def test_every_domain_of_the_node_tests_is_seen(outcomes):
    # the walk really profiles nodes of every domain the node tests use
    domains = {d for o in outcomes for d, _op in o.ops}
    assert {"", "ai.onnx.ml", "ai.onnx.preview.training"} <= domains
    assert sum(o.nodes for o in outcomes) > len(outcomes)


def test_function_expansions_do_the_same_dense_work(outcomes):
    """An op and its ``_expanded`` twin (the op's function body, counted by the Conv /
    MatMul handlers) must have equal MACs whenever both profile completely: an
    independent check of the dense formulas of the ops that have a function body
    (CausalConvWithState, Attention, LinearAttention, AffineGrid, ...)."""
    by_name = {o.name: o for o in outcomes}
    checked, bad = [], []
    for name, o in by_name.items():
        twin = by_name.get(name + "_expanded")
        if twin is None or not (o.complete and twin.complete) or not (o.macs or twin.macs):
            continue
        checked.append(name)
        if o.macs != twin.macs:
            bad.append(f"{name}: {o.macs} MACs, expanded {twin.macs}")
    assert not bad, "\n".join(bad)
    # at least the CausalConvWithState (opset 27) and Attention (opset 23) families are
    # comparable, where the installed onnx has them (onnx 1.16 has neither)
    if opset_known(27):
        assert sum(n.startswith("test_causal_conv_with_state") for n in checked) >= 10
    if opset_known(23):
        assert sum(n.startswith("test_attention") for n in checked) >= 50
