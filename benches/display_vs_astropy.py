#!/usr/bin/env python3
"""Side-by-side: skycomb's display path (benches/display.rs: the real app in its real window, eframe
with glow, vsync off; under Xvfb that is Mesa's software llvmpipe, no GPU) against the same steps done
with astropy.visualization and numpy, on the same two 4096x4096 frames (one BITPIX=16 raw frame with
BZERO=32768, one float32 frame).

Usage (from the repository root):
    python3 -m venv ../oracle-venv && ../oracle-venv/bin/pip install -r ../shared/oracle/pip_freeze.txt
    ../oracle-venv/bin/python benches/display_vs_astropy.py [--size 4096] [--rounds 3]

It starts `Xvfb :97` when DISPLAY is not set. Each round runs skycomb's bench process (5 repeats of
every step inside) and then the astropy steps (5 repeats each) in this process; medians over all
rounds. What each side does:
  first display   skycomb: select the row -> read (cfitsio) -> zscale -> the part in view drawn at
                  screen resolution and shown ("in view"), then every pixel as RGBA tiles uploaded
                  as textures, and the histogram ("whole"). Both are timed to the start of the frame
                  after the one that showed them. astropy: fits.getdata -> ZScaleInterval ->
                  np.histogram (256 bins) -> normalise and LinearStretch (ImageNormalize's steps) -> 8-bit grey -> RGBA.
  stretch change  sqrt, log, asinh, linear in turn on the frame in memory (astropy: to RGBA).
  interval change minmax, 99.5 %, zscale in turn: limits, histogram, RGBA.
  pan / zoom      skycomb: time between window frames while injected mouse moves drag the image (or
                  wheel steps zoom it): UI, tessellation, glow drawing, buffer swap. Also while a
                  reduce step combines ten 4096x4096 frames (bench_ccdproc's files) in the background. astropy/numpy:
                  the visible 1000x800 part resampled to the screen from the RGBA image (what a viewer
                  that draws at screen resolution does per frame, before any drawing), so the peer's
                  number is a floor for a Python viewer.
"""
import argparse, json, os, statistics, subprocess, sys, time

import numpy as np
from astropy.io import fits
from astropy.visualization import (AsinhStretch, LinearStretch, LogStretch,
                                   MinMaxInterval, PercentileInterval, SqrtStretch, ZScaleInterval)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_frames(folder, size, seed=7):
    """Two frames of a star field: raw 16-bit counts and a float32 (calibrated-looking) one."""
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, n) for n in ("raw16.fits", "float32.fits")]
    if all(os.path.exists(p) for p in paths):
        return paths
    rng = np.random.default_rng(seed)
    sky = 1200.0 + 30.0 * np.linspace(0, 1, size)[None, :]
    img = rng.normal(sky, 12.0, (size, size)).astype(np.float32)
    yy, xx = np.mgrid[-7:8, -7:8]
    for x, y, f in zip(rng.uniform(8, size - 8, 3000), rng.uniform(8, size - 8, 3000),
                       rng.lognormal(8, 1.2, 3000)):
        ix, iy = int(x), int(y)
        psf = np.exp(-((xx - (x - ix)) ** 2 + (yy - (y - iy)) ** 2) / (2 * 1.8 ** 2))
        img[iy - 7:iy + 8, ix - 7:ix + 8] += (f * psf / psf.sum()).astype(np.float32)
    raw = np.clip(np.round(img), 0, 65535).astype(np.uint16)
    hdr = fits.Header({"IMAGETYP": "object", "FILTER": "R", "EXPTIME": 60.0})
    fits.PrimaryHDU(raw, hdr).writeto(paths[0], overwrite=True)  # astropy writes BZERO=32768
    fits.PrimaryHDU((img - 1200.0) / 60.0, hdr).writeto(paths[1], overwrite=True)
    return paths


GREY = np.empty((256, 4), np.uint8)
GREY[:, :3] = np.arange(256, dtype=np.uint8)[:, None]
GREY[:, 3] = 255


def to_rgba(data, vmin, vmax, stretch):
    # what ImageNormalize(vmin, vmax, stretch, clip=True) does (it needs matplotlib, absent here)
    t = (np.asarray(data, dtype=np.float64) - vmin) / (vmax - vmin)
    grey = (np.nan_to_num(stretch(t, clip=True)) * 255.0).astype(np.uint8)
    return GREY[grey[::-1]]


def limits_histogram_rgba(data, interval, stretch):
    lo, hi = interval.get_limits(data)
    margin = (hi - lo) / 4.0
    np.histogram(data, 256, range=(lo - margin, hi + margin))
    return to_rgba(data, lo, hi, stretch)


def first_display(path):
    data = fits.getdata(path)
    return data, limits_histogram_rgba(data, ZScaleInterval(), LinearStretch())


def screen_frame(rgba, centre, zoom, w=1000, h=800):
    rows = np.clip((centre[1] + (np.arange(h) - h / 2) / zoom).astype(np.intp), 0, rgba.shape[0] - 1)
    cols = np.clip((centre[0] + (np.arange(w) - w / 2) / zoom).astype(np.intp), 0, rgba.shape[1] - 1)
    return rgba[rows[:, None], cols[None, :]]


