//! The command line as a person uses it: scan (filters, JSON, problems), header, stats, sample-night,
//! and clear messages, never a panic, for bad input.

use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

mod common;
use common::{data, fails_clearly, ok_stdout, skycomb};

fn scan_json(dir: &Path, extra: &[&str]) -> Json {
    let mut args = vec!["scan", dir.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok_stdout(&args)).unwrap()
}

/// "kind filter count" for each group of a `--group-by kind,filter` JSON scan.
fn kind_filter_groups(j: &Json) -> Vec<String> {
    let label = |g: &Json, k: &str| g["labels"][k].as_str().unwrap().to_string();
    j["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{} {} {}",
                label(g, "kind"),
                label(g, "filter"),
                g["files"].as_array().unwrap().len()
            )
        })
        .collect()
}

fn names(j: &Json) -> Vec<String> {
    j["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            Path::new(f["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn scan_lists_m92_with_types_exposures_and_sizes() {
    let j = scan_json(&data("shared/iraf-m92-kpno-1987"), &[]);
    let files = j["files"].as_array().unwrap();
    assert_eq!(files.len(), 7);
    assert!(j["problems"].as_array().unwrap().is_empty());
    let f = &files[1];
    assert_eq!(
        (
            f["IMAGETYP"].as_str(),
            f["kind"].as_str(),
            f["EXPTIME"].as_i64()
        ),
        (Some("DOME FLAT"), Some("flat"), Some(15))
    );
    assert_eq!(
        (
            f["NAXIS1"].as_i64(),
            f["NAXIS2"].as_i64(),
            f["BIASSEC"].as_str()
        ),
        (Some(352), Some(512), Some("[321:352,1:512]"))
    );
    let flats = scan_json(
        &data("shared/iraf-m92-kpno-1987"),
        &["--where", "imagetyp=flat"],
    );
    assert_eq!(names(&flats), vec!["fm920002.fits", "fm920003.fits"]);
    let long = scan_json(
        &data("shared/iraf-m92-kpno-1987"),
        &["--where", "imagetyp=object", "--where", "exptime=120"],
    );
    assert_eq!(names(&long), vec!["fm920006.fits", "fm920007.fits"]);
    // No FILTER key: the filter-bolt positions (FILTERS) stand in, as IRAF's ccdred subsets do.
    let g = scan_json(
        &data("shared/iraf-m92-kpno-1987"),
        &["--group-by", "kind,filter"],
    );
    let groups = kind_filter_groups(&g);
    assert_eq!(
        groups,
        vec![
            "bias 2 0 1",
            "flat 5 0 1",
            "flat 6 0 1",
            "light 5 0 2",
            "light 6 0 2"
        ]
    );
    assert_eq!(
        names(&scan_json(
            &data("shared/iraf-m92-kpno-1987"),
            &["--where", "filter=6 0"]
        )),
        vec!["fm920003.fits", "fm920004.fits", "fm920005.fits"]
    );
}

#[test]
fn scan_feder_headers_filters_by_filter_type_and_missing_keys() {
    let dir = data("shared/feder-headers");
    let all = scan_json(&dir, &["--keywords", "instrume"]);
    assert_eq!(all["files"].as_array().unwrap().len(), 22);
    assert_eq!(
        all["files"][0]["INSTRUME"].as_str(),
        Some("Apogee Aspen CG16M")
    );
    let r = scan_json(&dir, &["--where", "filter=r"]);
    assert_eq!(
        names(&r).len(),
        6,
        "R and r, case-insensitive: {:?}",
        names(&r)
    );
    let b = scan_json(&dir, &["--where", "filter=B"]);
    assert_eq!(
        names(&b),
        vec!["maximdl_5_23_header.fit", "maximdl_6_16_header.fit"]
    );
    let no_filter = scan_json(&dir, &["--where", "imagetyp=light", "--where", "!filter"]);
    assert_eq!(
        names(&no_filter),
        vec![
            "celestron_nightscape_10100_astro_fx_v106.fit",
            "uint16_missing_filter.fit"
        ]
    );
    let darks = scan_json(&dir, &["--where", "imagetyp=dark", "--sort", "-file"]);
    assert_eq!(names(&darks)[0], "darktest5.fit");
    let glob = scan_json(&dir, &["--where", "object=ngc-*"]);
    assert_eq!(names(&glob).len(), 2);
    let csv = ok_stdout(&[
        "scan",
        dir.to_str().unwrap(),
        "--format",
        "csv",
        "--where",
        "kind=bias",
    ]);
    assert_eq!(
        csv.lines().count(),
        7,
        "header + 5 biastest + flattest (IMAGETYP BIAS): {csv}"
    );
    assert!(csv.starts_with(
        "file,IMAGETYP,kind,FILTER,EXPTIME,NAXIS1,NAXIS2,DATE-OBS,OBJECT,BIASSEC,TRIMSEC"
    ));
}

#[test]
fn scan_reports_problems_and_goes_on() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(
        data("shared/singles/sip-wcs.fit"),
        d.path().join("good.fit"),
    )
    .unwrap();
    std::fs::write(d.path().join("log.fits"), "not an image\n").unwrap();
    let bytes = std::fs::read(data("shared/odd-astropy/m13.fits")).unwrap();
    std::fs::write(d.path().join("cut.fits"), &bytes[..10000]).unwrap();
    std::fs::write(d.path().join("readme.txt"), "ignored: not a FITS name").unwrap();
    let j = scan_json(d.path(), &[]);
    assert_eq!(names(&j), vec!["good.fit"]);
    let reasons: Vec<&str> = j["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("cut.fits") && reasons[0].contains("truncated"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains("log.fits") && reasons[1].contains("not a FITS file"),
        "{}",
        reasons[1]
    );
    let table = skycomb(&["scan", d.path().to_str().unwrap()]);
    assert!(table.status.success());
    let err = String::from_utf8_lossy(&table.stderr);
    assert!(
        err.contains("problem:") && err.contains("1 file(s) shown of 1 readable; 2 problem(s)"),
        "{err}"
    );
}

#[test]
fn empty_missing_and_unreadable_folders_say_so() {
    let d = tempfile::tempdir().unwrap();
    let o = skycomb(&["scan", d.path().to_str().unwrap()]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no FITS files here"));
    fails_clearly(
        &["scan", "/nonexistent/night"],
        &["/nonexistent/night", "cannot open folder", "No such file"],
    );
    fails_clearly(
        &["scan", data("shared/singles/sip-wcs.fit").to_str().unwrap()],
        &["sip-wcs.fit", "not a folder"],
    );

    // A folder without read permission. root reads anything, so then run as `nobody` through setpriv.
    let locked = d.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::copy(data("shared/singles/sip-wcs.fit"), locked.join("a.fit")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = unsafe { libc::geteuid() } == 0;
    let o = if is_root {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_skycomb"),
                "scan",
            ])
            .arg(&locked)
            .output()
            .expect("setpriv (util-linux) runs the check as an unprivileged user")
    } else {
        skycomb(&["scan", locked.to_str().unwrap()])
    };
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("locked")
            && err.contains("cannot read folder")
            && err.contains("Permission denied"),
        "{err}"
    );
}

