//! Hostile folders and files: symbolic-link loops, named pipes and sockets must neither hang nor
//! repeat a scan, and every refusal names the file and its reason.

use skycomb::collection::{ScanOptions, scan};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

fn real_frame() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iraf/inputs/orion_01.fits")
}

/// Run `f` on another thread and fail the test if it takes longer than `secs` (a hang).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("hung: no answer in time")
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn links_that_loop_back_are_walked_once_and_pipes_are_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::copy(real_frame(), root.join("a.fits")).unwrap();
    std::fs::copy(real_frame(), root.join("sub/b.fits")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("sub/up2")).unwrap();
    std::os::unix::fs::symlink(root.join("nowhere.fits"), root.join("broken.fits")).unwrap();
    mkfifo(&root.join("pipe.fits"));
    let _socket = std::os::unix::net::UnixListener::bind(root.join("sock.fits")).unwrap();
    let r = root.clone();
    let c = within(20, move || {
        scan(&r, &ScanOptions { recursive: true }).unwrap()
    });
    let names: Vec<String> = c
        .frames
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.fits", "b.fits"], "{:?}", c.frames);
    let why = |name: &str| {
        c.problems
            .iter()
            .find(|p| p.path.ends_with(name))
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", c.problems))
    };
    assert!(why("pipe.fits").contains("named pipe"));
    assert!(why("sock.fits").contains("socket"));
    assert!(why("broken.fits").contains("broken link"));
    // a pipe named on the command line is refused, not waited on
    let pipe = root.join("pipe.fits");
    let e = within(20, move || {
        skycomb::fits::FitsImage::open(&pipe, &skycomb::fits::HduChoice::FirstImage)
            .err()
            .unwrap()
            .to_string()
    });
    assert!(
        e.contains("pipe.fits") && e.contains("not a regular file"),
        "{e}"
    );
}

/// Replace the value of `key`'s card in a file's bytes.
fn set_card(bytes: &mut [u8], key: &str, value: &str) {
    let at = (0..bytes.len() / 80)
        .map(|i| i * 80)
        .find(|&at| bytes[at..at + 8] == *format!("{key:<8}").as_bytes())
        .unwrap_or_else(|| panic!("no {key}"));
    let field = format!("= {value:>20}{:<50}", "");
    bytes[at + 8..at + 80].copy_from_slice(&field.as_bytes()[..72]);
}

#[test]
fn tile_parameters_and_sizes_that_would_crash_cfitsio_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let rice = std::fs::read(data.join("shared/odd-astropy/m13_rice.fits")).unwrap();
    let plain = std::fs::read(real_frame()).unwrap();
    /// A file name, its bytes, the cards changed, and what the error must say.
    type Case<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        ("ztile.fits", &rice, &[("ZTILE2", "0")], "ZTILE2"),
        ("zval.fits", &rice, &[("ZVAL1", "0")], "BLOCKSIZE"),
        ("znaxis.fits", &rice, &[("ZNAXIS2", "50")], "tiles"),
        (
            "huge.fits",
            &plain,
            &[("NAXIS1", "4294967296"), ("NAXIS2", "4294967296")],
            "overflow",
        ),
        ("bitpix.fits", &plain, &[("BITPIX", "7")], "BITPIX = 7"),
    ];
    for (name, base, changes, says) in cases {
        let mut bytes = base.to_vec();
        for (k, v) in changes {
            set_card(&mut bytes, k, v);
        }
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let e = skycomb::fits::read_frame(&p, &Default::default())
            .err()
            .unwrap_or_else(|| panic!("{name} read"))
            .to_string();
        assert!(e.contains(name) && e.contains(says), "{name}: {e}");
    }
}

/// A small sample night in a fresh folder.
fn night() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_skycomb"))
        .args(["sample-night", "--size", "96", "--seed", "3"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir
}

/// Rewrite the night's files whose names start with `prefix` through `change`.
fn rewrite(dir: &Path, prefix: &str, change: impl Fn(&mut skycomb::Frame)) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with(prefix) {
            let mut f = skycomb::Frame::open(&p).unwrap();
            change(&mut f);
            let opts = skycomb::fits::WriteOptions { overwrite: true };
            skycomb::fits::write_f32(&p, f.data.view(), &f.header, opts).unwrap();
        }
    }
}

