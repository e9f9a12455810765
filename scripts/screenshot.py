#!/usr/bin/env python3
"""Takes the README's screenshots of the live view at 1280x720:

- packet level: the default scenario slowed to 0.3x and drawn packet by packet, with a
  packet the balancer rewrote selected in the inspector;
- request level: the uneven-costs lesson paused at its teaching moment, requests drawn as
  tokens queueing at the backends.

    python3 scripts/screenshot.py http://127.0.0.1:8080/ docs/
"""
import subprocess
import sys
import time

from webdriver import Driver

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
    print(f"wrote {out}/screenshot.png and {out}/screenshot-requests.png")


if __name__ == "__main__":
    main()
