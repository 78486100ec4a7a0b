#!/usr/bin/env python3
"""Tile-compressed images as astropy writes them (reals in ZVALn, quantised floats, dithering),
beside the plain image they were made from: tests/reader-side checks that skycomb reads them.

    /work/iraf-venv/bin/python tests/data/compressed/make.py    # numpy + astropy
"""
import os

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)
yy, xx = np.mgrid[0:80, 0:96]
data = (1000 + 5 * xx / 96 + rng.normal(0, 10, (80, 96))
        + 4000 * np.exp(-((xx - 40) ** 2 + (yy - 30) ** 2) / (2 * 1.3 ** 2))).astype(np.float32)
fits.PrimaryHDU(data).writeto(os.path.join(HERE, "plain.fits"), overwrite=True)
ints = np.round(data).astype(np.int16)
fits.PrimaryHDU(ints).writeto(os.path.join(HERE, "plain_int16.fits"), overwrite=True)
for kind, tile in (("RICE_1", (1, 96)), ("HCOMPRESS_1", (16, 96)), ("GZIP_2", (8, 96))):
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, compression_type=kind, tile_shape=tile)]).writeto(
        os.path.join(HERE, "astropy_%s.fits" % kind.lower()), overwrite=True)
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(ints, compression_type="PLIO_1", tile_shape=(1, 96))]).writeto(
    os.path.join(HERE, "astropy_plio_1_int16.fits"), overwrite=True)
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(ints, compression_type="RICE_1", tile_shape=(1, 96))]).writeto(
    os.path.join(HERE, "astropy_rice_1_int16.fits"), overwrite=True)