fn calibrate(dir: &Path) -> (bool, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_skycomb"))
        .arg("calibrate")
        .arg(dir)
        .arg("--output")
        .arg(dir.join("cal"))
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn flats_without_light_are_refused_by_name() {
    // all zero
    let n = night();
    rewrite(n.path(), "flat_R", |f| f.data.fill(0.0));
    let (ok, _, err) = calibrate(n.path());
    assert!(
        !ok && err.contains("carry no light") && err.contains("flat_R_001.fits"),
        "{err}"
    );
    assert!(!n.path().join("cal/master_flat_R.fits").exists());
    // a copy of the biases, labelled flat
    let n = night();
    let bias = skycomb::Frame::open(&n.path().join("bias_001.fits"))
        .unwrap()
        .data;
    rewrite(n.path(), "flat_V", |f| f.data.assign(&bias));
    let (ok, _, err) = calibrate(n.path());
    assert!(
        !ok && err.contains("carry no light") && err.contains("flat_V_003.fits"),
        "{err}"
    );
}

#[test]
fn filters_that_share_a_safe_name_get_their_own_masters_and_darks_need_an_exposure() {
    let n = night();
    let set = |key: &'static str, v: &'static str| {
        move |f: &mut skycomb::Frame| f.header.set(key, skycomb::fits::Value::Str(v.into()), "")
    };
    rewrite(n.path(), "flat_R", set("FILTER", "R_V"));
    rewrite(n.path(), "flat_V", set("FILTER", "R/V"));
    rewrite(n.path(), "sci_R", set("FILTER", "R_V"));
    rewrite(n.path(), "dark_60s_002", set("EXPTIME", "NaN"));
    let (ok, out, err) = calibrate(n.path());
    assert!(ok, "{err}");
    assert!(
        out.contains("master flat R_V    -> master_flat_R_V.fits"),
        "{out}"
    );
    let hashed = out
        .lines()
        .find(|l| l.starts_with("master flat R/V"))
        .unwrap_or_else(|| panic!("{out}"));
    let name = hashed.split_whitespace().nth(4).unwrap();
    assert!(
        name.starts_with("master_flat_R_V-") && name.ends_with(".fits"),
        "{hashed}"
    );
    assert!(n.path().join("cal").join(name).exists());
    assert!(n.path().join("cal/master_flat_R_V.fits").exists());
    assert!(
        out.contains("ignored: dark_60s_002.fits (a dark with EXPTIME"),
        "{out}"
    );
}

#[test]
fn a_gzip_file_whose_header_promises_more_than_it_holds_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(real_frame()).unwrap();
    set_card(&mut bytes, "NAXIS1", "100000");
    set_card(&mut bytes, "NAXIS2", "100000");
    let plain = dir.path().join("liar.fits");
    std::fs::write(&plain, &bytes).unwrap();
    let gz = std::process::Command::new("gzip")
        .arg(&plain)
        .status()
        .unwrap();
    assert!(gz.success());
    let p = dir.path().join("liar.fits.gz");
    let e = within(60, move || {
        skycomb::fits::read_frame(&p, &Default::default())
            .err()
            .unwrap()
            .to_string()
    });
    assert!(
        e.contains("liar.fits.gz") && e.contains("data ends before"),
        "{e}"
    );
}

/// Tile-compressed images as astropy writes them (reals in ZVALn such as NOISEBIT = 16.0, quantised
/// floats) pass the header checks and read as the image they were made from.
#[test]
fn astropy_tile_compressed_images_pass_the_checks_and_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compressed");
    let read = |name: &str| skycomb::fits::read_frame(&dir.join(name), &Default::default());
    let plain = read("plain.fits").unwrap().data;
    let ints = read("plain_int16.fits").unwrap().data;
    for name in [
        "astropy_rice_1.fits",
        "astropy_hcompress_1.fits",
        "astropy_gzip_2.fits",
    ] {
        let f = read(name).unwrap_or_else(|e| panic!("{e}"));
        let worst = f
            .data
            .iter()
            .zip(plain.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1.0, "{name}: {worst}");
    }
    for name in ["astropy_rice_1_int16.fits", "astropy_plio_1_int16.fits"] {
        assert_eq!(read(name).unwrap().data, ints, "{name}");
    }
}
