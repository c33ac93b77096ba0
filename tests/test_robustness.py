"""Hostile and broken inputs: every failure is one line on stderr starting
"onnxstat: error:", naming what is wrong and where, with exit code 1 (bad model)
or 2 (bad usage), and no traceback.

Every case runs through the CLI (click's CliRunner); a few library branches that
the CLI cannot reach in CI (running as root) are tested directly.
"""

from __future__ import annotations

import os
import random
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnxstat.model import loader
from helpers import assert_error, run_cli
from onnxstat.cli import cli
from onnxstat.errors import ModelError, OnnxstatError, UsageError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
F = TensorProto.FLOAT


# --------------------------------------------------------------------------- helpers


run = run_cli


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def model(nodes, inputs, outputs, inits=(), opset=17, extra_opsets=(), ir=8) -> onnx.ModelProto:
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    return helper.make_model(g, opset_imports=ops, ir_version=ir)


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


X, Y = vi("x", [1, 4]), vi("y", [1, 4])


# --------------------------------------------------------------------------- the file itself


def test_missing_path(tmp_path):
    assert_error(run("profile", tmp_path / "nope.onnx"), 2, "nope.onnx", "no such file")


def test_directory(tmp_path):
    assert_error(run("profile", tmp_path), 2, str(tmp_path), "is a directory")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.onnx"
    p.write_bytes(b"")
    assert_error(run("profile", p), 1, "empty.onnx", "file is empty")


def test_broken_symlink(tmp_path):
    p = tmp_path / "link.onnx"
    p.symlink_to(tmp_path / "gone.onnx")
    assert_error(run("profile", p), 2, "link.onnx", "broken symbolic link")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_chmod(tmp_path):
    p = tmp_path / "locked.onnx"
    p.write_bytes((SAMPLES / "mlp.onnx").read_bytes())
    p.chmod(0)
    try:
        assert_error(run("profile", p), 2, "locked.onnx: permission denied")
    finally:
        p.chmod(0o644)


def _deny_access(monkeypatch, path: Path) -> None:
    # the branch a non-root user hits; as root os.access says yes, so make it say no
    real = os.access
    monkeypatch.setattr(os, "access", lambda q, m, *a, **k: False if Path(q) == path else real(q, m, *a, **k))


def test_unreadable_file_library(tmp_path, monkeypatch):
    p = tmp_path / "locked.onnx"
    p.write_bytes((SAMPLES / "mlp.onnx").read_bytes())
    _deny_access(monkeypatch, p)
    with pytest.raises(UsageError, match="locked.onnx: permission denied"):
        onnxstat.profile(p)


def test_unreadable_file_cli(tmp_path, monkeypatch):
    p = tmp_path / "locked.onnx"
    p.write_bytes((SAMPLES / "mlp.onnx").read_bytes())
    _deny_access(monkeypatch, p)
    assert_error(run("profile", p), 2, "locked.onnx: permission denied")


def test_unreadable_file_bench_cli(tmp_path, monkeypatch):
    p = tmp_path / "locked.onnx"
    p.write_bytes((SAMPLES / "mlp.onnx").read_bytes())
    _deny_access(monkeypatch, p)
    assert_error(run("bench", p, "--runs", "1", "-q"), 2, "locked.onnx: permission denied")


def test_unreadable_file_open_fails(tmp_path, monkeypatch):
    # access() said yes but open() says no (ACLs, races): still one line, exit 2
    p = tmp_path / "locked.onnx"
    p.write_bytes((SAMPLES / "mlp.onnx").read_bytes())
    real_open = open

    def fake_open(file, *a, **k):
        if Path(str(file)) == p:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    assert_error(run("profile", p), 2, "locked.onnx", "permission denied")


@pytest.mark.parametrize(
    "name, content, what",
    [
        ("notes.onnx", b"This is not a model.\nJust some notes.\n", "looks like a text file"),
        ("image.onnx", b"\x89PNG\r\n\x1a\n" + bytes(200), "looks like a PNG image"),
        ("lfs.onnx", b"version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 1000\n", "Git LFS pointer"),
        ("page.onnx", b"<!DOCTYPE html><html><body>404</body></html>", "HTML page"),
        ("model.onnx.gz", b"\x1f\x8b\x08\x00" + bytes(40), "gzip archive"),
        ("weights.onnx", b"\x80\x04\x95" + bytes(40), "Python pickle"),
    ],
)
def test_other_file_types(tmp_path, name, content, what):
    p = tmp_path / name
    p.write_bytes(content)
    assert_error(run("profile", p), 1, name, "not an ONNX model", what)


def test_onnx_text_format(tmp_path):
    from google.protobuf import text_format

    p = tmp_path / "lstm.txt"
    p.write_text(text_format.MessageToString(onnx.load(SAMPLES / "lstm.onnx")))
    assert_error(run("profile", p), 1, "lstm.txt: an ONNX model in protobuf text format", "format='textproto'")


def test_zip_archive(tmp_path):
    p = tmp_path / "model.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("model.onnx", (SAMPLES / "mlp.onnx").read_bytes())
    assert_error(run("profile", p), 1, "model.zip", "looks like a zip archive")


def test_random_bytes(tmp_path):
    rng = random.Random(1234)
    for i in range(20):
        p = tmp_path / f"random{i}.onnx"
        p.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
        res = run("profile", p)
        # random bytes are never a model with a graph
        assert_error(res, 1, f"random{i}.onnx")


CNN_SIZE = (SAMPLES / "cnn.onnx").stat().st_size


