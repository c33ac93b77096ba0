"""The HTML report in a real browser: headless Chromium driven by selenium.

Uses the Debian packages chromium and chromium-driver (/usr/bin/chromium,
/usr/bin/chromedriver) through an explicit Service, so selenium-manager never
downloads a browser or driver.  Skipped when either is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import zoo
from onnxstat import profile
from onnxstat.render.report import build_report, render_html

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"

# cnn.onnx at batch 1: the two residual-block convs have the most MACs,
# 32*32 outputs * 16 channels * (16*3*3) = 2,359,296 each (see test_report.py for the full sum);
# they tie, so graph order puts block.conv1 first.  The smallest is 0 (Relu, pools, Flatten...).
CNN_LARGEST_MACS = 2_359_296


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for p in (CHROMIUM, CHROMEDRIVER):
        if not Path(p).exists() and not shutil.which(Path(p).name):
            return f"{p} not found (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    why = _missing()
    if why:
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--no-first-run", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
              "--window-size=1440,1000"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver"))
    try:
        d = webdriver.Chrome(options=opts, service=service)
    except Exception as exc:  # noqa: BLE001 - a browser that cannot start is an environment problem
        pytest.skip(f"headless Chromium did not start: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _open(driver, path: Path):
    driver.get(path.as_uri())
    driver.find_element("css selector", "#node-rows tr")  # the inline script has rendered the first page


def _rows(driver) -> list:
    return driver.find_elements("css selector", "#node-rows tr.node")


def _cell(row, key: str):
    return row.find_element("css selector", f'td[data-key="{key}"]')


def _click(driver, el) -> None:
    """A real mouse click, with the element scrolled to the middle of the window (clear of the sticky top bar)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'})", el)
    el.click()


def _errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


@pytest.fixture(scope="module")
def cnn_report(tmp_path_factory):
    res = profile(str(SAMPLES / "cnn.onnx"), dims={"batch": 1})
    page, _ = build_report(res, device="h100")
    out = tmp_path_factory.mktemp("report") / "cnn_report.html"
    out.write_text(page, encoding="utf-8")
    return out, res.to_dict()


def test_summary_numbers_equal_the_json_profile(driver, cnn_report):
    path, prof = cnn_report
    _open(driver, path)
    t = prof["totals"]
    for key in ("params", "macs", "flops", "weight_bytes", "memory_traffic_bytes", "peak_activation_bytes"):
        el = driver.find_element("css selector", f'.card[data-key="{key}"]')
        assert int(el.get_attribute("data-value")) == t[key], key
        assert el.is_displayed()
    # the visible human value of MACs: 7,668,032 -> "7.67 M"
    assert driver.find_element("css selector", '.card[data-key="macs"] .value').text == "7.67 M"
    assert driver.find_element("css selector", '.card[data-key="macs"] .exact').text == "7,668,032"
    # nothing was fetched: the page loads no resource of any kind
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert _errors(driver) == []


def test_sort_by_macs_puts_the_largest_node_first(driver, cnn_report, tmp_path):
    path, prof = cnn_report
    _open(driver, path)
    nodes = prof["nodes"]
    rows = _rows(driver)
    assert len(rows) == len(nodes) == 16
    assert [r.get_attribute("data-index") for r in rows] == [str(i) for i in range(16)]  # graph order first

    head = driver.find_element("css selector", 'th[data-key="macs"]')
    _click(driver, head)
    assert head.get_attribute("aria-sort") == "descending"
    rows = _rows(driver)
    first = rows[0]
    assert int(_cell(first, "macs").get_attribute("data-value")) == CNN_LARGEST_MACS == max(n["macs"] for n in nodes)
    assert _cell(first, "path").text == "block.conv1"
    values = [int(_cell(r, "macs").get_attribute("data-value")) for r in rows]
    assert values == sorted((n["macs"] for n in nodes), reverse=True)

    _click(driver, head)  # second click: ascending
    assert head.get_attribute("aria-sort") == "ascending"
    values = [int(_cell(r, "macs").get_attribute("data-value")) for r in _rows(driver)]
    assert values == sorted(n["macs"] for n in nodes)

    driver.save_screenshot(str(tmp_path / "cnn_report.png"))
    assert (tmp_path / "cnn_report.png").stat().st_size > 10_000
    assert _errors(driver) == []


