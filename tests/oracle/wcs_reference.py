#!/usr/bin/env python3
"""astropy's (wcslib's) pixel <-> sky for every celestial projection skycomb reads, for tests/wcs_oracle.rs.

Usage: python wcs_reference.py SHARED_DATA_DIR OUT_DIR      (e.g. /work/shared/data tests/data/wcs)

Writes OUT_DIR/headers/NAME.hdr (the WCS cards of each case, 80-column card images one per line) and
OUT_DIR/references.json: for each case its header file, its projection and, over a grid of 0-based pixels
(a 7x7 grid from corner to corner), astropy's sky position (lon, lat in degrees, or null where
the pixel is off the sky) and astropy's pixel back from that sky position. The cases are WCS headers
taken from files under SHARED_DATA_DIR (only their WCS cards are kept: the reference is computed from
those cards, after checking that the whole header gives the same) plus hand-made headers.
"""
import json, os, sys, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

warnings.filterwarnings("ignore")
WCS_PREFIXES = ("NAXIS", "CTYPE", "CRPIX", "CRVAL", "CD1_", "CD2_", "PC1_", "PC2_", "CDELT", "CROTA",
                "PV1_", "PV2_", "A_", "B_", "AP_", "BP_", "LONPOLE", "LATPOLE", "RADESYS", "EQUINOX")

# Files under the shared data: (case name, path, HDU, renames). The Spitzer image is Galactic (GLON-CAR);
# skycomb refuses Galactic axes, so its CAR WCS is kept as RA---CAR/DEC--CAR (the same mathematics).
FILES = [
    ("spitzer_car", "singles/spitzer_example_image.fits", 0, {"GLON-CAR": "RA---CAR", "GLAT-CAR": "DEC--CAR"}),
    ("azp_1904-66", "odd-astropy/1904-66_AZP.fits", 0, {}),
    ("sip_wcs", "singles/sip-wcs.fit", 0, {}),
    ("tpv_bok_g1", "legacypipe-cutouts/bok90prime-deep2-dithers/deep2g_ra352_1-ccd1.fits", 1, {}),
    ("tpv_bok_r4", "legacypipe-cutouts/bok90prime-deep2-dithers/deep2r_ra352_4-ccd2.fits", 1, {}),
    ("tan_bok_primary_swapped_axes", "legacypipe-cutouts/bok90prime-deep2-dithers/deep2g_ra352_1-ccd1.fits", 0, {}),
    ("tpv_decam_z", "legacypipe-cutouts/decam/c4d_140818_232043_ooi_z_v2.fits.fz", 1, {}),
    ("tpv_decam_r", "legacypipe-cutouts/decam/c4d_150329_083320_ooi_r_v1.fits.fz", 1, {}),
    ("tpv_mosaic3_z", "legacypipe-cutouts/tilecompressed/k4m_160319_075112_ooi_zd_ls9.CCD3.fits", 1, {}),
    ("tpv_90prime_r", "legacypipe-cutouts/tilecompressed/ksb_170430_055945_ooi_r_ls9.CCD4.fits", 1, {}),
    ("tpv_90prime_g", "legacypipe-cutouts/tilecompressed/ksb_180313_081856_ooi_g_ls9.CCD4.fits", 1, {}),
]


def made(proj, crval, size, scale, extra=()):
    """A hand-made header: PROJ at CRVAL, SIZE = (nx, ny) pixels of SCALE degrees, reference pixel at the centre."""
    nx, ny = size
    cards = [("NAXIS", 2), ("NAXIS1", nx), ("NAXIS2", ny), ("CTYPE1", "RA---" + proj), ("CTYPE2", "DEC--" + proj),
             ("CRPIX1", (nx + 1) / 2 + 0.3), ("CRPIX2", (ny + 1) / 2 - 0.2), ("CRVAL1", crval[0]), ("CRVAL2", crval[1])]
    keys = {k for k, _ in extra}
    if not keys & {"CD1_1", "CDELT1"}:
        cards += [("CDELT1", -scale), ("CDELT2", scale)]
    return cards + list(extra)


TPV_TERMS = [("PV1_0", 1e-4), ("PV1_1", 1.0002), ("PV1_2", 3e-4), ("PV1_3", 2e-3), ("PV1_4", 1e-3), ("PV1_5", -2e-3),
             ("PV1_6", 5e-4), ("PV1_7", 4e-3), ("PV1_9", -3e-3), ("PV1_10", 1e-3), ("PV1_11", 1e-2), ("PV1_17", 2e-3),
             ("PV1_23", -5e-3), ("PV2_0", -2e-4), ("PV2_1", 0.9997), ("PV2_2", -1e-4), ("PV2_3", -1e-3),
             ("PV2_4", 2e-3), ("PV2_6", -1e-3), ("PV2_8", 3e-3), ("PV2_11", -8e-3), ("PV2_12", 1e-3)]

