#!/usr/bin/env python3
"""Checks of the Siril 1.0.6 reference outputs (out/*.fits, cases.json).

Part A - plain sanity checks with numpy (no knowledge of Siril internals):
  * no-rejection, no-normalisation stack == float32(numpy float64 mean)
  * median stack == numpy median (when no quirk applies)
  * cosmic-ray / trail / cold pixels in rejecting stacks are close to the
    mean of the clean frames
  * 'defaultnorm', 'weighted_nonorm', 'weighted_before_norm' and 'meanalias'
    cases are identical to the corresponding plain cases

Part B - a line-by-line Python port of Siril 1.0.6's float code path
(src/stacking/rejection_float.c, median_and_mean.c, normalization.c,
siril_fit_linear.c, algos/sorting.c, algos/statistics_float.c,
algos/quantize.c, rt/rt_algo.cc), using numpy float32 scalars where Siril
uses float. Every case is recomputed and compared with Siril's output; this
is what the algorithm descriptions in README.md are checked against.

Writes check_report.txt next to this file.
Run:  /work/iraf-venv/bin/python check_siril.py
"""
import json
import math
import os

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
F = np.float32
REPORT = []
# Siril behaviours that look unintended; set to False to see what a "fixed"
# implementation would give (Part C). True = behave exactly like Siril 1.0.6.
QUIRK = {
    "cap_double_count": True,   # 'N - r <= 4' with N already reduced by earlier rejections
    "linfit_fixed_x": True,     # linear fit keeps m_x, 1/var(x) of the FULL stack in later iterations
    "gesd_min2": True,          # confirm_outliers always rejects the first min(2, max_outliers) candidates
    "gesd_cold_index": True,    # index of a high candidate ignores earlier removed low ones
    "kmad_hist_median": True,   # MAD = approximate histogram median (n bins) of |x - m|
    "kmad_unscaled": True,      # MAD is not multiplied by 1.4826
    "kmad_stale_median": True,  # MAD of iteration k>1 is taken around the median of iteration k-1
}


def say(*a):
    s = " ".join(str(x) for x in a)
    print(s)
    REPORT.append(s)


# ===========================================================================
# Port of Siril's helpers
# ===========================================================================
NETS = {
    2: [(0, 1)],
    3: [(0, 1), (1, 2), (0, 1)],
    4: [(0, 1), (2, 3), (0, 2), (1, 3), (1, 2)],
    5: [(0, 1), (2, 3), (1, 3), (2, 4), (0, 2), (1, 4), (1, 2), (3, 4), (2, 3)],
    6: [(0, 1), (2, 3), (4, 5), (0, 2), (3, 5), (1, 4), (0, 1), (2, 3), (4, 5), (1, 2), (3, 4),
        (2, 3)],
    7: [(1, 2), (3, 4), (5, 6), (0, 2), (4, 6), (3, 5), (2, 6), (1, 5), (0, 4), (2, 5), (0, 3),
        (2, 4), (1, 3), (0, 1), (2, 3), (4, 5)],
    8: [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (1, 2), (5, 6), (0, 4),
        (1, 5), (2, 6), (3, 7), (2, 4), (3, 5), (1, 2), (3, 4), (5, 6)],
}


def quickmedian_float(a, n):
    """algos/sorting.c quickmedian_float: reorders a[0:n] in place, returns double."""
    if n < 9:
        k = n // 2
        if n == 1:
            return float(a[0])
        for i, j in NETS[n]:
            if a[i] > a[j]:
                a[i], a[j] = a[j], a[i]
        if n % 2 == 0:
            return float(F(a[k - 1] + a[k])) / 2.0     # float sum, then / 2.0
        return float(a[k])
    k = n // 2
    left, right = 0, n - 1
    while left < right:
        pindex = (left + right) // 2
        pivot = a[pindex]
        a[pindex] = a[right]
        a[right] = pivot
        pindex = left
        for i in range(left, right):
            if a[i] < pivot:
                a[pindex], a[i] = a[i], a[pindex]
                pindex += 1
        a[right] = a[pindex]
        a[pindex] = pivot
        if pindex < k:
            left = pindex + 1
        else:
            right = pindex
    if n % 2 == 0:
        return (float(a[k - 1]) + float(a[k])) / 2.0
    return float(a[k])


