#!/usr/bin/env python3
"""Peak memory (the whole process's maximum RSS) of `skycomb combine`, `calibrate` and `stack` against
the --memory-limit given, on 10 and 30 frames of 4096x4096.

    python3 benches/memory.py [--frames 10,30] [--limits 100MB,350MB,1GB] [--size 4096]
        [--what combine,stack,calibrate,stack-auto]

stack-auto stacks the sample night's seven raw frames (4160x4096 at --size 4096) with offsets from
their detected stars and a sky surface (the frames are 7 whatever --frames says).

Needs numpy and astropy (any venv: `python3 -m venv v && v/bin/pip install numpy astropy`) and a
release build (`cargo build --release`). The frames are written once into /tmp/skycomb-memory/
(float32, about 64 MB each at 4096x4096) and reused. Each run is one fresh process; its peak RSS is
its VmHWM (/proc/PID/status), polled every 2 ms. The goal (issue 13): peak RSS <= limit + 16 MB.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
SKYCOMB = os.path.join(HERE, "..", "target", "release", "skycomb")
WORK = "/tmp/skycomb-memory"


def parse_bytes(s):
    s = s.strip().upper()
    for unit, f in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if s.endswith(unit):
            return int(float(s[: -len(unit)]) * f)
    return int(s)


def frames(kind, n, size):
    """Write (once) n frames of `kind` (bias, flat, light) and return their paths."""
    d = os.path.join(WORK, "%d" % size)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    paths = []
    level = {"bias": 500.0, "flat": 20000.0, "light": 1500.0}[kind]
    noise = {"bias": 5.0, "flat": 120.0, "light": 30.0}[kind]
    for i in range(n):
        p = os.path.join(d, "%s_%03d.fits" % (kind, i + 1))
        if not os.path.exists(p):
            data = rng.normal(level, noise, (size, size)).astype(np.float32)
            h = fits.Header()
            h["IMAGETYP"] = {"bias": "BIAS", "flat": "FLAT", "light": "LIGHT"}[kind]
            h["EXPTIME"] = {"bias": 0.0, "flat": 3.0, "light": 300.0}[kind]
            h["FILTER"] = "R"
            fits.PrimaryHDU(data, h).writeto(p + ".tmp", overwrite=True)
            os.replace(p + ".tmp", p)
        paths.append(p)
    return paths


def vm_hwm(pid):
    """The process's resident high-water mark (bytes) since its exec, or 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_rss(cmd):
    """Run cmd; return (exit code, seconds, peak RSS in bytes). The peak is the child's own VmHWM,
    polled every 2 ms: wait4's ru_maxrss would also count the RSS this Python process had when it
    forked (it survives exec)."""
    t = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while p.poll() is None:
        peak = max(peak, vm_hwm(p.pid))
        time.sleep(0.002)
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        print("   failed (%d): %s" % (p.returncode, err.strip()[-300:]), file=sys.stderr)
    return p.returncode, time.time() - t, peak


def night(n, size):
    """A folder of n biases, n flats and n lights (links to the shared frames)."""
    d = os.path.join(WORK, "night_%d_%d" % (size, n))
    os.makedirs(d, exist_ok=True)
    for kind in ("bias", "flat", "light"):
        for p in frames(kind, n, size):
            q = os.path.join(d, os.path.basename(p))
            if not os.path.exists(q):
                os.symlink(p, q)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", default="10,30")
    ap.add_argument("--limits", default="100MB,350MB,1GB")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--what", default="combine,stack,calibrate,stack-auto")
    a = ap.parse_args()
    out = os.path.join(WORK, "out")
    os.makedirs(out, exist_ok=True)
    print("%-10s %4s %8s %10s %10s %8s %6s" % ("command", "N", "limit", "peak RSS", "excess", "seconds", "ok"))
    for n in [int(x) for x in a.frames.split(",")]:
        lights = frames("light", n, a.size)
        for limit in a.limits.split(","):
            lb = parse_bytes(limit)
            for what in a.what.split(","):
                o = os.path.join(out, "%s.fits" % what)
                for f in os.listdir(out):
                    os.remove(os.path.join(out, f)) if os.path.isfile(os.path.join(out, f)) else None
                if what == "combine":
                    cmd = [SKYCOMB, "combine", *lights, "-o", o, "--memory-limit", limit,
                           "--method", "median"]
                elif what == "stack":
                    # noise frames have no stars: the offsets come from a file (all zero)
                    offs = os.path.join(WORK, "offsets_%d.txt" % n)
                    with open(offs, "w") as f:
                        f.writelines("%s 0 0\n" % os.path.basename(p) for p in lights)
                    cmd = [SKYCOMB, "stack", *lights, "--output", o, "--memory-limit", limit,
                           "--offsets", "file:" + offs]
                elif what == "stack-auto":
                    # the sample night's seven raw frames of 4160x4096 (stars, dithers): offsets
                    # from the detected stars (the default) with a sky surface
                    sample = os.path.join(WORK, "sample_%d" % a.size)
                    if not os.path.exists(os.path.join(sample, "truth.json")):
                        subprocess.run([SKYCOMB, "sample-night", "--size", str(a.size), sample],
                                       check=True, stdout=subprocess.DEVNULL)
                    sci = sorted(os.path.join(sample, f) for f in os.listdir(sample)
                                 if f.startswith("sci_R_"))
                    cmd = [SKYCOMB, "stack", *sci, "--output", o, "--memory-limit", limit,
                           "--sky", "surface:1"]
                else:
                    cal = os.path.join(out, "cal_%d" % n)
                    subprocess.run(["rm", "-rf", cal])
                    cmd = [SKYCOMB, "calibrate", night(n, a.size), "--output", cal,
                           "--memory-limit", limit]
                code, secs, rss = peak_rss(cmd)
                excess = rss - lb
                ok = code == 0 and excess <= 16e6
                print("%-10s %4d %8s %8.0f MB %+8.0f MB %8.1f %6s" % (
                    what, n, limit, rss / 1e6, excess / 1e6, secs, "yes" if ok else "NO"))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
