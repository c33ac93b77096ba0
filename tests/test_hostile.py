"""Hostile inputs, round two: bounded memory and time, one error line, no internal error.

Every case runs the real command line in a subprocess whose address space is
limited to 2 GB (``resource.setrlimit(RLIMIT_AS)``) and whose run time is
bounded; it must end with exit code 1 (bad model) or 2 (bad usage), exactly one
line on stderr starting ``onnxstat: error:``, and no traceback.  A case that
allocated from a declared size, ran an endless Loop or raised an internal error
would instead be killed by the limit, time out, or exit 3.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models"
F = TensorProto.FLOAT
#: address space of every subprocess: a run that allocates from a declared terabyte dies here
LIMIT_AS = 2 * 2**30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("COLUMNS", None)
    return env


class Run:
    def __init__(self, code: int, stdout: str, stderr: str, seconds: float, max_rss_kb: int):
        self.code, self.stdout, self.stderr, self.seconds, self.max_rss_kb = code, stdout, stderr, seconds, max_rss_kb


#: runs onnxstat in a grandchild and reports its exit code and its own peak RSS: measured from a
#: small interpreter's fork, not from pytest's (whose pages a fork would count until exec)
_WRAPPER = r"""
import os, resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "onnxstat", *sys.argv[3:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def cli(*args, cwd: Path | None = None, timeout: float = 60) -> Run:
    """``python -m onnxstat ARGS`` under the 2 GB address-space limit, with its own peak RSS."""
    import signal
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "status"
        cmd = [sys.executable, "-c", _WRAPPER, str(report), str(LIMIT_AS), *map(str, args)]
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            pytest.fail(f"{' '.join(map(str, args))}: no answer within {timeout} s")
        code, rss = (int(x) for x in report.read_text().split())
        return Run(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - t0, rss)


_DRIVER = r"""
import json, os, sys, tempfile, time
import onnxruntime, onnx  # imported once, before the cases fork
from onnxstat.cli import main
import onnxstat.commands.bench, onnxstat.commands.compare, onnxstat.commands.report, onnxstat.profiler, onnxstat.shapes.resolve


def run(args, cwd, close, timeout):
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush(); sys.stderr.flush()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            if cwd:
                os.chdir(cwd)
            if close:
                r, w = os.pipe(); os.close(r); os.dup2(w, 1)
            else:
                os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.argv = ["onnxstat", *args]
            main()
        finally:
            os._exit(99)
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() - t0 > timeout:
            os.kill(pid, 9); os.wait4(pid, 0); code = None; usage = None
            break
        time.sleep(0.01)
    out.seek(0); err.seek(0)
    return [code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
            time.monotonic() - t0, usage.ru_maxrss if usage else 0]


for line in sys.stdin:
    cases, timeout = json.loads(line)
    sys.stdout.write(json.dumps([run(a, c, k, timeout) for a, c, k in cases]) + "\n")
    sys.stdout.flush()
"""

_driver: list = []


@pytest.fixture(scope="module", autouse=True)
def _stop_driver():
    yield
    while _driver:
        p = _driver.pop()
        p.stdin.close()
        p.wait(timeout=30)


def cli_each(cases, cwd: Path | None = None, timeout: float = 60) -> list[Run]:
    """Several command lines, each in its own process forked from one interpreter that has
    imported onnxstat and onnxruntime already (under the same 2 GB limit and time bound):
    the same runs as :func:`cli`, without paying the imports for every case.

    ``cases``: argument tuples, or (arguments, {"close_stdout": True})."""
    import json

    spec = []
    for c in cases:
        args, opts = (c[0], c[1]) if len(c) == 2 and isinstance(c[1], dict) else (c, {})
        spec.append([[str(a) for a in args], str(cwd) if cwd else None, bool(opts.get("close_stdout"))])
    if not _driver or _driver[0].poll() is not None:
        _driver[:] = [subprocess.Popen([sys.executable, "-c", _DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True, env=_env(), preexec_fn=_limit)]
    p = _driver[0]
    p.stdin.write(json.dumps([spec, timeout]) + "\n")
    p.stdin.flush()
    answer = p.stdout.readline()
    assert answer, "the driver process died"
    runs = []
    for (args, _cwd, _close), (code, out, err, seconds, rss) in zip(spec, json.loads(answer)):
        assert code is not None, f"{' '.join(args)}: no answer within {timeout} s"
        runs.append(Run(code, out, err, seconds, rss))
    return runs


def refused(r: Run, code: int, *fragments: str) -> str:
    """Exit ``code``, one ``onnxstat: error:`` line holding every fragment, no traceback."""
    lines = r.stderr.splitlines()
    assert "Traceback" not in r.stderr, r.stderr
    assert r.code == code, f"exit {r.code}, stderr: {r.stderr}"
    assert len(lines) == 1 and lines[0].startswith("onnxstat: error: "), r.stderr
    assert "internal error" not in lines[0], lines[0]
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def save(m: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(m.SerializeToString())
    return path


def model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


# --------------------------------------------------------------------------- 1: declared sizes


def _declared(tmp_path: Path) -> Path:
    # 10^12 float32 = 4 * 10^12 bytes declared by a file of about 100 bytes, with no data
    w = TensorProto(name="w", data_type=F, dims=[10**12])
    return save(model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [vi("x", [1])], [vi("y", None)], [w]),
                tmp_path / "m.onnx")


def test_declared_terabyte_without_data_is_refused(tmp_path):
    p = _declared(tmp_path)
    size = p.stat().st_size
    cases = [("profile", p), ("profile", p, "--simplify"), ("profile", p, "--shape-source", "ort"),
             ("bench", p, "--runs", "1", "-q"), ("compare", p, p), ("report", p, "-o", "r.html")]
    for args, r in zip(cases, cli_each(cases, cwd=tmp_path)):
        refused(r, 1, "initializer 'w' declares 4000000000000 bytes", f"the file holds {size}")


def test_declared_terabyte_in_a_short_external_file_is_refused(tmp_path):
    w = TensorProto(name="w", data_type=F, dims=[10**12])
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="w.bin")
    (tmp_path / "w.bin").write_bytes(bytes(64))
    p = save(model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1])], [vi("y", None)], [w]), tmp_path / "m.onnx")
    for r in cli_each([("profile", p), ("bench", p, "--runs", "1", "-q")], cwd=tmp_path):
        refused(r, 1, "tensor 'w' declares 4000000000000 bytes", "external data 'w.bin' holds 64")