def sd_float(a, n):
    """siril_stats_float_sd: returns (sd with n-1, float mean)."""
    acc = 0.0
    for i in range(n):
        acc += float(a[i])
    mean = F(acc / n)
    acc = 0.0
    for i in range(n):
        d = F(a[i] - mean)
        acc += float(F(d * d))
    return F(np.sqrt(F(acc / (n - 1)))), mean


def hist_median(data):
    """findMinMaxPercentile(data, n, 0.5, 0.5) single-thread (rt/rt_algo.cc)."""
    data = [F(x) for x in data]
    size = len(data)
    minv = min(data)
    maxv = max(data)
    if abs(F(maxv - minv)) == 0.0:
        return minv
    hs = min(65536, size)
    scale = F(F(hs - 1) / F(maxv - minv))
    histo = [0] * hs
    for x in data:
        histo[int(F(scale * F(x - minv)))] += 1          # static_cast<uint16_t> truncates
    thresh = F(F(0.5) * F(size))
    k = 0
    count = 0
    while count < thresh:
        count += histo[k]
        k += 1
    if k > 0:
        count_ = count - histo[k - 1]
        c0 = F(F(count) - thresh)
        c1 = F(thresh - F(count_))
        out = F(F(F(c1 * F(k)) + F(c0 * F(k - 1))) / F(c0 + c1))
    else:
        out = F(k)
    out = F(out / scale)
    out = F(out + minv)
    return min(max(out, minv), maxv)


def mad_float(a, n, m):
    """siril_stats_float_mad: histogram median of |x - (float)m| (NOT scaled by 1.4826)."""
    med = F(m)
    return float(hist_median([F(abs(F(a[i] - med))) for i in range(n)]))


def clip(pixel, sigma, lo, hi, median):
    if F(median - pixel) > F(sigma * lo):
        return -1
    if F(pixel - median) > F(sigma * hi):
        return 1
    return 0


# ---- Student t quantile (for GESDT critical values, gsl_cdf_tdist_Pinv) ----
def _betacf(a, b, x):
    MAXIT, EPS, FPMIN = 500, 3e-16, 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > FPMIN else FPMIN)
    h = d
    for m in range(1, MAXIT + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = FPMIN if abs(d) < FPMIN else d
        c = 1.0 + aa / c
        c = FPMIN if abs(c) < FPMIN else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = FPMIN if abs(d) < FPMIN else d
        c = 1.0 + aa / c
        c = FPMIN if abs(c) < FPMIN else c
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < EPS:
            break
    return h


def _betainc(a, b, x):
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    bt = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                  + a * math.log(x) + b * math.log(1 - x))
    if x < (a + 1) / (a + b + 2):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, 1 - x) / b


def t_cdf(t, nu):
    x = nu / (nu + t * t)
    tail = 0.5 * _betainc(nu / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_ppf(p, nu):
    lo, hi = 0.0, 1e4
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, nu) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def gesd_critical(nb_frames, frac, alpha):
    frac, alpha = F(frac), F(alpha)
    maxo = int(math.floor(float(F(F(nb_frames) * frac))))
    crit = []
    size = nb_frames
    for _ in range(maxo):
        p = F(F(1) - F(alpha / F(2 * size)))
        t = F(t_ppf(float(p), size - 2))
        num = F(F(size - 1) * t)
        den = F(F(np.sqrt(F(size))) * F(np.sqrt(F(F(size - 2) + F(t * t)))))
        crit.append(F(num / den))
        size -= 1
    return crit


# ---- linear fit ----
def linfit_setup(nb):
    xf = [F(F(1) / F(j + 1)) for j in range(nb)]
    m_x = F(F(nb - 1) * F(0.5))
    m_dx2 = F(0)
    for j in range(nb):
        dx = F(F(j) - m_x)
        m_dx2 = F(m_dx2 + F(F(F(dx * dx) - m_dx2) * xf[j]))
    return xf, m_x, F(F(1) / m_dx2)


