"""Reports are written atomically: a clear one-line error for a path that cannot be
written, the previous file intact and no temporary file left on any failure, and
never a report over a file onnxstat is reading."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from onnxstat.render import files as oio
from onnxstat.render import formats as render
from helpers import assert_error, run_cli
from onnxstat.errors import UsageError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
MLP = SAMPLES / "mlp.onnx"  # fully static shapes: no warnings on stderr


run = run_cli


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- bad destinations


def test_missing_folder(tmp_path):
    out = tmp_path / "no" / "such" / "report.json"
    assert_error(run("profile", MLP, "--format", "json", "-o", out), 2, f"folder {out.parent} does not exist")
    assert not out.parent.exists()


def test_parent_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert_error(run("profile", MLP, "--format", "json", "-o", f / "report.json"), 2, f"{f} is not a folder")


def test_output_is_a_directory_library(tmp_path):
    with pytest.raises(UsageError, match=f"output {tmp_path}: is a directory"):
        oio.check_output_path(tmp_path)


def test_output_is_a_directory_cli(tmp_path):
    assert_error(run("profile", MLP, "--format", "json", "-o", tmp_path), 2, f"output {tmp_path}: is a directory")


def test_unwritable_folder(tmp_path, monkeypatch):
    # root can write anywhere, so make os.access deny the folder (the branch a user hits)
    real = os.access
    monkeypatch.setattr(oio.os, "access", lambda p, m, *a, **k: False if Path(p) == tmp_path and m == os.W_OK else real(p, m, *a, **k))
    assert_error(run("profile", MLP, "--format", "json", "-o", tmp_path / "r.json"), 2, f"folder {tmp_path} is not writable")
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_chmod(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_error(run("profile", MLP, "--format", "json", "-o", ro / "r.json"), 2, "is not writable")
    finally:
        ro.chmod(0o755)


def test_unwritable_existing_file(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    out.write_text("old")
    real = os.access
    monkeypatch.setattr(oio.os, "access", lambda p, m, *a, **k: False if Path(p) == out and m == os.W_OK else real(p, m, *a, **k))
    assert_error(run("profile", MLP, "--format", "json", "-o", out), 2, "file is not writable")
    assert out.read_text() == "old"


def test_temp_file_cannot_be_created(tmp_path, monkeypatch):
    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(oio, "_mkstemp", deny)
    assert_error(run("profile", MLP, "--format", "json", "-o", tmp_path / "r.json"), 2, f"cannot create a file in folder {tmp_path}: Permission denied")


def test_read_only_filesystem(tmp_path):
    # /proc refuses new files even for root
    if not Path("/proc/self").exists():
        pytest.skip("no /proc")
    assert_error(run("profile", MLP, "--format", "json", "-o", "/proc/onnxstat-report.json"), 2, "cannot create a file in folder /proc")


# --------------------------------------------------------------------------- atomic replacement


def test_existing_report_is_replaced_and_keeps_its_mode(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("old report")
    out.chmod(0o640)
    res = run("profile", MLP, "--format", "json", "-o", out)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "onnxstat.profile/1"
    # mlp: 784*256+256 + 256*128+128 + 128*10+10 = 235146 params
    assert doc["totals"]["params"] == 235146
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_rendering_failure_leaves_the_old_report(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    out.write_text("old report")

    def boom(*a, **k):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(render, "to_json", boom)
    res = run("profile", MLP, "--format", "json", "-o", out)
    assert res.exit_code == 3  # an internal error, reported in one line
    assert "Traceback" not in res.stderr
    assert out.read_text() == "old report"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "where, exc",
    [
        ("fsync", OSError(errno.ENOSPC, "No space left on device")),
        ("replace", OSError(errno.EXDEV, "Invalid cross-device link")),
        ("fsync", KeyboardInterrupt()),
    ],
)
def test_write_failure_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch, where, exc):
    out = tmp_path / "r.json"
    out.write_text("old report")

    def fail(*a, **k):
        raise exc

    monkeypatch.setattr(oio.os, where, fail)
    if isinstance(exc, OSError):
        with pytest.raises(UsageError, match=f"output {out}: cannot write: {exc.strerror}"):
            oio.write_atomic(out, "new report")
    else:
        with pytest.raises(KeyboardInterrupt):
            oio.write_atomic(out, "new report")
    monkeypatch.undo()
    assert out.read_text() == "old report"
    assert leftovers(tmp_path) == []


def test_write_failure_through_the_cli(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    out.write_text("old report")

    def fail(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(oio.os, "fsync", fail)
    assert_error(run("profile", MLP, "--format", "json", "-o", out), 2, f"output {out}: cannot write: No space left on device")
    monkeypatch.undo()
    assert out.read_text() == "old report"
    assert leftovers(tmp_path) == []


def test_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        p = oio.write_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    # 0o666 & ~0o027 = 0o640
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_symlinked_output_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    oio.write_atomic(link, "report")
    assert not link.is_symlink() and link.read_text() == "report"
    assert target.read_text() == "keep me"


def test_stream_outputs_are_written_directly(tmp_path):
    # /dev/null is a character device: it must stay one (no rename over it)
    oio.write_atomic(os.devnull, "report")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    # a FIFO: the report arrives through it
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(Path(fifo).read_text()))
    reader.start()
    oio.write_atomic(fifo, "through the pipe")
    reader.join(10)
    assert got == ["through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# --------------------------------------------------------------------------- never over an input


def test_report_over_the_model_is_refused(tmp_path):
    model = tmp_path / "m.onnx"
    data = MLP.read_bytes()
    model.write_bytes(data)
    assert_error(run("profile", model, "--format", "json", "-o", model), 2, "is a file onnxstat is reading (refusing to overwrite an input)")
    assert model.read_bytes() == data


def test_report_over_external_data_is_refused(tmp_path):
    for name in ("cnn_external.onnx", "cnn_external.onnx.data"):
        (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
    data = tmp_path / "cnn_external.onnx.data"
    before = data.read_bytes()
    res = run("profile", tmp_path / "cnn_external.onnx", "--dim", "batch=1", "--format", "json", "-o", data)
    assert_error(res, 2, "refusing to overwrite an input")
    assert data.read_bytes() == before


def test_new_file_with_a_reused_inode_is_not_mistaken_for_an_input(tmp_path):
    # identity is (device, inode, size, mtime): a later file reusing a freed inode differs
    a = tmp_path / "a.onnx"
    a.write_bytes(MLP.read_bytes())
    oio.register_input(a)
    st = a.stat()
    a.unlink()
    b = tmp_path / "b.txt"
    b.write_text("x")
    assert (b.stat().st_size, b.stat().st_mtime_ns) != (st.st_size, st.st_mtime_ns)
    oio.write_atomic(b, "report")
    assert b.read_text() == "report"


def test_no_temp_files_anywhere_after_success(tmp_path):
    out = tmp_path / "r.md"
    res = run("profile", MLP, "--format", "markdown", "-o", out)
    assert res.exit_code == 0
    assert out.read_text().startswith("#") or "|" in out.read_text()
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_mkstemp_is_exclusive_and_private(tmp_path, monkeypatch):
    fd, name = oio._mkstemp(str(tmp_path), ".r.json.")
    os.close(fd)
    assert Path(name).parent == tmp_path and Path(name).name.startswith(".r.json.") and name.endswith(".tmp")
    assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
    # the same random part twice: the second call must not reuse the existing file
    draws = iter([b"\x00" * 6, b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(oio.os, "urandom", lambda n: next(draws))
    fd1, first = oio._mkstemp(str(tmp_path), "p.")
    fd2, second = oio._mkstemp(str(tmp_path), "p.")
    os.close(fd1), os.close(fd2)
    assert first != second and second.endswith("010101010101.tmp")


# --------------------------------------------------------------------------- text as given


def test_terminal_tables_print_names_and_formulas_as_given(tmp_path):
    """Rich console markup and :emoji: codes are off: brackets and colons in node names,
    op types and formulas reach the terminal unchanged."""
    import onnx
    from onnx import TensorProto, helper

    name = "blocks[bold].relu:smile:"
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name=name),
         helper.make_node("Wobble[red]", ["y"], ["z"], name="odd[/]", domain="my.ops")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    path = tmp_path / "markup.onnx"
    onnx.save(m, str(path))
    r = run_cli("profile", path)
    assert r.exit_code == 0, r.output
    assert name in r.stdout
    assert "odd[/]" in r.stdout and "my.ops::Wobble[red] x1" in r.stdout  # the unsupported-ops line

    ops = run_cli("ops", "--domain", "com.microsoft")
    assert ops.exit_code == 0
    text = " ".join(ops.stdout.split())
    assert "[alpha≠1]" in text and "[beta≠1]" in text
