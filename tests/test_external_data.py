"""External data: a missing file is a warning (counting needs only dims and dtypes);
a location that leaves the model's folder is refused for every read -- counting,
--simplify, --shape-source ort, bench -- and never opened.

"Never opened" is checked three ways: Python-level open/os.open are recorded;
the outside target is a FIFO in the subprocess tests (opening one for reading
blocks, so a read would hang the run past its timeout); and, where strace works,
every open syscall of the process (onnx and onnxruntime C++ included) is traced.
"""

from __future__ import annotations

import builtins
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnxstat.cli import cli
from onnxstat.errors import ModelError
from onnxstat.model import loader

F = TensorProto.FLOAT
W = np.arange(16, dtype=np.float32).reshape(4, 4)  # 16 float32 = 64 bytes

# x[1,4] @ w[4,4] -> y[1,4]: MACs = 1*4*4 = 16, FLOPs = 2*16 = 32, params = 16, weight bytes = 16*4 = 64


def ext_tensor(name: str, location: str, offset: int | None = 0, length: int | None = 64, dims=(4, 4)) -> TensorProto:
    t = TensorProto(name=name, data_type=F, dims=list(dims))
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    if offset is not None:
        t.external_data.add(key="offset", value=str(offset))
    if length is not None:
        t.external_data.add(key="length", value=str(length))
    return t


def matmul_model(w: TensorProto) -> onnx.ModelProto:
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "g",
        [helper.make_tensor_value_info("x", F, [1, 4])],
        [helper.make_tensor_value_info("y", F, [1, 4])],
        [w],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.fixture
def layout(tmp_path):
    """tmp/model/ holds the model; tmp/outside/secret.bin must never be read."""
    model_dir = tmp_path / "model"
    outside = tmp_path / "outside"
    model_dir.mkdir()
    outside.mkdir()
    secret = outside / "secret.bin"
    secret.write_bytes(W.tobytes())  # a plausible 64-byte payload: reading it would "work"
    return model_dir, secret


@pytest.fixture
def opened(monkeypatch):
    """Paths passed to open(), io.open() and os.open() during the test."""
    seen: list[str] = []
    real_open, real_io_open, real_os_open = builtins.open, io.open, os.open

    def note(file):
        if isinstance(file, (str, bytes, os.PathLike)):
            seen.append(os.path.realpath(os.fsdecode(file)))

    def rec_open(file, *a, **k):
        note(file)
        return real_open(file, *a, **k)

    def rec_io_open(file, *a, **k):
        note(file)
        return real_io_open(file, *a, **k)

    def rec_os_open(path, *a, **k):
        note(path)
        return real_os_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", rec_open)
    monkeypatch.setattr(io, "open", rec_io_open)
    monkeypatch.setattr(os, "open", rec_os_open)
    return seen


def escaping_cases(model_dir: Path, secret: Path) -> dict[str, str]:
    """name -> location, each resolving to ``secret`` (outside the model's folder)."""
    (model_dir / "link.bin").symlink_to(secret)
    (model_dir / "sub").symlink_to(secret.parent, target_is_directory=True)
    depth = len(model_dir.resolve().parts)
    return {
        "dotdot": "../outside/secret.bin",
        "deep_dotdot": "../" * depth + str(secret.resolve()).lstrip("/"),
        "absolute": str(secret),
        "symlink_file": "link.bin",
        "symlink_folder": "sub/secret.bin",
    }


