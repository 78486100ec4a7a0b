//! Helpers shared by the command-line tests: run the binary, expect success or a clear failure.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// A file under tests/data.
pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Run `skycomb` with these arguments.
pub fn skycomb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skycomb"))
        .args(args)
        .output()
        .unwrap()
}

/// Run and expect success; return stdout.
pub fn ok_stdout(args: &[&str]) -> String {
    let o = skycomb(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A failing run: exit code 1, no panic, and stderr containing every needle.
pub fn fails_clearly(args: &[&str], needles: &[&str]) {
    let o = skycomb(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: missing {n:?} in {err}");
    }
}
