"""Fuzzing: mutated sample models either profile or fail with a clean OnnxstatError.

Two deterministic (seeded) mutators:

* bytes: bit flips, byte overwrites, truncations and splices (a run of bytes from
  another sample model) of the serialized sample models.  90% of the positions
  are drawn outside large weight payloads, where a change alters the model's
  structure rather than a weight value;
* proto: the model is parsed and one to three semantic edits are made (dims set
  to 0, -1, 2^40, 2^62...; op types swapped; attributes changed or dropped; inputs
  rewired; nodes deleted; initializer dims or dtypes changed; opsets changed);
* struct: structured mutants of attributes and dims: any attribute the op's
  schema defines (set or not) given huge, negative or boundary values (ints up to
  +-2^63, lists of the wrong length, inf and nan floats, odd strings, tensors
  with hostile dims), in the main graph and in subgraphs; dims of inputs, outputs
  and value_info; initializer dims with their data or as bare declarations.

Cases run in-process in two worker subprocesses (one per core), each case under a
time limit: a case that hangs or kills its worker (segfault, abort) is reported
with its seed, and the worker is restarted for the rest.  A smaller sample goes
through the command line in subprocesses to check exit codes, that stderr holds
one "onnxstat: error:" line and never a traceback, and that the interpreter
never crashes.

Reproduce a case:  python tests/test_fuzz.py bytes 1234   (or: proto 1234, struct 1234)
"""

from __future__ import annotations

import json
import os
import random
import selectors
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "sample_models"
NAMES = ["cnn", "mlp", "transformer", "lstm", "cnn_constants", "cnn_external"]
DIMS = {"cnn": {"batch": 2}, "cnn_constants": {"batch": 2}, "cnn_external": {"batch": 2}, "transformer": {"batch": 2, "seq": 3}}

N_BYTES = 1500  # byte-level cases per run
N_PROTO = 1000  # proto-level cases per run
N_STRUCT = 600  # structured attribute / dim cases per run
FIRST_SEED = 0
CASE_TIMEOUT = 30.0  # seconds per case (the slowest sample model profiles in well under 1 s)
WORKER_MEMORY = 4 << 30  # address-space limit of a worker: a runaway allocation becomes a MemoryError

# --------------------------------------------------------------------------- mutators

_DATA: dict[str, bytes] = {}
_STRUCT: dict[str, list[tuple[int, int]]] = {}


def sample_bytes(name: str) -> bytes:
    if name not in _DATA:
        _DATA[name] = (SAMPLES / f"{name}.onnx").read_bytes()
    return _DATA[name]


def _payload_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of weight payloads (> 64 bytes) found with onnx's own parser."""
    import onnx

    m = onnx.load_model_from_string(data)
    ranges = []
    blobs = [t.raw_data for t in m.graph.initializer]
    for n in m.graph.node:
        for a in n.attribute:
            if a.HasField("t"):
                blobs.append(a.t.raw_data)
    for b in blobs:
        if len(b) > 64:
            i = data.find(b)
            if i >= 0:
                ranges.append((i, i + len(b)))
    return sorted(ranges)


def _structure_spans(name: str) -> list[tuple[int, int]]:
    """Spans of the file outside weight payloads."""
    if name not in _STRUCT:
        data = sample_bytes(name)
        spans, pos = [], 0
        for a, b in _payload_ranges(data):
            if a > pos:
                spans.append((pos, a))
            pos = max(pos, b)
        if pos < len(data):
            spans.append((pos, len(data)))
        _STRUCT[name] = spans
    return _STRUCT[name]


