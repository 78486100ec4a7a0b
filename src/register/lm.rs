//! A small Levenberg-Marquardt least-squares solver for the profile fits (a handful of parameters).

// Dense linear algebra on row/column indices: index loops say what they do.
#![allow(clippy::needless_range_loop)]

/// A model: value and gradient (d value / d parameter) at point `i` for parameters `p`.
pub trait Model {
    fn n_params(&self) -> usize;
    fn n_points(&self) -> usize;
    /// The observed value at point `i`.
    fn observed(&self, i: usize) -> f64;
    /// Model value at point `i`; fills `grad` with its derivatives.
    fn eval(&self, i: usize, p: &[f64], grad: &mut [f64]) -> f64;
    /// False for parameters outside the model's domain: such a step is refused like a worse one
    /// (bounds, as a trust-region fitter has them).
    fn valid(&self, _p: &[f64]) -> bool {
        true
    }
    /// The normal equations computed by the model itself (faster for structured data); `None` to
    /// let the solver sum over points.
    #[allow(clippy::type_complexity)]
    fn normal_equations(&self, _p: &[f64]) -> Option<(Vec<Vec<f64>>, Vec<f64>, f64)> {
        None
    }
    /// True when an accepted step is small enough for what the fit is for (a model that only
    /// needs some parameters, such as a centre, can stop early).
    fn settled(&self, _step: &[f64]) -> bool {
        false
    }
}

/// What the fit found.
#[derive(Debug, Clone)]
pub struct Fit {
    pub params: Vec<f64>,
    /// Standard errors from the covariance, scaled by the reduced chi-square.
    pub errors: Vec<f64>,
    pub chi2: f64,
    pub converged: bool,
    pub iterations: usize,
}

/// Solve `a x = b` (small, dense) by Gaussian elimination with partial pivoting; `None` if singular.
pub fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in col + 1..n {
            let f = a[r][col] / a[col][col];
            if f != 0.0 {
                for c in col..n {
                    a[r][c] -= f * a[col][c];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The normal equations J'J, J'r and chi-square at `p`, for a model of exactly K parameters (a
/// constant K lets the compiler unroll the 21-odd products per point).
fn normal_equations_k<M: Model, const K: usize>(
    m: &M,
    p: &[f64],
) -> (Vec<Vec<f64>>, Vec<f64>, f64) {
    let mut acc = [[0.0f64; K]; K];
    let mut tr = [0.0f64; K];
    let mut grad = [0.0f64; K];
    let mut chi2 = 0.0;
    for i in 0..m.n_points() {
        let r = m.observed(i) - m.eval(i, p, &mut grad);
        chi2 += r * r;
        for a in 0..K {
            tr[a] += grad[a] * r;
            for b in a..K {
                acc[a][b] += grad[a] * grad[b];
            }
        }
    }
    let jtj: Vec<Vec<f64>> = (0..K)
        .map(|a| {
            (0..K)
                .map(|b| if b >= a { acc[a][b] } else { acc[b][a] })
                .collect()
        })
        .collect();
    (jtj, tr.to_vec(), chi2)
}

fn normal_equations<M: Model>(m: &M, p: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>, f64) {
    if let Some(n) = m.normal_equations(p) {
        return n;
    }
    match m.n_params() {
        3 => normal_equations_k::<M, 3>(m, p),
        6 => normal_equations_k::<M, 6>(m, p),
        7 => normal_equations_k::<M, 7>(m, p),
        k => normal_equations_dyn(m, p, k),
    }
}

fn normal_equations_dyn<M: Model>(m: &M, p: &[f64], k: usize) -> (Vec<Vec<f64>>, Vec<f64>, f64) {
    let mut jtj = vec![vec![0.0; k]; k];
    let mut jtr = vec![0.0; k];
    let mut grad = vec![0.0; k];
    let mut chi2 = 0.0;
    for i in 0..m.n_points() {
        let r = m.observed(i) - m.eval(i, p, &mut grad);
        chi2 += r * r;
        for a in 0..k {
            jtr[a] += grad[a] * r;
            for b in 0..k {
                jtj[a][b] += grad[a] * grad[b];
            }
        }
    }
    (jtj, jtr, chi2)
}

/// Minimise the sum of squared residuals from `start`. A trial step's normal equations are
/// computed at once (its chi-square comes with them) and kept when the step is taken.
pub fn fit<M: Model>(m: &M, start: &[f64], max_iterations: usize) -> Fit {
    let k = m.n_params();
    let mut p = start.to_vec();
    let mut lambda = 1e-3;
    let (mut jtj, mut jtr, mut chi2) = normal_equations(m, &p);
    let mut converged = false;
    let mut iterations = 0;
    while iterations < max_iterations {
        iterations += 1;
        let mut a = jtj.clone();
        for (d, row) in a.iter_mut().enumerate() {
            row[d] += lambda * jtj[d][d].max(1e-12);
        }
        let Some(step) = solve(a, jtr.clone()) else {
            lambda *= 10.0;
            continue;
        };
        let trial: Vec<f64> = p.iter().zip(&step).map(|(x, s)| x + s).collect();
        let next = m
            .valid(&trial)
            .then(|| normal_equations(m, &trial))
            .filter(|n| n.2.is_finite() && n.2 <= chi2);
        match next {
            Some((tj, tr, c)) => {
                let small = (chi2 - c) <= 1e-6 * chi2.max(1e-300) || m.settled(&step);
                (p, jtj, jtr, chi2) = (trial, tj, tr, c);
                lambda = (lambda / 10.0).max(1e-12);
                if small {
                    converged = true;
                    break;
                }
            }
            None => {
                lambda *= 10.0;
                if lambda > 1e12 {
                    converged = true; // no step lowers chi2: at the minimum within precision
                    break;
                }
            }
        }
    }
    let dof = (m.n_points() as f64 - k as f64).max(1.0);
    let errors = match invert(&jtj) {
        Some(cov) => (0..k)
            .map(|i| (cov[i][i] * chi2 / dof).max(0.0).sqrt())
            .collect(),
        None => vec![f64::NAN; k],
    };
    Fit {
        params: p,
        errors,
        chi2,
        converged,
        iterations,
    }
}

fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut cols = Vec::with_capacity(n);
    for c in 0..n {
        let mut e = vec![0.0; n];
        e[c] = 1.0;
        cols.push(solve(a.to_vec(), e)?);
    }
    Some(
        (0..n)
            .map(|r| (0..n).map(|c| cols[c][r]).collect())
            .collect(),
    )
}
