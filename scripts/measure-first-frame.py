#!/usr/bin/env python3
"""Time from navigation to the first drawn frame of the playground, in headless Chromium.

For each run a fresh browser session with an empty profile loads URL, and the page reports
the performance.now() of its first canvas frame (the `data-first-frame-ms` attribute the app
sets; performance.now() counts from navigation start). Prints each run and the median.

    python3 scripts/measure-first-frame.py http://127.0.0.1:8080/ [runs]
"""
import statistics
import sys

from webdriver import Driver

FIRST_FRAME = ("const c = document.querySelector('[data-testid=canvas]');"
               "return c && c.getAttribute('data-first-frame-ms');")


def main():
    url = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    results = []
    with Driver() as d:
        for i in range(runs):
            with d.session() as s:
                s.go(url)
                ms = float(s.wait(FIRST_FRAME))
                results.append(ms)
                print(f"run {i + 1}: first frame at {ms:.0f} ms after navigation")
    print(f"median of {runs}: {statistics.median(results):.0f} ms")


if __name__ == "__main__":
    main()
