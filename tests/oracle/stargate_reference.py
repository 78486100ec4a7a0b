#!/usr/bin/env python3
"""An independent registration of the Orion SSDSI-2 frames with photutils, for skycomb's tests.

Usage: python stargate_reference.py DATA_DIR OUT_JSON

Stars: DAOStarFinder on frame 1 (FWHM 4, 10 sigma over a sigma-clipped background), the 15 brightest
with a peak under 40000 ADU and 20 px from the edges. In every frame each star is measured with
centroid_2dg in a 15x15 cutout (background = cutout median) around its position in the previous
frame; the frame's offset is the median over stars of (position - position in frame 1).
"""
import glob, json, os, sys
import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from photutils.centroids import centroid_2dg
from photutils.detection import DAOStarFinder
import warnings

warnings.filterwarnings("ignore")
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.fit")))
frames = [fits.getdata(f).astype(np.float64) for f in files]
mean, med, std = sigma_clipped_stats(frames[0])
tab = DAOStarFinder(fwhm=4.0, threshold=10 * std)(frames[0] - med)
ny, nx = frames[0].shape
ok = (tab["peak"] + med < 40000) & (tab["x_centroid"] > 20) & (tab["x_centroid"] < nx - 20) & (tab["y_centroid"] > 20) & (tab["y_centroid"] < ny - 20)
tab = tab[ok]
tab.sort("flux", reverse=True)
pos = [(float(r["x_centroid"]), float(r["y_centroid"])) for r in tab[:15]]


def measure(img, x, y, h=7):
    ix, iy = int(round(x)), int(round(y))
    cut = img[iy - h:iy + h + 1, ix - h:ix + h + 1]
    c = centroid_2dg(cut - np.median(cut))
    return ix - h + c[0], iy - h + c[1]


ref = [measure(frames[0], x, y) for x, y in pos]
prev = list(ref)
out = []
for f, img in zip(files, frames):
    now = [measure(img, x, y) for x, y in prev]
    dx = np.median([n[0] - r[0] for n, r in zip(now, ref)])
    dy = np.median([n[1] - r[1] for n, r in zip(now, ref)])
    out.append({"file": os.path.basename(f), "dx": float(dx), "dy": float(dy)})
    prev = now
json.dump({"method": __doc__.strip().splitlines()[0], "stars_fits_1based": [[x + 1, y + 1] for x, y in ref], "offsets": out}, open(sys.argv[2], "w"), indent=1)
print(json.dumps(out, indent=1))