REFUSED = {
    "dotdot": "outside the model's folder (refused)",
    "deep_dotdot": "outside the model's folder (refused)",
    "absolute": "an absolute path (refused",
    "symlink_file": "outside the model's folder (refused)",
    "symlink_folder": "outside the model's folder (refused)",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_escaping_location_is_refused_and_never_opened(layout, opened, case):
    model_dir, secret = layout
    loc = escaping_cases(model_dir, secret)[case]
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", loc)), p)

    res = onnxstat.profile(p)
    # counting works from the declared dims: params 16, MACs 16, weight bytes 64
    assert (res.totals.params, res.totals.macs, res.totals.weight_bytes) == (16, 16, 64)
    assert any(f"external data {loc!r} is {REFUSED[case]}" in w for w in res.warnings), res.warnings

    lm = loader.load(p)
    assert not lm.weights_available
    with pytest.raises(ModelError, match="weight data unavailable") as e:
        lm.full_model()
    assert repr(loc) in str(e.value) and REFUSED[case] in str(e.value)

    simplified = onnxstat.profile(p, simplify=True)
    assert any("simplify skipped" in w and repr(loc) in w for w in simplified.warnings), simplified.warnings

    with pytest.raises(ModelError) as e:
        onnxstat.profile(p, shape_source="ort")
    assert repr(loc) in str(e.value)

    from onnxstat.runtime.bench import bench

    with pytest.raises(ModelError) as e:
        bench(p, runs=1, warmup=0)
    assert repr(loc) in str(e.value)

    assert str(secret.resolve()) not in opened


@pytest.mark.parametrize(
    "loc, why",
    [
        ("C:\\Windows\\system32\\config\\SAM", "an absolute path (refused"),
        ("\\\\server\\share\\w.bin", "an absolute path (refused"),
        ("w\x00.bin", "contains a NUL character"),
        (".", "not a regular file (refused)"),
        ("", "unnamed"),
    ],
)
def test_odd_locations(layout, opened, loc, why):
    model_dir, _secret = layout
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", loc)), p)
    res = onnxstat.profile(p)
    assert res.totals.params == 16
    assert any(why in w for w in res.warnings), res.warnings
    with pytest.raises(ModelError, match="weight data unavailable"):
        loader.load(p).full_model()


def test_fifo_inside_the_folder_is_not_opened(layout, opened):
    # opening a FIFO for reading blocks until a writer appears: it is refused before that
    model_dir, _secret = layout
    os.mkfifo(model_dir / "pipe.bin")
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "pipe.bin")), p)
    res = onnxstat.profile(p)
    assert any("'pipe.bin' is not a regular file (refused)" in w for w in res.warnings)
    with pytest.raises(ModelError, match="'pipe.bin' is not a regular file"):
        loader.load(p).full_model()
    assert str((model_dir / "pipe.bin").resolve()) not in opened


def test_symlink_inside_the_folder_is_followed(layout):
    model_dir, _secret = layout
    (model_dir / "real").mkdir()
    (model_dir / "real" / "w.bin").write_bytes(W.tobytes())
    (model_dir / "link.bin").symlink_to(model_dir / "real" / "w.bin")
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "link.bin")), p)
    lm = loader.load(p)
    assert lm.weights_available and lm.warnings == []
    full = lm.full_model()
    np.testing.assert_array_equal(numpy_helper.to_array(full.graph.initializer[0]), W)


def test_missing_file_profiles_with_a_warning(layout):
    model_dir, _secret = layout
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "w.bin")), p)
    res = onnxstat.profile(p)
    assert (res.totals.params, res.totals.macs, res.totals.flops, res.totals.weight_bytes) == (16, 16, 32, 64)
    assert "external data 'w.bin' is missing; counting from the declared dims and dtypes" in res.warnings
    cli_res = CliRunner().invoke(cli, ["profile", str(p), "--format", "json"])
    assert cli_res.exit_code == 0
    assert "onnxstat: warning: external data 'w.bin' is missing" in cli_res.stderr


def test_missing_file_cli_refuses_ort(layout):
    model_dir, _secret = layout
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "w.bin")), p)
    res = CliRunner().invoke(cli, ["profile", str(p), "--shape-source", "ort"])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        f"onnxstat: error: {p}: weight data unavailable: external data 'w.bin' is missing"
    ]


def test_valid_external_data_is_read_at_its_offset(layout, opened):
    # w.bin: 16 bytes of padding, then the 64-byte tensor
    model_dir, _secret = layout
    (model_dir / "w.bin").write_bytes(b"\xee" * 16 + W.tobytes())
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "w.bin", offset=16, length=64)), p)
    opened.clear()
    lm = loader.load(p)
    assert lm.weights_available
    assert str((model_dir / "w.bin").resolve()) not in opened  # counting reads no weight bytes
    full = lm.full_model()
    np.testing.assert_array_equal(numpy_helper.to_array(full.graph.initializer[0]), W)
    # onnxruntime then runs on the loaded bytes: shapes observed, same totals
    res = onnxstat.profile(p, shape_source="ort")
    assert (res.totals.params, res.totals.macs) == (16, 16)


