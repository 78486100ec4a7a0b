//! The built-in synthetic night: biases, darks at two exposure times, twilight flats in two filters,
//! and seven dithered science frames of a star field, written like a real camera (uint16, BZERO 32768,
//! a 64-column overscan strip), with every offset, transparency factor and star in `truth.json`.
//!
//! It follows the oracle's `make_night.py` design (same layout, levels, dithers and truth schema) with
//! its own deterministic generator, so the same size and seed give the same files on every machine.

use crate::error::{Error, Result};
use crate::fits::write::{WriteOptions, encode_u16, write_atomic};
use crate::fits::{Header, Value};
use crate::register::transform::Affine;
use ndarray::Array2;
use serde_json::{Value as Json, json};
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

/// Overscan columns on the right of every raw frame.
pub const NOVER: usize = 64;
const GAIN: f64 = 1.5; // e-/ADU
const READ_NOISE_E: f64 = 12.0;
const BIAS_LEVEL: f64 = 1000.0; // ADU
const DARK_CURRENT: f64 = 0.02; // e-/s/pixel
const SATURATE: f64 = 65535.0;

/// What night to make.
#[derive(Debug, Clone, Copy)]
pub struct SampleNightParams {
    /// The science area is `size` x `size` pixels.
    pub size: usize,
    pub seed: u64,
    /// How the science frames turn against the first: rotation, scale, mirror.
    pub geometry: Geometry,
}

impl Default for SampleNightParams {
    fn default() -> Self {
        SampleNightParams {
            size: 512,
            seed: 20240601,
            geometry: Geometry::default(),
        }
    }
}

/// The science frames' geometry against the first (which is never turned): frame k of 7 (k = 0..6)
/// is rotated by `rotation_deg` * k / 6 and scaled by 1 + (`scale` - 1) * k / 6 about the frame's
/// centre, mirrored in x when `mirror` and k is odd, then dithered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub rotation_deg: f64,
    pub scale: f64,
    pub mirror: bool,
}

impl Default for Geometry {
    fn default() -> Self {
        Geometry {
            rotation_deg: 0.0,
            scale: 1.0,
            mirror: false,
        }
    }
}

impl Geometry {
    /// Science frame k's map from the first frame's pixels to its own (0-based), dither included.
    pub fn frame_transform(&self, k: usize, n: usize, dither: (f64, f64)) -> Affine {
        let f = k as f64 / 6.0;
        let (sin, cos) = (self.rotation_deg * f).to_radians().sin_cos();
        let scale = 1.0 + (self.scale - 1.0) * f;
        let flip = if self.mirror && k % 2 == 1 { -1.0 } else { 1.0 };
        let c = (n as f64 - 1.0) / 2.0;
        // about the centre: mirror x, rotate, scale, then move by the dither
        let (a, b, d, e) = (
            scale * cos * flip,
            -scale * sin,
            scale * sin * flip,
            scale * cos,
        );
        Affine {
            m: [
                [a, b, c + dither.0 - a * c - b * c],
                [d, e, c + dither.1 - d * c - e * c],
            ],
        }
    }
}

/// xoshiro256** seeded through splitmix64: small, fast, and fixed forever (unlike a crate's default RNG).
pub struct Rng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    /// A generator fixed by its seed.
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E3779B97F4A7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
            spare_normal: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Integer in lo..hi.
    pub fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.unit() * (hi - lo) as f64) as usize
    }

    /// A Gaussian deviate (Box-Muller).
    pub fn normal(&mut self, mean: f64, sigma: f64) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return mean + sigma * z;
        }
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        let r = (-2.0 * u1.ln()).sqrt();
        self.spare_normal = Some(r * (2.0 * PI * u2).sin());
        mean + sigma * r * (2.0 * PI * u2).cos()
    }

    /// Poisson deviate: exact (Knuth) below 30, a rounded Gaussian above (indistinguishable there).
    pub fn poisson(&mut self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return 0.0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let (mut k, mut p) = (0.0, self.unit());
            while p > limit {
                k += 1.0;
                p *= self.unit();
            }
            return k;
        }
        self.normal(lambda, lambda.sqrt()).round().max(0.0)
    }
}

