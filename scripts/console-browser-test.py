#!/usr/bin/env python3
"""The operator console in a real browser (issue 14), against a real `veilgate serve`.

Debian's chromium (headless), driven by chromium-driver through python3-selenium, presents each operator's client
certificate from its own NSS database (chromium's managed policy AutoSelectCertificateForUrls picks it without a
prompt) and trusts the site CA the test made — the same mutual TLS an operator's browser uses. Checked:

- an operator sees the market square's live redacted video playing (its time advances);
- an alert raised while the alerts page is open appears within 2 s;
- a role without rights gets 403 in the page and in the API;
- a DPO's edit with a typo shows the lint error at the right line, and a draft's diff against the policy in force;
- a zone's corner dragged on the live picture becomes a policy change shown as a diff;
- a changed policy is refused until signed with the DPO's key, then loaded, the page naming version and key;
- a hold release, and an erasure, wait for a second approver of another role and then succeed, every step audited;
- the record of processing and the audit log (verified) open for the DPO;
- the admin sees partners, grants and certificates, and a certificate revoked there stops its holder at once;
- no page breaks its content security policy; the cameras page fits a tablet's width.

Needs root, or sudo without a password, to install the managed policy in /etc/chromium/policies/managed for the
run (removed afterwards). With VEILGATE_CONSOLE_SCREENSHOTS=DIR it
saves a screenshot of each page there (`make console-screenshots` writes docs/console/).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
VEILGATE = Path(os.environ.get("VEILGATE_BIN", ROOT / ".build/debug/veilgate"))
VTEST = ROOT.parent / "shared/data/video/vtest.avi"
MANAGED = Path("/etc/chromium/policies/managed/veilgate-console-test.json")
SHOTS = os.environ.get("VEILGATE_CONSOLE_SCREENSHOTS")

failures = []


def check(condition, what):
    print(("  ok   " if condition else "  FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def run(work, *args, env=None):
    result = subprocess.run([str(VEILGATE), *args], cwd=work, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"veilgate {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def as_root(*command, data=None):
    """Runs a command as root (directly, or through sudo without a password prompt)."""
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    result = subprocess.run(prefix + list(command), input=data, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"console browser test: needs root for chromium's managed policy ({' '.join(command)}): "
                 + result.stderr.strip())


def browser_home(work, name, certificate, key, ca):
    """A home folder whose NSS database holds one operator's certificate and trusts the site CA."""
    home = work / f"home-{name}"
    nss = home / ".pki/nssdb"
    nss.mkdir(parents=True)
    p12 = work / f"{name}.p12"
    subprocess.run(["openssl", "pkcs12", "-export", "-in", certificate, "-inkey", key, "-out", str(p12),
                    "-passout", "pass:"], check=True, capture_output=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["pk12util", "-i", str(p12), "-d", f"sql:{nss}", "-W", ""], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "veilgate-site-ca", "-t", "C,,", "-i", ca],
                   check=True, capture_output=True)
    return home


def browser(home, width=1280, height=800):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", f"--user-data-dir={home}/profile", "--autoplay-policy=no-user-gesture-required"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", env=dict(os.environ, HOME=str(home)))
    return webdriver.Chrome(service=service, options=options)


def screenshot(driver, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def csp_violations(driver):
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def wait(driver, seconds, condition, what):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)
    except TimeoutException:
        check(False, f"{what} (waited {seconds} s)")
        # What the page shows and what its console said, to see why.
        try:
            print("    page: " + driver.find_element(By.ID, "main").text[:600].replace("\n", " | "))
            for entry in driver.get_log("browser")[-5:]:
                print("    console: " + entry["message"][:300])
        except Exception:  # noqa: BLE001 — diagnostics only
            pass
        return None


