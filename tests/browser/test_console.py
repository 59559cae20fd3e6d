"""The staff web console in a real browser: headless Chromium (Debian's
chromium + chromium-driver) driven by Selenium, against the live gateway
(http://127.0.0.1:$PMS_HTTP_PORT/) and Keycloak's real login page.

Run alone:  set -a; . .run/env; set +a; .cache/python/venv/bin/python \
            tests/browser/test_console.py -v
Needs the stack up (./pms up), NODE_MODULES (axe-core; default
$PMS_CACHE/console/node_modules).  Screenshots go to $PMS_RUN/screenshots.
"""
import gzip
import json
import os
import re
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

from selenium.common.exceptions import StaleElementReferenceException
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

PORT = os.environ.get("PMS_HTTP_PORT", "4004")
BASE = f"http://127.0.0.1:{PORT}"
RUN = os.environ.get("PMS_RUN", os.path.join(os.path.dirname(__file__), "..", "..", ".run"))
CACHE = os.environ.get("PMS_CACHE", os.path.join(RUN, "..", ".cache"))
NODE_MODULES = os.environ.get("NODE_MODULES", os.path.join(CACHE, "console", "node_modules"))
ISSUER = os.environ.get("PMS_OIDC_ISSUER", "http://127.0.0.1:8080/realms/patient-management")
SHOTS = os.path.join(RUN, "screenshots")
JS_BUDGET = 150 * 1024


def secret(var, name):
    if os.environ.get(var):
        return os.environ[var]
    with open(os.path.join(RUN, "keycloak", name)) as f:
        return f.read().strip()


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {},
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def service_token():
    data = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "ms-api",
                                   "client_secret": secret("PMS_MS_API_SECRET", "ms-api-secret")}).encode()
    with urllib.request.urlopen(f"{ISSUER}/protocol/openid-connect/token", data, timeout=10) as r:
        return json.load(r)["access_token"]


def api(method, path, body=None, headers=None):
    h = {"Authorization": f"Bearer {service_token()}", **(headers or {})}
    return http(method, BASE + path, body, h)


