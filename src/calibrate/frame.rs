//! CalibratedInput: a raw frame seen through overscan subtraction, trim, bias, scaled dark and flat,
//! computed row band by row band so masters and science frames stream like plain files.

use super::overscan::{Lines, OverscanParams, OverscanPlan, overscan_levels, plan_overscan};
use crate::combine::{FileInput, StackInput};
use crate::error::{Error, Result};
use crate::fits::{Header, Value};
use ndarray::{Array2, ArrayView2};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// A master frame on disk with the name it was written under: its rows are read band by band as
/// the frames it corrects are, so a master never has to fit in memory whole.
#[derive(Debug, Clone)]
pub struct Master {
    pub name: String,
    input: Arc<FileInput>,
    pub header: Header,
}

/// Rows of a master read at a time when it is measured whole.
const MASTER_BAND_ROWS: usize = 64;

impl Master {
    /// Open a master's header (its pixels are read when needed).
    pub fn open(path: &Path) -> Result<Master> {
        let input = FileInput::open(path)?;
        Ok(Master {
            name: input.name(),
            header: input.header().clone(),
            input: Arc::new(input),
        })
    }

    /// (rows, columns).
    pub fn shape(&self) -> (usize, usize) {
        self.input.shape()
    }

    /// Rows `rows` of the master.
    pub fn rows(&self, rows: Range<usize>) -> Result<Array2<f32>> {
        self.input.read_rows(rows)
    }

    /// Call `f` on every band of rows, top to bottom.
    pub fn for_each_band(&self, mut f: impl FnMut(ArrayView2<f32>)) -> Result<()> {
        let ny = self.shape().0;
        for y in (0..ny).step_by(MASTER_BAND_ROWS) {
            f(self.rows(y..(y + MASTER_BAND_ROWS).min(ny))?.view());
        }
        Ok(())
    }

    /// The mean of the finite pixels (streamed).
    pub fn mean(&self) -> Result<f64> {
        let (mut sum, mut n) = (0.0f64, 0u64);
        self.for_each_band(|band| {
            for v in band.iter().filter(|v| v.is_finite()) {
                sum += *v as f64;
                n += 1;
            }
        })?;
        Ok(if n > 0 { sum / n as f64 } else { f64::NAN })
    }
}

/// A raw frame with the corrections to apply on reading.
pub struct CalibratedInput {
    pub raw: FileInput,
    pub plan: OverscanPlan,
    /// Overscan level per raw row or column.
    levels: Option<(Lines, Vec<f64>)>,
    pub bias: Option<Master>,
    /// The dark and the factor it is multiplied by (EXPTIME of the frame / EXPTIME of the dark).
    pub dark: Option<(Master, f64)>,
    /// The flat and its mean (the frame is divided by flat / mean, as ccdproc's flat_correct does).
    pub flat: Option<(Master, f64)>,
    header: Header,
}

impl CalibratedInput {
    /// Plan the overscan and trim of `raw` and measure its overscan levels.
    pub fn new(raw: FileInput, overscan: &OverscanParams) -> Result<CalibratedInput> {
        let (ny, nx) = raw.shape();
        let plan = plan_overscan(&raw.name(), raw.header(), nx, ny, overscan)?;
        let levels = match &plan.overscan {
            Some((region, lines)) => Some((
                *lines,
                overscan_levels(&raw, region, *lines, overscan.stat)?,
            )),
            None => None,
        };
        let mut header = raw.header().clone();
        if let Some((region, _)) = &plan.overscan {
            let stat = match overscan.stat {
                super::overscan::OverscanStat::Median => "median".to_string(),
                super::overscan::OverscanStat::Mean => "mean".to_string(),
                super::overscan::OverscanStat::Poly(k) => {
                    format!("polynomial order {k} of line medians")
                }
            };
            header.set(
                "OVERSCAN",
                Value::Str(region.to_fits()),
                "overscan region subtracted",
            );
            header.add_history(&format!(
                "skycomb: overscan {} subtracted, {stat} per line",
                region.to_fits()
            ));
        }
        header.set(
            "TRIM",
            Value::Str(plan.trim.to_fits()),
            "trim section of the raw frame",
        );
        header.add_history(&format!("skycomb: trimmed to {}", plan.trim.to_fits()));
        for key in ["BIASSEC", "TRIMSEC", "DATASEC"] {
            header.remove(key);
        }
        Ok(CalibratedInput {
            raw,
            plan,
            levels,
            bias: None,
            dark: None,
            flat: None,
            header,
        })
    }

    /// Shape after trimming: (rows, columns).
    fn trimmed(&self) -> (usize, usize) {
        (self.plan.trim.height(), self.plan.trim.width())
    }

