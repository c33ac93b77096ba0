"""Counting never holds weight bytes: the loader skips embedded payloads and never opens external data."""

from __future__ import annotations

import os
import sys
import tracemalloc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnxstat.model.loader import load

# 50 MB of float32 weights: a [3200, 4096] MatMul weight (3200 * 4096 * 4 = 52,428,800 bytes)
ROWS, COLS = 3200, 4096
WEIGHT_BYTES = ROWS * COLS * 4


def _model(weight: np.ndarray) -> onnx.ModelProto:
    """x [1, 3200] @ w [3200, 4096] -> y [1, 4096]; w carries its data."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ROWS])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, COLS])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


@pytest.fixture(scope="module")
def big_models(tmp_path_factory):
    """(embedded path, external path): the same 50 MB weight in the file and in big.data."""
    d = tmp_path_factory.mktemp("big")
    w = np.random.default_rng(0).standard_normal((ROWS, COLS), dtype=np.float32)
    m = _model(w)
    embedded = d / "embedded.onnx"
    onnx.save(m, str(embedded))
    ext_dir = d / "ext"
    ext_dir.mkdir()
    external = ext_dir / "external.onnx"
    onnx.save(m, str(external), save_as_external_data=True, location="big.data", size_threshold=1024)
    del m, w
    assert embedded.stat().st_size > WEIGHT_BYTES
    assert (ext_dir / "big.data").stat().st_size == WEIGHT_BYTES
    return embedded, external


def _check_counts(res) -> None:
    # params 3200 * 4096 = 13,107,200; weight bytes * 4 = 52,428,800; MACs 1 * 3200 * 4096 = 13,107,200
    assert res.totals.params == 13_107_200
    assert res.totals.weight_bytes == 52_428_800
    assert res.totals.macs == 13_107_200


def test_parsed_model_holds_no_weight_bytes(big_models):
    embedded, _ = big_models
    lm = load(embedded)
    assert lm.stripped
    # the ModelProto the loader keeps is the graph's structure: a few hundred bytes, not 50 MB
    assert lm.model.ByteSize() < 4096
    w = lm.model.graph.initializer[0]
    assert list(w.dims) == [ROWS, COLS] and w.data_type == TensorProto.FLOAT
    assert not w.raw_data and not w.float_data


def test_load_allocates_far_less_than_the_file(big_models):
    embedded, _ = big_models
    tracemalloc.start()
    try:
        lm = load(embedded)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lm.model.graph.initializer[0].dims[0] == ROWS
    # Python allocations while loading: well under 1% of the 52 MB file
    assert peak < WEIGHT_BYTES // 100, f"load() peaked at {peak:,} traced bytes for a {WEIGHT_BYTES:,}-byte weight"


def test_profile_allocates_far_less_than_the_file(big_models):
    embedded, _ = big_models
    onnxstat.profile(embedded)  # warm-up: first-call imports and caches are not the model's
    tracemalloc.start()
    try:
        res = onnxstat.profile(embedded)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _check_counts(res)
    # shape inference, the handler pass and the post passes never see the weight bytes
    assert peak < WEIGHT_BYTES // 20, f"profile() peaked at {peak:,} traced bytes for a {WEIGHT_BYTES:,}-byte weight"


@pytest.fixture
def opened_files():
    """Paths opened through Python (builtins.open, os.open, io.open) while the fixture is active."""
    seen: list[str] = []
    active = [True]

    def hook(event, args):
        if active[0] and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            seen.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)  # audit hooks cannot be removed: this one goes quiet after the test
    yield seen
    active[0] = False


def test_external_data_is_never_opened(big_models, opened_files):
    _, external = big_models
    res = onnxstat.profile(external)
    _check_counts(res)
    assert any(os.path.samefile(p, external) for p in opened_files if os.path.exists(p))
    data = external.parent / "big.data"
    assert not [p for p in opened_files if os.path.exists(p) and os.path.samefile(p, data)]


def test_embedded_file_opened_once(big_models, opened_files):
    embedded, _ = big_models
    _check_counts(onnxstat.profile(embedded))
    assert len([p for p in opened_files if os.path.exists(p) and os.path.samefile(p, embedded)]) == 1