class Console(unittest.TestCase):
    """One browser for the whole class; the tests run in name order."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(SHOTS, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1280,900", "--lang=en-GB"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        cls.d.set_script_timeout(30)
        cls.wait = WebDriverWait(cls.d, 20)
        with open(os.path.join(NODE_MODULES, "axe-core", "axe.min.js")) as f:
            cls.axe_src = f.read()
        cls.name = f"Console Test {uuid.uuid4().hex[:8]}"
        cls.email = f"console.{uuid.uuid4().hex[:8]}@example.com"
        cls.console_errors = []

    @classmethod
    def tearDownClass(cls):
        cls.d.quit()

    def run(self, result=None):
        """A failing step leaves a screenshot and the page it was on."""
        n = len(result.errors) + len(result.failures) if result else 0
        super().run(result)
        if result and len(result.errors) + len(result.failures) > n:
            self.shot(f"failed-{self._testMethodName}")
            print(f"\n  failed on {self.d.current_url}; screenshot failed-{self._testMethodName}.png")

    # ---- helpers -------------------------------------------------------
    def shot(self, name):
        self.d.save_screenshot(os.path.join(SHOTS, f"{name}.png"))

    def axe(self, screen):
        """axe-core injected into the page: no serious or critical violation."""
        self.d.execute_script(self.axe_src)
        res = self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
        bad = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
               for v in res if v.get("impact") in ("serious", "critical")]
        self.assertEqual(bad, [], f"axe on {screen}")

    def screen(self, name):
        self.shot(name)
        self.axe(name)

    def logs(self):
        """Browser console errors; a failed request is logged by Chromium as a
        network error, and the API's own refusals this test provokes on purpose
        (400, 404, 412) are expected, so only those are let through."""
        for e in self.d.get_log("browser"):
            if e["level"] != "SEVERE":
                continue
            if e.get("source") == "network" and re.search(r"status of (400|404|412)", e["message"]):
                continue
            self.console_errors.append(e["message"])

    def assertNoConsoleErrors(self):
        self.logs()
        self.assertEqual(self.console_errors, [], "browser console errors")

    def el(self, css):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def text_in(self, css, text):
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def type_into(self, css, value):
        e = self.el(css)
        e.clear()
        e.send_keys(value)
        return e

    def list_loaded(self):
        """The list, or its empty state; the live stack restarts now and
        then (a 502/503 shows the error state and Try again): retried for
        up to a minute."""
        end = time.time() + 60
        while True:
            self.wait.until(EC.visibility_of_element_located(
                (By.CSS_SELECTOR, "#results table, #results .empty, #retry")))
            retry = self.d.find_elements(By.ID, "retry")
            if not retry:
                return
            self.assertLess(time.time(), end, self.d.find_element(By.ID, "results").text)
            time.sleep(2)
            self.d.get_log("browser")   # the stack's 502s are not the console's errors
            try:
                retry[0].click()
            except StaleElementReferenceException:
                pass  # the list re-rendered meanwhile: look again

    def sign_in(self, user):
        if self.d.find_elements(By.CSS_SELECTOR, "#logout:not([hidden])"):
            self.sign_out()   # a test before this one stopped half-way
        self.d.get(BASE + "/")
        self.el("#signin")
        # keyboard only: Tab from the top of the page to the button, Enter
        body = self.d.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        for _ in range(5):
            if self.d.switch_to.active_element.get_attribute("id") == "signin":
                break
            self.d.switch_to.active_element.send_keys(Keys.TAB)
        self.assertEqual(self.d.switch_to.active_element.get_attribute("id"), "signin")
        self.d.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait.until(EC.url_contains("/protocol/openid-connect/auth"))
        self.assertIn("code_challenge_method=S256", self.d.current_url)
        self.type_into("#username", user)
        pw = self.type_into("#password", secret(f"PMS_CONSOLE_{user.upper()}_PASSWORD", f"{user}-password"))
        pw.send_keys(Keys.ENTER)
        self.wait.until(EC.url_to_be(BASE + "/#/patients"))
        self.text_in("#who", user)
        # the token is kept in memory only
        stored = self.d.execute_script(
            "return JSON.stringify([Object.assign({}, localStorage), Object.assign({}, sessionStorage)])")
        self.assertNotRegex(stored, r"eyJ", "a token in web storage")

    def sign_out(self):
        self.el("#logout").click()
        self.el("#signin")
        self.assertEqual(self.d.current_url.split("#")[0], BASE + "/")

    # ---- the tests -------------------------------------------------------
    def test_1_headers_and_size(self):
        status, headers, body = http("GET", BASE + "/")
        self.assertEqual(status, 200)
        csp = headers["Content-Security-Policy"]
        self.assertIn("script-src 'self';", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Cache-Control"], "no-cache")
        html = body.decode()
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)", "inline script")
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
        self.assertTrue(scripts)
        total = 0
        for src in scripts:
            st, h, js = http("GET", BASE + src, headers={"Accept-Encoding": "gzip"})
            self.assertEqual(st, 200)
            self.assertEqual(h["Cache-Control"], "public, max-age=31536000, immutable")
            self.assertEqual(h.get("Content-Encoding"), "gzip")
            self.assertIn("Content-Security-Policy", h)
            total += len(js)
            self.assertLess(len(gzip.compress(gzip.decompress(js), 9)), JS_BUDGET)
        print(f"\n  first-load JavaScript: {total} bytes gzip (budget {JS_BUDGET})")
        self.assertLess(total, JS_BUDGET)
        st, h, cfg = http("GET", BASE + "/config.json")
        self.assertEqual(json.loads(cfg)["clientId"], "pms-console")
        self.assertEqual(h["Cache-Control"], "no-cache")

    def test_2_frontdesk(self):
        d = self.d
        d.get(BASE + "/")
        self.el("#signin")
        self.screen("01-sign-in")
        self.sign_in("frontdesk")
        self.list_loaded()
        self.screen("02-patients")
        # 360 px wide: nothing wider than the window
        d.set_window_size(360, 800)
        self.list_loaded()
        self.assertLessEqual(d.execute_script("return document.documentElement.scrollWidth"),
                             d.execute_script("return window.innerWidth") + 1)
        self.shot("03-patients-360px")
        d.set_window_size(1280, 900)

        # search as you type: nothing yet
        self.type_into("#search", self.name)
        self.text_in("#results", "No patients match")
        self.assertIn("q=Console", d.current_url)

        # create, with a bad email first
        self.el("#new-patient").click()
        self.el("#f-name").send_keys(self.name)
        self.el("#f-email").send_keys("not-an-email")
        self.el("#f-address").send_keys("1 Browser Lane")
        dob = self.el("#f-dateOfBirth")
        dob.send_keys("1990-04-12")
        dob.send_keys(Keys.ENTER)   # submit from the keyboard
        self.text_in("#err-email", "valid email")
        self.assertEqual(self.el("#f-email").get_attribute("aria-invalid"), "true")
        self.assertEqual(self.el("#f-email").get_attribute("aria-describedby"), "err-email")
        self.screen("04-create-field-error")
        self.type_into("#f-email", self.email)
        self.el("#save").click()
        self.text_in("#main h1", self.name)
        self.text_in("#notice", "was created")
        self.screen("05-patient")
        pid = d.current_url.rsplit("/", 1)[1]
        self.__class__.pid = pid

        # the list finds it
        self.el('#nav a[href="#/patients"]').click()
        self.type_into("#search", self.name)
        self.wait.until(EC.element_to_be_clickable((By.LINK_TEXT, self.name)))
        self.text_in("#total", "1 patient")
        d.find_element(By.LINK_TEXT, self.name).click()

        # edit
        self.el("#edit").click()
        self.screen("06-edit")
        self.type_into("#f-address", "2 Edited Road")
        self.el("#save").click()
        self.text_in("#notice", "Changes saved")
        self.text_in("#main dl", "2 Edited Road")

        # 412: the patient changes behind the browser's back, then save
        self.el("#edit").click()
        self.el("#f-name")
        st, h, body = api("GET", f"/api/patients/{pid}")
        current = json.loads(body)
        current["address"] = "3 Elsewhere Street"
        st, _, _ = api("PUT", f"/api/patients/{pid}", current, {"If-Match": h["ETag"]})
        self.assertEqual(st, 200)
        self.type_into("#f-name", self.name + " Jr")
        self.el("#save").click()
        self.text_in("#conflict", "Someone else saved this patient")
        self.text_in("#conflict", "3 Elsewhere Street")
        self.screen("07-conflict-412")
        self.el("#reapply").click()
        self.text_in("#main h1", self.name + " Jr")
        self.text_in("#notice", "Changes saved")

        # delete, with confirmation
        self.el("#delete").click()
        self.el("#confirm-delete[open]")
        self.screen("08-delete-confirm")
        self.el("#confirm-yes").click()
        self.text_in("#notice", "was deleted")
        self.assertEqual(api("GET", f"/api/patients/{pid}")[0], 404)
        self.assertNoConsoleErrors()
        self.sign_out()

    def test_3_auditor_and_dashboard(self):
        d = self.d
        self.sign_in("auditor")   # Keycloak's session ended: its login page again
        self.list_loaded()
        self.assertEqual(d.find_elements(By.ID, "new-patient"), [])
        self.text_in("#who", "read only")
        first = d.find_elements(By.CSS_SELECTOR, "#results tbody a")
        if first:
            first[0].click()
            self.el("#main dl")
            self.assertEqual(d.find_elements(By.ID, "edit") + d.find_elements(By.ID, "delete"), [])
        # a forced write: the new-patient URL
        d.get(BASE + "/#/patients/new")
        d.refresh()   # a reload loses the in-memory token: sign in again (Keycloak SSO)
        self.el("#signin").click()
        self.wait.until(EC.url_contains("#/patients/new"))
        self.text_in("#main [role=alert]", "lacks the patient-writer role")
        self.screen("09-auditor-refused")

        # dashboard: the tables show what the API says
        before = json.loads(api("GET", "/api/analytics/summary")[2])
        self.el('#nav a[href="#/dashboard"]').click()
        self.el("#table-events tbody tr")
        self.el("#table-registrations tbody tr")
        after = json.loads(api("GET", "/api/analytics/summary")[2])
        for canvas in ("#chart-events", "#chart-registrations"):
            self.assertGreater(self.el(canvas).size["height"], 100)
        rows = {r.find_element(By.TAG_NAME, "th").text: int(r.find_element(By.TAG_NAME, "td").text.replace(",", ""))
                for r in d.find_elements(By.CSS_SELECTOR, "#table-events tbody tr")}
        self.assertEqual(set(rows), set(after["eventsByType"]) | set(before["eventsByType"]))
        for k, v in rows.items():   # counts only grow while the page loads
            self.assertTrue(before["eventsByType"].get(k, 0) <= v <= after["eventsByType"].get(k, 0), (k, v))
        days = {r.find_element(By.TAG_NAME, "th").text: int(r.find_element(By.TAG_NAME, "td").text.replace(",", ""))
                for r in d.find_elements(By.CSS_SELECTOR, "#table-registrations tbody tr")}
        self.assertTrue(days)
        for k, v in days.items():
            self.assertIn(v, (before["registrationsPerDay"].get(k), after["registrationsPerDay"].get(k)), k)
        self.text_in("#updated", "refreshed every")
        self.screen("10-dashboard")

        # the API down: Chromium blocks /api/ (DevTools), the list says so
        self.logs()
        d.execute_cdp_cmd("Network.enable", {})
        d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": [f"{BASE}/api/*"]})
        try:
            self.el('#nav a[href="#/patients"]').click()
            self.text_in("#results [role=alert]", "API cannot be reached")
            self.screen("11-api-down")
            d.get_log("browser")   # the blocked requests' own network errors
        finally:
            d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        self.el("#search").send_keys("a")
        self.list_loaded()
        self.assertNoConsoleErrors()
        self.sign_out()


if __name__ == "__main__":
    unittest.main()