#[test]
fn stats_json_has_the_documented_keys_and_astropy_values() {
    let j: Json = serde_json::from_str(&ok_stdout(&[
        "stats",
        data("shared/odd-astropy/1904-66_AZP.fits")
            .to_str()
            .unwrap(),
        "--json",
    ]))
    .unwrap();
    for k in [
        "shape",
        "bitpix",
        "min",
        "max",
        "mean",
        "median",
        "std",
        "mad_std",
        "nan_count",
        "zscale",
    ] {
        assert!(j.get(k).is_some(), "missing {k}");
    }
    assert_eq!(j["shape"], serde_json::json!([192, 192]));
    assert_eq!(
        (j["bitpix"].as_i64(), j["nan_count"].as_u64()),
        (Some(-32), Some(8121))
    );
    let j: Json = serde_json::from_str(&ok_stdout(&[
        "stats",
        data("shared/iraf-m92-kpno-1987/fm920001.fits")
            .to_str()
            .unwrap(),
        "--json",
        "--section",
        "[321:352,1:512]",
    ]))
    .unwrap();
    assert_eq!(
        j["shape"],
        serde_json::json!([32, 512]),
        "the overscan strip"
    );
    let j: Json = serde_json::from_str(&ok_stdout(&[
        "stats",
        data("shared/nasa-samples/HST_WFPC_II.fits")
            .to_str()
            .unwrap(),
        "--json",
        "--plane",
        "2",
    ]))
    .unwrap();
    assert!(
        (j["median"].as_f64().unwrap() - 0.6225340366363525).abs() < 1e-6,
        "astropy's median of plane 2"
    );
    let text = ok_stdout(&[
        "stats",
        data("shared/odd-astropy/m13_hcomp.fits").to_str().unwrap(),
    ]);
    assert!(
        text.contains("HCOMPRESS_1") && text.contains("300 x 300"),
        "{text}"
    );
    fails_clearly(
        &[
            "stats",
            data("shared/odd-astropy/m13.fits").to_str().unwrap(),
            "--section",
            "[1:400,1:10]",
        ],
        &["m13.fits", "outside the image"],
    );
    fails_clearly(
        &[
            "stats",
            data("shared/odd-astropy/m13.fits").to_str().unwrap(),
            "--plane",
            "2",
        ],
        &["m13.fits", "plane 2 does not exist"],
    );
    fails_clearly(
        &["stats", data("shared/MANIFEST.md").to_str().unwrap()],
        &["MANIFEST.md", "not a FITS file"],
    );
}

