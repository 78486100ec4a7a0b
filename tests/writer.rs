//! FITS writing: BITPIX -32 round trips, headers carried over with new cards and HISTORY, atomic and refusing to overwrite.

use ndarray::Array2;
use skycomb::fits::{
    Card, Header, ReadOptions, Value, WriteOptions, read_frame, refuse_inputs, write_f32,
};
use std::path::{Path, PathBuf};

#[test]
fn round_trip_keeps_pixels_and_cards() {
    let d = tempfile::tempdir().unwrap();
    let src = read_frame(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/shared/iraf-m92-kpno-1987/fm920004.fits"),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut header = src.header.clone();
    header.set("NCOMBINE", Value::Int(3), "frames combined");
    header.add_history("skycomb test: wrote this");
    let mut data = src.data.mapv(|v| v * 0.5);
    data[[0, 0]] = f32::NAN;
    let out = d.path().join("out.fits");
    write_f32(&out, data.view(), &header, WriteOptions::default()).unwrap();
    let back = read_frame(&out, &ReadOptions::default()).unwrap();
    assert_eq!(back.source.as_ref().unwrap().bitpix, -32);
    assert!(back.data[[0, 0]].is_nan());
    assert!(
        back.data
            .iter()
            .zip(data.iter())
            .skip(1)
            .all(|(a, b)| a == b)
    );
    assert_eq!(back.header.get_str("OBJECT"), Some("M-92 V"));
    assert_eq!(back.header.get_str("BIASSEC"), Some("[321:352,1:512]"));
    assert_eq!(back.header.get_i64("NCOMBINE"), Some(3));
    assert_eq!(back.header.get_i64("BITPIX"), Some(-32));
    assert!(
        !back.header.contains("BZERO") && !back.header.contains("BSCALE"),
        "integer scaling must not survive into a float file"
    );
    let hist: Vec<_> = back
        .header
        .cards
        .iter()
        .filter(|c| c.keyword == "HISTORY")
        .collect();
    assert_eq!(
        hist.last().unwrap().value,
        Value::Text("skycomb test: wrote this".into())
    );
    assert_eq!(std::fs::metadata(&out).unwrap().len() % 2880, 0);
}

#[test]
fn existing_outputs_and_inputs_are_refused_and_no_temp_is_left() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("x.fits");
    let data = Array2::<f32>::from_elem((4, 5), 1.0);
    let h = Header {
        cards: vec![Card::new("OBJECT", Value::Str("test".into()), "")],
    };
    write_f32(&out, data.view(), &h, WriteOptions::default()).unwrap();
    let e = write_f32(&out, data.view(), &h, WriteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.fits") && e.contains("already exists"), "{e}");
    write_f32(
        &out,
        (&data * 2.0).view(),
        &h,
        WriteOptions { overwrite: true },
    )
    .unwrap();
    assert_eq!(
        read_frame(&out, &ReadOptions::default()).unwrap().data[[3, 4]],
        2.0
    );
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary files left behind: {names:?}");
    let e = refuse_inputs(&out, &[d.path().join("./x.fits")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("input"), "{e}");
    assert!(refuse_inputs(&d.path().join("new.fits"), std::slice::from_ref(&out)).is_ok());
}

#[test]
fn a_failed_write_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let data = Array2::<f32>::zeros((2, 2));
    let bad = Header {
        cards: vec![Card::new("BAD KEY=", Value::Int(1), "")],
    };
    let out = d.path().join("y.fits");
    assert!(write_f32(&out, data.view(), &bad, WriteOptions::default()).is_err());
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

/// Frames big enough that a combine takes a while: the 10 real Orion frames, tiled 4 x 4.
fn big_frames(dir: &Path) -> Vec<PathBuf> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iraf/inputs");
    (1..=10)
        .map(|i| {
            let f = skycomb::Frame::open(&base.join(format!("orion_{i:02}.fits"))).unwrap();
            let (ny, nx) = f.data.dim();
            let big =
                ndarray::Array2::from_shape_fn((ny * 8, nx * 8), |(y, x)| f.data[[y % ny, x % nx]]);
            let p = dir.join(format!("big_{i:02}.fits"));
            skycomb::fits::write_f32(&p, big.view(), &f.header, Default::default()).unwrap();
            p
        })
        .collect()
}

fn combine_command(frames: &[PathBuf], out: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_skycomb"));
    c.arg("combine")
        .args(frames)
        .arg("--output")
        .arg(out)
        .arg("--npix")
        .arg(out.with_extension("npix.fits"))
        .arg("--rejected")
        .arg(out.with_extension("rej.fits"))
        .args(["--method", "median"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    c
}

fn parts_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".part-"))
        .collect()
}

#[test]
fn two_writers_of_one_output_give_one_output_and_one_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let frames = big_frames(dir.path());
    for k in 0..7 {
        let out = dir.path().join(format!("race{k}.fits"));
        let (a, b) = (
            combine_command(&frames, &out).spawn().unwrap(),
            combine_command(&frames, &out).spawn().unwrap(),
        );
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
        assert_eq!(ok, 1, "try {k}: {a:?} {b:?}");
        let refused = if a.status.success() { &b } else { &a };
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("exists"), "try {k}: {err}");
        assert!(skycomb::Frame::open(&out).is_ok());
        assert!(out.with_extension("npix.fits").exists());
    }
    assert_eq!(parts_in(dir.path()), Vec::<String>::new());
}

#[test]
fn a_killed_writer_leaves_no_image_without_its_maps_and_nothing_the_next_run_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let frames = big_frames(dir.path());
    let mut rng = skycomb::sample::Rng::new(7);
    for k in 0..12 {
        let out = dir.path().join(format!("killed{k}.fits"));
        let mut child = combine_command(&frames, &out).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(rng.int(0, 400) as u64));
        let _ = child.kill();
        let _ = child.wait();
        if out.exists() {
            assert!(out.with_extension("npix.fits").exists(), "try {k}");
            assert!(out.with_extension("rej.fits").exists(), "try {k}");
        }
        // the next run in the folder writes its own output and sweeps the dead run's leftovers
        let next = dir.path().join(format!("next{k}.fits"));
        let o = combine_command(&frames, &next).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(parts_in(dir.path()), Vec::<String>::new(), "try {k}");
        // and a rerun of the killed one succeeds (its maps without an image do not block it)
        if !out.exists() {
            let o = combine_command(&frames, &out).output().unwrap();
            assert!(
                o.status.success(),
                "try {k}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}
