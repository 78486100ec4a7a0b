//! The FITS reader against astropy: every real file (copied ones always, all of ../shared/data when present),
//! hand-made files for every BITPIX/BZERO case, and clear errors for broken files.

use serde_json::Value as Json;
use skycomb::fits::{FitsImage, HduChoice, ReadOptions, read_frame};
use skycomb::stats::summarize;
use std::path::{Path, PathBuf};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expected() -> serde_json::Map<String, Json> {
    let text =
        std::fs::read_to_string(manifest().join("tests/oracle/shared_data_expected.json")).unwrap();
    serde_json::from_str::<Json>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// Compare our reading of one file with astropy's; returns what differs.
fn check_file(path: &Path, exp: &Json) -> Result<(), String> {
    let mut img =
        FitsImage::open(path, &HduChoice::FirstImage).map_err(|e| format!("cannot read: {e}"))?;
    let info = img.info.clone();
    let data = img.read_plane(0).map_err(|e| e.to_string())?;
    let s = summarize(data.view());
    let mut errs = Vec::new();
    let num = |k: &str| exp[k].as_f64().unwrap();
    if info.hdu as u64 != exp["hdu"].as_u64().unwrap() {
        errs.push(format!("hdu {} != {}", info.hdu, exp["hdu"]));
    }
    if vec![info.nx() as u64, info.ny() as u64]
        != exp["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect::<Vec<_>>()
    {
        errs.push(format!("shape {:?} != {}", info.naxes, exp["shape"]));
    }
    if info.n_planes() as u64 != exp["n_planes"].as_u64().unwrap()
        || info.bitpix as i64 != exp["bitpix"].as_i64().unwrap()
    {
        errs.push(format!(
            "planes/bitpix {}/{} != {}/{}",
            info.n_planes(),
            info.bitpix,
            exp["n_planes"],
            exp["bitpix"]
        ));
    }
    // f32 pixels: a value may differ from astropy's float64 by its f32 rounding (6e-8 of the largest |value|)
    let tol = 1e-6 * num("min").abs().max(num("max").abs()).max(1e-30);
    for (name, ours) in [
        ("median", s.median),
        ("mean", s.mean),
        ("min", s.min),
        ("max", s.max),
    ] {
        let ours = ours.unwrap_or(f64::NAN);
        if (ours - num(name)).abs() > tol {
            errs.push(format!("{name} {ours} != {}", num(name)));
        }
    }
    if s.nan_count as u64 != exp["nan_count"].as_u64().unwrap() {
        errs.push(format!("nan_count {} != {}", s.nan_count, exp["nan_count"]));
    }
    for (key, want) in exp["keys"].as_object().unwrap() {
        let got = info.header.get(key);
        let ok = match (want, got) {
            (Json::Null, None) => true,
            (Json::String(w), Some(v)) => v.display().trim() == w.trim(),
            (Json::Number(w), Some(v)) => v.as_f64() == w.as_f64(),
            _ => false,
        };
        if !ok {
            errs.push(format!("{key}: {got:?} != {want}"));
        }
    }
    for (k, want) in exp["plane_medians"].as_array().unwrap().iter().enumerate() {
        let plane = img.read_plane(k).map_err(|e| e.to_string())?;
        let got = summarize(plane.view()).median.unwrap();
        if (got - want.as_f64().unwrap()).abs() > tol {
            errs.push(format!("plane {k} median {got} != {want}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Check every expected file found under `root`; returns how many were checked.
fn check_tree(root: &Path) -> usize {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (rel, exp) in expected() {
        let path = root.join(&rel);
        if !path.exists() {
            continue;
        }
        checked += 1;
        if let Err(e) = check_file(&path, &exp) {
            failures.push(format!("{rel}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    checked
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if skycomb::collection::is_fits_name(&p.file_name().unwrap().to_string_lossy()) {
            out.push(p);
        }
    }
}

#[test]
fn copied_real_files_read_as_astropy_reads_them() {
    let n = check_tree(&manifest().join("tests/data/shared"));
    assert!(n >= 45, "only {n} files checked");
}

#[test]
fn every_file_of_shared_data_reads_as_astropy_reads_it() {
    let root = manifest().join("../shared/data");
    if !root.exists() {
        eprintln!("../shared/data is not here: covered by the copied subset only");
        return;
    }
    let mut files = Vec::new();
    walk(&root, &mut files);
    let exp = expected();
    let missing: Vec<_> = files
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|r| !exp.contains_key(r))
        .collect();
    assert!(
        missing.is_empty(),
        "files without an astropy reference: {missing:?}"
    );
    assert_eq!(check_tree(&root), files.len());
}

#[test]
fn explicit_hdus_by_number_and_extname() {
    let f = manifest().join("tests/data/shared/odd-astropy/o4sp040b0_raw.fits");
    let img = FitsImage::open(&f, &HduChoice::Index(4)).unwrap();
    assert_eq!((img.info.hdu, img.info.nx(), img.info.ny()), (4, 62, 44));
    let img = FitsImage::open(&f, &HduChoice::Name("sci".into())).unwrap();
    assert_eq!(
        img.info.hdu, 1,
        "EXTNAME lookup is case-insensitive and takes the first match"
    );
    assert_eq!(
        img.info.header.get_str("FILTER"),
        Some("Clear"),
        "primary keywords are inherited"
    );
    let e = FitsImage::open(&f, &HduChoice::Name("ERR".into()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("o4sp040b0_raw.fits") && e.contains("NAXIS = 0"),
        "{e}"
    );
    let e = FitsImage::open(&f, &HduChoice::Index(9))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("has 7 HDU(s)"), "{e}");
    let e = FitsImage::open(&f, &HduChoice::Name("NOPE".into()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no HDU has this EXTNAME"), "{e}");
}

#[test]
fn compressed_header_is_the_image_header() {
    let f = manifest().join("tests/data/shared/odd-astropy/m13_rice.fits");
    let img = FitsImage::open(&f, &HduChoice::FirstImage).unwrap();
    let h = &img.info.header;
    assert_eq!(img.info.compression.as_deref(), Some("RICE_1"));
    assert_eq!(h.get_i64("BITPIX"), Some(16));
    assert_eq!(h.get_i64("NAXIS1"), Some(300));
    assert!(
        !h.contains("ZIMAGE") && !h.contains("TTYPE1") && !h.contains("ZBITPIX"),
        "{h:?}"
    );
}

// ---------------------------------------------------------------- hand-made files

fn card(s: &str) -> String {
    format!("{s:<80}")
}

/// A FITS file from header lines and big-endian data bytes; `pad` adds the final block padding.
fn fits_file(dir: &Path, name: &str, cards: &[&str], data: &[u8], pad: bool) -> PathBuf {
    let mut b: Vec<u8> = cards
        .iter()
        .map(|c| card(c))
        .chain([card("END")])
        .collect::<String>()
        .into_bytes();
    b.resize(b.len().div_ceil(2880) * 2880, b' ');
    b.extend_from_slice(data);
    if pad {
        b.resize(b.len().div_ceil(2880) * 2880, 0);
    }
    let p = dir.join(name);
    std::fs::write(&p, b).unwrap();
    p
}

fn read_values(p: &Path) -> Vec<f32> {
    read_frame(p, &ReadOptions::default())
        .unwrap()
        .data
        .iter()
        .copied()
        .collect()
}

#[test]
fn every_bitpix_with_bzero_bscale_and_blank() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let p = fits_file(
        dir,
        "b8.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 8",
            "NAXIS   = 2",
            "NAXIS1  = 3",
            "NAXIS2  = 1",
        ],
        &[0, 7, 255],
        true,
    );
    assert_eq!(read_values(&p), vec![0.0, 7.0, 255.0]);

    let u16s: Vec<u8> = [i16::MIN, 0, 32767]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let p = fits_file(
        dir,
        "u16.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 16",
            "NAXIS   = 2",
            "NAXIS1  = 3",
            "NAXIS2  = 1",
            "BZERO   = 32768",
            "BSCALE  = 1",
        ],
        &u16s,
        true,
    );
    assert_eq!(read_values(&p), vec![0.0, 32768.0, 65535.0]);

    let u32s: Vec<u8> = [i32::MIN, 852516352, i32::MAX]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let p = fits_file(
        dir,
        "u32.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 32",
            "NAXIS   = 2",
            "NAXIS1  = 3",
            "NAXIS2  = 1",
            "BZERO   = 2147483648",
        ],
        &u32s,
        true,
    );
    assert_eq!(read_values(&p), vec![0.0, 3.0e9, 4294967295.0f64 as f32]);

    let i64s: Vec<u8> = [-5i64, 1 << 40]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let p = fits_file(
        dir,
        "i64.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 64",
            "NAXIS   = 2",
            "NAXIS1  = 2",
            "NAXIS2  = 1",
        ],
        &i64s,
        true,
    );
    assert_eq!(read_values(&p), vec![-5.0, (1u64 << 40) as f32]);

    let f64s: Vec<u8> = [1.5f64, f64::NAN, -2.25]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let p = fits_file(
        dir,
        "f64.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = -64",
            "NAXIS   = 2",
            "NAXIS1  = 3",
            "NAXIS2  = 1",
        ],
        &f64s,
        true,
    );
    let v = read_values(&p);
    assert!(v[0] == 1.5 && v[1].is_nan() && v[2] == -2.25);

    let blank: Vec<u8> = [4i16, i16::MIN, 6]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let p = fits_file(
        dir,
        "blank.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 16",
            "NAXIS   = 2",
            "NAXIS1  = 3",
            "NAXIS2  = 1",
            "BSCALE  = 0.5",
            "BZERO   = 10",
            "BLANK   = -32768",
        ],
        &blank,
        true,
    );
    let v = read_values(&p);
    assert!(v[0] == 12.0 && v[1].is_nan() && v[2] == 13.0, "{v:?}");
}

#[test]
fn rows_are_y_cubes_read_plane_by_plane_and_unpadded_files_load() {
    let d = tempfile::tempdir().unwrap();
    // 2 columns x 3 rows x 2 planes: value = 100*plane + 10*row + column
    let vals: Vec<u8> = (0..2)
        .flat_map(|p| (0..3).flat_map(move |y| (0..2).map(move |x| (100 * p + 10 * y + x) as i16)))
        .flat_map(|v: i16| v.to_be_bytes())
        .collect();
    let p = fits_file(
        d.path(),
        "cube.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 16",
            "NAXIS   = 3",
            "NAXIS1  = 2",
            "NAXIS2  = 3",
            "NAXIS3  = 2",
        ],
        &vals,
        false,
    );
    let mut img = FitsImage::open(&p, &HduChoice::FirstImage).unwrap();
    assert_eq!(img.info.n_planes(), 2);
    let plane = img.read_plane(1).unwrap();
    assert_eq!(plane.dim(), (3, 2));
    assert_eq!(
        plane[[2, 1]],
        121.0,
        "data[[y, x]]: row 2, column 1 of plane 1"
    );
    assert_eq!(img.read_rows(0, 1..3).unwrap()[[0, 0]], 10.0);
    let e = img.read_plane(2).unwrap_err().to_string();
    assert!(
        e.contains("plane 3 does not exist") && e.contains("2 plane(s)"),
        "{e}"
    );
}

#[test]
fn broken_files_give_clear_errors_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let text = dir.join("notes.fits");
    std::fs::write(&text, "observing log: clouds at 23:00\n").unwrap();
    let empty = dir.join("empty.fits");
    std::fs::write(&empty, b"").unwrap();
    let data = vec![0u8; 2 * 100 * 50];
    let truncated = fits_file(
        dir,
        "truncated.fits",
        &[
            "SIMPLE  = T",
            "BITPIX  = 16",
            "NAXIS   = 2",
            "NAXIS1  = 100",
            "NAXIS2  = 100",
        ],
        &data,
        false,
    );
    let table_only = fits_file(
        dir,
        "nopix.fits",
        &["SIMPLE  = T", "BITPIX  = 8", "NAXIS   = 0"],
        &[],
        true,
    );
    for (p, needle) in [
        (&text, "does not begin with 'SIMPLE  ='"),
        (&empty, "the file is empty"),
        (&truncated, "truncated"),
        (&table_only, "no image with pixels"),
        (&dir.join("missing.fits"), "No such file"),
    ] {
        let e = read_frame(p, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&*p.file_name().unwrap().to_string_lossy()),
            "{e}"
        );
        assert!(e.contains(needle), "{p:?}: {e}");
    }
}

#[test]
fn the_direct_reader_agrees_with_cfitsio_bit_for_bit() {
    let mut files = Vec::new();
    walk(&manifest().join("tests/data"), &mut files);
    let mut direct = 0;
    for f in &files {
        let Ok(mut img) = FitsImage::open(f, &HduChoice::FirstImage) else {
            continue;
        };
        if img.info.layout.is_none() {
            continue;
        }
        direct += 1;
        for plane in 0..img.info.n_planes() {
            let a = img.read_plane(plane).unwrap();
            let b = img.read_plane_cfitsio(plane).unwrap();
            assert!(
                a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{f:?} plane {plane}"
            );
            // a band inside the image (the IRAF references include one-row images)
            let rows = 3.min(a.nrows() - 1)..7.min(a.nrows());
            let band = img.read_rows(plane, rows.clone()).unwrap();
            let want = a.slice(ndarray::s![rows, ..]);
            assert!(
                band.iter()
                    .zip(want.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{f:?} rows 3..7"
            );
        }
    }
    assert!(direct >= 40, "only {direct} files took the direct path");
}