def timed(f, *args):
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t


def peer(paths, repeats):
    first = [timed(first_display, paths[(r + 1) % 2]) for r in range(repeats)]
    data, rgba = first_display(paths[1])
    lo, hi = ZScaleInterval().get_limits(data)
    stretch = [timed(limits_histogram_rgba, data, ZScaleInterval(), s)
               for _ in range(repeats) for s in (SqrtStretch(), LogStretch(), AsinhStretch(), LinearStretch())]
    interval = [timed(limits_histogram_rgba, data, i, LinearStretch())
                for _ in range(repeats) for i in (MinMaxInterval(), PercentileInterval(99.5), ZScaleInterval())]
    n = data.shape[0]
    fit = 800 / n
    pan = [timed(screen_frame, rgba, (n / 2 + 4 * (i % 30) / fit, n / 2), fit) for i in range(120)]
    zoom = [timed(screen_frame, rgba, (n / 2, n / 2), fit * 1.1 ** (i % 30)) for i in range(120)]
    return {"first_display_ms": [s * 1e3 for s in first],
            "stretch_change_ms": [s * 1e3 for s in stretch],
            "interval_change_ms": [s * 1e3 for s in interval],
            "pan_frame_ms": [s * 1e3 for s in pan], "zoom_frame_ms": [s * 1e3 for s in zoom]}


def ours(folder, combine_folder):
    cmd = ["cargo", "bench", "-q", "--bench", "display", "--", folder, combine_folder]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"skycomb bench failed: {p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "target", "bench_display"))
    a = ap.parse_args()
    paths = make_frames(a.data_dir, a.size)
    # ten frames to combine while the window is panned (../shared/oracle/bench_ccdproc.py's files)
    sys.path.insert(0, os.path.join(ROOT, "..", "shared", "oracle"))
    import bench_ccdproc
    combine_files = bench_ccdproc.make_data(os.path.join(ROOT, "target", "bench_data"), a.size, 10)
    combine_folder = os.path.dirname(combine_files[0])
    subprocess.run(["cargo", "bench", "--bench", "display", "--no-run"], cwd=ROOT, check=True,
                   capture_output=True)
    if not os.environ.get("DISPLAY"):
        subprocess.Popen(["Xvfb", ":97", "-screen", "0", "1400x900x24"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        os.environ["DISPLAY"] = ":97"
        time.sleep(1)
    s, p = [], []
    for r in range(a.rounds):
        s.append(ours(a.data_dir, combine_folder))
        p.append(peer(paths, 5))
        print(f"round {r + 1}: skycomb {json.dumps(s[-1])}", file=sys.stderr)
    med = statistics.median

    def theirs(key):
        return med(v for x in p for v in x[key])

    rows = [
        ("file -> first display, in view", "first_display_ms_median", "first_display_ms"),
        ("file -> first display, whole", "first_display_ms_whole_median", "first_display_ms"),
        ("stretch change, in view", "stretch_change_ms_median", "stretch_change_ms"),
        ("stretch change, whole", "stretch_change_ms_whole_median", "stretch_change_ms"),
        ("interval change, in view", "interval_change_ms_median", "interval_change_ms"),
        ("interval change, whole", "interval_change_ms_whole_median", "interval_change_ms"),
        ("pan, one frame", "pan_frame_ms_median", "pan_frame_ms"),
        ("zoom, one frame", "zoom_frame_ms_median", "zoom_frame_ms"),
    ]
    print(f"{a.size}x{a.size}, {a.rounds} rounds, medians in ms")
    print(f"{'step':34} {'skycomb':>9} {'astropy':>9} {'ratio':>7}")
    for name, key, peer_key in rows:
        ours_ms, peer_ms = med(x[key] for x in s), theirs(peer_key)
        print(f"{name:34} {ours_ms:9.1f} {peer_ms:9.1f} {peer_ms / ours_ms:6.1f}x")
    print(f"skycomb frames per second: pan {med(x['pan_fps'] for x in s):.0f}, "
          f"zoom {med(x['zoom_fps'] for x in s):.0f}; colormap change in view "
          f"{med(x['colormap_change_ms_median'] for x in s):.0f} ms, histogram equalisation "
          f"{med(x['histeq_change_ms_median'] for x in s):.0f} ms")
    print(f"skycomb while combining 10 frames of {a.size}x{a.size} (a reduce step): pan "
          f"{med(x['pan_during_combine_fps'] for x in s):.0f} frames per second, frame "
          f"{med(x['pan_during_combine_frame_ms_median'] for x in s):.1f} ms median, "
          f"{max(x['pan_during_combine_frame_ms_worst'] for x in s):.0f} ms worst")
    worst = {k: round(max(x[k] for x in s), 1) for k in s[0] if k.endswith("_worst")}
    print("skycomb worst single times (ms):", json.dumps(worst))


if __name__ == "__main__":
    main()
