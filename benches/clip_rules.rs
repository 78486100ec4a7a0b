//! Which rejection rule costs no noise: for each rule and number of frames, synthetic frames (sky,
//! stars whose seeing changes from frame to frame, Poisson and read noise) combined clean and with
//! cosmic rays and a satellite trail. Prints the result's noise over a plain average's, the cosmic-ray
//! and trail pixels left (more than 5 expected sigma above the truth), and the aperture flux against
//! a plain average's at three brightnesses. `cargo bench --bench clip_rules [-- NIGHTS]`.

use ndarray::Array2;
use skycomb::combine::*;
use skycomb::fits::{Header, Value};
use skycomb::sample::Rng;
use skycomb::stats::Centre;

const SIZE: usize = 160;
const SKY: f64 = 800.0;
const GAIN: f64 = 1.5;
const READ_NOISE_E: f64 = 5.0;
const FWHM: f64 = 3.0;

/// A star: position and total flux in ADU.
struct Star {
    x: f64,
    y: f64,
    flux: f64,
}

/// One night of N aligned frames: the noise-free expectation of each, clean and hit versions,
/// and where the cosmic rays and the trail fell.
struct Night {
    clean: Vec<Array2<f32>>,
    hit: Vec<Array2<f32>>,
    mean_model: Array2<f64>,
    variance_of_mean: Array2<f64>,
    cosmic: Array2<bool>,
    trail: Array2<bool>,
    stars: Vec<Star>,
}

fn gaussian_star(img: &mut Array2<f64>, s: &Star, fwhm: f64) {
    let sig = fwhm / 2.354_820_045;
    let r = (4.0 * fwhm).ceil() as isize;
    let (cx, cy) = (s.x.round() as isize, s.y.round() as isize);
    for y in cy - r..=cy + r {
        for x in cx - r..=cx + r {
            if x < 0 || y < 0 || x >= SIZE as isize || y >= SIZE as isize {
                continue;
            }
            let (dx, dy) = (x as f64 - s.x, y as f64 - s.y);
            img[[y as usize, x as usize]] += s.flux / (2.0 * std::f64::consts::PI * sig * sig)
                * (-(dx * dx + dy * dy) / (2.0 * sig * sig)).exp();
        }
    }
}

fn night(n: usize, seed: u64) -> Night {
    let mut rng = Rng::new(seed);
    let stars: Vec<Star> = (0..60)
        .map(|_| Star {
            x: rng.uniform(12.0, SIZE as f64 - 12.0),
            y: rng.uniform(12.0, SIZE as f64 - 12.0),
            flux: 10f64.powf(rng.uniform(3.0, 6.3)),
        })
        .collect();
    let rn_adu = READ_NOISE_E / GAIN;
    let mut mean_model = Array2::<f64>::zeros((SIZE, SIZE));
    let mut variance_of_mean = Array2::<f64>::zeros((SIZE, SIZE));
    let (mut clean, mut hit) = (Vec::new(), Vec::new());
    let mut cosmic = Array2::from_elem((SIZE, SIZE), false);
    let mut trail = Array2::from_elem((SIZE, SIZE), false);
    for f in 0..n {
        let seeing = FWHM * rng.uniform(0.85, 1.15);
        let mut model = Array2::from_elem((SIZE, SIZE), SKY);
        for s in &stars {
            gaussian_star(&mut model, s, seeing);
        }
        mean_model = mean_model + &model / n as f64;
        variance_of_mean =
            variance_of_mean + &model.mapv(|m| m / GAIN + rn_adu * rn_adu) / (n * n) as f64;
        let frame = model.mapv(|m| rng.poisson(m * GAIN) / GAIN + rng.normal(0.0, rn_adu));
        let mut dirty = frame.clone();
        // cosmic rays: one- and two-pixel hits, 100 to 5000 ADU
        for _ in 0..(SIZE * SIZE / 400) {
            let (x, y) = (rng.int(1, SIZE - 1), rng.int(1, SIZE - 1));
            let amp = 10f64.powf(rng.uniform(2.0, 3.7));
            dirty[[y, x]] += amp;
            cosmic[[y, x]] = true;
            if rng.unit() < 0.4 {
                dirty[[y, x + 1]] += 0.6 * amp;
                cosmic[[y, x + 1]] = true;
            }
        }
        if f == 1 {
            // a satellite trail, 300 ADU, two pixels wide, across the frame
            for x in 0..SIZE {
                let y = (20.0 + 0.7 * x as f64) as usize;
                for yy in [y, y + 1] {
                    if yy < SIZE {
                        dirty[[yy, x]] += 300.0;
                        trail[[yy, x]] = true;
                    }
                }
            }
        }
        clean.push(frame.mapv(|v| v as f32));
        hit.push(dirty.mapv(|v| v as f32));
    }
    Night {
        clean,
        hit,
        mean_model,
        variance_of_mean,
        cosmic,
        trail,
        stars,
    }
}

