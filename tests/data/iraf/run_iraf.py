#!/usr/bin/env python3
"""Run the real IRAF 2.17 imcombine on the inputs made by make_inputs.py.

    mkdir -p /tmp/irafhome
    /work/iraf-venv/bin/python tests/data/iraf/run_iraf.py          # all cases
    /work/iraf-venv/bin/python tests/data/iraf/run_iraf.py f7main   # only some groups
                                                                    # (cases.json not rewritten)

For every case in CASES this writes a CL script line

    imcombine @<list> out/<name>.fits <params...> [sigmas=...] [nrejmasks=...] logfile=...

(IRAF's working directory is tests/data/iraf/), runs `irafcl` once per group
(HOME=/tmp/irafhome USER=skycomb), converts the number-rejected .pl masks to
FITS with `imcopy` inside the same script, and writes cases.json.

Every algorithm parameter is passed on the command line (and `unlearn
imcombine` is run first), so nothing depends on IRAF's uparm defaults.
Scratch files (logs, .pl masks, the CL scripts, irafcl's stdout) go to
/tmp/irafwork/.
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
WORK = "/tmp/irafwork"
IRAFHOME = "/tmp/irafhome"

# Order in which parameters are written.  Every case gets all of them.
PARAM_ORDER = [
    "combine", "reject", "scale", "zero", "weight", "statsec", "expname",
    "lthreshold", "hthreshold", "nlow", "nhigh", "nkeep", "mclip",
    "lsigma", "hsigma", "rdnoise", "gain", "snoise", "sigscale", "pclip",
    "grow", "blank", "outtype", "offsets", "masktype", "maskvalue", "project",
    "outlimits",
]

DEFAULTS = dict(
    combine="average", reject="none", scale="none", zero="none", weight="none",
    statsec="", expname="", lthreshold="INDEF", hthreshold="INDEF", nlow="1",
    nhigh="1", nkeep="1", mclip="yes", lsigma="3", hsigma="3", rdnoise="0",
    gain="1", snoise="0", sigscale="0.1", pclip="-0.5", grow="0", blank="0",
    outtype="real", offsets="none", masktype="none", maskvalue="0", project="no",
    outlimits="",
)

# CCD noise from headers.  NB: imcombine wants the bare keyword name here;
# "!GAIN" is refused ("Image header parameter not found (!GAIN)", no output).
KEYW = dict(gain="GAIN", rdnoise="RDNOISE", snoise="0")
STATSEC = "[3:20,4:17]"

CASES = []


def word(k, v):
    """One IRAF word key=value; quote values CL would otherwise mangle."""
    v = str(v)
    if v == "" or re.search(r'[\[\]!@,\s"]', v):
        return '%s="%s"' % (k, v)
    return "%s=%s" % (k, v)


def add(group, name, lis, sigma=False, nrej=False, rej=False, exp=False, expect=None, note=None,
        **kw):
    assert re.fullmatch(r"[a-z0-9_]+", name), name
    assert all(c["name"] != name for c in CASES), "duplicate case " + name
    p = dict(DEFAULTS)
    for k, v in kw.items():
        assert k in p, k
        p[k] = v
    if p["scale"] == "exposure" or p["weight"] == "exposure":
        assert p["expname"], name
    c = dict(group=group, name=name, list=lis, params=[word(k, p[k]) for k in PARAM_ORDER],
             sigma=sigma, nrej=nrej, rej=rej, exp=exp)
    if expect is not None:
        c["expect"] = expect
    if note:
        c["note"] = note
    CASES.append(c)


# ---------------------------------------------------------------- f7 main
REJECTS = ["none", "minmax", "ccdclip", "crreject", "sigclip", "avsigclip", "pclip"]
COMBINES = ["average", "median", "sum", "lmedian"]
for cmb in COMBINES:
    for rej in REJECTS:
        # lmedian == median for 7 values unless a clipping step leaves 2;
        # sum with sigclip at 3 sigma == sum with no rejection
        if (cmb, rej) in (("lmedian", "minmax"), ("lmedian", "sigclip"), ("sum", "sigclip")):
            continue
        full = cmb in ("average", "median")
        add("f7main", "f7_%s_%s" % (cmb, rej), "inputs/f7.lis", sigma=full, nrej=full,
            combine=cmb, reject=rej, **KEYW)

# sigclip can never reject a lone outlier among 7 values at 3 sigma
# (max |r|/sigma = sqrt(6) = 2.45), so also 2 sigma versions.
for cmb in ["average", "median"]:
    for rej in ["sigclip", "avsigclip"]:
        add("f7main", "f7_%s_%s_s2" % (cmb, rej), "inputs/f7.lis", nrej=True,
            combine=cmb, reject=rej, lsigma="2", hsigma="2", **KEYW)

# ---------------------------------------------------------------- mclip=no
for cmb in ["average", "median"]:
    for rej in ["sigclip", "avsigclip", "ccdclip", "crreject"]:
        add("mclip", "f7_%s_%s_mclipno" % (cmb, rej), "inputs/f7.lis",
            sigma=(cmb == "average"), nrej=True, combine=cmb, reject=rej, mclip="no", **KEYW)
# lmedian is only honoured when the median is recomputed after rejection
for rej in ["crreject", "ccdclip"]:
    add("mclip", "f7_lmedian_%s_mclipno" % rej, "inputs/f7.lis", combine="lmedian",
        reject=rej, mclip="no", **KEYW)
add("mclip", "f7_average_sigclip_mclipno_s2", "inputs/f7.lis", nrej=True, combine="average",
    reject="sigclip", mclip="no", lsigma="2", hsigma="2", **KEYW)

# ---------------------------------------------------------------- nkeep
for rej in ["sigclip", "ccdclip", "pclip"]:
    for nk in ["0", "1", "3", "-1", "-2"]:
        add("nkeep", "f7_avg_%s_nk%s_s1" % (rej, nk.replace("-", "m")), "inputs/f7.lis",
            nrej=True, combine="average", reject=rej, nkeep=nk, lsigma="1", hsigma="1", **KEYW)
add("nkeep", "f7_avg_sigclip_nk3_s15", "inputs/f7.lis", nrej=True, combine="average",
    reject="sigclip", nkeep="3", lsigma="1.5", hsigma="1.5", **KEYW)
add("nkeep", "f7_avg_ccdclip_nkm1_s15", "inputs/f7.lis", nrej=True, combine="average",
    reject="ccdclip", nkeep="-1", lsigma="1.5", hsigma="1.5", **KEYW)
add("nkeep", "f7_median_sigclip_nkm1_s1", "inputs/f7.lis", nrej=True, combine="median",
    reject="sigclip", nkeep="-1", lsigma="1", hsigma="1", **KEYW)
add("nkeep", "f7_median_ccdclip_nk3_s1", "inputs/f7.lis", nrej=True, combine="median",
    reject="ccdclip", nkeep="3", lsigma="1", hsigma="1", **KEYW)
add("nkeep", "f7_avg_avsigclip_nk3_s1", "inputs/f7.lis", nrej=True, combine="average",
    reject="avsigclip", nkeep="3", lsigma="1", hsigma="1", **KEYW)
add("nkeep", "f7_avg_crreject_nkm1_s1", "inputs/f7.lis", nrej=True, combine="average",
    reject="crreject", nkeep="-1", lsigma="1", hsigma="1", **KEYW)

# ---------------------------------------------------------------- pclip
for pc in ["-0.5", "-0.05", "0.5", "-1", "-2", "2", "0.3"]:
    tag = pc.replace("-", "m").replace(".", "p")
    if pc in ("-0.05", "2", "0.3"):  # -0.5 is f7_average_pclip
        add("pclip", "f7_avg_pclip_%s" % tag, "inputs/f7.lis", combine="average",
            reject="pclip", pclip=pc, **KEYW)
    add("pclip", "f7_avg_pclip_%s_s15" % tag, "inputs/f7.lis", nrej=True, combine="average",
        reject="pclip", pclip=pc, lsigma="1.5", hsigma="1.5", **KEYW)

# ---------------------------------------------------------------- minmax
for nl, nh in [("1", "1"), ("0", "2"), ("2", "0"), ("2", "1")]:
    if (nl, nh) != ("1", "1"):  # 1,1 is f7_average_minmax
        add("minmax", "f7_avg_minmax_%s%s" % (nl, nh), "inputs/f7.lis",
            combine="average", reject="minmax", nlow=nl, nhigh=nh, **KEYW)
    add("minmax", "f7_avg_minmax_%s%s_thr" % (nl, nh), "inputs/f7.lis", nrej=True,
        combine="average", reject="minmax", nlow=nl, nhigh=nh, lthreshold="50",
        hthreshold="3000", **KEYW)
add("minmax", "f7_median_minmax_21_thr", "inputs/f7.lis", nrej=True, combine="median",
    reject="minmax", nlow="2", nhigh="1", lthreshold="50", hthreshold="3000", **KEYW)
# The task code would take values < 1 as fractions of N ...
# ... but nlow/nhigh are integer CL parameters, so 0.3 arrives as 0 and
# nlow=nhigh=0 silently turns the rejection off.
add("minmax", "f7_avg_minmax_frac03", "inputs/f7.lis", combine="average",
    reject="minmax", nlow="0.3", nhigh="0.3",
    note="nlow/nhigh are integer CL parameters: 0.3 -> 0, so no rejection at all", **KEYW)
add("minmax", "f7_avg_minmax_33", "inputs/f7.lis", combine="average",
    reject="minmax", nlow="3", nhigh="3", **KEYW)

# ---------------------------------------------------------------- thresholds / blank
add("thresh", "f7_avg_lthr", "inputs/f7.lis", combine="average", lthreshold="50", **KEYW)
add("thresh", "f7_avg_hthr", "inputs/f7.lis", combine="average", hthreshold="3000", **KEYW)
add("thresh", "f7_avg_lhthr", "inputs/f7.lis", nrej=True, combine="average", lthreshold="50",
    hthreshold="3000", **KEYW)
add("thresh", "f7_median_lhthr", "inputs/f7.lis", combine="median", lthreshold="50",
    hthreshold="3000", **KEYW)
add("thresh", "f7_avg_lthr_sigclip_s2", "inputs/f7.lis", nrej=True, combine="average",
    reject="sigclip", lthreshold="50", lsigma="2", hsigma="2", **KEYW)
# The bright star core is > 5000 ADU in every frame -> nothing left -> blank
for cmb in ["average", "median", "sum"]:
    add("blank", "f7_%s_hthr5000_blank" % cmb, "inputs/f7.lis", nrej=(cmb == "average"),
        combine=cmb, hthreshold="5000", blank="-999", **KEYW)
add("blank", "f7_avg_sigclip_hthr5000_blank", "inputs/f7.lis", sigma=True, nrej=True,
    combine="average", reject="sigclip", hthreshold="5000", blank="-999", **KEYW)
add("blank", "f7_avg_band_blank", "inputs/f7.lis", combine="average",
    lthreshold="2000", hthreshold="5000", blank="-999", **KEYW)

# ---------------------------------------------------------------- grow
for g in ["1", "1.5", "2"]:
    tag = g.replace(".", "p")
    add("grow", "f7_avg_sigclip_s2_grow%s" % tag, "inputs/f7.lis", nrej=True,
        combine="average", reject="sigclip", lsigma="2", hsigma="2", grow=g, **KEYW)
    add("grow", "f7_avg_crreject_grow%s" % tag, "inputs/f7.lis", nrej=True,
        combine="average", reject="crreject", grow=g, **KEYW)

# ---------------------------------------------------------------- scale / zero / weight
for sc in ["mode", "median", "mean"]:
    add("scale", "f7_avg_scale_%s" % sc, "inputs/f7.lis", combine="average", scale=sc, **KEYW)
add("scale", "f7_avg_scale_modesec", "inputs/f7.lis", combine="average", scale="mode",
    statsec=STATSEC, **KEYW)
add("scale", "f7_avg_scale_exposure", "inputs/f7.lis", combine="average", scale="exposure",
    expname="EXPTIME", **KEYW)
add("scale", "f7_avg_scale_file", "inputs/f7.lis", combine="average",
    scale="@inputs/scales.txt", **KEYW)
add("scale", "f7_avg_scale_kw", "inputs/f7.lis", combine="average", scale="!MYWT", **KEYW)
add("scale", "f7_median_scale_mode", "inputs/f7.lis", combine="median", scale="mode", **KEYW)
add("scale", "f7_sum_scale_mode", "inputs/f7.lis", combine="sum", scale="mode", **KEYW)

for zr in ["mode", "median", "mean"]:
    add("zero", "f7_avg_zero_%s" % zr, "inputs/f7.lis", combine="average", zero=zr, **KEYW)
add("zero", "f7_avg_zero_mediansec", "inputs/f7.lis", combine="average", zero="median",
    statsec=STATSEC, **KEYW)
add("zero", "f7_avg_zero_file", "inputs/f7.lis", combine="average", zero="@inputs/zeros.txt",
    **KEYW)
add("zero", "f7_median_zero_mode", "inputs/f7.lis", combine="median", zero="mode", **KEYW)

for wt in ["mode", "median", "mean"]:
    add("weight", "f7_avg_weight_%s" % wt, "inputs/f7.lis", combine="average", weight=wt, **KEYW)
add("weight", "f7_avg_weight_meansec", "inputs/f7.lis", combine="average", weight="mean",
    statsec=STATSEC, **KEYW)
add("weight", "f7_avg_weight_exposure", "inputs/f7.lis", combine="average", weight="exposure",
    expname="EXPTIME", **KEYW)
add("weight", "f7_avg_weight_file", "inputs/f7.lis", sigma=True, combine="average",
    weight="@inputs/weights.txt", **KEYW)
add("weight", "f7_avg_weight_kw", "inputs/f7.lis", combine="average", weight="!MYWT", **KEYW)
add("weight", "f7_median_weight_file", "inputs/f7.lis", combine="median",
    weight="@inputs/weights.txt", **KEYW)
add("weight", "f7_sum_weight_file", "inputs/f7.lis", combine="sum",
    weight="@inputs/weights.txt", **KEYW)
add("weight", "f7_sum_none_sigma", "inputs/f7.lis", sigma=True, combine="sum", **KEYW)

# combinations (reject none)
add("szw", "f7_avg_szw_mode", "inputs/f7.lis", combine="average", scale="mode", zero="mode",
    weight="mode", **KEYW)
add("szw", "f7_avg_szw_mean_sec", "inputs/f7.lis", combine="average", scale="mean", zero="mean",
    weight="mean", statsec=STATSEC, **KEYW)
add("szw", "f7_avg_szw_median", "inputs/f7.lis", combine="average", scale="median",
    zero="median", weight="median", **KEYW)
add("szw", "f7_avg_szw_exp_median", "inputs/f7.lis", combine="average", scale="exposure",
    zero="median", weight="exposure", expname="EXPTIME", **KEYW)
add("szw", "f7_avg_szw_exp_none", "inputs/f7.lis", combine="average", scale="exposure",
    weight="exposure", expname="EXPTIME", **KEYW)
add("szw", "f7_avg_szw_files", "inputs/f7.lis", combine="average", scale="@inputs/scales.txt",
    zero="@inputs/zeros.txt", weight="@inputs/weights.txt", **KEYW)
add("szw", "f7_avg_szw_kw_mean", "inputs/f7.lis", combine="average", scale="!MYWT",
    zero="mean", weight="!MYWT", **KEYW)

# scaling + clipping: exercises the sigscale (sigma correction) paths
SZ = [("smode", dict(scale="mode")),
      ("sfile_zfile", dict(scale="@inputs/scales.txt", zero="@inputs/zeros.txt")),
      ("smode_zmode_wmode", dict(scale="mode", zero="mode", weight="mode"))]
for rej, sig in [("sigclip", "2"), ("avsigclip", "3"), ("ccdclip", "3")]:
    for tag, d in SZ:
        add("sigscale", "f7_avg_%s_%s" % (rej, tag), "inputs/f7.lis", nrej=(tag == "smode"),
            combine="average", reject=rej, lsigma=sig, hsigma=sig, **d, **KEYW)
    for ssc in (["0", "0.05", "100"] if rej == "ccdclip" else ["0", "0.05"]):
        add("sigscale", "f7_avg_%s_smode_zmode_ss%s" % (rej, ssc.replace(".", "p")),
            "inputs/f7.lis", combine="average", reject=rej, lsigma=sig, hsigma=sig,
            scale="mode", zero="mode", sigscale=ssc, **KEYW)
for rej in ["ccdclip", "crreject"]:
    add("sigscale", "f7_avg_%s_sexp_ss0" % rej, "inputs/f7.lis", combine="average",
        reject=rej, scale="exposure", expname="EXPTIME", sigscale="0", **KEYW)
add("sigscale", "f7_median_ccdclip_smode_zmode_ss0", "inputs/f7.lis", combine="median",
    reject="ccdclip", scale="mode", zero="mode", sigscale="0", **KEYW)
add("sigscale", "f7_avg_ccdclip_zmedian", "inputs/f7.lis", combine="average",
    reject="ccdclip", zero="median", **KEYW)
add("sigscale", "f7_avg_ccdclip_smode_sec", "inputs/f7.lis", combine="average",
    reject="ccdclip", scale="mode", statsec=STATSEC, **KEYW)

# ---------------------------------------------------------------- CCD noise params
NOISE = [("num", dict(gain="2", rdnoise="6", snoise="0")),
         ("numsn", dict(gain="2", rdnoise="6", snoise="0.02")),
         ("kwall", dict(gain="GAIN", rdnoise="RDNOISE", snoise="SNOISE")),
         ("mixed", dict(gain="GAIN", rdnoise="5", snoise="0.01"))]
for rej in ["ccdclip", "crreject"]:
    for tag, d in NOISE:
        if rej == "crreject" and tag in ("numsn", "mixed"):
            continue
        add("noise", "f7_avg_%s_%s" % (rej, tag), "inputs/f7.lis",
            combine="average", reject=rej, **d)
add("noise", "f7_avg_ccdclip_num_s2", "inputs/f7.lis", nrej=True, combine="average",
    reject="ccdclip", lsigma="2", hsigma="2", gain="2", rdnoise="6", snoise="0")
add("noise", "f7_avg_ccdclip_kwall_s2", "inputs/f7.lis", nrej=True, combine="average",
    reject="ccdclip", lsigma="2", hsigma="2", gain="GAIN", rdnoise="RDNOISE", snoise="SNOISE")

# ---------------------------------------------------------------- i7 (int16 input)
for rej in ["none", "minmax", "ccdclip", "sigclip", "pclip"]:
    add("i7", "i7_average_%s" % rej, "inputs/i7.lis", combine="average", reject=rej, **KEYW)
for rej in ["none", "ccdclip", "pclip"]:
    add("i7", "i7_median_%s" % rej, "inputs/i7.lis", combine="median", reject=rej, **KEYW)
add("i7", "i7_sum_none", "inputs/i7.lis", combine="sum", **KEYW)
add("i7", "i7_lmedian_none", "inputs/i7.lis", combine="lmedian", **KEYW)
add("i7", "i7_avg_scale_mode", "inputs/i7.lis", combine="average", scale="mode", **KEYW)
add("i7", "i7_avg_szw_exp", "inputs/i7.lis", combine="average", scale="exposure",
    weight="exposure", expname="EXPTIME", **KEYW)
add("i7", "i7_avg_minmax_21_thr", "inputs/i7.lis", nrej=True, combine="average",
    reject="minmax", nlow="2", nhigh="1", lthreshold="50", hthreshold="3000", **KEYW)
add("i7", "i7_avg_pclip_m0p05", "inputs/i7.lis", combine="average",
    reject="pclip", pclip="-0.05", **KEYW)
add("i7", "i7_avg_sigclip_nk3_s1", "inputs/i7.lis", nrej=True, combine="average",
    reject="sigclip", nkeep="3", lsigma="1", hsigma="1", **KEYW)
add("i7", "i7_avg_ccdclip_smode_zmode_ss0p05", "inputs/i7.lis", combine="average",
    reject="ccdclip", scale="mode", zero="mode", sigscale="0.05", **KEYW)

# ---------------------------------------------------------------- p2 (pair)
for cmb in ["average", "median"]:
    for rej in ["crreject", "ccdclip"]:
        for mc in ["yes", "no"]:
            add("p2", "p2_%s_%s_mclip%s" % (cmb, rej, mc), "inputs/p2.lis",
                sigma=(cmb == "average"), nrej=True, combine=cmb, reject=rej, mclip=mc, **KEYW)
for mc in ["yes", "no"]:
    add("p2", "p2_lmedian_crreject_mclip%s" % mc, "inputs/p2.lis", combine="lmedian",
        reject="crreject", mclip=mc, **KEYW)
add("p2", "p2_average_sigclip", "inputs/p2.lis", nrej=True, combine="average",
    reject="sigclip", **KEYW)
add("p2", "p2_lmedian_none", "inputs/p2.lis", combine="lmedian", **KEYW)
add("p2", "p2_median_none", "inputs/p2.lis", combine="median", **KEYW)
add("p2", "p2_average_minmax_01", "inputs/p2.lis", combine="average",
    reject="minmax", nlow="0", nhigh="1", **KEYW)
add("p2", "p2_average_crreject_num_nkm1", "inputs/p2.lis", nrej=True, combine="average",
    reject="crreject", gain="2", rdnoise="5", snoise="0", nkeep="-1")

# ---------------------------------------------------------------- tiny hand-picked sets
# pixel 1 holds the hand-picked values, pixel 2 is 500 in every frame,
# pixel 3 a second small set (see make_inputs.py).
add("tiny", "t5_avg_pclip_m0p05", "inputs/t5.lis", sigma=True, nrej=True, combine="average",
    reject="pclip", pclip="-0.05", expect={"x1": 118.0},
    note="pixel 1: [100,120,120,120,130]")
add("tiny", "t4_avg_ccdclip_g1r0_nk1", "inputs/t4.lis", sigma=True, nrej=True,
    combine="average", reject="ccdclip", gain="1", rdnoise="0", snoise="0", nkeep="1",
    expect={"x1": 1200.0}, note="pixel 1: [1000,1090,1310,1400]")
add("tiny", "t4_avg_ccdclip_g1r0_nk1_s1", "inputs/t4.lis", nrej=True,
    combine="average", reject="ccdclip", gain="1", rdnoise="0", snoise="0", nkeep="1",
    lsigma="1", hsigma="1", note="pixel 1: [1000,1090,1310,1400]")
add("tiny", "t4_avg_ccdclip_g1r0_nk0_s1", "inputs/t4.lis", nrej=True,
    combine="average", reject="ccdclip", gain="1", rdnoise="0", snoise="0", nkeep="0",
    lsigma="1", hsigma="1", note="pixel 1: [1000,1090,1310,1400]")
add("tiny", "t4_avg_ccdclip_g1r0_nk1_s1_mclipno", "inputs/t4.lis", nrej=True,
    combine="average", reject="ccdclip", gain="1", rdnoise="0", snoise="0", nkeep="1",
    lsigma="1", hsigma="1", mclip="no", note="pixel 1: [1000,1090,1310,1400]")
add("tiny", "t3_avg_minmax_11_hthr2500", "inputs/t3.lis", sigma=True, nrej=True,
    combine="average", reject="minmax", nlow="1", nhigh="1", hthreshold="2500",
    expect={"x1": 1005.0}, note="pixel 1: [1000,1010,3000]")
add("tiny", "t3_avg_minmax_11", "inputs/t3.lis", combine="average",
    reject="minmax", nlow="1", nhigh="1", note="pixel 1: [1000,1010,3000]")
add("tiny", "t5_avg_minmax_11", "inputs/t5.lis", combine="average",
    reject="minmax", nlow="1", nhigh="1")
add("tiny", "t4_lmedian_none", "inputs/t4.lis", combine="lmedian")
add("tiny", "t4_median_none", "inputs/t4.lis", combine="median")
add("tiny", "t3_lmedian_hthr2500", "inputs/t3.lis", combine="lmedian", hthreshold="2500")
add("tiny", "t3_median_hthr2500", "inputs/t3.lis", combine="median", hthreshold="2500")
for t in ["t5", "t4", "t3"]:
    for rej, sgs in [("sigclip", ["3", "1"]), ("avsigclip", ["1"]), ("pclip", ["3", "1"])]:
        for sg in sgs:
            add("tiny", "%s_avg_%s_s%s" % (t, rej, sg), "inputs/%s.lis" % t, nrej=(sg == "1"),
                combine="average", reject=rej, lsigma=sg, hsigma=sg)
add("tiny", "t5_median_sigclip_s1", "inputs/t5.lis", combine="median",
    reject="sigclip", lsigma="1", hsigma="1")
add("tiny", "t3_lmedian_sigclip_s1", "inputs/t3.lis", combine="lmedian",
    reject="sigclip", lsigma="1", hsigma="1", note="pixel 1: [1000,1010,3000]")
add("tiny", "t4_median_ccdclip_g1r0_nk1", "inputs/t4.lis", combine="median",
    reject="ccdclip", gain="1", rdnoise="0", snoise="0", nkeep="1",
    note="pixel 1: [1000,1090,1310,1400]")
add("tiny", "t5_avg_sigclip_s1_nk0", "inputs/t5.lis", nrej=True, combine="average",
    reject="sigclip", lsigma="1", hsigma="1", nkeep="0")
add("tiny", "t5_avg_ccdclip_g1r0", "inputs/t5.lis", nrej=True, combine="average",
    reject="ccdclip", gain="1", rdnoise="0", snoise="0")

# ---------------------------------------------------------------- orion (real uint16 data)
OCCD = dict(gain="1.5", rdnoise="10", snoise="0")
for cmb in ["average", "median"]:
    for rej in REJECTS:
        if cmb == "median" and rej in ("avsigclip", "minmax"):
            continue
        sg = cmb == "average" and rej in ("none", "ccdclip")
        nr = cmb == "average" and rej in ("sigclip", "ccdclip")
        add("orion", "orion_%s_%s" % (cmb, rej), "inputs/orion.lis", sigma=sg, nrej=nr,
            combine=cmb, reject=rej, **OCCD)
for sc in ["median", "mode", "mean"]:
    add("orion", "orion_avg_scale_%s" % sc, "inputs/orion.lis", combine="average", scale=sc,
        **OCCD)
for zr in ["median"]:
    add("orion", "orion_avg_zero_%s" % zr, "inputs/orion.lis", combine="average", zero=zr,
        **OCCD)
add("orion", "orion_avg_sigclip_zmedian", "inputs/orion.lis", combine="average",
    reject="sigclip", zero="median", **OCCD)
add("orion", "orion_avg_ccdclip_smode_ss0", "inputs/orion.lis", combine="average",
    reject="ccdclip", scale="mode", sigscale="0", **OCCD)
add("orion", "orion_avg_avsigclip_smedian_zmode", "inputs/orion.lis", combine="average",
    reject="avsigclip", scale="median", zero="mode", **OCCD)
add("orion", "orion_median_szw_mode", "inputs/orion.lis", combine="median", scale="mode",
    zero="mode", weight="mode", **OCCD)
add("orion", "orion_avg_szw_mode", "inputs/orion.lis", combine="average", scale="mode",
    zero="mode", weight="mode", **OCCD)
add("orion", "orion_avg_pclip_m0p2_s2", "inputs/orion.lis", combine="average",
    reject="pclip", pclip="-0.2", lsigma="2", hsigma="2", **OCCD)

# ---------------------------------------------------------------- quadrature and nmodel
for cmb in ["quadrature", "nmodel"]:
    for rej, extra in [("none", {}), ("sigclip", dict(lsigma="2", hsigma="2")), ("ccdclip", {}),
                       ("crreject", {})]:
        add("quadnm", "f7_%s_%s" % (cmb, rej), "inputs/f7.lis", sigma=True, nrej=True,
            combine=cmb, reject=rej, **dict(KEYW, **extra))
    add("quadnm", "f7_%s_wexp" % cmb, "inputs/f7.lis", combine=cmb, weight="exposure",
        expname="EXPTIME", **KEYW)
    add("quadnm", "f7_%s_smedian_ccdclip" % cmb, "inputs/f7.lis", combine=cmb,
        reject="ccdclip", scale="median", **KEYW)
    add("quadnm", "f7_%s_numbers" % cmb, "inputs/f7.lis", combine=cmb, gain="2.0",
        rdnoise="5", snoise="0.01")
    add("quadnm", "i7_%s_ccdclip" % cmb, "inputs/i7.lis", combine=cmb, reject="ccdclip", **KEYW)

# ---------------------------------------------------------------- rejmasks and expmasks
# A rejection mask has a plane per input (1 where that image's value was not used); an exposure
# mask sums the exposure times (expname; 1 when absent) of the images used, scaled to integers.
MASKS = [
    ("f7_avg_sigclip_s2", "inputs/f7.lis", dict(combine="average", reject="sigclip", lsigma="2",
                                                hsigma="2", expname="EXPTIME")),
    ("f7_median_ccdclip", "inputs/f7.lis", dict(combine="median", reject="ccdclip",
                                                expname="EXPTIME")),
    ("f7_avg_crreject_noexp", "inputs/f7.lis", dict(combine="average", reject="crreject")),
    ("f7_avg_minmax_gainexp", "inputs/f7.lis", dict(combine="average", reject="minmax",
                                                    expname="GAIN")),
    ("f7_avg_pclip_nk3_s1", "inputs/f7.lis", dict(combine="average", reject="pclip", nkeep="3",
                                                  lsigma="1", hsigma="1", expname="EXPTIME")),
    ("f7_avg_thresh_wfile", "inputs/f7.lis", dict(combine="average", hthreshold="1100",
                                                  lthreshold="950", weight="@inputs/weights.txt",
                                                  expname="RDNOISE")),
    ("f7_avg_sigclip_grow1", "inputs/f7.lis", dict(combine="average", reject="sigclip",
                                                   lsigma="2", hsigma="2", grow="1",
                                                   expname="EXPTIME")),
    ("i7_avg_ccdclip", "inputs/i7.lis", dict(combine="average", reject="ccdclip",
                                             expname="EXPTIME")),
    ("t3_avg_thresh", "inputs/t3.lis", dict(combine="average", hthreshold="150",
                                            expname="EXPTIME")),
]
for name, lis, kw in MASKS:
    gk = {} if "orion" in lis else KEYW
    add("masks", "mask_" + name, lis, nrej=True, rej=True, exp=True, **dict(gk, **kw))
add("masks", "mask_orion_avg_ccdclip", "inputs/orion.lis", nrej=True, rej=True, exp=True,
    combine="average", reject="ccdclip", expname="EXPTIME", **OCCD)

# ======================================================================
def cl_command(c):
    out = "out/%s.fits" % c["name"]
    words = ["@" + c["list"], out] + c["params"]
    if c["sigma"]:
        words.append('sigmas="out/%s_sigma.fits"' % c["name"])
    else:
        words.append('sigmas=""')
    if c["nrej"]:
        words.append('nrejmasks="%s/pl/%s_nrej.pl"' % (WORK, c["name"]))
    else:
        words.append('nrejmasks=""')
    for flag, key, suf in (("rej", "rejmasks", "rej"), ("exp", "expmasks", "exp")):
        if c.get(flag):
            words.append('%s="%s/pl/%s_%s.pl"' % (key, WORK, c["name"], suf))
    words.append('logfile="%s/logs/%s.log"' % (WORK, c["name"]))
    return "imcombine " + " ".join(words)


def clean_outputs(c):
    for suf in ["", "_sigma", "_nrej", "_rej", "_exp"]:
        p = os.path.join(OUT, "%s%s.fits" % (c["name"], suf))
        if os.path.exists(p):
            os.remove(p)
    for p in [os.path.join(WORK, "pl", c["name"] + "_nrej.pl"),
              os.path.join(WORK, "pl", c["name"] + "_rej.pl"),
              os.path.join(WORK, "pl", c["name"] + "_exp.pl"),
              os.path.join(WORK, "logs", c["name"] + ".log")]:
        if os.path.exists(p):
            os.remove(p)


def wrap(line, width=200):
    """Break a long CL line with backslash continuations."""
    parts, cur = [], ""
    for w in line.split(" "):
        if cur and len(cur) + 1 + len(w) > width:
            parts.append(cur)
            cur = "    " + w
        else:
            cur = (cur + " " + w) if cur else w
    parts.append(cur)
    return " \\\n".join(parts)


def run_group(group, cases):
    lines = ["images", "immatch", "cd %s" % HERE, "unlearn imcombine",
             # non-algorithm I/O parameters, fixed for every case
             'imcombine.headers = ""', 'imcombine.bpmasks = ""', 'imcombine.rejmasks = ""',
             'imcombine.expmasks = ""', 'imcombine.imcmb = "$I"']
    for c in cases:
        clean_outputs(c)
        lines.append('print("@@CASE %s")' % c["name"])
        lines.append(wrap(cl_command(c)))
        for suf in [s for s, on in (("nrej", c["nrej"]), ("rej", c.get("rej")),
                                        ("exp", c.get("exp"))) if on]:
            lines.append('imcopy %s/pl/%s_%s.pl out/%s_%s.fits verbose-'
                         % (WORK, c["name"], suf, c["name"], suf))
    lines.append('print("@@CASE __end__")')
    lines.append("logout")
    script = os.path.join(WORK, "run_%s.cl" % group)
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    env = dict(os.environ, HOME=IRAFHOME, USER="skycomb")
    with open(script) as fin:
        res = subprocess.run(["irafcl"], stdin=fin, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env, cwd=IRAFHOME, timeout=1800)
    text = res.stdout.decode("utf-8", "replace")
    with open(os.path.join(WORK, "run_%s.stdout" % group), "w") as f:
        f.write(text)
    # split irafcl output on the case markers; keep Warning/ERROR lines
    msgs, cur = {}, None
    for ln in text.splitlines():
        m = re.match(r"^@@CASE (\S+)", ln)
        if m:
            cur = m.group(1)
            msgs[cur] = []
            continue
        if cur and re.search(r"(ERROR|Warning|warning|error)", ln) and "@@CASE" not in ln:
            msgs[cur].append(ln.split("> ", 1)[-1] if ln.startswith(("immatch>",)) else ln)
    return msgs, text


def read_log(name):
    p = os.path.join(WORK, "logs", name + ".log")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        ls = [ln.rstrip() for ln in f.read().splitlines()]
    # drop blank lines and the date line ("Nov 30  7:47: IMCOMBINE")
    ls = [ln for ln in ls if ln.strip() and not re.match(r"^\w{3}\s+\d+\s+\d+:\d+: IMCOMBINE", ln)]
    # drop the output-name lines, and the image table when it only lists names
    ls = [ln for ln in ls if not re.match(
        r"^\s+(Output image|Number rejected mask|Rejection mask|Exposure mask|Sigma image) = ", ln)]
    i = [k for k, ln in enumerate(ls) if ln.strip().startswith("Images")]
    if i and ls[i[0]].strip() == "Images":
        ls = ls[:i[0]] + [ln for ln in ls[i[0] + 1:] if not re.match(r"^\s+\S+\.fits$", ln)]
    return ls


def iraf_version():
    env = dict(os.environ, HOME=IRAFHOME, USER="skycomb")
    r = subprocess.run(["irafcl"], input=b'print(envget("version"))\nlogout\n',
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=IRAFHOME)
    for ln in r.stdout.decode().splitlines():
        m = re.search(r"(Community IRAF V\S+|NOAO.*IRAF.*V\S+)", ln)
        if m and "print" not in ln:
            return m.group(1).strip()
    return "unknown"


def main():
    only = sys.argv[1:]
    groups = []
    for c in CASES:
        if c["group"] not in groups:
            groups.append(c["group"])
    for g in only:
        assert g in groups, "unknown group %s (have %s)" % (g, groups)
    os.makedirs(IRAFHOME, exist_ok=True)
    for d in ["", "/pl", "/logs"]:
        os.makedirs(WORK + d, exist_ok=True)
    if not only:
        shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    allmsgs = {}
    for g in (only or groups):
        cs = [c for c in CASES if c["group"] == g]
        msgs, _ = run_group(g, cs)
        allmsgs.update(msgs)
        bad = [c["name"] for c in cs
               if not os.path.exists(os.path.join(OUT, c["name"] + ".fits"))
               or (c["sigma"] and not os.path.exists(os.path.join(OUT, c["name"] + "_sigma.fits")))
               or (c["nrej"] and not os.path.exists(os.path.join(OUT, c["name"] + "_nrej.fits")))]
        print("group %-10s %3d cases, missing outputs: %s" % (g, len(cs), bad or "none"))
        for c in cs:
            if msgs.get(c["name"]):
                print("   %s: %s" % (c["name"], " | ".join(msgs[c["name"]])))
    version = iraf_version()
    out = []
    if only:
        # a partial run replaces its groups' entries and keeps the others
        with open(os.path.join(HERE, "cases.json")) as f:
            out = [e for e in json.load(f) if e["group"] not in only]
    for c in (c for c in CASES if not only or c["group"] in only):
        outputs = {"image": "out/%s.fits" % c["name"]}
        if c["sigma"]:
            outputs["sigma"] = "out/%s_sigma.fits" % c["name"]
        if c["nrej"]:
            outputs["nrej"] = "out/%s_nrej.fits" % c["name"]
        for k in ("rej", "exp"):
            if c.get(k):
                outputs[k] = "out/%s_%s.fits" % (c["name"], k)
        if not all(os.path.exists(os.path.join(HERE, p)) for p in outputs.values()):
            print("DROPPING %s: outputs missing" % c["name"])
            continue
        e = {"name": c["name"], "group": c["group"], "list": c["list"], "params": c["params"],
             "outputs": outputs, "iraf_log": read_log(c["name"])}
        if allmsgs.get(c["name"]):
            e["iraf_messages"] = allmsgs[c["name"]]
        for k in ("expect", "note"):
            if k in c:
                e[k] = c[k]
        out.append(e)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        f.write("[\n")
        for i, e in enumerate(out):
            body = ",\n".join('  "%s": %s' % (k, json.dumps(v)) for k, v in e.items())
            f.write(" {\n%s\n }%s\n" % (body, "," if i + 1 < len(out) else ""))
        f.write("]\n")
    print("IRAF version: %s; %d cases written to cases.json" % (version, len(out)))


if __name__ == "__main__":
    main()