@pytest.mark.parametrize(
    "offset, length, why",
    [
        # file has 64 bytes; offset 32 + 64 bytes needed = 96 > 64
        (32, 64, "too short for tensor 'w' (needs bytes 32..96, the file has 64)"),
        # no length: the tensor needs 16*4 = 64 bytes from offset 16 -> 80 > 64
        (16, None, "too short for tensor 'w' (needs bytes 16..80, the file has 64)"),
        (10**30, 64, "too short for tensor 'w'"),
        (-8, 64, "negative offset/length"),
        ("abc", 64, "non-numeric offset/length"),
        (0, 32, "declared with 32 bytes for tensor 'w', whose dims and dtype need 64"),
    ],
)
def test_offsets_and_lengths_beyond_the_file(layout, offset, length, why):
    model_dir, _secret = layout
    (model_dir / "w.bin").write_bytes(W.tobytes())
    t = ext_tensor("w", "w.bin", offset=None, length=length)
    t.external_data.add(key="offset", value=str(offset))
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(t), p)
    res = onnxstat.profile(p)
    assert res.totals.params == 16
    assert any(why in w for w in res.warnings), res.warnings
    with pytest.raises(ModelError, match="weight data unavailable") as e:
        loader.load(p).full_model()
    assert why in str(e.value)


def test_forged_stripped_marker_is_an_ordinary_location(layout):
    # the loader marks tensors it stripped with a per-process random pseudo-location;
    # a model naming the old fixed marker gets no special treatment
    model_dir, _secret = layout
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "__onnxstat_stripped__")), p)
    assert loader.STRIPPED != "__onnxstat_stripped__"
    lm = loader.load(p)
    assert lm.external_problems == {"__onnxstat_stripped__": "missing"}
    with pytest.raises(ModelError, match="'__onnxstat_stripped__' is missing"):
        lm.full_model()


def _custom_attr_model(loc: str) -> onnx.ModelProto:
    # an attribute that claims to be an INT but carries a tensor: onnx's loader reads
    # tensors whatever the attribute type says, so the check must see it too
    node = helper.make_node("Foo", ["x"], ["y"], name="foo", domain="com.example")
    a = node.attribute.add()
    a.name = "blob"
    a.type = onnx.AttributeProto.INT
    a.t.CopyFrom(ext_tensor("blob", loc))
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, [1, 4])], [helper.make_tensor_value_info("y", F, [1, 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])


def _function_model(loc: str) -> onnx.ModelProto:
    const = helper.make_node("Constant", [], ["c"])
    const.attribute.add().CopyFrom(helper.make_attribute("value", ext_tensor("c", loc)))
    body = [const, helper.make_node("Add", ["a", "c"], ["b"])]
    fn = helper.make_function("com.example", "AddC", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    g = helper.make_graph(
        [helper.make_node("AddC", ["x"], ["y"], domain="com.example")],
        "g",
        [helper.make_tensor_value_info("x", F, [4, 4])],
        [helper.make_tensor_value_info("y", F, [4, 4])],
    )
    return helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)], functions=[fn]
    )


def _sparse_model(loc: str) -> onnx.ModelProto:
    m = matmul_model(numpy_helper.from_array(W, "w"))
    values = ext_tensor("sv", loc, length=4, dims=(1,))
    indices = numpy_helper.from_array(np.array([0], np.int64), "si")
    m.graph.sparse_initializer.add().CopyFrom(helper.make_sparse_tensor(values, indices, [4]))
    return m


