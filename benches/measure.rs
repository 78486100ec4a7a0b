//! Timings of the measuring core on files made by benches/measure_vs_photutils.py (which runs this
//! and photutils side by side): detection and centroids of a 4096x4096 frame, photometry of 1000
//! stars in 10 frames, and 2-D Gaussian centroids of a cube of cutouts. Prints one JSON object.
//!
//! Usage: cargo bench --bench measure -- FRAME4096 STARS_TXT CUTOUT_CUBE FRAME1 [FRAME2 ...]

use skycomb::fits::{FitsImage, HduChoice};
use skycomb::photometry::{AnnulusStat, ApertureParams, measure_all};
use skycomb::register::centroid::centroid_2dg;
use skycomb::register::{DetectParams, detect};
use std::path::Path;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    assert!(
        args.len() >= 4,
        "usage: measure FRAME4096 STARS_TXT CUTOUT_CUBE FRAME..."
    );
    let big = skycomb::Frame::open(Path::new(&args[0])).unwrap();
    let detect_s: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let stars = detect(big.data.view(), "big", &DetectParams::default()).unwrap();
            std::hint::black_box(stars.len());
            t.elapsed().as_secs_f64()
        })
        .collect();
    let n_detected = detect(big.data.view(), "big", &DetectParams::default())
        .unwrap()
        .len();
    let stars: Vec<(f64, f64)> = std::fs::read_to_string(&args[1])
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().map(|t| t.parse().unwrap()).collect();
            (v[0] - 1.0, v[1] - 1.0)
        })
        .collect();
    let frames: Vec<skycomb::Frame> = args[3..]
        .iter()
        .map(|f| skycomb::Frame::open(Path::new(f)).unwrap())
        .collect();
    let ap = ApertureParams {
        radius: 5.0,
        annulus: Some((8.0, 12.0)),
        annulus_stat: AnnulusStat::Median,
        gain_e_per_adu: 1.5,
        read_noise_e: 10.0,
    };
    let phot_s: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for f in &frames {
                std::hint::black_box(measure_all(f.data.view(), "f", &stars, &ap));
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    let mut cube = FitsImage::open(Path::new(&args[2]), &HduChoice::FirstImage).unwrap();
    let n_cut = cube.info.n_planes();
    let cutouts: Vec<ndarray::Array2<f64>> = (0..n_cut)
        .map(|k| cube.read_plane(k).unwrap().mapv(|v| v as f64))
        .collect();
    let mut positions = Vec::new();
    let mut per_fit = Vec::new();
    let fit_s: Vec<f64> = (0..3)
        .map(|_| {
            positions.clear();
            per_fit.clear();
            let t = Instant::now();
            for c in &cutouts {
                let t1 = Instant::now();
                let f = centroid_2dg(c.view(), false).unwrap();
                per_fit.push(t1.elapsed().as_secs_f64());
                positions.push([f.x, f.y]);
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    let per_fit_median = median(per_fit.clone());
    let out = serde_json::json!({
        "detect_4096_s": median(detect_s), "n_detected": n_detected,
        "photometry_s": median(phot_s), "n_stars": stars.len(), "n_frames": frames.len(),
        "centroid_2dg_s": median(fit_s), "centroid_2dg_median_per_fit_s": per_fit_median, "n_cutouts": n_cut, "positions": positions,
    });
    println!("{out}");
}
