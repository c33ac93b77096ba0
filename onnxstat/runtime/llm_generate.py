"""The measured generation of ``onnxstat llm --bench``: a greedy loop in onnxruntime.

:func:`run_generation` runs one generation: the prefill on the prompt, then one decode
step per token, each step's present outputs fed back as the next step's past inputs,
the mask, positions and lengths advanced (:func:`_feeds`).  On the CPU numpy arrays go
in and out of ``sess.run`` (:class:`_HostLoop`); on a GPU the caches stay on the device
with IO binding (:class:`_DeviceLoop`).  :func:`generate_bench` times whole generations.
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

import numpy as np

from ..errors import ModelError
from .llm_phases import _cache_shape, _profile_phase
from .llm_signature import Signature, detect_signature


def _feeds(sig: Signature, ids: np.ndarray, past_len: int, batch: int) -> dict[str, np.ndarray]:
    """The non-cache inputs of one step: ids, mask, positions, seqlens_k, total length."""
    from .inputs import np_dtype

    seq = ids.shape[1]
    total = past_len + seq
    feeds = {sig.ids: ids.astype(np_dtype(sig.ids_dtype))}
    if sig.mask:
        feeds[sig.mask] = np.ones((batch, total), dtype=np_dtype(sig.declared[sig.mask][0]))
    if sig.positions:
        pos = np.arange(past_len, total, dtype=np_dtype(sig.declared[sig.positions][0]))
        rank = len(sig.declared[sig.positions][1] or (0, 0))
        feeds[sig.positions] = np.broadcast_to(pos, (batch, seq)).copy() if rank == 2 else pos
    if sig.seqlens_k:
        feeds[sig.seqlens_k] = np.full((batch,), total - 1, dtype=np_dtype(sig.declared[sig.seqlens_k][0]))
    if sig.total_len:
        dt = np_dtype(sig.declared[sig.total_len][0])
        feeds[sig.total_len] = np.array(total, dtype=dt).reshape(tuple(1 for _ in (sig.declared[sig.total_len][1] or ())))
    if sig.use_cache:
        shape = tuple(1 for _ in (sig.declared[sig.use_cache][1] or ()))
        feeds[sig.use_cache] = np.array(past_len > 0).reshape(shape)
    return feeds


def greedy_tokens(logits: np.ndarray) -> np.ndarray:
    """[batch, seq, vocab] -> the argmax of the last position, [batch, 1] int64."""
    return np.asarray(logits)[:, -1, :].argmax(axis=-1).astype(np.int64).reshape(-1, 1)


def prompt_ids(batch: int, prompt: int, vocab: int, seed: int = 0) -> np.ndarray:
    """The generated prompt: ``np.random.default_rng(seed).integers(0, vocab, (batch, prompt))``."""
    return np.random.default_rng(seed).integers(0, vocab, size=(batch, prompt), dtype=np.int64)


class _HostLoop:
    """One generation with ``sess.run``: numpy in, numpy out (the CPU path)."""

    def __init__(self, sess, sig: Signature, others: Mapping[str, np.ndarray], dims: Mapping[str, int] | None = None):
        self.sess, self.sig, self.others, self.dims = sess, sig, dict(others), dict(dims or {})
        self.out_names = [o.name for o in sess.get_outputs()]
        self.present_of = {p.output: p.input for p in sig.self_kv}

    def start(self, batch: int) -> dict:
        from .inputs import np_dtype

        return {p.input: np.zeros(_cache_shape(p, batch, 0, self.sig.batch_dim, self.dims), dtype=np_dtype(p.dtype))
                for p in self.sig.self_kv}

    def step(self, ids: np.ndarray, past_len: int, cache: dict, batch: int) -> tuple[np.ndarray, dict, int]:
        feeds = _feeds(self.sig, ids, past_len, batch)
        feeds.update(self.others)
        feeds.update(cache)
        t0 = time.perf_counter_ns()
        outs = self.sess.run(self.out_names, feeds)
        dt = time.perf_counter_ns() - t0
        res = dict(zip(self.out_names, outs))
        new_cache = {self.present_of[o]: res[o] for o in self.present_of}
        return res[self.sig.logits], new_cache, dt


class _DeviceLoop(_HostLoop):
    """One generation with IO binding on a GPU: caches stay on the device, present bound back as past."""

    def __init__(self, sess, sig, others, dims, device: str, device_id: int, ort):
        super().__init__(sess, sig, others, dims)
        self.device, self.device_id, self.ort = device, device_id, ort

    def start(self, batch: int) -> dict:
        from .inputs import to_ort_value

        host = super().start(batch)
        return {n: to_ort_value(a, next(p.dtype for p in self.sig.self_kv if p.input == n), self.device,
                                self.device_id, ort=self.ort) for n, a in host.items()}

    def step(self, ids, past_len, cache, batch):
        from .inputs import bind_input

        io = self.sess.io_binding()
        feeds = _feeds(self.sig, ids, past_len, batch)
        feeds.update(self.others)
        keep = []
        for name, arr in feeds.items():
            keep.append(bind_input(io, name, arr, self.sig.declared[name][0], self.device, self.device_id, ort=self.ort))
        for name, ov in cache.items():
            io.bind_ortvalue_input(name, ov)
        for o in self.out_names:
            io.bind_output(o, self.device, self.device_id)
        t0 = time.perf_counter_ns()
        self.sess.run_with_iobinding(io)
        io.synchronize_outputs()
        dt = time.perf_counter_ns() - t0
        res = dict(zip(self.out_names, io.get_outputs()))
        new_cache = {self.present_of[o]: res[o] for o in self.present_of}
        return res[self.sig.logits].numpy(), new_cache, dt


def run_generation(loop, sig: Signature, ids: np.ndarray, generate: int) -> tuple[list[list[int]], int, list[int]]:
    """Greedy generation of ``generate`` tokens: (tokens per row, prefill ns, decode step ns)."""
    batch, prompt = ids.shape
    cache = loop.start(batch)
    logits, cache, pre_ns = loop.step(ids, 0, cache, batch)
    tok = greedy_tokens(logits)
    tokens = [tok]
    steps = []
    past = prompt
    for _ in range(generate - 1):
        logits, cache, ns = loop.step(tok, past, cache, batch)
        steps.append(ns)
        past += 1
        tok = greedy_tokens(logits)
        tokens.append(tok)
    out = np.concatenate(tokens, axis=1)
    return out.tolist(), pre_ns, steps


def generate_bench(model, sig: Signature | None = None, *, prompt: int, generate: int, batch: int = 1,
                   providers: str | Sequence[str] = "cpu", runs: int = 3, warmup: int = 1, threads: int | None = None,
                   seed: int = 0, device_id: int = 0, input_shapes=None, dims=None,
                   available_providers: Sequence[str] | None = None) -> dict:
    """A measured greedy generation loop in onnxruntime (see :func:`run_generation`).

    ``warmup`` whole generations are run first (not counted), then ``runs``
    generations; prefill latencies (one per run) and decode-step latencies (N - 1 per
    run) get bench's statistics (mean, percentiles).  tokens/s = batch x decode steps /
    decode seconds.  A CUDA/TensorRT session keeps the caches on the device with IO
    binding; where the provider is absent the usual one-line fallback or error applies.
    """
    from ..model.loader import LoadedModel, load
    from .bench import latency_stats, parse_providers, plan_providers
    from .inputs import make_inputs
    from .session import load_ort

    lm = model if isinstance(model, LoadedModel) else load(model)
    if not lm.weights_available:
        lm.full_model()  # raises ModelError naming the missing external data
    if sig is None:
        sig = detect_signature(lm)
    if sig.logits is None:
        raise ModelError("no logits output recognised: the generation loop needs one")
    ort = load_ort()
    requested = parse_providers(providers)
    available = list(available_providers) if available_providers is not None else list(ort.get_available_providers())
    planned, warnings = plan_providers(requested, available, ort.__version__)

    # the other inputs (encoder states, ...) at their prefill shapes, generated once
    pre = _profile_phase(lm, sig, batch, prompt, 0, input_shapes, dims)
    vocab = next((s[-1] for n, _d, s in pre.outputs if n == sig.logits and s and isinstance(s[-1], int)), None)
    if not vocab:
        raise ModelError(f"the vocabulary size (last dim of {sig.logits}) is unknown")
    others = make_inputs([(n, d, s) for n, d, s in pre.inputs if n in sig.other], seed=seed)

    loop, path, used = _open_loop(lm, sig, others, dims, ort, planned, len(requested) > 1, threads, device_id, warnings)
    ids = prompt_ids(batch, prompt, vocab, seed)
    tokens, pre_ns, dec_ns, gen_ns, by_step = _timed_generations(loop, sig, ids, generate, runs, warmup)
    return {
        "providers_used": used,
        "timing_path": path,
        "runs": max(runs, 1),
        "warmup": warmup,
        "prompt": prompt,
        "generate": generate,
        "batch": batch,
        "prefill_ms": latency_stats(pre_ns),
        "decode_ms": latency_stats(dec_ns) if dec_ns else None,
        "decode_step_p50_ms": [latency_stats(v)["p50"] for v in by_step],
        "generation_ms": latency_stats(gen_ns)["p50"],
        "tokens_per_s": (batch * len(dec_ns) * 1e9 / sum(dec_ns)) if dec_ns and sum(dec_ns) else None,
        "time_to_first_token_ms": latency_stats(pre_ns)["p50"],
        "tokens": tokens,
        "prompt_ids_seed": seed,
        "onnxruntime_version": ort.__version__,
        "warnings": warnings,
    }


def _open_loop(lm, sig: Signature, others: Mapping[str, np.ndarray], dims, ort, planned: Sequence[str],
               fallback_listed: bool, threads: int | None, device_id: int, warnings: list[str]):
    """A session of the decoder on the ``planned`` providers and the loop that drives it:
    (loop, timing path, providers used); provider warnings are added to ``warnings``."""
    from .bench import DEVICE_OF_PROVIDER, check_used_providers, make_session_options
    from .session import create_session

    source = str(lm.path) if lm.path is not None else lm.full_model().SerializeToString()
    so = make_session_options(ort, threads=threads)
    so.log_severity_level = 4  # a failing step is reported in one line below, not by onnxruntime's logger too
    sess, _init_ns = create_session(ort, source, so, planned, device_id)
    used = list(sess.get_providers())
    warnings.extend(check_used_providers(planned, used, fallback_listed=fallback_listed))
    device = DEVICE_OF_PROVIDER.get(used[0], "cpu") if used else "cpu"
    if device == "cpu":
        return _HostLoop(sess, sig, others, dims), "run", used
    return _DeviceLoop(sess, sig, others, dims, device, device_id, ort), f"iobinding:{device}", used


def _timed_generations(loop, sig: Signature, ids: np.ndarray, generate: int, runs: int, warmup: int):
    """``warmup`` untimed generations, then ``max(runs, 1)`` timed ones: (tokens of the last,
    prefill ns per run, every decode step's ns, generation ns per run, decode ns by step)."""
    tokens: list[list[int]] = []
    pre_ns: list[int] = []
    dec_ns: list[int] = []
    gen_ns: list[int] = []
    by_step: list[list[int]] = [[] for _ in range(generate - 1)]
    for i in range(warmup + max(runs, 1)):
        try:
            tokens, p_ns, steps = run_generation(loop, sig, ids, generate)
        except Exception as exc:  # onnxruntime's errors: one line
            from .session import one_line

            raise ModelError(f"the generation loop failed in onnxruntime: {one_line(exc)}") from None
        if i < warmup:
            continue
        pre_ns.append(p_ns)
        dec_ns.extend(steps)
        for k, ns in enumerate(steps):
            by_step[k].append(ns)
        gen_ns.append(p_ns + sum(steps))
    return tokens, pre_ns, dec_ns, gen_ns, by_step
