"""Bench sweeps, concurrency, host info, fused-kernel matching and the measured roofline."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

import onnxstat
from onnxstat import bench as B
from onnxstat.runtime.bench_options import BenchOptions, run_bench, thread_warnings, time_concurrent, usable_cores
from onnxstat.runtime.bench_sweep import SCHEMA, best_rows, bench_sweep, parse_bench_sweep, render_bench_sweep
from onnxstat.cli import cli
from onnxstat.errors import UsageError
from onnxstat.runtime.kernel_match import fused_sources, kernel_roofline, unmatched_kernels
from onnxstat.passes.roofline import custom_device

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"
CNN = str(SAMPLES / "cnn.onnx")
MLP = str(SAMPLES / "mlp.onnx")  # fixed batch of 1: x is 1x784
TRANSFORMER = str(SAMPLES / "transformer.onnx")
FAST = BenchOptions(runs=3, warmup=1)


def run_cli(*args):
    return CliRunner().invoke(cli, list(args))


# --------------------------------------------------------------------------- sweeps


def test_parse_bench_sweep():
    g = parse_bench_sweep(["batch=1,2,4", "threads=0,2", "opt_level=disable,all", "provider=cpu,cuda+cpu"])
    assert g == {"batch": [1, 2, 4], "threads": [0, 2], "opt-level": ["disable", "all"], "provider": ["cpu", "cuda+cpu"]}
    for bad, msg in ((["batch"], "NAME=V1"), (["batch=1", "batch=2"], "twice"), (["opt-level=fast"], "not one of"),
                     (["threads=-1"], r"0 \(default\) or more"), (["batch=0"], "positive"), (["provider=gpu"], "unknown provider")):
        with pytest.raises(UsageError, match=msg):
            parse_bench_sweep(bad)


def test_sweep_batch_and_threads_gives_six_rows():
    res = bench_sweep(CNN, {"batch": [1, 2, 4], "threads": [1, 2]}, options=FAST)
    assert len(res.rows) == 6
    assert [r["config"] for r in res.rows] == [{"batch": b, "threads": t} for b in (1, 2, 4) for t in (1, 2)]
    for r in res.rows:
        assert r["status"] == "ok" and r["error"] is None
        b = r["config"]["batch"]
        assert r["batch"] == b and r["inputs"]["input"] == [b, 3, 64, 64]
        assert r["fps"] == pytest.approx(b * 1000.0 / r["latency_ms"]["mean"], rel=1e-12)
        assert r["runs"] == 3
    best = best_rows(res.rows)
    assert best == res.best
    fps = [r["fps"] for r in res.rows]
    assert res.best["fps"]["row"] == fps.index(max(fps))
    p50 = [r["latency_ms"]["p50"] for r in res.rows]
    assert res.best["p50"]["row"] == p50.index(min(p50))
    d = json.loads(render_bench_sweep(res, "json"))
    assert d["schema"] == SCHEMA == "onnxstat.bench_sweep/1" and d["params"] == ["batch", "threads"]
    assert set(d["rows"][0]["latency_ms"]) >= {"mean", "p50", "p90", "p99"}
    assert d["host"]["usable_cores"] >= 1 and d["host"]["onnxruntime_version"]
    table = render_bench_sweep(res, "table")
    assert "best FPS" in table and "best p50" in table


def test_sweep_forbidden_batch_is_a_failed_row():
    res = bench_sweep(MLP, {"batch": [1, 2]}, options=FAST)
    ok, bad = res.rows
    assert ok["status"] == "ok" and ok["batch"] == 1
    assert bad["status"] == "failed" and bad["fps"] is None and bad["latency_ms"] is None
    assert "invalid dimensions" in bad["error"] and "\n" not in bad["error"]
    assert res.best["fps"]["row"] == 0
    assert any("1 of 2 configuration(s) failed" in w for w in res.warnings)
    csv_text = render_bench_sweep(res, "csv").splitlines()
    assert csv_text[2].split(",")[-2] == "failed"


def test_sweep_session_params_and_errors():
    res = bench_sweep(MLP, {"opt-level": ["disable", "all"], "provider": ["cpu", "cuda"]}, options=FAST)
    st = {(r["config"]["opt-level"], r["config"]["provider"]): r for r in res.rows}
    assert st[("all", "cpu")]["status"] == "ok" and st[("disable", "cpu")]["providers_used"] == ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in __import__("onnxruntime").get_available_providers():
        assert st[("all", "cuda")]["status"] == "failed" and "not available" in st[("all", "cuda")]["error"]
    with pytest.raises(UsageError, match="not a symbolic input dim"):
        bench_sweep(CNN, {"seq": [1, 2]}, options=FAST)
    with pytest.raises(UsageError, match="both as dims and grid"):  # the API names its arguments
        bench_sweep(CNN, {"batch": [1, 2]}, dims={"batch": 1}, options=FAST)
    with pytest.raises(UsageError, match="both as an option"):
        bench_sweep(CNN, {"threads": [1, 2]}, options=FAST.replace(threads=1))


def test_sweep_symbolic_dim_keeps_batch_for_fps():
    res = bench_sweep(TRANSFORMER, {"seq": [4, 8]}, dims={"batch": 2}, options=FAST)
    for r in res.rows:
        assert r["inputs"]["x"] == [2, r["config"]["seq"], 64] and r["batch"] == 2
        assert r["fps"] == pytest.approx(2 * 1000.0 / r["latency_ms"]["mean"], rel=1e-12)


def test_cli_sweep_json_and_plot(tmp_path):
    png = tmp_path / "tp.png"
    r = run_cli("bench", CNN, "--sweep", "batch=1,2", "--sweep", "threads=1", "--runs", "2", "--warmup", "1",
                "--plot", str(png), "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert len(d["rows"]) == 2 and d["best"]["fps"]["config"]["batch"] in (1, 2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run_cli("bench", CNN, "--plot", str(tmp_path / "x.png"))
    assert r.exit_code == 2 and "--plot draws a sweep" in r.stderr
    r = run_cli("bench", CNN, "--sweep", "threads=1,2", "--threads", "2")
    assert r.exit_code == 2 and "do not go together" in r.stderr


# --------------------------------------------------------------------------- concurrency, host


def test_time_concurrent_overlaps_threads():
    active, peak, lock = [0], [0], threading.Lock()

    def make_run():
        def run():
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.01)
            with lock:
                active[0] -= 1
        return run, None

    samples, wall, per_thread = time_concurrent(make_run, 2, runs=5)
    # 5 requests over 2 threads: 3 + 2
    assert per_thread == [3, 2] and len(samples) == 5
    assert peak[0] == 2  # both threads were inside run() at once
    assert all(s >= 10_000_000 for s in samples) and wall >= 30_000_000
    samples, wall, per_thread = time_concurrent(make_run, 2, duration_s=0.03)
    assert len(per_thread) == 2 and all(n >= 1 for n in per_thread)


def test_bench_concurrency_two_gives_aggregate_throughput():
    res = run_bench(CNN, dims={"batch": 2}, options=BenchOptions(runs=6, warmup=1, concurrency=2))
    c = res.concurrency
    assert c["threads"] == 2 and c["requests"] == 6 and c["requests_per_thread"] == [3, 3]
    # aggregate throughput = batch * requests / wall seconds of the concurrent loop
    assert c["throughput"] == pytest.approx(2 * 6 / (res.wall_ms / 1e3), rel=1e-9)
    assert res.fps == c["throughput"] == res.throughput and res.runs == 6
    d = res.to_dict()
    assert d["concurrency"]["threads"] == 2 and d["host"]["cpu"]
    r = run_cli("bench", MLP, "--concurrency", "2", "--runs", "4", "--warmup", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["concurrency"]["requests"] == 4


def test_every_bench_json_records_the_host_and_warns_on_too_many_threads():
    too_many = usable_cores() + 1
    res = B.bench(MLP, runs=2, warmup=1, threads=too_many)
    h = res.to_dict()["host"]
    assert h["logical_cores"] >= 1 and h["usable_cores"] >= 1 and h["cpu"]
    assert h["onnxruntime_version"] == res.onnxruntime_version
    assert any(f"--threads {too_many} exceeds" in w for w in res.warnings)
    assert thread_warnings(1) == []
    assert "threads" in thread_warnings(1, concurrency=too_many)[0]


def test_bench_options_keep_the_old_call():
    opts = BenchOptions(runs=2, warmup=1, opt_level="basic")
    assert opts.legacy_kwargs()["opt_level"] == "basic" and opts.replace(runs=5).runs == 5
    with pytest.raises(UsageError, match="concurrency"):
        BenchOptions(concurrency=0)
    with pytest.raises(UsageError, match="unknown bench option"):
        BenchOptions.from_kwargs(runz=1)
    res = run_bench(MLP, options=opts)
    assert res.runs == 2 and res.session_options["graph_optimization_level"] == "basic"


# --------------------------------------------------------------------------- fused kernels


def _vi(name, shape=(2, 4)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", [_vi(i) for i in inputs], [_vi(o) for o in outputs], list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


def test_fused_sources_bias_gelu_by_tensors():
    c = [helper.make_tensor(n, TensorProto.FLOAT, [], [v]) for n, v in (("sqrt2", 1.4142), ("one", 1.0), ("half", 0.5))]
    original = _model([
        helper.make_node("Add", ["x", "b"], ["a"], name="fc.Add"),
        helper.make_node("Div", ["a", "sqrt2"], ["d"], name="gelu.div"),
        helper.make_node("Erf", ["d"], ["e"], name="gelu.erf"),
        helper.make_node("Add", ["e", "one"], ["f"], name="gelu.add"),
        helper.make_node("Mul", ["a", "f"], ["g"], name="gelu.mul"),
        helper.make_node("Mul", ["g", "half"], ["y"], name="gelu.half"),
        helper.make_node("Relu", ["y"], ["z"]),  # unnamed: onnxruntime calls it Relu_6
    ], ["x", "b"], ["z"], c)
    optimized = _model([
        helper.make_node("BiasGelu", ["x", "b"], ["y"], name="BiasGelu", domain="com.microsoft"),
        helper.make_node("Relu", ["y"], ["z"], name="Relu_6"),
    ], ["x", "b"], ["z"])
    src = fused_sources(original, optimized)
    assert src == {"BiasGelu": ["fc.Add", "gelu.div", "gelu.erf", "gelu.add", "gelu.mul", "gelu.half"],
                   "Relu_6": ["Relu_6"]}


def test_fused_sources_nchwc_chain_and_reorders():
    original = _model([
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[1]),
    ], ["x", "w"], ["p"])
    optimized = _model([
        helper.make_node("ReorderInput", ["x"], ["t0"], name="ReorderInput", domain="com.microsoft.nchwc"),
        helper.make_node("Conv", ["t0", "w_blocked"], ["t1"], name="r_nchwc", domain="com.microsoft.nchwc"),
        helper.make_node("MaxPool", ["t1"], ["t2"], name="p_nchwc", domain="com.microsoft.nchwc"),
        helper.make_node("ReorderOutput", ["t2"], ["p"], name="ReorderOutput", domain="com.microsoft.nchwc"),
    ], ["x"], ["p"])
    src = fused_sources(original, optimized)
    assert src == {"ReorderInput": [], "r_nchwc": ["conv", "relu"], "p_nchwc": ["pool"], "ReorderOutput": []}


def test_bias_gelu_kernel_in_the_cpu_profile_gets_its_source_flops():
    res = run_bench(TRANSFORMER, dims={"batch": 1, "seq": 4}, options=BenchOptions(runs=2, warmup=1, per_node=True))
    by = {r["name"]: r for r in res.nodes}
    bg = by["BiasGelu"]
    assert bg["status"] == "fused" and bg["op_type"] == "BiasGelu"
    assert bg["source_nodes"] == ["mlp.fc1.Add", "gelu.div", "gelu.erf", "gelu.add", "gelu.mul", "gelu.half"]
    # 1x4x256 elements, one FLOP each for the bias add, /sqrt2, erf, +1, *x, *0.5: 6 * 1024 = 6144
    assert bg["flops"] == 6 * 1 * 4 * 256 == 6144
    # bytes crossing the fused kernel: reads mlp.fc1.MatMul_out (1x4x256 float32 = 4096 B), the bias (256 x 4 =
    # 1024 B) and the scalars sqrt(2), 1 and 0.5 (4 B each); writes gelu.half_out (4096 B): 9228 B.  The
    # intermediates (Add, Div, Erf, Add, Mul outputs) stay inside, so less than the unfused nodes' traffic
    assert bg["bytes"] == 4096 + 1024 + 3 * 4 + 4096 == 9228
    static = {n.path: n for n in onnxstat.profile(TRANSFORMER, None, {"batch": 1, "seq": 4}).nodes}
    assert bg["bytes"] < sum(static[p].memory_traffic_bytes for p in bg["source_nodes"])
    fm = by["attn.qk_matmul/MatMulScaleFusion/"]
    assert fm["op_type"] == "FusedMatMul" and fm["source_nodes"] == ["attn.qk_matmul", "attn.scale"]
    assert fm["node"] == "attn.qk_matmul"
    assert res.unmatched_kernels == [] and res.per_node["unmatched"] == 0
    # every compute node is executed by some kernel
    assert not any("no kernel of their own" in w for w in res.warnings)
    assert bg["measured_time_s"] == bg["mean_ms"] / 1e3
    assert bg["achieved_flops_per_s"] == pytest.approx(6144 / bg["measured_time_s"])


def test_nchwc_reorder_is_an_unmatched_kernel_with_its_time(tmp_path):
    trace = tmp_path / "trace.json"
    res = run_bench(CNN, dims={"batch": 1}, options=BenchOptions(runs=2, warmup=1, per_node=True, trace=str(trace)))
    by = {r["name"]: r for r in res.nodes}
    if "relu1_out_nchwc" not in by:
        pytest.skip("this onnxruntime does not use NCHWc kernels here")
    assert by["relu1_out_nchwc"]["source_nodes"] == ["conv1", "bn1", "relu1"]
    assert by["relu1_out_nchwc"]["flops"] == 3_801_088  # as the FusedConv of test_bench
    un = {k["name"]: k for k in res.unmatched_kernels}
    assert set(un) == {"ReorderOutput"} and un["ReorderOutput"]["time_s"] == by["ReorderOutput"]["mean_ms"] / 1e3
    assert res.to_dict()["unmatched_kernels"][0]["op_type"] == "ReorderOutput"
    events = json.loads(trace.read_text())
    assert any(e.get("name") == "model_run" for e in events)
    assert res.per_node["trace"] == str(trace)
    with pytest.raises(UsageError, match="add --per-node"):
        run_bench(CNN, options=BenchOptions(runs=2, warmup=1, trace=str(tmp_path / "t2.json")))


def test_kernel_roofline_arithmetic():
    dev = custom_device(1.0, 100.0)  # 1 TFLOP/s, 100 GB/s: ridge at 10 FLOP/B
    static = {
        "mm": type("N", (), {"flops": 1_000_000, "compute_dtype": "float32"})(),
        "tr": type("N", (), {"flops": 0, "compute_dtype": "none"})(),
    }
    rows = [
        {"name": "mm", "node": "mm", "status": "matched", "mean_ms": 0.01, "flops": 1_000_000, "bytes": 100_000},
        {"name": "tr", "node": "tr", "status": "matched", "mean_ms": 0.02, "flops": 0, "bytes": 1_000_000},
        {"name": "ro", "node": None, "status": "fused/unmatched", "op_type": "ReorderOutput", "mean_ms": 0.005,
         "flops": None, "bytes": None},
    ]
    warnings = kernel_roofline(rows, static, dev)
    mm, tr, ro = rows
    # mm: 1e6 FLOPs in 1e-5 s = 1e11 FLOP/s; intensity 1e6 / 1e5 = 10 -> roof min(1e12, 10 * 1e11) = 1e12; 10 %
    assert mm["measured_time_s"] == pytest.approx(1e-5)
    assert mm["achieved_flops_per_s"] == pytest.approx(1e11) and mm["intensity"] == 10.0
    assert mm["attainable_flops_per_s"] == pytest.approx(1e12) and mm["roofline_efficiency"] == pytest.approx(0.1)
    # tr: data movement, 1e6 bytes in 2e-5 s = 5e10 B/s against 1e11 B/s: 50 %
    assert tr["achieved_bytes_per_s"] == pytest.approx(5e10) and tr["roofline_efficiency"] == pytest.approx(0.5)
    assert ro["roofline_efficiency"] is None and ro["achieved_flops_per_s"] is None
    assert warnings == []
    assert unmatched_kernels(rows) == [{"name": "ro", "op_type": "ReorderOutput", "time_s": 0.005 / 1e3}]
    from onnxstat.runtime.kernel_match import kernel_summary

    assert kernel_summary(rows, top=2) == ("3 kernels (0 fused, 1 unmatched); slowest: tr 0.020 ms (50% of roof), "
                                           "mm 0.010 ms (10% of roof)")
    rows[0]["mean_ms"] = 0.0005  # 2e12 FLOP/s: above a 1e12 roof
    assert "run above" in kernel_roofline(rows, static, dev)[0]


# --------------------------------------------------------------------------- measured roofline plot


def _kernel(name, op, flops, nbytes, ms, eff=None):
    return {"name": name, "op_type": op, "flops": flops, "bytes": nbytes, "mean_ms": ms,
            "measured_time_s": ms / 1e3, "roofline_efficiency": eff}


def test_roofline_plot_draws_measured_kernels_with_readable_axes_and_apart_labels():
    from onnxstat.render.plot import render_roofline
    from onnxstat.passes.roofline import get_device

    res = onnxstat.profile(CNN, {"input": (1, 3, 64, 64)})
    # ten kernels at nearly the same spot: their labels must not overlap
    kernels = [_kernel(f"k{i}", "Conv", 1_000_000 + i, 100_000, 0.01 + i * 1e-4) for i in range(10)]
    kernels.append(_kernel("slow_transpose", "Transpose", 0, 4096, 1.0))  # no FLOPs: not on a FLOP/s axis
    svg = render_roofline(res, get_device("h100"), "svg", top=6, measured=kernels,
                          providers_used=["CPUExecutionProvider"]).decode()
    assert "measured kernel" in svg and "model bound" in svg
    assert "GFLOP/s" in svg and "TFLOP/s" in svg and "mathdefault" not in svg  # 10 GFLOP/s, not 1e10
    assert "not on H100" in svg  # kernels measured on this machine's CPU, drawn under an H100 roof
    assert "slow_transpose" not in svg
    labelled = [f"k{i}" for i in range(10) if f">k{i}<" in svg]
    assert 1 <= len(labelled) <= 6  # at most the top 6, and only those that fit without overlapping
    assert "k9" in labelled  # the slowest kernel gets its label first


def test_place_labels_never_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from onnxstat.render.plot import _place_labels

    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    n = _place_labels(ax, fig, [(5, 5, f"label number {i}") for i in range(12)])
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == n and 2 <= n < 12
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_cli_profile_per_node_measured_roofline(tmp_path):
    png, out = tmp_path / "rl.png", tmp_path / "p.json"
    r = run_cli("profile", TRANSFORMER, "--dim", "batch=1", "--dim", "seq=4", "--peak-tflops", "0.1",
                "--bandwidth-gbs", "10", "--bench", "--per-node", "--runs", "3", "--warmup", "1", "--plot", str(png), "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    b = json.loads(out.read_text())["bench"]
    mm = next(n for n in b["nodes"] if n["name"] == "mlp.fc1.MatMul")
    # 2*1*4*64*256 = 131,072 FLOPs over 4*64*4 + 64*256*4 + 4*256*4 = 70,656 bytes: intensity 1.855 -> the roof
    # of a 0.1 TFLOP/s, 10 GB/s device there is 18.55 GFLOP/s
    assert mm["flops"] == 131_072 and mm["bytes"] == 70_656
    assert mm["attainable_flops_per_s"] == pytest.approx(131_072 / 70_656 * 10e9)
    assert mm["roofline_efficiency"] == pytest.approx(mm["achieved_flops_per_s"] / mm["attainable_flops_per_s"])
    assert mm["achieved_flops_per_s"] == pytest.approx(mm["flops"] / mm["measured_time_s"])
    assert b["unmatched_kernels"] == [] and b["host"]["cpu"]
    r = run_cli("profile", TRANSFORMER, "--per-node")
    assert r.exit_code == 2 and "--per-node goes with --bench" in r.stderr


def test_cache_levels_raise_the_roof_of_kernels_whose_bytes_fit():
    from onnxstat.passes.roofline import Device

    # memory 10 GB/s; a 1 MB working set measured at 80 GB/s, a 16 MB one at 40 GB/s
    dev = Device("host", {"fp32": 1e12}, 1e10, "test", kind="host", measured=True,
                 bandwidth_levels=((1e6, 8e10), (16e6, 4e10)))
    assert dev.bandwidth_at(500_000) == 8e10 and dev.bandwidth_at(2e6) == 4e10 and dev.bandwidth_at(1e9) == 1e10
    assert dev.to_dict()["bandwidth_levels"][0] == {"working_set_bytes": 1e6, "bandwidth_bytes_per_s": 8e10}
    static = {"add": type("N", (), {"flops": 100_000, "compute_dtype": "float32"})()}
    # an Add moving 1.2 MB (fits the 16 MB level) in 0.05 ms: 24 GB/s, above memory's 10 GB/s;
    # intensity 100,000 / 1,200,000 = 1/12 -> roof min(1e12, 4e10 / 12) = 3.33 GFLOP/s; achieved 2 GFLOP/s: 60 %
    rows = [{"name": "add", "node": "add", "status": "matched", "mean_ms": 0.05, "flops": 100_000, "bytes": 1_200_000}]
    assert kernel_roofline(rows, static, dev) == []
    r = rows[0]
    assert r["roofline_bandwidth_bytes_per_s"] == 4e10
    assert r["attainable_flops_per_s"] == pytest.approx(4e10 / 12)
    assert r["roofline_efficiency"] == pytest.approx(2e9 / (4e10 / 12)) == pytest.approx(0.6)


def test_per_node_falls_back_to_names_when_the_optimised_model_cannot_be_written(monkeypatch):
    from onnxstat.runtime import session

    real = session.create_session

    def refuse_to_write(ort, source, so, providers, device_id):
        if so.optimized_model_filepath:
            raise B.ModelError("onnxruntime cannot create a session for the model: cannot save")
        return real(ort, source, so, providers, device_id)

    monkeypatch.setattr(session, "create_session", refuse_to_write)
    res = B.bench(MLP, per_node=True, opt_level="disable", runs=2, warmup=1)
    assert res.per_node["matching"] == "node names"
    assert [r["node"] for r in res.nodes] == ["fc1", "relu1", "fc2", "relu2", "fc3", "softmax"]