def test_filter_by_op_type_and_name(driver, cnn_report):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    path, prof = cnn_report
    _open(driver, path)
    Select(driver.find_element("id", "op-filter")).select_by_value("Conv")
    rows = _rows(driver)
    conv = [n["path"] for n in prof["nodes"] if n["op_type"] == "Conv"]
    assert [_cell(r, "path").text for r in rows] == conv  # conv1, block.conv1, block.conv2, conv2
    assert driver.find_element("id", "node-count").text == "4 of 16 nodes"

    Select(driver.find_element("id", "op-filter")).select_by_value("")
    box = driver.find_element("id", "node-filter")
    box.send_keys("block.")
    want = [n["path"] for n in prof["nodes"] if "block." in n["path"]]
    # the filter applies in a timer after each keystroke: wait for the count to say so
    # before reading rows (reading while a keystroke re-renders them finds stale ones)
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element("id", "node-count").text == f"{len(want)} of {len(prof['nodes'])} nodes")
    rows = _rows(driver)
    assert [_cell(r, "path").text for r in rows] == want

    # a click on a row shows its inputs and outputs
    _click(driver, rows[0])
    detail = driver.find_element("css selector", "#node-rows tr.detail")
    assert "block.conv1.weight" in detail.text
    assert _errors(driver) == []


def test_pages_of_a_500_node_model(driver, tmp_path):
    res = profile(zoo.synthetic_chain(500))
    page, _ = build_report(res)
    path = tmp_path / "chain.html"
    path.write_text(page, encoding="utf-8")
    _open(driver, path)
    assert len(_rows(driver)) == 100  # default page size
    assert "Rows 1–100 of 500" in driver.find_element("id", "page-info").text
    _click(driver, driver.find_element("css selector", '#pager [data-page="next"]'))
    rows = _rows(driver)
    assert [r.get_attribute("data-index") for r in rows] == [str(i) for i in range(100, 200)]
    _click(driver, driver.find_element("css selector", '#pager [data-page="last"]'))
    assert [r.get_attribute("data-index") for r in _rows(driver)] == [str(i) for i in range(400, 500)]
    # sorting works on the whole data array, not only the visible page:
    # FLOPs per node: Add, Relu, Mul on 64 floats = 64 each, so sort by name instead (n0..n499, numeric collation)
    _click(driver, driver.find_element("css selector", 'th[data-key="path"]'))  # A to Z, natural order
    assert _cell(_rows(driver)[0], "path").text == "n0"
    _click(driver, driver.find_element("css selector", 'th[data-key="path"]'))  # Z to A
    assert _cell(_rows(driver)[0], "path").text == "n499"
    assert _errors(driver) == []


def test_sort_is_exact_beyond_2_pow_53(driver, tmp_path):
    # 2**53 = 9,007,199,254,740,992 and 2**53 + 1 are the same JavaScript number; the page keeps
    # the larger as a string and compares it as BigInt, so "big" (index 1) sorts first, not index 0.
    def node(name, macs):
        return {"path": name, "name": name, "domain": "", "op_type": "MatMul", "kind": "compute",
                "compute_dtype": "float32", "inputs": [], "outputs": [], "macs": macs, "flops": 2 * macs,
                "params": 0, "weight_bytes": 0, "bytes_read": 0, "bytes_written": 0, "memory_traffic_bytes": 0}

    prof = {"schema": "onnxstat.profile/1", "model": {"path": "big.onnx", "ir_version": 8, "opset": {"ai.onnx": 17}},
            "settings": {}, "inputs": [], "outputs": [],
            "totals": {"macs": 2**54 + 1 + 5, "flops": 2 * (2**54 + 1 + 5), "params": 0, "weight_bytes": 0,
                       "memory_traffic_bytes": 0, "node_count": 3},
            "by_op_type": [], "nodes": [node("small", 2**53), node("big", 2**53 + 1), node("tiny", 5)],
            "unsupported": [], "warnings": []}
    path = tmp_path / "big.html"
    path.write_text(render_html(prof), encoding="utf-8")
    _open(driver, path)
    _click(driver, driver.find_element("css selector", 'th[data-key="macs"]'))
    rows = _rows(driver)
    assert [_cell(r, "path").text for r in rows] == ["big", "small", "tiny"]
    assert _cell(rows[0], "macs").get_attribute("data-value") == "9007199254740993"
    assert driver.find_element("css selector", '.card[data-key="macs"]').get_attribute("data-value") == str(2**54 + 6)
    assert _errors(driver) == []


def test_module_tree_opens_and_closes_on_click(driver, tmp_path):
    from scoped_models import torch_style_encoder

    page, _ = build_report(profile(torch_style_encoder(layers=2)))
    out = tmp_path / "enc.html"
    out.write_text(page, encoding="utf-8")
    _open(driver, out)
    layer0 = driver.find_element("css selector", '#scopes [data-scope="/encoder/layer.0"]')
    encoder = driver.find_element("css selector", '#scopes summary [data-scope="/encoder"]')
    assert encoder.is_displayed() and not layer0.is_displayed()  # one level open when the page loads
    _click(driver, encoder)
    assert layer0.is_displayed()
    _click(driver, encoder)
    assert not layer0.is_displayed()
    assert not _errors(driver)