def mutate_bytes(seed: int) -> tuple[str, bytes]:
    rng = random.Random(seed)
    name = NAMES[seed % len(NAMES)]
    data = bytearray(sample_bytes(name))
    spans = _structure_spans(name)
    weights = [b - a for a, b in spans]

    def pos() -> int:
        if rng.random() < 0.9:
            a, b = rng.choices(spans, weights)[0]
            return rng.randrange(a, b)
        return rng.randrange(len(data))

    kind = rng.randrange(4)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 8)):
            i = pos()
            data[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncation
        data = data[: rng.randrange(len(data))]
    elif kind == 2:  # splice a run of another sample model in
        other = sample_bytes(rng.choice(NAMES))
        i, j, n = pos(), rng.randrange(len(other)), rng.randint(1, 64)
        data[i : i + n] = other[j : j + n]
    else:  # overwrite bytes with boundary values
        for _ in range(rng.randint(1, 4)):
            data[pos()] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
    return name, bytes(data)


_OPS = [
    "Conv", "MatMul", "Gemm", "Add", "Relu", "Reshape", "Concat", "Gather", "Shape", "Slice", "Transpose",
    "LSTM", "Softmax", "Split", "Squeeze", "Unsqueeze", "ReduceMean", "Pad", "Resize", "Expand", "Where",
    "Cast", "ConstantOfShape", "Range", "Tile", "Einsum", "TopK", "Loop", "If", "BatchNormalization",
    "MaxPool", "Flatten", "LayerNormalization", "Erf", "Pow", "Sqrt", "Div", "Constant", "Identity",
]
_INTS = [0, -1, 1, 2, 3, 7, 64, -(2**31), 2**31, 2**40, 2**62, -(2**63)]


def _proto_edit(rng: random.Random, m) -> None:
    import numpy as np
    import onnx

    g = m.graph
    k = rng.randrange(10)
    if k == 0 and g.input:  # a graph input dim
        dims = rng.choice(g.input).type.tensor_type.shape.dim
        if dims:
            d = rng.choice(dims)
            if rng.random() < 0.7:
                d.dim_value = rng.choice(_INTS) if rng.random() < 0.8 else rng.randrange(-5, 100)
            else:
                d.dim_param = rng.choice(["batch", "seq", "other", ""])
    elif k == 1 and g.node:
        rng.choice(g.node).op_type = rng.choice(_OPS)
    elif k == 2 and g.node:
        n = rng.choice(g.node)
        if n.attribute:
            a = rng.choice(n.attribute)
            if a.type == onnx.AttributeProto.INT:
                a.i = rng.choice(_INTS)
            elif a.type == onnx.AttributeProto.INTS and len(a.ints):
                a.ints[rng.randrange(len(a.ints))] = rng.choice(_INTS)
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice([0.0, -1.0, 1e30, float("nan")])
            else:
                n.attribute.remove(a)
    elif k == 3 and g.node:
        n = rng.choice(g.node)
        if n.input:
            names = [o for x in g.node for o in x.output] + [i.name for i in g.input] + [t.name for t in g.initializer]
            n.input[rng.randrange(len(n.input))] = rng.choice(names)
    elif k == 4 and g.initializer:
        t = rng.choice(g.initializer)
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice(_INTS + [5])
    elif k == 5 and g.initializer:
        rng.choice(g.initializer).data_type = rng.randrange(0, 30)
    elif k == 6 and g.node:
        del g.node[rng.randrange(len(g.node))]
    elif k == 7 and g.node:
        n = rng.choice(g.node)
        if n.input and rng.random() < 0.5:
            del n.input[-1]
        else:
            n.input.append(rng.choice(["", n.input[0] if n.input else "x"]))
    elif k == 8:  # a value of a small int64 constant (shape arithmetic)
        cands = [t for t in g.initializer if t.data_type == onnx.TensorProto.INT64 and t.raw_data and len(t.raw_data) <= 64]
        if cands:
            t = rng.choice(cands)
            a = np.frombuffer(t.raw_data, dtype=np.int64).copy()
            if a.size:
                a[rng.randrange(a.size)] = rng.choice([0, -1, 3, 2**31, -(2**40), 2**62])
                t.raw_data = a.tobytes()
    elif k == 9 and m.opset_import:
        rng.choice(m.opset_import).version = rng.choice([1, 7, 11, 13, 17, 18, 21, 28])


_PROTOS: dict = {}


def _edited(seed: int, edit) -> tuple[str, bytes]:
    """A sample model (picked by ``seed``) after one to three ``edit(rng, model)`` calls."""
    import onnx

    rng = random.Random(seed)
    name = NAMES[seed % len(NAMES)]
    if name not in _PROTOS:
        _PROTOS[name] = onnx.load_model_from_string(sample_bytes(name))
    m = onnx.ModelProto()
    m.CopyFrom(_PROTOS[name])
    for _ in range(rng.randint(1, 3)):
        edit(rng, m)
    return name, m.SerializeToString()


def mutate_proto(seed: int) -> tuple[str, bytes]:
    return _edited(seed, _proto_edit)


# structured mutants: attribute values from the op's schema (every attribute the op
# takes, not only those the model sets) and dims of every kind of tensor, with huge,
# negative and boundary values, in the main graph and in subgraphs
_HOSTILE_INTS = [0, -1, -3, 1, 2, 2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, -(2**31), -(2**62), -(2**63)]
_HOSTILE_FLOATS = [0.0, -0.0, -1.0, 1e-45, 1e30, 3.4e38, float("inf"), float("-inf"), float("nan")]


def _all_nodes(g):
    for n in g.node:
        yield n
        for a in n.attribute:
            if a.HasField("g"):
                yield from _all_nodes(a.g)
            for sub in a.graphs:
                yield from _all_nodes(sub)


def _hostile_int(rng: random.Random) -> int:
    return rng.choice(_HOSTILE_INTS) if rng.random() < 0.8 else rng.randrange(-10, 300)


def _struct_edit(rng: random.Random, m) -> None:
    import onnx
    from onnx import defs

    g = m.graph
    nodes = list(_all_nodes(g))
    k = rng.randrange(6)
    if k <= 2 and nodes:  # an attribute of the op's schema, set or replaced with a hostile value
        n = rng.choice(nodes)
        opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 17)
        try:
            schema = defs.get_schema(n.op_type, opset, n.domain)
            specs = list(schema.attributes.values())
        except Exception:  # noqa: BLE001 - an op onnx does not know: mutate what it has
            specs = []
        A = onnx.AttributeProto
        if specs:
            spec = rng.choice(specs)
            name, atype = spec.name, int(spec.type)
        elif n.attribute:
            a = rng.choice(n.attribute)
            name, atype = a.name, a.type
        else:
            return
        for a in list(n.attribute):
            if a.name == name:
                n.attribute.remove(a)
        if atype == A.INT:
            n.attribute.append(onnx.helper.make_attribute(name, _hostile_int(rng)))
        elif atype == A.INTS:
            vals = [_hostile_int(rng) for _ in range(rng.choice([0, 1, 2, 3, 4, 8]))]
            n.attribute.append(onnx.helper.make_attribute(name, vals, attr_type=A.INTS))
        elif atype == A.FLOAT:
            n.attribute.append(onnx.helper.make_attribute(name, rng.choice(_HOSTILE_FLOATS)))
        elif atype == A.FLOATS:
            vals = [rng.choice(_HOSTILE_FLOATS) for _ in range(rng.choice([0, 1, 3]))]
            n.attribute.append(onnx.helper.make_attribute(name, vals, attr_type=A.FLOATS))
        elif atype == A.STRING:
            n.attribute.append(onnx.helper.make_attribute(name, rng.choice(["", "NOTSET", "x" * 300, "\x00", "é"])))
        elif atype == A.TENSOR:
            dims = [_hostile_int(rng) if rng.random() < 0.3 else rng.randrange(0, 4) for _ in range(rng.randrange(0, 3))]
            t = onnx.TensorProto(name="", data_type=onnx.TensorProto.INT64, dims=[d for d in dims])
            n.attribute.append(onnx.helper.make_attribute(name, t))
    elif k == 3:  # a dim of an input, output or value_info: huge, negative, zero or a name
        vis = [v for v in list(g.input) + list(g.output) + list(g.value_info) if v.type.tensor_type.shape.dim]
        if vis:
            d = rng.choice(rng.choice(vis).type.tensor_type.shape.dim)
            if rng.random() < 0.8:
                d.dim_value = _hostile_int(rng)
            else:
                d.dim_param = rng.choice(["batch", "N", ""])
    elif k == 4 and g.initializer:  # an initializer's dims: with its data, or as a bare declaration
        t = rng.choice(g.initializer)
        dims = list(t.dims) or [1]
        dims[rng.randrange(len(dims))] = _hostile_int(rng)
        del t.dims[:]
        t.dims.extend(dims)
        if rng.random() < 0.5:
            t.ClearField("raw_data")
            for f in ("float_data", "int32_data", "int64_data", "double_data"):
                t.ClearField(f)
    elif k == 5 and nodes:  # rank of a dim list attribute out of step with the tensors
        n = rng.choice(nodes)
        ints = [a for a in n.attribute if a.type == onnx.AttributeProto.INTS]
        if ints:
            a = rng.choice(ints)
            if len(a.ints) and rng.random() < 0.5:
                del a.ints[-1]
            else:
                a.ints.extend([_hostile_int(rng)] * rng.randint(1, 4))


