#!/usr/bin/env python3
"""Side-by-side: `skycomb combine` against ccdproc.combine on the same 10 frames of 4096x4096 float32.

Usage (from the repository root, after `cargo build --release`):
    python3 -m venv ../oracle-venv && ../oracle-venv/bin/pip install -r ../shared/oracle/pip_freeze.txt
    ../oracle-venv/bin/python benches/combine_vs_ccdproc.py [--size 4096] [--n 10] [--repeats 5]

The frames come from ../shared/oracle/bench_ccdproc.py's generator (same seed, same outliers). Every
measurement runs in a fresh process under /usr/bin/time (wall clock and peak RSS), the tasks
alternate within each repeat (the machine is shared and noisy: compare medians), and all of them:
  skycomb --compat ccdproc   average, 5/5 sigma clip, median centre, mad_std, one pass, --memory-limit 350MB
  skycomb (IRAF default)     the same rule iterated to convergence, --memory-limit 350MB
  ccdproc 350MB              ccdproc.combine(..., sigma_clip_func=np.ma.median, sigma_clip_dev_func=mad_std,
                             mem_limit=350e6) via bench_ccdproc.py (whole process: interpreter and imports too)
  floor: python read+write   read every input's bytes into memory (bench_ccdproc's read_bytes floor), write
                             one output of the same size, fsync
  floor: cat + write         stream every input to /dev/null from the page cache, write one output, sync
Then it checks that skycomb's image equals ccdproc's (same checksum formula as bench_ccdproc.py).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ORACLE = os.path.join(ROOT, "..", "shared", "oracle")


def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed: {p.stderr[-2000:]}")
    wall, rss_kb = p.stderr.strip().splitlines()[-1].split()[1:]
    return float(wall), int(rss_kb) / 1024, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "skycomb"))
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "target", "bench_data"))
    a = ap.parse_args()
    sys.path.insert(0, ORACLE)
    import bench_ccdproc
    files = bench_ccdproc.make_data(a.data_dir, a.size, a.n)
    out_dir = tempfile.mkdtemp(prefix="skycomb-bench-")
    ours = os.path.join(out_dir, "combined.fits")
    clip = ["--sigma-low", "5", "--sigma-high", "5", "--center", "median", "--dev", "mad_std", "--memory-limit", "350MB", "--overwrite"]
    read_write = ("import os,sys\nfs=sys.argv[2:]\nb=[open(f,'rb').read() for f in fs]\n"
                  "o=open(sys.argv[1],'wb'); o.write(b[0]); o.flush(); os.fsync(o.fileno()); o.close()")
    tasks = {
        "skycomb --compat ccdproc": [a.binary, "combine", *files, "-o", ours, "--compat", "ccdproc", *clip],
        "skycomb (IRAF default)": [a.binary, "combine", *files, "-o", os.path.join(out_dir, "iraf.fits"), *clip],
        "ccdproc 350MB": [sys.executable, os.path.join(ORACLE, "bench_ccdproc.py"), "task", "ccdproc_350MB",
                          "--size", str(a.size), "--n", str(a.n), "--mem-limit", "350e6", "--data-dir", a.data_dir],
        "floor: python read+write": [sys.executable, "-c", read_write, os.path.join(out_dir, "floor.fits"), *files],
        "floor: cat + write": ["sh", "-c", 'cat "$@" > /dev/null && cat "$1" > "$0" && sync "$0"', os.path.join(out_dir, "cat.fits"), *files],
    }
    results = {k: [] for k in tasks}
    ccdproc_checksum = None
    for _ in range(a.repeats):
        for name, cmd in tasks.items():
            wall, rss, stdout = timed(cmd)
            results[name].append((wall, rss))
            if name == "ccdproc 350MB":
                r = next(json.loads(l[7:]) for l in stdout.splitlines() if l.startswith("RESULT "))
                ccdproc_checksum = r["checksum"]
    print(f"{a.n} frames of {a.size}x{a.size} float32, {a.repeats} alternating runs, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    med = {k: statistics.median(w for w, _ in v) for k, v in results.items()}
    for k, v in results.items():
        walls = [w for w, _ in v]
        print(f"  {k:26s} median {med[k]:7.2f} s  (min {min(walls):.2f}, max {max(walls):.2f})  peak RSS {max(r for _, r in v):7.0f} MiB")
    c = med["ccdproc 350MB"]
    for k in ("skycomb --compat ccdproc", "skycomb (IRAF default)"):
        print(f"  {k}: {c / med[k]:.1f}x faster than ccdproc 350MB; "
              f"{med[k] / med['floor: python read+write']:.2f}x the python read+write floor, "
              f"{med[k] / med['floor: cat + write']:.2f}x the cat+write floor")
    import numpy as np
    from astropy.io import fits
    ours_sum = float(np.nansum(fits.getdata(ours)[::97, ::89], dtype=np.float64))
    print(f"  checksum (bench_ccdproc formula): skycomb {ours_sum!r}, ccdproc {ccdproc_checksum!r}, "
          f"relative difference {abs(ours_sum - ccdproc_checksum) / abs(ccdproc_checksum):.2e}")


if __name__ == "__main__":
    main()