def test_small_declaration_without_data_still_counts(tmp_path):
    # dims [1, 4] float32: 16 bytes declared, no data; a file of ~100 bytes can declare that
    from onnxstat import profile

    w = TensorProto(name="w", data_type=F, dims=[1, 4])
    p = save(model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1, 4])], [vi("y", [1, 4])], [w]), tmp_path / "m.onnx")
    assert profile(p).totals.params == 4


# --------------------------------------------------------------------------- 2: a huge graph of tiny nodes


def _tiny_nodes_file(path: Path, size: int, garbage: bool) -> int:
    """A model of ``size`` bytes of small Relu nodes (written straight as wire format)."""
    from onnxstat.model.loader import _enc_varint

    node = helper.make_node("Relu", ["x"], ["y"]).SerializeToString()
    field = _enc_varint((1 << 3) | 2) + _enc_varint(len(node)) + node
    n = size // len(field)
    body = field * n + (b"\xff\xff\xff" if garbage else b"")
    head = onnx.ModelProto(ir_version=8)
    head.opset_import.add(version=17)
    path.write_bytes(head.SerializeToString() + _enc_varint((7 << 3) | 2) + _enc_varint(len(body)) + body)
    return n


def test_200_megabytes_of_tiny_nodes(tmp_path):
    p = tmp_path / "nodes.onnx"
    n = _tiny_nodes_file(p, 200 * 10**6, garbage=True)
    assert n > 10**7
    r = cli("profile", p, cwd=tmp_path, timeout=60)
    refused(r, 1, "more than 1,000,000 nodes", "--max-nodes")
    # peak RSS of the child, from wait4: less than the file; neither the file nor a parse of it was held
    assert 0 < r.max_rss_kb * 1024 < 200 * 10**6, r.max_rss_kb


