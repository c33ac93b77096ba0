"""`onnxstat bench`: statistics, provider decisions, timing paths, per-node join, CLI."""

from __future__ import annotations

import csv
import io

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

import onnxstat
from onnxstat import bench as B
from onnxstat.cli import cli
from onnxstat.errors import ModelError, UsageError

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"
CNN = str(SAMPLES / "cnn.onnx")
MLP = str(SAMPLES / "mlp.onnx")
FAST = dict(runs=5, warmup=1)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TRT = "TensorrtExecutionProvider"


def run_cli(*args):
    return CliRunner().invoke(cli, list(args))


# --------------------------------------------------------------------------- statistics


def test_latency_stats_ten_values():
    # 1..10 ms.  mean = 55/10 = 5.5; sample std = sqrt(sum((x-5.5)^2)/9) = sqrt(82.5/9)
    # percentiles, position (n-1)*q/100 = 9q/100 between order statistics x[0..9]:
    # p50: 4.5 -> 5 + 0.5*(6-5) = 5.5; p90: 8.1 -> 9 + 0.1 = 9.1; p95: 8.55 -> 9.55; p99: 8.91 -> 9.91
    st = B.latency_stats([k * 1_000_000 for k in range(10, 0, -1)])  # order must not matter
    assert st["mean"] == pytest.approx(5.5, abs=1e-12)
    assert st["std"] == pytest.approx(math.sqrt(82.5 / 9), abs=1e-12)
    assert st["min"] == 1.0 and st["max"] == 10.0
    assert st["p50"] == pytest.approx(5.5, abs=1e-12)
    assert st["p90"] == pytest.approx(9.1, abs=1e-12)
    assert st["p95"] == pytest.approx(9.55, abs=1e-12)
    assert st["p99"] == pytest.approx(9.91, abs=1e-12)
    assert list(st) == ["mean", "std", "min", "p50", "p90", "p95", "p99", "max"]


def test_latency_stats_uneven_values():
    # sorted: 1 1 2 3 4 5 6 9 (ms), n = 8, positions 7q/100
    # mean = 31/8 = 3.875; squared deviations sum = 7.875^1... computed term by term:
    # (1-3.875)^2*2 = 16.53125, (2-3.875)^2 = 3.515625, (3-3.875)^2 = 0.765625, (4-3.875)^2 = 0.015625,
    # (5-3.875)^2 = 1.265625, (6-3.875)^2 = 4.515625, (9-3.875)^2 = 26.265625 -> 52.875; std = sqrt(52.875/7)
    # p50: 3.5 -> 3 + 0.5*(4-3) = 3.5; p90: 6.3 -> 6 + 0.3*(9-6) = 6.9
    # p95: 6.65 -> 6 + 0.65*3 = 7.95; p99: 6.93 -> 6 + 0.93*3 = 8.79
    ns = [v * 1_000_000 for v in (3, 1, 4, 1, 5, 9, 2, 6)]
    st = B.latency_stats(ns)
    assert st["mean"] == pytest.approx(3.875, abs=1e-12)
    assert st["std"] == pytest.approx(math.sqrt(52.875 / 7), abs=1e-12)
    assert (st["p50"], st["p90"]) == (pytest.approx(3.5, abs=1e-12), pytest.approx(6.9, abs=1e-12))
    assert (st["p95"], st["p99"]) == (pytest.approx(7.95, abs=1e-12), pytest.approx(8.79, abs=1e-12))
    assert np.percentile(np.array(ns) / 1e6, [50, 90, 95, 99]) == pytest.approx([3.5, 6.9, 7.95, 8.79])


def test_latency_stats_single_value_and_sub_ms():
    st = B.latency_stats([250_000])  # 0.25 ms
    assert st == {"mean": 0.25, "std": 0.0, "min": 0.25, "p50": 0.25, "p90": 0.25, "p95": 0.25, "p99": 0.25, "max": 0.25}
    with pytest.raises(ValueError):
        B.latency_stats([])