def mutate_struct(seed: int) -> tuple[str, bytes]:
    return _edited(seed, _struct_edit)


MUTATORS = {"bytes": mutate_bytes, "proto": mutate_proto, "struct": mutate_struct}


# --------------------------------------------------------------------------- one case


def write_case(kind: str, seed: int, folder: Path) -> tuple[str, Path]:
    name, data = MUTATORS[kind](seed)
    path = folder / f"{name}.onnx"  # cnn_external keeps its data file name
    path.write_bytes(data)
    return name, path


def run_case(kind: str, seed: int, folder: Path) -> dict:
    """Profile one mutated model in this process: ok, a clean error, or 'bad' with the traceback."""
    from onnxstat.errors import OnnxstatError
    from onnxstat.profiler import profile
    from onnxstat.render import formats as render

    name, path = write_case(kind, seed, folder)
    try:
        res = profile(path, dims=DIMS.get(name))
        render.to_json(res)
        render.to_csv(res, None)
        negative = [
            f"{n.path}.{f}={getattr(n, f)}"
            for n in res.nodes
            for f in ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written")
            if isinstance(getattr(n, f), (int, float)) and getattr(n, f) < 0
        ]
        if negative:
            return {"kind": kind, "seed": seed, "outcome": "bad", "detail": "negative counts: " + ", ".join(negative[:4])}
        return {"kind": kind, "seed": seed, "outcome": "ok"}
    except OnnxstatError as exc:
        msg = str(exc)
        if "\n" in msg.strip() or not msg.strip():
            return {"kind": kind, "seed": seed, "outcome": "bad", "detail": f"error message not one line: {msg!r}"}
        return {"kind": kind, "seed": seed, "outcome": type(exc).__name__}
    except BaseException as exc:  # noqa: BLE001 - that is what we are looking for
        tb = traceback.format_exc(limit=-6)
        return {"kind": kind, "seed": seed, "outcome": "bad", "detail": f"{type(exc).__name__}: {exc}\n{tb}"}


