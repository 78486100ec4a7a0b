//! Overscan and trim: the overscan level per readout line (median, mean, or a polynomial fitted
//! along the readout axis), subtracted, then the image trimmed to TRIMSEC/DATASEC or a given section.

use crate::combine::StackInput;
use crate::error::{Error, Result};
use crate::fits::{Header, PixelBox, Section};

/// Where the overscan strip is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OverscanRegion {
    /// BIASSEC from the header (none when the header has none).
    #[default]
    Auto,
    None,
    Section(Section),
}

/// How the overscan level of each line is taken.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum OverscanStat {
    /// Median of the line's overscan pixels (ccdproc's default; even count: mean of the middle two).
    #[default]
    Median,
    Mean,
    /// Per-line medians smoothed by a least-squares polynomial of this order along the readout axis.
    Poly(usize),
}

/// The part of the frame kept after overscan subtraction.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TrimRegion {
    /// TRIMSEC, else DATASEC, else the whole frame.
    #[default]
    Auto,
    None,
    Section(Section),
}

/// Overscan and trim settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverscanParams {
    pub region: OverscanRegion,
    pub stat: OverscanStat,
    pub trim: TrimRegion,
}

/// Whether the overscan level varies from row to row (a strip of columns) or column to column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Rows,
    Columns,
}

/// The overscan and trim resolved for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct OverscanPlan {
    pub overscan: Option<(PixelBox, Lines)>,
    pub trim: PixelBox,
}

fn header_section(h: &Header, key: &str) -> Option<String> {
    h.get_str(key)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Resolve the overscan region, its readout direction and the trim section for a frame.
pub fn plan_overscan(
    name: &str,
    header: &Header,
    nx: usize,
    ny: usize,
    p: &OverscanParams,
) -> Result<OverscanPlan> {
    let resolve = |text: &str, what: &str| -> Result<PixelBox> {
        Section::parse(text)
            .and_then(|s| s.resolve(nx, ny))
            .map_err(|e| Error::Invalid(format!("{name}: {what}: {e}")))
    };
    let overscan = match &p.region {
        OverscanRegion::None => None,
        OverscanRegion::Section(s) => Some(
            s.resolve(nx, ny)
                .map_err(|e| Error::Invalid(format!("{name}: overscan: {e}")))?,
        ),
        OverscanRegion::Auto => header_section(header, "BIASSEC")
            .map(|s| resolve(&s, "BIASSEC"))
            .transpose()?,
    };
    let overscan = overscan.map(|b| {
        // a strip of whole columns (full height) carries one level per row, and vice versa
        let lines = if b.height() == ny && b.width() < nx {
            Lines::Rows
        } else if b.width() == nx && b.height() < ny {
            Lines::Columns
        } else if b.width() <= b.height() {
            Lines::Rows
        } else {
            Lines::Columns
        };
        (b, lines)
    });
    let whole = PixelBox { x: 0..nx, y: 0..ny };
    let trim = match &p.trim {
        TrimRegion::None => whole,
        TrimRegion::Section(s) => s
            .resolve(nx, ny)
            .map_err(|e| Error::Invalid(format!("{name}: trim: {e}")))?,
        TrimRegion::Auto => {
            match header_section(header, "TRIMSEC").or_else(|| header_section(header, "DATASEC")) {
                Some(s) => resolve(&s, "TRIMSEC")?,
                None => whole,
            }
        }
    };
    Ok(OverscanPlan { overscan, trim })
}

/// The overscan level of every row (or column) of the raw frame, read from the strip in bands.
pub fn overscan_levels(
    input: &dyn StackInput,
    region: &PixelBox,
    lines: Lines,
    stat: OverscanStat,
) -> Result<Vec<f64>> {
    let (ny, nx) = input.shape();
    let n_lines = if lines == Lines::Rows { ny } else { nx };
    let mut per_line: Vec<Vec<f32>> = vec![Vec::new(); n_lines];
    let rows = if lines == Lines::Rows {
        0..ny
    } else {
        region.y.clone()
    };
    let step = 256;
    let mut y = rows.start;
    while y < rows.end {
        let band = input.read_rows(y..(y + step).min(rows.end))?;
        for (k, row) in band.rows().into_iter().enumerate() {
            if lines == Lines::Rows {
                per_line[y + k].extend(row.slice(ndarray::s![region.x.clone()]).iter());
            } else {
                for x in 0..nx {
                    per_line[x].push(row[x]);
                }
            }
        }
        y += step;
    }
    let level = |v: &mut Vec<f32>| -> f64 {
        match stat {
            OverscanStat::Mean => crate::stats::mean(v).unwrap_or(f64::NAN),
            _ => crate::stats::median_mut(v).unwrap_or(f64::NAN),
        }
    };
    let mut levels: Vec<f64> = per_line.iter_mut().map(level).collect();
    if let OverscanStat::Poly(order) = stat {
        levels = fit_polynomial(&levels, order);
    }
    if let Some(k) = levels.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "{}: overscan line {} has no finite pixel",
            input.name(),
            k + 1
        )));
    }
    Ok(levels)
}