def test_fps_and_throughput():
    # batch 4 at 2 ms mean: 4 * 1000 / 2 = 2000 samples/s
    assert B.fps_of(4, 2.0) == 2000.0
    # batch 2, 50 runs in 0.5 s of wall time: 2 * 50 / 0.5 = 200 samples/s
    assert B.throughput_of(2, 50, 500_000_000) == pytest.approx(200.0)
    assert B.fps_of(1, 0.0) is None


def test_time_runs_counts_and_duration():
    calls = []
    samples, wall = B.time_runs(lambda: calls.append(1), runs=7)
    assert len(samples) == 7 == len(calls) and wall >= sum(samples)
    seen = []
    samples, wall = B.time_runs(lambda: None, duration_s=0.01, progress=lambda d, e: seen.append(d), progress_every=3)
    assert wall >= 10_000_000 and len(samples) >= 1
    assert seen and all(d % 3 == 0 for d in seen)


# --------------------------------------------------------------------------- providers


def test_provider_names():
    assert B.parse_providers("cuda,cpu") == [CUDA, CPU]
    assert B.parse_providers(["CUDAExecutionProvider", "cpu", "cuda"]) == [CUDA, CPU]
    assert B.parse_providers("TRT") == [TRT]
    with pytest.raises(UsageError, match="unknown provider 'gpu'"):
        B.parse_providers("gpu")
    with pytest.raises(UsageError, match="no execution provider"):
        B.parse_providers(",")


def test_cuda_absent_is_an_error_naming_available_providers():
    with pytest.raises(UsageError) as ei:
        B.plan_providers([CUDA], ["AzureExecutionProvider", CPU], "1.32.0")
    msg = str(ei.value)
    assert "cuda (CUDAExecutionProvider) is not available" in msg
    assert "available: AzureExecutionProvider, CPUExecutionProvider" in msg
    assert "providers cuda,cpu" in msg  # read from Python: the argument, not the option
    assert ei.value.exit_code == 2


def test_cuda_fallback_listed_proceeds_with_warning():
    use, warnings = B.plan_providers([CUDA, CPU], [CPU], "1.32.0")
    assert use == [CPU]
    assert len(warnings) == 1 and "falling back to cpu" in warnings[0]


def test_cuda_present_is_used_first():
    use, warnings = B.plan_providers([CUDA, CPU], [TRT, CUDA, CPU])
    assert use == [CUDA, CPU] and warnings == []


def test_provider_that_fails_to_initialise():
    assert B.check_used_providers([CUDA, CPU], [CUDA, CPU], fallback_listed=True) == []
    with pytest.raises(UsageError, match="could not be initialised; onnxruntime is using CPUExecutionProvider"):
        B.check_used_providers([CUDA], [CPU], fallback_listed=False)
    (w,) = B.check_used_providers([CUDA, CPU], [CPU], fallback_listed=True)
    assert "could not be initialised" in w


def test_timing_plan_decisions():
    f32 = ["tensor(float)"]
    assert B.plan_timing([CUDA, CPU], ["float32"], f32) == B.TimingPlan("iobinding", "cuda", True)
    assert B.plan_timing([TRT, CUDA, CPU], ["float16"], f32).label == "iobinding:cuda"
    assert B.plan_timing([CUDA, CPU], ["string"], f32) == B.TimingPlan("run", "cuda", False)
    assert B.plan_timing([CPU], ["float32"], f32) == B.TimingPlan("run", "cpu", False)
    assert B.plan_timing([CPU], ["bfloat16"], f32).label == "run"  # bfloat16 input goes in as an OrtValue
    assert B.plan_timing([CPU], ["float32"], ["tensor(bfloat16)"]).label == "iobinding:cpu"
    assert B.plan_timing([CPU], ["float32"], ["tensor(float8e4m3fn)"]).label == "iobinding:cpu"
    assert B.plan_timing([CPU], ["float32"], ["seq(tensor(float))"]).label == "run"


class _FakeOrtValue:
    def __init__(self, arr, device, device_id, elem_type=None):
        self.arr, self.device, self.device_id, self.elem_type = arr, device, device_id, elem_type

    def update_inplace(self, arr):
        self.arr = arr.copy()


