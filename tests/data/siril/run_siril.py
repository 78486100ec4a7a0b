#!/usr/bin/env python3
"""Run the real Siril (siril-cli 1.0.6, Debian package) on the synthetic inputs
and store the stacked results + cases.json.

For every case:
  * a fresh work folder /work/siril-work/cases/<case>/ is made, the set's input
    frames are copied into <case>/in/,
  * a Siril script is written and run with
        siril-cli -d <case> -s <case>/run.ssf
    The script is
        requires 1.0.0
        set32bits                      # 32-bit float processing/output mode
        setext fits                    # sequence file extension .fits
        cd in
        link <set>_ -out=../seq        # symlinks in/<set>_fNN.fits -> seq/<set>_000NN.fits
        cd ../seq
        stack <set>_ <options> -out=../out/<case>.fits
  * Siril's output (already BITPIX -32, values = the raw float result, see
    README) is re-written to tests/data/siril/out/<case>.fits with the same
    float32 pixel array (checked bit-for-bit) and a reduced header,
  * relevant "log:" lines Siril printed and, when Siril computed them, the
    per-frame statistics it cached in the .seq file (M lines: median, MAD,
    IKSS location/scale, bgnoise) are recorded in cases.json.

siril-cli is run with XDG_CONFIG_HOME=/work/siril-work/xdg so that its
siril.config is kept out of the user's home.

Run:  /work/iraf-venv/bin/python run_siril.py        (needs make_inputs.py run first)
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = "/work/siril-work"
SIRIL = "/usr/bin/siril-cli"
ENV = dict(os.environ, XDG_CONFIG_HOME=os.path.join(WORK, "xdg"), LC_ALL="C")

SETS = ["n5", "n7", "n10", "n15"]

# --------------------------------------------------------------------------
# case definitions
# --------------------------------------------------------------------------
# rejection spec -> (Siril words, rule dict, short name)
def rej(kind, lo=None, hi=None):
    if kind == "none":
        # Siril 1.0.6 has no "n" rejection letter: "rej n ..." is refused
        # (see README). "rej 0 0" selects no rejection: the rejection letter is
        # omitted, both sigmas are 0, and stack_one_seq() then logs
        # "Not using rejection for stacking".
        return "rej 0 0", {"type": "none"}, "none"
    letters = {"sigma": "s", "winsorized": "w", "linear": "l", "gesdt": "g",
               "percentile": "p", "median": "m", "mad": "a"}
    short = {"sigma": "sigma", "winsorized": "winsor", "linear": "linfit",
             "gesdt": "gesdt", "percentile": "pct", "median": "sigmed", "mad": "kmad"}
    words = f"rej {letters[kind]} {lo:g} {hi:g}"
    if kind == "gesdt":
        rule = {"type": "gesdt", "max_outlier_fraction": lo, "alpha": hi}
    elif kind == "percentile":
        rule = {"type": "percentile", "low": lo, "high": hi}
    else:
        rule = {"type": kind, "low": lo, "high": hi}
    rule["siril_letter"] = letters[kind]
    return words, rule, f"{short[kind]}_{lo:g}_{hi:g}"


BASE_RULES = [("sigma", 3, 3), ("winsorized", 3, 3), ("linear", 3, 3),
              ("gesdt", 0.3, 0.05), ("percentile", 0.2, 0.1),
              ("median", 3, 3), ("mad", 3, 3), ("none",)]


def build_cases():
    cases = []

    def add(name, set_, words, rule, norm, weights, opts, note=None):
        c = {"name": name, "set": set_, "stack_words": words, "opts": opts,
             "rule": rule, "norm": norm, "weights": weights}
        if note:
            c["note"] = note
        cases.append(c)

    # 1. no normalisation, no weights: every rule on every set
    for s in SETS:
        for r in BASE_RULES:
            w, rule, short = rej(*r)
            add(f"{short}_{s}", s, w, rule, "none", "none", "-nonorm")
    # 2. other thresholds for sigma and winsorized on n10 and n15
    for s in ["n10", "n15"]:
        for kind in ["sigma", "winsorized"]:
            for k in [2, 2.5]:
                w, rule, short = rej(kind, k, k)
                add(f"{short}_{s}", s, w, rule, "none", "none", "-nonorm")
    # asymmetric thresholds (low != high) to pin down which side is which
    w, rule, short = rej("sigma", 4, 2)
    add(f"{short}_n15", "n15", w, rule, "none", "none", "-nonorm")
    w, rule, short = rej("winsorized", 4, 2)
    add(f"{short}_n15", "n15", w, rule, "none", "none", "-nonorm")
    # 3. normalisation, n10
    for norm in ["addscale", "mulscale", "add", "mul"]:
        for r in [("winsorized", 3, 3), ("none",)]:
            w, rule, short = rej(*r)
            add(f"{norm}_{short}_n10", "n10", w, rule, norm, "none", f"-norm={norm}")
    # 4. weights: 1.0.6 only has "-weighted" (noise weights), and only together
    #    with a normalisation given BEFORE it on the command line
    for norm in ["addscale", "add", "mul", "mulscale"]:
        for r in [("none",), ("winsorized", 3, 3)]:
            w, rule, short = rej(*r)
            add(f"weighted_{norm}_{short}_n10", "n10", w, rule, norm, "noise",
                f"-norm={norm} -weighted")
    # 5. option quirks (outputs are real Siril outputs)
    w, rule, short = rej("winsorized", 3, 3)
    add(f"defaultnorm_{short}_n10", "n10", w, rule, "none", "none", "",
        note="no -nonorm/-norm given: the 1.0.6 stack command then does NOT normalise "
             "(the help text claims addscale is the default); identical to -nonorm")
    add(f"weighted_nonorm_{short}_n10", "n10", w, rule, "none", "none", "-nonorm -weighted",
        note="-weighted without normalisation is ignored by Siril "
             "('Weighting is allowed only if normalization has been activated, ignoring.')")
    add(f"weighted_before_norm_{short}_n10", "n10", w, rule, "addscale", "none",
        "-weighted -norm=addscale",
        note="-weighted placed before -norm= is ignored (option parsed while norm is still unset); "
             "result is plain addscale + winsorized")
    w2, rule2, short2 = rej("sigma", 3, 3)
    add(f"meanalias_{short2}_n10", "n10", "mean s 3 3", rule2, "none", "none", "-nonorm",
        note="'mean' is an alias of 'rej' in 1.0.6")
    # 6. median stacks (no rejection), for completeness
    for s in SETS:
        add(f"median_{s}", s, "med", {"type": "median_combine"}, "none", "none", "-nonorm")
    return cases


# commands that Siril refuses: run once, only the log is recorded
REFUSED = [
    ("n10", "rej n 3 3 -nonorm", "there is no 'n' rejection letter; 'n' is read as sigma-low=0, "
                                 "then '3' is an unexpected extra argument"),
    ("n10", "rej n -nonorm", "'n' and '-nonorm' are read as the two sigmas (0 and 0) "
                             "=> no rejection, but -nonorm is swallowed"),
    ("n10", "rej g 2 0.05 -nonorm", "GESDT parameters must be in [0,1]"),
    ("n10", "rej p 3 3 -nonorm", "percentile parameters must be in [0,1]"),
]

SKIP_LOG = re.compile(
    r"Welcome to siril|Supported file types|Loading init file|Setting CWD|Parallel processing|"
    r"Running command|Using \d+ MB memory|parallel blocks|Reading FITS|Link: processing|"
    r"Conversion succeeded|32-bit per channel|Execution time|With the current memory|"
    r"Processing all images|Stacking sequence|Saving FITS|Starting stacking|Stacked sequence successfully")


def run_script(case_dir, set_, stack_line):
    if os.path.exists(case_dir):
        shutil.rmtree(case_dir)
    os.makedirs(os.path.join(case_dir, "in"))
    truth = json.load(open(os.path.join(HERE, "inputs", "truth.json")))
    files = truth[set_]["files"]
    for f in files:
        shutil.copy(os.path.join(HERE, f), os.path.join(case_dir, "in", os.path.basename(f)))
    script = "\n".join([
        "requires 1.0.0",
        "set32bits",
        "setext fits",
        "cd in",
        f"link {set_}_ -out=../seq",
        "cd ../seq",
        stack_line,
        "",
    ])
    with open(os.path.join(case_dir, "run.ssf"), "w") as fh:
        fh.write(script)
    p = subprocess.run([SIRIL, "-d", case_dir, "-s", os.path.join(case_dir, "run.ssf")],
                       env=ENV, capture_output=True, text=True, timeout=300)
    log = p.stdout + p.stderr
    with open(os.path.join(case_dir, "siril.log"), "w") as fh:
        fh.write(log)
    # order in which Siril stacked the files: link sorts with a natural
    # (collate-key) file name order; check via the symlink targets
    seqdir = os.path.join(case_dir, "seq")
    order = []
    if os.path.isdir(seqdir):
        for i in range(1, len(files) + 1):
            ln = os.path.join(seqdir, f"{set_}_{i:05d}.fits")
            order.append(os.path.basename(os.readlink(ln)))
    inputs = [f"inputs/{set_}/{b}" for b in order]
    return p.returncode, log, inputs


def relevant_log(log):
    out = []
    started = False
    for line in log.splitlines():
        if not line.startswith("log: "):
            continue
        msg = line[5:].strip()
        if msg.startswith("Running command: stack"):
            started = True
            continue
        if not started or SKIP_LOG.search(msg):
            continue
        out.append(msg)
    return out


def seq_stats(case_dir, set_):
    """Per-frame statistics Siril cached in the .seq file (M lines)."""
    fn = os.path.join(case_dir, "seq", f"{set_}_.seq")
    if not os.path.exists(fn):
        return None
    names = ["total", "ngoodpix", "mean", "median", "sigma", "avgDev", "mad", "sqrtbwmv",
             "location", "scale", "min", "max", "normValue", "bgnoise"]
    st = {}
    for line in open(fn):
        m = re.match(r"M0-(\d+) (.*)", line)
        if m:
            vals = [float(v) for v in m.group(2).split()]
            st[int(m.group(1))] = dict(zip(names, vals))
    if not st:
        return None
    return [st[i] for i in sorted(st)]


def main():
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    for f in os.listdir(os.path.join(HERE, "out")):
        os.remove(os.path.join(HERE, "out", f))
    cases = build_cases()
    out_cases = []
    for c in cases:
        name, set_ = c["name"], c["set"]
        case_dir = os.path.join(WORK, "cases", name)
        opts = (" " + c["opts"]) if c["opts"] else ""
        stack_line = f"stack {set_}_ {c['stack_words']}{opts} -out=../out/{name}.fits"
        rc, log, inputs = run_script(case_dir, set_, stack_line)
        res = os.path.join(case_dir, "out", f"{name}.fits")
        if rc != 0 or not os.path.exists(res):
            print(f"FAILED {name}: rc={rc}", file=sys.stderr)
            print(log[-2000:], file=sys.stderr)
            sys.exit(1)
        with fits.open(res) as h:
            hdr = h[0].header
            assert hdr["BITPIX"] == -32, hdr["BITPIX"]
            data = np.asarray(h[0].data, dtype=">f4")
            raw = np.frombuffer(open(res, "rb").read()[len(hdr.tostring()):][:data.nbytes],
                                dtype=">f4").reshape(data.shape)
            assert np.array_equal(raw, data)  # BZERO 0 / BSCALE 1: stored floats = values
            nhdr = fits.Header()
            for k in ["STACKCNT", "EXPTIME", "LIVETIME", "PROGRAM"]:
                if k in hdr:
                    nhdr[k] = (hdr[k], hdr.comments[k])
            nhdr["SIRCASE"] = (name, "case name in cases.json")
        outfn = os.path.join(HERE, "out", f"{name}.fits")
        fits.PrimaryHDU(data=data.astype(np.float32), header=nhdr).writeto(outfn, overwrite=True)
        with fits.open(outfn) as h2:
            assert h2[0].header["BITPIX"] == -32
            assert np.array_equal(h2[0].data, data), name
        entry = {
            "name": name,
            "set": set_,
            "inputs": inputs,
            "siril": stack_line,
            "rule": c["rule"],
            "norm": c["norm"],
            "weights": c["weights"],
            "output": f"out/{name}.fits",
            "siril_log": relevant_log(log),
        }
        if "note" in c:
            entry["note"] = c["note"]
        st = seq_stats(case_dir, set_)
        if st is not None:
            entry["siril_frame_stats"] = {
                "source": "M lines of the .seq file written by Siril (printed with %lg, 6 significant digits); "
                          "frame order = inputs order",
                "median": [s["median"] for s in st],
                "mad": [s["mad"] for s in st],
                "ikss_location": [s["location"] for s in st],
                "ikss_scale": [s["scale"] for s in st],
                "bgnoise": [s["bgnoise"] for s in st],
            }
        out_cases.append(entry)
        print(f"{name:40s} {entry['siril_log'][0] if entry['siril_log'] else ''}")

    refused = []
    for set_, words, why in REFUSED:
        case_dir = os.path.join(WORK, "refused", re.sub(r"[^a-z0-9.]+", "_", words))
        stack_line = f"stack {set_}_ {words} -out=../out/refused.fits"
        rc, log, _ = run_script(case_dir, set_, stack_line)
        produced = os.path.exists(os.path.join(case_dir, "out", "refused.fits"))
        refused.append({"siril": stack_line, "why": why, "output_written": produced,
                        "siril_log": relevant_log(log)})
        print("REFUSED?", stack_line, "->", "output written" if produced else "no output")

    with open(os.path.join(HERE, "cases.json"), "w") as fh:
        json.dump(out_cases, fh, indent=1)
    with open(os.path.join(HERE, "refused.json"), "w") as fh:
        json.dump(refused, fh, indent=1)
    print(len(out_cases), "cases")


if __name__ == "__main__":
    main()