    fn check_master(&self, m: &Master, what: &str) -> Result<()> {
        if m.shape() != self.trimmed() {
            let (a, b) = (m.shape(), self.trimmed());
            return Err(Error::Invalid(format!(
                "{}: trimmed to {}x{} but the {what} {} is {}x{} (NAXIS1 x NAXIS2)",
                self.raw.name(),
                b.1,
                b.0,
                m.name,
                a.1,
                a.0
            )));
        }
        Ok(())
    }

    /// Subtract this master bias.
    pub fn with_bias(mut self, bias: Master) -> Result<Self> {
        self.check_master(&bias, "master bias")?;
        self.header.set(
            "ZEROCOR",
            Value::Str(bias.name.clone()),
            "master bias subtracted",
        );
        self.bias = Some(bias);
        Ok(self)
    }

    /// Subtract this master dark, scaled by the ratio of exposure times (`EXPTIME` keywords).
    pub fn with_dark(mut self, dark: Master) -> Result<Self> {
        self.check_master(&dark, "master dark")?;
        let t = self.raw.header().get_f64("EXPTIME").ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no EXPTIME to scale the dark by",
                self.raw.name()
            ))
        })?;
        let td = dark
            .header
            .get_f64("EXPTIME")
            .filter(|t| *t > 0.0)
            .ok_or_else(|| {
                Error::Invalid(format!("{}: no positive EXPTIME to scale it by", dark.name))
            })?;
        self.header.set(
            "DARKCOR",
            Value::Str(format!("{} x {}", dark.name, t / td)),
            "master dark subtracted, scaled",
        );
        self.dark = Some((dark, t / td));
        Ok(self)
    }

    /// Divide by this master flat normalised by its mean; where the flat is <= 0 the pixel becomes NaN.
    pub fn with_flat(mut self, flat: Master) -> Result<Self> {
        self.check_master(&flat, "master flat")?;
        let mean = flat.mean()?;
        if !(mean.is_finite() && mean != 0.0) {
            return Err(Error::Invalid(format!(
                "{}: mean {mean} cannot normalise a flat",
                flat.name
            )));
        }
        self.header.set(
            "FLATCOR",
            Value::Str(flat.name.clone()),
            "divided by master flat / its mean",
        );
        self.flat = Some((flat, mean));
        Ok(self)
    }
}

impl StackInput for CalibratedInput {
    fn name(&self) -> String {
        self.raw.name()
    }
    fn shape(&self) -> (usize, usize) {
        self.trimmed()
    }
    fn header(&self) -> &Header {
        &self.header
    }
    fn path(&self) -> Option<&Path> {
        Some(&self.raw.path)
    }
    /// The raw rows (untrimmed), each master's rows and the result.
    fn read_bytes_per_pixel(&self) -> usize {
        let (_, nx) = self.trimmed();
        let raw = 4 * self.raw.shape().1.div_ceil(nx.max(1));
        let masters = [
            self.bias.is_some(),
            self.dark.is_some(),
            self.flat.is_some(),
        ];
        raw + 4 * masters.iter().filter(|m| **m).count() + 4
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<Array2<f32>> {
        let t = &self.plan.trim;
        let raw_rows = t.y.start + rows.start..t.y.start + rows.end;
        let raw = self.raw.read_rows(raw_rows.clone())?;
        let bias = self
            .bias
            .as_ref()
            .map(|b| b.rows(rows.clone()))
            .transpose()?;
        let dark = self
            .dark
            .as_ref()
            .map(|(d, s)| Ok::<_, Error>((d.rows(rows.clone())?, *s)));
        let dark = dark.transpose()?;
        let flat = self
            .flat
            .as_ref()
            .map(|(f, m)| Ok::<_, Error>((f.rows(rows.clone())?, *m)));
        let flat = flat.transpose()?;
        let mut out = Array2::<f32>::zeros((rows.len(), t.width()));
        for (k, mut row) in out.rows_mut().into_iter().enumerate() {
            let yr = raw_rows.start + k;
            for (j, v) in row.iter_mut().enumerate() {
                let xr = t.x.start + j;
                let mut x = raw[[k, xr]] as f64;
                match &self.levels {
                    Some((Lines::Rows, l)) => x -= l[yr],
                    Some((Lines::Columns, l)) => x -= l[xr],
                    None => {}
                }
                if let Some(b) = &bias {
                    x -= b[[k, j]] as f64;
                }
                if let Some((d, scale)) = &dark {
                    x -= d[[k, j]] as f64 * scale;
                }
                if let Some((f, mean)) = &flat {
                    let response = f[[k, j]] as f64;
                    // no flat response, no valid value: NaN (masked), never inf
                    x = if response > 0.0 {
                        x * mean / response
                    } else {
                        f64::NAN
                    };
                }
                *v = x as f32;
            }
        }
        Ok(out)
    }
}
