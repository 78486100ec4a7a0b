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

    /// What the stretch does, in a line (the toolbar's tooltip).
    pub fn describe(self) -> &'static str {
        match self {
            Stretch::Linear => "brightness in proportion to the value between the limits",
            Stretch::Sqrt => "the square root: faint light lifted a little",
            Stretch::Log => "log(1000 x + 1) / log(1001): faint nebulosity and wings lifted hard",
            Stretch::Asinh => {
                "asinh(x / 0.1) / asinh(10): linear when faint, logarithmic when bright"
            }
            Stretch::HistEq => "brightness by the fraction of pixels below the value",
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

/// Entries of the colour table between the limits: fine enough that the steepest stretch (log with
/// a = 1000, slope 145 at the low limit) moves less than one 8-bit level from entry to entry.
const TABLE_LEN: usize = 1 << 16;

/// Maps values to colours: limits, stretch (with the equalisation table when needed), colormap.
/// Stretch and colormap are evaluated once per entry of a 65536-entry table over the limits; a
/// pixel costs one multiply and one lookup, so a 4096x4096 frame redraws in a few tens of ms.
pub struct Renderer {
    low: f32,
    /// Table entries per unit of value.
    scale: f32,
    /// Opaque RGBA colours.
    table: Vec<[u8; 4]>,
}

impl Renderer {
    /// A renderer for `values` (histogram equalisation samples them).
    pub fn new(
        values: ndarray::ArrayView2<f32>,
        (low, high): (f64, f64),
        stretch: Stretch,
        colormap: Colormap,
    ) -> Renderer {
        let last = (TABLE_LEN - 1) as f64;
        let sample = if stretch == Stretch::HistEq {
            equalisation_sample(values, (low, high))
        } else {
            Vec::new()
        };
        let table = (0..TABLE_LEN)
            .map(|i| {
                let t = i as f64 / last;
                let b = if sample.is_empty() {
                    stretch.apply(t)
                } else {
                    // the fraction of the sample below the entry's value
                    let v = low + t * (high - low);
                    sample.partition_point(|s| (*s as f64) < v) as f64 / sample.len() as f64
                };
                let [r, g, b] = colormap.rgb(b);
                [r, g, b, 255]
            })
            .collect();
        let scale = if high > low { last / (high - low) } else { 0.0 };
        Renderer {
            low: low as f32,
            scale: scale as f32,
            table,
        }
    }

    /// The colour of one value; NaN is drawn black (white for inverted grey would hide it: black always).
    pub fn rgb(&self, v: f32) -> [u8; 3] {
        let [r, g, b, _] = self.rgba(v);
        [r, g, b]
    }

    /// The opaque RGBA colour of one value (single precision: the table has 2^16 entries).
    #[inline]
    pub fn rgba(&self, v: f32) -> [u8; 4] {
        if !v.is_finite() {
            return [0, 0, 0, 255];
        }
        let i = (v - self.low) * self.scale + 0.5;
        // below the low limit (negative) -> 0; `as` saturates above the table
        let i = if i > 0.0 { i as usize } else { 0 };
        self.table[i.min(TABLE_LEN - 1)]
    }
}

/// For histogram equalisation: a sorted sample (about 20000) of the values between the limits.
fn equalisation_sample(values: ndarray::ArrayView2<f32>, (low, high): (f64, f64)) -> Vec<f32> {
    let step = (values.len() / 20_000).max(1);
    let mut sample: Vec<f32> = values
        .iter()
        .step_by(step)
        .copied()
        .filter(|v| v.is_finite() && (*v as f64) >= low && (*v as f64) <= high)
        .collect();
    sample.sort_unstable_by(f32::total_cmp);
    sample
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

    #[test]
    fn the_table_gives_the_exact_colour_within_one_level_for_every_stretch() {
        let img = ndarray::Array2::<f32>::zeros((4, 4));
        let (low, high) = (-20.0, 3000.0);
        for stretch in [Stretch::Linear, Stretch::Sqrt, Stretch::Log, Stretch::Asinh] {
            for colormap in Colormap::ALL {
                let r = Renderer::new(img.view(), (low, high), stretch, colormap);
                for k in 0..=20_000 {
                    let v = -100.0 + k as f32 * 0.16;
                    let exact = colormap.rgb(stretch.apply((v as f64 - low) / (high - low)));
                    let got = r.rgb(v);
                    for c in 0..3 {
                        let d = (got[c] as i32 - exact[c] as i32).abs();
                        assert!(
                            d <= 1,
                            "{stretch:?} {colormap:?} at {v}: {got:?} vs {exact:?}"
                        );
                    }
                }
            }
        }
    }
}