HAND_MADE = [
    ("tan_crota2", made("TAN", (10.5, 41.2), (200, 150), 0.01, [("CROTA2", 30.0)])),
    ("tan_pole_pc", made("TAN", (75.0, 89.9), (100, 100), 0.02,
                         [("PC1_1", 0.8), ("PC1_2", -0.6), ("PC2_1", 0.6), ("PC2_2", 0.8)])),
    ("tan_south_ra0_cd", made("TAN", (0.05, -62.0), (120, 90), 0,
                              [("CD1_1", -0.01), ("CD1_2", 0.002), ("CD2_1", 0.0015), ("CD2_2", 0.0095)])),
    ("sin_ra0", made("SIN", (0.2, -30.0), (100, 100), 0.5,
                     [("PC1_1", 0.99), ("PC1_2", 0.1), ("PC2_1", -0.1), ("PC2_2", 0.99)])),
    ("sin_ncp", made("SIN", (150.0, 60.0), (80, 80), 0.4, [("PV2_1", 0.0), ("PV2_2", 1 / np.tan(np.radians(60.0)))])),
    ("sin_slant", made("SIN", (300.0, -10.0), (80, 60), 0.5, [("PV2_1", 0.1), ("PV2_2", -0.05)])),
    ("arc_pole", made("ARC", (120.0, 88.0), (60, 60), 1.0)),
    ("zea_south_ra360", made("ZEA", (359.9, -75.0), (90, 70), 0.8)),
    ("stg_lonpole", made("STG", (200.0, 15.0), (100, 100), 0.6, [("LONPOLE", 170.0)])),
    ("car_equator", made("CAR", (0.0, 0.0), (180, 90), 1.0)),
    ("car_oblique", made("CAR", (40.0, 30.0), (120, 80), 0.5)),
    ("car_south_latpole", made("CAR", (250.0, -45.0), (100, 60), 0.5, [("LATPOLE", -30.0)])),
    ("car_lonpole", made("CAR", (100.0, 20.0), (100, 60), 0.5, [("LONPOLE", 30.0)])),
    ("ait_allsky", made("AIT", (180.0, 0.0), (160, 80), 2.0)),
    ("ait_oblique", made("AIT", (30.0, 40.0), (100, 60), 1.0)),
    ("azp_tilted", made("AZP", (60.0, 50.0), (80, 80), 0.5, [("PV2_1", 1.5), ("PV2_2", 20.0)])),
    ("azp_plain", made("AZP", (300.0, -20.0), (60, 60), 0.8, [("PV2_1", 0.7)])),
    ("cea", made("CEA", (20.0, 10.0), (100, 60), 0.5, [("PV2_1", 0.75)])),
    ("cea_default", made("CEA", (340.0, 0.0), (100, 60), 1.0)),
    ("mer", made("MER", (90.0, 5.0), (100, 80), 0.5)),
    ("tpv_radial", made("TPV", (359.8, 33.0), (100, 80), 0,
                        [("CD1_1", -0.01), ("CD1_2", 0.001), ("CD2_1", -0.001), ("CD2_2", 0.01)] + TPV_TERMS)),
]


def wcs_cards(header, renames):
    """The WCS cards of a header as a new header (values renamed where asked)."""
    out = fits.Header()
    for card in header.cards:
        if card.keyword.startswith(WCS_PREFIXES):
            out[card.keyword] = renames.get(card.value, card.value)
    return out


def grid(nx, ny):
    """0-based pixels: a 7x7 grid from corner to corner (the corners and the centre are on it)."""
    pts = [(x, y) for y in np.linspace(0, ny - 1, 7) for x in np.linspace(0, nx - 1, 7)]
    return [(float(x), float(y)) for x, y in pts]


def lonlat(w, pix):
    """(lon, lat) of 0-based pixels, whatever the axis order."""
    world = w.all_pix2world(np.array(pix, dtype=float), 0)
    return world[:, [w.wcs.lng, w.wcs.lat]]


def back(w, lon_lat):
    """0-based pixels of (lon, lat) positions."""
    world = np.zeros_like(lon_lat)
    world[:, w.wcs.lng], world[:, w.wcs.lat] = lon_lat[:, 0], lon_lat[:, 1]
    return w.all_world2pix(world, 0, tolerance=1e-12, maxiter=200)


def reference(name, header, size):
    w = WCS(header, naxis=2)
    pix = grid(*size)
    sky = lonlat(w, pix)
    ok = np.all(np.isfinite(sky), axis=1)
    px = np.full_like(sky, np.nan)
    px[ok] = back(w, sky[ok])
    points = [{"pixel": list(p), "world": s.tolist() if good else None, "back": b.tolist() if good else None}
              for p, s, b, good in zip(pix, sky, px, ok)]
    return {"name": name, "header": f"headers/{name}.hdr", "ctype": [header["CTYPE1"], header["CTYPE2"]],
            "points": points}


def image_size(header, full):
    nx = full.get("ZNAXIS1", full.get("NAXIS1", 0)) or 0
    ny = full.get("ZNAXIS2", full.get("NAXIS2", 0)) or 0
    return (nx, ny) if nx and ny else (64, 64)


def main(data_dir, out_dir):
    os.makedirs(os.path.join(out_dir, "headers"), exist_ok=True)
    cases = []
    for name, path, hdu, renames in FILES:
        with fits.open(os.path.join(data_dir, path)) as hl:
            full = hl[hdu].header
            cards = wcs_cards(full, renames)
            size = image_size(cards, full)
            if not renames:  # the kept cards say what the whole header says
                whole = lonlat(WCS(full, naxis=2), grid(*size))
                assert np.allclose(whole, lonlat(WCS(cards, naxis=2), grid(*size)), equal_nan=True), name
            cases.append((name, cards, size))
    for name, pairs in HAND_MADE:
        h = fits.Header()
        for k, v in pairs:
            h[k] = v
        cases.append((name, h, (h["NAXIS1"], h["NAXIS2"])))
    refs = []
    for name, header, size in cases:
        with open(os.path.join(out_dir, "headers", name + ".hdr"), "w") as f:
            f.write("\n".join(c.image for c in header.cards) + "\n")
        refs.append(reference(name, header, size))
        print(name, refs[-1]["ctype"], sum(p["world"] is None for p in refs[-1]["points"]), "off the sky")
    with open(os.path.join(out_dir, "references.json"), "w") as f:
        json.dump({"generator": "tests/oracle/wcs_reference.py (astropy.wcs all_pix2world / all_world2pix, origin 0)",
                   "cases": refs}, f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