/// Least-squares polynomial of `order` through (i, v[i]), evaluated at every i (x scaled to -1..1).
pub fn fit_polynomial(v: &[f64], order: usize) -> Vec<f64> {
    let n = v.len();
    let k = order.min(n.saturating_sub(1)) + 1;
    let t = |i: usize| {
        if n > 1 {
            2.0 * i as f64 / (n - 1) as f64 - 1.0
        } else {
            0.0
        }
    };
    // normal equations, solved by Gaussian elimination with partial pivoting
    let mut a = vec![vec![0.0; k + 1]; k];
    for (i, &y) in v.iter().enumerate() {
        let powers: Vec<f64> = (0..k).map(|p| t(i).powi(p as i32)).collect();
        for r in 0..k {
            for c in 0..k {
                a[r][c] += powers[r] * powers[c];
            }
            a[r][k] += powers[r] * y;
        }
    }
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let d = a[col][col];
        if d == 0.0 {
            continue;
        }
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / d;
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    let coef: Vec<f64> = (0..k)
        .map(|r| {
            if a[r][r] != 0.0 {
                a[r][k] / a[r][r]
            } else {
                0.0
            }
        })
        .collect();
    (0..n)
        .map(|i| {
            coef.iter()
                .enumerate()
                .map(|(p, c)| c * t(i).powi(p as i32))
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_fit_recovers_a_quadratic() {
        let v: Vec<f64> = (0..50)
            .map(|i| 3.0 + 0.5 * i as f64 - 0.01 * (i * i) as f64)
            .collect();
        let f = fit_polynomial(&v, 2);
        assert!(v.iter().zip(&f).all(|(a, b)| (a - b).abs() < 1e-9));
        let flat = fit_polynomial(&v, 0);
        assert!((flat[0] - v.iter().sum::<f64>() / 50.0).abs() < 1e-9);
    }

    #[test]
    fn strips_give_the_readout_direction() {
        let mut h = Header::default();
        h.set(
            "BIASSEC",
            crate::fits::Value::Str("[321:352,1:512]".into()),
            "",
        );
        let p = plan_overscan("x", &h, 352, 512, &OverscanParams::default()).unwrap();
        assert_eq!(p.overscan.unwrap().1, Lines::Rows);
        assert_eq!(p.trim.x, 0..352, "no TRIMSEC or DATASEC: the whole frame");
        h.set(
            "BIASSEC",
            crate::fits::Value::Str("[1:352,500:512]".into()),
            "",
        );
        h.set(
            "DATASEC",
            crate::fits::Value::Str("[1:352,1:499]".into()),
            "",
        );
        let p = plan_overscan("x", &h, 352, 512, &OverscanParams::default()).unwrap();
        assert_eq!((p.overscan.unwrap().1, p.trim.y), (Lines::Columns, 0..499));
    }
}
