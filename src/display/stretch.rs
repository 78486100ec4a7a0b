//! Stretches (linear, sqrt, log, asinh, histogram equalisation) and colormaps: pixel values between
//! display limits to RGBA, as ds9 and astropy.visualization do.

use serde::{Deserialize, Serialize};

/// How values between the limits map to brightness (after normalising to 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Stretch {
    #[default]
    Linear,
    Sqrt,
    /// astropy's LogStretch with a = 1000: log(a x + 1) / log(a + 1).
    Log,
    /// astropy's AsinhStretch with a = 0.1: asinh(x / a) / asinh(1 / a).
    Asinh,
    /// Histogram equalisation: brightness is the fraction of pixels below the value.
    HistEq,
}

/// Colour tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Colormap {
    #[default]
    Grey,
    InvertedGrey,
    Viridis,
    Magma,
    Cividis,
}

impl Stretch {
    pub const ALL: [Stretch; 5] = [
        Stretch::Linear,
        Stretch::Sqrt,
        Stretch::Log,
        Stretch::Asinh,
        Stretch::HistEq,
    ];

    /// Brightness 0..1 of a value already normalised to 0..1 by the limits (clipped).
    pub fn apply(self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match self {
            Stretch::Linear | Stretch::HistEq => t,
            Stretch::Sqrt => t.sqrt(),
            Stretch::Log => (1000.0 * t + 1.0).ln() / 1001f64.ln(),
            Stretch::Asinh => (t / 0.1).asinh() / (1.0f64 / 0.1).asinh(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stretch::Linear => "linear",
            Stretch::Sqrt => "sqrt",
            Stretch::Log => "log",
            Stretch::Asinh => "asinh",
            Stretch::HistEq => "histogram equalisation",
        }
    }
}

/// Anchor colours of the perceptual maps (matplotlib's, at 0, 0.25, 0.5, 0.75, 1), interpolated linearly.
fn anchors(c: Colormap) -> &'static [[u8; 3]; 5] {
    match c {
        Colormap::Viridis => &[
            [68, 1, 84],
            [59, 82, 139],
            [33, 145, 140],
            [94, 201, 98],
            [253, 231, 37],
        ],
        Colormap::Magma => &[
            [0, 0, 4],
            [81, 18, 124],
            [183, 55, 121],
            [252, 137, 97],
            [252, 253, 191],
        ],
        Colormap::Cividis => &[
            [0, 34, 78],
            [61, 78, 108],
            [124, 123, 120],
            [188, 175, 111],
            [254, 232, 56],
        ],
        Colormap::Grey | Colormap::InvertedGrey => &[
            [0, 0, 0],
            [64, 64, 64],
            [128, 128, 128],
            [191, 191, 191],
            [255, 255, 255],
        ],
    }
}

impl Colormap {
    pub const ALL: [Colormap; 5] = [
        Colormap::Grey,
        Colormap::InvertedGrey,
        Colormap::Viridis,
        Colormap::Magma,
        Colormap::Cividis,
    ];

    /// The colour of brightness b (0..1).
    pub fn rgb(self, b: f64) -> [u8; 3] {
        let b = if self == Colormap::InvertedGrey {
            1.0 - b
        } else {
            b
        }
        .clamp(0.0, 1.0);
        if matches!(self, Colormap::Grey | Colormap::InvertedGrey) {
            let g = (b * 255.0).round() as u8;
            return [g, g, g];
        }
        let a = anchors(self);
        let pos = b * 4.0;
        let i = (pos.floor() as usize).min(3);
        let t = pos - i as f64;
        let mix = |k: usize| (a[i][k] as f64 * (1.0 - t) + a[i + 1][k] as f64 * t).round() as u8;
        [mix(0), mix(1), mix(2)]
    }