class _FakeOrt:
    class OrtValue:
        @classmethod
        def ortvalue_from_numpy(cls, arr, device, device_id):
            return _FakeOrtValue(arr, device, device_id)

        @classmethod
        def ortvalue_from_shape_and_type(cls, shape, elem_type, device, device_id):
            return _FakeOrtValue(np.empty(shape), device, device_id, elem_type)


class _FakeIO:
    def __init__(self):
        self.inputs, self.outputs, self.syncs = {}, {}, 0

    def bind_ortvalue_input(self, name, value):
        self.inputs[name] = value

    def bind_output(self, name, device, device_id=0):
        self.outputs[name] = (device, device_id)

    def synchronize_outputs(self):
        self.syncs += 1


class _Out:
    def __init__(self, name, type_):
        self.name, self.type = name, type_


class _FakeSession:
    def __init__(self):
        self.io = _FakeIO()
        self.iobinding_runs = 0
        self.plain_runs = []

    def io_binding(self):
        return self.io

    def get_outputs(self):
        return [_Out("logits", "tensor(float)"), _Out("seq", "seq(tensor(float))")]

    def run_with_iobinding(self, io):
        assert io is self.io
        self.iobinding_runs += 1

    def run(self, names, feeds):
        self.plain_runs.append((names, feeds))


def test_cuda_iobinding_path_binds_once_on_the_device():
    sess = _FakeSession()
    x = np.ones((2, 3), np.float32)
    plan = B.plan_timing([CUDA, CPU], ["float32"], [o.type for o in sess.get_outputs()])
    run, keep = B.make_runner(sess, {"x": x}, {"x": "float32"}, plan, device_id=1, ort=_FakeOrt)
    assert sess.io.inputs["x"].device == "cuda" and sess.io.inputs["x"].device_id == 1
    assert sess.io.inputs["x"].arr is x
    assert sess.io.outputs == {"logits": ("cuda", 1), "seq": ("cpu", 0)}
    for _ in range(3):
        run()
    assert sess.iobinding_runs == 3 and sess.io.syncs == 3
    assert len(sess.io.inputs) == 1  # bound once, not per run
    # the end-to-end figure uses host arrays and sess.run
    hrun, _ = B.host_runner(sess, {"x": x}, {"x": "float32"}, ort=_FakeOrt)
    hrun()
    assert sess.plain_runs[0][0] is None and sess.plain_runs[0][1]["x"] is x


def test_cuda_iobinding_bfloat16_input_is_copied_as_raw_bits():
    import ml_dtypes

    sess = _FakeSession()
    h = np.array([[1.0, -2.5], [0.5, 3.0]], dtype=ml_dtypes.bfloat16)
    run, _keep = B.make_runner(sess, {"h": h}, {"h": "bfloat16"}, B.TimingPlan("iobinding", "cuda", True), ort=_FakeOrt)
    v = sess.io.inputs["h"]
    assert (v.device, v.device_id, v.elem_type) == ("cuda", 0, TensorProto.BFLOAT16)
    # bfloat16 1.0 = 0x3F80, -2.5 = 0xC020, 0.5 = 0x3F00, 3.0 = 0x4040
    assert v.arr.dtype == np.uint16 and v.arr.tolist() == [[0x3F80, 0xC020], [0x3F00, 0x4040]]


def test_iobinding_runner_on_cpu_gives_the_same_outputs():
    import onnxruntime as ort

    sess = ort.InferenceSession(MLP, providers=[CPU])
    x = np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32)
    run, keep = B.make_runner(sess, {"x": x}, {"x": "float32"}, B.TimingPlan("iobinding", "cpu", False), ort=ort)
    run()
    got = keep[0].get_outputs()[0].numpy()
    np.testing.assert_allclose(got, sess.run(None, {"x": x})[0], rtol=1e-6)


# --------------------------------------------------------------------------- batch


