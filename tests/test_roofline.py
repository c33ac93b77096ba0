"""Roofline: device presets, precision mapping, per-node bound/time, model latency, CLI.

Every expected number is computed by hand in the comment next to it (H100 SXM:
fp32 67e12, fp16 989.5e12, int8 1979e12 FLOP/s; 3.35e12 B/s).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner
from onnx import TensorProto, helper

from onnxstat.cli import cli
from onnxstat.errors import UsageError
from onnxstat.passes.analysis import NodeCost
from onnxstat.passes.roofline import (
    Device,
    apply_roofline,
    attach_roofline,
    custom_device,
    efficiency_pct,
    get_device,
    measure_host,
    node_roofline,
    precision_of,
    presets,
    resolve_device,
    summary_rows,
)
from onnxstat.profiler import profile

ROOT = Path(__file__).resolve().parent.parent
H100_FP32 = 67e12
H100_FP16 = 989.5e12
H100_INT8 = 1979e12
H100_BW = 3.35e12


def node(name, op, flops, read, written, dtype="float32", kind="compute", domain=""):
    return NodeCost(name=name, path=name, domain=domain, op_type=op, kind=kind, compute_dtype=dtype,
                    inputs=[], outputs=[], macs=0, flops=flops, bytes_read=read, bytes_written=written)


def model_of(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


# --------------------------------------------------------------------------- devices


def test_presets_cover_required_targets_with_sources():
    names = {d.name for d in presets()}
    for required in ("H100 SXM", "H100 PCIe", "H200 SXM", "A100 40GB SXM", "A100 80GB SXM", "L4", "T4",
                     "RTX 4090", "Jetson AGX Orin 64GB", "Apple M2 Max", "Apple M3 Max", "Xeon Platinum 8480+",
                     "EPYC 9654"):
        assert required in names
    for d in presets():
        assert re.search(r"\b(19|20)\d\d\b", d.source), f"{d.name}: source names no year"
        assert d.peaks["fp32"] > 0 and d.bandwidth > 0
        for p in ("fp16", "int8"):
            assert d.peaks[p] is None or d.peaks[p] > 0


def test_h100_sxm_datasheet_numbers():
    d = get_device("H100 SXM")
    # datasheet: FP32 67 TFLOPS; FP16 1,979 sparse -> 989.5 dense; INT8 3,958 sparse -> 1,979 dense; 3.35 TB/s
    assert d.peaks == {"fp32": 67e12, "fp16": 989.5e12, "int8": 1979e12}
    assert d.bandwidth == 3.35e12
    # ridge fp32 = 67e12 / 3.35e12 = 20 FLOPs/byte
    assert d.ridge("fp32") == pytest.approx(20.0)


def test_cpu_presets_match_cores_clock_flops_per_cycle():
    spr = get_device("spr")
    # 56 cores x 2.0 GHz x 64 fp32 FLOPs/cycle (2 AVX-512 FMA x 16 lanes x 2) = 7.168e12
    assert spr.peaks["fp32"] == pytest.approx(7.168e12)
    # AMX: 56 x 2.0e9 x 1024 = 114.688e12 (bf16); x 2048 = 229.376e12 (int8)
    assert spr.peaks["fp16"] == pytest.approx(114.688e12)
    assert spr.peaks["int8"] == pytest.approx(229.376e12)
    # 8 channels x 4.8e9 x 8 B = 307.2e9 B/s
    assert spr.bandwidth == pytest.approx(307.2e9)
    genoa = get_device("genoa")
    # 96 x 2.4e9 x 32 = 7.3728e12; 12 x 4.8e9 x 8 = 460.8e9
    assert genoa.peaks["fp32"] == pytest.approx(7.3728e12)
    assert genoa.bandwidth == pytest.approx(460.8e9)
    assert "96 x 2.4e9 x 32" in genoa.source and "56 x 2.0e9 x 64" in spr.source


@pytest.mark.parametrize(
    "query, name",
    [("h100", "H100 SXM"), ("H100", "H100 SXM"), ("h100 sxm", "H100 SXM"), ("H100_PCIe", "H100 PCIe"),
     ("h200", "H200 SXM"), ("a100", "A100 80GB SXM"), ("A100-40GB", "A100 40GB SXM"), (" T4 ", "T4"),
     ("rtx4090", "RTX 4090"), ("orin", "Jetson AGX Orin 64GB"), ("M3 MAX", "Apple M3 Max"),
     ("xeon-8480+", "Xeon Platinum 8480+")],
)
def test_device_lookup_is_case_insensitive_with_aliases(query, name):
    assert get_device(query).name == name


def test_unknown_device_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError, match=r"unknown device 'h10'.*did you mean"):
        get_device("h10")
    with pytest.raises(UsageError, match="empty device name"):
        get_device("  ")


def test_custom_device_and_option_conflicts():
    d = resolve_device(None, 100.0, 2000.0)
    # 100 TFLOP/s for every precision, 2000 GB/s = 2e12 B/s
    assert d.peaks == {"fp32": 100e12, "fp16": 100e12, "int8": 100e12}
    assert d.bandwidth == 2e12
    assert "user-supplied" in d.source
    assert resolve_device() is None
    with pytest.raises(UsageError, match="not both"):
        resolve_device("h100", 1.0, 1.0)
    with pytest.raises(UsageError, match="needs both"):
        resolve_device(None, 1.0, None)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(UsageError, match="positive"):
            custom_device(bad, 100.0)
    with pytest.raises(UsageError, match="fp32 peak is required"):
        Device("x", {"fp16": 1e12}, 1e9, "test")
    with pytest.raises(UsageError, match="unknown precision"):
        Device("x", {"fp32": 1e12, "fp64": 1e12}, 1e9, "test")


def test_host_measurement_is_labelled_and_positive():
    d = measure_host(0.2, refresh=True)
    assert d.measured and d.kind == "host"
    assert d.peaks["fp32"] > 1e8 and math.isfinite(d.peaks["fp32"])  # any machine does > 0.1 GFLOP/s
    assert d.bandwidth > 1e8 and math.isfinite(d.bandwidth)
    # fp16/int8 are explicitly absent and the source says nodes fall back to the fp32 measurement
    assert d.peaks["fp16"] is None and d.peaks["int8"] is None
    assert "measured" in d.source and "not measured" in d.source and "bytes read + bytes written" in d.source
    assert get_device("HOST") is d  # cached: no second measurement


# --------------------------------------------------------------------------- precision mapping


@pytest.mark.parametrize(
    "dtype, prec",
    [("float32", "fp32"), ("float16", "fp16"), ("bfloat16", "fp16"), ("int8", "int8"), ("uint8", "int8"),
     ("int4", "int8"), ("uint4", "int8"), ("float64", "fp32"), ("int64", "fp32"), ("float8e4m3fn", "fp16"),
     ("none", None), ("undefined", None)],
)
def test_precision_of(dtype, prec):
    assert precision_of(dtype)[0] == prec


# --------------------------------------------------------------------------- per node


def test_large_fp16_matmul_is_compute_bound_on_h100():
    n = 4096
    # FLOPs = 2·4096³ = 137,438,953,472; bytes = A + B + Y = 3·4096²·2 = 100,663,296
    flops, nbytes = 2 * n**3, 3 * n * n * 2
    assert (flops, nbytes) == (137_438_953_472, 100_663_296)
    r = node_roofline(node("mm", "MatMul", flops, 2 * n * n * 2, n * n * 2, "float16"), get_device("h100"))
    # intensity = 137438953472 / 100663296 = 4096/3 = 1365.33 FLOPs/byte > fp16 ridge 989.5e12/3.35e12 = 295.37
    assert r.intensity == pytest.approx(1365.3333333333333)
    assert r.precision == "fp16"
    assert r.bound == "compute"
    # attainable = min(989.5e12, 1365.33 x 3.35e12 = 4.5739e15) = 989.5e12
    assert r.attainable_flops_per_s == pytest.approx(989.5e12)
    # time = max(137438953472 / 989.5e12 = 1.388974e-4, 100663296 / 3.35e12 = 3.00487e-5) = 1.388974e-4 s
    assert r.roofline_time_s == pytest.approx(1.388974e-4, rel=1e-6)
    assert r.memory_time_s == pytest.approx(3.00487e-5, rel=1e-5)


def test_large_fp16_matmul_end_to_end_through_profile():
    n = 4096
    m = model_of(
        [helper.make_node("MatMul", ["A", "B"], ["Y"], name="mm")],
        [helper.make_tensor_value_info("A", TensorProto.FLOAT16, [n, n]),
         helper.make_tensor_value_info("B", TensorProto.FLOAT16, [n, n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT16, [n, n])],
    )
    rl = apply_roofline(profile(m), get_device("H100 SXM"))
    (r,) = rl.nodes
    # same numbers as above, now from the MatMul handler and the float16 compute dtype
    assert r.flops == 137_438_953_472 and r.bytes == 100_663_296
    assert r.bound == "compute" and r.precision == "fp16"
    assert rl.latency_s == pytest.approx(1.388974e-4, rel=1e-6)


def test_elementwise_add_is_memory_bound():
    m = model_of(
        [helper.make_node("Add", ["a", "b"], ["c"], name="add")],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1024, 1024]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [1024, 1024])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1024, 1024])],
    )
    rl = apply_roofline(profile(m), get_device("h100"))
    (r,) = rl.nodes
    # FLOPs = 1024² = 1,048,576; bytes = 3·1024²·4 = 12,582,912; intensity = 1/12 = 0.083333
    assert (r.flops, r.bytes) == (1_048_576, 12_582_912)
    assert r.intensity == pytest.approx(1 / 12)
    assert r.bound == "memory" and r.precision == "fp32"
    # attainable = min(67e12, 3.35e12/12 = 2.791667e11) = 2.791667e11
    assert r.attainable_flops_per_s == pytest.approx(2.791667e11, rel=1e-6)
    # time = max(1048576/67e12 = 1.565e-8, 12582912/3.35e12 = 3.756093e-6) = 3.756093e-6 s
    assert r.roofline_time_s == pytest.approx(3.756093e-6, rel=1e-6)


def test_int8_data_movement_view_and_fallback_nodes():
    dev = get_device("h100")
    # int8 GEMM 1024³: FLOPs 2·1024³ = 2,147,483,648; bytes 2·1024²·1 + 1024²·4 (int32 out) = 6,291,456
    # intensity = 341.33 < int8 ridge 1979e12/3.35e12 = 590.75 -> memory-bound at the int8 peak
    r = node_roofline(node("q", "MatMulInteger", 2 * 1024**3, 2 * 1024**2, 4 * 1024**2, "int8"), dev)
    assert r.precision == "int8" and r.bound == "memory"
    # time = max(2147483648/1979e12 = 1.08514e-6, 6291456/3.35e12 = 1.878046e-6) = 1.878046e-6
    assert r.roofline_time_s == pytest.approx(1.878046e-6, rel=1e-6)
    # the same node at the fp32 peak would be compute-bound: 2147483648/67e12 = 3.2052e-5 > 1.878e-6
    r32 = node_roofline(node("f", "MatMul", 2 * 1024**3, 2 * 1024**2, 4 * 1024**2, "float32"), dev)
    assert r32.bound == "compute" and r32.roofline_time_s == pytest.approx(3.205199e-5, rel=1e-6)
    # Transpose (compute dtype none): memory only, 8 MB moved -> 8e6/3.35e12 = 2.38806e-6 s
    t = node_roofline(node("t", "Transpose", 0, 4_000_000, 4_000_000, "none", "data_movement"), dev)
    assert t.precision is None and t.bound == "memory" and t.intensity == 0.0
    assert t.attainable_flops_per_s == 0.0
    assert t.roofline_time_s == pytest.approx(2.388060e-6, rel=1e-6)
    # a view moves nothing: no bound, no time
    v = node_roofline(node("v", "Reshape", 0, 0, 0, "none", "view"), dev)
    assert (v.bound, v.roofline_time_s, v.intensity) == ("none", 0.0, None)
    # a device without an fp16 peak uses fp32 for fp16 work and says so
    cpu = Device("cpu", {"fp32": 1e12, "fp16": None, "int8": None}, 100e9, "test")
    h = node_roofline(node("h", "MatMul", 10**12, 10**9, 0, "float16"), cpu)
    # time = max(1e12/1e12 = 1 s, 1e9/1e11 = 0.01 s) = 1 s at the fp32 peak
    assert h.precision == "fp32" and h.roofline_time_s == pytest.approx(1.0)
    assert "no fp16 peak" in h.note


def test_model_latency_is_the_sum_and_json_names():
    dev = custom_device(1.0, 100.0)  # 1e12 FLOP/s, 1e11 B/s, ridge 10 FLOPs/byte
    from onnxstat.result import ProfileResult, summarize

    nodes = [
        node("a", "MatMul", 2 * 10**9, 10**8, 0),  # intensity 20: compute, 2e9/1e12 = 2e-3 s
        node("b", "Add", 10**6, 8 * 10**6, 4 * 10**6),  # intensity 1/12: memory, 1.2e7/1e11 = 1.2e-4 s
        node("c", "MatMul", 10**9, 2 * 10**8, 0),  # intensity 5: memory, 2e8/1e11 = 2e-3 s
        node("d", "Reshape", 0, 0, 0, "none", "view"),  # 0 s
    ]
    totals, rows = summarize(nodes)
    res = ProfileResult(None, 8, {"ai.onnx": 17}, "", [], [], nodes, totals, rows, [], [])
    rl = apply_roofline(res, dev)
    # 2e-3 + 1.2e-4 + 2e-3 + 0 = 4.12e-3 s
    assert rl.latency_s == pytest.approx(4.12e-3)
    assert [n.bound for n in rl.nodes] == ["compute", "memory", "memory", "none"]
    ops = {(o["domain"], o["op_type"]): o for o in rl.by_op_type}
    # MatMul: (2e9 + 1e9) FLOPs / (1e8 + 2e8) bytes = 10 FLOPs/byte; 4e-3 s of 4.12e-3
    assert ops[("", "MatMul")]["intensity"] == pytest.approx(10.0)
    assert ops[("", "MatMul")]["roofline_time_s"] == pytest.approx(4e-3)
    assert ops[("", "MatMul")]["roofline_time_share"] == pytest.approx(4e-3 / 4.12e-3)
    assert ops[("", "MatMul")]["compute_bound_nodes"] == 1 and ops[("", "MatMul")]["memory_bound_nodes"] == 1
    assert rl.op_type_extras[("", "Add")]["intensity"] == pytest.approx(1 / 12)
    extras = rl.node_extras
    assert len(extras) == len(res.nodes)
    assert set(extras[0]) >= {"intensity", "attainable_flops_per_s", "bound", "roofline_time_s"}
    assert rl.node_extras_by_path["b"]["bound"] == "memory"
    tot = rl.totals_extras
    assert tot["roofline_latency_s"] == pytest.approx(4.12e-3)
    assert tot["device"]["name"] == "custom" and tot["device"]["bandwidth_bytes_per_s"] == 1e11
    assert "source" in tot["device"] and tot["device"]["peak_flops_per_s"]["fp32"] == 1e12
    # measured 8.24 ms -> efficiency = 4.12 / 8.24 = 50 %
    rl.set_measured(8.24e-3)
    assert rl.efficiency_pct == pytest.approx(50.0)
    assert rl.to_dict()["efficiency_pct"] == pytest.approx(50.0)
    json.dumps(rl.to_dict(), allow_nan=False)
    with pytest.raises(UsageError):
        rl.set_measured(-1.0)


def test_efficiency_pct():
    # roofline 1 ms, measured 4 ms -> 25 %
    assert efficiency_pct(1e-3, 4e-3) == pytest.approx(25.0)
    assert efficiency_pct(1e-3, None) is None and efficiency_pct(None, 1.0) is None


def test_symbolic_and_unsupported_nodes_are_flagged():
    b = sympy.Symbol("batch")
    from onnxstat.result import ProfileResult, Totals

    nodes = [node("s", "MatMul", 2 * b, 4 * b, 0), node("u", "Foo", 0, 1000, 1000, "float32", "unsupported")]
    res = ProfileResult(None, 8, {}, "", [], [], nodes, Totals(), [], [("", "Foo", 1)], [])
    rl = apply_roofline(res, custom_device(1.0, 1.0))
    assert rl.nodes[0].bound == "unknown" and rl.nodes[0].roofline_time_s is None
    # unsupported: 2000 bytes / 1e9 B/s = 2e-6 s, memory only
    assert rl.nodes[1].roofline_time_s == pytest.approx(2e-6)
    assert rl.latency_s == pytest.approx(2e-6)
    assert any("symbolic" in w for w in rl.warnings) and any("unsupported" in w for w in rl.warnings)
    json.dumps(rl.to_dict(), allow_nan=False)


def test_sample_cnn_on_t4():
    res = profile(str(ROOT / "sample_models" / "cnn.onnx"))
    rl = apply_roofline(res, get_device("t4"))
    conv1 = rl.nodes[0]
    # conv1 (batch 1): FLOPs 3,604,480; traffic 313,088 bytes -> intensity 11.51 < T4 ridge 8.1e12/320e9 = 25.3
    assert conv1.path == "conv1" and conv1.bound == "memory"
    assert conv1.intensity == pytest.approx(3604480 / 313088)
    # time = 313088 / 320e9 = 9.784e-7 s
    assert conv1.roofline_time_s == pytest.approx(9.784e-7)
    assert rl.latency_s == pytest.approx(sum(n.roofline_time_s for n in rl.nodes))


# --------------------------------------------------------------------------- CLI


def test_devices_command_table_and_json(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["devices", "--sources"])
    assert r.exit_code == 0, r.output
    assert "H100 SXM" in r.output and "Sources:" in r.output and "datasheet" in r.output
    r = runner.invoke(cli, ["devices", "--format", "json"])
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["schema"] == "onnxstat.devices/1"
    byname = {d["name"]: d for d in data["devices"]}
    assert byname["T4"]["peak_flops_per_s"]["fp16"] == 65e12 and byname["T4"]["bandwidth_bytes_per_s"] == 320e9
    out = tmp_path / "devices.json"
    r = runner.invoke(cli, ["devices", "--format", "json", "-o", str(out)])
    assert r.exit_code == 0 and json.loads(out.read_text())["devices"]
    r = runner.invoke(cli, ["devices", "-o", str(tmp_path / "missing" / "x.json")])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = runner.invoke(cli, ["devices", "--format", "xml"])
    assert r.exit_code == 2


def test_attach_roofline_sets_the_profile_fragments():
    res = profile(str(ROOT / "sample_models" / "mlp.onnx"))
    rl = attach_roofline(res, "a100", measured_latency_s=1e-3)
    assert res.extras["roofline"]["device"]["name"] == "A100 80GB SXM"
    assert len(res.node_extras) == len(res.nodes) and res.node_extras[0]["bound"] in ("compute", "memory")
    assert res.totals_extras["roofline_latency_s"] == rl.latency_s
    # efficiency = roofline / 1 ms x 100
    assert res.totals_extras["efficiency_pct"] == pytest.approx(rl.latency_s / 1e-3 * 100)
    assert ("", "Gemm") in res.op_type_extras
    json.dumps(res.to_dict(), allow_nan=False)
    labels = [k for k, _v in summary_rows(rl)]
    assert labels == ["Device", "Roofline latency", "Roofline efficiency"]


def test_device_options_validate_the_plot_path(tmp_path):
    from onnxstat.commands.devices import device_from_options

    assert device_from_options(None, None, None) is None
    assert device_from_options("t4", None, None, str(tmp_path / "r.svg")).name == "T4"
    with pytest.raises(UsageError, match="needs device"):
        device_from_options(None, None, None, str(tmp_path / "r.png"))
    with pytest.raises(UsageError, match="unsupported extension"):
        device_from_options("t4", None, None, str(tmp_path / "r.pdf"))
    with pytest.raises(UsageError, match="does not exist"):
        device_from_options("t4", None, None, str(tmp_path / "no" / "r.png"))


# --------------------------------------------------------------------------- measurement vs preset


@pytest.mark.parametrize("device,providers,warns", [
    ("h100", ["CPUExecutionProvider"], "compares the H100 SXM roofline with a latency measured on this machine's CPU; "
                                       "use --device host"),
    ("h100", ["CUDAExecutionProvider", "CPUExecutionProvider"], None),   # GPU against a GPU preset: cannot tell
    ("h100", None, None),                                                 # no measurement details
])
def test_measurement_mismatch_presets(device, providers, warns):
    from onnxstat.passes.roofline import get_device, measurement_mismatch

    got = measurement_mismatch(get_device(device), providers)
    assert (got is None) if warns is None else (warns in got)


def test_measurement_mismatch_cpu_and_custom_devices():
    from onnxstat.passes.roofline import custom_device, measurement_mismatch, presets

    cpu_preset = next(d for d in presets() if d.kind == "cpu")
    assert "this machine's CPU" in measurement_mismatch(cpu_preset, ["CPUExecutionProvider"])
    assert f"roofline efficiency compares the {cpu_preset.name} roofline with a latency measured on a GPU (CUDA)" == \
        measurement_mismatch(cpu_preset, ["CUDAExecutionProvider"])
    assert measurement_mismatch(custom_device(1.0, 50.0), ["CPUExecutionProvider"]) is None
    from onnxstat.passes.roofline import Device

    host = Device(name="this machine", peaks={"fp32": 1e11}, bandwidth=1e10, source="measured", kind="host", measured=True)
    assert measurement_mismatch(host, ["CPUExecutionProvider"]) is None


def test_profile_bench_with_a_gpu_preset_warns_in_every_format(tmp_path):
    out = tmp_path / "p.json"
    r = CliRunner().invoke(cli, ["profile", str(ROOT / "sample_models" / "cnn.onnx"), "--dim", "batch=1", "--bench",
                                 "--runs", "2", "--warmup", "1", "--device", "h100", "--format", "json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    msg = "roofline efficiency compares the H100 SXM roofline with a latency measured on this machine's CPU"
    assert any(w.startswith(msg) for w in d["warnings"])
    assert d["totals"]["efficiency_pct"] > 0
