"""Command module: `onnxstat devices` (registers itself on the CLI group when imported).

Also holds the shared device options (``--device``, ``--peak-tflops``,
``--bandwidth-gbs``, ``--roofline-plot``) that profile and bench use.
"""

from __future__ import annotations

import json
from typing import Callable

import click

from .cli import cli, emit, output_options
from .errors import UsageError


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
    from .roofline import resolve_device

    dev = resolve_device(device, peak_tflops, bandwidth_gbs)
    if roofline_plot:
        from .io import check_output_path
        from .plot import _fmt

        if dev is None:
            raise UsageError("--roofline-plot needs --device NAME (or --peak-tflops with --bandwidth-gbs)")
        _fmt(roofline_plot)
        check_output_path(roofline_plot)
    return dev


def _tf(v) -> str:
    return "-" if v is None else f"{v / 1e12:,.4g}"


def devices_rows(devs) -> list[list[str]]:
    rows = []
    for d in devs:
        p = d.peaks
        rows.append([
            d.name + (" (measured)" if d.measured and "measured" not in d.name else ""),
            d.kind,
            _tf(p.get("fp32")),
            _tf(p.get("fp16")),
            _tf(p.get("int8")),
            f"{d.bandwidth / 1e9:,.4g}",
            f"{d.ridge('fp32'):.3g}",
            ", ".join(d.aliases),
        ])
    return rows


HEADERS = ["Device", "Kind", "FP32 TFLOP/s", "FP16/BF16 TFLOP/s", "INT8 TOP/s", "Bandwidth GB/s", "FP32 ridge FLOP/B", "Aliases"]


def render_devices(devs, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"schema": "onnxstat.devices/1", "devices": [d.to_dict() for d in devs]}, indent=2) + "\n"
    from io import StringIO

    from .render import make_console
    from rich.table import Table

    buf = StringIO()
    console = make_console(file=buf, width=200, color_system=None)
    t = Table(title="Device presets (dense peaks; '-' = absent)", title_justify="left")
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="left" if i in (0, 1, 7) else "right", overflow="fold")
    for r in devices_rows(devs):
        t.add_row(*r)
    console.print(t)
    console.print("Sources:")
    for i, d in enumerate(devs, 1):
        console.print(f"  [{i}] {d.name}: {d.source}" + (f" Note: {d.notes}" if d.notes else ""), highlight=False, soft_wrap=True)
    return buf.getvalue()


@cli.command("devices")
@output_options(("table", "json"))
@click.option("--host", "host", is_flag=True, help="Also measure this machine (about 1-2 s): numpy fp32 GEMM and a 64 MiB copy.")
def devices_cmd(fmt, output, host):
    """List the device presets used by --device (peaks, bandwidth, source)."""
    from .roofline import measure_host, presets

    devs = presets()
    if host:
        devs.append(measure_host())
    emit(render_devices(devs, fmt), output)


__all__ = ["device_options", "plot_option", "device_from_options", "render_devices"]
