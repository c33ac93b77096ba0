"""The private parts of onnx that onnxstat uses sit behind one function each, with a
fallback to the public API: a release that renames one must not break profiling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx

from onnxstat.model import _onnx as ox

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models"


def test_schema_default_without_the_private_field():
    schema = onnx.defs.get_schema("LeakyRelu", 16, "")
    attr = schema.attributes["alpha"]

    class Public:  # what a release without the private field would give
        default_value = attr.default_value

    assert ox.schema_default(attr) == ox.schema_default(Public()) == attr.default_value
    assert abs(ox.schema_default(Public()).f - 0.01) < 1e-9


def test_infer_node_falls_back_to_whole_model_inference():
    node = onnx.helper.make_node("MatMul", ["a", "b"], ["y"])
    types = {n: onnx.helper.make_tensor_type_proto(1, s).SerializeToString() for n, s in (("a", [2, 3]), ("b", [3, 5]))}
    schema = onnx.defs.get_schema("MatMul", 17, "")

    class NoPrivate:  # a schema object without the private per-node entry point
        has_type_and_shape_inference_function = True

    fast = ox.infer_node(schema, node, types, {}, {"": 17}, 8)
    slow = ox.infer_node(NoPrivate(), node, types, {}, {"": 17}, 8)
    assert onnx.TypeProto.FromString(fast["y"]) == onnx.TypeProto.FromString(slow["y"])
    assert [d.dim_value for d in onnx.TypeProto.FromString(slow["y"]).tensor_type.shape.dim] == [2, 5]


def test_profile_without_the_private_entry_points_gives_the_same_json():
    """Every sample model profiles identically when both private entry points are gone."""
    code = """
import json, sys
from onnxstat.model import _onnx as ox
if sys.argv[1] == "public":
    real_get_schema = ox.get_schema
    class Wrapped:
        def __init__(self, s):
            self._s = s
        def __getattr__(self, name):
            if name == "_infer_node_outputs":
                raise AttributeError(name)
            return getattr(self._s, name)
    ox.get_schema = lambda *a: Wrapped(real_get_schema(*a))
    real_default = ox.schema_default
    class Attr:  # only the public property, as a release without the private field has
        def __init__(self, a):
            ox.full()
            self.default_value = a.default_value
    ox.schema_default = lambda a: real_default(Attr(a))
import onnxstat
out = {}
for p in sys.argv[2:]:
    d = onnxstat.profile(p, dims={"batch": 1, "seq": 8}, strict_dims=False).to_dict()
    out[p] = {"totals": d["totals"], "nodes": [(n["name"], n["outputs"]) for n in d["nodes"]]}
print(json.dumps(out, sort_keys=True))
"""
    models = [str(p) for p in sorted(SAMPLES.glob("*.onnx")) if "external" not in p.name]
    got = [subprocess.run([sys.executable, "-c", code, mode, *models], capture_output=True, text=True, cwd=ROOT,
                          timeout=300) for mode in ("private", "public")]
    for r in got:
        assert r.returncode == 0, r.stderr
    assert json.loads(got[0].stdout) == json.loads(got[1].stdout)


def test_dtype_spelling_names_types_this_onnx_may_not_know():
    # onnx's own spelling where it has one; our name (op_handlers.base.DTYPES) for a type
    # added after the installed onnx (24 = float8e8m0 came in onnx 1.18); a number otherwise
    assert ox.dtype_spelling(onnx.TensorProto.FLOAT) == "float"
    assert ox.dtype_spelling(onnx.TensorProto.BFLOAT16) == "bfloat16"
    assert ox.dtype_spelling(24) == "float8e8m0"
    assert ox.dtype_spelling(26) == "int2"
    assert ox.dtype_spelling(999) == "data type 999"


def test_short_data_of_a_newer_dtype_is_one_line(tmp_path):
    # w: dims [2, 4] of float8e8m0 (1 byte each) needs 8 bytes; raw_data holds 3. An onnx
    # that does not know the type must still give the one-line error, not a traceback.
    from helpers import assert_error, run_cli

    w = onnx.TensorProto(name="w", data_type=24, dims=[2, 4], raw_data=b"\x00" * 3)
    g = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])], [w])
    m = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17)])
    p = tmp_path / "m.onnx"
    p.write_bytes(m.SerializeToString())
    assert_error(run_cli("profile", p), 1, "m.onnx", "tensor 'w' declares dims [2, 4] of float8e8m0 (8 bytes) but holds 3 bytes")