fn inputs(frames: &[Array2<f32>]) -> Vec<MemoryInput> {
    frames
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut header = Header::default();
            header.set("GAIN", Value::Float(GAIN), "e-/ADU");
            header.set("RDNOISE", Value::Float(READ_NOISE_E), "e-");
            MemoryInput {
                name: format!("f{i}"),
                data: d.clone(),
                header,
            }
        })
        .collect()
}

fn combine(frames: &[Array2<f32>], p: &CombineParams) -> Array2<f32> {
    let m = inputs(frames);
    let refs: Vec<&dyn StackInput> = m.iter().map(|x| x as &dyn StackInput).collect();
    let r = combine_in_memory(&refs, p, None).unwrap();
    if std::env::var_os("CLIP_DEBUG").is_some() {
        eprintln!(
            "rejected {} of {} values",
            r.summary.rejected_per_rule.sigma,
            frames.len() * SIZE * SIZE
        );
    }
    r.image
}

fn sigma_rule(spread: Spread, k: f64, centre: Centre) -> CombineParams {
    CombineParams {
        rejection: Rejection {
            sigma: Some(SigmaRule {
                low: k,
                high: k,
                centre,
                spread,
                max_iterations: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn ccd(sensitivity_noise: f64) -> Spread {
    Spread::CcdNoise {
        gain_e_per_adu: GAIN,
        read_noise_e: READ_NOISE_E,
        sensitivity_noise,
    }
}

/// The rules measured, by name.
fn rules() -> Vec<(&'static str, CombineParams)> {
    let mut v = vec![
        ("average (no rejection)", CombineParams::default()),
        (
            "median/mad_std 3 (old default)",
            sigma_rule(Spread::MadStd, 3.0, Centre::Median),
        ),
        (
            "median/mad_std 4",
            sigma_rule(Spread::MadStd, 4.0, Centre::Median),
        ),
        ("median/std 3", sigma_rule(Spread::Std, 3.0, Centre::Median)),
        (
            "winsorized 3",
            sigma_rule(Spread::Winsorized, 3.0, Centre::Median),
        ),
        (
            "winsorized 4",
            sigma_rule(Spread::Winsorized, 4.0, Centre::Median),
        ),
        (
            "linear fit 3",
            sigma_rule(Spread::LinearFit, 3.0, Centre::Median),
        ),
        (
            "gesd 0.3 0.05",
            sigma_rule(
                Spread::Gesd {
                    max_outliers: 0.3,
                    alpha: 0.05,
                },
                1.0,
                Centre::Median,
            ),
        ),
        ("ccdclip 3", sigma_rule(ccd(0.0), 3.0, Centre::Median)),
        ("ccdclip 5", sigma_rule(ccd(0.0), 5.0, Centre::Median)),
        (
            "winsorized 5",
            sigma_rule(Spread::Winsorized, 5.0, Centre::Median),
        ),
        (
            "default: mad_std+floor 3.5/3",
            CombineParams {
                rejection: Rejection {
                    sigma: Some(SigmaRule::default_clip()),
                    ..Default::default()
                },
                ..Default::default()
            },
        ),
        (
            "mad_std+floor 3/3",
            sigma_rule(Spread::MadStdFloor, 3.0, Centre::Median),
        ),
        (
            "mad_std+floor 4",
            sigma_rule(Spread::MadStdFloor, 4.0, Centre::Median),
        ),
        (
            "pclip -0.5 3",
            sigma_rule(Spread::Percentile(-0.5), 3.0, Centre::Median),
        ),
    ];
    let mut iraf_avsig = sigma_rule(Spread::PoissonScaled, 3.0, Centre::Median);
    iraf_avsig.semantics = Semantics::Iraf;
    v.push(("IRAF avsigclip 3", iraf_avsig));
    let mut crrej = sigma_rule(ccd(0.0), 4.0, Centre::Median);
    crrej.rejection.sigma.as_mut().unwrap().low = f64::INFINITY;
    v.push(("crreject 4", crrej));
    v.push((
        "minmax 1 1",
        CombineParams {
            rejection: Rejection {
                nlow: 1,
                nhigh: 1,
                ..Default::default()
            },
            ..Default::default()
        },
    ));
    v
}

/// Aperture sum within 2 FWHM less the model sky.
fn aperture(img: &Array2<f32>, s: &Star) -> f64 {
    let r = 2.0 * FWHM;
    let mut sum = 0.0;
    for y in (s.y - r).floor() as usize..=(s.y + r).ceil() as usize {
        for x in (s.x - r).floor() as usize..=(s.x + r).ceil() as usize {
            if (x as f64 - s.x).hypot(y as f64 - s.y) <= r {
                sum += img[[y, x]] as f64 - SKY;
            }
        }
    }
    sum
}

/// What a rule did to one night.
#[derive(Default, Clone)]
struct Score {
    noise_ratio: f64,
    cosmic_left: usize,
    cosmic_left_on_stars: usize,
    trail_left: usize,
    trail_left_on_stars: usize,
    /// Aperture fluxes summed over the stars of each brightness (faint < 1e4 ADU, middle, bright
    /// > 3e5): the rule's and a plain average's.
    flux: [(f64, f64); 3],
}

fn score(nt: &Night, p: &CombineParams, average_clean: &Array2<f32>) -> Score {
    let clean = combine(&nt.clean, p);
    let hit = combine(&nt.hit, p);
    let near_star = |y: usize, x: usize| {
        nt.stars
            .iter()
            .any(|s| (x as f64 - s.x).hypot(y as f64 - s.y) < 4.0 * FWHM)
    };
    let (mut ss_rule, mut ss_avg) = (0.0, 0.0);
    for ((y, x), m) in nt.mean_model.indexed_iter() {
        if !near_star(y, x) {
            ss_rule += (clean[[y, x]] as f64 - m).powi(2);
            ss_avg += (average_clean[[y, x]] as f64 - m).powi(2);
        }
    }
    let left = |mask: &Array2<bool>, on_stars: bool| {
        let l: Vec<(usize, usize)> = mask
            .indexed_iter()
            .filter(|(yx, m)| {
                **m && near_star(yx.0, yx.1) == on_stars
                    && (hit[*yx] - clean[*yx]) as f64 > 5.0 * nt.variance_of_mean[*yx].sqrt()
            })
            .map(|(yx, _)| yx)
            .collect();
        if std::env::var_os("CLIP_DEBUG").is_some() && !on_stars {
            for yx in l.iter().take(4) {
                let v: Vec<f32> = nt.hit.iter().map(|f| f[*yx]).collect();
                eprintln!(
                    "left at {yx:?}: result {} model {:.1} sigma of mean {:.1} values {v:?}",
                    hit[*yx],
                    nt.mean_model[*yx],
                    nt.variance_of_mean[*yx].sqrt()
                );
            }
        }
        l.len()
    };
    let mut flux = [(0.0, 0.0); 3];
    for s in &nt.stars {
        let bin = if s.flux < 1e4 {
            0
        } else if s.flux < 3e5 {
            1
        } else {
            2
        };
        flux[bin].0 += aperture(&clean, s);
        flux[bin].1 += aperture(average_clean, s);
    }
    Score {
        noise_ratio: (ss_rule / ss_avg).sqrt(),
        cosmic_left: left(&nt.cosmic, false),
        cosmic_left_on_stars: left(&nt.cosmic, true),
        trail_left: left(&nt.trail, false),
        trail_left_on_stars: left(&nt.trail, true),
        flux,
    }
}

fn main() {
    let nights: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    println!(
        "a cosmic-ray or trail pixel is left when the rule's result with them is more than 5 sigma of \
         a plain average above its result without them; CR stars: within 4 FWHM of a star, where the \
         seeing changes the values from frame to frame"
    );
    println!(
        "{SIZE}x{SIZE} frames, sky {SKY} ADU, gain {GAIN}, read noise {READ_NOISE_E} e-, FWHM {FWHM} +-15%, \
         60 stars, cosmic rays on 1/400 of the pixels of each frame, a trail in frame 2; {nights} nights per N \
         (noise: the worst night; cosmic rays and trail pixels left: the sum; flux: the rule's aperture \
         fluxes summed over the stars of a brightness against a plain average's, in %)"
    );
    println!(
        "{:<32} {:>3} {:>7} {:>7} {:>8} {:>6} {:>6} {:>8} {:>7} {:>8}",
        "rule", "N", "noise", "CR sky", "CR stars", "trail", "on *", "faint %", "mid %", "bright %"
    );
    for n in [5usize, 7, 10, 20] {
        let nts: Vec<Night> = (0..nights).map(|k| night(n, 1000 * n as u64 + k)).collect();
        let averages: Vec<Array2<f32>> = nts
            .iter()
            .map(|nt| combine(&nt.clean, &CombineParams::default()))
            .collect();
        let only = std::env::var("CLIP_RULES").ok();
        for (name, p) in rules() {
            if only
                .as_deref()
                .is_some_and(|o| !o.split(',').any(|w| name.starts_with(w)))
            {
                continue;
            }
            let mut total = Score::default();
            for (nt, avg) in nts.iter().zip(&averages) {
                let s = score(nt, &p, avg);
                total.noise_ratio = total.noise_ratio.max(s.noise_ratio);
                total.cosmic_left += s.cosmic_left;
                total.cosmic_left_on_stars += s.cosmic_left_on_stars;
                total.trail_left += s.trail_left;
                total.trail_left_on_stars += s.trail_left_on_stars;
                for k in 0..3 {
                    total.flux[k].0 += s.flux[k].0;
                    total.flux[k].1 += s.flux[k].1;
                }
            }
            println!(
                "{:<32} {:>3} {:>7.4} {:>7} {:>8} {:>6} {:>6} {:>8.3} {:>7.3} {:>8.3}",
                name,
                n,
                total.noise_ratio,
                total.cosmic_left,
                total.cosmic_left_on_stars,
                total.trail_left,
                total.trail_left_on_stars,
                100.0 * (total.flux[0].0 / total.flux[0].1 - 1.0),
                100.0 * (total.flux[1].0 / total.flux[1].1 - 1.0),
                100.0 * (total.flux[2].0 / total.flux[2].1 - 1.0)
            );
        }
    }
}