@pytest.mark.parametrize("cut", [1, 2, 10, 100, 101, 1000, CNN_SIZE // 2, CNN_SIZE - 7, CNN_SIZE - 1])
def test_truncated_model(tmp_path, cut):
    p = tmp_path / "cut.onnx"
    p.write_bytes((SAMPLES / "cnn.onnx").read_bytes()[:cut])
    # short cuts still parse (as a model with no graph), longer ones end inside a field
    assert_error(run("profile", p), 1, "cut.onnx", "not a valid ONNX model", "truncated")


def test_truncated_message_names_the_sizes(tmp_path):
    # cnn.onnx writes ir_version, producer name/version and graph (field 7) in that order;
    # the graph field is its key byte 0x3a, a varint length L and L bytes
    data = (SAMPLES / "cnn.onnx").read_bytes()
    m = onnx.load_model_from_string(data)
    glen = len(m.graph.SerializeToString())
    start = data.index(b"\x3a" + loader._enc_varint(glen))
    end = start + 1 + len(loader._enc_varint(glen)) + glen
    assert start > 0 and end < len(data)  # opset_import follows the graph
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[:1000])
    assert_error(run("profile", p), 1, f"a field at byte {start} needs {end} bytes, the file has 1000")


def test_serialized_tensor(tmp_path):
    t = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4), "w")
    p = tmp_path / "tensor.onnx"
    p.write_bytes(t.SerializeToString())
    assert_error(run("profile", p), 1, "tensor.onnx", "not an ONNX model", "onnx.TensorProto")


def test_serialized_small_tensor_in_typed_field(tmp_path):
    t = helper.make_tensor("t", F, [2], [1.0, 2.0])  # float_data, not raw_data
    p = tmp_path / "t.onnx"
    p.write_bytes(t.SerializeToString())
    assert_error(run("profile", p), 1, "t.onnx", "onnx.TensorProto")


def test_serialized_graph(tmp_path):
    g = onnx.load(SAMPLES / "cnn.onnx").graph
    p = tmp_path / "graph.onnx"
    p.write_bytes(g.SerializeToString())
    assert_error(run("profile", p), 1, "graph.onnx", "onnx.GraphProto", "make_model")


def test_model_without_graph(tmp_path):
    p = save(onnx.ModelProto(ir_version=8), tmp_path / "nograph.onnx")
    assert_error(run("profile", p), 1, "nograph.onnx", "it has no graph")


def test_empty_graph(tmp_path):
    p = save(model([], [], []), tmp_path / "e.onnx")
    assert_error(run("profile", p), 1, "e.onnx", "the graph is empty")


def test_no_opset_import(tmp_path):
    m = model([helper.make_node("Relu", ["x"], ["y"])], [X], [Y])
    del m.opset_import[:]
    p = save(m, tmp_path / "noops.onnx")
    assert_error(run("profile", p), 1, "noops.onnx", "declares no opset_import")


def test_invalid_utf8_name(tmp_path):
    m = model([helper.make_node("Relu", ["x"], ["y"], name="relu_node")], [X], [Y])
    data = m.SerializeToString()
    assert data.count(b"relu_node") == 1
    p = tmp_path / "utf8.onnx"
    p.write_bytes(data.replace(b"relu_node", b"relu\xffnode"))  # same length: only the text is bad
    assert_error(run("profile", p), 1, "utf8.onnx", "model.graph.node[0] (Relu).name", "not valid UTF-8")


def test_deeply_nested_subgraphs(tmp_path):
    # 40 nested If bodies written directly in wire format (see _deep_bytes; onnx.helper itself
    # cannot copy them): 3 message levels each (graph > node > attribute) = 120 > protobuf's 100
    p = tmp_path / "deep.onnx"
    p.write_bytes(_deep_bytes())
    assert_error(run("profile", p), 1, "deep.onnx: not a valid ONNX model: messages nested more than 100 levels deep")


def test_deep_nesting_in_the_stripper():
    # wire format of 150 nested graph/node/attribute messages, each >4 KiB so the stripper descends:
    # the innermost message carries a 5000-byte doc_string
    inner = b"\x52" + loader._enc_varint(5000) + b"a" * 5000  # GraphProto.doc_string (field 10)
    for _ in range(50):
        attr = b"\x32" + loader._enc_varint(len(inner)) + inner  # AttributeProto.g (field 6)
        node = b"\x2a" + loader._enc_varint(len(attr)) + attr  # NodeProto.attribute (field 5)
        inner = b"\x0a" + loader._enc_varint(len(node)) + node  # GraphProto.node (field 1)
    data = b"\x3a" + loader._enc_varint(len(inner)) + inner  # ModelProto.graph (field 7)
    with pytest.raises(loader.CorruptProtobuf, match="nested more than 100"):
        loader.strip_weights(data)


def test_load_bytes_and_model_proto():
    # mlp: 784*256+256 + 256*128+128 + 128*10+10 = 200960 + 32896 + 1290 = 235146 params
    data = (SAMPLES / "mlp.onnx").read_bytes()
    assert onnxstat.profile(onnx.load(SAMPLES / "mlp.onnx")).totals.params == 235146
    assert len(loader.load(data).model.graph.node) == len(onnx.load(SAMPLES / "mlp.onnx").graph.node)
    with pytest.raises(ModelError, match="^model bytes: not a valid ONNX model"):
        loader.load(data[:500])
    with pytest.raises(ModelError, match="model bytes: empty"):
        loader.load(b"")
    with pytest.raises(UsageError, match="expected a path or an onnx.ModelProto, got int"):
        loader.load(42)


# --------------------------------------------------------------------------- graph defects


