#!/usr/bin/env python3
"""Side-by-side: `skycomb stack` against SWarp on the same dithered frames, in one run.

Usage (from the repository root, after `cargo build --release`; SWarp is Debian's `swarp` package,
binary `SWarp` or `swarp`):
    python3 -m venv ../bench-venv && ../bench-venv/bin/pip install numpy astropy
    ../bench-venv/bin/python benches/stack_vs_swarp.py [--frames 7] [--size 2048] [--repeats 5]
    ../bench-venv/bin/python benches/stack_vs_swarp.py --quick      # 3 frames of 512x512, 1 repeat

Makes N float32 frames of S x S of one synthetic star field (about 3000 Gaussian stars of FWHM 3 px per
2048x2048, sky 1000, Gaussian noise sigma 30), each dithered by a random sub-pixel shift of up to
+-15 px in x and y (the first frame is not shifted), each with a TAN WCS (CRVAL 132.825, 11.8;
0.5 arcsec/px, north up, east left) whose CRPIX carries the shift, so that the WCS says exactly
where every star is. Then it alternates, each in a fresh process, R times:
  skycomb lanczos3   skycomb stack FRAMES -o OUT --offsets wcs --shift lanczos3 --sky none
                     --canvas reference --method average --overwrite       (no rejection, no scaling)
  skycomb bilinear   the same with --shift bilinear
  swarp lanczos3     SWarp FRAMES -c swarp.conf -RESAMPLING_TYPE LANCZOS3   (config below: AVERAGE,
                     no background subtraction, no flux scaling, onto the first frame's own grid)
  swarp bilinear     the same with -RESAMPLING_TYPE BILINEAR
Each figure is the whole process: wall time from time.perf_counter() around the start and the reap
of the child, and that child's own peak RSS (os.wait4's rusage). SWarp writes every resampled frame
(and its weight map) to RESAMPLE_DIR and reads them back to co-add: that is part of how it works, so
it is part of its time; the folder is emptied between runs, outside the timing. The output grid of
both tools is the first frame's (skycomb --canvas reference; SWarp CENTER_TYPE MANUAL at the first
frame's CRVAL, which sits on SWarp's output CRPIX, PIXEL_SCALE 0.5, IMAGE_SIZE S,S), so the two
stacks can be compared pixel for pixel: the script checks that the output grids coincide, the
correlation of the two images away from the edges, and the centroids of the brightest isolated stars
in each stack against the positions they were put at.

One pair can also be reproduced with any whole-process timer, e.g. /usr/bin/time -v on each command
printed under "commands" (the work folder is kept with --keep).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CRVAL = (132.825, 11.8)
SCALE = 0.5  # arcsec per pixel
SKY, NOISE, FWHM, MAX_SHIFT = 1000.0, 30.0, 3.0, 15.0


def swarp_crpix(size):
    # SWarp puts the CENTER it is given on CRPIX (size+1)/2 of its output (the middle of the image;
    # the sanity check reads it back); the reference frame's CRPIX is put there too.
    return (size + 1) / 2


def make_frames(workdir, n, size, seed=12345):
    rng = np.random.default_rng(seed)
    nstars = max(200, int(3000 * (size / 2048) ** 2))
    pad = MAX_SHIFT + 10
    # Positions on the reference frame's grid (0-based pixels), flux log-uniform.
    xs = rng.uniform(-pad, size - 1 + pad, nstars)
    ys = rng.uniform(-pad, size - 1 + pad, nstars)
    flux = 10 ** rng.uniform(2.5, 5.0, nstars)
    shifts = [(0.0, 0.0)] + [tuple(rng.uniform(-MAX_SHIFT, MAX_SHIFT, 2)) for _ in range(n - 1)]
    sig = FWHM / 2.3548
    r = 7
    c0 = swarp_crpix(size)
    files = []
    for i, (dx, dy) in enumerate(shifts):
        img = rng.normal(SKY, NOISE, (size, size)).astype(np.float32)
        for x, y, f in zip(xs + dx, ys + dy, flux):
            ix, iy = int(round(x)), int(round(y))
            x0, x1, y0, y1 = max(ix - r, 0), min(ix + r + 1, size), max(iy - r, 0), min(iy + r + 1, size)
            if x0 >= x1 or y0 >= y1:
                continue
            gx = np.exp(-0.5 * ((np.arange(x0, x1) - x) / sig) ** 2)
            gy = np.exp(-0.5 * ((np.arange(y0, y1) - y) / sig) ** 2)
            img[y0:y1, x0:x1] += (f / (2 * np.pi * sig * sig)) * np.outer(gy, gx).astype(np.float32)
        h = fits.Header()
        h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
        h["CRVAL1"], h["CRVAL2"] = CRVAL
        # A star at reference pixel p lies at p + (dx, dy) in this frame: the sky point of the
        # reference's CRPIX moves with it.
        h["CRPIX1"], h["CRPIX2"] = c0 + dx, c0 + dy
        h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = -SCALE / 3600, 0.0, 0.0, SCALE / 3600
        h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
        h["RADESYS"], h["EQUINOX"] = "ICRS", 2000.0
        h["EXPTIME"], h["IMAGETYP"], h["OBJECT"] = 60.0, "LIGHT", "synthetic field"
        h["DITHERX"], h["DITHERY"] = dx, dy
        path = os.path.join(workdir, f"frame{i:02d}.fits")
        fits.PrimaryHDU(img, h).writeto(path, overwrite=True)
        files.append(path)
    return files, shifts, (xs, ys, flux)


def swarp_config(path, size, resdir, threads):
    cfg = {
        "IMAGEOUT_NAME": "coadd.fits", "WEIGHTOUT_NAME": os.path.join(resdir, "coadd.weight.fits"),
        "WEIGHT_TYPE": "NONE", "COMBINE": "Y", "COMBINE_TYPE": "AVERAGE",
        "CELESTIAL_TYPE": "NATIVE", "PROJECTION_TYPE": "TAN", "PROJECTION_ERR": "0.001",
        "CENTER_TYPE": "MANUAL", "CENTER": f"{CRVAL[0]:.6f},{CRVAL[1]:.6f}",
        "PIXELSCALE_TYPE": "MANUAL", "PIXEL_SCALE": f"{SCALE}", "IMAGE_SIZE": f"{size},{size}",
        "RESAMPLE": "Y", "RESAMPLE_DIR": resdir, "RESAMPLING_TYPE": "LANCZOS3", "OVERSAMPLING": "1",
        "INTERPOLATE": "N", "FSCALASTRO_TYPE": "NONE", "SUBTRACT_BACK": "N",
        "VMEM_DIR": resdir, "DELETE_TMPFILES": "Y", "WRITE_XML": "N", "VERBOSE_TYPE": "QUIET",
        "NTHREADS": str(threads),
    }
    with open(path, "w") as fh:
        for k, v in cfg.items():
            fh.write(f"{k:20s} {v}\n")
    return cfg


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run(cmd, cwd, log):
    """Whole-process wall time (s) and the child's own peak RSS (MiB).

    The peak RSS comes from /usr/bin/time when it is there: a child forked straight from this
    Python process (numpy, astropy and the frames loaded) reports at least this process's RSS,
    since Linux keeps the pre-exec high-water mark; a child of /usr/bin/time starts from ~2 MiB."""
    full = [TIME, "-f", "PEAKRSS %M", "-o", log + ".rss"] + cmd if TIME else cmd
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        with open(log, errors="replace") as fh:
            raise SystemExit(f"{cmd[:3]}... failed ({p.returncode}): {fh.read()[-2000:]}")
    rss_kb = ru.ru_maxrss
    if TIME:
        with open(log + ".rss") as fh:
            rss_kb = int(next(l for l in fh if l.startswith("PEAKRSS")).split()[1])
    return wall, rss_kb / 1024


def centroid(img, x, y, r=4):
    ix, iy = int(round(x)), int(round(y))
    cut = img[iy - r:iy + r + 1, ix - r:ix + r + 1].astype(np.float64)
    ring = np.concatenate([img[iy - r - 3:iy + r + 4, ix - r - 3].ravel(), img[iy - r - 3:iy + r + 4, ix + r + 3].ravel()])
    cut = np.clip(cut - np.nanmedian(ring), 0, None)
    yy, xx = np.mgrid[iy - r:iy + r + 1, ix - r:ix + r + 1]
    s = cut.sum()
    return (xx * cut).sum() / s, (yy * cut).sum() / s


def sanity(outs, size, truth, reference):
    from astropy.wcs import WCS
    xs, ys, flux = truth
    print("sanity checks")
    ref_wcs = WCS(fits.getheader(reference), naxis=2)
    imgs = {}
    for name, path in outs.items():
        with fits.open(path) as hl:
            hdu = hl[0]
            img = hdu.data.astype(np.float64)
            h = hdu.header
        imgs[name] = img
        if "CRPIX1" in h:
            # Where this output's pixel (1,1) falls on the reference frame's grid: (1,1) if they coincide.
            wo = WCS(h, naxis=2)
            px = ref_wcs.all_world2pix(wo.all_pix2world([[1.0, 1.0]], 1), 1)[0]
            grid = f"CRPIX ({h['CRPIX1']}, {h['CRPIX2']}), its (1,1) at reference ({px[0]:.4f}, {px[1]:.4f})"
        else:
            grid = "no WCS in the header"
        m = (slice(30, -30), slice(30, -30))
        print(f"  {name:17s} {img.shape[1]}x{img.shape[0]}  {grid}  median {np.nanmedian(img[m]):8.2f}  "
              f"NaN {int(np.isnan(img).sum())}")
    e = 2 * int(MAX_SHIFT) + 8  # away from the edges that not every frame covers
    core = (slice(e, -e), slice(e, -e))
    names = list(imgs)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = imgs[names[i]], imgs[names[j]]
            if a.shape != b.shape:
                print(f"  {names[i]} vs {names[j]}: shapes differ {a.shape} {b.shape}")
                continue
            d = np.abs(a - b)
            edge = d.copy()
            edge[core] = 0
            a, b, d = a[core].ravel(), b[core].ravel(), d[core].ravel()
            ok = np.isfinite(a) & np.isfinite(b)
            corr = np.corrcoef(a[ok], b[ok])[0, 1]
            print(f"  {names[i]} vs {names[j]}: {e} px from the edges: correlation {corr:.6f}, |diff| median "
                  f"{np.median(d[ok]):.4g} max {d[ok].max():.4g} (frame noise {NOISE:g}); in the {e} px edge strip: "
                  f"max {np.nanmax(edge):.4g}, {int(np.sum(edge > 0.1 * NOISE))} px differ by > {0.1 * NOISE:g}")
    # Bright stars with no other star (of any flux) within 12 px, well inside the frame.
    inside = (xs > e + 10) & (xs < size - e - 10) & (ys > e + 10) & (ys < size - e - 10)
    cand = [k for k in np.argsort(-flux) if inside[k]]
    chosen = []
    for k in cand:
        d = np.hypot(xs - xs[k], ys - ys[k])
        if np.sum(d < 12) == 1:
            chosen.append(k)
        if len(chosen) == 20:
            break
    cents = {n: np.array([centroid(img, xs[k], ys[k]) for k in chosen]) for n, img in imgs.items()}
    true = np.array([(xs[k], ys[k]) for k in chosen])
    for n, c in cents.items():
        d = np.hypot(*(c - true).T)
        print(f"  {n:17s} {len(chosen)} bright isolated stars: centroid - true position: "
              f"median {np.median(d):.3f} px, max {d.max():.3f} px, mean dx {np.mean(c[:, 0] - true[:, 0]):+.3f}, "
              f"mean dy {np.mean(c[:, 1] - true[:, 1]):+.3f}")
    sk, sw = cents.get("skycomb lanczos3"), cents.get("swarp lanczos3")
    if sk is not None and sw is not None:
        d = np.hypot(*(sk - sw).T)
        print(f"  skycomb lanczos3 vs swarp lanczos3 centroids: median {np.median(d):.3f} px, max {d.max():.3f} px")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=7)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 frames of 512x512, 1 repeat")
    ap.add_argument("--skycomb", default=os.path.join(ROOT, "target", "release", "skycomb"))
    ap.add_argument("--swarp", default=shutil.which("SWarp") or shutil.which("swarp"))
    ap.add_argument("--workdir", help="where the frames and outputs go (default: a new temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="SWarp's NTHREADS")
    a = ap.parse_args()
    if a.quick:
        a.frames, a.size, a.repeats = 3, 512, 1
    if not a.swarp:
        raise SystemExit("SWarp not found (apt-get install swarp), or give --swarp")
    skycomb = os.path.abspath(a.skycomb)
    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
        work = os.path.abspath(a.workdir)
    else:
        work = tempfile.mkdtemp(prefix="skycomb-stack-bench-")
    try:
        t0 = time.perf_counter()
        files, shifts, truth = make_frames(work, a.frames, a.size)
        print(f"made {a.frames} frames of {a.size}x{a.size} float32 in {work} ({time.perf_counter() - t0:.1f} s); "
              "dithers (px): " + ", ".join(f"({dx:+.2f},{dy:+.2f})" for dx, dy in shifts))
        resdir = os.path.join(work, "swarp_tmp")
        conf = os.path.join(work, "swarp.conf")
        swarp_config(conf, a.size, resdir, a.threads)
        outs = {n: os.path.join(work, n.replace(" ", "_") + ".fits") for n in
                ("skycomb lanczos3", "skycomb bilinear", "swarp lanczos3", "swarp bilinear")}
        common = ["--offsets", "wcs", "--sky", "none", "--canvas", "reference", "--method", "average", "--overwrite"]
        tasks = {
            "skycomb lanczos3": [skycomb, "stack", *files, "-o", outs["skycomb lanczos3"], "--shift", "lanczos3", *common],
            "skycomb bilinear": [skycomb, "stack", *files, "-o", outs["skycomb bilinear"], "--shift", "bilinear", *common],
            "swarp lanczos3": [a.swarp, *files, "-c", conf, "-IMAGEOUT_NAME", outs["swarp lanczos3"],
                               "-RESAMPLING_TYPE", "LANCZOS3"],
            "swarp bilinear": [a.swarp, *files, "-c", conf, "-IMAGEOUT_NAME", outs["swarp bilinear"],
                               "-RESAMPLING_TYPE", "BILINEAR"],
        }
        print("commands:")
        for n, c in tasks.items():
            print(f"  {n:17s} {' '.join(c)}")
        results = {n: [] for n in tasks}
        for rep in range(a.repeats):
            for n, cmd in tasks.items():
                if n.startswith("swarp"):
                    shutil.rmtree(resdir, ignore_errors=True)
                    os.makedirs(resdir)
                results[n].append(run(cmd, work, os.path.join(work, "log_" + n.replace(" ", "_") + ".txt")))
            print(f"  repeat {rep + 1}/{a.repeats}: " + ", ".join(f"{n} {v[-1][0]:.2f} s" for n, v in results.items()),
                  flush=True)
        shutil.rmtree(resdir, ignore_errors=True)
        print(f"{a.frames} frames of {a.size}x{a.size} float32, {a.repeats} alternating runs, {os.cpu_count()} cores, "
              f"SWarp NTHREADS {a.threads}, load {os.getloadavg()[0]:.2f}")
        med = {n: statistics.median(w for w, _ in v) for n, v in results.items()}
        for n, v in results.items():
            walls = [w for w, _ in v]
            print(f"  {n:17s} median {med[n]:8.2f} s  (min {min(walls):.2f}, max {max(walls):.2f})  "
                  f"peak RSS {max(r for _, r in v):7.0f} MiB")
        print(f"  skycomb lanczos3 / skycomb bilinear: {med['skycomb lanczos3'] / med['skycomb bilinear']:.2f}")
        print(f"  skycomb lanczos3 / swarp lanczos3:   {med['skycomb lanczos3'] / med['swarp lanczos3']:.2f}")
        print(f"  skycomb bilinear / swarp bilinear:   {med['skycomb bilinear'] / med['swarp bilinear']:.2f}")
        sanity(outs, a.size, truth, files[0])
    finally:
        if a.keep or a.workdir:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
