#!/usr/bin/env python3
"""Reference values from astropy for every FITS file under a folder (skycomb's reader tests compare to them).

Usage: python make_expected.py DATA_DIR OUT_JSON

For each file: the first HDU with pixels (astropy's view), its shape [NAXIS1, NAXIS2], plane count, BITPIX
as stored, and over the first plane, in float64: median, mean, min, max, NaN count; plus IMAGETYP, FILTER,
EXPTIME, OBJECT from the header (primary header keys fill in what an extension lacks), every plane's
median for cubes, and every HDU's name (with shape and median where it has pixels). Unix-compress
(.Z) files, which astropy cannot open without an extra package, are decompressed with `gzip -dc` first.
"""
import json, os, subprocess, sys, tempfile, warnings
import numpy as np
from astropy.io import fits

warnings.filterwarnings("ignore")
KEYS = ["IMAGETYP", "FILTER", "EXPTIME", "OBJECT"]


def open_any(path):
    if path.endswith(".Z"):
        raw = subprocess.run(["gzip", "-dc", path], capture_output=True, check=True).stdout
        tmp = tempfile.NamedTemporaryFile(suffix=".fits", delete=False)
        tmp.write(raw); tmp.close()
        return fits.open(tmp.name)
    return fits.open(path)


def hdu_entry(h):
    """Name and, for images with pixels, shape and median of one HDU."""
    e = {"name": h.name, "kind": type(h).__name__}
    if isinstance(h, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) and h.data is not None and h.data.size:
        d = np.asarray(h.data)
        e["shape"] = list(reversed(d.shape))
        e["median"] = float(np.nanmedian(d.reshape((-1,) + d.shape[-2:])[0].astype(np.float64)))
    return e


def describe(path):
    with open_any(path) as hl:
        for i, hdu in enumerate(hl):
            if not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
                continue
            if hdu.data is None or hdu.data.size == 0:
                continue
            data = np.asarray(hdu.data)
            plane = data.reshape((-1,) + data.shape[-2:])[0] if data.ndim >= 2 else data[None, :]
            plane = plane.astype(np.float64)
            finite = plane[np.isfinite(plane)]
            hdr = hdu.header
            keys = {}
            for k in KEYS:
                v = hdr.get(k, hl[0].header.get(k) if i > 0 else None)
                keys[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
            shape = list(reversed(data.shape))
            planes = data.reshape((-1,) + data.shape[-2:]) if data.ndim > 2 else []
            return {
                "plane_medians": [float(np.nanmedian(p.astype(np.float64))) for p in planes],
                "hdus": [hdu_entry(h) for h in hl],
                "hdu": i,
                "shape": shape[:2] if len(shape) >= 2 else [shape[0], 1],
                "n_planes": int(np.prod(shape[2:])) if len(shape) > 2 else 1,
                "bitpix": int(hdr.get("ZBITPIX", hdr["BITPIX"])) if isinstance(hdu, fits.CompImageHDU) else int(hdu._orig_bitpix if hasattr(hdu, "_orig_bitpix") else hdr["BITPIX"]),
                "median": float(np.median(finite)), "mean": float(np.mean(finite)),
                "min": float(finite.min()), "max": float(finite.max()),
                "nan_count": int(plane.size - finite.size), "keys": keys,
            }
    return {"error": "no image HDU with pixels"}


def main():
    root, out = sys.argv[1], sys.argv[2]
    res = {}
    for d, _, files in os.walk(root):
        for f in sorted(files):
            if not any(f.lower().endswith(e) for e in (".fits", ".fit", ".fz", ".fits.gz", ".fits.z")):
                continue
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)
            try:
                res[rel] = describe(p)
            except Exception as e:  # record astropy's failure too
                res[rel] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(dict(sorted(res.items())), open(out, "w"), indent=1)
    print(f"wrote {len(res)} entries to {out}")


if __name__ == "__main__":
    main()