def test_node_budget_is_an_option(tmp_path):
    p = tmp_path / "nodes.onnx"
    _tiny_nodes_file(p, 20_000, garbage=False)  # ~1400 nodes
    from onnxstat.errors import ModelError
    from onnxstat.model.loader import load
    from onnxstat.runtime import limits

    try:
        limits.configure(max_nodes=100)
        with pytest.raises(ModelError, match="more than 100 nodes"):
            load(p)
    finally:
        limits.reset()


# --------------------------------------------------------------------------- 3: a Loop of 10^18 iterations


def _loop(path: Path, trip: int | None = 10**18, cond: bool = True) -> Path:
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["co"]), helper.make_node("Add", ["v", "v"], ["vo"])], "body",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v", [1])],
        [vi("co", [], TensorProto.BOOL), vi("vo", [1])],
    )
    inits = [numpy_helper.from_array(np.array(True), "cond")]
    if trip is not None:
        inits.append(numpy_helper.from_array(np.array(trip, np.int64), "M"))
    n = helper.make_node("Loop", ["M" if trip is not None else "", "cond" if cond else "", "x"], ["y"], name="loop", body=body)
    return save(model([n], [vi("x", [1])], [vi("y", [1])], inits), path)


def test_loop_of_10_18_iterations(tmp_path):
    big = _loop(tmp_path / "loop.onnx")
    forever = _loop(tmp_path / "forever.onnx", trip=None, cond=False)
    small = _loop(tmp_path / "small.onnx", trip=3)
    bench, ort, static, endless, ok = cli_each([
        ("bench", big, "--runs", "1", "-q"),
        ("profile", big, "--shape-source", "ort"),
        ("profile", big, "--format", "json"),
        ("bench", forever, "--runs", "1", "-q"),
        ("bench", small, "--runs", "1", "--warmup", "0", "-q", "--format", "json"),
    ], cwd=tmp_path)
    for r in (bench, ort):
        refused(r, 2, "node 'loop' (Loop) runs 1000000000000000000 iterations of a 2-node body", "--force")
    refused(endless, 2, "node 'loop' (Loop) has no trip count and a condition that never turns false", "--force")
    assert static.code == 0 and "Traceback" not in static.stderr, static.stderr  # counted, never run
    assert ok.code == 0, ok.stderr  # 3 iterations: within the budget


def test_while_loop_with_a_dummy_bound_is_not_refused():
    from onnxstat.runtime import limits

    # an exporter's while loop: M = INT64_MAX, the body computes its condition (v < 10)
    body = helper.make_graph(
        [helper.make_node("Add", ["v", "one"], ["vo"]), helper.make_node("Less", ["vo", "ten"], ["co"])], "body",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v", [], TensorProto.INT64)],
        [vi("co", [], TensorProto.BOOL), vi("vo", [], TensorProto.INT64)],
        [numpy_helper.from_array(np.array(1, np.int64), "one"), numpy_helper.from_array(np.array(10, np.int64), "ten")],
    )
    inits = [numpy_helper.from_array(np.array(2**63 - 1, np.int64), "M"), numpy_helper.from_array(np.array(True), "cond")]
    n = helper.make_node("Loop", ["M", "cond", "x"], ["y"], name="while", body=body)
    limits.check_loops(model([n], [vi("x", [], TensorProto.INT64)], [vi("y", [], TensorProto.INT64)], inits))