/// A star of the field: position in frame 1 (0-based, trimmed area) and total flux in electrons.
#[derive(Debug, Clone)]
struct Star {
    id: usize,
    x: f64,
    y: f64,
    flux_e: f64,
    reference: bool,
}

fn moffat(dx: f64, dy: f64, fwhm: f64, beta: f64) -> f64 {
    let alpha = fwhm / (2.0 * (2f64.powf(1.0 / beta) - 1.0).sqrt());
    (beta - 1.0) / (PI * alpha * alpha) * (1.0 + (dx * dx + dy * dy) / (alpha * alpha)).powf(-beta)
}

fn gaussian(dx: f64, dy: f64, fwhm: f64) -> f64 {
    let s = fwhm / 2.3548200450309493;
    (-0.5 * (dx * dx + dy * dy) / (s * s)).exp() / (2.0 * PI * s * s)
}

/// Stars in electrons, each integrated over pixels by 5x5 sub-sampling, within 20 px of its centre.
fn render_stars(
    n: usize,
    stars: &[Star],
    place: &Affine,
    transparency: f64,
    fwhm: f64,
    moffat_psf: bool,
) -> Array2<f64> {
    const HALF: i64 = 20;
    const OVER: usize = 5;
    let mut img = Array2::<f64>::zeros((n, n));
    for s in stars {
        let (x, y) = place.apply(s.x, s.y);
        let (ix, iy) = (x.round() as i64, y.round() as i64);
        for py in (iy - HALF).max(0)..(iy + HALF + 1).min(n as i64) {
            for px in (ix - HALF).max(0)..(ix + HALF + 1).min(n as i64) {
                let mut sum = 0.0;
                for sy in 0..OVER {
                    for sx in 0..OVER {
                        let dx = px as f64 + (sx as f64 + 0.5) / OVER as f64 - 0.5 - x;
                        let dy = py as f64 + (sy as f64 + 0.5) / OVER as f64 - 0.5 - y;
                        sum += if moffat_psf {
                            moffat(dx, dy, fwhm, 3.0)
                        } else {
                            gaussian(dx, dy, fwhm)
                        };
                    }
                }
                img[[py as usize, px as usize]] +=
                    s.flux_e * transparency * sum / (OVER * OVER) as f64;
            }
        }
    }
    img
}

fn vignetting(n: usize, strength: f64) -> Array2<f64> {
    let nf = n as f64;
    let (cx, cy) = ((nf - 1.0) / 2.0 + 0.03 * nf, (nf - 1.0) / 2.0 - 0.02 * nf);
    let r0 = 0.5 * (2.0f64).sqrt() * nf;
    Array2::from_shape_fn((n, n), |(y, x)| {
        let r2 = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)) / (r0 * r0);
        1.0 - strength * r2
    })
}

/// `2024-06-01T20:30:00.000` plus `seconds`.
fn timestamp(seconds: f64) -> String {
    let total = 20.0 * 3600.0 + 30.0 * 60.0 + seconds;
    let day = 1 + (total / 86400.0) as u32;
    let t = total % 86400.0;
    let (h, m) = ((t / 3600.0) as u32, ((t % 3600.0) / 60.0) as u32);
    let s = t % 60.0;
    format!("2024-06-{day:02}T{h:02}:{m:02}:{s:06.3}")
}

/// Fixed detector structure shared by every frame.
struct Detector {
    n: usize,
    bias_2d: Array2<f64>,
    flat_r: Array2<f64>,
    flat_v: Array2<f64>,
    dark_map: Array2<f64>,
}

/// The folder being written and the truth gathered on the way.
struct NightWriter<'a> {
    dir: &'a Path,
    options: WriteOptions,
    rng: Rng,
    det: Detector,
    files: Vec<PathBuf>,
    frames_truth: serde_json::Map<String, Json>,
    biassec: String,
    trimsec: String,
}

