//! `skycomb imcombine` against the real IRAF 2.17: every case of tests/data/iraf/cases.json (made by
//! run_iraf.py with irafcl) parsed from IRAF's own words and compared with IRAF's image, sigma image
//! and number-rejected mask: 1e-6 relative on float or scaled data, exact on unscaled integer data;
//! where IRAF wrote a rejection mask (a plane per input) or an exposure mask, the files
//! `skycomb imcombine` writes equal them exactly.

use serde_json::Value as Json;
use skycomb::combine::iraf_params::{ImcombineCall, parse_imcombine};
use skycomb::combine::*;
use std::path::{Path, PathBuf};

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iraf")
}

fn cases() -> Vec<Json> {
    let text = std::fs::read_to_string(base().join("cases.json")).unwrap();
    serde_json::from_str::<Json>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The case's IRAF words with its files made absolute (IRAF ran in tests/data/iraf).
fn words(case: &Json) -> Vec<String> {
    let b = base();
    let list = std::fs::read_to_string(b.join(case["list"].as_str().unwrap())).unwrap();
    let mut w: Vec<String> = list
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| b.join(l.trim()).display().to_string())
        .collect();
    w.push("out.fits".into());
    for p in case["params"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        let (name, value) = p.split_once('=').unwrap();
        let value = value.trim_matches('"');
        let value = match value.strip_prefix('@') {
            Some(f) => format!("@{}", b.join(f).display()),
            None => value.to_string(),
        };
        w.push(format!("{name}={value}"));
    }
    w
}

fn read(rel: &str) -> (ndarray::Array2<f32>, bool) {
    let f = skycomb::Frame::open(&base().join(rel)).unwrap();
    (f.data, false)
}

/// Whether the case's inputs are integers (exact comparison): BITPIX > 0 in the first input.
fn integer_inputs(case: &Json) -> bool {
    let b = base();
    let list = std::fs::read_to_string(b.join(case["list"].as_str().unwrap())).unwrap();
    let first = b.join(list.lines().next().unwrap().trim());
    skycomb::Frame::open(&first).unwrap().source.unwrap().bitpix > 0
}

/// The worst relative difference (NaN counts as a mismatch).
fn worst(ours: &ndarray::Array2<f32>, theirs: &ndarray::Array2<f32>) -> (f64, (usize, usize)) {
    let mut w = (0.0f64, (0, 0));
    for ((yx, a), b) in ours.indexed_iter().zip(theirs.iter()) {
        let (a, b) = (*a as f64, *b as f64);
        let d = if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs().max(1.0)
        };
        let d = if d.is_nan() { f64::INFINITY } else { d };
        if d > w.0 {
            w = (d, yx);
        }
    }
    w
}

/// The integer values and axis lengths of a FITS primary array with BITPIX 8, 16 or 32.
fn read_integers(path: &Path) -> (Vec<i64>, Vec<usize>) {
    let bytes = std::fs::read(path).unwrap();
    let (mut bitpix, mut axes, mut at) = (0i64, Vec::new(), 0);
    loop {
        let card = String::from_utf8_lossy(&bytes[at..at + 80]).into_owned();
        at += 80;
        let value = || {
            card[10..]
                .split('/')
                .next()
                .unwrap()
                .trim()
                .parse::<i64>()
                .unwrap()
        };
        match card[..8].trim() {
            "BITPIX" => bitpix = value(),
            k if k.starts_with("NAXIS") && k.len() > 5 => axes.push(value() as usize),
            "END" => break,
            _ => {}
        }
    }
    let data = &bytes[at.div_ceil(2880) * 2880..];
    let n: usize = axes.iter().product();
    let values = (0..n)
        .map(|i| match bitpix {
            8 => data[i] as i64,
            16 => i16::from_be_bytes([data[2 * i], data[2 * i + 1]]) as i64,
            32 => i32::from_be_bytes(data[4 * i..4 * i + 4].try_into().unwrap()) as i64,
            b => panic!("{}: BITPIX {b}", path.display()),
        })
        .collect();
    (values, axes)
}

/// The case's masks written by `combine_to_files` (IRAF's rejmasks= and expmasks=) against IRAF's.
fn compare_masks(case: &Json, call: &ImcombineCall, inputs: &[&dyn StackInput]) -> Vec<String> {
    let outs = &case["outputs"];
    if !outs["rej"].is_string() && !outs["exp"].is_string() {
        return Vec::new();
    }
    let dir = tempfile::tempdir().unwrap();
    let paths = OutputPaths {
        image: dir.path().join("out.fits"),
        rejection_masks: Some(dir.path().join("rej.fits")),
        exposure_mask: Some(dir.path().join("exp.fits")),
        exposure_keyword: call.expname.clone(),
        ..Default::default()
    };
    let progress = skycomb::progress::Progress::new();
    combine_to_files(inputs, &call.params, &paths, &progress).unwrap();
    let mut failures = Vec::new();
    for (key, ours) in [("rej", "rej.fits"), ("exp", "exp.fits")] {
        let Some(theirs) = outs[key].as_str() else {
            continue;
        };
        let (a, a_axes) = read_integers(&dir.path().join(ours));
        let (b, b_axes) = read_integers(&base().join(theirs));
        if a_axes != b_axes {
            failures.push(format!("{key} mask: axes {a_axes:?}, IRAF {b_axes:?}"));
        } else if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
            let differ = (0..a.len()).filter(|&i| a[i] != b[i]).count();
            failures.push(format!(
                "{key} mask: {differ} values differ, first at {i}: ours {} IRAF {}",
                a[i], b[i]
            ));
        }
    }
    failures
}

