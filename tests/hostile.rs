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