def siril_fit_linear(x, y, m_x, m_dx2, n):
    m_y = y[0]
    for i in range(1, n):
        m_y = F(m_y + F(F(y[i] - m_y) * x[i]))
    m_dxdy = F(0)
    dx = F(-m_x)
    for i in range(n):
        dy = F(y[i] - m_y)
        m_dxdy = F(m_dxdy + F(F(F(dx * dy) - m_dxdy) * x[i]))
        dx = F(dx + F(1))
    b = F(m_dxdy * m_dx2)
    a = F(m_y - F(m_x * b))
    return a, b  # intercept, slope


# ===========================================================================
# apply_rejection_float port
# ===========================================================================
def apply_rejection(stack, nb_frames, rule, crit=None, lin=None, crej=None):
    """stack: list of F (normalised values, frame order). Returns (kept list)."""
    N = nb_frames
    stack = [F(v) for v in stack if v != 0.0]  # remove null pixels
    kept = len(stack)
    if kept <= 2:
        return stack
    removed = N - kept
    N = kept
    N0 = kept
    t = rule["type"]
    if t == "none" or t == "median_combine":
        return stack
    lo = F(rule.get("low", 0))
    hi = F(rule.get("high", 0))
    if crej is None:
        crej = [0, 0]

    def count(rv):
        if rv < 0:
            crej[0] += 1
        elif rv > 0:
            crej[1] += 1
        return rv

    median = 0.0
    if t in ("percentile", "sigma", "mad"):
        median = quickmedian_float(stack, N)
        if median == 0.0:
            return []
    r = 0
    if t == "percentile":
        med = F(median)
        rej = []
        for v in stack:
            if F(med - v) > F(med * lo):
                rej.append(count(-1))
            elif F(v - med) > F(med * hi):
                rej.append(count(1))
            else:
                rej.append(0)
        return [v for v, q in zip(stack, rej) if not q]
    if t in ("sigma", "mad"):
        first = True
        while True:
            if t == "sigma":
                var = sd_float(stack, N)[0]
            else:
                m_for_mad = median
                if not QUIRK["kmad_stale_median"] and not first:
                    m_for_mad = quickmedian_float(list(stack), N)
                if QUIRK["kmad_hist_median"]:
                    var = F(mad_float(stack, N, m_for_mad))   # uses the PREVIOUS median
                else:
                    var = F(np.median(np.abs(np.array(stack[:N], np.float32) - F(m_for_mad))))
                if not QUIRK["kmad_unscaled"]:
                    var = F(var * F(1.4826))
            if not first:
                median = quickmedian_float(stack, N)
            first = False
            rej = []
            for f in range(N):
                if (N - r if QUIRK["cap_double_count"] else N0 - r) <= 4:
                    rej.append(0)
                else:
                    q = count(clip(stack[f], var, lo, hi, F(median)))
                    rej.append(q)
                    if q:
                        r += 1
            new = [stack[f] for f in range(N) if not rej[f]]
            changed = len(new) != N
            stack = new
            N = len(new)
            if not (changed and N > 3):
                break
        return stack
    if t == "median":  # SIGMEDIAN
        while True:
            sigma = sd_float(stack, N)[0]
            medf = F(quickmedian_float(stack, N))
            n = 0
            for f in range(N):
                if count(clip(stack[f], sigma, lo, hi, medf)):
                    stack[f] = medf
                    n += 1
            if n == 0:
                break
        return stack
    if t == "winsorized":
        while True:
            sigma = sd_float(stack, N)[0]
            medf = F(quickmedian_float(stack, N))
            w = list(stack[:N])
            while True:
                m0 = F(medf - F(F(1.5) * sigma))
                m1 = F(medf + F(F(1.5) * sigma))
                w = [min(m1, max(m0, x)) for x in w]
                sigma0 = sigma
                sigma = F(F(1.134) * sd_float(w, N)[0])
                if not (abs(F(sigma - sigma0)) > F(sigma0 * F(0.0005))):
                    break
            rej = []
            for f in range(N):
                if (N - r if QUIRK["cap_double_count"] else N0 - r) <= 4:
                    rej.append(0)
                else:
                    q = count(clip(stack[f], sigma, lo, hi, medf))
                    rej.append(q)
                    if q:
                        r += 1
            new = [stack[f] for f in range(N) if not rej[f]]
            changed = len(new) != N
            stack = new
            N = len(new)
            if not (changed and N > 3):
                break
        return stack
    if t == "linear":
        xf, m_x, m_dx2 = lin
        while True:
            stack.sort()
            if not QUIRK["linfit_fixed_x"]:
                xf, m_x, m_dx2 = linfit_setup(N)
            intercept, slope = siril_fit_linear(xf, stack, m_x, m_dx2, N)
            sigma = F(0)
            for f in range(N):
                sigma = F(sigma + abs(F(stack[f] - F(F(slope * F(f)) + intercept))))
            sigma = F(sigma / F(N))
            rej = []
            for f in range(N):
                if (N - r if QUIRK["cap_double_count"] else N0 - r) <= 4:
                    rej.append(0)
                else:
                    v = stack[f]
                    fit = F(F(slope * F(f)) + intercept)
                    if F(fit - v) > F(sigma * lo):
                        q = -1
                    elif F(F(v - F(slope * F(f))) - intercept) > F(sigma * hi):
                        q = 1
                    else:
                        q = 0
                    count(q)
                    rej.append(q)
                    if q:
                        r += 1
            new = [stack[f] for f in range(N) if not rej[f]]
            changed = len(new) != N
            stack = new
            N = len(new)
            if not (changed and N > 3):
                break
        return stack
    if t == "gesdt":
        stack.sort()
        if N % 2:
            median = float(stack[N // 2])
        else:
            median = float(F(stack[N // 2 - 1] + stack[N // 2])) / 2.0
        max_out = int(float(F(F(nb_frames) * F(rule["max_outlier_fraction"]))))
        if removed >= max_out:
            return stack
        max_out -= removed
        w = list(stack)
        rejected = [0] * N
        outs = []
        cold = 0
        size = N
        for it in range(max_out):
            sd, avg = sd_float(w, size)
            mod = F(avg - w[0])
            md2 = F(w[size - 1] - avg)
            if md2 > mod:
                mod = md2
                idx = size - 1
            else:
                idx = 0
            G = F(mod / sd)
            o = {"out": bool(G > crit[it + removed]), "x": w[idx]}
            if idx == 0:
                o["i"] = cold
                cold += 1
            else:
                o["i"] = idx + (0 if QUIRK["gesd_cold_index"] else cold)
            outs.append(o)
            del w[idx]
            size -= 1
        i = max_out - 1
        while i > (1 if QUIRK["gesd_min2"] else -1) and not outs[i]["out"]:
            i -= 1
        for j in range(i, -1, -1):
            if float(outs[j]["x"]) >= median:
                rejected[outs[j]["i"]] = 1
                crej[1] += 1
            else:
                rejected[outs[j]["i"]] = -1
                crej[0] += 1
        return [stack[p] for p in range(N) if not rejected[p]]
    raise ValueError(t)


# ===========================================================================
# normalisation / noise ports
# ===========================================================================
def bwmv(data, mad, median):
    mad = F(mad)
    median = F(median)
    up = down = 0.0
    if mad > 0:
        factor = F(F(1) / F(F(9) * mad))
        for x in data:
            i_med = F(x - median)
            yi = F(i_med * factor)
            yi2 = F(yi * yi) if abs(yi) < 1 else F(1)
            s = F(F(1) - yi2)
            t = F(i_med * F(s * s))
            up += float(F(t * t))
            down += float(F(s * F(F(1) - F(F(5) * yi2))))
        return len(data) * (up / (down * down))
    return 0.0


def ikss_stats(img):
    data = [F(v) for v in img.ravel() if v != 0.0]
    median = float(hist_median(data))
    mad = mad_float(data, len(data), median)
    xlow = F(float(F(median)) - 6.0 * float(F(mad)))
    xhigh = F(float(F(median)) + 6.0 * float(F(mad)))
    kept = [v for v in data if xlow <= v <= xhigh]
    location = float(hist_median(kept))
    mad2 = F(mad_float(kept, len(kept), location))
    scale = math.sqrt(bwmv(kept, mad2, F(location))) * .991
    return {"median": median, "mad": mad, "location": location, "scale": scale}


def fn_noise1(img):
    ny, nx = img.shape
    diffs = []
    for jj in range(ny):
        row = img[jj].astype(np.float32)
        d = [F(row[i - 1] - row[i]) for i in range(1, nx)]
        nvals = len(d)

        def meansig(vals):
            s = sum(float(v) for v in vals)
            s2 = sum(float(v) * float(v) for v in vals)
            m = s / len(vals)
            return m, math.sqrt(s2 / len(vals) - m * m)
        mean, stdev = meansig(d)
        if stdev > 0:
            for _ in range(3):
                kk = [v for v in d if abs(float(F(v - F(mean)))) < 5.0 * stdev]
                if len(kk) == len(d):
                    break
                d = kk
                mean, stdev = meansig(d)
        diffs.append(stdev)
    diffs.sort()
    n = len(diffs)
    return .70710678 * (diffs[(n - 1) // 2] + diffs[n // 2]) / 2.0


def norm_coeffs(stats, mode, ref=0):
    n = len(stats)
    pscale = [1.0] * n
    poffset = [0.0] * n
    pmul = [1.0] * n
    s0 = stats[ref]["scale"]
    l0 = stats[ref]["location"]
    for i, st in enumerate(stats):
        if mode in ("addscale", "mulscale"):
            pscale[i] = 1.0 if st["scale"] == 0 else s0 / st["scale"]
        if mode in ("addscale", "add"):
            poffset[i] = pscale[i] * st["location"] - l0
        if mode in ("mulscale", "mul"):
            pmul[i] = 1.0 if st["location"] == 0 else l0 / st["location"]
    return pscale, poffset, pmul


def normalise(frames, mode, coeffs):
    pscale, poffset, pmul = coeffs
    out = []
    for i, f in enumerate(frames):
        f64 = f.astype(np.float64)
        if mode == "none":
            out.append(f.astype(np.float32))
        elif mode in ("add", "addscale"):
            o = (f64 * pscale[i] - poffset[i]).astype(np.float32)
            o[f == 0] = 0
            out.append(o)
        else:
            out.append(((f64 * pscale[i]) * pmul[i]).astype(np.float32))
    return out


def port_stack(case, frames, stats_cache):
    rule = case["rule"]
    mode = case["norm"]
    n = len(frames)
    coeffs = None
    if mode != "none" or case["weights"] == "noise":
        if "stats" not in stats_cache:
            stats_cache["stats"] = [ikss_stats(f) for f in frames]
            for st, f in zip(stats_cache["stats"], frames):
                st["bgnoise"] = fn_noise1(f)
        stats = stats_cache["stats"]
        coeffs = norm_coeffs(stats, mode)
    nf = normalise(frames, mode, coeffs) if mode != "none" else [f.astype(np.float32) for f in frames]
    weights = None
    if case["weights"] == "noise":
        pscale = coeffs[0]
        w = [1.0 / (pscale[i] * pscale[i] * stats[i]["bgnoise"] * stats[i]["bgnoise"])
             for i in range(n)]
        m = sum(w) / n
        weights = [x / m for x in w]
    crit = None
    if rule["type"] == "gesdt":
        crit = gesd_critical(n, rule["max_outlier_fraction"], rule["alpha"])
    lin = linfit_setup(n) if rule["type"] == "linear" else None
    ny, nx = frames[0].shape
    out = np.zeros((ny, nx), np.float32)
    crej = [0, 0]
    for y in range(ny):
        for x in range(nx):
            col = [nf[i][y, x] for i in range(n)]
            if rule["type"] == "median_combine":
                res = quickmedian_float(list(col), n)
            else:
                kept = apply_rejection(list(col), n, rule, crit, lin, crej)
                if len(kept) == 0:
                    res = quickmedian_float(list(col), n)
                elif weights is not None:
                    pmin, pmax = min(kept), max(kept)
                    s = nrm = 0.0
                    for i in range(n):
                        v = col[i]
                        if pmin <= v <= pmax and v != 0:
                            s += float(v) * weights[i]
                            nrm += weights[i]
                    res = s / nrm
                else:
                    res = sum(float(v) for v in kept) / len(kept)
            out[y, x] = min(F(res), F(1))
    return out, crej, (coeffs, weights)


# ===========================================================================
def main():
    cases = json.load(open(os.path.join(HERE, "cases.json")))
    truth = json.load(open(os.path.join(HERE, "inputs", "truth.json")))
    frames_of = {}
    for c in cases:
        if c["set"] not in frames_of:
            frames_of[c["set"]] = [fits.getdata(os.path.join(HERE, p)).astype(np.float32)
                                   for p in c["inputs"]]
    out = {c["name"]: fits.getdata(os.path.join(HERE, c["output"])) for c in cases}

    say("== Part A: sanity checks with numpy ==")
    for s, fr in frames_of.items():
        st = np.array(fr)
        m = st.astype(np.float64).mean(0).astype(np.float32)
        d = np.abs(out[f"none_{s}"] - m).max()
        say(f"none_{s}: max |siril - float32(numpy mean)| = {d:.3g} "
            f"({'bit-identical' if d == 0 else 'differs'})")
        med = np.median(st.astype(np.float64), axis=0)
        dm = np.abs(out[f"median_{s}"] - med)
        say(f"median_{s}: max |siril - numpy median| = {dm.max():.3g}; pixels differing > 1e-7: "
            f"{int((dm > 1e-7).sum())}/{dm.size}")
    # artefact pixels
    for s in ["n5", "n7", "n10", "n15"]:
        st = np.array(frames_of[s]).astype(np.float64)
        t = truth[s]
        bad = np.zeros(st.shape, bool)
        for cr in t["cosmic_rays"] + t["cold_pixels"]:
            bad[cr["frame"], cr["y"], cr["x"]] = True
        if t["satellite_trail"]:
            for x, y in t["satellite_trail"]["pixels"]:
                bad[t["satellite_trail"]["frame"], y, x] = True
        clean = np.ma.array(st, mask=bad).mean(0).filled(np.nan)
        pix = np.argwhere(bad.any(0))
        for rname in ["none", "sigma_3_3", "winsor_3_3", "linfit_3_3", "gesdt_0.3_0.05",
                      "pct_0.2_0.1", "sigmed_3_3", "kmad_3_3"]:
            o = out[f"{rname}_{s}"].astype(np.float64)
            dev = np.array([o[y, x] - clean[y, x] for y, x in pix])
            say(f"  {rname}_{s}: artefact pixels ({len(pix)}): max |stack - clean mean| = "
                f"{np.abs(dev).max():.4f}, median = {np.median(np.abs(dev)):.4f}")
    # specific example
    t = truth["n10"]
    cr = max(t["cosmic_rays"], key=lambda c: c["amp"])
    st = np.array(frames_of["n10"]).astype(np.float64)
    y, x = cr["y"], cr["x"]
    others = np.delete(st[:, y, x], cr["frame"])
    say(f"n10 cosmic ray at x={x},y={y} frame {cr['frame'] + 1} (+{cr['amp']}): values {np.round(st[:, y, x], 4).tolist()}")
    say(f"   clean mean {others.mean():.5f}, plain mean {st[:, y, x].mean():.5f}, "
        f"winsor_3_3 {out['winsor_3_3_n10'][y, x]:.5f}, sigma_3_3 {out['sigma_3_3_n10'][y, x]:.5f}")
    # identities between cases
    for a, b in [("defaultnorm_winsor_3_3_n10", "winsor_3_3_n10"),
                 ("weighted_nonorm_winsor_3_3_n10", "winsor_3_3_n10"),
                 ("weighted_before_norm_winsor_3_3_n10", "addscale_winsor_3_3_n10"),
                 ("meanalias_sigma_3_3_n10", "sigma_3_3_n10"),
                 ("sigmed_3_3_n10", "sigma_3_3_n10")]:
        say(f"{a} == {b}: {np.array_equal(out[a], out[b])}")
    for norm in ["addscale", "add", "mul", "mulscale"]:
        a, b = f"weighted_{norm}_none_n10", f"{norm}_none_n10"
        say(f"{a} vs {b}: max diff {np.abs(out[a] - out[b]).max():.3g}")

    say("")
    say("== Part B: Python port of Siril 1.0.6 vs Siril output ==")
    stats_cache = {}
    worst = 0.0
    for c in cases:
        fr = frames_of[c["set"]]
        cache = stats_cache.setdefault(c["set"], {})
        res, crej, (coeffs, weights) = port_stack(c, fr, cache)
        d = np.abs(res.astype(np.float64) - out[c["name"]].astype(np.float64))
        nd = int((d > 0).sum())
        tot = res.size * len(fr)
        rej_line = [l for l in c["siril_log"] if l.startswith("Pixel rejection in")]
        mine = f"Pixel rejection in channel #0: {crej[0] / tot * 100:.3f}% - {crej[1] / tot * 100:.3f}%"
        same_rej = (not rej_line) or rej_line[0] == mine
        worst = max(worst, d.max())
        say(f"{c['name']:38s} max|port-siril| = {d.max():.3g}  pixels differing: {nd:3d}/{res.size}"
            f"  rejection log {'matches' if same_rej else 'DIFFERS: port ' + mine + ' / siril ' + rej_line[0]}")
        if "siril_frame_stats" in c:
            fs = c["siril_frame_stats"]
            st = cache["stats"]
            rel = max(max(abs(st[i][k] - fs[k2][i]) / abs(fs[k2][i]) for i in range(len(fr)))
                      for k, k2 in [("median", "median"), ("mad", "mad"), ("location", "ikss_location"),
                                    ("scale", "ikss_scale"), ("bgnoise", "bgnoise")])
            c["_statsrel"] = rel
    say(f"worst |port - siril| over all cases: {worst:.3g}")
    rels = [c["_statsrel"] for c in cases if "_statsrel" in c]
    if rels:
        say(f"port of median/MAD/IKSS location/scale/bgnoise vs .seq M lines: worst relative "
            f"difference {max(rels):.2g} (the .seq values are printed with 6 significant digits)")
    # normalisation coefficients and weights of n10 (for the README)
    st = stats_cache["n10"]["stats"]
    say("")
    say("n10 per-frame stats from the port (ref frame = frame 1):")
    say(" frame  location      scale         bgnoise      addscale:pscale  poffset      mul:pmul")
    ps, po, _ = norm_coeffs(st, "addscale")
    _, _, pm = norm_coeffs(st, "mul")
    for i, s in enumerate(st):
        say(f" {i + 1:5d}  {s['location']:.8f}  {s['scale']:.8f}  {s['bgnoise']:.8f}  "
            f"{ps[i]:.8f}       {po[i]: .8f}  {pm[i]:.8f}")
    say("")
    say("== Part C: what each Siril quirk changes (port with one quirk switched off vs Siril) ==")
    groups = {
        "cap_double_count": ["sigma", "winsor", "linfit", "kmad"],
        "linfit_fixed_x": ["linfit"],
        "gesd_min2": ["gesdt"],
        "gesd_cold_index": ["gesdt"],
        "kmad_hist_median": ["kmad"],
        "kmad_unscaled": ["kmad"],
        "kmad_stale_median": ["kmad"],
    }
    for q, prefixes in groups.items():
        QUIRK[q] = False
        for c in cases:
            if not any(c["name"].startswith(p + "_") for p in prefixes):
                continue
            res, crej, _ = port_stack(c, frames_of[c["set"]], stats_cache.setdefault(c["set"], {}))
            d = np.abs(res.astype(np.float64) - out[c["name"]].astype(np.float64))
            tot = res.size * len(frames_of[c["set"]])
            rej_line = [l for l in c["siril_log"] if l.startswith("Pixel rejection")][0]
            say(f"{q:18s} off: {c['name']:24s} pixels differing {int((d > 0).sum()):3d}/{res.size}, "
                f"max diff {d.max():.3g}; rejection {crej[0] / tot * 100:.3f}% - {crej[1] / tot * 100:.3f}%"
                f" (siril: {rej_line.split(': ')[1]})")
        QUIRK[q] = True
    with open(os.path.join(HERE, "check_report.txt"), "w") as fh:
        fh.write("\n".join(REPORT) + "\n")


if __name__ == "__main__":
    main()