def worker() -> None:
    """Read 'kind seed' lines on stdin, answer one JSON line per case on stdout."""
    import resource
    import warnings

    warnings.simplefilter("ignore")
    try:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    except (ValueError, OSError):
        pass
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="onnxstat-fuzz-"))
    shutil.copy(SAMPLES / "cnn_external.onnx.data", folder)
    out = sys.stdout
    sys.stdout = sys.stderr  # anything the library prints must not corrupt the protocol
    for line in sys.stdin:
        kind, seed = line.split()
        out.write(json.dumps(run_case(kind, int(seed), folder)) + "\n")
        out.flush()
    shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- driver


def _case_file(cases):
    """The case list as a file for a worker's stdin (a pipe could fill up and deadlock)."""
    f = tempfile.TemporaryFile()
    f.write("".join(f"{k} {s}\n" for k, s in cases).encode())
    f.seek(0)
    return f


def _start(cases):
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_fuzz; test_fuzz.worker()"
    with _case_file(cases) as f:
        return subprocess.Popen([sys.executable, "-c", code], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def run_cases(cases: list[tuple[str, int]], n_workers: int = 2, timeout: float = CASE_TIMEOUT) -> list[dict]:
    """Run cases in worker subprocesses; a case that hangs or crashes its worker is reported, not fatal.

    Each worker answers one JSON line per case, in order; the driver reads raw bytes
    (no buffered readline, which would hide lines from select) and gives every case
    ``timeout`` seconds from the previous answer.
    """
    results: list[dict] = []
    sel = selectors.DefaultSelector()
    state: dict = {}

    def launch(todo):
        p = _start(todo)
        sel.register(p.stdout, selectors.EVENT_READ, p)
        state[p] = {"todo": list(todo), "last": time.monotonic(), "buf": b""}

    def retire(p, outcome, detail):
        st = state.pop(p)
        sel.unregister(p.stdout)
        p.stdout.close()
        if st["todo"]:
            kind, seed = st["todo"].pop(0)
            results.append({"kind": kind, "seed": seed, "outcome": outcome, "detail": detail})
            if st["todo"]:
                launch(st["todo"])

    for i in range(n_workers):
        if cases[i::n_workers]:
            launch(cases[i::n_workers])
    while state:
        for key, _ in sel.select(timeout=0.5):
            p = key.data
            st = state[p]
            chunk = os.read(p.stdout.fileno(), 1 << 16)
            if not chunk:
                retire(p, "crash", f"worker exited with {p.wait()}")
                continue
            st["buf"] += chunk
            *lines, st["buf"] = st["buf"].split(b"\n")
            for line in lines:
                results.append(json.loads(line))
                st["todo"].pop(0)
                st["last"] = time.monotonic()
        now = time.monotonic()
        for p, st in list(state.items()):
            if now - st["last"] > timeout:
                p.kill()
                p.wait()
                retire(p, "hang", f"no answer within {timeout:.0f} s")
    return results


# Cases that still fail because of code outside the loader; each needs the change
# named (requested from the owner of that file).  They are excluded from
# test_fuzz_library and kept as strict xfails below, so a fix shows up as XPASS.
SHAPES_FOLD_OBJECT = (
    "onnxstat/shapes/fold.py (Concat): Concat with an empty optional input folds None into an object array, "
    "then _working_copy's numpy_helper.from_array raises NotImplementedError; skip absent inputs and "
    "drop folded values of dtype object"
)
# seeds whose failure is known and not yet fixed (each becomes a strict xfail below)
KNOWN: dict = {}
KNOWN_OUTSIDE_THE_RUN: dict = {}
# fixed: proto 248 and 3632 (SHAPES_FOLD_OBJECT); kept as regular regression cases
FIXED_SEEDS = [("proto", 248), ("proto", 3632)]


def _summary(results: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r["outcome"]] = out.get(r["outcome"], 0) + 1
    return out


def _failures(results: list[dict]) -> list[dict]:
    return [r for r in results if r["outcome"] in ("bad", "hang", "crash")]


def _report(bad: list[dict]) -> str:
    lines = [f"{len(bad)} case(s) failed; reproduce with: python tests/test_fuzz.py KIND SEED"]
    for r in bad[:20]:
        lines.append(f"--- {r['kind']} {r['seed']}: {r['outcome']}: {r.get('detail', '')}")
    return "\n".join(lines)


def test_mutators_are_deterministic():
    for kind, fn in MUTATORS.items():
        for seed in (0, 1, 77, 1001):
            assert fn(seed) == fn(seed), (kind, seed)
    # and they do change the model
    assert sum(mutate_bytes(s)[1] != sample_bytes(mutate_bytes(s)[0]) for s in range(50)) >= 45


def test_fuzz_library():
    cases = [("bytes", s) for s in range(FIRST_SEED, FIRST_SEED + N_BYTES)]
    cases += [("proto", s) for s in range(FIRST_SEED, FIRST_SEED + N_PROTO)]
    cases += [("struct", s) for s in range(FIRST_SEED, FIRST_SEED + N_STRUCT)]
    t0 = time.monotonic()
    results = run_cases(cases)
    elapsed = time.monotonic() - t0
    assert len(results) == len(cases)
    assert sorted((r["kind"], r["seed"]) for r in results) == sorted(cases)
    summary = _summary(results)
    bad = [r for r in _failures(results) if (r["kind"], r["seed"]) not in KNOWN]
    assert not bad, _report(bad)
    # the fuzzer reaches both outcomes: some mutants still profile, others are refused
    assert summary.get("ok", 0) >= 100, summary
    assert summary.get("ModelError", 0) + summary.get("ShapeError", 0) >= 100, summary
    print(f"fuzz: {len(cases)} cases in {elapsed:.1f} s: {summary}")


@pytest.mark.parametrize(
    "kind, seed",
    [pytest.param(k, s, marks=pytest.mark.xfail(strict=True, reason=why), id=f"{k}-{s}")
     for (k, s), why in sorted({**KNOWN, **KNOWN_OUTSIDE_THE_RUN}.items())]
    + [pytest.param(k, s, id=f"fixed-{k}-{s}") for k, s in FIXED_SEEDS],
)
def test_known_fuzz_failures(tmp_path, kind, seed):
    (tmp_path / "cnn_external.onnx.data").write_bytes((SAMPLES / "cnn_external.onnx.data").read_bytes())
    r = run_case(kind, seed, tmp_path)
    assert r["outcome"] != "bad", r.get("detail")


def test_driver_reports_hangs_and_crashes(monkeypatch):
    # the driver itself: a worker that dies or stalls is reported with the case's seed
    code_crash = "import os, sys; sys.stdin.readline(); os.abort()"
    code_hang = "import sys, time; sys.stdin.readline(); time.sleep(60)"
    for code, outcome in ((code_crash, "crash"), (code_hang, "hang")):
        def fake_start(cases, code=code):
            with _case_file(cases) as f:
                return subprocess.Popen([sys.executable, "-c", code], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

        monkeypatch.setattr(sys.modules[__name__], "_start", fake_start)
        results = run_cases([("bytes", 5), ("bytes", 6)], n_workers=1, timeout=1.5)
        assert [(r["seed"], r["outcome"]) for r in results] == [(5, outcome), (6, outcome)]


# --------------------------------------------------------------------------- the command line


CLI_CASES = ([("bytes", s) for s in (3, 10, 17, 22, 41, 58, 64, 99, 130, 257)] + [("proto", s) for s in (2, 9, 15, 28, 33, 47)]
             + [("struct", s) for s in (1, 4, 12, 30)])


def _cli_case(kind: str, seed: int, folder: Path) -> tuple[str, int, subprocess.CompletedProcess]:
    sub = folder / f"{kind}{seed}"
    sub.mkdir()
    (sub / "cnn_external.onnx.data").write_bytes((SAMPLES / "cnn_external.onnx.data").read_bytes())
    name, path = write_case(kind, seed, sub)
    args = ["profile", str(path), "--format", "json"]
    for d, v in DIMS.get(name, {}).items():
        args += ["--dim", f"{d}={v}"]
    res = subprocess.run(
        [sys.executable, "-c", "from onnxstat.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )
    return kind, seed, res


def test_fuzz_cli(tmp_path):
    with ThreadPoolExecutor(max_workers=2) as ex:
        runs = list(ex.map(lambda c: _cli_case(*c, tmp_path), CLI_CASES))
    codes = {}
    for kind, seed, res in runs:
        where = f"{kind} {seed}: rc={res.returncode} stderr={res.stderr[-2000:]!r}"
        assert res.returncode >= 0 and res.returncode not in (134, 139), "interpreter crashed: " + where
        assert res.returncode in (0, 1, 2), where  # 3 would be an internal error
        assert "Traceback" not in res.stderr, where
        errors = [line for line in res.stderr.splitlines() if line.startswith("onnxstat: error:")]
        if res.returncode == 0:
            assert not errors, where
            json.loads(res.stdout)
        else:
            assert len(errors) == 1 and res.stderr.strip().splitlines()[-1] == errors[0], where
        codes[res.returncode] = codes.get(res.returncode, 0) + 1
    # the sample holds both successes and refusals
    assert codes.get(0, 0) >= 2 and codes.get(1, 0) >= 2, codes


if __name__ == "__main__":  # reproduce one case: python tests/test_fuzz.py bytes 1234
    kind, seed = sys.argv[1], int(sys.argv[2])
    folder = Path(tempfile.mkdtemp(prefix="onnxstat-fuzz-"))
    (folder / "cnn_external.onnx.data").write_bytes((SAMPLES / "cnn_external.onnx.data").read_bytes())
    name, path = write_case(kind, seed, folder)
    print(f"case written to {path}")
    from onnxstat.profiler import profile

    profile(path, dims=DIMS.get(name))
    print("profiled without error")
