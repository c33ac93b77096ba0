"""onnxstat llm: decoder signature, prefill/decode costs against hand arithmetic, KV cache
bytes, the measured generation loop against a plain onnxruntime loop, the CLI.

The decoders come from sample_models/decoders.py (onnx.helper + numpy, no download, no torch).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

import onnxstat
from onnxstat.cli import cli
from onnxstat.errors import UsageError
from onnxstat.runtime.llm import detect_signature, fit_decode_formula, generate_bench, kv_cache, llm, sum_over_past

ROOT = Path(__file__).resolve().parents[1]


def _decoders():
    spec = importlib.util.spec_from_file_location("onnxstat_sample_decoders", ROOT / "sample_models" / "decoders.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


dec = _decoders()

# the builders' defaults
L, H, V = 2, 64, 128
NQ, NKV, D, INTER = 4, 2, 16, 128


def gpt2_macs(b: int, s: int, p: int) -> int:
    """GPT-2 block: c_attn s·H·3H, Q·Kᵀ and P·V s·(p+s)·H each, c_proj s·H·H, MLP s·H·4H twice;
    lm_head s·H·V.  = b·(L·(12·s·H² + 2·s·(p+s)·H) + s·H·V)."""
    return b * (L * (12 * s * H * H + 2 * s * (p + s) * H) + s * H * V)


def llama_macs(b: int, s: int, p: int) -> int:
    """Llama block with GQA: q s·H·(Nq·D), k and v s·H·(Nkv·D) each, o s·(Nq·D)·H, gate/up/down
    3·s·H·I, attention 2·Nq·s·(p+s)·D (every query head); lm_head s·H·V."""
    per_layer = s * H * NQ * D + 2 * s * H * NKV * D + s * NQ * D * H + 3 * s * H * INTER + 2 * NQ * s * (p + s) * D
    return b * (L * per_layer + s * H * V)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("decoders")
    out = {}
    for name in ("gpt2_decoder", "llama_decoder", "gqa_decoder"):
        path = d / f"{name}.onnx"
        onnx.save(getattr(dec, name)(), path)
        out[name] = str(path)
    return out


HAND = {"gpt2_decoder": gpt2_macs, "llama_decoder": llama_macs, "gqa_decoder": llama_macs}


# --------------------------------------------------------------------------- signature


def test_signature_gpt2_optimum_names(models):
    sig = detect_signature(models["gpt2_decoder"])
    assert (sig.ids, sig.mask, sig.positions) == ("input_ids", "attention_mask", "position_ids")
    assert sig.batch_dim == "batch_size" and sig.seq_dim == "sequence_length"
    assert sig.past_dim == "past_sequence_length"
    assert sig.total_dim == "past_sequence_length + sequence_length"
    assert [(p.input, p.output, p.axis) for p in sig.kv] == [
        (f"past_key_values.{i}.{kv}", f"present.{i}.{kv}", 2) for i in range(L) for kv in ("key", "value")
    ]


def test_signature_gqa_names(models):
    sig = detect_signature(models["gqa_decoder"])
    assert (sig.seqlens_k, sig.total_len, sig.mask, sig.positions) == ("seqlens_k", "total_sequence_length", None, None)
    assert {(p.input, p.output) for p in sig.kv} == {
        (f"past_{kv}_{i}", f"present_{kv}_{i}") for i in range(L) for kv in ("key", "value")
    }
    assert sig.other == []


def _tiny_cache_model(past_name="past.0.k", present_name="present.0.k", dtype=TensorProto.FLOAT,
                      past_shape=("batch", 2, "past", 8), ids_shape=("batch", "seq"), extra_inputs=(), extra_outputs=()):
    """input_ids -> logits (a Cast), one cache: present = Concat(past, past[:, :, :0]) along the past axis."""
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["logits"], to=TensorProto.FLOAT),
        helper.make_node("Identity", [past_name], [present_name]),
    ]
    ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, list(ids_shape)),
           helper.make_tensor_value_info(past_name, dtype, list(past_shape)), *extra_inputs]
    outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, list(ids_shape)),
            helper.make_tensor_value_info(present_name, dtype, list(past_shape)), *extra_outputs]
    for i, o in extra_io_pairs(extra_inputs, extra_outputs):
        nodes.append(helper.make_node("Identity", [i], [o]))
    m = helper.make_model(helper.make_graph(nodes, "tiny", ins, outs), opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def extra_io_pairs(ins, outs):
    return [(i.name, o.name) for i, o in zip(ins, outs)]


def test_unpaired_cache_asks_for_kv():
    m = _tiny_cache_model(present_name="new_cache_out")
    with pytest.raises(UsageError, match=r"cannot pair the past input\(s\) past.0.k .*--kv INPUT=OUTPUT"):
        detect_signature(m)
    sig = detect_signature(m, kv=["past.0.k=new_cache_out"])
    assert [(p.input, p.output, p.axis) for p in sig.kv] == [("past.0.k", "new_cache_out", 2)]


def test_no_cache_at_all_asks_for_kv():
    m = _tiny_cache_model(past_name="state_in", present_name="state_out")
    with pytest.raises(UsageError, match="no past/present pairs recognised.*--kv INPUT=OUTPUT"):
        detect_signature(m)
    assert detect_signature(m, kv={"state_in": "state_out"}).past_dim == "past"


def test_ambiguous_past_axis_asks_for_past_dim():
    # a 4-D cache [batch, heads, past, head dim] takes axis 2; a 3-D one with two named axes is ambiguous
    assert detect_signature(_tiny_cache_model(past_shape=("batch", "heads", "past", 8))).kv[0].axis == 2
    m = _tiny_cache_model(past_shape=("batch", "past", "width"))
    with pytest.raises(UsageError, match="past-length axis of past.0.k.*--past-dim"):
        detect_signature(m)
    sig = detect_signature(m, past_dim="past")
    assert sig.kv[0].axis == 1
    with pytest.raises(UsageError, match="--past-dim nope: no axis"):
        detect_signature(m, past_dim="nope")


def test_fixed_new_token_axis_asks_for_seq_dim():
    m = _tiny_cache_model(ids_shape=("batch", 1))
    with pytest.raises(UsageError, match="fixed to 1.*--seq-dim"):
        detect_signature(m)


def test_bad_kv_option_names_the_problem():
    m = _tiny_cache_model()
    with pytest.raises(UsageError, match="'nope' is not a model input"):
        detect_signature(m, kv=["nope=present.0.k"])
    with pytest.raises(UsageError, match="expected INPUT=OUTPUT"):
        detect_signature(m, kv=["just_a_name"])


def test_encoder_decoder_names():
    """past_key_values.N.decoder.* pair with present.N.decoder.*; the encoder (cross) caches are constant."""
    cross = [helper.make_tensor_value_info(f"past_key_values.0.encoder.{kv}", TensorProto.FLOAT,
                                           ["batch", 2, "encoder_sequence_length", 8]) for kv in ("key", "value")]
    m = _tiny_cache_model(past_name="past_key_values.0.decoder.key", present_name="present.0.decoder.key",
                          extra_inputs=cross)
    sig = detect_signature(m)
    kinds = {p.input: (p.kind, p.output) for p in sig.kv}
    assert kinds == {
        "past_key_values.0.decoder.key": ("self", "present.0.decoder.key"),
        "past_key_values.0.encoder.key": ("cross", None),
        "past_key_values.0.encoder.value": ("cross", None),
    }
    assert sig.past_dim == "past"
    kvd = kv_cache(sig, batch=1, context=10)
    assert kvd["bytes_per_token"] == 2 * 8 * 4 and kvd["cross_caches"] == 2  # the decoder key only: 2 heads x 8 x 4 B


# --------------------------------------------------------------------------- costs against hand arithmetic


@pytest.mark.parametrize("name", ["gpt2_decoder", "llama_decoder", "gqa_decoder"])
@pytest.mark.parametrize("batch", [1, 2])
def test_prefill_and_decode_macs_by_hand(models, name, batch):
    P, C = 24, 200
    r = llm(models[name], prompt=P, context=C, batch=batch)
    hand = HAND[name]
    assert r.prefill["macs"] == hand(batch, P, 0)
    assert [pt["past"] for pt in r.decode["points"]] == [P, (P + C - 1) // 2, C - 1]
    for pt in r.decode["points"]:
        assert pt["macs"] == hand(batch, 1, pt["past"])
    # the formula: linear in past, slope = the attention MACs of one more cached token
    f = r.decode["formula"]["macs"]
    from onnxstat.passes.symbolic import evaluate

    for p in (0, 1, 1000, 123457):
        assert evaluate(f, {"past": p}) == hand(batch, 1, p)
    # generating N tokens: prefill + N - 1 decode steps at past = P .. P + N - 2
    n = r.generate
    assert r.generation["macs"] == hand(batch, P, 0) + sum(hand(batch, 1, P + k) for k in range(n - 1))


@pytest.mark.parametrize("name", ["gpt2_decoder", "llama_decoder", "gqa_decoder"])
def test_decode_formula_reproduces_every_concrete_metric(models, name):
    from onnxstat.model.loader import load
    from onnxstat.passes.symbolic import evaluate
    from onnxstat.runtime.llm import _profile_phase

    r = llm(models[name], prompt=8, context=40)
    lm = load(models[name])
    for p in (0, 5, 39, 700):
        t = _profile_phase(lm, r.signature, 1, 1, p, {}, {}).totals
        f = r.decode["formula"]
        assert evaluate(f["macs"], {"past": p}) == t.macs
        assert evaluate(f["flops"], {"past": p}) == t.flops
        assert evaluate(f["memory_traffic_bytes"], {"past": p}) == t.memory_traffic_bytes


def test_fit_and_sum_are_exact():
    samples = {p: {"macs": 3 * p * p + 7 * p + 11, "flops": 5, "memory_traffic_bytes": 2 * p} for p in (1, 2, 3, 5, 8, 13)}
    f = fit_decode_formula(samples)
    assert str(f["macs"]) == "3*past**2 + 7*past + 11" and f["flops"] == 5
    assert sum_over_past(f["macs"], 10, 20) == sum(3 * p * p + 7 * p + 11 for p in range(10, 30))
    assert sum_over_past(f["macs"], 10, 0) == 0
    # not a polynomial of degree <= 2: no formula
    assert fit_decode_formula({p: {"macs": p**3, "flops": 0, "memory_traffic_bytes": 0} for p in range(1, 9)}) is None


# --------------------------------------------------------------------------- KV cache and weights


@pytest.mark.parametrize("name,heads", [("gpt2_decoder", 4), ("llama_decoder", NKV), ("gqa_decoder", NKV)])
def test_kv_bytes_per_token(models, name, heads):
    r = llm(models[name], prompt=16, context=1024, batch=3)
    per_token = L * 2 * heads * D * 4  # layers x (key, value) x kv heads x head dim x float32
    assert r.kv_cache["bytes_per_token"] == per_token
    assert r.kv_cache["bytes_at_context"] == per_token * 1024 * 3
    assert (r.kv_cache["layers"], r.kv_cache["kv_heads"], r.kv_cache["head_dim"]) == (L, heads, D)


@pytest.mark.parametrize("dtype,size", [(TensorProto.FLOAT16, 2), (TensorProto.INT8, 1), (TensorProto.UINT8, 1)])
def test_kv_bytes_per_token_low_precision_caches(dtype, size):
    layers, heads, hd = 3, 2, 8
    ins, outs, nodes = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"])], [], []
    outs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "s"]))
    nodes.append(helper.make_node("Cast", ["input_ids"], ["logits"], to=TensorProto.FLOAT))
    for i in range(layers):
        for kv in ("key", "value"):
            ins.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", dtype, ["b", heads, "past", hd]))
            outs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", dtype, ["b", heads, "past", hd]))
            nodes.append(helper.make_node("Identity", [f"past_key_values.{i}.{kv}"], [f"present.{i}.{kv}"]))
    m = helper.make_model(helper.make_graph(nodes, "q", ins, outs), opset_imports=[helper.make_opsetid("", 17)])
    kvd = kv_cache(detect_signature(m), batch=2, context=100)
    assert kvd["bytes_per_token"] == layers * 2 * heads * hd * size
    assert kvd["bytes_at_context"] == layers * 2 * heads * hd * size * 100 * 2


def test_weights_by_dtype_int4_packed(models):
    r = llm(models["gqa_decoder"], prompt=4, context=16)
    by = r.weights["bytes_by_dtype"]
    # MatMulNBits B: N·K 4-bit weights packed two per byte; every projection and lm_head is quantised
    per_layer = H * NQ * D + 2 * H * NKV * D + NQ * D * H + 3 * H * INTER
    assert by["uint4"] == (L * per_layer + H * V) // 2
    # float32: embedding, the 5 norm weights, the block scales (one per 32 weights); GroupQueryAttention's
    # cos/sin caches are rotary tables it gathers rows from, not weights (op_handlers/onnx/attention.py)
    scales = (L * per_layer + H * V) // 32
    assert by["float32"] == 4 * (V * H + (2 * L + 1) * H + scales)


# --------------------------------------------------------------------------- roofline


def test_roofline_per_phase(models):
    r = llm(models["llama_decoder"], prompt=64, context=512, device="h100")
    d = r.to_dict()
    assert d["device"]["name"] == "H100 SXM"
    assert d["prefill"]["roofline_s"] > 0 and d["prefill"]["bound"] in ("compute", "memory")
    mid = next(p for p in d["decode"]["points"] if p["past"] == (64 + 511) // 2)
    assert d["tokens_per_s"]["roofline"] == pytest.approx(1 / mid["roofline_s"])
    assert d["tokens_per_s"]["time_to_first_token_s"] == d["prefill"]["roofline_s"]
    # decode of a tiny model on an H100: every byte must come from memory, the bound is memory
    assert all(p["bound"] == "memory" for p in d["decode"]["points"])
    times = [p["roofline_s"] for p in d["decode"]["points"]]
    assert times == sorted(times)  # a longer past reads more cache


# --------------------------------------------------------------------------- measured loop


def plain_greedy(path: str, prompt_ids: np.ndarray, n: int) -> list[list[int]]:
    """A plain onnxruntime greedy loop, written independently of onnxstat.llm."""
    import onnxruntime as ort

    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    ins = {i.name: i for i in s.get_inputs()}
    b = prompt_ids.shape[0]
    past = {i.name: np.zeros((b, i.shape[1], 0, i.shape[3]), np.float32) for i in s.get_inputs() if "past" in i.name}
    cur, n_past, out = prompt_ids, 0, []
    for _ in range(n):
        t = n_past + cur.shape[1]
        feed = {"input_ids": cur, **past}
        if "attention_mask" in ins:
            feed["attention_mask"] = np.ones((b, t), np.int64)
        if "position_ids" in ins:
            feed["position_ids"] = np.tile(np.arange(n_past, t, dtype=np.int64), (b, 1))
        if "seqlens_k" in ins:
            feed["seqlens_k"] = np.full((b,), t - 1, np.int32)
            feed["total_sequence_length"] = np.array(t, np.int32)
        res = dict(zip(names, s.run(None, feed)))
        nxt = res["logits"][:, -1, :].argmax(-1).reshape(b, 1).astype(np.int64)
        out.append(nxt)
        past = {k: res[k.replace("past_key_values", "present").replace("past_", "present_")] for k in past}
        n_past, cur = t, nxt
    return np.concatenate(out, axis=1).tolist()


@pytest.mark.parametrize("name", ["gpt2_decoder", "llama_decoder", "gqa_decoder"])
def test_measured_tokens_equal_plain_onnxruntime_loop(models, name):
    P, N, B = 7, 9, 2
    m = generate_bench(models[name], prompt=P, generate=N, batch=B, runs=1, warmup=0, seed=3)
    ids = np.random.default_rng(3).integers(0, V, size=(B, P), dtype=np.int64)
    assert m["tokens"] == plain_greedy(models[name], ids, N)
    assert len(m["decode_step_p50_ms"]) == N - 1 and m["prefill_ms"]["p50"] > 0
    assert m["tokens_per_s"] == pytest.approx(B * (N - 1) * 1e3 / (m["decode_ms"]["mean"] * (N - 1)))
    assert m["timing_path"] == "run" and m["providers_used"][0] == "CPUExecutionProvider"


def test_bench_in_llm_fills_measured_fields(models):
    r = llm(models["gpt2_decoder"], prompt=8, generate=4, bench=True, runs=2, warmup=0)
    d = r.to_dict()
    assert d["prefill"]["measured_ms"] == d["measured"]["prefill_ms"]["p50"]
    first = d["decode"]["points"][0]  # past = prompt: the first decode step
    assert first["past"] == 8 and first["measured_ms"] == d["measured"]["decode_step_p50_ms"][0]
    assert d["tokens_per_s"]["measured"] == d["measured"]["tokens_per_s"] > 0


def test_cuda_absent_is_one_line(models):
    with pytest.raises(UsageError, match=r"execution provider cuda .* is not available .*providers cuda,cpu"):
        generate_bench(models["gpt2_decoder"], prompt=4, generate=2, providers="cuda",
                       available_providers=["CPUExecutionProvider"])
    m = generate_bench(models["gpt2_decoder"], prompt=4, generate=2, providers="cuda,cpu", runs=1, warmup=0,
                       available_providers=["CPUExecutionProvider"])
    assert any("falling back to cpu" in w for w in m["warnings"]) and m["timing_path"] == "run"


# --------------------------------------------------------------------------- API and CLI


def test_public_function(models):
    r = onnxstat.llm(models["llama_decoder"], prompt=4, context=16)
    assert r.to_dict()["schema"] == "onnxstat.llm/1"


def test_bad_arguments():
    with pytest.raises(UsageError, match="give --context .* or --generate"):
        llm("x.onnx", prompt=4)
    with pytest.raises(UsageError, match="must be larger than --prompt"):
        llm("x.onnx", prompt=8, context=8)
    with pytest.raises(UsageError, match="exceeds --context"):
        llm("x.onnx", prompt=8, context=10, generate=5)


def test_phase_inputs_are_not_given_by_hand(models):
    with pytest.raises(UsageError, match="input_ids: set by the phases"):
        llm(models["gpt2_decoder"], prompt=4, context=8, input_shapes={"input_ids": (1, 4)})
    with pytest.raises(UsageError, match="past_sequence_length: set by the phases"):
        llm(models["gpt2_decoder"], prompt=4, context=8, dims={"past_sequence_length": 3})


def test_cli_json(models):
    res = CliRunner().invoke(cli, ["llm", models["gqa_decoder"], "--prompt", "16", "--context", "64",
                                   "--device", "h100", "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["schema"] == "onnxstat.llm/1"
    assert set(d["prefill"]) >= {"tokens", "macs", "flops", "bytes", "roofline_s", "measured_ms"}
    assert set(d["decode"]["formula"]) >= {"macs", "flops", "bytes"}
    assert all(set(p) >= {"past", "macs", "flops", "bytes", "roofline_s", "measured_ms"} for p in d["decode"]["points"])
    assert set(d["kv_cache"]) >= {"bytes_per_token", "bytes_at_context"}
    assert "uint4" in d["weights"]["bytes_by_dtype"]
    assert d["device"]["name"] == "H100 SXM" and set(d["tokens_per_s"]) >= {"roofline", "measured"}
    assert d["decode"]["formula"]["macs"] == "256*past + 82176"  # 2 layers x 2 x 4 heads x 16, + the rest at past 0


def test_cli_table_markdown_html(models, tmp_path):
    r = CliRunner().invoke(cli, ["llm", models["gpt2_decoder"], "--prompt", "8", "--context", "32"])
    assert r.exit_code == 0, r.output
    assert "KV cache" in r.stdout and "prefill" in r.stdout and "256·past" in r.stdout
    r = CliRunner().invoke(cli, ["llm", models["gpt2_decoder"], "--prompt", "8", "--context", "32", "--format", "markdown"])
    assert r.exit_code == 0 and "| prefill 8 | 0 |" in r.stdout
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["llm", models["gpt2_decoder"], "--prompt", "8", "--context", "32", "--format", "html",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert 'id="llm"' in page and "Decoder" in page and "past_key_values.0.key" in page


def test_cli_errors_are_one_line(models, tmp_path):
    r = CliRunner().invoke(cli, ["llm", models["gpt2_decoder"], "--prompt", "8"])
    assert r.exit_code == 2 and r.stderr.startswith("onnxstat: error: give --context") and len(r.stderr.splitlines()) == 1
    r = CliRunner().invoke(cli, ["llm", models["gpt2_decoder"], "--prompt", "8", "--context", "16", "--runs", "5"])
    assert r.exit_code == 2 and "add --bench" in r.stderr
    p = tmp_path / "tiny.onnx"
    onnx.save(_tiny_cache_model(past_name="state_in", present_name="state_out"), p)
    r = CliRunner().invoke(cli, ["llm", str(p), "--prompt", "8", "--context", "16"])
    assert r.exit_code == 2 and "--kv INPUT=OUTPUT" in r.stderr and len(r.stderr.splitlines()) == 1


def _seq2seq_decoder(layers=2, heads=2, hd=8):
    """Whisper/T5-style decoder with past: per layer a self cache pair past_key_values.N.decoder.* ->
    present.N.decoder.* (Concat with the new token's projection) and a constant cross cache
    past_key_values.N.encoder.* [batch, heads, encoder_sequence_length, hd]; the scores against both
    caches are MatMuls, so MACs per layer = 2·heads·s·(p+s)·hd (self) + 2·heads·s·E·hd (cross)."""
    g = []
    w = onnx.numpy_helper.from_array(np.ones((1, 1, 1, hd), np.float32), "proj")
    ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])]
    outs = []
    q = "q"
    g.append(helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT))
    g.append(helper.make_node("Unsqueeze", ["ids_f", "axes"], ["ids4"]))  # [B, 1, S, 1]
    g.append(helper.make_node("Mul", ["ids4", "proj"], ["x1"]))  # [B, 1, S, hd]
    g.append(helper.make_node("Expand", ["x1", "heads_shape"], [q]))  # [B, heads, S, hd]
    inits = [w, onnx.numpy_helper.from_array(np.array([1, 3], np.int64), "axes"),
             onnx.numpy_helper.from_array(np.array([1, heads, 1, hd], np.int64), "heads_shape")]
    last = []
    for i in range(layers):
        kv = {}
        for part in ("key", "value"):
            p_in, p_out = f"past_key_values.{i}.decoder.{part}", f"present.{i}.decoder.{part}"
            ins.append(helper.make_tensor_value_info(p_in, TensorProto.FLOAT, ["batch", heads, "past_decoder_sequence_length", hd]))
            outs.append(helper.make_tensor_value_info(p_out, TensorProto.FLOAT, ["batch", heads, "total", hd]))
            g.append(helper.make_node("Concat", [p_in, q], [p_out], axis=2))
            c_in = f"past_key_values.{i}.encoder.{part}"
            ins.append(helper.make_tensor_value_info(c_in, TensorProto.FLOAT, ["batch", heads, "encoder_sequence_length", hd]))
            kv[part] = (p_out, c_in)
        for j, (k, v) in enumerate(zip(kv["key"], kv["value"])):
            t = f"l{i}_{j}"
            g.append(helper.make_node("Transpose", [k], [t + "_kT"], perm=[0, 1, 3, 2]))
            g.append(helper.make_node("MatMul", [q, t + "_kT"], [t + "_s"]))
            g.append(helper.make_node("MatMul", [t + "_s", v], [t + "_o"]))
            last.append(t + "_o")
    g.append(helper.make_node("Sum", last, ["logits"]))
    outs.insert(0, helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", heads, "seq", hd]))
    m = helper.make_model(helper.make_graph(g, "seq2seq", ins, outs, inits), opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def test_encoder_decoder_end_to_end():
    layers, heads, hd, E, P = 2, 2, 8, 10, 4

    def hand(s, p):
        return layers * (2 * heads * s * (p + s) * hd + 2 * heads * s * E * hd)

    r = llm(_seq2seq_decoder(layers, heads, hd), prompt=P, context=16, dims={"encoder_sequence_length": E})
    assert r.prefill["macs"] == hand(P, 0)
    assert [pt["macs"] for pt in r.decode["points"]] == [hand(1, pt["past"]) for pt in r.decode["points"]]
    assert r.kv_cache["bytes_per_token"] == layers * 2 * heads * hd * 4  # the decoder (self) caches only
    assert r.kv_cache["cross_caches"] == 2 * layers
    with pytest.raises(UsageError, match=r"give dims encoder_sequence_length=N \(past_key_values.0.encoder.key"):
        llm(_seq2seq_decoder(layers, heads, hd), prompt=P, context=16)


@pytest.mark.parametrize("name", ["gpt2_decoder", "llama_decoder", "gqa_decoder"])
def test_phase_shapes_equal_onnxruntime(models, name):
    """The output shapes onnxstat resolves at prefill (past 0) and at a decode step are the ones
    onnxruntime produces."""
    import onnxruntime as ort

    from onnxstat.model.loader import load
    from onnxstat.runtime.llm import _feeds, _profile_phase

    lm = load(models[name])
    sig = detect_signature(lm)
    sess = ort.InferenceSession(models[name], providers=["CPUExecutionProvider"])
    for seq, past in ((6, 0), (1, 6)):
        res = _profile_phase(lm, sig, 2, seq, past, {}, {})
        feeds = _feeds(sig, np.zeros((2, seq), np.int64), past, 2)
        feeds.update({p.input: np.zeros((2, p.shape[1], past, p.shape[3]), np.float32) for p in sig.self_kv})
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
        assert {n: tuple(s) for n, _d, s in res.outputs} == {n: a.shape for n, a in got.items()}


def test_device_loop_with_io_binding_matches_host_loop(models):
    """The IO-binding loop (the CUDA path: caches stay in onnxruntime's memory, present bound back as
    past) run on the CPU gives the host loop's tokens."""
    import onnxruntime as ort

    from onnxstat.runtime.llm import _DeviceLoop, _HostLoop, prompt_ids, run_generation

    path = models["llama_decoder"]
    sig = detect_signature(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ids = prompt_ids(2, 5, V, seed=1)
    host, _, _ = run_generation(_HostLoop(sess, sig, {}), sig, ids, 6)
    dev, pre_ns, steps = run_generation(_DeviceLoop(sess, sig, {}, {}, "cpu", 0, ort), sig, ids, 6)
    assert dev == host and pre_ns > 0 and len(steps) == 5
