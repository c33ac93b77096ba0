"""What starting onnxstat loads.

onnxstat/model/_onnx.py loads onnx's protobuf classes and C++ extension without the onnx
package; subcommands other than ``profile`` are imported when asked for.  The profile path must give the same results whichever way onnx was loaded, a later
``import onnx`` in the same process must work as usual and share the classes, and the
small replacements for onnx.helper / numpy_helper must agree with the originals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from onnxstat.model import _onnx as ox

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_models"


def _python(code: str, *, env_extra: dict | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ONNXSTAT_FULL_ONNX_IMPORT"}
    env.update(env_extra or {})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _conv_relu_model(path: Path) -> None:
    """Conv with a bias then Relu: no shape arithmetic at all."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    b = numpy_helper.from_array(np.ones(4, np.float32), "b")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, b])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_profile_without_the_onnx_package_or_numpy(tmp_path):
    model = tmp_path / "conv.onnx"
    _conv_relu_model(model)
    out = _python(f"""
import sys, json
from onnxstat.profiler import profile
r = profile({str(model)!r})
print(json.dumps({{"macs": r.totals.macs, "params": r.totals.params,
                  "onnx": "onnx" in sys.modules, "numpy": "numpy" in sys.modules}}))
""")
    got = json.loads(out)
    # Conv: 4 out channels x 8x8 positions x (3 in channels x 3x3 kernel) = 4*64*27 = 6912 MACs;
    # params 4*3*3*3 + 4 = 112
    assert got == {"macs": 6912, "params": 112, "onnx": False, "numpy": False}


def test_later_import_onnx_shares_the_classes_and_works(tmp_path):
    model = tmp_path / "conv.onnx"
    _conv_relu_model(model)
    out = _python(f"""
import sys
from onnxstat.model import _onnx as ox
from onnxstat.profiler import profile
profile({str(model)!r})
assert "onnx" not in sys.modules
import onnx, numpy as np
from onnx import helper, numpy_helper, shape_inference, checker
from onnx.reference import ReferenceEvaluator
assert onnx.onnx_ml_pb2 is ox.pb and onnx.onnx_cpp2py_export is ox.C
assert onnx.ModelProto is ox.ModelProto and onnx.TensorProto is ox.TensorProto
m = onnx.load({str(model)!r})
g = helper.make_graph([helper.make_node("Relu", ["a"], ["b"])], "g",
                      [helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [2])],
                      [helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [2])])
checker.check_model(helper.make_model(g))
inferred = shape_inference.infer_shapes(m)
print(inferred.graph.output[0].type.tensor_type.shape.dim[2].dim_value)
print(ReferenceEvaluator(m).run(None, {{"x": np.ones((1, 3, 8, 8), np.float32)}})[0][0, 0, 4, 4])
""")
    # output 8x8 (pads 1, kernel 3); interior value: 27 ones times weight 1, plus bias 1 = 28
    assert out.split() == ["8", "28.0"]


def test_full_import_fallback_gives_the_same_report():
    code = """
import sys
from onnxstat.profiler import profile
from onnxstat.render import formats as render
r = profile("sample_models/transformer.onnx", dims={"batch": 2, "seq": 16})
print("FULL" if "onnx" in sys.modules else "LIGHT")
print(render.to_json(r))
"""
    light = _python(code)
    full = _python(code, env_extra={"ONNXSTAT_FULL_ONNX_IMPORT": "1"})
    assert light.startswith("LIGHT\n") and full.startswith("FULL\n")
    a, b = json.loads(light.split("\n", 1)[1]), json.loads(full.split("\n", 1)[1])
    a.pop("elapsed_s", None), b.pop("elapsed_s", None)
    assert a["totals"]["macs"] > 0
    assert a["totals"] == b["totals"] and a["nodes"] == b["nodes"]


def test_plain_profile_loads_no_other_command(tmp_path):
    model = tmp_path / "conv.onnx"
    _conv_relu_model(model)
    out = _python(f"""
import sys
from onnxstat.cli import cli
try:
    cli(["profile", {str(model)!r}, "--format", "json", "-o", {str(tmp_path / "out.json")!r}])
except SystemExit as e:
    assert not e.code, e.code
print(sorted(m for m in sys.modules if m.startswith("onnxstat.cmd_") or m in (
    "onnxstat.batch", "onnxstat.roofline", "onnxstat.bench", "onnxstat.report", "onnx", "numpy", "onnxruntime", "rich")))
""")
    assert out.strip() == "[]"
    assert json.loads((tmp_path / "out.json").read_text())["totals"]["macs"] == 6912


