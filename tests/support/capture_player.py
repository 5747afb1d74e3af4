"""A stand-in for aplay in tests and benchmarks: reads PCM from stdin and records, in OUTDIR/<pid>.json
and <pid>.pcm, when its first bytes arrived and when it ended (end of input or SIGTERM), on the
system-wide monotonic clock. Records nothing when it received no bytes (the device probe)."""

import json
import os
import signal
import sys
import time

out, args = sys.argv[1], sys.argv[2:]
started = time.monotonic()
first = None
data = bytearray()


def finish(killed: bool) -> None:
    if data:
        base = os.path.join(out, str(os.getpid()))
        with open(base + ".pcm", "wb") as f:
            f.write(data)
        rec = {"started": started, "first": first, "ended": time.monotonic(), "bytes": len(data),
               "killed": killed, "args": args}
        with open(base + ".json.part", "w") as f:
            json.dump(rec, f)
        os.replace(base + ".json.part", base + ".json")
    os._exit(0)


signal.signal(signal.SIGTERM, lambda *_: finish(True))
while True:
    chunk = os.read(0, 1 << 16)
    if not chunk:
        break
    if first is None:
        first = time.monotonic()
    data += chunk
finish(False)