def test_loop_budget_counts_nested_loops():
    from onnxstat.runtime import limits

    # an outer Loop of 10^5 around an inner Loop of 10^4 over a 2-node body: 2 * 10^9 node runs
    inner_body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["co"]), helper.make_node("Add", ["v", "v"], ["vo"])], "ib",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v", [1])],
        [vi("co", [], TensorProto.BOOL), vi("vo", [1])],
    )
    k = helper.make_node("Constant", [], ["K"], value=numpy_helper.from_array(np.array(10**4, np.int64)))
    inner = helper.make_node("Loop", ["K", "", "v"], ["w"], name="inner", body=inner_body)
    outer_body = helper.make_graph(
        [k, inner, helper.make_node("Identity", ["c"], ["co"])], "ob",
        [vi("i", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL), vi("v", [1])],
        [vi("co", [], TensorProto.BOOL), vi("w", [1])],
    )
    m = numpy_helper.from_array(np.array(10**5, np.int64), "M")
    outer = helper.make_node("Loop", ["M", "", "x"], ["y"], name="outer", body=outer_body)
    mm = model([outer], [vi("x", [1])], [vi("y", [1])], [m])
    with pytest.raises(limits.BudgetError, match=r"node 'outer' \(Loop\) runs 100000 iterations of a 20002-node body"):
        limits.check_loops(mm)
    limits.configure(force=True)
    try:
        limits.check_loops(mm)  # --force
    finally:
        limits.reset()


# --------------------------------------------------------------------------- 4: memory budget before allocating


def test_memory_budget_before_allocating(tmp_path):
    cnn = SAMPLES / "cnn.onnx"
    big_in = save(model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [2**40])], [vi("y", [2**40])]),
                  tmp_path / "in40.onnx")
    wide = save(model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1, 10**9, 64])], [vi("y", None)]),
                tmp_path / "wide.onnx")
    # x [1, 1000] -> Expand to [100000, 1000]: the input is 4 kB, the output 400 MB
    shape = numpy_helper.from_array(np.array([100000, 1000], np.int64), "shape")
    expand = save(model([helper.make_node("Expand", ["x", "shape"], ["y"], name="e")], [vi("x", [1, 1000])],
                        [vi("y", None)], [shape]), tmp_path / "expand.onnx")
    cases = {
        ("bench", cnn, "--dim", "batch=100000000", "--runs", "1", "-q"):
            "input 'input' would take 4.9 TB (4915200000000 bytes: 100000000x3x64x64 of float32)",
        ("bench", cnn, "--input-shape", "input=1x3x100000x100000", "--runs", "1", "-q"): "input 'input' would take 120.0 GB",
        ("bench", big_in, "--runs", "1", "-q"): "input 'x' would take 4.4 TB",
        ("profile", big_in, "--shape-source", "ort"): "input 'x' would take 4.4 TB",
        ("bench", wide, "--runs", "1", "-q"): "input 'x' would take 256.0 GB",
        ("bench", cnn, "--dim", "batch=64", "--max-tensor-bytes", "1MB", "--runs", "1", "-q"):
            "input 'input' would take 3.1 MB (3145728 bytes: 64x3x64x64 of float32), over the memory budget of 1.0 MB",
        ("bench", expand, "--max-tensor-bytes", "100MB", "--runs", "1", "-q"): "tensor 'y' would take 400.0 MB",
        ("bench", cnn, "--max-tensor-bytes", "lots"): "'--max-tensor-bytes'",
    }
    for (args, expect), r in zip(cases.items(), cli_each(list(cases), cwd=tmp_path)):
        refused(r, 2, expect)


# --------------------------------------------------------------------------- 5, 6: integers at the CLI edge

BIG = "9" * 5000