def test_every_lazy_command_registers_itself():
    from importlib import import_module

    from onnxstat.cli import LAZY_COMMANDS, cli

    for name, module in LAZY_COMMANDS.items():
        import_module(f"onnxstat.{module}")
        assert name in cli.commands, (name, module)


@pytest.mark.parametrize("entry", [["-m", "onnxstat"], ["-m", "onnxstat.cli"]])
def test_module_entry_points_reach_lazy_commands(entry):
    out = subprocess.run([sys.executable, *entry, "devices", "--format", "json"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "h100" in out.stdout.lower()


# --------------------------------------------------------------------------- replacements


@pytest.mark.parametrize("shape", [None, [], [1, "n", None], [3]])
def test_make_tensor_value_info(shape):
    assert ox.make_tensor_value_info("x", TensorProto.FLOAT16, shape) == helper.make_tensor_value_info(
        "x", TensorProto.FLOAT16, shape)


@pytest.mark.parametrize("attr", [
    helper.make_attribute("f", 1.5), helper.make_attribute("i", 3), helper.make_attribute("s", "abc"),
    helper.make_attribute("t", numpy_helper.from_array(np.ones(2, np.float32))),
    helper.make_attribute("g", helper.make_graph([], "g", [], [])),
    helper.make_attribute("fs", [1.0, 2.0]), helper.make_attribute("is", [1, 2]),
    helper.make_attribute("ss", ["a", "b"]),
    helper.make_attribute("ts", [numpy_helper.from_array(np.ones(2, np.float32))]),
    helper.make_attribute("gs", [helper.make_graph([], "g", [], [])]),
    AttributeProto(name="u", type=AttributeProto.UNDEFINED),
], ids=lambda a: a.name)
def test_get_attribute_value(attr):
    assert ox.get_attribute_value(attr) == helper.get_attribute_value(attr)


def test_get_attribute_value_refuses_a_reference():
    a = AttributeProto(name="alpha", ref_attr_name="outer", type=AttributeProto.FLOAT)
    with pytest.raises(ValueError):
        ox.get_attribute_value(a)


ARRAYS = [
    np.arange(6, dtype=np.int64).reshape(2, 3), np.array(3.5, np.float32), np.array([True, False]),
    np.zeros((0, 2), np.float16), np.array([1, 2], np.uint32), np.array([-1, 2], np.int8),
    np.array([1.25, -2], np.float64), np.array([7], np.uint64), np.array([-3], np.int16),
]


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_from_array_and_to_array(arr):
    t = ox.from_array(arr, "x")
    assert t.SerializeToString() == numpy_helper.from_array(arr, "x").SerializeToString()
    back = ox.to_array(t)
    assert back.dtype == arr.dtype and np.array_equal(back, arr)


@pytest.mark.parametrize("dtype,values", [
    (TensorProto.INT64, [4, 5]), (TensorProto.INT32, [-1, 7]), (TensorProto.FLOAT, [1.5, 2]),
    (TensorProto.DOUBLE, [0.25, 3]), (TensorProto.FLOAT16, [1.5, 2]), (TensorProto.INT8, [1, -2]),
    (TensorProto.UINT8, [200, 1]), (TensorProto.UINT32, [7, 8]), (TensorProto.UINT64, [9, 1]),
    (TensorProto.BOOL, [True, False]), (TensorProto.BFLOAT16, [1.0, 2.0]),
])
def test_to_array_from_typed_fields(dtype, values):
    """Tensors whose data sit in the typed fields (int32_data, int64_data, ...), not raw_data."""
    t = helper.make_tensor("x", dtype, [2], values)
    a, b = ox.to_array(t), numpy_helper.to_array(t)
    assert a.dtype == b.dtype and np.array_equal(a, b)


def test_np_dtype_matches_onnx_for_every_numeric_type():
    for code in TensorProto.DataType.values():
        if code in (TensorProto.UNDEFINED, TensorProto.STRING):
            continue
        try:
            want = helper.tensor_dtype_to_np_dtype(code)
        except Exception:
            continue
        assert ox.np_dtype(code) == want, TensorProto.DataType.Name(code)


def test_schemas_and_versions():
    assert ox.opset_version() == onnx.defs.onnx_opset_version()
    assert ox.opset_version("ai.onnx.ml") == onnx.defs.onnx_ml_opset_version()
    assert ox.IR_VERSION == onnx.IR_VERSION
    for op, attr in [("Conv", "group"), ("Conv", "pads"), ("LeakyRelu", "alpha"), ("Gemm", "transA")]:
        s = ox.get_schema(op, ox.opset_version(), "")
        assert ox.schema_default(s.attributes[attr]) == onnx.defs.get_schema(op).attributes[attr].default_value
    with pytest.raises(ox.SchemaError):
        ox.get_schema("NoSuchOp", 17, "")


def test_infer_shapes_matches_onnx():
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "g",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 5])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    assert ox.infer_shapes(m) == onnx.shape_inference.infer_shapes(m)
    bad = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "g",
                            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
                             helper.make_tensor_value_info("b", TensorProto.FLOAT, [4, 5])],
                            [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)])
    with pytest.raises(ox.InferenceError):
        ox.infer_shapes(helper.make_model(bad, opset_imports=[helper.make_opsetid("", 17)]), strict_mode=True)


