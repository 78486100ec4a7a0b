#!/usr/bin/env python3
"""Side-by-side: `skycomb scan` against ccdproc's ImageFileCollection on the same folder, in one run.

Usage (from the repository root, after `cargo build --release`):
    python3 -m venv ../oracle-venv && ../oracle-venv/bin/pip install -r ../shared/oracle/pip_freeze.txt
    ../oracle-venv/bin/python benches/scan_vs_ifc.py [--n 1000] [--size 128] [--repeats 7]

Makes N small uint16 FITS files with ../shared/oracle/bench_ifc.py's generator (same cards, same data),
then alternates, each in a fresh process, R times:
  * skycomb scan DIR --format json             (whole process: start-up, scan, JSON to /dev/null)
  * ImageFileCollection(DIR)                   (all keywords; timed inside Python, import excluded)
  * ImageFileCollection(DIR, keywords=[4 keys])
and prints medians, min/max, and the ratio of medians. Timing skycomb's whole process and Python's
inner call only tilts the comparison toward astropy.
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ORACLE = os.path.join(ROOT, "..", "shared", "oracle")


def time_skycomb(binary, d):
    t0 = time.perf_counter()
    p = subprocess.run([binary, "scan", d, "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr
    n = len(json.loads(p.stdout)["files"])
    return wall, n


def time_ifc(kind, d):
    p = subprocess.run([sys.executable, os.path.join(ORACLE, "bench_ifc.py"), "task", kind, "--dir", d],
                       capture_output=True, text=True)
    r = next(json.loads(l[7:]) for l in p.stdout.splitlines() if l.startswith("RESULT "))
    return r["wall_s"], r["n_files"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "skycomb"))
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "bench_ifc_data"))
    a = ap.parse_args()
    sys.path.insert(0, ORACLE)
    import bench_ifc
    bench_ifc.make_files(a.dir, a.n, a.size)
    times = {"skycomb scan": [], "IFC (all keywords)": [], "IFC (4 keywords)": []}
    for _ in range(a.repeats):
        w, n = time_skycomb(a.binary, a.dir); times["skycomb scan"].append(w); assert n == a.n, n
        w, n = time_ifc("ifc_all", a.dir); times["IFC (all keywords)"].append(w); assert n == a.n, n
        w, n = time_ifc("ifc_keywords", a.dir); times["IFC (4 keywords)"].append(w); assert n == a.n, n
    print(f"{a.n} files of {a.size}x{a.size} uint16, {a.repeats} alternating runs, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"  {k:22s} median {med[k]*1000:8.1f} ms   min {min(v)*1000:8.1f}   max {max(v)*1000:8.1f}")
    for k in ("IFC (all keywords)", "IFC (4 keywords)"):
        print(f"  skycomb / {k}: {med['skycomb scan'] / med[k]:.3f}  ({med[k] / med['skycomb scan']:.1f}x faster)")


if __name__ == "__main__":
    main()