def test_integer_arguments_out_of_range():
    cnn, mlp = SAMPLES / "cnn.onnx", SAMPLES / "mlp.onnx"
    cases = {
        ("profile", cnn, "--dim", "batch=9223372036854775808"): "--dim",
        ("profile", cnn, "--dim", f"batch={BIG}"): "--dim",
        ("profile", cnn, "--input-shape", "input=9223372036854775808x3x64x64"): "--input-shape",
        ("profile", cnn, "--input-shape", f"input=1x3x{BIG}x64"): "--input-shape",
        ("profile", cnn, "--sweep", "batch=1,9223372036854775808"): "--sweep",
        ("profile", cnn, "--max-nodes", "0"): "--max-nodes",
        ("bench", cnn, "--dim", "batch=9223372036854775808"): "--dim",
        ("bench", cnn, "--seed", "-1"): "--seed",
        ("bench", cnn, "--threads", str(2**40)): "--threads",
        ("bench", cnn, "--threads", BIG): "--threads",
        ("bench", cnn, "--inter-threads", "-2"): "--inter-threads",
        ("bench", cnn, "--runs", str(2**63)): "--runs",
        ("compare", cnn, mlp, "--dim", "batch=9223372036854775808"): "--dim",
        ("report", cnn, "--input-shape", "input=9223372036854775808x3x64x64"): "--input-shape",
    }
    for (args, option), r in zip(cases.items(), cli_each(list(cases))):
        line = refused(r, 2, f"'{option}'")
        assert len(line) < 400, line  # a 5000-digit value is not echoed whole


def test_zero_dims_are_not_refused_at_the_edge():
    # whether a zero dim is valid is decided by shape resolution, not by the option's type
    from onnxstat.commands.option_types import DIM, SHAPE, SWEEP

    assert DIM.convert("past=0", None, None) == "past=0"
    assert SHAPE.convert("x=1x4x0x64", None, None) == "x=1x4x0x64"
    assert SWEEP.convert("seq=0,8", None, None) == "seq=0,8"


# --------------------------------------------------------------------------- 7, 8: node checks


def test_scan_with_negative_num_scan_inputs(tmp_path):
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "x"], ["s2"]), helper.make_node("Identity", ["s2"], ["y"])], "b",
        [vi("s", [2]), vi("x", [2])], [vi("s2", [2]), vi("y", [2])],
    )
    n = helper.make_node("Scan", ["init", "xs"], ["final", "ys"], name="scan", body=body, num_scan_inputs=-3)
    p = save(model([n], [vi("init", [2]), vi("xs", [5, 2])], [vi("final", None), vi("ys", None)]), tmp_path / "m.onnx")
    cases = [("profile", p), ("profile", p, "--symbolic"), ("report", p, "-o", "r.html"), ("compare", p, p)]
    for r in cli_each(cases, cwd=tmp_path):
        refused(r, 1, "node 'scan' (Scan) has num_scan_inputs -3; it must be between 1 and its 2 inputs")


def _conv(path: Path, w_shape, x_shape, **attrs) -> Path:
    w = numpy_helper.from_array(np.zeros(w_shape, np.float32), "w")
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)
    return save(model([n], [vi("x", x_shape)], [vi("y", None)], [w]), path)


def test_conv_attributes_inconsistent_with_the_weight(tmp_path):
    cases = {
        _conv(tmp_path / "g2.onnx", (3, 4, 3, 3), [1, 4, 8, 8], group=2):
            "node 'conv' (Conv) has group 2, which does not divide the weight's 3 output channels",
        _conv(tmp_path / "g0.onnx", (3, 4, 3, 3), [1, 4, 8, 8], group=0): "node 'conv' (Conv) has group 0; group must be a positive integer",
        _conv(tmp_path / "gm1.onnx", (3, 4, 3, 3), [1, 4, 8, 8], group=-1): "node 'conv' (Conv) has group -1",
        # W [4, 2, 3, 3] with group 2 takes 2 x 2 = 4 input channels; x has 6
        _conv(tmp_path / "gx.onnx", (4, 2, 3, 3), [1, 6, 8, 8], group=2): "input 'x' has 6 channels, the weight [4, 2, 3, 3] with group 2 takes 2 x 2 = 4",
        _conv(tmp_path / "s0.onnx", (3, 4, 3, 3), [1, 4, 8, 8], strides=[0, 1]): "node 'conv' (Conv) has strides [0, 1]; strides must be positive",
        _conv(tmp_path / "pads.onnx", (3, 4, 3, 3), [1, 4, 8, 8], pads=[0, 0, -5, 0]): "has pads [0, 0, -5, 0]; pads must be non-negative",
    }
    for (p, expect), r in zip(cases.items(), cli_each([("profile", p) for p in cases], cwd=tmp_path)):
        refused(r, 1, expect)


