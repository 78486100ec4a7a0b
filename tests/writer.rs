//! FITS writing: BITPIX -32 round trips, headers carried over with new cards and HISTORY, atomic and refusing to overwrite.

use ndarray::Array2;
use skycomb::fits::{
    Card, Header, ReadOptions, Value, WriteOptions, read_frame, refuse_inputs, write_f32,
};

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