def test_input_produced_by_nothing(tmp_path):
    p = save(model([helper.make_node("Relu", ["ghost"], ["y"], name="r1")], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'r1' (Relu) input 'ghost' is produced by nothing")


def test_cycle(tmp_path):
    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
        helper.make_node("Relu", ["a"], ["b"], name="n2"),
        helper.make_node("Relu", ["a"], ["y"], name="n3"),
    ]
    p = save(model(nodes, [X], [Y]), tmp_path / "m.onnx")
    # n1 and n2 feed each other; n3 depends on n1, so 3 nodes never become ready
    assert_error(run("profile", p), 1, "m.onnx", "cycle through node 'n1' (3 nodes involved)")


def test_duplicate_output_names(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="n1"), helper.make_node("Relu", ["x"], ["y"], name="n2")]
    p = save(model(nodes, [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "duplicate tensor name 'y'", "'n1'", "'n2'")


def test_duplicate_graph_inputs(tmp_path):
    p = save(model([helper.make_node("Relu", ["x"], ["y"])], [X, vi("x", [1, 4])], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "two graph inputs are named 'x'")


def test_duplicate_initializers(tmp_path):
    w = numpy_helper.from_array(np.ones((4,), np.float32), "w")
    nodes = [helper.make_node("Add", ["x", "w"], ["y"])]
    p = save(model(nodes, [X], [Y], inits=[w, w]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "two initializers are named 'w'")


def test_output_shadowing_an_input(tmp_path):
    p = save(model([helper.make_node("Relu", ["x"], ["x"], name="r")], [X], [X]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'r' output 'x' has the name of a graph input")


def test_output_never_produced(tmp_path):
    p = save(model([helper.make_node("Relu", ["x"], ["a"])], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "graph output 'y' is never produced")


def test_subgraph_defect_names_the_subgraph(tmp_path):
    then_g = helper.make_graph([helper.make_node("Relu", ["phantom"], ["t"], name="inner")], "then", [], [vi("t", [1, 4])])
    else_g = helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "else", [], [vi("e", [1, 4])])
    nodes = [helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then_g, else_branch=else_g)]
    p = save(model(nodes, [X, vi("c", [], TensorProto.BOOL)], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'branch' (If) subgraph reads 'phantom', which is produced by nothing")


def test_unknown_domain_profiles(tmp_path):
    n = helper.make_node("Frobnicate", ["x"], ["y"], name="f", domain="com.example")
    p = save(model([n], [X], [Y], extra_opsets=[("com.example", 1)]), tmp_path / "m.onnx")
    res = run("profile", p, "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert "com.example::Frobnicate (1)" in res.stderr
    import json

    doc = json.loads(res.stdout)
    assert doc["unsupported"] == [{"domain": "com.example", "op_type": "Frobnicate", "count": 1}]


def test_unknown_domain_not_even_imported_profiles(tmp_path):
    n = helper.make_node("Frobnicate", ["x"], ["y"], name="f", domain="com.example")
    p = save(model([n], [X], [Y]), tmp_path / "m.onnx")
    res = run("profile", p)
    assert res.exit_code == 0, res.stderr
    assert "com.example::Frobnicate" in res.output


def test_opset_newer_than_onnx(tmp_path):
    latest = onnx.defs.onnx_opset_version()
    p = save(model([helper.make_node("Relu", ["x"], ["y"])], [X], [Y], opset=latest + 1), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", f"ai.onnx opset {latest + 1}", f"installed onnx knows ({latest})")


def test_opset_zero(tmp_path):
    p = save(model([helper.make_node("Relu", ["x"], ["y"])], [X], [Y], opset=0), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "invalid ai.onnx opset version 0")


def test_opset_declared_twice(tmp_path):
    m = model([helper.make_node("Relu", ["x"], ["y"])], [X], [Y], opset=13)
    m.opset_import.append(helper.make_opsetid("ai.onnx", 17))
    p = save(m, tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "declares domain ai.onnx twice, with opsets 13 and 17")


def test_ir_version_newer_than_onnx_warns(tmp_path):
    p = save(model([helper.make_node("Relu", ["x"], ["y"])], [X], [Y], ir=onnx.IR_VERSION + 5), tmp_path / "m.onnx")
    res = run("profile", p)
    assert res.exit_code == 0
    assert f"IR version {onnx.IR_VERSION + 5} is newer" in " ".join(res.output.split())


def test_missing_required_attribute(tmp_path):
    p = save(model([helper.make_node("Cast", ["x"], ["y"], name="c")], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'c' (Cast) lacks the required attribute 'to'")


def test_attribute_of_the_wrong_type(tmp_path):
    p = save(model([helper.make_node("Cast", ["x"], ["y"], name="c", to="float")], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'c' (Cast) attribute 'to' is STRING; Cast-", "needs INT")


def test_attribute_twice(tmp_path):
    n = helper.make_node("Cast", ["x"], ["y"], name="c", to=1)
    n.attribute.append(helper.make_attribute("to", 1))
    p = save(model([n], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'c' (Cast) has attribute 'to' twice")


def test_constant_without_value(tmp_path):
    p = save(model([helper.make_node("Constant", [], ["y"], name="k")], [], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'k' (Constant) needs exactly one value attribute, has 0")


@pytest.mark.parametrize(
    "op, n_in, n_out, expect",
    [
        ("Gemm", 1, 1, "node 'n' (Gemm) has 1 input; Gemm-13 takes 2 to 3"),
        ("MatMul", 3, 1, "node 'n' (MatMul) has 3 inputs; MatMul-13 takes 2"),
        ("Add", 1, 1, "node 'n' (Add) has 1 input; Add-14 takes 2"),
        ("Concat", 0, 1, "node 'n' (Concat) has 0 inputs; Concat-13 takes at least 1"),
        ("Relu", 1, 2, "node 'n' (Relu) has 2 outputs; Relu-14 produces 1"),
    ],
)
def test_wrong_input_or_output_count(tmp_path, op, n_in, n_out, expect):
    attrs = {"axis": 0} if op == "Concat" else {}
    n = helper.make_node(op, ["x"] * n_in, ["y"] + [f"extra{i}" for i in range(n_out - 1)], name="n", **attrs)
    p = save(model([n], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", expect)


def test_empty_op_type(tmp_path):
    p = save(model([helper.make_node("", ["x"], ["y"], name="blank")], [X], [Y]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "node 'blank' has no op_type")


def test_valid_models_pass_the_structure_checks():
    # no false alarms: every model shipped with onnx's backend tests, every sample model
    base = Path(onnx.__file__).parent / "backend" / "test" / "data"
    paths = sorted(base.rglob("*.onnx")) + sorted(SAMPLES.glob("*.onnx"))
    assert len(paths) > 100
    for p in paths:
        loader.load(p)


# --------------------------------------------------------------------------- shapes


def test_input_shape_unknown_name():
    assert_error(
        run("profile", SAMPLES / "cnn.onnx", "--input-shape", "image=1x3x64x64"),
        2,
        "--input-shape names 'image', which is not a model input (inputs: input)",
    )


@pytest.mark.parametrize(
    "arg, expect",
    [
        ("input=1x3xfoo", "bad shape '1x3xfoo'"),
        ("input", "bad --input-shape 'input': expected NAME=VALUE"),
        ("=1x3x64x64", "empty name"),
        ("input=1x-3x64x64", "bad shape '1x-3x64x64'"),
    ],
)
def test_input_shape_bad_syntax(arg, expect):
    assert_error(run("profile", SAMPLES / "cnn.onnx", "--input-shape", arg), 2, expect)


@pytest.mark.parametrize("arg, expect", [("batch=-2", "dims must be zero or positive"), ("batch=two", "expected a whole number"), ("batch", "expected NAME=VALUE")])
def test_dim_bad_values(arg, expect):
    assert_error(run("profile", SAMPLES / "cnn.onnx", "--dim", arg), 2, expect)


def test_input_shape_rank_mismatch():
    assert_error(
        run("profile", SAMPLES / "cnn.onnx", "--input-shape", "input=1x3x64"),
        2,
        "--input-shape input: rank 3 does not match the model's rank 4",
    )


def test_unresolved_dims_warn_and_profile():
    res = run("profile", SAMPLES / "cnn.onnx", "--format", "json")
    assert res.exit_code == 0
    assert "input dims not set, 1 used: batch=1" in res.stderr


def test_negative_initializer_dim(tmp_path):
    w = helper.make_tensor("w", F, [4], [1.0] * 4)
    w.dims[0] = -4
    p = save(model([helper.make_node("Add", ["x", "w"], ["y"])], [X], [Y], inits=[w]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "initializer 'w' has a negative dim ([-4])")


def test_enormous_dims_stay_exact(tmp_path):
    # MatMul [2^40, 2^40] x [2^40, 2^40]: MACs = M*K*N = 2^40 * 2^40 * 2^40 = 2^120,
    # far beyond 2^63; FLOPs = 2 * MACs = 2^121.  Written out so that a wrap shows.
    e = 2**40
    n = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")
    p = save(model([n], [vi("a", [e, e]), vi("b", [e, e])], [vi("y", None)]), tmp_path / "big.onnx")
    res = onnxstat.profile(p)
    assert res.totals.macs == 1329227995784915872903807060280344576 == 2**120
    assert res.totals.flops == 2658455991569831745807614120560689152 == 2**121
    assert type(res.totals.macs) is int
    # through the CLI, JSON keeps the exact integers
    out = run("profile", p, "--format", "json")
    assert out.exit_code == 0, out.stderr
    import json

    doc = json.loads(out.stdout)
    assert doc["totals"]["macs"] == 2**120


def test_enormous_weight_dims_stay_exact(tmp_path):
    # a declared (external, missing) float32 weight of [2^40, 2^40] elements:
    # params = 2^80, weight bytes = 4 * 2^80 = 2^82
    w = TensorProto(name="w", data_type=F, dims=[2**40, 2**40])
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="w.bin")
    n = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    p = save(model([n], [vi("x", [1, 2**40])], [vi("y", None)], inits=[w]), tmp_path / "bigw.onnx")
    res = onnxstat.profile(p)
    assert res.totals.params == 2**80 == 1208925819614629174706176
    assert res.totals.weight_bytes == 2**82
    # MACs: 1 x 2^40 @ 2^40 x 2^40 -> 2^80
    assert res.totals.macs == 2**80


@pytest.mark.parametrize(
    "nodes, inputs, expect",
    [
        ([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [vi("a", [2, 3]), vi("b", [4, 5])], "node 'mm' (MatMul)"),
        ([helper.make_node("Add", ["a", "b"], ["y"], name="ad")], [vi("a", [2, 3]), vi("b", [4, 5])], "node 'ad' (Add)"),
    ],
)
def test_incompatible_input_shapes_are_an_error(tmp_path, nodes, inputs, expect):
    p = save(model(nodes, inputs, [vi("y", None)]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx: shape conflict at", expect, "Incompatible dimensions")


def test_shape_conflict_names_the_file(tmp_path):
    s = numpy_helper.from_array(np.array([3, 3], np.int64), "s")
    n = helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")
    p = save(model([n], [X], [vi("y", None)], inits=[s]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx: shape conflict at node 'rs' (Reshape)")


# --------------------------------------------------------------------------- the library never leaks other exceptions


def test_library_errors_are_onnxstat_errors(tmp_path):
    for bad in (b"", b"\x00" * 10, b"garbage", (SAMPLES / "transformer.onnx").read_bytes()[:5000]):
        p = tmp_path / "bad.onnx"
        p.write_bytes(bad)
        with pytest.raises(OnnxstatError):
            onnxstat.profile(p)


def test_corrupt_file_closes_its_memory_map(tmp_path):
    # a corrupt file used to leave views on the mmap alive while the error propagated
    # (BufferError: cannot close exported pointers exist); now the map is closed
    p = tmp_path / "cut.onnx"
    p.write_bytes((SAMPLES / "mlp.onnx").read_bytes()[:300000])
    for _ in range(3):
        with pytest.raises(ModelError, match="the file is truncated"):
            loader.load(p)


def test_stripper_never_reads_past_the_buffer():
    # every prefix of a small model: strip_weights either succeeds or raises CorruptProtobuf
    data = (SAMPLES / "lstm.onnx").read_bytes()
    full, _ = loader.strip_weights(data, keep=64)
    ok = 0
    for cut in range(0, len(data), 97):
        try:
            loader.strip_weights(memoryview(data)[:cut], keep=64)
            ok += 1
        except loader.CorruptProtobuf:
            pass
    assert ok >= 1  # the empty prefix is a valid (empty) message
    assert len(full) < len(data)


def test_varint_limits():
    assert loader._varint(b"\x96\x01", 0) == (150, 2)
    with pytest.raises(loader.CorruptProtobuf, match="longer than 10 bytes"):
        loader._varint(b"\xff" * 11, 0)
    with pytest.raises(loader.CorruptProtobuf, match="truncated"):
        loader._varint(b"\xff\xff", 0)
    with pytest.raises(loader.CorruptProtobuf, match="invalid field number 0"):
        list(loader._fields(b"\x00\x00", 0, 2))
    with pytest.raises(loader.CorruptProtobuf, match="invalid wire type 7"):
        list(loader._fields(b"\x0f", 0, 1))


# --------------------------------------------------------------------------- tensor data against dims


def _add_model(w: TensorProto) -> onnx.ModelProto:
    return model([helper.make_node("Add", ["x", "w"], ["y"])], [X], [Y], inits=[w])


def test_small_tensor_data_shorter_than_its_dims(tmp_path):
    # dims [1, 4] float32 need 4*4 = 16 bytes; raw_data holds 8
    w = TensorProto(name="w", data_type=F, dims=[1, 4], raw_data=b"\x00" * 8)
    p = save(_add_model(w), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "tensor 'w' declares dims [1, 4] of float (16 bytes) but holds 8 bytes")


def test_stripped_tensor_data_checked_against_its_dims(tmp_path):
    # 5000 float32 of raw_data (20000 bytes, above the 4096-byte keep limit, so the loader
    # strips it) declared as [1, 6000]: 6000*4 = 24000 bytes expected
    w = TensorProto(name="w", data_type=F, dims=[1, 6000], raw_data=np.zeros(5000, np.float32).tobytes())
    m = model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1, 6000])], [vi("y", [1, 6000])], inits=[w])
    p = save(m, tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "tensor 'w' declares dims [1, 6000] of float (24000 bytes) but holds 20000 bytes")


def test_huge_declared_dims_with_little_data(tmp_path):
    # dims [2^40] float32 = 2^42 = 4398046511104 bytes declared, 256 bytes present
    w = TensorProto(name="w", data_type=F, dims=[2**40], raw_data=bytes(256))
    p = save(_add_model(w), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "declares dims [1099511627776] of float (4398046511104 bytes) but holds 256 bytes")


def test_typed_field_count_against_dims(tmp_path):
    w = TensorProto(name="w", data_type=F, dims=[1, 4])
    w.float_data.extend([1.0, 2.0, 3.0])  # 3 values for 4 elements
    p = save(_add_model(w), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "tensor 'w' declares 4 elements (dims [1, 4]) but holds 3 in float_data")


def test_string_tensor_with_raw_data(tmp_path):
    w = TensorProto(name="s", data_type=TensorProto.STRING, dims=[1], raw_data=b"abcd")
    n = helper.make_node("Identity", ["s"], ["y"])
    p = save(model([n], [], [vi("y", [1], TensorProto.STRING)], inits=[w]), tmp_path / "m.onnx")
    assert_error(run("profile", p), 1, "m.onnx", "tensor 's' is a string tensor but holds raw_data")


def test_declaration_without_data_still_counts(tmp_path):
    # a tensor with dims and dtype but no data at all (and not external): counted, not refused
    w = TensorProto(name="w", data_type=F, dims=[1, 4])
    p = save(_add_model(w), tmp_path / "m.onnx")
    res = onnxstat.profile(p)
    assert res.totals.params == 4  # 1*4 declared elements


# --------------------------------------------------------------------------- benchmark inputs


@pytest.fixture
def npy(tmp_path):
    def make(name, array):
        p = tmp_path / f"{name}.npy"
        np.save(p, array)
        return p

    return make


@pytest.mark.parametrize(
    "array, expect",
    [
        (np.zeros((1, 3, 64, 64), np.float64), "dtype float64 does not match input 'input' of dtype float32"),
        (np.zeros((1, 3, 64, 64), np.int32), "dtype int32 does not match input 'input' of dtype float32"),
        (np.zeros((3, 64, 64), np.float32), "shape 3x64x64 (rank 3) does not match input 'input' of shape batchx3x64x64 (rank 4)"),
        (np.zeros((1, 4, 64, 64), np.float32), "shape 1x4x64x64 does not match input 'input' of shape batchx3x64x64 (dim 1 must be 3)"),
    ],
)
def test_bench_input_of_the_wrong_dtype_or_shape(npy, array, expect):
    f = npy("in", array)
    res = run("bench", SAMPLES / "cnn.onnx", "--input", f"input={f}", "--runs", "1", "--warmup", "0", "-q")
    assert_error(res, 2, f"--input input={f}", expect)


def test_bench_input_not_an_array(tmp_path, npy):
    obj = npy("obj", np.array([{"a": 1}], dtype=object))
    assert_error(run("bench", SAMPLES / "cnn.onnx", "--input", f"input={obj}", "--runs", "1", "-q"), 2, "not a readable .npy array")
    text = tmp_path / "text.npy"
    text.write_text("hello")
    assert_error(run("bench", SAMPLES / "cnn.onnx", "--input", f"input={text}", "--runs", "1", "-q"), 2, "not a readable .npy array")
    assert_error(run("bench", SAMPLES / "cnn.onnx", "--input", f"input={tmp_path / 'none.npy'}", "--runs", "1", "-q"), 2, "no such file")


def test_bench_input_names_no_model_input(npy):
    f = npy("in", np.zeros((1, 3, 64, 64), np.float32))
    assert_error(run("bench", SAMPLES / "cnn.onnx", "--input", f"image={f}", "--runs", "1", "-q"), 2, "--input names 'image', which is not a model input (inputs: input)")


# --------------------------------------------------------------------------- docs/robustness.md
#
# Every case below runs through the CLI from inside its own folder (so messages show
# relative names) and the table in docs/robustness.md must show exactly what it
# printed.  Regenerate the table with:  python tests/test_robustness.py


def _w(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _m(d: Path, name: str, m: onnx.ModelProto) -> None:
    save(m, d / name)


def _relu(**kw) -> onnx.ModelProto:
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [X], [Y], **kw)


def _ext_model(loc: str, offset: str = "0", length: str = "64") -> onnx.ModelProto:
    w = TensorProto(name="w", data_type=F, dims=[4, 4], data_location=TensorProto.EXTERNAL)
    for k, v in (("location", loc), ("offset", offset), ("length", length)):
        if v is not None:
            w.external_data.add(key=k, value=v)
    n = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    return model([n], [X], [Y], inits=[w])


def _deep_bytes() -> bytes:
    inner = b""
    for _ in range(40):
        attr = b"\x0a\x0bthen_branch" + b"\x32" + loader._enc_varint(len(inner)) + inner + b"\xa0\x01\x05"
        node = b"\x0a\x01c" + b"\x12\x01o" + b"\x22\x02If" + b"\x2a" + loader._enc_varint(len(attr)) + attr
        inner = b"\x0a" + loader._enc_varint(len(node)) + node
    return b"\x08\x08" + b"\x3a" + loader._enc_varint(len(inner)) + inner + b"\x42\x02\x10\x11"


def _setup_escape(d: Path, loc: str) -> None:
    (d / "outside").mkdir()
    (d / "outside" / "secret.bin").write_bytes(bytes(64))
    (d / "model").mkdir()
    (d / "model" / "link.bin").symlink_to(d / "outside" / "secret.bin")
    _m(d / "model", "m.onnx", _ext_model(loc))


def _deny(path: str, mode: int):
    import contextlib

    @contextlib.contextmanager
    def cm():
        real = os.access
        os.access = lambda p, m, *a, **k: False if os.path.abspath(p) == os.path.abspath(path) and m == mode else real(p, m, *a, **k)
        try:
            yield
        finally:
            os.access = real

    return cm


CNN = str(SAMPLES / "cnn.onnx")
MLP = str(SAMPLES / "mlp.onnx")
J = ["--format", "json"]

# (section, case, setup(folder) -> argv [, context manager factory])
DOC_CASES = [
    ("File", "path does not exist", lambda d: ["profile", "missing.onnx"]),
    ("File", "path is a directory", lambda d: ((d / "models").mkdir(), ["profile", "models"])[1]),
    ("File", "empty file", lambda d: (_w(d / "empty.onnx", b""), ["profile", "empty.onnx"])[1]),
    ("File", "not readable (as a non-root user)",
     lambda d: (_w(d / "locked.onnx", b"\x08\x08"), ["profile", "locked.onnx"], _deny(str(d / "locked.onnx"), os.R_OK))[1:]),
    ("File", "broken symbolic link", lambda d: ((d / "link.onnx").symlink_to(d / "gone.onnx"), ["profile", "link.onnx"])[1]),
    ("File", "a text file", lambda d: (_w(d / "notes.onnx", b"These are notes, not a model.\n"), ["profile", "notes.onnx"])[1]),
    ("File", "a PNG image", lambda d: (_w(d / "photo.onnx", b"\x89PNG\r\n\x1a\n" + bytes(100)), ["profile", "photo.onnx"])[1]),
    ("File", "a zip archive", lambda d: (_w(d / "model.zip", b"PK\x03\x04" + bytes(100)), ["profile", "model.zip"])[1]),
    ("File", "a gzip-compressed model", lambda d: (_w(d / "model.onnx.gz", b"\x1f\x8b\x08\x00" + bytes(100)), ["profile", "model.onnx.gz"])[1]),
    ("File", "a Git LFS pointer instead of the model",
     lambda d: (_w(d / "lfs.onnx", b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n"), ["profile", "lfs.onnx"])[1]),
    ("File", "an HTML error page saved as .onnx", lambda d: (_w(d / "page.onnx", b"<!DOCTYPE html><html>404</html>"), ["profile", "page.onnx"])[1]),
    ("File", "a Python pickle (e.g. a PyTorch .pt)", lambda d: (_w(d / "w.onnx", b"\x80\x04\x95" + bytes(64)), ["profile", "w.onnx"])[1]),
    ("File", "random bytes", lambda d: (_w(d / "random.onnx", bytes(random.Random(7).randrange(256) for _ in range(1000))), ["profile", "random.onnx"])[1]),
    ("File", "truncated after 2 bytes", lambda d: (_w(d / "cut.onnx", (SAMPLES / "cnn.onnx").read_bytes()[:2]), ["profile", "cut.onnx"])[1]),
    ("File", "truncated after 1000 bytes", lambda d: (_w(d / "cut.onnx", (SAMPLES / "cnn.onnx").read_bytes()[:1000]), ["profile", "cut.onnx"])[1]),
    ("File", "truncated by 1 byte", lambda d: (_w(d / "cut.onnx", (SAMPLES / "cnn.onnx").read_bytes()[:-1]), ["profile", "cut.onnx"])[1]),
    ("File", "an ONNX model in text format", lambda d: (_w(d / "m.txt", b'ir_version: 8\ngraph {\n  name: "g"\n}\n'), ["profile", "m.txt"])[1]),
    ("File", "a serialized TensorProto",
     lambda d: (_w(d / "t.onnx", numpy_helper.from_array(np.zeros((2, 2), np.float32), "t").SerializeToString()), ["profile", "t.onnx"])[1]),
    ("File", "a serialized GraphProto", lambda d: (_w(d / "g.onnx", onnx.load(CNN).graph.SerializeToString()), ["profile", "g.onnx"])[1]),
    ("File", "a ModelProto without a graph", lambda d: (_m(d, "m.onnx", onnx.ModelProto(ir_version=8)), ["profile", "m.onnx"])[1]),
    ("File", "an empty graph", lambda d: (_m(d, "m.onnx", model([], [], [])), ["profile", "m.onnx"])[1]),
    ("File", "text that is not UTF-8",
     lambda d: (_w(d / "m.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="relu_node")], [X], [Y])
                   .SerializeToString().replace(b"relu_node", b"relu\xffnode")), ["profile", "m.onnx"])[1]),
    ("File", "subgraphs nested deeper than protobuf allows", lambda d: (_w(d / "deep.onnx", _deep_bytes()), ["profile", "deep.onnx"])[1]),
    ("Graph", "node input produced by nothing",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Relu", ["ghost"], ["y"], name="r1")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "a cycle", lambda d: (_m(d, "m.onnx", model([
        helper.make_node("Add", ["x", "b"], ["a"], name="n1"), helper.make_node("Relu", ["a"], ["b"], name="n2"),
        helper.make_node("Relu", ["a"], ["y"], name="n3")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "two nodes produce the same tensor", lambda d: (_m(d, "m.onnx", model([
        helper.make_node("Relu", ["x"], ["y"], name="n1"), helper.make_node("Relu", ["x"], ["y"], name="n2")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "two graph inputs with one name",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [X, vi("x", [1, 4])], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "two initializers with one name", lambda d: (_m(d, "m.onnx", model([helper.make_node("Add", ["x", "w"], ["y"])], [X], [Y],
        inits=[numpy_helper.from_array(np.ones(4, np.float32), "w")] * 2)), ["profile", "m.onnx"])[1]),
    ("Graph", "graph output never produced",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Relu", ["x"], ["a"])], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "subgraph reads a name nothing defines", lambda d: (_m(d, "m.onnx", model([helper.make_node(
        "If", ["c"], ["y"], name="branch",
        then_branch=helper.make_graph([helper.make_node("Relu", ["phantom"], ["t"])], "t", [], [vi("t", [1, 4])]),
        else_branch=helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "e", [], [vi("e", [1, 4])]))],
        [X, vi("c", [], TensorProto.BOOL)], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "unknown domain (profiles; node reported unsupported)", lambda d: (_m(d, "m.onnx", model(
        [helper.make_node("Frobnicate", ["x"], ["y"], name="f", domain="com.example")], [X], [Y],
        extra_opsets=[("com.example", 1)])), ["profile", "m.onnx", *J])[1]),
    ("Graph", "ai.onnx opset newer than the installed onnx",
     lambda d: (_m(d, "m.onnx", _relu(opset=onnx.defs.onnx_opset_version() + 1)), ["profile", "m.onnx"])[1]),
    ("Graph", "opset version 0", lambda d: (_m(d, "m.onnx", _relu(opset=0)), ["profile", "m.onnx"])[1]),
    ("Graph", "IR version newer than the installed onnx (profiles)", lambda d: (_m(d, "m.onnx", _relu(ir=99)), ["profile", "m.onnx", *J])[1]),
    ("Graph", "required attribute missing",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Cast", ["x"], ["y"], name="c")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "attribute of the wrong type",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Cast", ["x"], ["y"], name="c", to="float")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "Constant without a value",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Constant", [], ["y"], name="k")], [], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "too few inputs",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Gemm", ["x"], ["y"], name="g")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "too many inputs",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("MatMul", ["x", "x", "x"], ["y"], name="mm")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "too many outputs",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("Relu", ["x"], ["y", "z"], name="r")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Graph", "node without op_type",
     lambda d: (_m(d, "m.onnx", model([helper.make_node("", ["x"], ["y"], name="blank")], [X], [Y])), ["profile", "m.onnx"])[1]),
    ("Tensor data", "initializer with a negative dim", lambda d: (_m(d, "m.onnx", _add_model(
        TensorProto(name="w", data_type=F, dims=[-4], float_data=[1, 1, 1, 1]))), ["profile", "m.onnx"])[1]),
    ("Tensor data", "data shorter than the dims", lambda d: (_m(d, "m.onnx", _add_model(
        TensorProto(name="w", data_type=F, dims=[1, 4], raw_data=bytes(8)))), ["profile", "m.onnx"])[1]),
    ("Tensor data", "huge dims, little data", lambda d: (_m(d, "m.onnx", _add_model(
        TensorProto(name="w", data_type=F, dims=[2**40], raw_data=bytes(256)))), ["profile", "m.onnx"])[1]),
    ("Shapes", "--input-shape names no input", lambda d: ["profile", CNN, "--input-shape", "image=1x3x64x64"]),
    ("Shapes", "--input-shape with bad syntax", lambda d: ["profile", CNN, "--input-shape", "input=1x3xfoo"]),
    ("Shapes", "--input-shape with a negative dim", lambda d: ["profile", CNN, "--input-shape", "input=1x-3x64x64"]),
    ("Shapes", "--input-shape of the wrong rank", lambda d: ["profile", CNN, "--input-shape", "input=1x3x64"]),
    ("Shapes", "--dim with a negative value", lambda d: ["profile", CNN, "--dim", "batch=-1"]),
    ("Shapes", "unresolved dims (profiles)", lambda d: ["profile", CNN, *J]),
    ("Shapes", "MatMul with dims 2^40 (profiles; MACs exactly 2^120)", lambda d: (_m(d, "big.onnx", model(
        [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [vi("a", [2**40, 2**40]), vi("b", [2**40, 2**40])],
        [vi("y", None)])), ["profile", "big.onnx", "--format", "csv"])[1]),
    ("Shapes", "Reshape target that does not fit", lambda d: (_m(d, "m.onnx", model(
        [helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")], [X], [vi("y", None)],
        inits=[numpy_helper.from_array(np.array([3, 3], np.int64), "s")])), ["profile", "m.onnx"])[1]),
    ("Shapes", "MatMul of incompatible shapes", lambda d: (_m(d, "m.onnx", model(
        [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [vi("a", [2, 3]), vi("b", [4, 5])], [vi("y", None)])),
        ["profile", "m.onnx", *J])[1]),
    ("External data", "data file missing (profiles)", lambda d: (_m(d, "m.onnx", _ext_model("w.bin")), ["profile", "m.onnx", *J])[1]),
    ("External data", "location ../ outside the folder (profiles)",
     lambda d: (_setup_escape(d, "../outside/secret.bin"), ["profile", "model/m.onnx", *J])[1]),
    ("External data", "absolute location (profiles)", lambda d: (_setup_escape(d, "/etc/passwd"), ["profile", "model/m.onnx", *J])[1]),
    ("External data", "symlink pointing outside (profiles)", lambda d: (_setup_escape(d, "link.bin"), ["profile", "model/m.onnx", *J])[1]),
    ("External data", "outside location with --simplify (profiles the original)",
     lambda d: (_setup_escape(d, "../outside/secret.bin"), ["profile", "model/m.onnx", "--simplify", *J])[1]),
    ("External data", "outside location with --shape-source ort",
     lambda d: (_setup_escape(d, "../outside/secret.bin"), ["profile", "model/m.onnx", "--shape-source", "ort"])[1]),
    ("External data", "outside location with bench",
     lambda d: (_setup_escape(d, "../outside/secret.bin"), ["bench", "model/m.onnx", "--runs", "1", "-q"])[1]),
    ("External data", "offset beyond the file (profiles)", lambda d: (_w(d / "w.bin", bytes(64)), _m(d, "m.onnx", _ext_model("w.bin", offset="32")),
                                                                     ["profile", "m.onnx", *J])[2]),
    ("External data", "non-numeric offset (profiles)", lambda d: (_w(d / "w.bin", bytes(64)), _m(d, "m.onnx", _ext_model("w.bin", offset="abc")),
                                                                 ["profile", "m.onnx", *J])[2]),
    ("External data", "a FIFO as the data file (profiles; never opened)",
     lambda d: (os.mkfifo(d / "w.bin"), _m(d, "m.onnx", _ext_model("w.bin")), ["profile", "m.onnx", *J])[2]),
    ("Output", "-o into a missing folder", lambda d: ["profile", MLP, *J, "-o", "no/such/report.json"]),
    ("Output", "-o below a file", lambda d: (_w(d / "file.txt", b"x"), ["profile", MLP, *J, "-o", "file.txt/report.json"])[1]),
    ("Output", "-o is a directory", lambda d: ((d / "reports").mkdir(), ["profile", MLP, *J, "-o", "reports"])[1]),
    ("Output", "-o into a folder without write permission",
     lambda d: ((d / "ro").mkdir(), ["profile", MLP, *J, "-o", "ro/report.json"], _deny(str(d / "ro"), os.W_OK))[1:]),
    ("Output", "-o on a read-only file system", lambda d: ["profile", MLP, *J, "-o", "/proc/report.json"]),
    ("Output", "-o naming the model itself", lambda d: (_w(d / "m.onnx", (SAMPLES / "mlp.onnx").read_bytes()), ["profile", "m.onnx", *J, "-o", "m.onnx"])[1]),
    ("Bench inputs", "--input of the wrong dtype",
     lambda d: (np.save(d / "in.npy", np.zeros((1, 3, 64, 64), np.float64)), ["bench", CNN, "--input", "input=in.npy", "--runs", "1", "-q"])[1]),
    ("Bench inputs", "--input of the wrong rank",
     lambda d: (np.save(d / "in.npy", np.zeros((3, 64, 64), np.float32)), ["bench", CNN, "--input", "input=in.npy", "--runs", "1", "-q"])[1]),
    ("Bench inputs", "--input with a wrong dim",
     lambda d: (np.save(d / "in.npy", np.zeros((1, 4, 64, 64), np.float32)), ["bench", CNN, "--input", "input=in.npy", "--runs", "1", "-q"])[1]),
    ("Bench inputs", "--input that is not a .npy array",
     lambda d: (_w(d / "in.npy", b"hello"), ["bench", CNN, "--input", "input=in.npy", "--runs", "1", "-q"])[1]),
    ("Bench inputs", "--input naming no model input",
     lambda d: (np.save(d / "in.npy", np.zeros((1, 3, 64, 64), np.float32)), ["bench", CNN, "--input", "image=in.npy", "--runs", "1", "-q"])[1]),
]


def _shown(arg: str) -> str:
    return arg.replace(str(SAMPLES) + os.sep, "sample_models/")


def run_doc_case(setup, folder: Path) -> tuple[str, int, str]:
    """(command line, exit code, stderr) of one documented case, run from ``folder``."""
    import contextlib

    folder.mkdir(parents=True, exist_ok=True)
    old = os.getcwd()
    os.chdir(folder)
    try:
        got = setup(folder)
        argv, cm = (got[0], got[1]) if isinstance(got, tuple) else (got, contextlib.nullcontext)
        with cm():
            res = CliRunner().invoke(cli, argv)
        err = res.stderr
        if res.exit_code == 0:  # show the warnings, not the report
            err = "\n".join(line for line in err.splitlines() if line.startswith("onnxstat:") and "wrote" not in line)
        if argv[:1] == ["profile"] and "--format" in argv and argv[argv.index("--format") + 1] == "csv":
            total = next(line for line in res.stdout.splitlines() if line.startswith('"TOTAL"'))
            err = (err + "\n" if err else "") + "(stdout) " + total
    finally:
        os.chdir(old)
    return "onnxstat " + " ".join(_shown(a) for a in argv), res.exit_code, err.strip()


def _code(text: str) -> str:
    """A Markdown code span that may itself contain backticks."""
    if not text:
        return "(empty line)"
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def doc_rows(base: Path) -> list[str]:
    rows, section = [], None
    for i, (sec, case, setup) in enumerate(DOC_CASES):
        if sec != section:
            rows.append(f"| **{sec}** | | | |")
            section = sec
        cmd, code, err = run_doc_case(setup, base / f"case{i}")
        msg = "<br>".join(_code(line) for line in err.splitlines()) if err else "(nothing)"
        rows.append(f"| {case} | {_code(cmd)} | {code} | {msg.replace('|', '&#124;')} |")
    return rows


DOC = Path(__file__).resolve().parent.parent / "docs" / "robustness.md"


def _onnx_limits_as_placeholders(text: str, opset: int | None = None, ir: int | None = None) -> str:
    """Two rows quote the installed onnx's own limits (its newest opset, its IR version).
    The docs are generated with the newest onnx and the suite also runs on the lowest:
    those numbers become placeholders (the given ones, else any "opset N+1 ... (N)")."""
    import re

    def num(v):
        return r"(\d+)" if v is None else f"({v})"

    def opset_row(m):
        return "opset {N+1}, newer than the installed onnx knows ({N})" if int(m[1]) == int(m[2]) + 1 else m[0]

    text = re.sub(rf"opset {num(opset and opset + 1)}, newer than the installed onnx knows \({num(opset)}\)", opset_row, text)
    return re.sub(rf"(IR version \d+ is newer than the installed onnx knows )\({num(ir)}\)", r"\1({IR})", text)


def test_docs_table_shows_the_real_messages(tmp_path):
    text = _onnx_limits_as_placeholders(DOC.read_text(encoding="utf-8"))
    rows = [_onnx_limits_as_placeholders(r, onnx.defs.onnx_opset_version(), onnx.IR_VERSION) for r in doc_rows(tmp_path)]
    missing = [row for row in rows if row not in text]
    assert not missing, "docs/robustness.md is out of date (regenerate: python tests/test_robustness.py):\n" + "\n".join(missing)


if __name__ == "__main__":  # print the table for docs/robustness.md
    with tempfile.TemporaryDirectory() as tmp:
        print("| Case | Command | Exit | What the user sees (stderr) |")
        print("|---|---|---|---|")
        print("\n".join(doc_rows(Path(tmp))))
