#!/usr/bin/env python3
"""Takes the README's screenshots of the live view at 1280x720:

- packet level: the default scenario slowed to 0.3x and drawn packet by packet, with a
  packet the balancer rewrote selected in the inspector;
- request level: the uneven-costs lesson paused at its teaching moment, requests drawn as
  tokens queueing at the backends;
- the lesson layout (the cart lesson at its teaching moment) on a laptop and on a 390x844
  phone, light and dark: docs/lesson-{desktop,phone}-{light,dark}.png.

    python3 scripts/screenshot.py http://127.0.0.1:8080/ docs/
"""
import subprocess
import sys
import time

import tempfile

from webdriver import CHROME_ARGS, Driver, Session

SELECT_REWRITE = """
const rows = [...document.querySelectorAll('[data-testid=event-rows] li[data-kind=packets]')];
const row = rows.find(r => r.textContent.includes('rewrites the destination'));
if (!row) return false;
row.querySelector('button').click();
return true;
"""

FIRST_FRAME = ("return document.querySelector('[data-testid=canvas]')"
               "?.getAttribute('data-first-frame-ms')")


def preset_link(name):
    """The share link of a preset, from the CLI."""
    out = subprocess.run(["cargo", "run", "-q", "--release", "-p", "lbsim-cli", "--", "presets"],
                         capture_output=True, text=True, check=True).stdout
    for word in out.split():
        if word.startswith(f"#tc1.{name}."):
            return word
    raise SystemExit(f"no link for preset {name}")


def main():
    url, out = sys.argv[1], sys.argv[2].rstrip("/")
    with Driver() as d, d.session() as s:
        s.go(url)
        s.wait(FIRST_FRAME)
        # Packets too in the list, packet level, 0.3x, and let traffic build up.
        s.run("document.querySelector('[data-testid=filter-packets]').click();"
              "const l = document.querySelector('[data-testid=level]');"
              "l.value = 'packets'; l.dispatchEvent(new Event('change', {bubbles: true}));"
              "const v = document.querySelector('[data-testid=speed]');"
              "v.value = Math.log10(0.3);"
              "v.dispatchEvent(new Event('input', {bubbles: true}));")
        time.sleep(5)
        s.wait(SELECT_REWRITE, 20)
        time.sleep(0.5)
        s.screenshot(f"{out}/screenshot.png")
    with Driver() as d, d.session() as s:
        s.go(url.split("#")[0] + preset_link("uneven-costs"))
        s.wait(FIRST_FRAME)
        s.wait("return document.querySelector('[data-testid=moment-caption].paused')", 60)
        time.sleep(0.5)
        s.screenshot(f"{out}/screenshot-requests.png")
    cart = url.split("#")[0] + preset_link("cart")
    with Driver() as d:
        for device, (w, h) in [("desktop", (1280, 720)), ("phone", (390, 844))]:
            for theme in ["light", "dark"]:
                args = [a for a in CHROME_ARGS if not a.startswith("--window-size")]
                opts = {"args": args + [f"--window-size={w},{h}",
                                        f"--user-data-dir={tempfile.mkdtemp()}"]}
                if device == "phone":
                    opts["mobileEmulation"] = {"deviceMetrics": {"width": w, "height": h,
                                                                 "pixelRatio": 2}}
                caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                         "goog:chromeOptions": opts}}}
                sid = d.call("POST", "/session", caps)["value"]["sessionId"]
                s = Session(d, sid)
                try:
                    d.call("POST", f"/session/{sid}/goog/cdp/execute", {
                        "cmd": "Emulation.setEmulatedMedia",
                        "params": {"features": [{"name": "prefers-color-scheme", "value": theme}]}})
                    s.go(cart)
                    s.wait(FIRST_FRAME)
                    s.wait("return document.querySelector('[data-testid=moment-caption].paused')", 60)
                    time.sleep(0.5)
                    s.screenshot(f"{out}/lesson-{device}-{theme}.png")
                finally:
                    d.call("DELETE", f"/session/{sid}")
    print(f"wrote {out}/screenshot.png, {out}/screenshot-requests.png and {out}/lesson-*.png")


if __name__ == "__main__":
    main()
