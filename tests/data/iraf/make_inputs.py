#!/usr/bin/env python3
"""Write the input frames used to make the IRAF imcombine reference outputs.

Run from anywhere:  /work/iraf-venv/bin/python tests/data/iraf/make_inputs.py
Needs numpy + astropy.  Deterministic (fixed numpy seed).

All paths written into the *.lis files are relative to tests/data/iraf/,
which is the working directory run_iraf.py gives IRAF.
"""
import os
import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
INP = os.path.join(HERE, "inputs")
ORION_DIR = os.environ.get("ORION_DIR", "/work/shared/data/iraf-stargate-orion-ssdsi2")

NX, NY = 24, 20  # NAXIS1, NAXIS2 -> numpy shape (NY, NX)


def write(path, data, cards):
    hdu = fits.PrimaryHDU(data=data)
    for k, v, c in cards:
        hdu.header[k] = (v, c)
    hdu.writeto(path, overwrite=True)


def write_list(name, files):
    with open(os.path.join(INP, name), "w") as f:
        for fn in files:
            f.write("inputs/%s\n" % fn)


def write_numbers(name, values):
    with open(os.path.join(INP, name), "w") as f:
        for v in values:
            f.write("%s\n" % repr(float(v)))


def gauss(yy, xx, x0, y0, peak, sig):
    # x0, y0 are 0-based pixel centres
    return peak * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sig * sig))


def make_f7(rng):
    sky = [1000, 1040, 980, 1100, 1020, 990, 1060]
    transp = [1.00, 0.95, 1.05, 0.90, 1.00, 1.02, 0.97]
    exptime = [30, 30, 60, 30, 45, 30, 60]
    gain = [1.5, 2.0, 2.5, 1.8, 2.2, 1.6, 2.4]
    rdnoise = [4.0, 5.0, 6.0, 7.0, 8.0, 5.0, 6.0]
    snoise = [0.01, 0.01, 0.02, 0.01, 0.015, 0.01, 0.01]
    mywt = [1.0, 0.8, 1.2, 0.9, 1.1, 1.0, 0.7]
    # stars: (x0, y0) 0-based, peak ADU for a 30 s exposure, sigma px
    stars = [(6.3, 5.7, 3000.0, 1.3), (15.2, 12.4, 9000.0, 1.1), (19.6, 4.1, 1500.0, 1.5)]
    # cosmic rays per frame: list of (x, y, value added) 0-based; 2-px hits listed as two entries
    crs = [
        [(3, 15, 4000.0)],
        [(10, 8, 2500.0), (11, 8, 1800.0), (20, 17, 5000.0)],
        [(15, 12, 3000.0)],                         # on the bright star core
        [(2, 2, 6000.0), (7, 6, 2200.0)],           # one on the faint star wing
        [(12, 18, 3500.0), (12, 17, 3100.0)],       # vertical 2-px hit
        [],
        [(22, 10, 2700.0), (10, 8, 3300.0)],        # same pixel as frame 2
    ]
    dead = {2: [(5, 14), (18, 9), (18, 10)]}       # frame index 2 (third frame): low pixels
    yy, xx = np.mgrid[0:NY, 0:NX].astype(np.float64)
    files, frames = [], []
    for i in range(7):
        star = np.zeros((NY, NX))
        for (x0, y0, peak, sig) in stars:
            star += gauss(yy, xx, x0, y0, peak, sig)
        level = sky[i] + star * transp[i] * exptime[i] / 30.0
        sigma = np.sqrt(level / gain[i] + (rdnoise[i] / gain[i]) ** 2)
        img = level + rng.normal(0.0, 1.0, size=level.shape) * sigma
        for (x, y, v) in crs[i]:
            img[y, x] += v
        for (x, y) in dead.get(i, []):
            img[y, x] = rng.uniform(2.0, 30.0)
        img = img.astype(np.float32)
        frames.append(img)
        cards = [
            ("OBJECT", "f7 frame %d" % (i + 1), "synthetic"),
            ("EXPTIME", float(exptime[i]), "exposure time (s)"),
            ("GAIN", gain[i], "e-/ADU"),
            ("RDNOISE", rdnoise[i], "read noise (e-)"),
            ("SNOISE", snoise[i], "sensitivity noise (fraction)"),
            ("MYWT", mywt[i], "a weight/scale keyword"),
            ("SKYLEV", float(sky[i]), "true sky level (ADU)"),
            ("TRANSP", transp[i], "true transparency factor"),
        ]
        fn = "f7_%02d.fits" % (i + 1)
        write(os.path.join(INP, fn), img, cards)
        files.append(fn)
        # integer version
        ifn = "i7_%02d.fits" % (i + 1)
        iimg = np.clip(np.rint(img), -32768, 32767).astype(np.int16)
        assert np.all(np.abs(np.rint(img)) < 32767)
        icards = [(k, (v if k != "OBJECT" else "i7 frame %d" % (i + 1)), c) for k, v, c in cards]
        write(os.path.join(INP, ifn), iimg, icards)
    write_list("f7.lis", files)
    write_list("i7.lis", ["i7_%02d.fits" % (i + 1) for i in range(7)])
    # @file values (one per line, in list order)
    write_numbers("scales.txt", [1.0, 0.96, 1.02, 0.91, 0.99, 1.03, 0.95])
    write_numbers("zeros.txt", [0.0, -40.0, 20.0, -100.0, -20.0, 10.0, -60.0])
    write_numbers("weights.txt", [1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 0.25])