impl NightWriter<'_> {
    /// Bias level with this frame's offset and row ramp, plus signal (e-, Poisson) and read noise, in ADU.
    fn raw_frame(&mut self, signal_e: Option<&Array2<f64>>) -> (Array2<f64>, f64, f64) {
        let n = self.det.n;
        let off = self.rng.normal(0.0, 3.0);
        let ramp = self.rng.uniform(-2.0, 2.0);
        let rn_adu = READ_NOISE_E / GAIN;
        let mut raw = Array2::from_shape_fn((n, n + NOVER), |(y, x)| {
            BIAS_LEVEL + off + ramp * y as f64 / n as f64 + self.det.bias_2d[[y, x]]
        });
        if let Some(sig) = signal_e {
            for ((y, x), v) in sig.indexed_iter() {
                raw[[y, x]] += self.rng.poisson(v.max(0.0)) / GAIN;
            }
        }
        raw.mapv_inplace(|v| v + self.rng.normal(0.0, rn_adu));
        (raw, off, ramp)
    }

    fn write(
        &mut self,
        name: &str,
        raw: &Array2<f64>,
        cards: &[(&str, Value, &str)],
        when_s: f64,
        mut truth: serde_json::Map<String, Json>,
    ) -> Result<()> {
        let data = raw.mapv(|v| v.round().clamp(0.0, SATURATE) as u16);
        let mut h = Header::default();
        let date = timestamp(when_s);
        let std_cards: [(&str, Value, &str); 13] = [
            (
                "INSTRUME",
                Value::Str("SYNTHCAM".into()),
                "synthetic camera",
            ),
            ("TELESCOP", Value::Str("SIM-0.6m".into()), ""),
            ("OBSERVER", Value::Str("skycomb sample night".into()), ""),
            (
                "DATE-OBS",
                Value::Str(date.clone()),
                "UTC start of exposure",
            ),
            ("GAIN", Value::Float(GAIN), "e-/ADU"),
            ("RDNOISE", Value::Float(READ_NOISE_E), "e-"),
            ("SATURATE", Value::Int(SATURATE as i64), ""),
            ("CCD-TEMP", Value::Float(-20.0), ""),
            (
                "BIASSEC",
                Value::Str(self.biassec.clone()),
                "overscan region (FITS, 1-based)",
            ),
            (
                "TRIMSEC",
                Value::Str(self.trimsec.clone()),
                "useful region (FITS, 1-based)",
            ),
            (
                "DATASEC",
                Value::Str(self.trimsec.clone()),
                "data region (FITS, 1-based)",
            ),
            ("XBINNING", Value::Int(1), ""),
            ("YBINNING", Value::Int(1), ""),
        ];
        for (k, v, c) in std_cards.into_iter().chain(cards.iter().cloned()) {
            if let Some(n) = v.as_f64().filter(|_| !matches!(v, Value::Str(_))) {
                truth.insert(k.into(), json!(n));
            } else if let Value::Str(s) = &v {
                truth.insert(k.into(), json!(s));
            }
            h.set(k, v, c);
        }
        truth.insert("DATE-OBS".into(), json!(date));
        truth.insert(
            "n_saturated".into(),
            json!(data.iter().filter(|&&v| v as f64 == SATURATE).count()),
        );
        let path = self.dir.join(name);
        write_atomic(&path, &encode_u16(data.view(), &h)?, self.options)?;
        self.files.push(path);
        self.frames_truth.insert(name.into(), Json::Object(truth));
        Ok(())
    }
}

