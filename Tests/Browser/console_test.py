"""The web console in a real browser (headless Chromium through selenium), against a live incidentd
with the demo data that scripts/browser-test starts. Every figure a page shows is compared with
what the HTTP API answers the same role for the same question."""

import csv
import glob
import io
import json
import os
import subprocess
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["CONSOLE_URL"]
TOKENS = os.environ["CONSOLE_TOKENS"]
DATA_DIR = os.environ["CONSOLE_DATA_DIR"]
JAVASCRIPT = os.environ.get("CONSOLE_JAVASCRIPT", "on") == "on"


def token(role):
    with open(f"{TOKENS}/{role}.token") as f:
        return f.read().strip()


def api(path, role="admin"):
    request = urllib.request.Request(URL + path, headers={"Authorization": "Bearer " + token(role)})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def api_list(query, role):
    """Every incident the API lists for `query`, following next_cursor."""
    items, cursor = [], None
    while True:
        page = api("/v1/incidents?" + urllib.parse.urlencode(query + ([("cursor", cursor)] if cursor else []) + [("limit", "500")]), role)
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def psql(sql):
    """A statement on the daemon's embedded cluster, as its superuser (peer authentication)."""
    socket = glob.glob(f"{DATA_DIR}/**/.s.PGSQL.*", recursive=True)[0]
    directory, port = os.path.dirname(socket), socket.rsplit(".", 1)[1]
    command = ["psql", "-X", "-q", "-h", directory, "-p", port, "-U", "postgres", "-d", "incident_log", "-c", sql]
    subprocess.run(command, check=True, capture_output=True)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800", "--disable-gpu",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-default-apps", "--disable-extensions"]:
        options.add_argument(argument)
    if not JAVASCRIPT:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class ConsoleTest(unittest.TestCase):
    def setUp(self):
        self.driver = browser()

    def tearDown(self):
        self.driver.quit()

    # Helpers -------------------------------------------------------------------------------

    def click(self, element):
        """Clicks a link or a submit button and waits for the page it leads to."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()

        def left(_):
            # Chromium answers for a node of a page it has left either "stale" or "does not belong
            # to the document": both mean the next page is there.
            try:
                page.is_enabled()
                return False
            except WebDriverException:
                return True

        WebDriverWait(self.driver, 10).until(left)

    def sign_in(self, role):
        self.driver.get(URL + "/login")
        self.driver.find_element(By.ID, "token").send_keys(token(role))
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]"))
        self.assertFalse(self.driver.current_url.startswith(URL + "/login"), self.driver.page_source[:500])

    def open(self, path):
        self.driver.get(URL + path)

    def table_rows(self):
        return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
                for row in self.driver.find_elements(By.CSS_SELECTOR, "table.data tbody tr")]

    def session_request(self, method, path, form=None):
        """A request with this browser's session cookie, as another page or site could send it."""
        cookie = self.driver.get_cookie("il_session")["value"]
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(URL + path, data=data, method=method, headers={"Cookie": "il_session=" + cookie})
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def reported_incident(self):
        items = api_list([("status", "reported")], "reviewer")
        return next(item for item in items if item["incident"]["sensitivity"] != "confidential")

    # Tests ---------------------------------------------------------------------------------

    def test_analyst_overview_matches_the_api(self):
        self.sign_in("analyst")
        self.open("/")
        since = self.driver.find_element(By.ID, "since").get_attribute("value")
        until = self.driver.find_element(By.ID, "until").get_attribute("value")
        shapes = self.driver.find_elements(By.CSS_SELECTOR, "svg.mm a.mm-area")
        self.assertEqual(len(shapes), 38)
        summary = api(f"/v1/summaries?level=municipality&since={since}&until={until}", "analyst")
        expected = {}
        for row in summary["rows"]:
            expected[row["name"]] = expected.get(row["name"], 0) + row["incidents"]
        shown = {row[0]: int(row[2]) for row in self.table_rows()}
        self.assertEqual(len(shown), 38)
        self.assertEqual({name: count for name, count in shown.items() if count}, expected)

    def test_analyst_follows_a_municipality_filters_and_downloads(self):
        self.sign_in("analyst")
        self.open("/")
        busiest = max(self.table_rows(), key=lambda row: int(row[2]))
        self.click(self.driver.find_element(By.LINK_TEXT, busiest[0]))
        query = urllib.parse.parse_qsl(urllib.parse.urlparse(self.driver.current_url).query)
        self.assertIn("municipality", dict(query))
        listed = api_list(query, "analyst")
        self.assertEqual(len(self.table_rows()), min(len(listed), 50))
        category = listed[0]["incident"]["category"]
        choice = Select(self.driver.find_element(By.ID, "category"))
        choice.select_by_value(category)
        label = choice.first_selected_option.text
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
        query = urllib.parse.parse_qsl(urllib.parse.urlparse(self.driver.current_url).query)
        self.assertEqual(dict(query).get("category"), category)
        filtered = api_list([(k, v) for k, v in query if v], "analyst")
        self.assertTrue(all(row[2] == label for row in self.table_rows()))
        self.assertEqual(len(self.table_rows()), min(len(filtered), 50))
        href = self.driver.find_element(By.LINK_TEXT, "CSV").get_attribute("href")
        status, text = self.session_request("GET", urllib.parse.urlparse(href).path + "?" + urllib.parse.urlparse(href).query)
        self.assertEqual(status, 200)
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual([row[0] for row in rows[1:]], [item["incident"]["incident_id"] for item in filtered])

    def test_reviewer_verifies_from_the_queue(self):
        self.sign_in("reviewer")
        self.open("/review")
        link = self.driver.find_element(By.CSS_SELECTOR, "table.data tbody tr a")
        incident = link.get_attribute("href").rsplit("/", 1)[1]
        self.click(link)
        self.driver.find_element(By.ID, "note").send_keys("Confirmed with the police station.")
        self.click(self.driver.find_element(By.CSS_SELECTOR, "button[value=verified]"))
        self.assertIn("<dd>verified</dd>", self.driver.page_source)
        for _ in range(50):
            self.open("/incidents?status=verified&limit=500")
            if incident in self.driver.page_source:
                break
            time.sleep(0.1)
        self.assertIn(incident, self.driver.page_source)

    def test_a_stale_form_gets_the_conflict(self):
        incident = self.reported_incident()
        identifier = incident["incident"]["incident_id"]
        self.sign_in("reviewer")
        self.open(f"/incidents/{identifier}")
        # Meanwhile someone else decides.
        body = json.dumps({"expected_version": incident["version"], "decision": "rejected", "note": "out of scope"}).encode()
        request = urllib.request.Request(f"{URL}/v1/incidents/{identifier}/verification", data=body, method="POST",
                                         headers={"Authorization": "Bearer " + token("admin"), "Content-Type": "application/json"})
        urllib.request.urlopen(request).close()
        self.driver.find_element(By.ID, "note").send_keys("Confirmed.")
        self.click(self.driver.find_element(By.CSS_SELECTOR, "button[value=verified]"))
        self.assertIn("changed while you had it open", self.driver.page_source)
        self.assertIn("<dd>rejected</dd>", self.driver.page_source)

    def test_analyst_gets_404_on_a_confidential_incident_and_no_forms(self):
        confidential = next(item for item in api_list([], "admin") if item["incident"]["sensitivity"] == "confidential")
        self.sign_in("analyst")
        self.open(f"/incidents/{confidential['incident']['incident_id']}")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "Not found")
        visible = api_list([], "analyst")[0]["incident"]["incident_id"]
        self.open(f"/incidents/{visible}")
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "form[action$=decision], form[action$=retraction]"), [])
        self.open("/review")
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, "Forbidden")

    def test_a_post_without_its_form_token_is_refused(self):
        incident = self.reported_incident()
        identifier = incident["incident"]["incident_id"]
        self.sign_in("reviewer")
        form = {"expected_version": str(incident["version"]), "decision": "verified", "note": "forged"}
        status, _ = self.session_request("POST", f"/incidents/{identifier}/decision", form)
        self.assertEqual(status, 403)
        self.assertEqual(api(f"/v1/incidents/{identifier}", "reviewer")["status"], "reported")

    def test_sign_out_ends_the_session(self):
        self.sign_in("analyst")
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form.signout button"))
        self.assertTrue(self.driver.current_url.startswith(URL + "/login"))
        self.driver.get(URL + "/incidents")
        self.assertTrue(self.driver.current_url.startswith(URL + "/login"))

    def test_an_idle_session_is_sent_to_sign_in(self):
        self.sign_in("analyst")
        self.open("/incidents")
        psql("UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes'")
        self.driver.get(URL + "/incidents?category=trafficking")
        self.assertTrue(self.driver.current_url.startswith(URL + "/login"))
        self.assertEqual(self.driver.find_element(By.NAME, "next").get_attribute("value"), "/incidents?category=trafficking")


if __name__ == "__main__":
    unittest.main()
