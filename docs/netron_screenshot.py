"""Make docs/netron.png: an annotated model open in Netron, one node's properties shown.

    onnxstat annotate sample_models/cnn.onnx -o /tmp/cnn.costs.onnx --dim batch=1 --bench --per-node --opt-level disable
    python docs/netron_screenshot.py /tmp/cnn.costs.onnx node-name-block.conv2 docs/netron.png

Needs ``pip install netron selenium`` and Chromium with chromedriver (Debian: chromium,
chromium-driver).  Netron is served on 127.0.0.1 only and stopped at the end.
"""

from __future__ import annotations

import sys
import time


def main(model: str, node_id: str, out: str, port: int = 8081) -> None:
    import netron
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    netron.serve(model, address=("127.0.0.1", port), browse=False)
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    try:
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": 1400, "height": 940, "deviceScaleFactor": 1, "mobile": False})
        d.get(f"http://127.0.0.1:{port}/")
        time.sleep(4)
        for b in d.find_elements(By.TAG_NAME, "button"):  # the cookie notice
            if b.is_displayed() and b.text.strip() == "Accept":
                b.click()
        time.sleep(4)
        node = d.find_element(By.ID, node_id)
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
        d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                         node.find_element(By.CSS_SELECTOR, ".node-item"))
        time.sleep(2)
        d.save_screenshot(out)
    finally:
        d.quit()
        netron.stop(("127.0.0.1", port))


if __name__ == "__main__":
    main(*sys.argv[1:4])