def make_p2(rng):
    yy, xx = np.mgrid[0:NY, 0:NX].astype(np.float64)
    gain, rdn = 2.0, 5.0
    star = gauss(yy, xx, 8.4, 9.6, 6000.0, 1.2) + gauss(yy, xx, 17.0, 14.0, 1200.0, 1.4)
    files = []
    crs = [[], [(8, 9, 4000.0), (3, 3, 2500.0), (4, 3, 1500.0), (20, 15, 900.0), (14, 5, 300.0)]]
    for i in range(2):
        level = 1500.0 + star
        sigma = np.sqrt(level / gain + (rdn / gain) ** 2)
        img = level + rng.normal(0.0, 1.0, size=level.shape) * sigma
        for (x, y, v) in crs[i]:
            img[y, x] += v
        img = img.astype(np.float32)
        fn = "p2_%02d.fits" % (i + 1)
        write(os.path.join(INP, fn), img, [
            ("OBJECT", "p2 frame %d" % (i + 1), "synthetic"),
            ("EXPTIME", 60.0, "exposure time (s)"),
            ("GAIN", gain, "e-/ADU"),
            ("RDNOISE", rdn, "read noise (e-)"),
            ("SNOISE", 0.0, "sensitivity noise"),
        ])
        files.append(fn)
    write_list("p2.lis", files)


def make_tiny():
    # NAXIS1=3, NAXIS2=1.  Pixel 1 holds the hand-picked values, pixel 2 is
    # constant over the frames (zero spread), pixel 3 a second small set.
    sets = {
        "t5": ([100, 120, 120, 120, 130], [500] * 5, [10, 20, 30, 40, 1000]),
        "t4": ([1000, 1090, 1310, 1400], [500] * 4, [200, 210, 190, 205]),
        "t3": ([1000, 1010, 3000], [500] * 3, [50, 60, 5000]),
    }
    for name, (a, b, c) in sets.items():
        files = []
        for i in range(len(a)):
            img = np.array([[a[i], b[i], c[i]]], dtype=np.float32)
            fn = "%s_%02d.fits" % (name, i + 1)
            write(os.path.join(INP, fn), img, [
                ("OBJECT", "%s frame %d" % (name, i + 1), "hand-picked values"),
                ("EXPTIME", 1.0, "exposure time (s)"),
                ("GAIN", 1.0, "e-/ADU"),
                ("RDNOISE", 0.0, "read noise (e-)"),
                ("SNOISE", 0.0, "sensitivity noise"),
            ])
            files.append(fn)
        write_list("%s.lis" % name, files)


def make_orion():
    files = []
    for i in range(1, 11):
        src = os.path.join(ORION_DIR, "StarGateCluster_030_sec_1x1_%04d.fit" % i)
        with fits.open(src) as h:
            hdr = h[0].header.copy()
            data = h[0].data  # uint16 after BZERO
            assert data.dtype == np.uint16 and data.shape == (581, 752)
            cut = np.array(data[200:248, 300:364], dtype=np.uint16)  # y 201..248, x 301..364
        hdu = fits.PrimaryHDU(data=cut)  # astropy writes BITPIX 16 + BZERO 32768
        for card in hdr.cards:
            if card.keyword in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
                                "BSCALE", "BZERO", ""):
                continue
            hdu.header.append(card)
        hdu.header["CUTOUT"] = ("[301:364,201:248]", "section of %s" % os.path.basename(src))
        fn = "orion_%02d.fits" % i
        hdu.writeto(os.path.join(INP, fn), overwrite=True)
        files.append(fn)
    write_list("orion.lis", files)


def main():
    os.makedirs(INP, exist_ok=True)
    rng = np.random.default_rng(20240617)
    make_f7(rng)
    make_p2(rng)
    make_tiny()
    make_orion()


if __name__ == "__main__":
    main()
