"""The module tree (--group-by scope): scopes from node names, exact sums at every level, folding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import onnxstat
from helpers import assert_error, run_cli
from onnxstat.passes.analysis import NodeCost
from onnxstat.passes.scopes import (
    OWN,
    by_scope,
    children_index,
    fold_repeats,
    name_scope,
    parse_name_scopes,
    scope_rows,
    scope_tree,
)
from scoped_models import torch_style_encoder

SUMMED = ("nodes", "macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written", "memory_traffic_bytes")


def assert_exact_sums(rows, totals):
    root = rows[0]
    assert root["scope"] == "" and root["depth"] == 0
    assert root["nodes"] == totals["node_count"]
    for k in ("macs", "flops", "params", "weight_bytes", "memory_traffic_bytes"):
        assert root[k] == totals[k], k
    checked = 0
    for i, kids in children_index(rows).items():
        if not kids:
            continue
        for k in SUMMED:
            assert sum(rows[j][k] for j in kids) == rows[i][k], (rows[i]["scope"], k)
        checked += 1
    assert checked > 0


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    path = tmp_path_factory.mktemp("enc") / "encoder.onnx"
    path.write_bytes(torch_style_encoder(layers=4).SerializeToString())
    return path


@pytest.mark.parametrize("name,scope", [
    ("/encoder/layer.0/attention/self/query/MatMul", ("encoder", "layer.0", "attention", "self", "query")),
    ("model.layers.3.mlp.down_proj.MatMul", ("model", "layers", "3", "mlp", "down_proj")),
    ("StatefulPartitionedCall/model/conv2d/Conv2D", ("StatefulPartitionedCall", "model", "conv2d")),
    ("/Add", None), ("Conv_3", None), ("", None), ("fc.MatMul", None),
])
def test_name_scope(name, scope):
    assert name_scope(name) == scope


def test_encoder_tree_sums_exactly_at_every_level(encoder):
    r = run_cli("profile", encoder, "--group-by", "scope", "--format", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    rows = d["by_scope"]
    assert_exact_sums(rows, d["totals"])
    by = {x["scope"]: x for x in rows}
    # query projection of layer 0: MatMul (1, 8, 16)·(16, 16): MACs 128·16 = 2048; Add bias 128 FLOPs;
    # params 16·16 + 16 = 272
    q = by["/encoder/layer.0/attention/self/query"]
    assert (q["nodes"], q["macs"], q["flops"], q["params"], q["depth"]) == (2, 2048, 2 * 2048 + 128, 272, 5)
    # self-attention's own nodes (Transpose, scores MatMul, Softmax, context MatMul): 8·8·16 MACs twice
    own = by["/encoder/layer.0/attention/self/" + OWN]
    assert (own["nodes"], own["macs"]) == (4, 2 * 8 * 8 * 16)
    # the unnamed Tanh falls back to the scope of its producer
    assert by["/pooler/dense"]["nodes"] == 3
    assert set(rows[0]) >= {"scope", "depth", "nodes", "macs", "flops", "params", "memory_traffic_bytes", "share"}
    assert by["/encoder"]["share"] == pytest.approx(by["/encoder"]["flops"] / d["totals"]["flops"])
    assert [x["scope"] for x in rows if x["depth"] == 1] == ["/embeddings", "/encoder", "/pooler"]


def test_depth_limits_the_tree_and_keeps_the_sums(encoder):
    d = json.loads(run_cli("profile", encoder, "--group-by", "scope", "--depth", "2", "--format", "json").stdout)
    rows = d["by_scope"]
    assert max(x["depth"] for x in rows) == 2
    assert [x["scope"] for x in rows if x["depth"] == 2][:3] == ["/embeddings/LayerNorm", "/encoder/layer.0", "/encoder/layer.1"]
    assert_exact_sums(rows, d["totals"])


def test_fold_repeats_folds_the_layers(encoder):
    plain = json.loads(run_cli("profile", encoder, "--group-by", "scope", "--format", "json").stdout)["by_scope"]
    d = json.loads(run_cli("profile", encoder, "--group-by", "scope", "--fold-repeats", "--format", "json").stdout)
    rows = d["by_scope"]
    assert_exact_sums(rows, d["totals"])
    by = {x["scope"]: x for x in rows}
    layers = by["/encoder/layer.[0-3]"]
    layer0 = {x["scope"]: x for x in plain}["/encoder/layer.0"]
    assert layers["repeats"] == 4
    assert layers["macs"] == 4 * layer0["macs"] and layers["nodes"] == 4 * layer0["nodes"] == 84
    assert not any("layer.1" in x["scope"] for x in rows)
    # inside the folded row: summed over the four layers
    assert by["/encoder/layer.[0-3]/attention/self/query"]["macs"] == 4 * 2048


def nc(name, macs, op="MatMul"):
    return NodeCost(name=name, path=name, domain="", op_type=op, kind="compute", compute_dtype="float32",
                    inputs=[], outputs=[], macs=macs, flops=2 * macs)


def test_fold_keeps_different_blocks_apart():
    # block.0 and block.1 are alike; block.2 is bigger; block.3 alike the first two but not adjacent in the run
    nodes = [nc("/block.0/fc/MatMul", 10), nc("/block.1/fc/MatMul", 10), nc("/block.2/fc/MatMul", 99),
             nc("/block.3/fc/MatMul", 10)]
    rows = scope_rows(fold_repeats(scope_tree(nodes)))
    names = [(r["name"], r.get("repeats", 1), r["macs"]) for r in rows if r["depth"] == 1]
    assert names == [("block.[0-1]", 2, 20), ("block.2", 1, 99), ("block.3", 1, 10)]
    assert rows[0]["macs"] == 129
    # conv1 and conv2 are numbered modules of different roles, not the elements of a list
    rows = scope_rows(fold_repeats(scope_tree([nc("/conv1/Conv", 5, "Conv"), nc("/conv2/Conv", 5, "Conv"),
                                               nc("/h_0/fc/MatMul", 3), nc("/h_1/fc/MatMul", 3)])))
    assert [(r["name"], r.get("repeats", 1)) for r in rows if r["depth"] == 1] == [
        ("conv1", 1), ("conv2", 1), ("h_[0-1]", 2)]


def test_subgraph_nodes_sit_under_their_control_flow_node():
    loop = NodeCost(name="/decoder/Loop", path="/decoder/Loop", domain="", op_type="Loop", kind="control_flow",
                    compute_dtype="none", inputs=[], outputs=[])
    body = NodeCost(name="MatMul_1", path="/decoder/Loop/body/MatMul_1", domain="", op_type="MatMul", kind="compute",
                    compute_dtype="float32", inputs=[], outputs=[], macs=5, flops=10)
    named = NodeCost(name="/step/Add", path="/decoder/Loop/body//step/Add", domain="", op_type="Add",
                     kind="compute", compute_dtype="float32", inputs=[], outputs=[], flops=3)
    rows = scope_rows(scope_tree([loop, body, named]))
    by = {r["scope"]: r for r in rows}
    assert by["/decoder"]["macs"] == 5 and by["/decoder"]["flops"] == 13 and by["/decoder"]["nodes"] == 2
    assert by["/decoder/step"]["flops"] == 3


def test_terminal_markdown_and_csv(encoder):
    r = run_cli("profile", encoder, "--group-by", "scope", "--depth", "3", "--fold-repeats")
    assert r.exit_code == 0, r.stderr
    assert "layer.[0-3] ×4" in r.stdout and "├─ " in r.stdout and "└─ " in r.stdout
    assert "Nodes (graph order)" not in r.stdout  # the tree replaces the node table
    md = run_cli("profile", encoder, "--group-by", "scope", "--format", "markdown").stdout
    assert "## By scope" in md and "layer.0" in md
    csv_text = run_cli("profile", encoder, "--group-by", "scope", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("scope,name,depth,repeats,nodes,macs")


def test_scope_options_need_group_by_scope(encoder):
    assert_error(run_cli("profile", encoder, "--depth", "2"), 2, "--group-by scope")
    assert_error(run_cli("profile", encoder, "--fold-repeats"), 2, "--group-by scope")


def test_bench_per_node_times_in_the_tree(encoder):
    r = run_cli("profile", encoder, "--group-by", "scope", "--depth", "2", "--bench", "--per-node", "--runs", "3",
                "--warmup", "1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["by_scope"]
    assert rows[0]["time_ms"] > 0
    for i, kids in children_index(rows).items():
        if kids:
            assert sum(rows[j]["time_ms"] for j in kids) == pytest.approx(rows[i]["time_ms"], rel=1e-9)


def test_by_scope_api_on_a_bundled_model():
    res = onnxstat.profile(Path(__file__).resolve().parent.parent / "sample_models" / "transformer.onnx", dims={"batch": 1, "seq": 16})
    rows = by_scope(res)
    d = res.to_dict()
    assert_exact_sums(rows, d["totals"])


def test_report_has_the_collapsible_module_tree(encoder, tmp_path):
    out = tmp_path / "r.html"
    r = run_cli("report", encoder, "-o", out)
    assert r.exit_code == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert 'id="scopes"' in page and 'href="#scopes"' in page
    rows = by_scope(onnxstat.profile(encoder))
    inner = sum(1 for kids in children_index(rows).values() if kids)
    assert page.count("<details") == inner  # one collapsible element per scope with children
    assert page.count('class="srow"') == len(rows)
    assert 'data-scope="/encoder/layer.0/attention/self/query"' in page
    # a model whose node names carry no scopes has no module tree
    cnn = tmp_path / "cnn.html"
    run_cli("report", Path(__file__).resolve().parent.parent / "sample_models" / "cnn.onnx", "-o", cnn, "--dim", "batch=1")
    assert 'id="scopes"' not in cnn.read_text(encoding="utf-8")


@pytest.mark.parametrize("text,parts", [
    ("['', 'blocks.2', 'blocks.2.mlp', 'blocks.2.mlp.fc1', 'linear_8']", ("blocks.2", "mlp", "fc1")),
    ("['', 'network', 'network.0', 'linear']", ("network", "0")),
    ("['', 'linear']", ()),
    ("not a list", None), ("[1, 2]", None), ("__import__('os')", None),
])
def test_parse_torch_name_scopes(text, parts):
    assert parse_name_scopes(text) == parts


def test_dynamo_export_metadata_gives_the_same_tree(tmp_path):
    # the same encoder as the dynamo exporter writes it (node_MatMul_12 + name_scopes metadata)
    path = tmp_path / "dynamo.onnx"
    path.write_bytes(torch_style_encoder(layers=3, dynamo=True).SerializeToString())
    assert name_scope("node_MatMul_1") is None
    plain = by_scope(onnxstat.profile(torch_style_encoder(layers=3)), fold=True)
    dyn = by_scope(onnxstat.profile(path), fold=True)  # the metadata is read from the profiled file
    key = lambda rows: [(r["scope"], r["nodes"], r["macs"], r["flops"], r["params"]) for r in rows]  # noqa: E731
    assert key(dyn) == key(plain)
    assert any(r["scope"] == "/encoder/layer.[0-2]" and r["repeats"] == 3 for r in dyn)