def test_op_not_in_the_declared_opset(tmp_path):
    paths = []
    for opset in (1, 17):
        n = helper.make_node("Gelu", ["x"], ["y"], name="gelu")
        paths.append(save(model([n], [vi("x", [1, 4])], [vi("y", None)], opset=opset), tmp_path / f"m{opset}.onnx"))
    for opset, r in zip((1, 17), cli_each([("profile", p) for p in paths], cwd=tmp_path)):
        refused(r, 1, f"node 'gelu' (Gelu) is not in ai.onnx opset {opset}: Gelu exists from opset 20")


def test_valid_grouped_convolutions_pass():
    from onnxstat.model.validate import check_model

    # depthwise: W [8, 1, 3, 3], group 8, x with 8 channels; ConvTranspose W [C=4, M/group=2, 3, 3], group 2
    w = numpy_helper.from_array(np.zeros((8, 1, 3, 3), np.float32), "w")
    wt = numpy_helper.from_array(np.zeros((4, 2, 3, 3), np.float32), "wt")
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], group=8),
             helper.make_node("ConvTranspose", ["z", "wt"], ["u"], group=2)]
    check_model(model(nodes, [vi("x", [1, 8, 8, 8]), vi("z", [1, 4, 8, 8])], [vi("y", None), vi("u", None)], [w, wt]))


# --------------------------------------------------------------------------- 12: onnxruntime's log


def test_onnxruntime_log_is_folded_into_the_error_line(tmp_path):
    s = numpy_helper.from_array(np.array(-(2**62), np.int64), "s")
    lim = numpy_helper.from_array(np.array(2**62, np.int64), "l")
    d = numpy_helper.from_array(np.array(1, np.int64), "d")
    nodes = [helper.make_node("Range", ["s", "l", "d"], ["y"], name="range"), helper.make_node("Add", ["x", "x"], ["z"])]
    p = save(model(nodes, [vi("x", [1], TensorProto.INT64)],
                   [vi("y", None, TensorProto.INT64), vi("z", None, TensorProto.INT64)], [s, lim, d]), tmp_path / "m.onnx")
    for r in cli_each([("bench", p, "--runs", "1", "-q"), ("profile", p, "--shape-source", "ort")], cwd=tmp_path):
        refused(r, 1, "Range node. Name:'range'")
        assert "\x1b[" not in r.stderr and "[E:onnxruntime" not in r.stderr, r.stderr


def test_captured_log_is_parsed():
    from onnxstat.runtime.ort_log import Log

    log = Log()
    log.text = ("\x1b[1;31m2026-12-03 07:28:45.5 [E:onnxruntime:, sequential_executor.cc:677 ExecuteKernel] "
                "Non-zero status code returned while running Range node.\x1b[m\n"
                "2026-12-03 07:28:45.5 [W:onnxruntime:, graph.cc:1 F] a warning\nplain text\n")
    assert log.messages() == ["Non-zero status code returned while running Range node."]
    assert log.other_lines() == ["plain text"]
    assert log.fold("onnxruntime failed") == (
        "onnxruntime failed (onnxruntime log: Non-zero status code returned while running Range node.)")


# --------------------------------------------------------------------------- 13: a closed pipe


