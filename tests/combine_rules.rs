//! Every rejection rule, scaling and weighting on tiny stacks with obvious answers, ccdproc's quirks
//! (../shared/oracle/quirks.json) in --compat ccdproc, and results independent of bands and threads.

mod common;

use ndarray::Array2;
use skycomb::combine::*;
use skycomb::fits::Header;
use skycomb::stats::Centre;

/// One 1x1 frame per value.
fn stack(values: &[f64]) -> Vec<MemoryInput> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| MemoryInput {
            name: format!("f{i}"),
            data: Array2::from_elem((1, 1), v as f32),
            header: Header::default(),
        })
        .collect()
}

fn run(values: &[f64], p: &CombineParams) -> (f64, f32, CombineSummary) {
    let s = stack(values);
    let refs: Vec<&dyn StackInput> = s.iter().map(|m| m as &dyn StackInput).collect();
    let r = combine_in_memory(&refs, p, None).unwrap();
    (r.image[[0, 0]] as f64, r.npix[[0, 0]], r.summary)
}

fn sigma(
    low: f64,
    high: f64,
    centre: Centre,
    spread: Spread,
    iters: Option<usize>,
) -> Option<SigmaRule> {
    Some(SigmaRule {
        low,
        high,
        centre,
        spread,
        max_iterations: iters,
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn methods_and_even_median() {
    let p = |m| CombineParams {
        method: m,
        ..Default::default()
    };
    assert!(close(
        run(&[1.0, 2.0, 3.0, 10.0], &p(Method::Average)).0,
        4.0
    ));
    assert!(close(
        run(&[1.0, 2.0, 3.0, 10.0], &p(Method::Median)).0,
        2.5
    ));
    assert!(close(run(&[1.0, 2.0, 3.0, 10.0], &p(Method::Sum)).0, 16.0));
}

#[test]
fn nan_never_poisons_and_all_rejected_is_blank_and_counted() {
    let p = CombineParams::default();
    let (v, n, s) = run(&[1.0, f64::NAN, 3.0], &p);
    assert_eq!((v, n), (2.0, 2.0));
    assert_eq!(s.missing_per_frame, vec![0, 1, 0]);
    let p = CombineParams {
        rejection: Rejection {
            max_clip: Some(0.0),
            ..Default::default()
        },
        ..Default::default()
    };
    let (v, n, s) = run(&[1.0, 2.0], &p);
    assert!(v.is_nan() && n == 0.0 && s.blank_pixels == 1);
    let p = CombineParams { blank: -1.0, ..p };
    assert_eq!(run(&[1.0, 2.0], &p).0, -1.0);
}

#[test]
fn thresholds_then_extrema_as_fractions_of_the_values_left() {
    let r = Rejection {
        max_clip: Some(50.0),
        nlow: 1,
        nhigh: 1,
        ..Default::default()
    };
    // 100 goes to the threshold; nlow = nhigh = 1 of 5 frames is 1/5 of the 4 values left: none
    // (IRAF: int(4/5 + 0.001) = 0)
    let (v, n, s) = run(
        &[1.0, 2.0, 3.0, 4.0, 100.0],
        &CombineParams {
            rejection: r.clone(),
            ..Default::default()
        },
    );
    assert_eq!((v, n), (2.5, 4.0));
    assert_eq!(
        (s.rejected_per_rule.threshold, s.rejected_per_rule.extrema),
        (1, 0)
    );
    // with every value present the counts are whole: among 1,2,3,4,5 the extrema are 1 and 5
    let (v, n, s) = run(
        &[1.0, 2.0, 3.0, 4.0, 5.0],
        &CombineParams {
            rejection: r,
            ..Default::default()
        },
    );
    assert_eq!((v, n, s.rejected_per_rule.extrema), (3.0, 3.0, 2));
}

#[test]
fn sigma_clip_iterates_to_convergence_or_stops_after_max_iterations() {
    let values = [10.0, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98, 10.03, 11.5, 50.0];
    let one = CombineParams {
        rejection: Rejection {
            sigma: sigma(2.5, 2.5, Centre::Mean, Spread::Std, Some(1)),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(
        close(run(&values, &one).0, 10.17),
        "quirks.json: mean after one pass"
    );
    let conv = CombineParams {
        rejection: Rejection {
            sigma: sigma(2.5, 2.5, Centre::Mean, Spread::Std, None),
            ..Default::default()
        },
        ..Default::default()
    };
    let (v, n, _) = run(&values, &conv);
    assert!(
        close(v, 10.00375) && n == 8.0,
        "quirks.json: mean after convergence {v}"
    );
}

#[test]
fn zero_mad_rejects_everything_but_the_median_and_nkeep_brings_values_back() {
    let p = CombineParams {
        rejection: Rejection {
            sigma: sigma(5.0, 5.0, Centre::Median, Spread::MadStd, Some(1)),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        run(&[5.0, 5.0, 5.0, 6.0, 7.0], &p).0,
        5.0,
        "quirks.json zero_mad_strict_bounds"
    );
    let keep = CombineParams {
        rejection: Rejection {
            nkeep: skycomb::combine::Keep::AtLeast(4),
            ..p.rejection.clone()
        },
        ..p.clone()
    };
    let (v, n, _) = run(&[5.0, 5.0, 5.0, 6.0, 7.0], &keep);
    assert_eq!(
        (v, n),
        (5.25, 4.0),
        "the nearest rejected value (6) comes back"
    );
}

#[test]
fn percentile_and_ccd_noise_clipping() {
    let values = [100.0, 101.0, 99.0, 100.5, 99.5, 180.0];
    let pclip = CombineParams {
        rejection: Rejection {
            sigma: sigma(3.0, 3.0, Centre::Median, Spread::Percentile(-0.5), None),
            ..Default::default()
        },
        ..Default::default()
    };
    let (v, n, _) = run(&values, &pclip);
    assert!(n == 5.0 && close(v, 100.0), "pclip drops 180: {v} {n}");
    // noise model: gain 1, read noise 0 -> sigma = sqrt(100) = 10 ADU around 100; 3 sigma keeps 125, drops 180
    let ccd = CombineParams {
        rejection: Rejection {
            sigma: sigma(
                3.0,
                3.0,
                Centre::Median,
                Spread::CcdNoise {
                    gain_e_per_adu: 1.0,
                    read_noise_e: 0.0,
                    sensitivity_noise: 0.0,
                },
                None,
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    let (v, n, _) = run(&[100.0, 110.0, 90.0, 125.0, 180.0], &ccd);
    assert!(n == 4.0 && close(v, 106.25), "{v} {n}");
}

#[test]
fn scaling_zero_and_weights() {
    let s = stack(&[2.0, 4.0]);
    let refs: Vec<&dyn StackInput> = s.iter().map(|m| m as &dyn StackInput).collect();
    let inv = CombineParams {
        scale: Scale::InvMedian,
        ..Default::default()
    };
    let r = combine_in_memory(&refs, &inv, None).unwrap();
    assert_eq!(
        (r.image[[0, 0]], r.summary.scale.clone()),
        (1.0, vec![0.5, 0.25])
    );
    let zero = CombineParams {
        zero: Zero::Median,
        ..Default::default()
    };
    let r = combine_in_memory(&refs, &zero, None).unwrap();
    assert_eq!(
        (r.image[[0, 0]], r.summary.zero.clone()),
        (3.0, vec![1.0, -1.0])
    );
    let given = CombineParams {
        scale: Scale::Given(vec![2.0, 1.0]),
        ..Default::default()
    };
    assert_eq!(
        combine_in_memory(&refs, &given, None).unwrap().image[[0, 0]],
        4.0
    );
    let w = CombineParams {
        weights: Weights::Given(vec![1.0, 3.0]),
        ..Default::default()
    };
    assert_eq!(
        combine_in_memory(&refs, &w, None).unwrap().image[[0, 0]],
        3.5
    );
    let bad = CombineParams {
        weights: Weights::Given(vec![1.0]),
        ..Default::default()
    };
    assert!(
        combine_in_memory(&refs, &bad, None)
            .err()
            .unwrap()
            .to_string()
            .contains("1 values given for 2 frames")
    );
}

#[test]
fn exptime_scaling_reads_the_header() {
    let mut s = stack(&[10.0, 40.0]);
    s[0].header
        .set("EXPTIME", skycomb::fits::Value::Float(10.0), "");
    s[1].header
        .set("EXPTIME", skycomb::fits::Value::Float(40.0), "");
    let refs: Vec<&dyn StackInput> = s.iter().map(|m| m as &dyn StackInput).collect();
    let p = CombineParams {
        scale: Scale::Exptime("EXPTIME".into()),
        ..Default::default()
    };
    let r = combine_in_memory(&refs, &p, None).unwrap();
    assert_eq!(
        r.image[[0, 0]],
        25.0,
        "both scaled to the mean exposure, 25 s"
    );
    s[1].header.remove("EXPTIME");
    let refs: Vec<&dyn StackInput> = s.iter().map(|m| m as &dyn StackInput).collect();
    let e = combine_in_memory(&refs, &p, None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("f1") && e.contains("EXPTIME"), "{e}");
}

// ---------------------------------------------------------------- ccdproc's quirks, reproduced in compat mode

fn compat(r: Rejection) -> CombineParams {
    CombineParams {
        rejection: r,
        semantics: Semantics::Ccdproc,
        ..Default::default()
    }
}

#[test]
fn ccdproc_weights_keep_rejected_frames_in_the_denominator_issue_893() {
    let r = Rejection {
        max_clip: Some(3.5),
        ..Default::default()
    };
    let w = Weights::Given(vec![1.0, 2.0, 3.0, 4.0]);
    let ccd = CombineParams {
        weights: w.clone(),
        ..compat(r.clone())
    };
    assert!(
        close(run(&[1.0, 2.0, 3.0, 4.0], &ccd).0, 1.4),
        "quirks.json weighted_with_value4_masked"
    );
    let iraf = CombineParams {
        weights: w,
        rejection: r,
        ..Default::default()
    };
    assert!(
        close(run(&[1.0, 2.0, 3.0, 4.0], &iraf).0, 14.0 / 6.0),
        "renormalised over survivors"
    );
}

#[test]
fn ccdproc_extrema_count_masked_and_nan_values() {
    let r = Rejection {
        nlow: 1,
        nhigh: 1,
        ..Default::default()
    };
    // NaN sorts highest and takes the nhigh slot: 1 and NaN go, mean of 2,3,4 = 3 (IRAF: 2,3 -> 2.5)
    assert!(close(
        run(&[1.0, 2.0, 3.0, 4.0, f64::NAN], &compat(r.clone())).0,
        3.0
    ));
    assert!(close(
        run(
            &[1.0, 2.0, 3.0, 4.0, f64::NAN],
            &CombineParams {
                rejection: r,
                ..Default::default()
            }
        )
        .0,
        2.5
    ));
}

#[test]
fn ccdproc_sigma_clip_ignores_earlier_masks_and_scaling() {
    let values = [
        10.0, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98, 10.03, 10.01, 9.97, 10.04, 11.0, 1000.0,
    ];
    let r = Rejection {
        max_clip: Some(500.0),
        sigma: sigma(3.0, 3.0, Centre::Mean, Spread::Std, Some(1)),
        ..Default::default()
    };
    assert!(
        close(run(&values, &compat(r.clone())).0, 10.0875),
        "the masked 1000 inflates std so 11.0 survives"
    );
    assert!(close(
        run(
            &values,
            &CombineParams {
                rejection: r,
                ..Default::default()
            }
        )
        .0,
        10.004545454545456
    ));
    // 5 sigma with mean/std cannot reject anything for N <= 26
    let five = Rejection {
        sigma: sigma(5.0, 5.0, Centre::Mean, Spread::Std, Some(1)),
        ..Default::default()
    };
    assert!(close(
        run(&[0.0, 0.0, 0.0, 0.0, 1e6], &compat(five)).0,
        200000.0
    ));
}

#[test]
fn ccdproc_all_rejected_sum_is_zero_and_nan_input_blocks_guide_sigma_clip() {
    let r = Rejection {
        nlow: 2,
        nhigh: 2,
        ..Default::default()
    };
    let sum = CombineParams {
        method: Method::Sum,
        ..compat(r.clone())
    };
    assert_eq!(run(&[1.0, 2.0, 3.0, 4.0], &sum).0, 0.0);
    assert!(run(&[1.0, 2.0, 3.0, 4.0], &compat(r)).0.is_nan());
    let guide = Rejection {
        sigma: sigma(3.0, 3.0, Centre::Median, Spread::MadStd, Some(1)),
        ..Default::default()
    };
    let v = run(
        &[10.0, 10.2, f64::NAN, 9.9, 10.1, 9.8, 10.05, 500.0],
        &compat(guide),
    )
    .0;
    assert!(
        close(v, 80.00714285714285),
        "quirks.json: the guide recipe rejects nothing when a NaN is present: {v}"
    );
}

// ---------------------------------------------------------------- bands and threads

fn noisy_stack(n: usize, ny: usize, nx: usize) -> Vec<MemoryInput> {
    let mut state = 12345u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10000) as f32 / 100.0
    };
    (0..n)
        .map(|i| {
            let mut data = Array2::from_shape_fn((ny, nx), |_| 1000.0 + next());
            data[[(i * 7) % ny, (i * 13) % nx]] = 60000.0; // cosmic rays
            data[[(i * 3) % ny, (i * 5) % nx]] = f32::NAN;
            common::memory_frame(i, data)
        })
        .collect()
}

#[test]
fn results_do_not_depend_on_band_size_or_thread_count() {
    let frames = noisy_stack(7, 37, 23);
    let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
    for p in [
        CombineParams {
            rejection: Rejection {
                sigma: sigma(3.0, 3.0, Centre::Median, Spread::MadStd, None),
                grow_radius_px: 1.5,
                nkeep: skycomb::combine::Keep::AtLeast(2),
                ..Default::default()
            },
            scale: Scale::InvMedian,
            sigma_map: true,
            ..Default::default()
        },
        CombineParams {
            method: Method::Median,
            rejection: Rejection {
                nlow: 1,
                nhigh: 1,
                ..Default::default()
            },
            zero: Zero::Mean,
            ..Default::default()
        },
        CombineParams {
            rejection: Rejection {
                min_clip: Some(0.0),
                max_clip: Some(50000.0),
                nlow: 1,
                nhigh: 1,
                sigma: sigma(3.0, 3.0, Centre::Median, Spread::MadStd, Some(1)),
                ..Default::default()
            },
            scale: Scale::InvMedian,
            semantics: Semantics::Ccdproc,
            ..Default::default()
        },
    ] {
        let whole = combine_in_memory(&refs, &p, Some(1000)).unwrap();
        for rows in [1, 2, 5, 36] {
            let banded = combine_in_memory(&refs, &p, Some(rows)).unwrap();
            let same = |a: &Array2<f32>, b: &Array2<f32>| {
                a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits())
            };
            assert!(
                same(&whole.image, &banded.image)
                    && same(&whole.npix, &banded.npix)
                    && same(&whole.rejected, &banded.rejected),
                "band {rows} differs for {p:?}"
            );
            assert_eq!(
                whole.summary.rejected_per_frame,
                banded.summary.rejected_per_frame
            );
        }
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let serial = one_thread.install(|| combine_in_memory(&refs, &p, Some(4)).unwrap());
        assert!(
            serial
                .image
                .iter()
                .zip(whole.image.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "threads change the result"
        );
        assert!(
            whole.summary.rejected_per_rule.sigma + whole.summary.rejected_per_rule.extrema > 0,
            "the test stack must exercise rejection"
        );
    }
}

#[test]
fn grow_rejects_the_neighbours_of_a_rejected_pixel() {
    let frames: Vec<MemoryInput> = (0..5)
        .map(|i| {
            let mut data = Array2::from_elem((7, 7), 100.0 + i as f32 * 0.1);
            if i == 0 {
                data[[3, 3]] = 10000.0;
            }
            MemoryInput {
                name: format!("f{i}"),
                data,
                header: Header::default(),
            }
        })
        .collect();
    let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
    let p = CombineParams {
        rejection: Rejection {
            sigma: sigma(3.0, 3.0, Centre::Median, Spread::MadStd, None),
            grow_radius_px: 1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let r = combine_in_memory(&refs, &p, Some(2)).unwrap();
    assert_eq!(r.npix[[3, 3]], 4.0);
    assert_eq!(
        (r.npix[[2, 3]], r.npix[[3, 4]], r.npix[[2, 2]]),
        (4.0, 4.0, 5.0),
        "radius 1: the 4 edge neighbours, not the corners"
    );
    assert_eq!(r.summary.rejected_per_rule.grow, 4);
}

#[test]
fn the_eight_pixel_lanes_equal_the_scalar_kernel_bit_for_bit() {
    let mut exercised = 0;
    for n in [3, 4, 5, 7, 10, 16, 23] {
        let frames = noisy_stack(n, 9, 45);
        let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
        for semantics in [Semantics::Ccdproc, Semantics::Skycomb] {
            for (centre, spread) in [
                (Centre::Median, Spread::MadStd),
                (Centre::Mean, Spread::Std),
                (Centre::Median, Spread::Std),
            ] {
                for method in [Method::Average, Method::Sum] {
                    let iters = if semantics == Semantics::Ccdproc {
                        Some(1)
                    } else {
                        None
                    };
                    let base = CombineParams {
                        method,
                        semantics,
                        scale: Scale::InvMedian,
                        rejection: Rejection {
                            sigma: sigma(2.0, 2.0, centre, spread, iters),
                            ..Default::default()
                        },
                        ..Default::default()
                    };
                    let fast = combine_in_memory(&refs, &base, None).unwrap();
                    let portable = combine_in_memory(
                        &refs,
                        &CombineParams {
                            portable_lanes: true,
                            ..base.clone()
                        },
                        None,
                    )
                    .unwrap();
                    let scalar = combine_in_memory(
                        &refs,
                        &CombineParams {
                            scalar_only: true,
                            ..base.clone()
                        },
                        None,
                    )
                    .unwrap();
                    for (name, other) in [("portable", &portable), ("scalar", &scalar)] {
                        let same = |a: &Array2<f32>, b: &Array2<f32>| {
                            a.iter()
                                .zip(b.iter())
                                .all(|(x, y)| x.to_bits() == y.to_bits())
                        };
                        assert!(
                            same(&fast.image, &other.image)
                                && same(&fast.npix, &other.npix)
                                && same(&fast.rejected, &other.rejected),
                            "n {n} {semantics:?} {centre:?} {spread:?} {method:?}: lanes differ from {name}"
                        );
                        assert_eq!(
                            fast.summary.rejected_per_frame,
                            other.summary.rejected_per_frame
                        );
                    }
                    exercised += scalar.summary.rejected_per_rule.sigma;
                }
            }
        }
    }
    assert!(
        exercised > 1000,
        "the stacks must exercise rejection: {exercised}"
    );
}

#[test]
fn weights_from_a_keyword_and_statistics_over_a_section() {
    let mut frames: Vec<MemoryInput> = [1.0f32, 3.0]
        .iter()
        .map(|&v| {
            let mut data = Array2::from_elem((4, 4), v);
            data[[0, 0]] = 1000.0; // outside the statistics section
            MemoryInput {
                name: format!("f{v}"),
                data,
                header: Header::default(),
            }
        })
        .collect();
    frames[0]
        .header
        .set("WEIGHT", skycomb::fits::Value::Float(1.0), "");
    frames[1]
        .header
        .set("WEIGHT", skycomb::fits::Value::Float(3.0), "");
    let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
    let w = CombineParams {
        weights: Weights::Keyword("WEIGHT".into()),
        ..Default::default()
    };
    assert_eq!(
        combine_in_memory(&refs, &w, None).unwrap().image[[1, 1]],
        2.5
    );
    let whole = CombineParams {
        scale: Scale::InvMean,
        ..Default::default()
    };
    let section = CombineParams {
        stat_section: Some(skycomb::fits::Section::parse("[2:4,2:4]").unwrap()),
        ..whole.clone()
    };
    assert_eq!(
        combine_in_memory(&refs, &section, None)
            .unwrap()
            .summary
            .scale,
        vec![1.0, 1.0 / 3.0]
    );
    let s = combine_in_memory(&refs, &whole, None)
        .unwrap()
        .summary
        .scale;
    assert!(
        (s[0] - 16.0 / (1000.0 + 15.0)).abs() < 1e-12,
        "the whole frame includes the 1000: {s:?}"
    );
    frames[1].header.remove("WEIGHT");
    let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
    let e = combine_in_memory(&refs, &w, None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("f3") && e.contains("WEIGHT"), "{e}");
}

/// A sigma-type rule alone, skycomb's semantics, with nkeep.
fn with_rule(spread: Spread, low: f64, high: f64, nkeep: Keep) -> CombineParams {
    let mut p = common::median_clip(spread, low, high);
    p.rejection.nkeep = nkeep;
    p
}

fn ccd(gain: f64, read_noise: f64) -> Spread {
    Spread::CcdNoise {
        gain_e_per_adu: gain,
        read_noise_e: read_noise,
        sensitivity_noise: 0.0,
    }
}

#[test]
fn pclip_of_a_small_fraction_is_one_value_away_and_a_zero_spread_rejects_nothing() {
    // the step rounded to 0 made the spread 0 and rejected all but the median (IRAF: 118)
    let p = with_rule(Spread::Percentile(-0.05), 3.0, 3.0, Keep::AtLeast(0));
    let (v, n, _) = run(&[100., 120., 120., 120., 130.], &p);
    assert_eq!((v, n), (118.0, 5.0));
    // one value below the median is 100 for these: spread 20, nothing beyond 3 spreads
    let (v, n, _) = run(&[100., 110., 120., 125., 130.], &p);
    assert_eq!((v, n), (117.0, 5.0));
}

#[test]
fn ccdclip_removes_the_cosmic_ray_of_a_pair() {
    // gain 2, read noise 5: sigma at the median 3000 is 39 ADU; crreject (no lower bound) keeps
    // 1000 and drops 5000
    let p = with_rule(ccd(2.0, 5.0), f64::INFINITY, 3.0, Keep::AtLeast(0));
    let (v, n, s) = run(&[1000., 5000.], &p);
    assert_eq!((v, n, s.rejected_per_rule.sigma), (1000.0, 1.0, 1));
}

#[test]
fn nkeep_brings_back_values_at_equal_distance_together() {
    // gain 1, read noise 0: median 1200, sigma 34.6; all four are beyond 3 sigma; nkeep 1 brings
    // back 1090 and 1310 (both 110 away) together, as IRAF does: 1200, not 1090
    let p = with_rule(ccd(1.0, 0.0), 3.0, 3.0, Keep::AtLeast(1));
    let (v, n, _) = run(&[1000., 1090., 1310., 1400.], &p);
    assert_eq!((v, n), (1200.0, 2.0));
}

#[test]
fn extrema_after_thresholds_leave_the_pair_when_fractions_round_down() {
    // the threshold leaves 1000 and 1010; nlow = nhigh = 1 of 3 frames is none of 2 (IRAF: 1005)
    let p = CombineParams {
        rejection: Rejection {
            max_clip: Some(2500.0),
            nlow: 1,
            nhigh: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let (v, n, _) = run(&[1000., 1010., 3000.], &p);
    assert_eq!((v, n), (1005.0, 2.0));
}

#[test]
fn siril_rules_reject_the_obvious_outliers_on_tiny_stacks() {
    let values = [10.0, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98, 10.03, 9.97, 50.0];
    let clean_mean = values[..9].iter().sum::<f64>() / 9.0;
    for spread in [Spread::Winsorized, Spread::LinearFit] {
        let (v, n, _) = run(&values, &with_rule(spread, 3.0, 3.0, Keep::AtLeast(0)));
        assert_eq!(n, 9.0, "{spread:?}");
        assert!((v - clean_mean).abs() < 1e-5, "{spread:?}: {v}");
    }
    let gesd = Spread::Gesd {
        max_outliers: 0.3,
        alpha: 0.05,
    };
    let mut two = values;
    two[0] = -30.0;
    let (v, n, _) = run(&two, &with_rule(gesd, 1.0, 1.0, Keep::AtLeast(0)));
    assert_eq!(n, 8.0);
    assert!(
        (v - two[1..9].iter().sum::<f64>() / 8.0).abs() < 1e-5,
        "{v}"
    );
    // a clean stack keeps everything
    let (_, n, _) = run(&values[..9], &with_rule(gesd, 1.0, 1.0, Keep::AtLeast(0)));
    assert_eq!(n, 9.0);
}

/// Two frames, one twice the other plus 5 with twice its noise: normalisations and noise weights.
#[test]
fn normalisations_bring_frames_to_the_first_and_noise_weights_follow_the_noise() {
    let mut rng = 7u64;
    let mut noise = || {
        // a small deterministic generator: uniform steps summed to something Gaussian-like
        (0..12)
            .map(|_| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (rng >> 11) as f64 / (1u64 << 53) as f64
            })
            .sum::<f64>()
            - 6.0
    };
    let a: Vec<f32> = (0..4096).map(|_| (100.0 + noise()) as f32).collect();
    let b: Vec<f32> = a.iter().map(|x| 2.0 * x + 5.0).collect();
    let frames = [a, b]
        .into_iter()
        .enumerate()
        .map(|(i, v)| MemoryInput {
            name: format!("f{i}"),
            data: Array2::from_shape_vec((64, 64), v).unwrap(),
            header: Header::default(),
        })
        .collect::<Vec<_>>();
    let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
    let p = CombineParams {
        scale: Scale::Normalise(Normalisation::AddScale),
        weights: Weights::InverseNoise,
        ..Default::default()
    };
    let r = combine_in_memory(&refs, &p, None).unwrap();
    let s = &r.summary;
    assert!((s.scale[1] - 0.5).abs() < 1e-6, "{:?}", s.scale);
    let w = s.weights.as_ref().unwrap();
    // after scaling both have the same noise: equal weights
    assert!((w[0] - w[1]).abs() < 1e-6, "{w:?}");
    for (x, y) in r.image.iter().zip(frames[0].data.iter()) {
        assert!((x - y).abs() < 1e-3, "{x} {y}");
    }
    // without scaling the second frame is twice as noisy: a quarter of the weight
    let p = CombineParams {
        weights: Weights::InverseNoise,
        ..Default::default()
    };
    let w = combine_in_memory(&refs, &p, None)
        .unwrap()
        .summary
        .weights
        .unwrap();
    assert!((w[1] / w[0] - 0.25).abs() < 1e-6, "{w:?}");
}

/// Five 48x48 frames of Gaussian noise (sigma 10 about 1000); pixel (20, 20) gets `values`.
fn noisy_frames(values: [f64; 5]) -> Vec<MemoryInput> {
    let mut rng = skycomb::sample::Rng::new(5);
    (0..5)
        .map(|i| {
            let mut data = Array2::from_shape_fn((48, 48), |_| rng.normal(1000.0, 10.0) as f32);
            data[[20, 20]] = values[i] as f32;
            common::memory_frame(i, data)
        })
        .collect()
}

/// The default clip's value and npix at the pixel of `noisy_frames` that holds `values`.
fn default_clip_at(values: [f64; 5]) -> (f32, f32) {
    let p = CombineParams {
        rejection: Rejection {
            sigma: Some(SigmaRule::default_clip()),
            ..Default::default()
        },
        ..Default::default()
    };
    let frames = noisy_frames(values);
    let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
    let r = combine_in_memory(&refs, &p, None).unwrap();
    (r.image[[20, 20]], r.npix[[20, 20]])
}

#[test]
fn the_default_clip_never_uses_a_spread_below_the_background_noise() {
    let at = default_clip_at;
    // four values agree within 1.5 ADU: their MAD (0.7 ADU) would reject 1028; the floor (the
    // frames' noise, 10 ADU) keeps it at 2.7 sigma
    let (v, n) = at([1000.0, 1000.5, 1001.0, 1001.5, 1028.0]);
    assert_eq!(n, 5.0);
    assert!((v - 1006.2).abs() < 1e-3, "{v}");
    // and a cosmic ray of 5 sigma goes
    let (v, n) = at([1000.0, 1000.5, 1001.0, 1001.5, 1050.0]);
    assert_eq!((v, n), (1000.75, 4.0));
}

#[test]
fn at_sky_level_two_hits_among_five_values_cannot_swell_the_default_clips_spread() {
    let at = default_clip_at;
    // sky 1000, noise 10: a -2.4 sigma value and two hits (+8 and +13.7 sigma) make a MAD of 3.9
    // sigma, which would keep both hits; at sky level the spread stops at 1.5 times the noise
    let (v, n) = at([976.0, 1137.0, 1013.0, 1080.0, 1008.0]);
    assert_eq!(n, 3.0);
    assert!((v - 999.0).abs() < 1e-3, "{v}");
    // the same spread far above the sky (a star whose seeing changed) keeps its own MAD
    let (v, n) = at([5976.0, 6137.0, 6013.0, 6080.0, 6008.0]);
    assert_eq!(n, 5.0);
    assert!((v - 6042.8).abs() < 1e-2, "{v}");
}

#[test]
fn a_stack_without_rejection_flags_gets_the_default_clip_and_combine_gets_none() {
    use skycomb::recipe::{CombineOptions, StackOptions};
    let names = vec!["a".to_string(), "b".to_string()];
    let header = Header::default();
    let plain = CombineOptions::default();
    assert_eq!(
        plain.params(&names, &header).unwrap().rejection,
        Rejection::default()
    );
    let stack = |o: &StackOptions, c: &CombineOptions| {
        o.params(c, &names, &header)
            .unwrap()
            .combine
            .rejection
            .sigma
    };
    let default = StackOptions::default();
    assert_eq!(stack(&default, &plain), Some(SigmaRule::default_clip()));
    let none = StackOptions {
        no_rejection: true,
        ..Default::default()
    };
    assert_eq!(stack(&none, &plain), None);
    let asked = CombineOptions {
        sigma_low: Some(5.0),
        ..Default::default()
    };
    assert_eq!(stack(&default, &asked).unwrap().low, 5.0);
}