def test_batch_size_rules():
    inputs = [("images", "float32", (8, 3, 32, 32)), ("lens", "int64", (5, 8))]
    declared = [("images", "float32", ("n", 3, 32, 32)), ("lens", "int64", ("t", "n"))]
    assert B.batch_size(inputs, declared) == 8
    assert B.batch_size(inputs, declared, 1) == 3
    assert B.batch_size(inputs, declared, "lens:1") == 8
    assert B.batch_size(inputs, declared, "t") == 5
    assert B.batch_size(inputs, declared, "lens") == 5
    assert B.batch_size([("s", "float32", ())], [("s", "float32", ())]) == 1
    with pytest.raises(UsageError, match="no axis 4"):
        B.batch_size(inputs, declared, 4)
    with pytest.raises(UsageError, match="named dims: n, t"):
        B.batch_size(inputs, declared, "batch")


# --------------------------------------------------------------------------- bench()


def test_bench_cnn_result_is_consistent():
    res = B.bench(CNN, dims={"batch": 2}, **FAST)
    d = res.to_dict()
    assert set(d) >= {"schema", "model", "provider_requested", "providers_used", "session_options", "inputs", "batch",
                      "warmup", "runs", "latency_ms", "first_run_ms", "session_init_ms", "fps", "throughput", "nodes"}
    assert d["schema"] == "onnxstat.bench/1"
    assert d["providers_used"] == [CPU] and d["provider_requested"] == [CPU]
    assert d["inputs"] == [{"name": "input", "dtype": "float32", "shape": [2, 3, 64, 64], "source": "generated"}]
    assert d["batch"] == 2 and d["runs"] == 5 and d["warmup"] == 1 and d["nodes"] == []
    assert d["session_options"]["graph_optimization_level"] == "all"
    assert d["timing_path"] == "run"
    s = sorted(res.samples_ms)
    assert len(s) == 5
    assert d["latency_ms"]["min"] == s[0] and d["latency_ms"]["max"] == s[-1]
    assert d["latency_ms"]["p50"] == pytest.approx(s[2])  # 5 samples: p50 is the middle one
    assert d["latency_ms"]["mean"] == pytest.approx(sum(s) / 5)
    assert d["fps"] == pytest.approx(2 * 1000 / d["latency_ms"]["mean"])
    assert d["first_run_ms"] > 0 and d["session_init_ms"] > 0 and d["throughput"] > 0
    json.dumps(d)


def test_bench_keywords_replace_the_fields_of_options():
    from onnxstat.runtime.bench_options import BenchOptions

    res = B.bench(MLP, options=BenchOptions(runs=3, warmup=2, opt_level="basic"), runs=4)
    assert res.runs == 4 and res.warmup == 2 and res.session_options["graph_optimization_level"] == "basic"
    with pytest.raises(TypeError, match="unexpected keyword argument 'rusn'"):
        B.bench(MLP, rusn=4)
    with pytest.raises(UsageError, match="options must be a BenchOptions"):
        B.bench(MLP, options={"runs": 4})
    # help() shows every setting as a keyword
    import inspect

    params = inspect.signature(onnxstat.bench).parameters
    assert {"options", "runs", "warmup", "per_node", "concurrency", "trace", "device"} <= set(params)


def test_bench_without_warmup_counts_the_first_run():
    res = B.bench(MLP, runs=4, warmup=0)
    assert res.runs == 4 and len(res.samples_ms) == 4
    assert res.samples_ms[0] == pytest.approx(res.first_run_ms)


def test_bench_duration_mode():
    res = B.bench(MLP, duration=0.05, warmup=1)
    assert res.runs >= 1 and res.duration_s == 0.05 and res.wall_ms >= 50.0


