#!/usr/bin/env python3
"""astropy's pixel -> sky for the TAN-SIP header of singles/sip-wcs.fit, for skycomb's WCS tests.

Usage: python wcs_expected.py FITS OUT_JSON   (pixels are FITS 1-based; RA/Dec in degrees)
"""
import json, sys, warnings
from astropy.io import fits
from astropy.wcs import WCS

warnings.filterwarnings("ignore")
w = WCS(fits.getheader(sys.argv[1]))
pix = [(1, 1), (50, 25), (100, 50), (13.7, 41.2), (88.25, 3.5)]
world = w.all_pix2world(pix, 1)
json.dump({"pixels_fits": pix, "world_deg": world.tolist()}, open(sys.argv[2], "w"), indent=1)
print(world)
