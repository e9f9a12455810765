#!/usr/bin/env python3
"""Browser checks of the built page itself, served on loopback, in headless Chromium driven
over WebDriver (what wasm-bindgen-test cannot do from inside the page):

- axe-core (npm package) at 1280x720 and on a 390x844 phone, on the default page and on two
  lessons: no serious or critical finding;
- the phone's real viewport: nothing wider than the screen;
- the dark theme when the system asks for it (emulated prefers-color-scheme);
- an embed in an <iframe> of another page tells that page its height;
- offline: after one visit, the page opens again with the network cut.

    python3 scripts/page_checks.py DIST AXE_JS

Prints PASS/FAIL per check; exits 1 when any failed.
"""
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

from webdriver import Driver, Session

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--no-first-run", "--hide-scrollbars"]

FIRST_FRAME = ("return document.querySelector('[data-testid=canvas]')"
               "?.getAttribute('data-first-frame-ms')")

failed = []


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        failed.append(name)


def serve(root):
    """Serves `root` on a free loopback port; returns the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = lambda *a, **k: Quiet(*a, directory=root, **k)
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


def session(driver, width=1280, height=720, phone=False):
    opts = {"args": ARGS + [f"--window-size={width},{height}",
                            f"--user-data-dir={tempfile.mkdtemp()}"]}
    if phone:
        opts["mobileEmulation"] = {"deviceMetrics": {"width": width, "height": height,
                                                     "pixelRatio": 3, "touch": True}}
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                             "goog:chromeOptions": opts}}}
    sid = driver.call("POST", "/session", caps)["value"]["sessionId"]
    return Session(driver, sid)


def cdp(s, cmd, params=None):
    return s.driver.call("POST", f"/session/{s.sid}/goog/cdp/execute",
                         {"cmd": cmd, "params": params or {}})


def close(s):
    s.driver.call("DELETE", f"/session/{s.sid}")


def preset_links():
    out = subprocess.run(["cargo", "run", "-q", "--release", "-p", "lbsim-cli", "--", "presets"],
                         capture_output=True, text=True, check=True).stdout
    return {w.split(".")[1]: w for w in out.split() if w.startswith("#tc1.")}


def axe(s, axe_js):
    s.run(axe_js)
    s.run("window.__axe = null; axe.run(document, {resultTypes: ['violations']})"
          ".then(r => window.__axe = r.violations.map(v => ({id: v.id, impact: v.impact,"
          " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + (n.html || '').slice(0, 120) + ' :: ' + (n.failureSummary || '').slice(0, 160)), help: v.help})))")
    return s.wait("return window.__axe", 60)


def main():
    dist, axe_path = sys.argv[1], sys.argv[2]
    axe_js = open(axe_path, encoding="utf-8").read()
    # The page, and beside it a page that frames the embed.
    root = tempfile.mkdtemp()
    shutil.copytree(dist, root, dirs_exist_ok=True)
    links = preset_links()
    with open(os.path.join(root, "frame.html"), "w", encoding="utf-8") as f:
        f.write("<!doctype html><title>A course page</title><p>Before the embed.</p>"
                "<iframe id=tc src=\"./?embed&theme=light" + links["cart"] + "\""
                " style=\"width:100%;border:0\" height=300 title=\"Traffic Cop lesson\"></iframe>"
                "<script>window.heights=[];addEventListener('message',e=>{"
                "if(e.data&&e.data.type==='traffic-cop:height'){heights.push(e.data.height);"
                "document.getElementById('tc').height=e.data.height;}});</script>")
    base = serve(root)
    pages = [("the default page", ""), ("the cart lesson", links["cart"]),
             ("the crash lesson", links["tcp-check-crash"])]
    with Driver() as d:
        for width, height, phone in [(1280, 720, False), (390, 844, True)]:
            s = session(d, width, height, phone)
            try:
                for name, frag in pages:
                    # A fresh load each time (a new fragment alone does not reload the page).
                    s.go("about:blank")
                    s.go(base + frag)
                    s.wait(FIRST_FRAME, 30)
                    time.sleep(1.0)
                    found = axe(s, axe_js)
                    bad = [v for v in found if v["impact"] in ("serious", "critical")]
                    check(f"axe-core on {name} at {width}x{height}", not bad, json.dumps(bad))
                    if phone:
                        sw, iw = s.run("return [document.documentElement.scrollWidth, innerWidth]")
                        check(f"{name} fits the phone's width", sw <= iw, f"page {sw} px wide, screen {iw} px")
            finally:
                close(s)

        # Dark when the system asks for it.
        s = session(d)
        try:
            cdp(s, "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
            s.go(base)
            s.wait(FIRST_FRAME, 30)
            bg = s.run("return getComputedStyle(document.querySelector('.tc-shell'))"
                       ".getPropertyValue('--bg').trim()")
            check("the dark theme follows prefers-color-scheme", bg == "#17181a", bg)
        finally:
            close(s)

        # An embed in another page's frame posts its height.
        s = session(d)
        try:
            s.go(base + "frame.html")
            heights = s.wait("return window.heights.length && window.heights", 30)
            check("an embed tells its parent page its height", heights and heights[-1] > 200,
                  f"heights {heights}")
        finally:
            close(s)

        # A second visit with the network off.
        s = session(d)
        try:
            s.go(base)
            s.wait(FIRST_FRAME, 30)
            # The worker takes the page over once it has kept the bundle.
            s.wait("return navigator.serviceWorker.controller !== null", 30)
            cdp(s, "Network.enable")
            cdp(s, "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
            s.go(base)
            shown = s.wait(FIRST_FRAME, 30)
            title = s.run("return document.querySelector('.tc-title')?.textContent")
            check("the page opens offline on a second visit", bool(shown) and title == "Traffic Cop",
                  f"title {title!r}")
        except TimeoutError as e:
            check("the page opens offline on a second visit", False, str(e))
        finally:
            close(s)
    print(f"{'all page checks passed' if not failed else 'failed: ' + ', '.join(failed)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
