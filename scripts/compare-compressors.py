#!/usr/bin/env python3
"""Compares compressors on the stripped scenario JSON that share links carry.

    cargo run --release -p lbsim --example link_sizes -- /tmp/linkjson
    python3 scripts/compare-compressors.py /tmp/linkjson

Raw deflate (level 9), raw LZMA2 (preset 9e) and bzip2 (level 9) on each file, plus raw
deflate with a preset dictionary made of the other files (leave-one-out)."""
import bz2
import lzma
import pathlib
import sys
import zlib


def deflate(data, zdict=None):
    args = (9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY) + ((zdict,) if zdict else ())
    c = zlib.compressobj(*args)
    return c.compress(data) + c.flush()


def lzma2(data):
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)


files = sorted(pathlib.Path(sys.argv[1]).glob("*.json"))
texts = {f.stem: f.read_bytes() for f in files}
columns = ["json", "deflate", "lzma2", "bzip2", "deflate+dict"]
print("%-20s" % "preset" + "".join("%13s" % c for c in columns))
totals = [0] * len(columns)
for name, data in texts.items():
    others = b"".join(t for n, t in texts.items() if n != name)[-32768:]
    row = [len(data), len(deflate(data)), len(lzma2(data)), len(bz2.compress(data, 9)),
           len(deflate(data, others))]
    totals = [a + b for a, b in zip(totals, row)]
    print("%-20s" % name + "".join("%13d" % v for v in row))
print("%-20s" % "total" + "".join("%13d" % v for v in totals))