fn detector(rng: &mut Rng, n: usize, dust_list: &mut Vec<Json>) -> Detector {
    let col_pattern: Vec<f64> = (0..n + NOVER)
        .map(|x| {
            let v = rng.normal(0.0, 2.0);
            if x < n { v } else { 0.0 }
        })
        .collect();
    let bias_2d = Array2::from_shape_fn((n, n + NOVER), |(_, x)| {
        col_pattern[x]
            + if x < n {
                3.0 * x as f64 / n as f64
            } else {
                0.0
            }
    });
    let prnu = Array2::from_shape_fn((n, n), |_| 1.0 + rng.normal(0.0, 0.01));
    let mut dust = Array2::<f64>::ones((n, n));
    let nf = n as f64;
    for _ in 0..3 {
        let (cx, cy) = (
            rng.uniform(0.1 * nf, 0.9 * nf),
            rng.uniform(0.1 * nf, 0.9 * nf),
        );
        let rad = rng.uniform(0.02, 0.04) * nf;
        dust.indexed_iter_mut().for_each(|((y, x), d)| {
            let r = (x as f64 - cx).hypot(y as f64 - cy);
            if r > 0.5 * rad && r < rad {
                *d *= 0.93;
            }
        });
        dust_list.push(json!({"x": cx, "y": cy, "r": rad}));
    }
    let flat_r = vignetting(n, 0.25) * &prnu * &dust;
    let flat_v = vignetting(n, 0.30) * &prnu * &dust;
    let mut dark_map = Array2::from_elem((n, n), DARK_CURRENT);
    for _ in 0..50 {
        let (y, x) = (rng.int(0, n), rng.int(0, n));
        dark_map[[y, x]] = rng.uniform(1.0, 20.0);
    }
    Detector {
        n,
        bias_2d,
        flat_r,
        flat_v,
        dark_map,
    }
}

/// The field: log-uniform field stars plus ten bright isolated reference stars on a grid.
fn star_field(rng: &mut Rng, n: usize) -> Vec<Star> {
    let nf = n as f64;
    let margin = 40.0;
    let nstars = 60.max((150.0 * (nf / 1024.0).powi(2)) as usize);
    let field: Vec<Star> = (0..nstars)
        .map(|id| Star {
            id,
            x: rng.uniform(margin, nf - margin),
            y: rng.uniform(margin, nf - margin),
            flux_e: 10f64.powf(rng.uniform(3.3, 6.3)),
            reference: false,
        })
        .collect();
    let grid = [
        (0.2, 0.2),
        (0.5, 0.2),
        (0.8, 0.2),
        (0.2, 0.5),
        (0.5, 0.5),
        (0.8, 0.5),
        (0.2, 0.8),
        (0.5, 0.8),
        (0.8, 0.8),
        (0.35, 0.65),
    ];
    let refs: Vec<Star> = grid
        .iter()
        .enumerate()
        .map(|(j, (fx, fy))| Star {
            id: nstars + j,
            x: fx * nf + rng.uniform(-0.5, 0.5) + 7.3,
            y: fy * nf + rng.uniform(-0.5, 0.5) - 5.1,
            flux_e: rng.uniform(1.5e5, 6e5),
            reference: true,
        })
        .collect();
    let mut stars: Vec<Star> = field
        .into_iter()
        .filter(|s| refs.iter().all(|r| (s.x - r.x).hypot(s.y - r.y) > 30.0))
        .collect();
    stars.extend(refs);
    stars
}

