//! Which input each combined pixel used, as IRAF's imcombine writes it: a rejection mask with a
//! plane per input (1 where that input's value was not used) and an exposure mask (the summed
//! exposure times of the inputs used, as scaled integers: IRAF's `rejmasks=` and `expmasks=`).

use super::kernel::Reason;
use crate::fits::{Card, Header, Value};

/// IRAF's largest exposure-mask value (ic_einit's `maxval`, 2^27 - 1).
const MAX_MASK_VALUE: f32 = 134_217_727.0;

/// Exposure times per input and the integer scale IRAF's ic_einit chooses for their sums.
#[derive(Debug, Clone)]
pub struct ExposureMask {
    /// Seconds per input (the keyword's value, 1 where it is absent; never below 0).
    exposures: Vec<f32>,
    /// Inputs whose weight is above 0: only they add their exposure time.
    counted: Vec<bool>,
    /// Seconds per mask unit (MASKSCAL).
    scale: f32,
}

/// Fortran's NINT: to the nearest integer, halves away from zero.
fn nint(x: f32) -> f32 {
    x.round()
}

impl ExposureMask {
    /// The exposure times under `keyword` (an empty keyword or an absent card counts 1 second,
    /// as IRAF's default) and IRAF's scale: the shortest exposure is one unit when it is under a
    /// second, a thousandth of a unit when times are fractional, and tenfold coarser until the
    /// total fits 2^27 - 1.
    pub fn iraf(headers: &[&Header], keyword: &str) -> ExposureMask {
        let exposures: Vec<f32> = headers
            .iter()
            .map(|h| {
                let t = (!keyword.is_empty())
                    .then(|| h.get_f64(keyword))
                    .flatten()
                    .unwrap_or(1.0) as f32;
                t.max(0.0)
            })
            .collect();
        let (mut emax, mut emin, mut efrac) = (0f32, f32::MAX, 0f32);
        for &t in &exposures {
            emax += t;
            if t > 0.0 {
                emin = emin.min(t);
            }
            efrac = efrac.max((t - nint(t)).abs());
        }
        let mut scale = 1f32;
        if emin < 1.0 {
            scale = emin;
            emin /= scale;
            emax /= scale;
        } else if emin == f32::MAX {
            emin = 0.0;
        }
        if efrac > 0.001 && emax - emin < 1000.0 {
            scale /= 1000.0;
            emax *= 1000.0;
        }
        while emax > MAX_MASK_VALUE {
            scale *= 10.0;
            emax /= 10.0;
        }
        ExposureMask {
            counted: vec![true; exposures.len()],
            exposures,
            scale,
        }
    }

    /// Leave out the inputs whose combining weight is 0 or less (IRAF adds only weighted inputs).
    pub fn weigh(&mut self, weights: Option<&[f64]>) {
        if let Some(w) = weights {
            for (c, w) in self.counted.iter_mut().zip(w) {
                *c = *w > 0.0;
            }
        }
    }

    /// The header cards that turn mask values into seconds (IRAF writes them unless the scale is 1).
    pub fn cards(&self) -> Vec<Card> {
        if self.scale == 1.0 {
            return Vec::new();
        }
        vec![
            Card::new(
                "MASKZERO",
                Value::Float(0.0),
                "seconds = MASKZERO + value * MASKSCAL",
            ),
            Card::new(
                "MASKSCAL",
                Value::Float(self.scale as f64),
                "seconds per mask unit",
            ),
        ]
    }

    /// The mask value of a pixel whose inputs have `reasons`: the kept inputs' summed exposure.
    pub fn value(&self, reasons: &[u8]) -> i32 {
        let mut sum = 0f32;
        for (i, r) in reasons.iter().enumerate() {
            if *r == Reason::Kept as u8 && self.counted[i] {
                sum += self.exposures[i];
            }
        }
        nint(sum / self.scale) as i32
    }
}

/// Whether input `i` was left out of a pixel with `reasons` (its rejection-mask value).
pub fn left_out(reasons: &[u8], i: usize) -> i32 {
    (reasons[i] != Reason::Kept as u8) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(times: &[f64]) -> Vec<Header> {
        times
            .iter()
            .map(|t| {
                let mut h = Header::default();
                h.set("EXPTIME", Value::Float(*t), "");
                h
            })
            .collect()
    }

    fn mask(times: &[f64], key: &str) -> ExposureMask {
        let hs = headers(times);
        ExposureMask::iraf(&hs.iter().collect::<Vec<_>>(), key)
    }

    #[test]
    fn whole_seconds_count_in_seconds_and_fractions_in_thousandths() {
        let m = mask(&[30.0, 60.0, 45.0], "EXPTIME");
        assert!(m.cards().is_empty());
        assert_eq!(m.value(&[0, 0, 0]), 135);
        assert_eq!(m.value(&[0, 4, 0]), 75);
        let m = mask(&[1.5, 2.0], "EXPTIME");
        assert_eq!(m.value(&[0, 0]), 3500);
        assert_eq!(m.cards()[1].value, Value::Float(0.001f32 as f64));
        // under a second: the shortest exposure is the unit (then thousandths of it)
        let m = mask(&[0.25, 0.5], "EXPTIME");
        assert_eq!(m.value(&[0, 0]), 3000);
        // no keyword: one second each; zero weights add nothing
        let mut m = mask(&[30.0, 60.0, 45.0], "");
        assert_eq!(m.value(&[0, 0, 0]), 3);
        m.weigh(Some(&[0.5, 0.0, 0.5]));
        assert_eq!(m.value(&[0, 0, 0]), 2);
    }

    #[test]
    fn long_totals_are_coarsened_tenfold_until_they_fit() {
        let m = mask(&[1.0e8, 1.0e8], "EXPTIME");
        assert_eq!(m.value(&[0, 0]), 20_000_000);
        assert_eq!(m.cards()[1].value, Value::Float(10.0));
    }
}