def test_closed_pipe_is_success_and_silent():
    t, cnn, mlp = SAMPLES / "transformer.onnx", SAMPLES / "cnn.onnx", SAMPLES / "mlp.onnx"
    cases = [
        ("profile", t, "--format", "table"), ("profile", t, "--format", "json"), ("profile", t, "--format", "csv"),
        ("profile", t, "--format", "markdown"), ("profile", cnn, mlp), ("compare", cnn, mlp),
        ("bench", mlp, "--runs", "2", "-q"), ("bench", mlp, "--runs", "2", "-q", "--format", "csv"), ("ops",),
    ]
    runs = cli_each([(c + (("--dim", "batch=1") if c[0] != "ops" else ()), {"close_stdout": True}) for c in cases])
    for args, r in zip(cases, runs):
        assert r.code == 0, (args, r.stderr)
        assert "error" not in r.stderr and "Traceback" not in r.stderr and "Exception" not in r.stderr, (args, r.stderr)


# --------------------------------------------------------------------------- 14, 15: messages that name the right thing


def test_input_value_errors_name_input_value():
    cases = {
        "input=nan": "nan is not a finite number",
        "input=inf": "inf is not a finite number",
        "input=1": "--input-value input: 1 value (shape []) does not fit input 'input' of shape ?x3x64x64",
        "input=99999999999999999999": "does not fit in int64",
    }
    runs = cli_each([("profile", SAMPLES / "cnn.onnx", "--input-value", v) for v in cases])
    for (value, fragment), r in zip(cases.items(), runs):
        line = refused(r, 2, "--input-value", fragment)
        assert "--input-shape" not in line


