"""How fast and how lean is ``onnxstat profile`` on big models, next to onnx-tool?

Builds four models deterministically into ``--workdir`` (default ``./.bench_work``,
which holds a ``.gitignore`` so it is never committed):

* ``resnet50``: tests/zoo.py ``resnet50()`` with every weight embedded in the
  file (float32 from ``numpy.random.default_rng(0)``; about 102 MB);
* ``vit_b16``: a ViT-B/16-sized encoder built here with onnx.helper (patch conv
  16x16, 12 layers, hidden 768, MLP 3072, 1000 classes; 86.6 M float32 weights
  embedded, about 346 MB);
* ``llm_7b``: tests/zoo.py ``transformer_decoder(32 layers, hidden 4096, 32 heads,
  vocab 32000, MLP 11008)``: 6.74 B parameters declared as external data that
  does not exist on disk (the .onnx file is about 200 kB);
* ``chain_100k``: tests/zoo.py ``synthetic_chain(100_000)``.

Then runs each tool in its own subprocess and prints wall time
(``time.perf_counter`` around the subprocess) and peak RSS (``ru_maxrss`` of that
very child, from ``os.wait4`` in a small launcher process that forks it), and the
ratios onnxstat / onnx-tool:

* onnxstat: ``python -m onnxstat.cli profile MODEL --format json -o OUT`` (the
  full per-node report; the ``onnxstat`` console script is the same entry point),
  run from ``WORKDIR/venv-onnxstat``, a virtual environment this script creates
  with ``python -m venv`` and ``pip install`` of this checkout (reinstalled when
  the sources change);
* onnx-tool: ``python -m onnx_tool -i MODEL -f OUT`` (its per-node table), run
  from ``WORKDIR/venv-onnxtool``, a virtual environment this script creates with
  ``python -m venv`` and ``pip install onnx-tool`` (not a project dependency).

Both tools are thus installed the same way, as a user gets them: into a clean
environment by pip, which compiles their bytecode.  ``--onnxstat-python current``
runs this checkout with the interpreter running the script instead (then the
site-packages of that interpreter, and whether its bytecode is cached, count too).

An onnx-tool failure is recorded in the table with its last error line: that
is a finding about onnx-tool, not a failure of the script.

    python benchmarks/bench_scale.py                         # everything
    python benchmarks/bench_scale.py --models resnet50,vit_b16 --repeat 3
    python benchmarks/bench_scale.py --no-onnx-tool          # onnxstat alone

Exit code 0 when every onnxstat run succeeded (targets missed are reported in
the table's last column, not as a failure), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tests import zoo  # noqa: E402

#: bump when a builder changes, so cached models in the workdir are rebuilt
BUILD_VERSION = 1


# --------------------------------------------------------------------------- model builders


def embed_weights(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """Replace every (missing) external initializer by embedded deterministic random data."""
    rng = np.random.default_rng(seed)
    for t in model.graph.initializer:
        if t.data_location != TensorProto.EXTERNAL:
            continue
        numel = int(np.prod(t.dims, dtype=np.int64))
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        t.raw_data = rng.standard_normal(numel, dtype=np.float32).astype(dtype).tobytes()
        del t.external_data[:]
        t.data_location = TensorProto.DEFAULT
    return model


def vit_b16(seed: int = 0, *, layers: int = 12, hidden: int = 768, heads: int = 12, mlp: int = 3072,
            classes: int = 1000, size: int = 224, patch: int = 16) -> onnx.ModelProto:
    """A ViT-B/16-shaped image classifier (batch 1) with embedded float32 weights.

    Patch embedding Conv (k = s = 16) -> [1, 196, 768], class token Concat,
    position embedding Add; per layer: LayerNormalization, Q/K/V MatMul + bias,
    heads split (Reshape + Transpose), Q.K^T, scale Mul, Softmax, .V, merge,
    output MatMul + bias, residual Add, LayerNormalization, MLP MatMul + bias,
    GELU as x * 0.5 * (1 + erf(x / sqrt 2)), MatMul + bias, residual Add; final
    LayerNormalization, class token Gather, head MatMul + bias.

    Weight parameters (86,567,656 for the defaults; the graph adds four float
    scalar constants: scale, sqrt 2, 1 and 0.5):
        conv 768*3*16*16 + 768, cls 768, pos 197*768,
        per layer 4*(768*768 + 768) + 2*(2*768) + 768*3072 + 3072 + 3072*768 + 768,
        final norm 2*768, head 768*1000 + 1000
    """
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    inits: list[TensorProto] = []
    grid = size // patch
    tokens = grid * grid + 1
    head_dim = hidden // heads

    def w(name, shape):
        arr = (rng.standard_normal(int(np.prod(shape)), dtype=np.float32) * 0.02).reshape(shape)
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def c(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(op_type, inputs, name, **attrs):
        out = f"{name}_out"
        nodes.append(helper.make_node(op_type, list(inputs), [out], name=name, **attrs))
        return out

    def linear(x, din, dout, prefix):
        y = op("MatMul", [x, w(f"{prefix}.weight", (din, dout))], f"{prefix}/MatMul")
        return op("Add", [y, w(f"{prefix}.bias", (dout,))], f"{prefix}/Add")

    def norm(x, prefix):
        return op("LayerNormalization", [x, w(f"{prefix}.weight", (hidden,)), w(f"{prefix}.bias", (hidden,))],
                  f"{prefix}/LayerNormalization", axis=-1, epsilon=1e-6)

    split = c("split_shape", [1, tokens, heads, head_dim], np.int64)
    merge = c("merge_shape", [1, tokens, hidden], np.int64)
    flat = c("flat_shape", [1, hidden, grid * grid], np.int64)
    scale = c("attn_scale", 1.0 / math.sqrt(head_dim))
    sqrt2 = c("sqrt2", math.sqrt(2.0))
    one = c("one", 1.0)
    half = c("half", 0.5)
    cls_index = c("cls_index", 0, np.int64)

    x = op("Conv", ["pixel_values", w("patch_embed.weight", (hidden, 3, patch, patch)), w("patch_embed.bias", (hidden,))],
           "patch_embed/Conv", kernel_shape=[patch, patch], strides=[patch, patch])
    x = op("Reshape", [x, flat], "patch_embed/Reshape")
    x = op("Transpose", [x], "patch_embed/Transpose", perm=[0, 2, 1])
    x = op("Concat", [w("cls_token", (1, 1, hidden)), x], "embed/Concat", axis=1)
    h = op("Add", [x, w("pos_embed", (1, tokens, hidden))], "embed/Add")
    for i in range(layers):
        p = f"blocks.{i}"
        y = norm(h, f"{p}.norm1")
        q, k, v = (linear(y, hidden, hidden, f"{p}.attn.{n}") for n in "qkv")
        q = op("Transpose", [op("Reshape", [q, split], f"{p}.attn/Reshape_q")], f"{p}.attn/Transpose_q", perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [k, split], f"{p}.attn/Reshape_k")], f"{p}.attn/Transpose_k", perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [v, split], f"{p}.attn/Reshape_v")], f"{p}.attn/Transpose_v", perm=[0, 2, 1, 3])
        s = op("Mul", [op("MatMul", [q, k], f"{p}.attn/MatMul_qk"), scale], f"{p}.attn/Mul")
        s = op("Softmax", [s], f"{p}.attn/Softmax", axis=-1)
        o = op("Transpose", [op("MatMul", [s, v], f"{p}.attn/MatMul_pv")], f"{p}.attn/Transpose_o", perm=[0, 2, 1, 3])
        o = linear(op("Reshape", [o, merge], f"{p}.attn/Reshape_o"), hidden, hidden, f"{p}.attn.proj")
        h = op("Add", [h, o], f"{p}/Add")
        y = linear(norm(h, f"{p}.norm2"), hidden, mlp, f"{p}.mlp.fc1")
        e = op("Erf", [op("Div", [y, sqrt2], f"{p}.mlp.act/Div")], f"{p}.mlp.act/Erf")
        g = op("Mul", [op("Mul", [y, op("Add", [e, one], f"{p}.mlp.act/Add")], f"{p}.mlp.act/Mul"), half], f"{p}.mlp.act/Mul_1")
        h = op("Add", [h, linear(g, mlp, hidden, f"{p}.mlp.fc2")], f"{p}/Add_1")
    h = norm(h, "norm")
    h = op("Gather", [h, cls_index], "head/Gather", axis=1)
    y = linear(h, hidden, classes, "head")
    nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        nodes, "vit_b16",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        initializer=inits,
    )
    del y
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnxstat-bench")
    m.ir_version = 8
    return m


def vit_b16_params(layers=12, hidden=768, mlp=3072, classes=1000, tokens=197, patch=16) -> int:
    per_layer = 4 * (hidden * hidden + hidden) + 2 * (2 * hidden) + hidden * mlp + mlp + mlp * hidden + hidden
    return (hidden * 3 * patch * patch + hidden + hidden + tokens * hidden + layers * per_layer
            + 2 * hidden + hidden * classes + classes)


@dataclass
class Case:
    name: str
    what: str
    onnxstat_args: list[str] = field(default_factory=list)
    onnx_tool_args: list[str] = field(default_factory=list)
    #: targets from the issue; None: no target
    target_wall: float | None = None  # onnxstat wall seconds
    target_rss_mb: float | None = None  # onnxstat peak RSS
    target_ratio: float | None = None  # onnxstat wall / onnx-tool wall
    #: onnxstat wall / wall of plain ``onnx.load`` + ``onnx.shape_inference.infer_shapes``
    #: on the same file, measured in the same run (the floor a full profile builds on)
    target_infer_ratio: float | None = None


CASES = {
    "startup": Case("startup", "no model: interpreter + imports (onnxstat --version; import onnx_tool)"),
    "resnet50": Case("resnet50", "ResNet-50, 25.6 M float32 weights embedded", target_ratio=1 / 3),
    "vit_b16": Case("vit_b16", "ViT-B/16, 86.6 M float32 weights embedded", target_ratio=1 / 3, target_rss_mb=200),
    "vit_l16": Case("vit_l16", "ViT-L/16, 304 M float32 weights embedded"),
    "llm_7b": Case("llm_7b", "decoder 32 x 4096, 6.74 B weights external and missing, seq 128",
                   ["--dim", "batch=1", "--dim", "seq=128"], ["-d", "input_ids:int32:1x128"],
                   target_wall=10, target_rss_mb=500),
    "chain_100k": Case("chain_100k", "synthetic chain of 100,000 nodes", target_wall=30, target_infer_ratio=3),
}
MODELS = tuple(CASES)


def build(name: str, path: Path, chain_nodes: int) -> None:
    if name == "resnet50":
        m = embed_weights(zoo.resnet50(), seed=0)
    elif name == "vit_b16":
        m = vit_b16(seed=0)
    elif name == "vit_l16":
        m = vit_b16(seed=0, layers=24, hidden=1024, heads=16, mlp=4096)
    elif name == "llm_7b":
        m = zoo.transformer_decoder(32, 4096, 32, 32000, intermediate=11008)
    elif name == "chain_100k":
        m = zoo.synthetic_chain(chain_nodes)
    else:  # pragma: no cover
        raise ValueError(name)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(m.SerializeToString())
    del m
    os.replace(tmp, path)


def model_path(workdir: Path, name: str, chain_nodes: int) -> Path:
    suffix = f"_{chain_nodes}" if name == "chain_100k" else ""
    path = workdir / f"{name}{suffix}.v{BUILD_VERSION}.onnx"
    if not path.exists():
        t = time.perf_counter()
        build(name, path, chain_nodes)
        print(f"built {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    ok: bool
    wall: float
    cpu: float  # user + system seconds: steadier than wall time on a busy machine
    rss_mb: float
    error: str = ""


#: Runs one command and reports its exit code, wall time and peak RSS.  A fresh,
#: small process forks the command: on Linux a child's ru_maxrss starts from the
#: address space it was forked from (kept across exec), so measuring from this
#: script, which holds built models in memory, would report this script's peak.
LAUNCHER = r"""
import os, sys, time
out = sys.argv[1]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    f.write("%d %r %r %d" % (os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss))
"""


def run_measured(cmd: list[str], log: Path, timeout: float, env: dict | None = None) -> Run:
    """Run ``cmd``: wall time from perf_counter around it, peak RSS of exactly that process (os.wait4)."""
    stats = log.with_suffix(".stats")
    stats.unlink(missing_ok=True)
    with open(log, "wb") as out:
        # cwd: the work folder, so that ``python -m`` finds the installed package, not this checkout
        p = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, str(stats), *cmd], stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                             cwd=log.parent)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
            return Run(False, timeout, 0.0, 0.0, f"timed out after {timeout:.0f} s")
    try:
        code_s, wall_s, cpu_s, rss_s = stats.read_text().split()
        code, wall, cpu, rss = int(code_s), float(wall_s), float(cpu_s), int(rss_s) / 1024  # ru_maxrss: kB
    except (OSError, ValueError):
        return Run(False, 0.0, 0.0, 0.0, f"launcher failed (exit code {p.returncode})")
    if code != 0:
        return Run(False, wall, cpu, rss, last_error_line(log.read_text(errors="replace"), code))
    return Run(True, wall, cpu, rss)


def last_error_line(text: str, code: int) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error" in ln or "error" in ln or "Exception" in ln:
            return ln[:160]
    return (lines[-1][:160] if lines else "") or f"exit code {code}"


def best_of(cmd: list[str], log: Path, repeat: int, timeout: float, env: dict | None = None) -> Run:
    """Best wall and CPU time and worst peak RSS of ``repeat`` runs; the first failure ends the series."""
    runs = []
    for _ in range(repeat):
        r = run_measured(cmd, log, timeout, env)
        if not r.ok:
            return r
        runs.append(r)
    return Run(True, min(r.wall for r in runs), min(r.cpu for r in runs), max(r.rss_mb for r in runs))


def onnx_tool_python(workdir: Path) -> tuple[str | None, str]:
    """Python of WORKDIR/venv-onnxtool (created and filled on first use), or (None, why)."""
    env_dir = workdir / "venv-onnxtool"
    py = env_dir / "bin" / "python"
    if not py.exists():
        print(f"creating {env_dir} and installing onnx-tool ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    probe = subprocess.run([str(py), "-c", "import onnx_tool, importlib.metadata as m; print(m.version('onnx-tool'))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "onnx-tool"], capture_output=True, text=True)
        if r.returncode != 0:
            return None, "pip install onnx-tool failed: " + last_error_line(r.stderr + r.stdout, r.returncode)
        probe = subprocess.run([str(py), "-c", "import onnx_tool, importlib.metadata as m; print(m.version('onnx-tool'))"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            return None, "onnx-tool does not import: " + last_error_line(probe.stderr, probe.returncode)
    return str(py), probe.stdout.strip()


def source_digest() -> str:
    """sha256 over the files ``pip install`` takes from this checkout."""
    import hashlib

    h = hashlib.sha256()
    files = [ROOT / "pyproject.toml", *sorted((ROOT / "onnxstat").rglob("*")), *sorted((ROOT / "op_handlers").rglob("*"))]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def onnxstat_python(workdir: Path) -> tuple[str | None, str]:
    """Python of WORKDIR/venv-onnxstat with this checkout pip-installed (not editable), or (None, why)."""
    env_dir = workdir / "venv-onnxstat"
    py = env_dir / "bin" / "python"
    stamp = env_dir / "onnxstat-source.sha256"
    digest = source_digest()
    if py.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return str(py), f"{env_dir.name} (pip install of this checkout)"
    if not py.exists():
        print(f"creating {env_dir} and installing this checkout ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        cmd = [str(py), "-m", "pip", "install", "-q", str(ROOT)]
    else:
        print(f"sources changed: reinstalling onnxstat into {env_dir} ...", file=sys.stderr)
        cmd = [str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(ROOT)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, "pip install of this checkout failed: " + last_error_line(r.stderr + r.stdout, r.returncode)
    stamp.write_text(digest + "\n")
    return str(py), f"{env_dir.name} (pip install of this checkout)"


def onnxstat_macs(out: Path):
    try:
        return json.loads(out.read_text())["totals"]["macs"]
    except Exception:  # noqa: BLE001 - a summary column only
        return None


def onnx_tool_macs(out: Path):
    try:
        for line in reversed(out.read_text().splitlines()):
            if line.startswith("Total"):
                return int(line.split()[2].replace(",", ""))
    except Exception:  # noqa: BLE001
        pass
    return None


def fmt_macs(x) -> str:
    return "-" if x is None else f"{x / 1e9:.3f} G"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="./.bench_work", help="where models, outputs and the onnx-tool venv go")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and model: best wall and CPU time, worst RSS")
    ap.add_argument("--chain-nodes", type=int, default=100_000, help="nodes of the synthetic chain")
    ap.add_argument("--no-onnx-tool", action="store_true", help="measure onnxstat only")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per subprocess")
    ap.add_argument("--onnxstat-python", choices=("venv", "current"), default="venv",
                    help="run onnxstat from WORKDIR/venv-onnxstat (default) or with this interpreter and checkout")
    args = ap.parse_args(argv)

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    bad = [n for n in names if n not in CASES]
    if bad:
        ap.error(f"unknown model(s) {', '.join(bad)}; choose from {', '.join(MODELS)}")
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / ".gitignore").write_text("*\n")

    ot_py, ot_info = (None, "not run (--no-onnx-tool)") if args.no_onnx_tool else onnx_tool_python(workdir)
    print(f"python {sys.version.split()[0]}, onnx {onnx.__version__}, {os.cpu_count()} cores; "
          f"onnx-tool: {ot_info}", file=sys.stderr)
    onnxstat_env = None
    os_py, os_info = onnxstat_python(workdir) if args.onnxstat_python == "venv" else (None, "")
    if os_py is None:
        if args.onnxstat_python == "venv":
            print(f"warning: {os_info}; running this checkout with {sys.executable}", file=sys.stderr)
        os_py, os_info = sys.executable, f"{sys.executable} with this checkout on PYTHONPATH"
        onnxstat_env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    print(f"onnxstat: {os_info}", file=sys.stderr)
    onnxstat_cmd = [os_py, "-m", "onnxstat.cli"]

    rows = []
    failed = False
    for name in names:
        case = CASES[name]
        if name == "startup":
            path, size_mb = None, 0.0
            cmd_s = [*onnxstat_cmd, "--version"]
            cmd_o = [ot_py, "-c", "import onnx_tool"] if ot_py else None
            out_s = out_o = None
        else:
            path = model_path(workdir, name, args.chain_nodes)
            size_mb = path.stat().st_size / 1e6
            out_s = workdir / f"{name}.onnxstat.json"
            out_o = workdir / f"{name}.onnx_tool.txt"
            cmd_s = [*onnxstat_cmd, "profile", str(path), *case.onnxstat_args, "--format", "json", "-o", str(out_s)]
            cmd_o = [ot_py, "-m", "onnx_tool", "-i", str(path), *case.onnx_tool_args, "-f", str(out_o)] if ot_py else None
        print(f"running {name} ...", file=sys.stderr)
        rs = best_of(cmd_s, workdir / f"{name}.onnxstat.log", args.repeat, args.timeout, onnxstat_env)
        failed |= not rs.ok
        macs_s = onnxstat_macs(out_s) if rs.ok and out_s else None
        ro = macs_o = None
        if cmd_o:
            if out_o:
                out_o.unlink(missing_ok=True)
            ro = best_of(cmd_o, workdir / f"{name}.onnx_tool.log", args.repeat, args.timeout)
            macs_o = onnx_tool_macs(out_o) if ro.ok and out_o else None
        ri = None
        if path is not None:
            ri = best_of([sys.executable, "-c", INFER_BASELINE, str(path)], workdir / f"{name}.infer.log",
                         args.repeat, args.timeout)
        rows.append((case, size_mb, rs, ro, macs_s, macs_o, ri))
        print(f"  onnxstat: {_brief(rs)}; onnx-tool: {_brief(ro) if ro else 'not run'}; "
              f"onnx.load + infer_shapes: {_brief(ri) if ri else 'not run'}", file=sys.stderr)

    print(f"best of {args.repeat} runs; onnxstat: python -m onnxstat.cli profile MODEL --format json -o OUT; "
          f"onnx-tool {ot_info}: python -m onnx_tool -i MODEL -f OUT\n")
    print_table(rows, ot_py is not None)
    return 1 if failed else 0


#: the baseline: onnx's own loading and whole-graph shape inference of the same file
INFER_BASELINE = "import sys, onnx; onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1], load_external_data=False))"


def _brief(r: Run) -> str:
    if not r.ok:
        return f"failed after {r.wall:.1f} s: {r.error}"
    return f"{secs(r.wall)} s wall, {secs(r.cpu)} s CPU, {r.rss_mb:.0f} MB peak RSS"


def verdict(case: Case, rs: Run, ro: Run | None, ri: Run | None = None) -> str:
    if not rs.ok:
        return "onnxstat FAILED: " + rs.error
    parts = []
    if case.target_wall is not None:
        parts.append(f"wall <= {case.target_wall:g} s: {'yes' if rs.wall <= case.target_wall else 'NO'}")
    if case.target_rss_mb is not None:
        parts.append(f"RSS <= {case.target_rss_mb:g} MB: {'yes' if rs.rss_mb <= case.target_rss_mb else 'NO'}")
    if case.target_ratio is not None:
        if ro is not None and ro.ok:
            r = rs.wall / ro.wall
            parts.append(f"wall ratio <= 1/3: {'yes' if r <= case.target_ratio else 'NO'}")
        else:
            parts.append("wall ratio <= 1/3: n/a")
    if case.target_infer_ratio is not None:
        if ri is not None and ri.ok:
            r = rs.wall / ri.wall
            parts.append(f"<= {case.target_infer_ratio:g}x onnx.load + infer_shapes: "
                         f"{'yes' if r <= case.target_infer_ratio else 'NO'}")
        else:
            parts.append("vs onnx.load + infer_shapes: n/a")
    return "; ".join(parts) or "-"


def secs(x: float) -> str:
    """Seconds with millisecond resolution below 10 s."""
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def print_table(rows, with_ot: bool) -> None:
    head = ["model", "file MB", "onnxstat wall s", "CPU s", "peak RSS MB"]
    if with_ot:
        head += ["onnx-tool wall s", "CPU s", "peak RSS MB", "wall ratio", "CPU ratio", "RSS ratio", "MACs onnxstat / onnx-tool"]
    head += ["load + infer_shapes s", "onnxstat / that", "targets"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for case, size_mb, rs, ro, macs_s, macs_o, ri in rows:
        cells = [f"{case.name}: {case.what}", f"{size_mb:.1f}"]
        cells += [secs(rs.wall), secs(rs.cpu), f"{rs.rss_mb:.0f}"] if rs.ok else ["failed", "-", "-"]
        if with_ot:
            if ro is not None and ro.ok:
                cells += [secs(ro.wall), secs(ro.cpu), f"{ro.rss_mb:.0f}"]
                cells += [f"{rs.wall / ro.wall:.2f}", f"{rs.cpu / ro.cpu:.2f}", f"{rs.rss_mb / ro.rss_mb:.2f}"] if rs.ok else ["-"] * 3
            else:
                err = ro.error if ro is not None else "not run"
                cells += [f"failed after {ro.wall:.1f} s: {err}".replace("|", "/") if ro is not None else "-", "-",
                          f"{ro.rss_mb:.0f}" if ro is not None else "-", "-", "-", "-"]
            cells.append(f"{fmt_macs(macs_s)} / {fmt_macs(macs_o)}")
        if ri is not None and ri.ok:
            cells += [secs(ri.wall), f"{rs.wall / ri.wall:.2f}" if rs.ok else "-"]
        else:
            cells += ["-", "-"]
        cells.append(verdict(case, rs, ro if with_ot else None, ri))
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