def test_bench_special_dtypes_through_bench():
    # a bfloat16 output cannot come back as numpy: timed with IO binding on the CPU
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.BFLOAT16)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, ["n", 4])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    res = B.bench(m, dims={"n": 3}, **FAST)
    assert res.timing_path == "iobinding:cpu" and res.batch == 3 and res.model is None
    # string and bfloat16 inputs together: plain run, bfloat16 as an OrtValue
    graph = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["s2"]), helper.make_node("Cast", ["h"], ["f"], to=TensorProto.FLOAT)], "g",
        [helper.make_tensor_value_info("s", TensorProto.STRING, [2]),
         helper.make_tensor_value_info("h", TensorProto.BFLOAT16, [2, 2])],
        [helper.make_tensor_value_info("s2", TensorProto.STRING, [2]),
         helper.make_tensor_value_info("f", TensorProto.FLOAT, [2, 2])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    res = B.bench(m, **FAST)
    assert res.timing_path == "run" and [i["dtype"] for i in res.inputs] == ["string", "bfloat16"]


def test_bench_user_input_sets_dims_of_generated_inputs(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    path = tmp_path / "add.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    np.save(tmp_path / "b.npy", np.ones((3, 4), np.float32))
    res = B.bench(str(path), inputs={"b": str(tmp_path / "b.npy")}, **FAST)
    assert [(i["name"], i["shape"], i["source"]) for i in res.inputs] == [("a", [3, 4], "generated"), ("b", [3, 4], "user")]
    assert res.batch == 3  # leading dim of the first input, which took batch=3 from b.npy


def test_bench_int_range_hint_on_failure():
    # Gather with generated indices 0..9 into a 2-row table fails in onnxruntime
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"])], "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 3])],
        [onnx.numpy_helper.from_array(np.zeros((2, 3), np.float32), "table")],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ModelError, match=r"integer inputs were drawn from \[5, 10\)"):
        B.bench(m, int_range=(5, 10), **FAST)
    assert B.bench(m, **FAST).runs == 5  # default [0, 2) is safe


def test_bench_argument_errors():
    for kw, msg in (({"runs": 0}, "runs"), ({"warmup": -1}, "warmup"), ({"opt_level": "max"}, "optimisation level"),
                    ({"execution_mode": "async"}, "execution mode"), ({"duration": -1.0}, "duration"),
                    ({"threads": -2}, "threads")):
        with pytest.raises(UsageError, match=msg):
            B.bench(MLP, **{**FAST, **kw})


def test_save_optimized(tmp_path):
    out = tmp_path / "opt.onnx"
    res = B.bench(CNN, dims={"batch": 1}, opt_level="extended", save_optimized=str(out), **FAST)
    m = onnx.load(out)
    ops = {n.op_type for n in m.graph.node}
    assert "FusedConv" in ops and "BatchNormalization" not in ops  # Conv+BN+Relu fused by onnxruntime
    assert res.session_options["save_optimized"] == str(out)
    assert [p.name for p in tmp_path.iterdir()] == ["opt.onnx"]  # no temporary file left
    with pytest.raises(UsageError, match="does not exist"):
        B.bench(CNN, save_optimized=str(tmp_path / "no" / "x.onnx"), **FAST)


def test_missing_external_weights_is_a_model_error(tmp_path):
    import shutil

    shutil.copy(SAMPLES / "cnn_external.onnx", tmp_path / "cnn_external.onnx")
    with pytest.raises(ModelError, match="cnn_external.onnx.data"):
        B.bench(str(tmp_path / "cnn_external.onnx"), **FAST)
    r = run_cli("bench", str(tmp_path / "cnn_external.onnx"), "--runs", "2")
    assert r.exit_code == 1 and "Traceback" not in r.output


# --------------------------------------------------------------------------- per-node


def _events(runs):
    """Profiler events: each run is (start, [(name, op, ts, dur)]) with a model_run event."""
    ev = []
    for start, nodes in runs:
        for name, op, ts, dur in nodes:
            ev.append({"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur,
                       "args": {"op_name": op, "provider": CPU}})
            ev.append({"cat": "Node", "name": f"{name}_fence_before", "ts": ts, "dur": 0, "args": {}})
        ev.append({"cat": "Session", "name": "model_run", "ts": start, "dur": 100})
    return ev


def test_parse_profile_drops_warmup_and_averages():
    ev = _events([
        (0, [("conv", "Conv", 10, 500), ("relu", "Relu", 20, 50)]),      # warm-up: dropped
        (200, [("conv", "Conv", 210, 30), ("relu", "Relu", 220, 4)]),
        (400, [("conv", "Conv", 410, 50), ("relu", "Relu", 420, 6), ("relu", "Relu", 430, 2)]),
    ])
    ev.append({"cat": "Node", "name": "stray_kernel_time", "ts": 350, "dur": 9, "args": {"op_name": "X"}})  # between runs
    kernels, n, run_us = B.parse_profile(ev, skip_runs=1)
    assert n == 2 and run_us == [100.0, 100.0]
    assert set(kernels) == {"conv", "relu"}
    assert kernels["conv"].total_us == 80 and kernels["conv"].calls == 2
    assert kernels["relu"].total_us == 12 and kernels["relu"].calls == 3  # 4 + (6 + 2)
    assert kernels["relu"].median_us(2) == 6.0  # per-run totals 4 and 8 -> median 6


