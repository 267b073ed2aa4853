#!/usr/bin/env python3
"""zxing-cpp (PyPI `zxing-cpp`) as a decoding worker for examples/corpus_bench.rs.

Reads one image path per line on standard input and answers each with one JSON line:
{"texts": [...], "load_ms": F, "decode_ms": F}. Loading (Pillow: open, decode, convert to
8-bit grey) and decoding (zxingcpp.read_barcodes, QR only, the library's defaults
otherwise: rotation, downscaling and inverted codes tried) are timed separately, the same
split corpus_bench makes for safeid. One long-lived process, so Python's start-up is not
counted against zxing-cpp.
"""
import json
import sys
import time

import zxingcpp
from PIL import Image


def main() -> None:
    formats = zxingcpp.BarcodeFormat.QRCode
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        t0 = time.perf_counter()
        with Image.open(path) as img:
            grey = img.convert("L")
        t1 = time.perf_counter()
        found = zxingcpp.read_barcodes(grey, formats=formats)
        t2 = time.perf_counter()
        texts = [b.text for b in found if b.valid]
        print(
            json.dumps(
                {"texts": texts, "load_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
