#!/usr/bin/env python3
"""Takes the README's screenshot of the main view: the default scenario at 0.3x after a few
seconds, with a rewritten packet selected in the inspector.

    python3 scripts/screenshot.py http://127.0.0.1:8080/ docs/screenshot.png
"""
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


def main():
    url, out = sys.argv[1], sys.argv[2]
    with Driver() as d, d.session() as s:
        s.go(url)
        s.wait("return document.querySelector('[data-testid=canvas]')"
               "?.getAttribute('data-first-frame-ms')")
        # Show packets too, run at 0.3x, and let traffic build up.
        s.run("document.querySelector('[data-testid=filter-packets]').click();"
              "const v = document.querySelector('[data-testid=speed]');"
              "v.value = Math.log10(0.3);"
              "v.dispatchEvent(new Event('input', {bubbles: true}));")
        time.sleep(5)
        s.wait(SELECT_REWRITE, 20)
        time.sleep(0.5)
        s.screenshot(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
