"""The public Python API: one function per command, typed results with to_dict() and a
one-line repr, a stable exception hierarchy, and the packaging extras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import onnxstat
from helpers import assert_error, run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models"
TRANSFORMER = str(SAMPLES / "transformer.onnx")
MLP = str(SAMPLES / "mlp.onnx")


def check_result(res, cls_name: str) -> dict:
    assert type(res).__name__ == cls_name
    text = repr(res)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith(cls_name + "(")
    d = res.to_dict()
    json.dumps(d)  # JSON-ready
    return d


def test_profile():
    d = check_result(onnxstat.profile(TRANSFORMER, dims={"batch": 1, "seq": 8}), "ProfileResult")
    assert d["schema"] == "onnxstat.profile/1"


def test_repr_of_a_large_model_stays_short(tmp_path):
    # the whole node list used to be in the repr (66 KB on a real model)
    res = onnxstat.profile(TRANSFORMER)
    assert len(res.nodes) == 70 and len(repr(res)) < 200
    res.path = "/very/long/" + "folder/" * 50 + "model.onnx"
    assert len(repr(res)) < 200 and "model.onnx" in repr(res)


def test_symbolic():
    d = check_result(onnxstat.symbolic(TRANSFORMER), "SymbolicResult")
    assert "totals_symbolic" in d


def test_sweep():
    sw = onnxstat.sweep(TRANSFORMER, {"seq": [1, 2, 4]}, dims={"batch": 1})
    d = check_result(sw, "SweepResult")
    assert [r["dims"]["seq"] for r in d["rows"]] == [1, 2, 4]


def test_compare():
    cmp = onnxstat.compare([str(SAMPLES / "cnn.onnx"), str(SAMPLES / "cnn_int8_qdq.onnx")], dims={"batch": 1})
    d = check_result(cmp, "Comparison")
    assert d["baseline"] == "cnn"


def test_bench():
    pytest.importorskip("onnxruntime")
    b = onnxstat.bench(MLP, runs=3, warmup=1)
    d = check_result(b, "BenchResult")
    assert d["runs"] == 3 and b.fps > 0


def test_report(tmp_path):
    out = tmp_path / "r.html"
    rep = onnxstat.report(MLP, output=out)
    d = check_result(rep, "Report")
    assert out.read_text() == rep.html and d["html_bytes"] == len(rep.html.encode())


def test_modules_stay_modules():
    from onnxstat import bench as B
    from onnxstat import compare as C

    assert B.BenchResult is onnxstat.BenchResult and callable(B) and callable(C)
    assert onnxstat.compare.Comparison is onnxstat.Comparison


@pytest.mark.parametrize("name", ["profile", "bench", "compare", "report", "symbolic", "sweep"])
def test_every_function_is_exported_with_an_example(name):
    assert name in onnxstat.__all__
    fn = getattr(onnxstat, name)
    doc = fn.__doc__ or ""
    assert ">>> import onnxstat" in doc and f"onnxstat.{name}(" in doc, name


# --------------------------------------------------------------------------- errors


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        onnxstat.profile(tmp_path / "absent.onnx")
    with pytest.raises(onnxstat.ModelNotFoundError):
        onnxstat.symbolic(tmp_path / "absent.onnx")
    # the command line: still one line, exit code 2
    assert_error(run_cli("profile", tmp_path / "absent.onnx"), 2, "absent.onnx: no such file")


def test_hierarchy():
    assert issubclass(onnxstat.ShapeError, onnxstat.ModelError)
    assert issubclass(onnxstat.ModelError, onnxstat.OnnxstatError)
    assert issubclass(onnxstat.UsageError, onnxstat.OnnxstatError)
    assert issubclass(onnxstat.ModelNotFoundError, FileNotFoundError)


# --------------------------------------------------------------------------- extras


def test_pyproject_extras():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = " ".join(meta["dependencies"])
    assert "onnxruntime" not in deps and "matplotlib" not in deps and "onnxsim" not in deps
    extras = meta["optional-dependencies"]
    assert extras["cpu"][0] == "onnxruntime>=1.17" and extras["gpu"][0] == "onnxruntime-gpu>=1.17"
    assert "cpu" in extras["all"][0] and "gpu" not in extras["all"][0]
    assert any("matplotlib" in x for x in extras["plot"]) and any("onnxsim" in x for x in extras["simplify"])


def _run_without(modules: list[str], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter where importing ``modules`` fails."""
    block = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", block + code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_profile_needs_no_onnxruntime():
    r = _run_without(["onnxruntime", "matplotlib", "onnxsim"],
                     "from onnxstat.cli import main\nsys.argv=['onnxstat','profile','sample_models/cnn.onnx',"
                     "'--dim','batch=1','--format','json']\nmain()")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["macs"] == 7668032


@pytest.mark.parametrize("argv, needle", [
    (["bench", "sample_models/mlp.onnx"], "pip install 'onnxstat[cpu]'"),
    (["profile", "sample_models/mlp.onnx", "--shape-source", "ort"], "pip install 'onnxstat[cpu]'"),
    (["profile", "sample_models/cnn.onnx", "--dim", "batch=1", "--device", "h100", "--plot", "/tmp/x.png"],
     "pip install 'onnxstat[plot]'"),
])
def test_missing_extra_is_one_line(argv, needle):
    r = _run_without(["onnxruntime", "matplotlib"],
                     f"from onnxstat.cli import main\nsys.argv=['onnxstat', *{argv!r}]\nmain()")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnxstat: error: ") and needle in lines[0], lines


def test_simplify_without_onnxsim_names_the_extra():
    r = _run_without(["onnxsim"], "import onnxstat\nres = onnxstat.profile('sample_models/mlp.onnx', simplify=True)\n"
                                  "print('\\n'.join(res.warnings))")
    assert r.returncode == 0, r.stderr
    assert "pip install 'onnxstat[simplify]'" in r.stdout


def test_shell_completion_script():
    env = dict(os.environ, PYTHONPATH=str(ROOT), _ONNXSTAT_COMPLETE="bash_source")
    r = subprocess.run([sys.executable, "-c", "from onnxstat.cli import cli; cli(prog_name='onnxstat')"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert "_onnxstat_completion" in r.stdout
    assert "_ONNXSTAT_COMPLETE=bash_source onnxstat" in (ROOT / "README.md").read_text()


def test_messages_name_arguments_in_python_and_options_on_the_command_line():
    with pytest.raises(onnxstat.UsageError) as exc:
        onnxstat.profile(TRANSFORMER, input_shapes={"nope": (1, 2, 64)})
    assert str(exc.value).startswith("input_shapes names 'nope'") and "--" not in str(exc.value)
    assert_error(run_cli("profile", TRANSFORMER, "--input-shape", "nope=1x2x64"), 2, "--input-shape names 'nope'")
