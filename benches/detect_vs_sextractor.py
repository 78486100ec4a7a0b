#!/usr/bin/env python3
"""Detection quality: `skycomb detect` against SExtractor (source-extractor) on synthetic star
fields with known truth.

Usage (from the repository root; needs a release build and `apt-get install source-extractor`):
    /work/iraf-venv/bin/python benches/detect_vs_sextractor.py [--seeds 5] [--psf gauss|moffat]
        [--skycomb target/release/skycomb] [--keep DIR]

Makes, per seed (numpy, fixed seeds), a 512x512 float32 frame: sky 1000 ADU, gain 1.5 e-/ADU, read
noise 5 e-, Poisson + read noise; a Gaussian (or Moffat beta=3) PSF of FWHM 3 px, pixel-integrated;
300 isolated-by-chance stars with fluxes log-uniform over aperture S/N 3..1000, plus 15 close pairs
4-6 px apart and 15 pairs 6-8 px apart (primary S/N 30..1000, companion flux x0.7..1.4); then cosmic
rays (one- and two-pixel hits of 100-5000 ADU, log-uniform, ~1 hit per 2000 px). FITS headers carry
GAIN and RDNOISE (e-). Frames are written to a temporary directory; the truth stays in memory.

S/N of a true star (ADU): flux / sqrt(flux/gain + npix*(sky/gain + rn^2/gain^2)), npix = pi*FWHM^2
(an aperture of radius FWHM), with the total flux.

Runs `skycomb detect FILE --json` (x, y FITS 1-based) at several --threshold values, and
source-extractor (XWIN_IMAGE, YWIN_IMAGE, 1-based; DETECT_MINAREA 5, default.conv filter) at several
DETECT_THRESH values, so that completeness can also be compared at a similar false-detection rate.
Detections are matched one-to-one to the truth, nearest first, within 1.5 px. Reports per tool and
threshold: completeness in S/N bins (stars with no comparable neighbour within 12 px) and overall; false detections per frame (unmatched detections), split into
those on a cosmic ray (within 1.5 px of a hit pixel), those near a true star (within 5 px: split or
offset detections of a star or a pair) and the rest (noise); completeness of S/N>30 stars whose
nearest comparable neighbour (flux >= 1/4 of theirs) is 4-6 / 6-8 / 8-12 / >12 px away; median
position error of matched stars (all, and S/N>30); median detected/true flux for S/N>30.
"""
import argparse, json, math, os, shutil, subprocess, sys, tempfile, time
import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

N = 512
SKY, GAIN, RN, FWHM = 1000.0, 1.5, 5.0, 3.0
NPIX = math.pi * FWHM**2
N_SINGLE, N_PAIR = 300, 15
CR_RATE = 1 / 2000
MATCH_R = 1.5
SN_BINS = [3, 5, 7, 10, 20, 50, 200, 1001]
SKY_THRESH = [3, 4, 5, 7]
SEX_THRESH = [1.2, 1.5, 2, 3, 5]
SEX_SHARE = "/usr/share/source-extractor"


def snr(f):
    return f / np.sqrt(f / GAIN + NPIX * (SKY / GAIN + RN**2 / GAIN**2))


def flux_for_snr(s):
    # f^2 = s^2 (f/g + B)  ->  f = (s^2/g + sqrt(s^4/g^2 + 4 s^2 B)) / 2
    b = NPIX * (SKY / GAIN + RN**2 / GAIN**2)
    return (s * s / GAIN + math.sqrt(s**4 / GAIN**2 + 4 * s * s * b)) / 2


def psf_stamp(psf, dx, dy, half, osamp=5):
    """Unit-flux PSF centred at (dx, dy) relative to the stamp centre, pixel-integrated."""
    o = (np.arange(osamp) + 0.5) / osamp - 0.5
    g = np.arange(-half, half + 1)
    xs = (g[:, None] + o[None, :]).ravel() - dx
    ys = (g[:, None] + o[None, :]).ravel() - dy
    r2 = xs[None, :] ** 2 + ys[:, None] ** 2
    if psf == "gauss":
        s = FWHM / (2 * math.sqrt(2 * math.log(2)))
        v = np.exp(-r2 / (2 * s * s)) / (2 * math.pi * s * s)
    else:
        beta = 3.0
        a = FWHM / (2 * math.sqrt(2 ** (1 / beta) - 1))
        v = (beta - 1) / (math.pi * a * a) * (1 + r2 / (a * a)) ** (-beta)
    m = 2 * half + 1
    return v.reshape(m, osamp, m, osamp).mean(axis=(1, 3))