#[test]
fn every_iraf_case_is_reproduced() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() > 200, "{} cases", all.len());
    for case in &all {
        let name = case["name"].as_str().unwrap();
        let call = match parse_imcombine(&words(case)) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: refused: {e}"));
                continue;
            }
        };
        let inputs: Vec<FileInput> = call
            .inputs
            .iter()
            .map(|p| FileInput::open(p).unwrap())
            .collect();
        let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
        let mut params = call.params.clone();
        params.sigma_map = case["outputs"]["sigma"].is_string();
        let r = combine_in_memory(&refs, &params, None).unwrap();
        // integers stay integers unless scaled: then float32 rounding, as on float data
        let unscaled = params.scale == Scale::None
            && params.zero == Zero::None
            && !matches!(params.method, Method::Quadrature | Method::NoiseModel);
        let tol = if integer_inputs(case) && unscaled {
            0.0
        } else {
            1e-6
        };
        let outs = &case["outputs"];
        let (image, _) = read(outs["image"].as_str().unwrap());
        let (d, at) = worst(&r.image, &image);
        if d > tol {
            failures.push(format!(
                "{name}: image {d:.2e} at (y,x)={at:?}: ours {} IRAF {}",
                r.image[at], image[at]
            ));
        }
        if let Some(s) = outs["sigma"].as_str() {
            let (sigma, _) = read(s);
            let ours = r.sigma.as_ref().unwrap();
            let (d, at) = worst(ours, &sigma);
            if d > 1e-5 {
                failures.push(format!(
                    "{name}: sigma {d:.2e} at {at:?}: ours {} IRAF {}",
                    ours[at], sigma[at]
                ));
            }
        }
        for f in compare_masks(case, &call, &refs) {
            failures.push(format!("{name}: {f}"));
        }
        if let Some(nr) = outs["nrej"].as_str() {
            let (nrej, _) = read(nr);
            let (d, at) = worst(&r.rejected, &nrej);
            if d > 0.0 {
                failures.push(format!(
                    "{name}: nrej at {at:?}: ours {} IRAF {}",
                    r.rejected[at], nrej[at]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// `combine --compat iraf` with skycomb's flags is the same engine as `imcombine` with IRAF's words.
#[test]
fn compat_iraf_flags_give_what_imcombine_gives() {
    use skycomb::recipe::{CombineOptions, CompatArg};
    let b = base();
    let list = std::fs::read_to_string(b.join("inputs/f7.lis")).unwrap();
    let files: Vec<PathBuf> = list.lines().map(|l| b.join(l.trim())).collect();
    let inputs: Vec<FileInput> = files.iter().map(|p| FileInput::open(p).unwrap()).collect();
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let names: Vec<String> = inputs.iter().map(|i| i.name()).collect();
    let run = |p: &CombineParams| combine_in_memory(&refs, p, None).unwrap().image;
    type Flags = fn(&mut CombineOptions);
    let pairs: [(&str, Flags); 5] = [
        ("reject=sigclip lsigma=2 hsigma=2 nkeep=0", |o| {
            o.sigma_low = Some(2.0);
            o.dev = Some(skycomb::recipe::DevArg::Std);
        }),
        ("reject=avsigclip mclip=no lsigma=2 hsigma=2 nkeep=1", |o| {
            o.avsigclip = true;
            o.sigma_low = Some(2.0);
            o.center = Some(skycomb::recipe::CentreArg::Mean);
            o.nkeep = 1;
        }),
        ("reject=crreject gain=GAIN rdnoise=RDNOISE nkeep=0", |o| {
            o.crreject = true
        }),
        ("reject=pclip pclip=-0.3 nkeep=0 combine=median", |o| {
            o.pclip = Some(-0.3);
            o.method = skycomb::recipe::MethodArg::Median;
        }),
        ("reject=minmax nlow=1 nhigh=2 scale=median zero=mode", |o| {
            o.nlow = 1;
            o.nhigh = 2;
            o.scale = "inv-median".into();
            o.zero = "mode".into();
        }),
    ];
    for (words, flags) in pairs {
        let mut w: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        w.push("out.fits".into());
        w.extend(words.split_whitespace().map(String::from));
        let iraf = parse_imcombine(&w).unwrap().params;
        let mut o = CombineOptions {
            compat: Some(CompatArg::Iraf),
            ..Default::default()
        };
        flags(&mut o);
        let ours = o.params(&names, inputs[0].header()).unwrap();
        let (a, b) = (run(&iraf), run(&ours));
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{words}: the flags differ from imcombine"
        );
    }
}