# --------------------------------------------------------------------------- hard exit


def _main(args: list[str], prelude: str = "") -> subprocess.CompletedProcess:
    code = f"import sys\n{prelude}\nfrom onnxstat.cli import main\nsys.argv = ['onnxstat', *{args!r}]\nmain()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_hard_exit_runs_exit_handlers_and_keeps_codes():
    ok = _main(["--version"], "import atexit\natexit.register(lambda: print('handler ran'))")
    assert ok.returncode == 0 and ok.stdout.split("\n")[:2] == ["onnxstat, version 0.1.0", "handler ran"]
    bad = _main(["profile", "no-such-model.onnx"])
    assert bad.returncode == 2 and bad.stderr.strip() == "onnxstat: error: no-such-model.onnx: no such file"
    usage = _main(["profile", "sample_models/cnn.onnx", "--bogus"])
    assert usage.returncode == 2


def test_hard_exit_flushes_a_large_stdout(tmp_path):
    """Everything written to a pipe arrives: the JSON on stdout equals the file written with -o."""
    args = ["profile", "sample_models/transformer.onnx", "--dim", "batch=1", "--dim", "seq=8", "--format", "json"]
    piped = _main(args)
    assert piped.returncode == 0, piped.stderr
    _main([*args, "-o", str(tmp_path / "out.json")])
    a, b = json.loads(piped.stdout), json.loads((tmp_path / "out.json").read_text())
    assert len(piped.stdout) > 20_000
    assert a["totals"] == b["totals"] and a["nodes"] == b["nodes"]


@pytest.mark.parametrize("extra", [
    ["--simplify"],                      # onnx-simplifier imports the whole onnx package afterwards
    ["--shape-source", "ort"],           # so does the onnxruntime shape observer
    ["--symbolic"],                      # sympy, and numpy
], ids=lambda e: e[-1].lstrip("-"))
def test_paths_that_import_onnx_later_work_from_a_fresh_process(extra, tmp_path):
    """In a fresh process the light load comes first; these paths then import onnx
    (or numpy, sympy) and must give the same totals as in-process runs."""
    from helpers import run_cli

    out = tmp_path / "fresh.json"
    args = ["profile", "sample_models/transformer.onnx", "--dim", "batch=2", "--dim", "seq=16", *extra,
            "--format", "json", "-o", str(out)]
    fresh = _main(args)
    assert fresh.returncode == 0, fresh.stderr
    inproc = run_cli(*args[:-1], tmp_path / "inproc.json")
    assert inproc.exit_code == 0, inproc.output
    a, b = json.loads(out.read_text()), json.loads((tmp_path / "inproc.json").read_text())
    assert a["totals"] == b["totals"] and a["totals"]["macs"]


def test_unfamiliar_onnx_layout_falls_back_to_the_plain_import(tmp_path):
    """When the direct load fails (here: the package cannot be located the direct way),
    the plain ``import onnx`` is used and profiling works the same."""
    model = tmp_path / "conv.onnx"
    _conv_relu_model(model)
    out = _python(f"""
import importlib.util, sys
real = importlib.util.find_spec
def refuse(name, *a, **k):
    if name == "onnx":
        raise ImportError("unfamiliar layout")
    return real(name, *a, **k)
importlib.util.find_spec = refuse
from onnxstat.model import _onnx as ox
importlib.util.find_spec = real
import onnx
assert ox.pb is onnx.onnx_ml_pb2 and ox.C is onnx.onnx_cpp2py_export
from onnxstat.profiler import profile
print(profile({str(model)!r}).totals.macs)
""")
    assert out.strip() == "6912"
