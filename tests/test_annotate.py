"""`onnxstat annotate`: the annotated copy runs like the original and carries the profile's numbers."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from helpers import assert_error, run_cli
from onnxstat.render.annotate import annotate

ort = pytest.importorskip("onnxruntime")

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def feeds_for(path: Path, sizes: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else sizes[d] for d in i.shape]
        if "float" in i.type:
            out[i.name] = rng.standard_normal(shape).astype(np.float16 if "16" in i.type else np.float32)
        else:
            out[i.name] = rng.integers(0, 2, shape).astype(np.int64)
    return out


def same_outputs(a: Path, b: Path, feeds) -> None:
    sa = ort.InferenceSession(str(a), providers=["CPUExecutionProvider"])
    sb = ort.InferenceSession(str(b), providers=["CPUExecutionProvider"])
    oa, ob = sa.run(None, feeds), sb.run(None, feeds)
    assert len(oa) == len(ob)
    for x, y in zip(oa, ob):
        assert x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def metadata(node) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


def node_protos(graph, path="", with_graph=False):
    """(record path, NodeProto[, GraphProto]) for every node, subgraphs included, labelled like the analysis."""
    for i, n in enumerate(graph.node):
        full = f"{path}/{n.name or f'{n.op_type}_{i}'}" if path else (n.name or f"{n.op_type}_{i}")
        yield (full, n, graph) if with_graph else (full, n)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from node_protos(a.g, f"{full}/{a.name}", with_graph)


def check_annotated(orig: Path, copy: Path, profile_json: dict, sizes_list) -> None:
    onnx.checker.check_model(str(copy), full_check=True)
    for sizes in sizes_list:  # the profiled sizes and others: the copy is not specialised
        same_outputs(orig, copy, feeds_for(orig, sizes))
    m = onnx.load(str(copy), load_external_data=False)
    # every tensor a counted node produces, except its graph's outputs, has a value_info in that graph
    by_path = {r["path"]: r for r in profile_json["nodes"]}
    missing, produced = [], 0
    for path, n, g in node_protos(m.graph, with_graph=True):
        if path not in by_path:
            continue
        declared = {v.name for v in g.output}
        vi = {v.name for v in g.value_info}
        for o in n.output:
            if o and o not in declared:
                produced += 1
                if o not in vi:
                    missing.append(o)
    assert produced and not missing, missing
    # the metadata of every node is the profile JSON's record
    total_flops = profile_json["totals"]["flops"]
    protos = dict(node_protos(m.graph))
    assert set(by_path) <= set(protos)
    for path, rec in by_path.items():
        md = metadata(protos[path])
        assert int(md["onnxstat.macs"]) == rec["macs"], path
        assert int(md["onnxstat.flops"]) == rec["flops"], path
        assert int(md["onnxstat.params"]) == rec["params"], path
        assert int(md["onnxstat.bytes"]) == rec["memory_traffic_bytes"] == rec["bytes_read"] + rec["bytes_written"]
        assert md["onnxstat.precision"] == rec["compute_dtype"], path
        assert float(md["onnxstat.share"]) == pytest.approx(rec["flops"] / total_flops, rel=1e-12)
        assert protos[path].doc_string.splitlines()[-1].startswith("onnxstat: ")
    model_md = {p.key: p.value for p in m.metadata_props}
    assert int(model_md["onnxstat.macs"]) == profile_json["totals"]["macs"]
    assert int(model_md["onnxstat.params"]) == profile_json["totals"]["params"]


@pytest.mark.parametrize("name,dims,other", [
    ("cnn.onnx", {"batch": 1}, {"batch": 3}),
    ("transformer.onnx", {"batch": 1, "seq": 16}, {"batch": 2, "seq": 24}),
])
def test_annotated_bundled_model_runs_the_same_and_carries_the_profile(tmp_path, name, dims, other):
    src = tmp_path / name
    shutil.copy(SAMPLES / name, src)
    before = sha256(src)
    out = tmp_path / "annotated.onnx"
    dim_args = [a for k, v in dims.items() for a in ("--dim", f"{k}={v}")]
    r = run_cli("annotate", src, "-o", out, *dim_args)
    assert r.exit_code == 0, r.stderr
    assert f"wrote {out}" in r.stderr
    assert sha256(src) == before
    r = run_cli("profile", src, "--format", "json", *dim_args)
    assert r.exit_code == 0, r.stderr
    check_annotated(src, out, json.loads(r.stdout), [dims, other])


def test_dynamic_dims_keep_their_names_and_static_dims_their_numbers(tmp_path):
    out = tmp_path / "t.onnx"
    annotate(SAMPLES / "transformer.onnx", out, dims={"batch": 1, "seq": 16})
    m = onnx.load(str(out))
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in m.graph.value_info}
    assert dims["ln1_out"] == ["batch", "seq", 64]


def test_external_data_referenced_in_the_same_folder_or_copied(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for f in ("cnn_external.onnx", "cnn_external.onnx.data"):
        shutil.copy(SAMPLES / f, folder / f)
    src = folder / "cnn_external.onnx"
    hashes = {p.name: sha256(p) for p in folder.iterdir()}
    prof = onnxstat.profile(src, dims={"batch": 1}).to_dict()
    # reference: same folder, same data file
    ref = folder / "cnn_external.costs.onnx"
    annotate(src, ref, dims={"batch": 1})
    locs = {e.value for t in onnx.load(str(ref), load_external_data=False).graph.initializer
            for e in t.external_data if e.key == "location"}
    assert locs == {"cnn_external.onnx.data"}
    check_annotated(src, ref, prof, [{"batch": 1}, {"batch": 2}])
    # reference into another folder: refused, nothing written
    elsewhere = tmp_path / "other.onnx"
    r = run_cli("annotate", src, "-o", elsewhere, "--dim", "batch=1")
    assert_error(r, 2, "external data", "--external-data copy")
    assert not elsewhere.exists()
    # copy: a data file of its own next to the copy
    copied = tmp_path / "out" / "cnn.costs.onnx"
    copied.parent.mkdir()
    res = annotate(src, copied, dims={"batch": 1}, external_data="copy")
    assert res.data_path == copied.with_name("cnn.costs.onnx.data") and res.data_path.exists()
    check_annotated(src, copied, prof, [{"batch": 1}, {"batch": 2}])
    assert {p.name: sha256(p) for p in folder.iterdir() if p.name in hashes} == hashes


def test_never_writes_over_the_model(tmp_path):
    src = tmp_path / "cnn.onnx"
    shutil.copy(SAMPLES / "cnn.onnx", src)
    before = sha256(src)
    r = run_cli("annotate", src, "-o", src)
    assert_error(r, 2, "refusing to overwrite an input")
    assert sha256(src) == before
    r = run_cli("annotate", src, "-o", tmp_path / "missing" / "x.onnx")
    assert_error(r, 2, "does not exist")


def test_subgraph_nodes_are_annotated(tmp_path):
    # Loop M = 3 over a body with an If whose condition is dynamic (iter < 1): the costlier
    # else branch (MatMul 24 MACs + Relu 6 FLOPs) is counted ×3, the then branch is not
    f, i64, b = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    vi = helper.make_tensor_value_info
    then_g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["t"])], "then", [], [vi("t", f, [2, 3])])
    else_g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["e_mm"]), helper.make_node("Relu", ["e_mm"], ["e"])],
                               "else", [], [vi("e", f, [2, 3])])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Less", ["iter", "one"], ["lt"]),
         helper.make_node("If", ["lt"], ["y_i"], then_branch=then_g, else_branch=else_g)],
        "body", [vi("iter", i64, []), vi("cond_in", b, [])], [vi("cond_out", b, []), vi("y_i", f, [2, 3])])
    g = helper.make_graph([helper.make_node("Loop", ["M", ""], ["ys"], body=body)], "main", [vi("x", f, [2, 4])],
                          [vi("ys", f, [3, 2, 3])],
                          [numpy_helper.from_array(np.ones((4, 3), np.float32), "W"),
                           numpy_helper.from_array(np.array(3, np.int64), "M"),
                           numpy_helper.from_array(np.array(1, np.int64), "one")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    src, out = tmp_path / "loop.onnx", tmp_path / "loop.costs.onnx"
    onnx.save(m, str(src))
    annotate(src, out)
    prof = onnxstat.profile(src).to_dict()
    check_annotated(src, out, prof, [{}])
    protos = dict(node_protos(onnx.load(str(out)).graph))
    relu = metadata(protos["Loop_0/body/If_2/else_branch/Relu_1"])
    assert (relu["onnxstat.flops"], relu["onnxstat.repeat"]) == (str(3 * 6), "3")
    assert metadata(protos["Loop_0/body/If_2/then_branch/MatMul_0"]) == {"onnxstat.counted": "no"}
    # the body's tensors have their value_info in the body graph
    body_vi = {v.name for v in onnx.load(str(out)).graph.node[0].attribute[0].g.value_info}
    assert {"lt"} <= body_vi


def test_bench_per_node_writes_measured_times(tmp_path):
    out = tmp_path / "cnn.costs.onnx"
    # --opt-level disable: one kernel per node, so every node has its time
    r = run_cli("annotate", SAMPLES / "cnn.onnx", "-o", out, "--dim", "batch=1", "--bench", "--per-node",
                "--runs", "3", "--warmup", "1", "--opt-level", "disable")
    assert r.exit_code == 0, r.stderr
    m = onnx.load(str(out))
    times = [float(metadata(n)["onnxstat.time_ms"]) for n in m.graph.node]
    assert all(t >= 0 for t in times) and sum(times) > 0
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    assert " ms" in conv.doc_string


def test_per_node_without_bench_is_a_usage_error(tmp_path):
    r = run_cli("annotate", SAMPLES / "cnn.onnx", "-o", tmp_path / "x.onnx", "--per-node")
    assert_error(r, 2, "--per-node goes with --bench")


def test_a_model_that_only_resolves_at_its_profiled_size_gets_no_value_info(tmp_path):
    # x (n,) reshaped to the constant (2, 3): resolves at n = 6 only, so the dims cannot be
    # checked at another size; the copy then has no value_info rather than wrong ones
    f = TensorProto.FLOAT
    g = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Relu", ["r"], ["y"])], "g",
        [helper.make_tensor_value_info("x", f, ["n"])], [helper.make_tensor_value_info("y", f, None)],
        [numpy_helper.from_array(np.array([2, 3], np.int64), "shape")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    src, out = tmp_path / "r.onnx", tmp_path / "r.costs.onnx"
    onnx.save(m, str(src))
    res = annotate(src, out, dims={"n": 6})
    assert any("value_info is left out" in w for w in res.warnings)
    copy = onnx.load(str(out))
    assert len(copy.graph.value_info) == 0
    assert metadata(copy.graph.node[1])["onnxstat.flops"] == "6"
    same_outputs(src, out, feeds_for(src, {"n": 6}))