#[test]
fn header_prints_cards_and_lists_hdus() {
    let out = ok_stdout(&[
        "header",
        data("shared/iraf-m92-kpno-1987/fm920004.fits")
            .to_str()
            .unwrap(),
    ]);
    assert!(
        out.contains("IMAGETYP= 'OBJECT  '") || out.contains("IMAGETYP= 'OBJECT'"),
        "{out}"
    );
    assert!(out.lines().last() == Some("END"));
    let list = ok_stdout(&[
        "header",
        data("shared/odd-astropy/test0.fits").to_str().unwrap(),
        "--list",
    ]);
    assert_eq!(list.lines().count(), 5);
    assert!(
        list.lines().nth(1).unwrap().contains("SCI") && list.contains("40x40"),
        "{list}"
    );
    let sci = ok_stdout(&[
        "header",
        data("shared/odd-astropy/test0.fits").to_str().unwrap(),
        "--hdu",
        "SCI",
    ]);
    assert!(sci.contains("EXTNAME = 'SCI"), "{sci}");
    fails_clearly(
        &[
            "header",
            data("shared/odd-astropy/test0.fits").to_str().unwrap(),
            "--hdu",
            "7",
        ],
        &["test0.fits", "has 5 HDU(s)"],
    );
    let o = skycomb(&["scan", ".", "--bogus"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "unknown options are refused as usage errors"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("unexpected argument '--bogus'"));
}

#[test]
fn sample_night_is_deterministic_and_true_to_its_truth() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    ok_stdout(&[
        "sample-night",
        a.to_str().unwrap(),
        "--size",
        "128",
        "--seed",
        "7",
    ]);
    ok_stdout(&[
        "sample-night",
        b.to_str().unwrap(),
        "--size",
        "128",
        "--seed",
        "7",
    ]);
    let listing = |p: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(listing(&a).len(), 31);
    for name in listing(&a) {
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
            "{name:?} differs between runs"
        );
    }
    fails_clearly(
        &[
            "sample-night",
            a.to_str().unwrap(),
            "--size",
            "128",
            "--seed",
            "7",
        ],
        &["bias_001.fits", "already exists"],
    );

    let j = scan_json(&a, &["--group-by", "kind,filter"]);
    let groups = kind_filter_groups(&j);
    assert_eq!(
        groups,
        vec![
            "bias (none) 5",
            "dark (none) 8",
            "flat R 5",
            "flat V 5",
            "light R 7"
        ]
    );
    let raw = &j["files"][0];
    assert_eq!(
        (
            raw["NAXIS1"].as_i64(),
            raw["BIASSEC"].as_str(),
            raw["TRIMSEC"].as_str()
        ),
        (Some(192), Some("[129:192,1:128]"), Some("[1:128,1:128]"))
    );
    let hdr = ok_stdout(&["header", a.join("sci_R_001.fits").to_str().unwrap()]);
    assert!(
        hdr.contains("BITPIX  =                   16")
            && hdr.contains("BZERO   =              32768.0"),
        "{hdr}"
    );

    // Every reference star stands where truth.json says, shifted by the frame's dither.
    let truth: Json =
        serde_json::from_str(&std::fs::read_to_string(a.join("truth.json")).unwrap()).unwrap();
    for k in 1..=7 {
        let name = format!("sci_R_{k:03}.fits");
        let frame = skycomb::Frame::open(&a.join(&name)).unwrap();
        let (dx, dy) = (
            truth["frames"][&name]["dx"].as_f64().unwrap(),
            truth["frames"][&name]["dy"].as_f64().unwrap(),
        );
        for s in truth["stars"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["reference"].as_bool().unwrap())
        {
            let (x, y) = (s["x"].as_f64().unwrap() + dx, s["y"].as_f64().unwrap() + dy);
            let (cx, cy) = (x.round() as usize, y.round() as usize);
            let mut best = (0.0f32, 0, 0);
            for yy in cy - 4..=cy + 4 {
                for xx in cx - 4..=cx + 4 {
                    if frame.data[[yy, xx]] > best.0 {
                        best = (frame.data[[yy, xx]], xx, yy);
                    }
                }
            }
            assert!(
                (best.1 as f64 - x).abs() <= 1.0 && (best.2 as f64 - y).abs() <= 1.0,
                "{name}: star {} peak at {:?}, truth ({x:.2}, {y:.2})",
                s["id"],
                best
            );
        }
    }
}