def main():
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/certutil", "/usr/bin/pk12util"]:
        if not Path(tool).exists():
            sys.exit(f"console browser test: {tool} is missing (scripts/setup.sh installs it)")
    work = Path(tempfile.mkdtemp(prefix="veil-console-"))
    env = dict(os.environ, VEILGATE_STATE=str(work / "state"), COLUMNS="100")
    env.setdefault("VEILGATE_MODELS", str(ROOT / ".cache/models"))
    (work / "policies").mkdir()
    shutil.copy(ROOT / "policies/city-centre.yaml", work / "policies/policy.yaml")
    # The DPO's policy tests sit in the bundle beside the policy.
    (work / "policies/policy.test.yaml").write_text(
        (ROOT / "policies/city-centre.test.yaml").read_text().replace("policy: city-centre.yaml", "policy: policy.yaml"))
    # The gateway loads only bundles signed with the DPO's key, as a production site would run it.
    run(work, "policy", "keygen", "--out", "dpo", env=env)
    run(work, "policy", "sign", "policies", "--key", "dpo.key", env=env)
    run(work, "vault", "init", env=env)
    run(work, "certs", "init", "--certs", "certs", "--site", "Test City", env=env)
    homes = {}
    for name in ["control-room", "dpo-office", "evidence-desk", "site-admin"]:
        run(work, "certs", "issue", "--operator", name, "--policy", "policies", "--certs", "certs", env=env)
        pem = next(p for p in (work / "certs/issued").glob(f"{name}-*.pem"))
        homes[name] = browser_home(work, name, str(pem), str(pem.with_suffix(".key")), str(work / "certs/ca.pem"))

    serve = subprocess.Popen(
        [str(VEILGATE), "serve", "--policy", "policies", "--certs", "certs", "--host", "127.0.0.1", "--port", "0",
         "--console-port", "0", "--policy-key", "dpo.pub", "--camera-source", f"market-square={VTEST}"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=open(work / "serve.log", "w"), text=True)
    console = None
    deadline = time.time() + 60
    while console is None and time.time() < deadline:
        line = serve.stdout.readline()
        if not line:
            break
        match = re.search(r"operator console on (https://127\.0\.0\.1:\d+)/", line)
        if match:
            console = match.group(1)
    if console is None:
        serve.kill()
        sys.exit("veilgate serve did not start its console:\n" + (work / "serve.log").read_text()[-3000:])
    print(f"console browser test: {console}", flush=True)
    as_root("mkdir", "-p", str(MANAGED.parent))
    as_root("tee", str(MANAGED),
            data=json.dumps({"AutoSelectCertificateForUrls": [json.dumps({"pattern": console, "filter": {}})]}))
    drivers = []
    try:
        operator = browser(homes["control-room"])
        drivers.append(operator)

        print("the operator's cameras page", flush=True)
        operator.get(console + "/cameras")
        video = 'document.querySelector(\'video[data-camera="market-square"]\')'
        started = wait(operator, 90, lambda d: d.execute_script(f"return {video} && {video}.currentTime > 0.5"),
                       "the market square's live video starts playing")
        if started:
            first = operator.execute_script(f"return {video}.currentTime")
            time.sleep(3)
            later = operator.execute_script(f"return {video}.currentTime")
            check(later > first + 1, f"its time advances ({first:.1f} s, then {later:.1f} s three seconds later)")
            size = operator.execute_script(f"return [{video}.videoWidth, {video}.videoHeight]")
            check(size[0] > 0 and size[1] > 0, f"it has a picture ({size[0]}×{size[1]})")
        state = wait(operator, 10, lambda d: "fps" in d.find_element(By.CSS_SELECTOR, '[data-status="market-square"]').text,
                     "the market square's state shows its frame rate")
        if state:
            text = operator.find_element(By.CSS_SELECTOR, '[data-status="market-square"]').text
            check("streaming" in text and "detected" in text, f"its state line: '{text}'")
        mapped = wait(operator, 10, lambda d: d.find_elements(By.CSS_SELECTOR, '#camera-map[data-ready="yes"]'),
                      "the cameras page draws the map of the policy's camera positions")
        if mapped:
            labels = operator.execute_script("return [...document.querySelectorAll('#camera-map .camera-label')].map(e => e.textContent)")
            check(sorted(labels) == ["mall-entrance", "market-square", "station-forecourt"], f"a marker per camera: {labels}")
            check("plain background" in operator.find_element(By.ID, "map-note").text,
                  "without a tile server the map says it draws on a plain background")
        zones = operator.execute_script("return document.querySelectorAll('.screen svg polygon').length")
        check(zones > 0, f"zones are drawn over the video ({zones})")
        screenshot(operator, "cameras")
        operator.set_window_size(800, 1100)
        time.sleep(0.5)
        overflow = operator.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        check(overflow <= 0, f"the cameras page fits a tablet's width (overflow {overflow} px)")
        screenshot(operator, "cameras-tablet")
        operator.set_window_size(1280, 800)

        print("the operator's alerts page", flush=True)
        operator.get(console + "/alerts")
        wait(operator, 10, lambda d: d.find_element(By.ID, "stream-state").text == "live", "the alert stream connects")
        # Raised by hand for a camera this gateway does not ingest, so that no alert of the pipeline's is mistaken for it.
        raised_alert = '#alerts li[data-camera="station-forecourt"][data-kind="loitering"]'
        raised = time.monotonic()
        run(work, "alerts", "raise", "--camera", "station-forecourt", "--kind", "loitering", "--zone", "platform-access",
            env=env)
        shown = wait(operator, 10, lambda d: d.find_elements(By.CSS_SELECTOR, raised_alert), "the raised alert appears")
        if shown:
            latency = time.monotonic() - raised
            check(latency < 2, f"the raised alert appears within 2 s ({latency:.2f} s)")
            shown[0].find_element(By.CSS_SELECTOR, "input").send_keys("patrol sent to the platform")
            shown[0].find_element(By.CSS_SELECTOR, "button[data-action=acknowledge]").click()
            acknowledged = wait(operator, 10, lambda d: d.find_elements(By.CSS_SELECTOR, raised_alert + " [data-acknowledged]"),
                                "the alert is acknowledged")
            if acknowledged:
                operator.refresh()
                kept = wait(operator, 10, lambda d: d.find_elements(By.CSS_SELECTOR, raised_alert + " .note"),
                            "the acknowledgement and note are kept")
                check(bool(kept) and kept[0].text == "patrol sent to the platform", "the note shows after a reload")
        pipeline = operator.execute_script(
            "return [...document.querySelectorAll('#alerts li[data-camera=\"market-square\"]')]"
            ".length")
        print(f"  (alerts the market square's own analytics raised so far: {pipeline})")
        screenshot(operator, "alerts")

        print("the operator's counts page", flush=True)
        operator.get(console + "/counts")
        drawn = wait(operator, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#charts svg.chart, #no-counts"),
                     "the counts page draws its charts (or says there are none yet)")
        if drawn:
            charts = len(operator.find_elements(By.CSS_SELECTOR, "#charts svg.chart"))
            print(f"  ({charts} chart(s); the first minute's counts appear a minute after the camera starts)")
        screenshot(operator, "counts")

        print("a page and an API route the operator's role does not open", flush=True)
        operator.get(console + "/policy")
        refusal = operator.find_element(By.ID, "refusal").text
        check("Policy is for auditor or dpo" in refusal, f"the policy page refuses the operator: '{refusal}'")
        status = operator.execute_script("return fetch('/api/v1/policy').then(r => r.status)")
        check(status == 403, f"the policy API answers the operator {status}")
        screenshot(operator, "forbidden")
        check(not csp_violations(operator), "the operator's pages break no content security policy")

        dpo = browser(homes["dpo-office"])
        drivers.append(dpo)
        print("the DPO edits the policy", flush=True)
        dpo.get(console + "/policy")
        wait(dpo, 15, lambda d: d.execute_script("return !!document.querySelector('.CodeMirror')"),
             "the editor (Debian's CodeMirror) loads")
        wait(dpo, 15, lambda d: "error" not in d.find_element(By.ID, "lint-summary").text
             and d.find_element(By.ID, "lint-summary").text not in ("", "Checking…"), "the policy in force lints clean")
        lines = dpo.execute_script("return document.querySelector('.CodeMirror').CodeMirror.getValue().split('\\n')")
        number = next(i for i, text in enumerate(lines) if text.startswith("retention:"))
        dpo.execute_script(
            "const cm = document.querySelector('.CodeMirror').CodeMirror;"
            f"cm.replaceRange('retension:', {{line: {number}, ch: 0}}, {{line: {number}, ch: 10}});")
        finding = wait(dpo, 10, lambda d: d.find_elements(By.CSS_SELECTOR, f'#diagnostics li[data-line="{number + 1}"]'),
                       f"the typo's lint error appears at line {number + 1}")
        if finding:
            text = finding[0].text
            check("VG101" in text and f"line {number + 1}, column 1" in text, f"it names the rule and place: '{text}'")
        screenshot(dpo, "policy")
        dpo.execute_script(
            "const cm = document.querySelector('.CodeMirror').CodeMirror;"
            f"cm.replaceRange('retention:', {{line: {number}, ch: 0}}, {{line: {number}, ch: 10}});"
            "cm.setValue(cm.getValue().replace('duration: 72h', 'duration: 48h'));")
        dpo.find_element(By.ID, "compare").click()
        diff = wait(dpo, 10, lambda d: "retention raw-video" in d.find_element(By.ID, "policy-diff").text,
                    "comparing the draft shows its change of retention")
        if diff:
            text = dpo.find_element(By.ID, "policy-diff").text
            check("was: 72h (raw-72h)" in text and "now: 48h (raw-72h)" in text, "the diff says from what to what")
            wait(dpo, 10, lambda d: d.find_element(By.ID, "lint-summary").text.startswith("No problems"),
                 "the corrected draft lints clean")
            dpo.execute_script("document.getElementById('policy-diff').scrollIntoView()")
            screenshot(dpo, "policy-diff")
        # The DPO's own tests catch what the change breaks: the police's evidence clips are promised 72 hours.
        dpo.find_element(By.ID, "run-tests").click()
        tested = wait(dpo, 10, lambda d: "policy tests pass" in d.find_element(By.ID, "policy-tests").text,
                      "the DPO's policy tests run against the draft")
        if tested:
            summary = dpo.find_element(By.ID, "tests-summary").text
            cases = len((work / "policies/policy.test.yaml").read_text().split("\n  - name:")) - 1
            check(summary.startswith(f"{cases - 1} of {cases} policy tests pass"), f"one of them fails: '{summary}'")
            failing = dpo.find_elements(By.CSS_SELECTOR, "#policy-tests li[data-test]")
            check(len(failing) == 1 and "unredacted clip" in failing[0].text and "72h" in failing[0].text,
                  f"the failing test is named with why: '{failing[0].text[:200] if failing else ''}'")

        print("the DPO moves a zone's corner on the market square's picture", flush=True)
        dpo.get(console + "/zones")
        shape = wait(dpo, 10, lambda d: d.find_elements(By.CSS_SELECTOR, '#shapes li[data-shape="fountain"] button[data-action=select]'),
                     "the zone editor lists the fountain zone")
        if shape:
            wait(dpo, 60, lambda d: d.execute_script("const v = document.querySelector('.editor-screen video'); return v && v.currentTime > 0.3"),
                 "the editor shows the camera's live redacted picture")
            shape[0].click()
            corner = dpo.find_element(By.CSS_SELECTOR, '.editor-screen circle[data-vertex="2"]')
            ActionChains(dpo).click_and_hold(corner).move_by_offset(30, 25).release().perform()
            dpo.find_element(By.ID, "propose").click()
            proposed = wait(dpo, 10, lambda d: "zone fountain" in d.find_element(By.ID, "zones-diff").text,
                            "the moved corner is shown as a policy change")
            if proposed:
                text = dpo.find_element(By.ID, "zones-diff").text
                check("[0.65, 0.75]" in text and "was:" in text and "now:" in text and text.count("~") == 1,
                      "the diff shows the fountain's corner, from where to where, and nothing else")
            screenshot(dpo, "zones")
        check(not csp_violations(dpo), "the zone editor breaks no content security policy")

        print("the DPO deploys a change: refused unsigned, loaded once signed", flush=True)
        dpo.get(console + "/policy")
        wait(dpo, 10, lambda d: "signed with DPO key" in d.find_element(By.ID, "in-force").text,
             "the policy page names the key that signed the policy in force")
        policy_file = work / "policies/policy.yaml"
        policy_file.write_text(policy_file.read_text().replace('version: "2026.11.1"', 'version: "2026.11.2"'))
        dpo.find_element(By.ID, "reload").click()
        refused = wait(dpo, 10, lambda d: d.find_element(By.ID, "reload-result").text.startswith("Refused"),
                       "a changed, unsigned policy is refused")
        if refused:
            check("2026.11.1 stays in force" in dpo.find_element(By.ID, "reload-result").text,
                  f"the version in force stays: '{dpo.find_element(By.ID, 'reload-result').text[:160]}'")
        run(work, "policy", "sign", "policies", "--key", "dpo.key", env=env)
        dpo.find_element(By.ID, "reload").click()
        loaded = wait(dpo, 10, lambda d: d.find_element(By.ID, "reload-result").text.startswith("Loaded"),
                      "the signed policy is loaded")
        if loaded:
            header = dpo.find_element(By.ID, "in-force").text
            check("version 2026.11.2" in header and "signed with DPO key" in header, f"the header says so: '{header}'")
            shown = wait(dpo, 10, lambda d: 'version: "2026.11.2"' in d.execute_script(
                "return document.querySelector('.CodeMirror').CodeMirror.getValue()"), "the editor shows the text in force")

        # From the DPO's own machine: a bundle signed there, uploaded through the page. A file changed after signing
        # is refused and the policy in force stays; the bundle as signed is loaded.
        upload = work / "upload"
        upload.mkdir()
        (upload / "policy.yaml").write_text(policy_file.read_text().replace('version: "2026.11.2"', 'version: "2026.11.3"'))
        shutil.copy(work / "policies/policy.test.yaml", upload / "policy.test.yaml")
        run(work, "policy", "sign", "upload", "--key", "dpo.key", env=env)
        signed_text = (upload / "policy.yaml").read_text()
        (upload / "policy.yaml").write_text(signed_text.replace("72h", "720h"))

        def deploy(outcome, what):
            """Chooses the bundle's files in the page, deploys them, and waits for the result to start with `outcome`."""
            chooser = dpo.find_element(By.ID, "bundle-files")
            chooser.clear()
            chooser.send_keys("\n".join(str(upload / name) for name in ["policy.yaml", "policy.test.yaml", "bundle.sig"]))
            dpo.find_element(By.ID, "deploy-bundle").click()
            return wait(dpo, 10, lambda d: d.find_element(By.ID, "reload-result").text.startswith(outcome), what)

        tampered = deploy("Refused", "an uploaded bundle changed after signing is refused")
        if tampered:
            result = dpo.find_element(By.ID, "reload-result").text
            check("changed after the bundle was signed" in result, f"and says why: '{result[:200]}'")
        check('version: "2026.11.2"' in policy_file.read_text(), "the refused upload left the policy folder as it was")
        (upload / "policy.yaml").write_text(signed_text)
        uploaded = deploy("Loaded", "the signed bundle uploaded through the page is loaded")
        if uploaded:
            header = dpo.find_element(By.ID, "in-force").text
            check("version 2026.11.3" in header, f"the header names the uploaded version: '{header}'")
            check('version: "2026.11.3"' in policy_file.read_text(), "the policy folder holds the uploaded bundle")
        screenshot(dpo, "policy-deployed")

        print("a legal hold released under the two-person rule", flush=True)
        desk = browser(homes["evidence-desk"])
        drivers.append(desk)
        desk.get(console + "/evidence")
        wait(desk, 10, lambda d: d.find_elements(By.ID, "hold-form"), "the evidence officer's hold form shows")
        calendar = wait(desk, 10, lambda d: d.find_elements(By.CSS_SELECTOR, '#retention tr[data-camera="market-square"]'),
                        "the retention calendar lists what the market square's pipeline recorded")
        if calendar:
            check(any("raw-72h (72h)" in row.text or "redacted-7d (7d)" in row.text for row in calendar),
                  f"with its rule: '{calendar[0].text}'")
        desk.execute_script(
            "document.getElementById('hold-from').value = '2026-12-01T10:00:00';"
            "document.getElementById('hold-to').value = '2026-12-01T11:00:00';")
        desk.find_element(By.ID, "hold-case").send_keys("CASE-2026-0815")
        desk.find_element(By.CSS_SELECTOR, "#hold-form button[type=submit]").click()
        row = wait(desk, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#holds tr[data-hold]"), "the placed hold is listed")
        hold = row[0].get_attribute("data-hold") if row else ""
        if row:
            row[0].find_element(By.CSS_SELECTOR, "button[data-action=release]").click()
            pending = wait(desk, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#approvals li[data-approval]"),
                           "the release waits for a second person")
            check(bool(desk.find_elements(By.CSS_SELECTOR, f'#holds tr[data-hold="{hold}"]')),
                  "the hold stays active while the release waits")
            check(not desk.find_elements(By.CSS_SELECTOR, "#approvals button[data-action=approve]"),
                  "the requester is offered no way to approve their own request")
            screenshot(desk, "evidence")
            dpo.get(console + "/evidence")
            approve = wait(dpo, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#approvals button[data-action=approve]"),
                           "the DPO (another role) is asked to approve")
            if approve:
                screenshot(dpo, "evidence-approval")
                approve[0].click()
                wait(dpo, 10, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#holds tr[data-hold="{hold}"]'),
                     "the hold is released once approved")
                released = wait(desk, 10, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#holds tr[data-hold="{hold}"]'),
                                "the evidence officer's page shows it released without a reload")
                check(bool(released), "a hold release waits for a second approver and then succeeds")
        print("an erasure under the two-person rule", flush=True)
        desk.execute_script(
            "document.getElementById('erase-from').value = '2026-12-01T10:00:00';"
            "document.getElementById('erase-to').value = '2026-12-01T10:05:00';")
        desk.find_element(By.CSS_SELECTOR, "#erase-form button[type=submit]").click()
        asked = wait(desk, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#approvals li[data-approval]"),
                     "the erasure waits for a second person")
        if asked:
            check(asked[0].text.startswith("erase market-square"), f"as an erasure of the range: '{asked[0].text[:80]}'")
            dpo.get(console + "/evidence")
            approve = wait(dpo, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#approvals button[data-action=approve]"),
                           "the DPO is asked to approve the erasure")
            if approve:
                approve[0].click()
                wait(dpo, 10, lambda d: d.find_element(By.ID, "evidence-message").text.startswith("Approved: footage"),
                     "the erasure is carried out once approved")

        print("exports, and original footage watched under the two-person rule", flush=True)
        # The last quarter of an hour, as the browser's local time the form takes.
        desk.execute_script("""
            const pad = (n) => String(n).padStart(2, '0');
            const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
            for (const id of ['export', 'view']) {
              document.getElementById(id + '-from').value = local(new Date(Date.now() - 15 * 60000));
              document.getElementById(id + '-to').value = local(new Date(Date.now() + 60000));
            }""")
        desk.find_element(By.CSS_SELECTOR, "#export-form button[type=submit]").click()
        link = wait(desk, 20, lambda d: d.find_elements(By.CSS_SELECTOR, "#exports a[href$='/archive']"),
                    "a redacted export is ready at once")
        if link:
            fetched = desk.execute_async_script("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0]).then(async (r) => {
                  const bytes = new Uint8Array(await r.arrayBuffer());
                  let binary = '';
                  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
                  done({status: r.status, type: r.headers.get('content-type'), archive: btoa(binary)});
                }).catch((e) => done({error: String(e)}));""", link[0].get_attribute("href"))
            check(fetched.get("status") == 200 and fetched.get("type") == "application/x-tar",
                  f"the export downloads as a tar ({fetched.get('status')}, {fetched.get('type')})")
            if fetched.get("archive"):
                import base64, io, tarfile
                bundle = work / "console-export"
                with tarfile.open(fileobj=io.BytesIO(base64.b64decode(fetched["archive"]))) as archive:
                    names = archive.getnames()
                    archive.extractall(bundle)
                check("manifest.json" in names and "manifest.sig" in names and any(n.startswith("video/") for n in names),
                      f"it holds the signed bundle ({len(names)} files)")
                verified = subprocess.run(
                    [str(VEILGATE), "vault", "verify-export", str(bundle), "--public-key",
                     str(work / "state/keys/gateway-signing.pub")], cwd=work, env=env, capture_output=True, text=True)
                check(verified.returncode == 0, f"veilgate vault verify-export accepts it: {verified.stdout[-300:]}{verified.stderr[-300:]}")
                manifest = (bundle / "manifest.json").read_text()
                check('"redacted-video"' in manifest and '"raw-video"' not in manifest,
                      "a redacted export holds redacted footage only")
        desk.find_element(By.ID, "view-reason").send_keys("Identify the person who left the bag at 10:42")
        desk.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
        asked = wait(desk, 10, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#approvals li[data-approval]")
                                          if e.text.startswith("view-original")], "watching original footage waits for approval")
        check(not desk.find_elements(By.CSS_SELECTOR, "#original-views video"), "nothing plays before the approval")
        if asked:
            dpo.get(console + "/evidence")
            approve = wait(dpo, 10, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#approvals li[data-approval]")
                                               if e.text.startswith("view-original")], "the DPO sees the request")
            if approve:
                check("Identify the person who left the bag" in approve[0].text, "with the reason to decide on")
                screenshot(dpo, "evidence-original-request")
                approve[0].find_element(By.CSS_SELECTOR, "button[data-action=approve]").click()
                wait(dpo, 10, lambda d: "may watch the original footage" in d.find_element(By.ID, "evidence-message").text,
                     "the DPO approves")
            video = wait(desk, 15, lambda d: d.find_elements(By.CSS_SELECTOR, "#original-views video"),
                         "the evidence officer's page offers the original footage once approved")
            if video:
                decoded = wait(desk, 20, lambda d: d.execute_script(
                    "const v = document.querySelector('#original-views video'); return v.readyState >= 1 && v.duration > 0"),
                    "the original segment loads in the browser")
                if decoded:
                    desk.execute_script("document.querySelector('#original-views video').scrollIntoView({block: 'center'})")
                    screenshot(desk, "evidence-original")
            check(not dpo.find_elements(By.CSS_SELECTOR, "#original-views video"),
                  "the approver is not given the footage: it is the requester's")
        check(not csp_violations(desk), "the evidence officer's pages break no content security policy")

        print("the DPO's record of processing and audit log", flush=True)
        dpo.get(console + "/record")
        wait(dpo, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#record h2"), "the record of processing shows")
        screenshot(dpo, "record")
        dpo.get(console + "/audit")
        banner = wait(dpo, 10, lambda d: d.find_elements(By.ID, "audit-status"), "the audit status shows")
        if banner:
            check(banner[0].text.startswith("Intact"), f"the audit log verifies: '{banner[0].text}'")
            actions = dpo.execute_script("return [...document.querySelectorAll('#audit td:nth-child(3)')].map(td => td.textContent)")
            for action in ["hold-placed", "console-approval-requested", "console-approval-granted", "hold-released",
                           "alert-acknowledged", "export", "console-original-viewed", "policy-loaded"]:
                check(action in actions, f"the audit log records {action}")
        screenshot(dpo, "audit")
        check(not csp_violations(dpo), "the DPO's pages break no content security policy")

        print("the admin revokes the control room's certificate", flush=True)
        admin = browser(homes["site-admin"])
        drivers.append(admin)
        admin.get(console + "/partners")
        wait(admin, 10, lambda d: d.find_elements(By.CSS_SELECTOR, '#partners tr[data-partner="police"]'),
             "the partners page lists the police")
        screenshot(admin, "partners")
        revoke = admin.find_elements(By.CSS_SELECTOR, '#operators tr[data-operator="control-room"] button[data-serial]')
        check(len(revoke) == 1, "the control room's certificate can be revoked")
        if revoke:
            revoke[0].click()
            admin.find_element(By.CSS_SELECTOR, '#operators tr[data-operator="control-room"] button[data-serial]').click()
            wait(admin, 10, lambda d: d.find_element(By.ID, "partners-message").text.startswith("Revoked"),
                 "the revocation is confirmed")
            after = operator.execute_async_script(
                "const done = arguments[0]; fetch('/api/v1/session').then(r => done(r.status)).catch(() => done('refused'))")
            check(after in (403, "refused"), f"the revoked operator's browser gets nothing more ({after})")
        check(not csp_violations(admin), "the admin's pages break no content security policy")
    finally:
        for driver in drivers:
            driver.quit()
        as_root("rm", "-f", str(MANAGED))
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            serve.kill()
        if failures:
            print((work / "serve.log").read_text()[-4000:])
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"console browser test: {len(failures)} check(s) failed: " + "; ".join(failures))
    print("console browser test: all checks passed")


if __name__ == "__main__":
    main()