    pub fn name(self) -> &'static str {
        match self {
            Colormap::Grey => "grey",
            Colormap::InvertedGrey => "inverted grey",
            Colormap::Viridis => "viridis",
            Colormap::Magma => "magma",
            Colormap::Cividis => "cividis",
        }
    }
}

/// Maps values to colours: limits, stretch (with the equalisation table when needed), colormap.
pub struct Renderer {
    low: f64,
    high: f64,
    stretch: Stretch,
    colormap: Colormap,
    /// For histogram equalisation: sorted sample of the values between the limits.
    sample: Vec<f32>,
}

impl Renderer {
    /// A renderer for `values` (a sample is kept for histogram equalisation).
    pub fn new(
        values: ndarray::ArrayView2<f32>,
        limits: (f64, f64),
        stretch: Stretch,
        colormap: Colormap,
    ) -> Renderer {
        let mut sample = Vec::new();
        if stretch == Stretch::HistEq {
            let step = (values.len() / 20_000).max(1);
            sample = values
                .iter()
                .step_by(step)
                .copied()
                .filter(|v| v.is_finite() && (*v as f64) >= limits.0 && (*v as f64) <= limits.1)
                .collect();
            sample.sort_unstable_by(f32::total_cmp);
        }
        Renderer {
            low: limits.0,
            high: limits.1,
            stretch,
            colormap,
            sample,
        }
    }

    /// The colour of one value; NaN is drawn black (white for inverted grey would hide it: black always).
    pub fn rgb(&self, v: f32) -> [u8; 3] {
        if !v.is_finite() {
            return [0, 0, 0];
        }
        let b = if self.stretch == Stretch::HistEq && !self.sample.is_empty() {
            self.sample.partition_point(|s| *s < v) as f64 / self.sample.len() as f64
        } else {
            let t = if self.high > self.low {
                (v as f64 - self.low) / (self.high - self.low)
            } else {
                0.0
            };
            self.stretch.apply(t)
        };
        self.colormap.rgb(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_match_astropy_at_known_points() {
        // astropy 8.0.2: LogStretch()(0.5) = 0.8998157120437035, AsinhStretch()(0.5) = 0.7712696419200371
        assert!((Stretch::Log.apply(0.5) - 0.8998157120437035).abs() < 1e-12);
        assert!((Stretch::Asinh.apply(0.5) - 0.7712696419200371).abs() < 1e-12);
        assert_eq!(Stretch::Sqrt.apply(0.25), 0.5);
        for s in Stretch::ALL {
            assert_eq!((s.apply(0.0), s.apply(1.0)), (0.0, 1.0), "{s:?}");
            assert_eq!(s.apply(-3.0), 0.0, "clipped below");
        }
    }

    #[test]
    fn colormaps_run_dark_to_bright_and_histeq_spreads_values() {
        for c in Colormap::ALL {
            let (a, b) = (c.rgb(0.0), c.rgb(1.0));
            let lum = |p: [u8; 3]| p[0] as u32 + p[1] as u32 + p[2] as u32;
            if c == Colormap::InvertedGrey {
                assert!(lum(a) > lum(b))
            } else {
                assert!(lum(a) < lum(b), "{c:?}")
            }
        }
        assert_eq!(Colormap::Viridis.rgb(0.5), [33, 145, 140]);
        // a skewed image: most pixels low; equalisation puts the median at half brightness
        let img = ndarray::Array2::from_shape_fn((100, 100), |(y, x)| {
            if (y * 100 + x) < 9000 {
                (x % 10) as f32
            } else {
                1000.0
            }
        });
        let r = Renderer::new(img.view(), (0.0, 1000.0), Stretch::HistEq, Colormap::Grey);
        let mid = r.rgb(5.0)[0];
        assert!((100..=160).contains(&mid), "{mid}");
        assert_eq!(
            Renderer::new(img.view(), (0.0, 1.0), Stretch::Linear, Colormap::Grey).rgb(f32::NAN),
            [0, 0, 0]
        );
    }
}
