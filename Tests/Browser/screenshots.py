"""Screenshots of every console page at 1280×800 and the overview printed to PDF (one page), for
docs/examples/. Run by `BROWSER_SCREENSHOTS=DIR scripts/browser-test` after the tests passed."""

import base64
import os
import sys

from selenium.webdriver.common.by import By

from console_test import URL, api_list, browser, token

OUT = os.environ["BROWSER_SCREENSHOTS"]


def main():
    driver = browser()
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        driver.get(URL + "/login")
        driver.save_screenshot(os.path.join(OUT, "console-login.png"))
        driver.find_element(By.ID, "token").send_keys(token("admin"))
        driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
        incident = api_list([("status", "reported")], "reviewer")[0]["incident"]["incident_id"]
        pages = {"overview": "/", "incidents": "/incidents", "incident": f"/incidents/{incident}", "review": "/review", "digests": "/digests",
                 "admin": "/admin", "map-data": "/about/map-data"}
        for name, path in pages.items():
            driver.get(URL + path)
            driver.save_screenshot(os.path.join(OUT, f"console-{name}.png"))
        driver.get(URL + "/")
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "scale": 0.5, "printBackground": True,
                                                         "marginTop": 0.4, "marginBottom": 0.4, "marginLeft": 0.4, "marginRight": 0.4})
        data = base64.b64decode(pdf["data"])
        with open(os.path.join(OUT, "console-overview.pdf"), "wb") as f:
            f.write(data)
        pages_in_pdf = data.count(b"/Type /Page") - data.count(b"/Type /Pages")
        print(f"screenshots: {len(pages) + 1} pages, the overview's PDF has {pages_in_pdf} page(s)", file=sys.stderr)
        return 0 if pages_in_pdf == 1 else 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