def make_field(seed, psf):
    rng = np.random.default_rng(1000 + seed)
    lo, hi = flux_for_snr(3), flux_for_snr(1000)
    stars = []
    for _ in range(N_SINGLE):
        stars.append((rng.uniform(8, N - 9), rng.uniform(8, N - 9), math.exp(rng.uniform(math.log(lo), math.log(hi)))))
    plo = flux_for_snr(30)
    for sep_lo, sep_hi in ((4, 6), (6, 8)):
        for _ in range(N_PAIR):
            x, y = rng.uniform(14, N - 15), rng.uniform(14, N - 15)
            f = math.exp(rng.uniform(math.log(plo), math.log(hi)))
            d, a = rng.uniform(sep_lo, sep_hi), rng.uniform(0, 2 * math.pi)
            stars.append((x, y, f))
            stars.append((x + d * math.cos(a), y + d * math.sin(a), f * rng.uniform(0.7, 1.4)))
    truth = np.array(stars)
    img = np.full((N, N), SKY)
    half = 12 if psf == "gauss" else 30
    for x, y, f in truth:
        ix, iy = int(round(x)), int(round(y))
        st = f * psf_stamp(psf, x - ix, y - iy, half)
        y0, y1, x0, x1 = iy - half, iy + half + 1, ix - half, ix + half + 1
        cy0, cy1, cx0, cx1 = max(y0, 0), min(y1, N), max(x0, 0), min(x1, N)
        img[cy0:cy1, cx0:cx1] += st[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
    img = rng.poisson(img * GAIN) / GAIN + rng.normal(0, RN / GAIN, img.shape)
    # cosmic rays: half one-pixel, half two-pixel (an 8-neighbour), amplitudes log-uniform 100..5000
    ncr = int(round(N * N * CR_RATE))
    cr = []
    for k in range(ncr):
        x, y = int(rng.integers(1, N - 1)), int(rng.integers(1, N - 1))
        pix = [(x, y)]
        if k % 2:
            dx, dy = [(1, 0), (0, 1), (1, 1), (1, -1)][rng.integers(4)]
            pix.append((x + dx, y + dy))
        for px, py in pix:
            img[py, px] += math.exp(rng.uniform(math.log(100), math.log(5000)))
            cr.append((px, py))
    return img.astype(np.float32), truth, np.array(cr, float)


def write_fits(path, img):
    h = fits.Header()
    h["GAIN"] = (GAIN, "e-/ADU")
    h["RDNOISE"] = (RN, "read noise, e-")
    fits.PrimaryHDU(img, header=h).writeto(path, overwrite=True)


def run(cmd, cwd=None):
    # the release binary may be rebuilt under us: retry a few times before giving up
    for attempt in range(5):
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout
        time.sleep(3)
    sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")


def skycomb_detect(exe, path, thresh):
    out = json.loads(run([exe, "detect", path, "--json", "--threshold", str(thresh)]))
    s = out["stars"]
    # FITS 1-based -> 0-based numpy
    return np.array([[d["x"] - 1, d["y"] - 1, d["flux"]] for d in s]).reshape(-1, 3)


def sex_detect(path, thresh, work):
    par = os.path.join(work, "det.param")
    if not os.path.exists(par):
        with open(par, "w") as o:
            o.write("XWIN_IMAGE\nYWIN_IMAGE\nFLUX_AUTO\nFWHM_IMAGE\nFLAGS\n")
    cat = os.path.join(work, "sex.cat")
    run(["source-extractor", path, "-c", os.path.join(SEX_SHARE, "default.sex"),
         "-CATALOG_NAME", cat, "-CATALOG_TYPE", "ASCII_HEAD", "-PARAMETERS_NAME", par,
         "-FILTER", "Y", "-FILTER_NAME", os.path.join(SEX_SHARE, "default.conv"),
         "-STARNNW_NAME", os.path.join(SEX_SHARE, "default.nnw"),
         "-DETECT_THRESH", str(thresh), "-ANALYSIS_THRESH", str(thresh), "-DETECT_MINAREA", "5",
         "-GAIN_KEY", "GAIN", "-SATUR_LEVEL", "1e9", "-CHECKIMAGE_TYPE", "NONE",
         "-VERBOSE_TYPE", "QUIET", "-WRITE_XML", "N"], cwd=work)
    a = np.loadtxt(cat, comments="#", ndmin=2)
    if a.size == 0:
        return np.zeros((0, 3)), np.zeros(0)
    # XWIN/YWIN are FITS 1-based -> 0-based
    return np.column_stack([a[:, 0] - 1, a[:, 1] - 1, a[:, 2]]), a[:, 4]


def match(truth, det):
    """One-to-one, nearest first, within MATCH_R. Returns det index per truth (-1) and truth per det."""
    ti = np.full(len(truth), -1)
    di = np.full(len(det), -1)
    if len(det) == 0:
        return ti, di
    d = np.hypot(truth[:, None, 0] - det[None, :, 0], truth[:, None, 1] - det[None, :, 1])
    t, k = np.nonzero(d <= MATCH_R)
    for j in np.argsort(d[t, k], kind="stable"):
        if ti[t[j]] < 0 and di[k[j]] < 0:
            ti[t[j]], di[k[j]] = k[j], t[j]
    return ti, di


def neighbour_dist(truth):
    """Distance to the nearest other true star with at least 1/4 of this star's flux."""
    d = np.hypot(truth[:, None, 0] - truth[None, :, 0], truth[:, None, 1] - truth[None, :, 1])
    np.fill_diagonal(d, np.inf)
    d[truth[None, :, 2] < truth[:, None, 2] / 4] = np.inf
    return d.min(axis=1)


def nearest(pts, ref):
    if len(ref) == 0 or len(pts) == 0:
        return np.full(len(pts), np.inf)
    return np.hypot(pts[:, None, 0] - ref[None, :, 0], pts[:, None, 1] - ref[None, :, 1]).min(axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--psf", choices=["gauss", "moffat"], default="gauss")
    ap.add_argument("--skycomb", default=os.path.join(ROOT, "target", "release", "skycomb"))
    ap.add_argument("--keep", help="write the frames here and keep them (default: a temp dir)")
    a = ap.parse_args()
    if shutil.which("source-extractor") is None:
        sys.exit("source-extractor not found: install it with `apt-get install -y source-extractor`")
    if not os.path.isfile(os.path.join(SEX_SHARE, "default.conv")):
        sys.exit(f"{SEX_SHARE}/default.conv missing: is the Debian source-extractor package installed?")
    if not os.access(a.skycomb, os.X_OK):
        sys.exit(f"skycomb binary not found at {a.skycomb}: build it (cargo build --release) or pass --skycomb")

    work = a.keep or tempfile.mkdtemp(prefix="skycomb_detect_bench_")
    os.makedirs(work, exist_ok=True)
    configs = [("skycomb", t) for t in SKY_THRESH] + [("sextractor", t) for t in SEX_THRESH]
    acc = {c: {"found": [], "sn": [], "nb": [], "err": [], "fratio": [], "false": [0, 0, 0],
               "dxy": [], "flags": 0, "ndet": 0, "missed_bright": []} for c in configs}
    all_sn = []
    t_tool = {"skycomb": 0.0, "sextractor": 0.0}
    try:
        for seed in range(a.seeds):
            img, truth, cr = make_field(seed, a.psf)
            path = os.path.join(work, f"field_{seed}.fits")
            write_fits(path, img)
            sn = snr(truth[:, 2])
            nb = neighbour_dist(truth)
            all_sn.append(sn)
            for c in configs:
                tool, th = c
                t0 = time.perf_counter()
                if tool == "skycomb":
                    det, flags = skycomb_detect(a.skycomb, path, th), None
                else:
                    det, flags = sex_detect(path, th, work)
                t_tool[tool] += time.perf_counter() - t0
                if seed == 0 and th == 5 and len(det):
                    k = int(np.argmin(np.hypot(truth[:, 0] - det[0, 0], truth[:, 1] - det[0, 1])))
                    print(f"sample {tool}@5 (seed 0): first detection 0-based ({det[0, 0]:.3f}, {det[0, 1]:.3f}) "
                          f"flux {det[0, 2]:.0f}; nearest truth ({truth[k, 0]:.3f}, {truth[k, 1]:.3f}) flux {truth[k, 2]:.0f}")
                ti, di = match(truth, det)
                r = acc[c]
                r["ndet"] += len(det)
                if flags is not None:
                    r["flags"] += int(np.count_nonzero(flags))
                ok = ti >= 0
                r["found"].append(ok)
                r["sn"].append(sn)
                r["nb"].append(nb)
                m = det[ti[ok]]
                r["err"].append(np.column_stack([np.hypot(m[:, 0] - truth[ok, 0], m[:, 1] - truth[ok, 1]), sn[ok]]))
                r["dxy"].append(m[:, :2] - truth[ok, :2])
                b = ok & (sn > 30)
                r["fratio"].append(det[ti[b], 2] / truth[b, 2])
                fd = det[di < 0]
                on_cr = nearest(fd, cr) <= MATCH_R
                near_star = ~on_cr & (nearest(fd, truth) <= 5)
                r["false"][0] += int(on_cr.sum())
                r["false"][1] += int(near_star.sum())
                r["false"][2] += int((~on_cr & ~near_star).sum())
                # why S/N>30 stars were lost: a close neighbour, a cosmic ray on the star, or neither
                for t in np.nonzero(~ok & (sn > 30))[0]:
                    crd = nearest(truth[t:t + 1, :2], cr)[0]
                    why = "nb<5" if nb[t] < 5 else "nb5-8" if nb[t] < 8 else "nb8-12" if nb[t] < 12 else "cr<3" if crd < 3 else "other"
                    gone = nearest(truth[t:t + 1, :2], det[:, :2])[0] > 3
                    r["missed_bright"].append((why, gone))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    nf = a.seeds
    sn_all = np.concatenate(all_sn)
    print(f"\n{nf} frames {N}x{N}, {a.psf} PSF FWHM {FWHM}, {len(sn_all) // nf} stars/frame, "
          f"~{int(N * N * CR_RATE)} cosmic rays/frame; match radius {MATCH_R} px")
    print(f"wall time: skycomb {t_tool['skycomb']:.1f} s, source-extractor {t_tool['sextractor']:.1f} s "
          f"({len(SKY_THRESH)} / {len(SEX_THRESH)} thresholds x {nf} frames)\n")

    bins = list(zip(SN_BINS[:-1], SN_BINS[1:]))
    nb_all = np.concatenate(acc[configs[0]]["nb"])
    iso = nb_all >= 12
    counts = [int(((sn_all >= lo) & (sn_all < hi) & iso).sum()) for lo, hi in bins]
    head = ["tool @ thresh"] + [f"S/N {lo}-{hi if hi < 1001 else 1000} (n={n})" for (lo, hi), n in zip(bins, counts)] + \
           [f"all stars, any S/N (n={len(sn_all)})"]
    print("Completeness by S/N, stars with no comparable neighbour (flux >= 1/4 of theirs) within 12 px\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for c in configs:
        r = acc[c]
        f, s = np.concatenate(r["found"]), np.concatenate(r["sn"])
        cells = [f"{f[(s >= lo) & (s < hi) & iso].mean() * 100:.1f}%" for lo, hi in bins] + [f"{f.mean() * 100:.1f}%"]
        print(f"| {c[0]} @ {c[1]} | " + " | ".join(cells) + " |")

    s, nb = np.concatenate(acc[configs[0]]["sn"]), np.concatenate(acc[configs[0]]["nb"])
    groups = [("nb 4-6", (nb >= 4) & (nb < 6)), ("nb 6-8", (nb >= 6) & (nb < 8)), ("nb 8-12", (nb >= 8) & (nb < 12)), ("nb >12", nb >= 12)]
    head = ["tool @ thresh", "dets/frame", "false/frame", "on CR", "near star", "noise"] + \
           [f"S/N>30 {g} (n={int((m & (s > 30)).sum())})" for g, m in groups] + \
           ["med pos err", "med err S/N>30", "mean dx, dy", "flux ratio S/N>30"]
    print("\nFalse detections, crowding, astrometry\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for c in configs:
        r = acc[c]
        f = np.concatenate(r["found"])
        fa = r["false"]
        e = np.concatenate(r["err"])
        dxy = np.concatenate(r["dxy"])
        cells = [f"{r['ndet'] / nf:.1f}", f"{sum(fa) / nf:.1f}", f"{fa[0] / nf:.1f}", f"{fa[1] / nf:.1f}", f"{fa[2] / nf:.1f}"]
        cells += [f"{f[m & (s > 30)].mean() * 100:.1f}%" for _, m in groups]
        cells += [f"{np.median(e[:, 0]):.3f}", f"{np.median(e[e[:, 1] > 30, 0]):.3f}",
                  f"{dxy[:, 0].mean():+.3f}, {dxy[:, 1].mean():+.3f}",
                  f"{np.median(np.concatenate(r['fratio'])):.3f}"]
        print(f"| {c[0]} @ {c[1]} | " + " | ".join(cells) + " |")

    print("\nS/N>30 stars missed, by cause (nearest comparable neighbour < 5 / 5-8 / 8-12 px; else cosmic ray within 3 px; other):")
    for c in configs:
        m = acc[c]["missed_bright"]
        parts = ", ".join(f"{k} {sum(w == k for w, _ in m)}" for k in ("nb<5", "nb5-8", "nb8-12", "cr<3", "other"))
        parts += f"; {sum(g for _, g in m)} with no detection at all within 3 px"
        extra = f"; SExtractor FLAGS!=0 on {acc[c]['flags']} detections" if c[0] == "sextractor" else ""
        print(f"  {c[0]} @ {c[1]}: {len(m)} missed ({parts}){extra}")


if __name__ == "__main__":
    main()
