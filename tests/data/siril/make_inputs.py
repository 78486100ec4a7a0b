#!/usr/bin/env python3
"""Deterministic synthetic input frames for the Siril stacking reference data.

Writes float32 (BITPIX -32) FITS frames, 32 x 24 pixels (NAXIS1=32, NAXIS2=24),
values in [0, 1], into tests/data/siril/inputs/<set>/<set>_fNN.fits for the
sets n5, n7, n10 and n15, plus inputs/truth.json describing every injected
artefact (per-frame transparency/offset, stars, cosmic rays, cold pixel,
satellite trail) so that tests can reason about them.

Model of frame i (pixel values):
    frame = t_i * (SKY + stars) + o_i + noise + artefacts
    SKY = 0.1, t_i in [0.9, 1.1], o_i in [-0.01, 0.01], noise ~ N(0, 0.003)
Artefacts are added after the model, never on top of a star core, and the
final values are checked to lie in (0, 1] (Siril treats exact 0 as "no data"
in the rejection code and clips float data above 1 on output).

Run:  /work/iraf-venv/bin/python make_inputs.py   (from any directory)
"""
import json
import os

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
NX, NY = 32, 24          # FITS NAXIS1, NAXIS2 ; numpy arrays are [y, x]
SKY = 0.1
NOISE = 0.003
SEED = 20240611
SETS = [5, 7, 10, 15]


def gaussian_star(yy, xx, x0, y0, peak, sigma):
    return peak * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2.0 * sigma ** 2))


def make_set(n, rng):
    name = f"n{n}"
    yy, xx = np.mgrid[0:NY, 0:NX].astype(np.float64)

    # --- stars (same on all frames of the set) --------------------------------
    nstars = 3 if n in (5, 10) else 4
    star_pos = [(6.3, 5.7), (24.6, 17.2), (15.2, 11.8), (26.9, 4.4)][:nstars]
    peaks = [0.5, 0.05, 0.2, 0.1][:nstars]
    stars = []
    model = np.zeros((NY, NX))
    for (x0, y0), pk in zip(star_pos, peaks):
        x0 += rng.uniform(-0.3, 0.3)
        y0 += rng.uniform(-0.3, 0.3)
        sig = rng.uniform(1.0, 1.5)
        model += gaussian_star(yy, xx, x0, y0, pk, sig)
        stars.append({"x": round(x0, 4), "y": round(y0, 4), "peak": pk, "sigma": round(sig, 4)})
    # pixels close to a star core: no artefacts there
    near_star = np.zeros((NY, NX), bool)
    for s in stars:
        near_star |= (xx - s["x"]) ** 2 + (yy - s["y"]) ** 2 < 4.0 ** 2

    # --- per-frame photometric differences ------------------------------------
    trans = rng.uniform(0.9, 1.1, n)
    offs = rng.uniform(-0.01, 0.01, n)

    frames = []
    for i in range(n):
        f = trans[i] * (SKY + model) + offs[i] + rng.normal(0.0, NOISE, (NY, NX))
        frames.append(f)

    # --- cosmic rays: 1 or 2 hits on about 2/3 of the frames, all at distinct
    #     places (never the same pixel on two frames, never near a star core) ---
    used = np.zeros((NY, NX), bool)
    crs = []
    for i in range(n):
        nhits = int(rng.choice([0, 1, 1, 2]))
        for _ in range(nhits):
            while True:
                x = int(rng.integers(1, NX - 2))
                y = int(rng.integers(1, NY - 2))
                two = bool(rng.random() < 0.5)
                pix = [(y, x)] + ([(y, x + 1)] if two and rng.random() < 0.5 else
                                  [(y + 1, x)] if two else [])
                if any(used[p] or near_star[p] for p in pix):
                    continue
                break
            amp = float(rng.uniform(0.2, 0.6))
            for k, p in enumerate(pix):
                a = amp if k == 0 else amp * float(rng.uniform(0.5, 1.0))
                frames[i][p] += a
                used[max(p[0] - 1, 0):p[0] + 2, max(p[1] - 1, 0):p[1] + 2] = True
                crs.append({"frame": i, "x": p[1], "y": p[0], "amp": round(a, 5)})

    # --- one cold pixel (low outlier, -0.06) in the n10 and n15 sets ----------
    cold = []
    if n in (10, 15):
        i = n // 2
        while True:
            x = int(rng.integers(1, NX - 1))
            y = int(rng.integers(1, NY - 1))
            if not used[y, x] and not near_star[y, x]:
                break
        frames[i][y, x] -= 0.06
        used[y, x] = True
        cold.append({"frame": i, "x": x, "y": y, "amp": -0.06})

    # --- satellite trail across one frame of the n10 set ----------------------
    trail = None
    if n == 10:
        i = 3
        # line from (x=0, y=2.0) to (x=31, y=21.0); one pixel per column
        ys = np.rint(2.0 + (21.0 - 2.0) * np.arange(NX) / (NX - 1)).astype(int)
        for x, y in enumerate(ys):
            frames[i][y, x] += 0.1
        trail = {"frame": i, "amp": 0.1, "pixels": [[int(x), int(y)] for x, y in enumerate(ys)]}

    out = []
    for f in frames:
        f32 = f.astype(np.float32)
        assert f32.min() > 0.0 and f32.max() <= 1.0, (name, f32.min(), f32.max())
        out.append(f32)

    truth = {
        "n": n,
        "transparency": [round(float(t), 6) for t in trans],
        "sky_offset": [round(float(o), 6) for o in offs],
        "sky": SKY,
        "noise_sigma": NOISE,
        "stars": stars,
        "cosmic_rays": crs,
        "cold_pixels": cold,
        "satellite_trail": trail,
        "note": "pixel coordinates x,y are 0-based numpy indices [y, x] of the FITS data array "
                "(FITS pixel = x+1, y+1)",
    }
    return name, out, truth


def main():
    rng = np.random.default_rng(SEED)
    all_truth = {}
    for n in SETS:
        name, frames, truth = make_set(n, rng)
        d = os.path.join(HERE, "inputs", name)
        os.makedirs(d, exist_ok=True)
        files = []
        for i, f in enumerate(frames):
            hdr = fits.Header()
            hdr["EXPTIME"] = (60.0, "exposure time [s]")
            hdr["GAIN"] = (1.5, "e-/ADU")
            hdr["RDNOISE"] = (6.0, "read noise [e-]")
            hdr["OBJECT"] = f"synthetic {name} frame {i + 1}"
            fn = os.path.join(d, f"{name}_f{i + 1:02d}.fits")
            fits.PrimaryHDU(data=f, header=hdr).writeto(fn, overwrite=True)
            files.append(os.path.relpath(fn, HERE))
        truth["files"] = files
        all_truth[name] = truth
    with open(os.path.join(HERE, "inputs", "truth.json"), "w") as fh:
        json.dump(all_truth, fh, indent=1)
    print("wrote", sum(len(t["files"]) for t in all_truth.values()), "frames")


if __name__ == "__main__":
    main()
