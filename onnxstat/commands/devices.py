"""Command module: `onnxstat devices` (registers itself on the CLI group when imported).

Also holds the shared device options (``--device``, ``--peak-tflops``,
``--bandwidth-gbs``, ``--roofline-plot``) that profile and bench use.
"""

from __future__ import annotations

import json
from typing import Callable

import click

from ..cli import cli, emit, output_options
from ..errors import UsageError


def device_options(fn: Callable) -> Callable:
    """``--device NAME`` or ``--peak-tflops X --bandwidth-gbs Y``; read with :func:`device_from_options`."""
    fn = click.option("--bandwidth-gbs", type=float, default=None, metavar="Y",
                      help="Custom device: memory bandwidth in GB/s (with --peak-tflops).")(fn)
    fn = click.option("--peak-tflops", type=float, default=None, metavar="X",
                      help="Custom device: peak TFLOP/s, used for every precision (with --bandwidth-gbs).")(fn)
    fn = click.option("--device", "device", default=None, metavar="NAME",
                      help="Roofline on a device preset (see 'onnxstat devices'; e.g. h100, t4, orin) or 'host' to measure this machine.")(fn)
    return fn


def plot_option(fn: Callable) -> Callable:
    """``--roofline-plot FILE.png|FILE.svg`` (needs a device)."""
    return click.option("--roofline-plot", "roofline_plot", type=click.Path(), default=None,
                        help="Write a roofline plot (.png or .svg) for the device.")(fn)


def device_from_options(device, peak_tflops, bandwidth_gbs, roofline_plot=None):
    """The :class:`roofline.Device` asked for on the command line, or None.

    Checks ``--roofline-plot`` (needs a device; .png or .svg; writable folder)
    before any work is done.
    """
    from ..passes.roofline import resolve_device

    dev = resolve_device(device, peak_tflops, bandwidth_gbs)
    if roofline_plot:
        from ..render.files import check_output_path
        from ..render.plot import _fmt

        if dev is None:
            raise UsageError("--roofline-plot needs --device NAME (or --peak-tflops with --bandwidth-gbs)")
        _fmt(roofline_plot)
        check_output_path(roofline_plot)
    return dev


def _tf(v) -> str:
    return "-" if v is None else f"{v / 1e12:,.4g}"


def devices_rows(devs) -> list[list[str]]:
    rows = []
    for i, d in enumerate(devs, 1):
        p = d.peaks
        rows.append([
            f"[{i}] " + d.name + (" (measured)" if d.measured and "measured" not in d.name else ""),
            d.kind,
            _tf(p.get("fp32")),
            _tf(p.get("fp16")),
            _tf(p.get("int8")),
            f"{d.bandwidth / 1e9:,.4g}",
            f"{d.ridge('fp32'):.3g}",
            ", ".join(d.aliases[:2]) + (", …" if len(d.aliases) > 2 else ""),
        ])
    return rows


HEADERS = ["Device", "Kind", "FP32 TFLOP/s", "FP16 TFLOP/s", "INT8 TOP/s", "Memory GB/s", "Ridge FLOP/B", "Aliases"]

#: the table fits this many columns (a wider terminal does not make it wider)
DEVICES_WIDTH = 100


def render_devices(devs, fmt: str, sources: bool = False, width: int = DEVICES_WIDTH) -> str:
    """JSON (everything), or the table in ``width`` columns; ``sources`` adds the numbered
    datasheet sources and notes below it."""
    from ..render.formats import console_text, render_as

    return render_as(fmt, {
        "table": lambda: console_text(lambda console: _print_devices(devs, sources, width, console), width),
        "json": lambda: json.dumps({"schema": "onnxstat.devices/1", "devices": [d.to_dict() for d in devs]},
                                   indent=2) + "\n",
    }, "devices")


def _print_devices(devs, sources: bool, width: int, console) -> None:
    from ..render import layout

    cols = [layout.Col("Device", "left", 0), layout.Col("Kind", "left", 6), layout.Col("FP32 TFLOP/s", priority=1),
            layout.Col("FP16 TFLOP/s", priority=2), layout.Col("INT8 TOP/s", priority=3),
            layout.Col("Memory GB/s", priority=1), layout.Col("Ridge FLOP/B", priority=5),
            layout.Col("Aliases", "left", 4, shrink=True, min_width=8)]
    t, dropped = layout.table(cols, devices_rows(devs), width,
                              title="Device presets (dense peaks; FP16 = FP16/BF16; '-' = absent)")
    console.print(t)
    if dropped:
        console.print(f"(not shown: {', '.join(dropped)}; --format json has everything)")
    if not sources:
        console.print("Datasheet sources and notes: onnxstat devices --sources")
        return
    console.print("Sources:")
    for i, d in enumerate(devs, 1):
        console.print(f"[{i}] {d.name}: {d.source}" + (f" Note: {d.notes}" if d.notes else ""), highlight=False)


@cli.command("devices")
@output_options(("table", "json"))
@click.option("--host", "host", is_flag=True, help="Also measure this machine (about 1-2 s): numpy fp32 GEMM and a 64 MiB copy.")
@click.option("--sources", is_flag=True, help="Also print the datasheet source and the notes of every preset.")
def devices_cmd(fmt, output, host, sources):
    """List the device presets used by --device (peaks, bandwidth; sources with --sources)."""
    from ..passes.roofline import measure_host, presets

    devs = presets()
    if host:
        devs.append(measure_host())
    emit(render_devices(devs, fmt, sources=sources), output)


__all__ = ["device_options", "plot_option", "device_from_options", "render_devices"]