def test_ort_node_names_follow_onnxruntime():
    # unnamed nodes: <op>_<index among non-Constant nodes of their graph>
    m = _loop_model()
    names = B.ort_node_names(m)
    assert names["Relu_0"] == [("Relu_1", "Relu")]
    assert names["Mul_1"] == [("Mul_2", "Mul")]
    assert names["Loop_2"] == [("Loop_5", "Loop")]
    assert names["Add_0"] == [("Loop_5/body/Add_0", "Add")]
    assert "Constant_0" not in names


def _loop_model() -> onnx.ModelProto:
    body = helper.make_graph(
        [helper.make_node("Add", ["x_in", "one"], ["x_out"]), helper.make_node("Identity", ["cond"], ["cond_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_in", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [2, 3])],
    )
    nodes = [
        helper.make_node("Constant", [], ["one"], value=helper.make_tensor("c", TensorProto.FLOAT, [], [1.0])),
        helper.make_node("Relu", ["x"], ["y"]),
        helper.make_node("Mul", ["y", "one"], ["z"]),
        helper.make_node("Constant", [], ["n"], value=helper.make_tensor("n", TensorProto.INT64, [], [3])),
        helper.make_node("Constant", [], ["t"], value=helper.make_tensor("t", TensorProto.BOOL, [], [1])),
        helper.make_node("Loop", ["n", "t", "z"], ["w"], body=body),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_join_arithmetic_and_statuses():
    # static costs of cnn.onnx at batch 2, computed by hand for conv1 (Conv 3->16, 3x3, pad 1, 64x64 out):
    #   MACs = 2*16*64*64*3*3*3 = 3,538,944; FLOPs = 2*MACs + bias adds 2*16*64*64 = 7,077,888 + 131,072 = 7,208,960
    #   bytes = input 2*3*64*64*4 (98,304) + weight 16*3*3*3*4 (1,728) + bias 64 + output 2*16*64*64*4 (524,288) = 624,384
    static = onnxstat.profile(CNN, {"input": (2, 3, 64, 64)})
    model = onnx.load(CNN, load_external_data=False)
    kernels = {
        "conv1": B.KernelTime("conv1", "Conv", CPU, total_us=2000.0, calls=4, first_ts=1),       # 0.5 ms per run
        "block.conv1": B.KernelTime("block.conv1", "FusedConv", CPU, total_us=1000.0, calls=4, first_ts=2),
        "relu1_out_nchwc": B.KernelTime("relu1_out_nchwc", "Conv", CPU, total_us=1000.0, calls=4, first_ts=3),
        "fc/GemmFusion/": B.KernelTime("fc/GemmFusion/", "Gemm", CPU, total_us=0.0, calls=4, first_ts=4),
    }
    rows, op_rows, notes = B.join_nodes(kernels, 4, static.nodes, model)
    by = {r["name"]: r for r in rows}
    c = by["conv1"]
    assert c["status"] == "matched" and c["node"] == "conv1" and c["op_type"] == "Conv"
    assert c["mean_ms"] == 0.5 and c["flops"] == 7_208_960 and c["bytes"] == 624_384
    assert c["gflops_per_s"] == pytest.approx(7_208_960 / 0.5e6)  # 14.41792 GFLOP/s
    assert c["gb_per_s"] == pytest.approx(624_384 / 0.5e6)  # 1.248768 GB/s
    # total kernel time per run: (2000 + 1000 + 1000 + 0) / 4 / 1000 = 1.0 ms -> conv1 share 0.5
    assert c["share"] == pytest.approx(0.5)
    f = by["block.conv1"]
    assert f["status"] == "fused" and f["node"] == "block.conv1" and f["op_type"] == "FusedConv"
    assert f["static_op_type"] == "Conv"
    u = by["relu1_out_nchwc"]
    assert u["status"] == "fused/unmatched" and u["node"] is None and u["op_type"] == "Conv"
    assert u["flops"] is None and u["gflops_per_s"] is None
    g = by["fc/GemmFusion/"]
    assert g["status"] == "fused" and g["node"] == "fc" and g["gflops_per_s"] is None  # 0 µs: no rate
    assert [r["name"] for r in rows] == ["conv1", "block.conv1", "relu1_out_nchwc", "fc/GemmFusion/"]
    ops = {(o["op_type"], o["status"]): o for o in op_rows}
    assert ops[("Conv", "matched")]["flops"] == 7_208_960 and ops[("Conv", "matched")]["kernels"] == 1
    assert ops[("Conv", "fused/unmatched")]["flops"] is None
    assert any("have no kernel of their own" in n and "bn1" in n for n in notes)
    assert any("match no original node" in n for n in notes)


@pytest.mark.parametrize("model,dims", [(CNN, {"batch": 2}), (str(SAMPLES / "transformer.onnx"), {"batch": 2, "seq": 8})])
def test_per_node_disable_maps_every_compute_node(model, dims):
    res = B.bench(model, dims=dims, per_node=True, opt_level="disable", runs=3, warmup=1)
    static = onnxstat.profile(model, {i["name"]: tuple(i["shape"]) for i in res.inputs})
    rows = {r["node"]: r for r in res.nodes}
    compute = [n for n in static.nodes if n.kind == "compute"]
    assert compute
    for n in compute:
        r = rows.get(n.path)
        assert r is not None, n.path
        assert r["status"] == "matched" and r["name"] == n.name
        assert r["mean_ms"] >= 0 and r["calls_per_run"] == 1.0
        assert r["flops"] == n.flops and r["bytes"] == n.memory_traffic_bytes
    assert all(r["status"] == "matched" for r in res.nodes)
    assert res.per_node["runs"] == 3 and res.per_node["unmatched"] == 0
    assert not any("no kernel of their own" in w for w in res.warnings)
    # per op type: FLOPs add up to the profile's compute FLOPs
    assert sum(o["flops"] for o in res.by_op_type) == static.totals.flops
    # the headline numbers come from the unprofiled session
    assert res.runs == 3 and res.to_dict()["nodes"] == res.nodes


def test_per_node_with_subgraph_and_unnamed_nodes():
    res = B.bench(_loop_model(), per_node=True, opt_level="disable", runs=2, warmup=1)
    by = {r["name"]: r for r in res.nodes}
    assert by["Add_0"]["node"] == "Loop_5/body/Add_0" and by["Add_0"]["calls_per_run"] == 3.0  # 3 iterations
    # Add in the body: 2x3 elements, 3 iterations -> 18 FLOPs per run
    assert by["Add_0"]["flops"] == 18
    assert by["Loop_2"]["includes_subgraphs"] is True and by["Loop_2"]["share"] is None


def test_per_node_without_static_costs():
    # when the static profile fails (bench then warns), kernels still map to nodes, without FLOPs/bytes
    class Empty:
        nodes: list = []

    res = B.bench(MLP, per_node=True, opt_level="disable", static_profile=Empty(), runs=2, warmup=1)
    assert {r["status"] for r in res.nodes} == {"matched"}
    assert [r["node"] for r in res.nodes] == ["fc1", "relu1", "fc2", "relu2", "fc3", "softmax"]
    assert all(r["flops"] is None and r["gflops_per_s"] is None for r in res.nodes)


def test_per_node_optimised_reports_fused_kernels():
    res = B.bench(CNN, dims={"batch": 1}, per_node=True, opt_level="extended", runs=3, warmup=1)
    by = {r["name"]: r for r in res.nodes}
    assert by["conv1"]["status"] == "fused" and by["conv1"]["op_type"] == "FusedConv"
    # the FusedConv kernel executes conv1 (BN folded in) and relu1, found through the optimised model:
    # conv1 at batch 1: MACs 16*64*64*(3*3*3) = 1,769,472 -> 3,538,944 FLOPs + 65,536 bias = 3,604,480;
    # bn1 2 per element of 1x16x64x64 = 131,072; relu1 1 per element = 65,536; sum 3,801,088
    assert by["conv1"]["source_nodes"] == ["conv1", "bn1", "relu1"]
    assert by["conv1"]["flops"] == 3_604_480 + 131_072 + 65_536 == 3_801_088
    # its traffic is what crosses the fused kernel: input 1x3x64x64 float32 (49,152 B), conv weight (1,728) and
    # bias (64), the four BN vectors of 16 (256), output relu1_out 1x16x64x64 (262,144): 313,344 B
    assert by["conv1"]["bytes"] == 49_152 + 1_728 + 64 + 256 + 262_144 == 313_344
    assert res.per_node["matching"] == "optimized model" and res.unmatched_kernels == []
    assert not any("no kernel of their own" in w for w in res.warnings)


# --------------------------------------------------------------------------- CLI


def test_cli_cuda_absent_exit_code_2():
    r = run_cli("bench", MLP, "--provider", "cuda")
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("onnxstat: error: execution provider cuda (CUDAExecutionProvider) is not available")
    assert "CPUExecutionProvider" in lines[0]


def test_cli_cuda_with_cpu_fallback_proceeds_with_warning():
    r = run_cli("bench", MLP, "--provider", "cuda,cpu", "--runs", "5", "--warmup", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "onnxstat: warning: execution provider cuda (CUDAExecutionProvider) is not available" in r.stderr
    assert "falling back to cpu" in r.stderr
    d = json.loads(r.stdout)
    assert d["provider_requested"] == [CUDA, CPU] and d["providers_used"] == [CPU]
    assert d["runs"] == 5 and d["warmup"] == 1


def test_cli_input_file_mismatch(tmp_path):
    np.save(tmp_path / "f64.npy", np.zeros((1, 3, 64, 64)))
    np.save(tmp_path / "small.npy", np.zeros((1, 3, 32, 32), np.float32))
    r = run_cli("bench", CNN, "--input", f"input={tmp_path / 'f64.npy'}", "--runs", "2")
    assert r.exit_code == 2
    assert "dtype float64 does not match input 'input' of dtype float32" in r.stderr
    r = run_cli("bench", CNN, "--input", f"input={tmp_path / 'small.npy'}", "--runs", "2")
    assert r.exit_code == 2
    assert "shape 1x3x32x32 does not match input 'input' of shape batchx3x64x64 (dim 2 must be 64)" in r.stderr
    r = run_cli("bench", CNN, "--input", "nope=x.npy")
    assert r.exit_code == 2 and "not a model input (inputs: input)" in r.stderr


def test_cli_formats_and_output(tmp_path):
    out = tmp_path / "b.json"
    r = run_cli("bench", CNN, "--dim", "batch=2", "--runs", "3", "--warmup", "1", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["batch"] == 2 and d["inputs"][0]["shape"] == [2, 3, 64, 64]
    r = run_cli("bench", MLP, "--runs", "3", "--warmup", "1", "--format", "csv")
    header, row = csv.reader(io.StringIO(r.stdout))
    assert header[:5] == ["model", "providers_used", "batch", "warmup", "runs"]
    assert row[2:5] == ["1", "1", "3"]
    r = run_cli("bench", MLP, "--runs", "3", "--warmup", "1", "--per-node", "--opt-level", "disable",
                "--top", "2", "--format", "markdown")
    assert r.exit_code == 0 and "## Kernels (2 of 6, slowest first)" in r.stdout and "Latency p99" in r.stdout
    r = run_cli("bench", MLP, "--runs", "3", "--warmup", "1", "--per-node", "--opt-level", "disable", "--format", "table")
    assert r.exit_code == 0 and "Kernels (6 of 6" in r.stdout and "fc1" in r.stdout
    r = run_cli("bench", MLP, "--runs", "3", "--duration", "1")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = run_cli("bench", MLP, "--int-range", "5")
    assert r.exit_code == 2 and "LO,HI" in r.stderr