/// `skycomb imcombine` run as an IRAF user would, in the folder of an @list: IRAF's answer, and a
/// misspelt parameter refused by name.
#[test]
fn imcombine_takes_iraf_words_and_gives_irafs_result() {
    let dir = data("iraf");
    let out = tempfile::tempdir().unwrap();
    let result = out.path().join("med.fits");
    let run = |words: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_skycomb"))
            .current_dir(&dir)
            .arg("imcombine")
            .args(words)
            .output()
            .unwrap()
    };
    let o = run(&[
        "@inputs/f7.lis",
        result.to_str().unwrap(),
        "comb=median",
        "reject=ccdclip",
        "gain=GAIN",
        "rdnoise=RDNOISE",
        "logfile=",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = skycomb::Frame::open(&result).unwrap().data;
    let iraf = skycomb::Frame::open(&dir.join("out/f7_median_ccdclip.fits"))
        .unwrap()
        .data;
    let worst = ours
        .iter()
        .zip(iraf.iter())
        .map(|(a, b)| ((a - b) / b.abs().max(1.0)).abs())
        .fold(0f32, f32::max);
    assert!(worst <= 1e-6, "{worst}");
    // IRAF's masks: a plane per input, and the exposure of the inputs used
    let (rej, exp) = (out.path().join("rej.fits"), out.path().join("exp.fits"));
    let o = run(&[
        "@inputs/f7.lis",
        out.path().join("m.fits").to_str().unwrap(),
        "comb=median",
        "reject=ccdclip",
        "gain=GAIN",
        "rdnoise=RDNOISE",
        "expname=EXPTIME",
        &format!("rejmasks={}", rej.display()),
        &format!("expm={}", exp.display()),
        "logfile=",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours = skycomb::Frame::open(&exp).unwrap().data;
    let iraf = skycomb::Frame::open(&dir.join("out/mask_f7_median_ccdclip_exp.fits"))
        .unwrap()
        .data;
    assert_eq!(ours, iraf);
    let cube = std::fs::read(&rej).unwrap();
    let head = String::from_utf8_lossy(&cube[..2880]).into_owned();
    assert!(head.contains("NAXIS3  =                    7"), "{head}");
    assert_eq!(cube.len(), 2880 * (1 + (24 * 20 * 7usize).div_ceil(2880)));
    let o = run(&["@inputs/f7.lis", "x.fits", "sigclip=3"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no parameter \"sigclip\""), "{err}");
}

fn skycomb_in(args: &[&str], dir: &Path) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_skycomb"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The small refusals: each names what is wrong, once, and where.
#[test]
fn bad_arguments_and_files_are_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let frame = data("iraf/inputs/orion_01.fits");
    let frame = frame.to_str().unwrap();
    let (code, _, err) = skycomb_in(&["stats", "missing.fits"], p);
    assert_eq!(code, 1);
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    let (code, _, err) = skycomb_in(&["detect", frame, "--threshold", "nan"], p);
    assert!(code == 1 && err.contains("threshold NaN"), "{err}");
    let (code, _, err) = skycomb_in(&["centroid", frame, "--at", "30,20", "--box", "0"], p);
    assert!(code == 1 && err.contains("centroid box 0"), "{err}");
    std::fs::write(p.join("empty.toml"), "").unwrap();
    let (code, _, err) = skycomb_in(&["run", "empty.toml"], p);
    assert!(code == 1 && err.contains("no steps"), "{err}");
    let recipe = "[[step]]\nrun = \"combine\"\nfiles = [\"a.fits\"]\noutput = \"o.fits\"\n\n\
                  [[step]]\nrun = \"stack\"\nfiles = [\"a.fits\"]\noutput = \"s.fits\"\nbogus = 3\n";
    std::fs::write(p.join("r.toml"), recipe).unwrap();
    let (code, _, err) = skycomb_in(&["run", "r.toml"], p);
    assert!(
        code == 1 && err.contains("line 10: step 2: unknown field `bogus`"),
        "{err}"
    );
    // a keyword with a non-ASCII letter: the header is shown, the card named with its file
    let mut bytes = std::fs::read(data("iraf/inputs/f7_01.fits")).unwrap();
    let at = bytes.windows(9).position(|w| w == b"GAIN    =").unwrap();
    bytes[at + 1] = 0xc4;
    std::fs::write(p.join("odd.fits"), &bytes).unwrap();
    let (code, out, err) = skycomb_in(&["header", "odd.fits"], p);
    assert!(
        code == 0 && out.contains("RDNOISE") && out.ends_with("END\n"),
        "{out}"
    );
    assert!(
        err.contains("odd.fits") && err.contains("keywords may hold only"),
        "{err}"
    );
    // a section's statistics are the section's
    let (_, out, _) = skycomb_in(&["stats", frame, "--section", "[10:20,5:9]", "--json"], p);
    let j: Json = serde_json::from_str(&out).unwrap();
    let f = skycomb::Frame::open(Path::new(frame)).unwrap().data;
    let cut = f.slice(ndarray::s![4..9, 9..20]);
    let max = cut.iter().fold(f32::MIN, |a, b| a.max(*b)) as f64;
    assert_eq!(j["max"].as_f64().unwrap(), max, "{out}");
}

/// The 96-px sample night of seed 3 (the app's test night) in a fresh folder.
fn small_night() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = skycomb_in(
        &["sample-night", "--size", "96", "--seed", "3", "."],
        d.path(),
    );
    assert_eq!(code, 0, "{err}");
    d
}

/// A raw frame is searched inside its TRIMSEC: every star found on the raw frames of a 96-px
/// night is a true star (no edge of the overscan strip, no star cut by it).
#[test]
fn detect_on_a_raw_frame_keeps_to_the_trim_section() {
    let d = small_night();
    let night = d.path();
    let truth: Json =
        serde_json::from_str(&std::fs::read_to_string(night.join("truth.json")).unwrap()).unwrap();
    for k in 1..=7 {
        let file = format!("sci_R_{k:03}.fits");
        let (code, out, err) = skycomb_in(&["detect", &file, "--json"], night);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("TRIMSEC [1:96,1:96]"), "{err}");
        let frame = &truth["frames"][&file];
        let (dx, dy) = (frame["dx"].as_f64().unwrap(), frame["dy"].as_f64().unwrap());
        let found: Json = serde_json::from_str(&out).unwrap();
        let found = found["stars"].as_array().unwrap();
        assert!(found.len() >= 5, "{file}: {out}");
        for s in found {
            let (x, y) = (
                s["x"].as_f64().unwrap() - 1.0,
                s["y"].as_f64().unwrap() - 1.0,
            );
            let true_star = truth["stars"].as_array().unwrap().iter().any(|t| {
                let (tx, ty) = (t["x"].as_f64().unwrap() + dx, t["y"].as_f64().unwrap() + dy);
                (tx - x).hypot(ty - y) < 1.0
            });
            assert!(true_star, "{file}: ({x}, {y}) is no star");
        }
    }
}

/// `skycomb arith A - B` writes a difference (IMAGETYP 'difference', not A's LIGHT), so a later
/// scan or plan of the folder never takes it for a science frame.
#[test]
fn arith_a_minus_b_is_a_difference() {
    let d = small_night();
    let night = d.path();
    let (code, _, err) = skycomb_in(
        &[
            "arith",
            "sci_R_001.fits",
            "-",
            "sci_R_002.fits",
            "-o",
            "d.fits",
        ],
        night,
    );
    assert_eq!(code, 0, "{err}");
    let d = skycomb::Frame::open(&night.join("d.fits")).unwrap();
    assert_eq!(d.header.get_str("IMAGETYP"), Some("difference"));
    assert_eq!(
        d.header.get_str("ARITH"),
        Some("sci_R_001.fits - sci_R_002.fits")
    );
    let (code, out, _) = skycomb_in(&["scan", ".", "--where", "IMAGETYP=light"], night);
    assert_eq!(code, 0);
    assert!(!out.contains("d.fits"), "{out}");
}
