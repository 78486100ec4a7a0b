//! The clipping rules Siril users reach for, on a pixel's sorted values: the winsorized sigma,
//! linear-fit clipping and the generalized extreme Studentized deviate (GESD) test, with the
//! Student t quantiles GESD needs.

/// Sample standard deviation (n - 1).
fn sd(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The winsorized sigma about `median`: values are pulled in to median +- 1.5 sigma and sigma is
/// re-estimated as 1.134 x their standard deviation until it changes by less than 0.05%.
pub fn winsorized_sigma(v: &[f64], median: f64) -> f64 {
    winsorized_from(v, median, sd(v))
}

fn winsorized_from(v: &[f64], median: f64, start: f64) -> f64 {
    let mut sigma = start;
    let mut w = vec![0.0; v.len()];
    for _ in 0..100 {
        let (lo, hi) = (median - 1.5 * sigma, median + 1.5 * sigma);
        for (wi, x) in w.iter_mut().zip(v) {
            *wi = x.clamp(lo, hi);
        }
        let previous = sigma;
        sigma = 1.134 * sd(&w);
        if (sigma - previous).abs() <= previous * 5e-4 {
            break;
        }
    }
    sigma
}

/// Linear-fit clipping of sorted values: a straight line through value against rank, sigma the
/// mean absolute deviation from it; values below the line by more than `low` sigma or above it by
/// more than `high` sigma go, from either end. Returns the kept window `[a, b)` and sigma.
pub fn linear_fit_window(v: &[f64], low: f64, high: f64) -> (usize, usize, f64) {
    let n = v.len();
    let nf = n as f64;
    let mx = (nf - 1.0) / 2.0;
    let my = v.iter().sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in v.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (y - my);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let line = |i: usize| my + slope * (i as f64 - mx);
    let sigma = v
        .iter()
        .enumerate()
        .map(|(i, y)| (y - line(i)).abs())
        .sum::<f64>()
        / nf;
    let (mut a, mut b) = (0, n);
    while a < b && line(a) - v[a] > low * sigma {
        a += 1;
    }
    while b > a && v[b - 1] - line(b - 1) > high * sigma {
        b -= 1;
    }
    (a, b, sigma)
}

/// GESD (Rosner 1983) on sorted values: up to `max_outliers` of the most extreme values (by
/// distance from the mean in sample standard deviations), tested one after another at
/// significance `alpha`; the outliers are all those up to the last test that fails. Returns the
/// kept window `[a, b)`.
pub fn gesd_window(v: &[f64], max_outliers: usize, alpha: f64) -> (usize, usize) {
    let n = v.len();
    let (mut a, mut b) = (0, n);
    let mut removed = Vec::with_capacity(max_outliers);
    for i in 1..=max_outliers.min(n.saturating_sub(2)) {
        let w = &v[a..b];
        let s = sd(w);
        if s == 0.0 {
            break;
        }
        let m = w.iter().sum::<f64>() / w.len() as f64;
        let (low, high) = (m - w[0], w[w.len() - 1] - m);
        let r = low.max(high) / s;
        let nn = n as f64;
        let fi = i as f64;
        let p = 1.0 - alpha / (2.0 * (nn - fi + 1.0));
        let t = t_quantile(p, nn - fi - 1.0);
        let lambda = (nn - fi) * t / ((nn - fi - 1.0 + t * t) * (nn - fi + 1.0)).sqrt();
        let from_low = low > high;
        if from_low {
            a += 1;
        } else {
            b -= 1;
        }
        removed.push((from_low, r > lambda));
    }
    let outliers = removed
        .iter()
        .rposition(|(_, out)| *out)
        .map_or(0, |k| k + 1);
    let lows = removed[..outliers].iter().filter(|(l, _)| *l).count();
    (lows, n - (outliers - lows))
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the regularized incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The Student t distribution function with `df` degrees of freedom.
fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// The Student t quantile: the t whose distribution function is `p` (bisection to 1e-12).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (-1e4, 1e4);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        for (p, df, t) in [
            (0.975, 10.0, 2.228_138_85),
            (0.995, 4.0, 4.604_094_87),
            (0.95, 1.0, 6.313_751_51),
            (0.99, 30.0, 2.457_261_26),
        ] {
            assert!((t_quantile(p, df) - t).abs() < 1e-6, "{p} {df}");
        }
    }

    #[test]
    fn winsorized_sigma_ignores_one_wild_value() {
        let v = [9.0, 9.5, 10.0, 10.0, 10.5, 11.0, 10.2, 9.8, 1000.0];
        let s = winsorized_sigma(&v, 10.0);
        assert!(s > 0.3 && s < 1.2, "{s}");
    }

    #[test]
    fn linear_fit_drops_the_end_far_from_the_line() {
        // ten values: the last is 3.5 mean absolute deviations above the line through all
        let mut v: Vec<f64> = (0..9).map(|i| 10.0 + 0.1 * i as f64).collect();
        v.push(30.0);
        assert_eq!(
            linear_fit_window(&v, 3.0, 3.0).0..linear_fit_window(&v, 3.0, 3.0).1,
            0..9
        );
        // with eight it is 2.8: kept at 3, gone at 2.5
        let v8 = [&v[..7], &[30.0]].concat();
        assert_eq!(linear_fit_window(&v8, 3.0, 3.0).1, 8);
        assert_eq!(linear_fit_window(&v8, 2.5, 2.5).1, 7);
    }

    #[test]
    fn gesd_finds_two_outliers_and_keeps_a_clean_stack() {
        let clean = [9.8, 9.9, 10.0, 10.0, 10.1, 10.2, 9.95, 10.05, 10.0, 9.9];
        let mut v = clean.to_vec();
        v.sort_by(f64::total_cmp);
        assert_eq!(gesd_window(&v, 3, 0.05), (0, 10));
        let mut w = clean.to_vec();
        w[0] = 2.0;
        w[1] = 25.0;
        w.sort_by(f64::total_cmp);
        assert_eq!(gesd_window(&w, 3, 0.05), (1, 9));
    }
}
