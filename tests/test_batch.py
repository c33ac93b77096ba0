"""Batch profiling: path expansion, per-model rows, errors that do not stop the batch, reports."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

import zoo
from onnxstat.multi import batch
from onnxstat.multi.batch import BatchRow, cli_run, expand_paths, is_batch, profile_many
from onnxstat.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------- known costs
#
# synthetic_chain(9): nodes Add, Relu, Mul, Add, Relu, Mul, Add, Relu, Mul on a [1, 64] float tensor,
# Add and Mul with a [64] float constant (add_const, mul_const).
#   MACs 0; FLOPs 9 nodes * 64 elements * 1 = 576
#   params: add_const 64 + mul_const 64 = 128; weight bytes 128 * 4 = 512
#   traffic: Add/Mul read 64*4 + 64*4 and write 64*4 = 768 B; Relu reads 256 and writes 256 = 512 B
#            3 * 768 + 3 * 512 + 3 * 768 = 6,144 B
CHAIN9 = {"macs": 0, "flops": 576, "params": 128, "weight_bytes": 512, "memory_traffic_bytes": 6144, "nodes": 9,
          "unsupported_nodes": 0}

# transformer_decoder(layers 2, hidden 64, heads 4, vocab 100, MLP 256), batch 1, seq 8:
#   MatMul MACs per layer: q, k, v, o 4 * 8*64*64 = 131,072; gate, up, down 3 * 8*64*256 = 393,216;
#   Q.K^T and P.V 2 * (4 heads * 8*8*16) = 8,192  -> 532,480 per layer, 1,064,960 for two;
#   lm_head 8*64*100 = 51,200                      -> 1,116,160 MACs
#   params: zoo.transformer_decoder_params(2, 64, 100, 256) = 6,400 + 2 * 65,664 + 64 + 6,400 = 144,192
#   (the three float scalar Constants 2.0, eps and sqrt(head_dim) are not parameters)
DEC_MACS = 1_116_160
DEC_PARAMS = 144_192


@pytest.fixture(scope="module")
def zoo_dir(tmp_path_factory):
    """a/chain9.onnx, a/b/decoder.onnx, a/b/notes.txt, a/bad.onnx (text), empty/"""
    d = tmp_path_factory.mktemp("zoo")
    (d / "a" / "b").mkdir(parents=True)
    (d / "empty").mkdir()
    onnx.save(zoo.synthetic_chain(9), str(d / "a" / "chain9.onnx"))
    onnx.save(zoo.transformer_decoder(2, 64, 4, 100, seq=8, batch=1, intermediate=256), str(d / "a" / "b" / "decoder.onnx"))
    (d / "a" / "b" / "notes.txt").write_text("not a model\n")
    (d / "a" / "bad.onnx").write_text("this is not a model\n")
    return d


def row_values(row: BatchRow) -> dict:
    d = row.to_dict()
    return {k: d[k] for k in CHAIN9}


# ---------------------------------------------------------------------------------------- expand_paths


def test_expand_directory_recursive_sorted_onnx_only(zoo_dir):
    got = expand_paths([zoo_dir / "a"])
    assert got == [zoo_dir / "a" / "b" / "decoder.onnx", zoo_dir / "a" / "bad.onnx", zoo_dir / "a" / "chain9.onnx"]


def test_expand_keeps_argument_order_and_dedupes(zoo_dir):
    chain = zoo_dir / "a" / "chain9.onnx"
    got = expand_paths([chain, zoo_dir / "a" / "b", zoo_dir / "a"])
    # chain first (given first), decoder from a/b, then a/ adds only bad.onnx (the others were seen)
    assert got == [chain, zoo_dir / "a" / "b" / "decoder.onnx", zoo_dir / "a" / "bad.onnx"]


def test_expand_globs(zoo_dir):
    assert expand_paths([str(zoo_dir / "a" / "c*.onnx")]) == [zoo_dir / "a" / "chain9.onnx"]
    deep = expand_paths([str(zoo_dir / "**" / "*.onnx")])
    assert sorted(deep) == sorted([zoo_dir / "a" / "b" / "decoder.onnx", zoo_dir / "a" / "bad.onnx",
                                   zoo_dir / "a" / "chain9.onnx"])


def test_explicit_file_taken_whatever_its_extension(zoo_dir):
    notes = zoo_dir / "a" / "b" / "notes.txt"
    assert expand_paths([notes]) == [notes]


@pytest.mark.parametrize(
    "arg, message",
    [
        ("missing.onnx", "missing.onnx: no such file or folder"),
        ("empty", "empty: is a directory with no .onnx file in it"),
        ("a/*.bin", "a/*.bin: no file matches"),
    ],
)
def test_expand_errors_name_the_argument(zoo_dir, monkeypatch, arg, message):
    monkeypatch.chdir(zoo_dir)
    with pytest.raises(UsageError) as e:
        expand_paths([arg])
    assert str(e.value) == message
    assert e.value.exit_code == 2


def test_expand_nothing_given():
    with pytest.raises(UsageError, match="no model given"):
        expand_paths([])


def test_is_batch(zoo_dir):
    chain = str(zoo_dir / "a" / "chain9.onnx")
    assert not is_batch([chain])
    assert is_batch([chain, chain])
    assert is_batch([str(zoo_dir / "a")])
    assert is_batch([str(zoo_dir / "a" / "*.onnx")])


# ---------------------------------------------------------------------------------------- profile_many


@pytest.fixture(scope="module")
def sequential(zoo_dir):
    return profile_many([zoo_dir / "a"], jobs=1)


def test_rows_in_path_order_with_exact_totals(sequential, zoo_dir):
    paths = [r.path for r in sequential.models]
    assert paths == [str(zoo_dir / "a" / "b" / "decoder.onnx"), str(zoo_dir / "a" / "bad.onnx"),
                     str(zoo_dir / "a" / "chain9.onnx")]
    dec, bad, chain = sequential.models
    assert row_values(chain) == CHAIN9
    assert chain.status == "ok" and chain.error is None
    assert dec.status == "ok"
    assert dec.macs == DEC_MACS
    assert dec.params == DEC_PARAMS
    # the decoder's weights are declared external and missing: counted, with a warning
    assert any("external data" in w for w in dec.warnings)


def test_bad_model_is_a_row_not_a_stop(sequential):
    bad = sequential.models[1]
    assert bad.status == "error"
    assert "not an ONNX model" in bad.error and bad.error.startswith(bad.path)
    assert "\n" not in bad.error
    assert bad.exit_code == 1
    assert bad.params is None and bad.macs is None and bad.nodes is None
    assert sequential.exit_code == 1
    assert [r.path for r in sequential.failed] == [bad.path]


def test_all_ok_exit_code_zero(zoo_dir):
    res = profile_many([zoo_dir / "a" / "chain9.onnx"])
    assert res.exit_code == 0 and not res.failed


def test_shapes_and_dims_apply_to_every_model(zoo_dir, tmp_path):
    # the same chain with a symbolic batch: --dim batch=3 triples every per-element figure
    m = zoo.synthetic_chain(9)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(m, str(tmp_path / "chain_b.onnx"))
    res = profile_many([tmp_path / "chain_b.onnx", zoo_dir / "a" / "chain9.onnx"], dims={"batch": 3})
    sym, fixed = res.models
    # FLOPs 9 * 3*64 = 1,728; traffic: activations triple, the two [64] constants are read once per Add/Mul:
    #   Add/Mul read 192*4 + 64*4 = 1,024 and write 768 -> 1,792; Relu 768 + 768 = 1,536
    #   3 * 1,792 + 3 * 1,536 + 3 * 1,792 = 15,360
    assert (sym.flops, sym.memory_traffic_bytes, sym.params) == (1728, 15360, 128)
    # the fixed-shape model has no "batch": only a warning, same figures as before
    assert row_values(fixed) == CHAIN9
    assert any("dims batch" in w for w in fixed.warnings)  # read from Python: the argument's name
    assert res.settings["dims"] == {"batch": 3}


def test_input_shape_a_model_lacks_fails_that_model_only(zoo_dir):
    res = profile_many([zoo_dir / "a" / "chain9.onnx", zoo_dir / "a" / "b" / "decoder.onnx"],
                       input_shapes={"input_ids": (1, 4)})
    chain, dec = res.models
    assert chain.status == "error" and "'input_ids', which is not a model input" in chain.error
    assert chain.exit_code == 2
    # decoder at seq 4: per layer 4*4*64*64 + 3*4*64*256 + 2*(4*4*4*16) = 65,536 + 196,608 + 2,048 = 264,192;
    # two layers 528,384 + lm_head 4*64*100 = 25,600 -> 553,984
    assert dec.status == "ok" and dec.macs == 553_984


@pytest.mark.parametrize("jobs", [-1, "2", 1.5, True])
def test_bad_jobs(zoo_dir, jobs):
    with pytest.raises(UsageError, match="jobs"):
        profile_many([zoo_dir / "a" / "chain9.onnx"], jobs=jobs)


def test_bad_shape_arguments_fail_before_work(zoo_dir):
    with pytest.raises(UsageError, match="negative"):
        profile_many([zoo_dir / "a"], input_shapes={"x": (1, -1)})
    with pytest.raises(UsageError, match="shape source"):
        profile_many([zoo_dir / "a"], shape_source="tf")


def test_process_pool_matches_sequential(sequential, zoo_dir):
    par = profile_many([zoo_dir / "a"], jobs=2, progress=True)
    strip = lambda res: [dict(r.to_dict(), seconds=None) for r in res.models]  # noqa: E731
    assert strip(par) == strip(sequential)
    assert par.settings["jobs"] == 2
    # more jobs than models: capped
    assert profile_many([zoo_dir / "a" / "chain9.onnx"], jobs=8).settings["jobs"] == 1


def dying_worker(task):
    """Kills its process for any model named *die*.onnx, like an out-of-memory kill."""
    if Path(task[0]).name.startswith("die"):
        os._exit(9)
    return batch._worker(task)


def test_a_model_that_kills_its_worker_is_isolated(zoo_dir, tmp_path):
    chain = zoo_dir / "a" / "chain9.onnx"
    paths = []
    for name in ("one.onnx", "die.onnx", "two.onnx", "three.onnx"):
        (tmp_path / name).write_bytes(chain.read_bytes())
        paths.append(str(tmp_path / name))
    tasks = [(p, {}, {}, False, "onnx") for p in paths]
    rows = batch._run_pool(tasks, 2, batch._Progress(False, len(tasks)), worker=dying_worker)
    assert [r.path for r in rows] == paths
    assert [r.status for r in rows] == ["ok", "error", "ok", "ok"]
    assert "worker process profiling this model died" in rows[1].error
    for r in (rows[0], rows[2], rows[3]):
        assert row_values(r) == CHAIN9


# ---------------------------------------------------------------------------------------- reports


def test_json_report(sequential):
    d = json.loads(batch.to_json(sequential))
    assert d["schema"] == "onnxstat.batch/1"
    assert d["summary"] == {"models": 3, "ok": 2, "failed": 1, "seconds": d["summary"]["seconds"]}
    chain = d["models"][2]
    assert {k: chain[k] for k in CHAIN9} == CHAIN9
    assert chain["status"] == "ok" and chain["error"] is None
    assert d["models"][1]["status"] == "error" and d["models"][1]["params"] is None


def test_csv_report(sequential):
    rows = list(csv.DictReader(io.StringIO(batch.to_csv(sequential))))
    assert list(rows[0]) == list(batch.COLUMNS)
    chain = rows[2]
    assert {k: int(chain[k]) for k in CHAIN9} == CHAIN9
    assert rows[1]["status"] == "error" and "not an ONNX model" in rows[1]["error"] and rows[1]["params"] == ""


def test_markdown_and_table_reports(sequential, tmp_path):
    md = batch.to_markdown(sequential)
    assert "| Model | Status | Params | MACs | FLOPs |" in md
    assert "| 576 |" in md  # the chain's FLOPs
    assert "3 models, 2 ok, 1 failed" in md
    text = batch.render(sequential, "table", width=200)
    assert "chain9.onnx" in text and "error: not an ONNX model" in text and "1.12 M" in text  # decoder MACs
    narrow = batch.render(sequential, "table", width=80)
    assert "Unsup." not in narrow and "MACs" in narrow
    with pytest.raises(UsageError, match="format"):
        batch.render(sequential, "xml")


def test_markdown_escapes_pipes(tmp_path):
    p = tmp_path / "a|b.onnx"
    onnx.save(zoo.synthetic_chain(3), str(p))
    assert "a\\|b.onnx" in batch.to_markdown(profile_many([p]))


def test_cli_run_writes_report_and_returns_exit_code(zoo_dir, tmp_path, capsys):
    out = tmp_path / "batch.json"
    code = cli_run([str(zoo_dir / "a")], fmt="json", output=str(out), progress=False)
    assert code == 1
    err = capsys.readouterr().err
    assert f"wrote {out}" in err and "onnxstat: error: 1 of 3 models failed" in err
    assert json.loads(out.read_text())["summary"]["failed"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    code = cli_run([str(zoo_dir / "a" / "chain9.onnx")], fmt="csv")
    captured = capsys.readouterr()
    assert code == 0 and captured.out.startswith('"path","status","error",') and captured.err == ""
    with pytest.raises(UsageError, match="folder"):
        cli_run([str(zoo_dir / "a")], fmt="json", output=str(tmp_path / "nope" / "x.json"))


def _profile_has_jobs() -> bool:
    from click.testing import CliRunner

    from onnxstat.cli import cli

    return "--jobs" in CliRunner().invoke(cli, ["profile", "--help"]).output


@pytest.mark.skipif(not _profile_has_jobs(), reason="onnxstat profile has no --jobs yet (cli.py wiring pending)")
def test_cli_profile_several_models(zoo_dir):
    r = subprocess.run(
        [sys.executable, "-m", "onnxstat.cli", "profile", str(zoo_dir / "a"), "--jobs", "2", "--format", "json"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert r.returncode == 1, r.stderr
    d = json.loads(r.stdout)
    assert d["schema"] == "onnxstat.batch/1" and [m["status"] for m in d["models"]] == ["ok", "error", "ok"]
    assert "1 of 3 models failed" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------------------- benchmark inputs


def _bench_scale():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "bench_scale.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_scale", mod)  # dataclasses look their module up
    spec.loader.exec_module(sys.modules["bench_scale"])
    return sys.modules["bench_scale"]


def test_bench_vit_builder_matches_its_parameter_formula():
    import numpy as np

    b = _bench_scale()
    # timm's vit_base_patch16_224 has 86,567,656 parameters:
    #   patch conv 768*3*16*16 + 768 = 590,592; cls 768; pos 197*768 = 151,296
    #   per layer 4*(768*768 + 768) + 2*2*768 + 768*3072 + 3072 + 3072*768 + 768 = 7,087,872; x12 = 85,054,464
    #   final norm 1,536; head 768*1000 + 1000 = 769,000
    assert b.vit_b16_params() == 590_592 + 768 + 151_296 + 85_054_464 + 1_536 + 769_000 == 86_567_656
    # a small build: its initializers hold exactly the formula's weights plus four float scalars
    # (attention scale, sqrt 2, 1, 0.5) and the int64 shape/index constants
    cfg = dict(layers=2, hidden=32, heads=2, mlp=64, classes=10, size=32, patch=16)
    m = b.vit_b16(seed=1, **cfg)
    floats = sum(int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    tokens = (32 // 16) ** 2 + 1
    assert floats == b.vit_b16_params(layers=2, hidden=32, mlp=64, classes=10, tokens=tokens, patch=16) + 4
    onnx.checker.check_model(m)
    # same seed, same bytes: the benchmark's inputs are reproducible
    assert b.vit_b16(seed=1, **cfg).SerializeToString() == m.SerializeToString()