def test_no_numpy_warning_reaches_the_user(tmp_path):
    # 1e30 cast to an int64 input: numpy warns "invalid value encountered in cast"
    p = save(model([helper.make_node("Add", ["x", "x"], ["y"])], [vi("x", [1], TensorProto.INT64)],
                   [vi("y", None, TensorProto.INT64)]), tmp_path / "m.onnx")
    (r,) = cli_each([("profile", p, "--input-value", "x=1e30", "--format", "json")], cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert "Warning" not in r.stderr and "numpy" not in r.stderr, r.stderr


def test_simplify_names_why_weights_could_not_load(tmp_path, monkeypatch):
    from onnxstat import profile
    from onnxstat.model import loader

    w = numpy_helper.from_array(np.zeros((64, 64), np.float32), "w")  # 16 kB: stripped on load
    p = save(model([helper.make_node("MatMul", ["x", "w"], ["y"])], [vi("x", [1, 64])], [vi("y", [1, 64])], [w]),
             tmp_path / "m.onnx")
    for exc, shown in ((MemoryError(), "(out of memory)"), (OSError(), "(OSError)")):
        def fail(self, exc=exc):
            raise exc

        monkeypatch.setattr(loader.LoadedModel, "full_model", fail)
        why = [w for w in profile(p, simplify=True).warnings if "simplify skipped" in w]
        assert why and "()" not in why[0] and shown in why[0], why


# --------------------------------------------------------------------------- library-level budgets


def test_limits_api():
    from onnxstat.runtime import limits

    try:
        limits.configure(max_tensor_bytes=1000)
        with pytest.raises(limits.BudgetError, match=r"input 'x' would take 4.0 kB \(4000 bytes: 1000 of float32\)"):
            limits.check_tensor("input 'x'", "float32", (1000,))
        limits.check_tensor("input 'x'", "float32", (250,))  # exactly 1000 bytes: within
        limits.check_tensor("input 'x'", "float32", ("batch", 10**12))  # unresolved: not judged here
    finally:
        limits.reset()
    assert limits.max_tensor_bytes() <= limits.available_memory()


def test_stripping_a_graph_of_small_nodes_costs_one_copy(tmp_path):
    # 20 MB of nodes, none stripped: the stripper's output is the input, built without a
    # bytes object per field (which cost ~5x the file before)
    import tracemalloc

    from onnxstat.model.loader import strip_weights

    p = tmp_path / "nodes.onnx"
    n = _tiny_nodes_file(p, 20 * 10**6, garbage=False)
    data = p.read_bytes()
    from onnxstat.runtime import limits

    limits.configure(max_nodes=n + 1)
    try:
        tracemalloc.start()
        out, stripped = strip_weights(memoryview(data))
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        limits.reset()
    assert out == data and stripped == 0
    assert peak < 1.2 * len(data), peak


def test_valid_models_pass_the_node_and_loop_checks():
    # no false alarms: every model shipped with onnx's backend tests and every sample model
    from onnxstat.errors import OnnxstatError
    from onnxstat.model import loader
    from onnxstat.model.validate import check_model
    from onnxstat.runtime import limits

    base = Path(onnx.__file__).parent / "backend" / "test" / "data"
    paths = sorted(base.rglob("*.onnx")) + sorted(SAMPLES.glob("*.onnx"))
    assert len(paths) > 100
    checked = 0
    for p in paths:
        try:
            lm = loader.load(p)
        except OnnxstatError:
            continue  # refused by the loader's own checks (test_robustness covers those)
        check_model(lm.model, str(p))
        limits.check_loops(lm.model)
        checked += 1
    assert checked > 100


def test_value_propagation_in_onnx_is_bounded(tmp_path):
    # Range(0, 10^12, 1) and Tile([4] x 10^11) of constants: onnx's shape inference materialises
    # such values in C++ (data_prop); under the address-space cap the allocation fails at once and
    # resolution goes on without value propagation, so profile still counts the model
    z, one = numpy_helper.from_array(np.array(0, np.float32), "z"), numpy_helper.from_array(np.array(1, np.float32), "o")
    r = numpy_helper.from_array(np.array(10**12, np.float32), "r")
    rng = save(model([helper.make_node("Range", ["z", "r", "o"], ["c"], name="range"), helper.make_node("Add", ["c", "x"], ["y"])],
                     [vi("x", [1])], [vi("y", None)], [z, r, one]), tmp_path / "range.onnx")
    t, rep = numpy_helper.from_array(np.ones([4], np.float32), "t"), numpy_helper.from_array(np.array([10**11], np.int64), "rep")
    tile = save(model([helper.make_node("Tile", ["t", "rep"], ["c"], name="tile"), helper.make_node("Add", ["c", "x"], ["y"])],
                      [vi("x", [1])], [vi("y", None)], [t, rep]), tmp_path / "tile.onnx")
    for p in (rng, tile):
        r = cli("profile", p, "--format", "json", cwd=tmp_path, timeout=60)
        assert r.code == 0 and "Traceback" not in r.stderr, r.stderr
        assert r.max_rss_kb * 1024 < 1024 * 2**20, r.max_rss_kb  # not the 1.8 GB (the whole limit) it took before


# --------------------------------------------------------------------------- 9, 10: Range delta 0, sparse initializers


def test_range_with_delta_zero_is_one_error_line(tmp_path):
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for v, n in ((0, "a"), (5, "b"), (0, "d"))]
    p = save(model([helper.make_node("Range", ["a", "b", "d"], ["r"], name="rng")], [], [vi("r", None, TensorProto.INT64)],
                   inits), tmp_path / "m.onnx")
    for r in cli_each([("profile", p), ("profile", p, "--format", "json"), ("report", p, "-o", "r.html")], cwd=tmp_path):
        refused(r, 1, "node 'rng' (Range): Range with delta 0")
        assert "RuntimeWarning" not in r.stderr


def test_sparse_initializer_counts_like_an_initializer(tmp_path):
    vals = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], np.float32), "w")
    idx = numpy_helper.from_array(np.array([0, 5, 10], np.int64), "w_idx")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g", [vi("x", [2, 4])], [vi("y", None)],
                          sparse_initializer=[helper.make_sparse_tensor(vals, idx, [4, 4])])
    p = save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    (r,) = cli_each([("profile", p, "--format", "json")], cwd=tmp_path)
    assert r.code == 0 and r.stderr == "", r.stderr
    t = json.loads(r.stdout)["totals"]
    # MatMul [2,4] x [4,4] = 32 MACs; params the dense 16; weight bytes the stored 3·4 + 3·8 = 36
    assert (t["macs"], t["params"], t["weight_bytes"]) == (32, 16, 36)
