"""A real fp32 / int8 pair: ddddocr's OCR model (common.onnx) and its dynamically
quantised twin (common_old.onnx: ConvInteger, MatMulInteger, DynamicQuantizeLSTM).

Both files ship in the ddddocr wheel on PyPI.  The wheel is fetched once with
``pip download ddddocr==1.6.1 --no-deps`` into $ONNXSTAT_TEST_CACHE or
~/.cache/onnxstat-test (a temporary folder if that is not writable) and the two
models are extracted from it with zipfile.  Without network the tests skip.

Input ``input1`` is [1, 1, 64, image_width]; at image_width 128 the network is
(Cout, Cin, k, Hout, Wout per Conv; MACs = Cout·Cin·k·k·Hout·Wout):

    stem      (24, 1, 3, 32, 64)                                   442,368
    stage 1   2 × [(24, 24, 3, 32, 64) + (24, 24, 1, 32, 64)]     2 × 11,796,480
    down      (96, 24, 3, 16, 32)                               10,616,832
              (48, 96, 1, 16, 32)                                2,359,296
    stage 2   3 × [(192, 48, 3, 16, 32) + (48, 192, 1, 16, 32)] 3 × 47,185,920
    down      (192, 48, 3, 8, 16)                               10,616,832
              (64, 192, 1, 8, 16)                                1,572,864
    stage 3   3 × [(256, 64, 3, 8, 16) + (64, 256, 1, 8, 16)]   3 × 20,971,520
    21 Conv                                                    253,673,472
    LSTM      bidirectional, hidden 512, input 64·8 = 512, seq 128/8 = 16:
              2 dirs × 16 steps × 4·512 gates × (512 + 512)     67,108,864
    Gemm      16 × 1024 (2 × 512) -> 8210 classes: 16·1024·8210 134,512,640
    total                                                      455,294,976 MACs

The quantised twin has the same layers (ConvInteger ×21, DynamicQuantizeLSTM,
MatMulInteger), so the same MACs, all in 8 bit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from onnxstat.multi.compare import compare

pytestmark = pytest.mark.network

VERSION = "1.6.1"
WIDTH = 128

CONVS = (
    [(24, 1, 3, 32, 64)]
    + 2 * [(24, 24, 3, 32, 64), (24, 24, 1, 32, 64)]
    + [(96, 24, 3, 16, 32), (48, 96, 1, 16, 32)]
    + 3 * [(192, 48, 3, 16, 32), (48, 192, 1, 16, 32)]
    + [(192, 48, 3, 8, 16), (64, 192, 1, 8, 16)]
    + 3 * [(256, 64, 3, 8, 16), (64, 256, 1, 8, 16)]
)
CONV_MACS = sum(co * ci * k * k * h * w for co, ci, k, h, w in CONVS)
LSTM_MACS = 2 * 16 * (4 * 512) * (512 + 512)
GEMM_MACS = 16 * 1024 * 8210
TOTAL_MACS = CONV_MACS + LSTM_MACS + GEMM_MACS

# parameters (fp32): conv weights + biases, Gemm 8210×1024 + 8210, LSTM W and R
# 2×2048×512 each + B 2×4096
CONV_WEIGHTS = sum(co * ci * k * k for co, ci, k, _h, _w in CONVS)
CONV_BIASES = sum(co for co, *_ in CONVS)
FP32_PARAMS = CONV_WEIGHTS + CONV_BIASES + 8210 * 1024 + 8210 + 2 * (2 * 2048 * 512) + 2 * 4096


def test_layer_arithmetic():
    assert len(CONVS) == 21
    assert CONV_MACS == 253673472
    assert LSTM_MACS == 67108864
    assert GEMM_MACS == 134512640
    assert TOTAL_MACS == 455294976
    assert CONV_WEIGHTS == 900312 and CONV_BIASES == 2200
    assert FP32_PARAMS == 13520258


def _cache_dir() -> Path:
    for cand in (os.environ.get("ONNXSTAT_TEST_CACHE"), Path.home() / ".cache" / "onnxstat-test"):
        if not cand:
            continue
        p = Path(cand)
        try:
            p.mkdir(parents=True, exist_ok=True)
            if os.access(p, os.W_OK):
                return p
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="onnxstat-test-"))


@pytest.fixture(scope="module")
def models() -> tuple[Path, Path]:
    cache = _cache_dir()
    wheels = sorted(cache.glob(f"ddddocr-{VERSION}-*.whl"))
    if not wheels:
        try:
            r = subprocess.run(
                [sys.executable, "-m", "pip", "download", f"ddddocr=={VERSION}", "--no-deps", "-d", str(cache),
                 "--disable-pip-version-check", "-q"],
                capture_output=True, text=True, timeout=600,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot download ddddocr: {exc}")
        wheels = sorted(cache.glob(f"ddddocr-{VERSION}-*.whl"))
        if r.returncode != 0 or not wheels:
            pytest.skip(f"cannot download ddddocr (no network?): {(r.stderr or r.stdout).strip()[-300:]}")
    out = []
    with zipfile.ZipFile(wheels[-1]) as z:
        for name in ("common.onnx", "common_old.onnx"):
            info = z.getinfo(f"ddddocr/{name}")
            dst = cache / f"ddddocr-{VERSION}-{name}"
            if not dst.exists() or dst.stat().st_size != info.file_size:
                tmp = dst.with_suffix(".part")
                tmp.write_bytes(z.read(info))
                os.replace(tmp, dst)
            out.append(dst)
    return out[0], out[1]


@pytest.fixture(scope="module")
def cmp(models):
    fp32, int8 = models
    return compare([fp32, int8], dims={"image_width": WIDTH})


def test_conv_weights_match_the_layer_list(models):
    # independent of onnxstat: the Conv weight initializers in common.onnx
    import onnx

    m = onnx.load(str(models[0]))
    inits = {t.name: tuple(t.dims) for t in m.graph.initializer}
    shapes = [inits[n.input[1]] for n in m.graph.node if n.op_type == "Conv"]
    assert shapes == [(co, ci, k, k) for co, ci, k, _h, _w in CONVS]


def test_macs_equal(cmp):
    fp32, int8 = cmp.models
    assert fp32.totals.macs == TOTAL_MACS
    assert int8.totals.macs == TOTAL_MACS
    assert cmp.ratios()["macs"] == [1.0, 1.0]
    assert not fp32.result.warnings and not int8.result.warnings


def test_int8_share(cmp):
    fp32, int8 = cmp.models
    assert fp32.totals.macs_by_precision == {"float32": TOTAL_MACS}
    assert fp32.totals.low_precision_mac_share == 0.0
    # ConvInteger / MatMulInteger run on the uint8 activation from DynamicQuantizeLinear
    # (253,673,472 + 134,512,640 = 388,186,112); DynamicQuantizeLSTM in int8 (67,108,864)
    assert int8.totals.macs_by_precision == {"uint8": CONV_MACS + GEMM_MACS, "int8": LSTM_MACS}
    assert int8.totals.low_precision_mac_share == 1.0


def test_per_op_family(cmp):
    rows = dict(cmp.op_rows())
    assert [dict(c.op_types) for c in rows["Conv"]] == [{"Conv": 21}, {"ConvInteger": 21}]
    assert [c.macs for c in rows["Conv"]] == [CONV_MACS, CONV_MACS]
    assert [dict(c.op_types) for c in rows["LSTM"]] == [{"LSTM": 1}, {"DynamicQuantizeLSTM": 1}]
    assert [dict(c.op_types) for c in rows["MatMul/Gemm"]] == [{"Gemm": 1}, {"MatMulInteger": 1}]
    assert [c.macs for c in rows["MatMul/Gemm"]] == [GEMM_MACS, GEMM_MACS]
    assert cmp.models[1].qdq["count"] == 22  # one DynamicQuantizeLinear per ConvInteger / MatMulInteger


def test_weight_bytes(cmp):
    fp32, int8 = cmp.models
    assert fp32.totals.weight_bytes == FP32_PARAMS * 4  # 54,081,032
    # int8 twin (the ddddocr quantiser stored Conv and Gemm weights as uint8):
    #   uint8: conv weights 900,312 + Gemm weight 8,407,040 + 22 zero points = 9,307,374
    #   int8:  LSTM W and R 2 × 2,097,152 = 4,194,304 + W/R zero points 2 + 2 = 4,194,308
    #   float32: biases 2,200 + 8,210 + 8,192 = 18,602 + scales (22 scalars, LSTM
    #            W_scale and R_scale [2] each) 26 = 18,628 × 4 = 74,512
    #   total 9,307,374 + 4,194,308 + 74,512 = 13,576,194
    assert int8.totals.weight_bytes_by_dtype == {"uint8": 9307374, "int8": 4194308, "float32": 74512}
    assert int8.totals.weight_bytes == 13576194
    r = 13576194 / 54081032  # 0.25103
    assert cmp.ratios()["weight_bytes"][1] == pytest.approx(r)
    assert 0.25 <= r <= 0.30