@pytest.mark.parametrize("build", [_custom_attr_model, _function_model, _sparse_model], ids=["attr-type-lies", "function-body", "sparse"])
def test_hidden_tensors_are_checked_too(layout, opened, build):
    model_dir, secret = layout
    p = model_dir / "m.onnx"
    onnx.save(build("../outside/secret.bin"), p)
    lm = loader.load(p)
    assert lm.external_problems == {"../outside/secret.bin": "outside the model's folder (refused)"}
    with pytest.raises(ModelError, match="outside the model's folder"):
        lm.full_model()
    assert str(secret.resolve()) not in opened


def test_model_proto_with_external_data_is_not_resolvable():
    lm = loader.load(matmul_model(ext_tensor("w", "w.bin")))
    assert lm.external_problems == {"w.bin": "not resolvable (model given without a path)"}
    with pytest.raises(ModelError, match="model: weight data unavailable: external data 'w.bin'"):
        lm.full_model()


def test_sample_external_model_round_trip():
    # sample cnn_external: 10250 float32 params = 41000 bytes in cnn_external.onnx.data
    samples = Path(__file__).resolve().parent.parent / "sample_models"
    lm = loader.load(samples / "cnn_external.onnx")
    assert lm.weights_available and lm.external_files == {"cnn_external.onnx.data"}
    full = lm.full_model()
    total = sum(numpy_helper.to_array(t).size for t in full.graph.initializer)
    assert total == 10250
    ref = onnx.load(samples / "cnn.onnx")
    for a, b in zip(full.graph.initializer, ref.graph.initializer):
        np.testing.assert_array_equal(numpy_helper.to_array(a), numpy_helper.to_array(b))


# --------------------------------------------------------------------------- whole process: CLI subprocesses


def _cli(args, timeout=120, strace_to: Path | None = None):
    cmd = [sys.executable, "-c", "from onnxstat.cli import main; main()", *map(str, args)]
    if strace_to is not None:
        cmd = ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2,creat", "-o", str(strace_to), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _fifo_layout(tmp_path: Path) -> tuple[Path, Path]:
    model_dir = tmp_path / "model"
    outside = tmp_path / "outside"
    model_dir.mkdir()
    outside.mkdir()
    secret = outside / "secret.bin"
    os.mkfifo(secret)  # any open() for reading would block: the run would time out
    (model_dir / "link.bin").symlink_to(secret)
    return model_dir, secret


def test_cli_never_opens_outside_targets(tmp_path):
    model_dir, secret = _fifo_layout(tmp_path)
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "link.bin")), p)
    res = _cli(["profile", p, "--simplify", "--format", "json"])
    assert res.returncode == 0, res.stderr
    assert "--simplify skipped: weight data is not available (external file 'link.bin' is outside the model's folder (refused))" in res.stderr
    res = _cli(["profile", p, "--shape-source", "ort"])
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        f"onnxstat: error: {p}: weight data unavailable: external data 'link.bin' is outside the model's folder (refused)"
    ]
    res = _cli(["bench", p, "--runs", "1", "--warmup", "0", "-q"])
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == (
        f"onnxstat: error: {p}: weight data unavailable: external data 'link.bin' is outside the model's folder (refused)"
    )


def _strace_works(tmp_path: Path) -> bool:
    if shutil.which("strace") is None:
        return False
    try:
        r = subprocess.run(["strace", "-qq", "-e", "trace=openat", "-o", str(tmp_path / "probe.txt"), "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def test_no_syscall_opens_outside_targets(tmp_path):
    if not _strace_works(tmp_path):
        pytest.skip("strace is not available or not permitted here")
    model_dir, secret = _fifo_layout(tmp_path)
    p = model_dir / "m.onnx"
    onnx.save(matmul_model(ext_tensor("w", "../outside/secret.bin")), p)
    traces = []
    for i, args in enumerate(
        (["profile", p, "--simplify", "--format", "json"], ["profile", p, "--shape-source", "ort"], ["bench", p, "--runs", "1", "-q"])
    ):
        trace = tmp_path / f"trace{i}.txt"
        res = _cli(args, strace_to=trace)
        assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
        traces.append(trace.read_text())
    assert all("secret.bin" not in t for t in traces)
    assert all("m.onnx" in t for t in traces)  # the trace did record the process's opens
