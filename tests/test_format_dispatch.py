"""One output-format dispatch (onnxstat.render.formats.render_as): each command maps the
formats it offers to a renderer; only the one asked for runs, and a format the command
does not offer is one UsageError naming those it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from onnxstat.errors import UsageError
from onnxstat.render.formats import check_format, console_text, render_as

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"


def test_only_the_renderer_asked_for_runs():
    calls = []

    def renderer(name):
        def fn():
            calls.append(name)
            return f"<{name}>"
        return fn

    text = render_as("csv", {f: renderer(f) for f in ("table", "json", "csv", "markdown")}, "the test")
    assert text == "<csv>" and calls == ["csv"]


def test_a_format_not_offered_is_one_usage_error():
    with pytest.raises(UsageError) as e:
        render_as("csv", {"table": lambda: "", "json": lambda: ""}, "devices")
    assert str(e.value) == "unknown format 'csv' for devices: use one of table, json"
    with pytest.raises(UsageError, match="for batch: use one of table, json"):
        check_format("xml", ("table", "json"), "batch")
    check_format("json", ("table", "json"), "batch")  # offered: no error


def test_console_text_is_plain_text_at_the_width_given():
    from rich.table import Table

    t = Table(title="T")
    t.add_column("a")
    t.add_row("x" * 100)
    text = console_text(lambda console: console.print(t), width=40)
    assert "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 40


def test_ops_and_devices_refuse_formats_they_do_not_offer():
    from onnxstat.commands.devices import render_devices
    from onnxstat.passes.coverage import ops_table

    with pytest.raises(UsageError, match="unknown format 'csv' for ops"):
        ops_table("csv")
    with pytest.raises(UsageError, match="unknown format 'markdown' for devices"):
        render_devices([], "markdown")


def test_compare_and_sweep_render_every_format_they_offer():
    from onnxstat.multi.compare import compare, render_text
    from onnxstat.multi.sweep import render_sweep, sweep

    cmp = compare([str(SAMPLES / "cnn.onnx"), str(SAMPLES / "cnn_fp16.onnx")], dims={"batch": 1})
    sw = sweep(str(SAMPLES / "transformer.onnx"), {"seq": [8, 16]})
    for fmt in ("table", "json", "csv", "markdown"):
        assert render_text(cmp, fmt).strip()
        assert render_sweep(sw, fmt).strip()
    with pytest.raises(UsageError, match="for compare"):
        render_text(cmp, "html")
    with pytest.raises(UsageError, match="for sweep"):
        render_sweep(sw, "html")