/// Write the whole night into `dir` (created if missing) and return the FITS files written
/// (`truth.json` is written beside them). Existing files are refused unless `options.overwrite`.
pub fn write_sample_night(
    dir: &Path,
    params: SampleNightParams,
    options: WriteOptions,
) -> Result<Vec<PathBuf>> {
    let n = params.size;
    if !(64..=8192).contains(&n) {
        return Err(Error::Invalid(format!(
            "sample night size {n}: choose 64 to 8192 pixels"
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create folder", e))?;
    let mut rng = Rng::new(params.seed);
    let mut dust = Vec::new();
    let det = detector(&mut rng, n, &mut dust);
    let hot: Vec<Json> = det
        .dark_map
        .indexed_iter()
        .filter(|(_, v)| **v > DARK_CURRENT)
        .map(|((y, x), v)| json!({"x": x, "y": y, "rate_e_per_s": v}))
        .collect();
    let mut w = NightWriter {
        dir,
        options,
        rng,
        det,
        files: Vec::new(),
        frames_truth: serde_json::Map::new(),
        biassec: format!("[{}:{},1:{n}]", n + 1, n + NOVER),
        trimsec: format!("[1:{n},1:{n}]"),
    };
    let mut when = 0.0;
    for i in 0..5 {
        let (raw, off, ramp) = w.raw_frame(None);
        let cards = [
            ("IMAGETYP", Value::Str("BIAS".into()), ""),
            ("EXPTIME", Value::Float(0.0), "s"),
            ("FILTER", Value::Str("".into()), ""),
            ("OBJECT", Value::Str("bias".into()), ""),
        ];
        w.write(
            &format!("bias_{:03}.fits", i + 1),
            &raw,
            &cards,
            when,
            offsets_truth(off, ramp),
        )?;
        when += 15.0;
    }
    for (texp, count) in [(300.0, 5), (60.0, 3)] {
        for i in 0..count {
            let sig = &w.det.dark_map * texp;
            let (raw, off, ramp) = w.raw_frame(Some(&sig));
            let cards = [
                ("IMAGETYP", Value::Str("DARK".into()), ""),
                ("EXPTIME", Value::Float(texp), "s"),
                ("FILTER", Value::Str("".into()), ""),
                ("OBJECT", Value::Str("dark".into()), ""),
            ];
            w.write(
                &format!("dark_{}s_{:03}.fits", texp as u32, i + 1),
                &raw,
                &cards,
                when,
                offsets_truth(off, ramp),
            )?;
            when += texp + 15.0;
        }
    }
    when = 75.0 * 60.0; // twilight flats at 21:45, getting darker
    for (filt, lo, hi) in [("R", 45000.0, 38000.0), ("V", 42000.0, 36000.0)] {
        for i in 0..5 {
            let level = lo + (hi - lo) * i as f64 / 4.0;
            let texp = 2.0 + 0.5 * i as f64;
            let response = if filt == "R" {
                &w.det.flat_r
            } else {
                &w.det.flat_v
            };
            let sig = response * (level * GAIN) + &w.det.dark_map * texp;
            let (raw, off, ramp) = w.raw_frame(Some(&sig));
            let mut t = offsets_truth(off, ramp);
            t.insert("level_adu_at_unit_response".into(), json!(level));
            let cards = [
                ("IMAGETYP", Value::Str("FLAT".into()), ""),
                ("EXPTIME", Value::Float(texp), "s"),
                ("FILTER", Value::Str(filt.into()), ""),
                ("OBJECT", Value::Str("twilight flat".into()), ""),
            ];
            w.write(
                &format!("flat_{filt}_{:03}.fits", i + 1),
                &raw,
                &cards,
                when,
                t,
            )?;
            when += texp + 20.0;
        }
    }
    let stars = star_field(&mut w.rng, n);
    write_science(&mut w, &stars, &params.geometry)?;
    let truth = json!({
        "generator": "skycomb sample-night", "seed": params.seed, "size": n, "noverscan": NOVER,
        "shape_raw": [n, n + NOVER], "shape_trimmed": [n, n],
        "gain_e_per_adu": GAIN, "read_noise_e": READ_NOISE_E, "read_noise_adu": READ_NOISE_E / GAIN,
        "bias_level_adu": BIAS_LEVEL, "dark_current_e_per_s": DARK_CURRENT,
        "hot_pixels": hot, "dust": dust, "BIASSEC": w.biassec, "TRIMSEC": w.trimsec,
        "pixel_convention": "x,y are 0-based numpy column,row of the TRIMMED science area; FITS 1-based = +1",
        "frames": Json::Object(w.frames_truth.clone()),
        "stars": stars.iter().map(|s| json!({"id": s.id, "x": s.x, "y": s.y, "flux": s.flux_e, "reference": s.reference})).collect::<Vec<_>>(),
        "reference_star_ids": stars.iter().filter(|s| s.reference).map(|s| s.id).collect::<Vec<_>>(),
        "star_flux_units": "total e- at transparency 1 and flat response 1; ADU = flux*transparency*flat/gain",
        "dither_convention": "star at (x,y) in frame 1 appears at (x+dx, y+dy) in frame i",
        "files": w.files.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&truth).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&dir.join("truth.json"), text.as_bytes(), options)?;
    Ok(w.files)
}

fn offsets_truth(off: f64, ramp: f64) -> serde_json::Map<String, Json> {
    let mut m = serde_json::Map::new();
    m.insert("bias_offset_adu".into(), json!(off));
    m.insert("row_ramp_adu".into(), json!(ramp));
    m
}

/// Seven dithered R frames: stars, a sky gradient, flat response, dark current, cosmic rays, and a
/// satellite trail across frame 4.
fn write_science(w: &mut NightWriter, stars: &[Star], geometry: &Geometry) -> Result<()> {
    let n = w.det.n;
    let nf = n as f64;
    let dithers = [
        (0.0, 0.0),
        (7.0, -4.0),
        (-5.0, 6.0),
        (12.25, 3.5),
        (-9.5, -8.75),
        (3.3, 10.6),
        (-2.7, -1.4),
    ];
    let transparency = [1.00, 0.93, 0.86, 0.97, 0.70, 0.80, 0.90];
    let fwhms = [3.2, 3.5, 3.0, 3.8, 4.2, 3.3, 3.6];
    let moffat_psf = [true, true, false, true, true, false, true];
    let sky_e = [1200.0, 1250.0, 1300.0, 1180.0, 1400.0, 1350.0, 1220.0];
    let texp = 300.0;
    let mut when = 120.0 * 60.0; // 22:30
    for i in 0..7 {
        let place = geometry.frame_transform(i, n, dithers[i]);
        let stars_e = render_stars(n, stars, &place, transparency[i], fwhms[i], moffat_psf[i]);
        let sky = Array2::from_shape_fn((n, n), |(y, x)| {
            sky_e[i] * (1.0 + 0.15 * (x as f64 / nf - 0.5) - 0.08 * (y as f64 / nf - 0.5))
        });
        let sig = (stars_e + sky) * &w.det.flat_r + &w.det.dark_map * texp;
        let (mut raw, off, ramp) = w.raw_frame(Some(&sig));
        let mut crs = Vec::new();
        for _ in 0..w.rng.int(4, 9) {
            let (cx, cy) = (w.rng.int(5, n - 5), w.rng.int(5, n - 5));
            let amp = w.rng.uniform(3000.0, 30000.0);
            let len = w.rng.int(1, 4);
            for t in 0..len {
                raw[[cy, cx + t]] += amp / (t + 1) as f64;
            }
            crs.push(json!({"x": cx, "y": cy, "length": len, "amp_adu": amp}));
        }
        let mut trail = Json::Null;
        if i == 3 {
            let (x0, y0, x1, y1) = (0.0, 0.15 * nf, nf - 1.0, 0.85 * nf);
            let norm = (y1 - y0).hypot(x1 - x0);
            for y in 0..n {
                for x in 0..n {
                    let d = ((y1 - y0) * x as f64 - (x1 - x0) * y as f64 + x1 * y0 - y1 * x0).abs()
                        / norm;
                    raw[[y, x]] += 2500.0 * (-0.5 * (d / 1.2).powi(2)).exp();
                }
            }
            trail = json!({"x0": x0, "y0": y0, "x1": x1, "y1": y1, "peak_adu": 2500.0, "sigma_px": 1.2});
        }
        let centre = (nf - 1.0) / 2.0;
        let (dx, dy) = place.shift_at(centre, centre);
        let mut t = offsets_truth(off, ramp);
        for (k, v) in [
            ("dx", json!(dx)),
            ("dy", json!(dy)),
            ("rotation_deg", json!(place.rotation_deg())),
            ("scale", json!(place.scale())),
            ("mirrored", json!(place.mirrored())),
            ("matrix", json!(place.m)),
            ("dx_int", json!(dx.floor() as i64)),
            ("dy_int", json!(dy.floor() as i64)),
            ("transparency", json!(transparency[i])),
            ("fwhm_px", json!(fwhms[i])),
            (
                "psf",
                json!(if moffat_psf[i] { "moffat" } else { "gaussian" }),
            ),
            (
                "moffat_beta",
                if moffat_psf[i] {
                    json!(3.0)
                } else {
                    Json::Null
                },
            ),
            ("sky_e_center", json!(sky_e[i])),
            ("sky_adu_center_at_unit_flat", json!(sky_e[i] / GAIN)),
            (
                "sky_gradient",
                json!("sky_e*(1+0.15*(x/nx-0.5)-0.08*(y/ny-0.5)) * flat_R"),
            ),
            ("cosmic_rays", Json::Array(crs)),
            ("satellite_trail", trail),
        ] {
            t.insert(k.into(), v);
        }
        let cards = [
            ("IMAGETYP", Value::Str("LIGHT".into()), ""),
            ("EXPTIME", Value::Float(texp), "s"),
            ("FILTER", Value::Str("R".into()), ""),
            ("OBJECT", Value::Str("M67-field".into()), ""),
            ("RA", Value::Str("08 51 18.0".into()), ""),
            ("DEC", Value::Str("+11 48 00".into()), ""),
            (
                "AIRMASS",
                Value::Float(((1.15 + 0.05 * i as f64) * 1000.0).round() / 1000.0),
                "",
            ),
        ];
        let wcs = wcs_cards(&place, n);
        let cards: Vec<(&str, Value, &str)> = cards.into_iter().chain(wcs).collect();
        w.write(&format!("sci_R_{:03}.fits", i + 1), &raw, &cards, when, t)?;
        when += texp + 40.0;
    }
    Ok(())
}

/// A TAN WCS for a science frame: the first frame has 0.5 arcsec pixels, north up and east left,
/// centred on RA 08:51:18, Dec +11:48:00; each frame's WCS follows its map from the first frame.
fn wcs_cards(place: &Affine, n: usize) -> Vec<(&'static str, Value, &'static str)> {
    let s = 0.5 / 3600.0;
    let c = (n as f64 - 1.0) / 2.0;
    let inv = place.inverse().expect("a frame's map is invertible");
    // CD_k = CD_ref L^-1 with CD_ref = [[-s, 0], [0, s]]
    let [[a, b, _], [d, e, _]] = inv.m;
    let (crx, cry) = place.apply(c, c);
    vec![
        ("CTYPE1", Value::Str("RA---TAN".into()), ""),
        ("CTYPE2", Value::Str("DEC--TAN".into()), ""),
        ("CRVAL1", Value::Float(132.825), "deg"),
        ("CRVAL2", Value::Float(11.8), "deg"),
        ("CRPIX1", Value::Float(crx + 1.0), ""),
        ("CRPIX2", Value::Float(cry + 1.0), ""),
        ("CD1_1", Value::Float(-s * a), ""),
        ("CD1_2", Value::Float(-s * b), ""),
        ("CD2_1", Value::Float(s * d), ""),
        ("CD2_2", Value::Float(s * e), ""),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_fixed_and_normal_has_unit_variance() {
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        assert_eq!(a.next_u64(), b.next_u64());
        let v: Vec<f64> = (0..20000).map(|_| a.normal(0.0, 1.0)).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        assert!(m.abs() < 0.03 && (s - 1.0).abs() < 0.03, "{m} {s}");
        let p: f64 = (0..20000).map(|_| a.poisson(4.0)).sum::<f64>() / 20000.0;
        assert!((p - 4.0).abs() < 0.1, "{p}");
    }

    #[test]
    fn timestamps_roll_over_midnight() {
        assert_eq!(timestamp(0.0), "2024-06-01T20:30:00.000");
        assert_eq!(timestamp(4.0 * 3600.0), "2024-06-02T00:30:00.000");
    }
}
