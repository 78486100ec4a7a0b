//! Recipes: a reduction saved as TOML runs with `skycomb run` to the same bytes as the commands it
//! stands for; recipes round-trip; a bad recipe is named with its problem.

mod common;

use common::{fails_clearly, ok_stdout};
use skycomb::recipe::{Recipe, Step};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small sample night in `dir/raw`.
fn sample_night(dir: &Path) -> std::path::PathBuf {
    let raw = dir.join("raw");
    skycomb::sample::write_sample_night(
        &raw,
        skycomb::sample::SampleNightParams {
            size: 64,
            seed: 5,
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap();
    raw
}

fn lights(folder: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sci_R"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_recipe_writes_the_same_bytes_as_the_commands_it_stands_for() {
    let d = tempfile::tempdir().unwrap();
    let raw = sample_night(d.path());
    // the commands, by hand
    let by_hand = d.path().join("by_hand");
    ok_stdout(&["calibrate", s(&raw), "-o", s(&by_hand)]);
    let files: Vec<String> = lights(&by_hand)
        .iter()
        .map(|n| s(&by_hand.join(n)).to_string())
        .collect();
    let run = |command: &str, extra: &[&str]| {
        let mut args = vec![command];
        args.extend(files.iter().map(String::as_str));
        args.extend(extra);
        ok_stdout(&args)
    };
    let (median, npix) = (
        by_hand.join("median.fits"),
        by_hand.join("median_npix.fits"),
    );
    run(
        "combine",
        &[
            "-o",
            s(&median),
            "--method",
            "median",
            "--sigma-low",
            "3",
            "--npix",
            s(&npix),
        ],
    );
    let stacked = by_hand.join("stack.fits");
    run(
        "stack",
        &["-o", s(&stacked), "--sigma-low", "3", "--shift", "lanczos3"],
    );

    // the same as a recipe with paths relative to its folder
    let names: Vec<String> = lights(&by_hand)
        .iter()
        .map(|n| format!("\"reduced/{n}\""))
        .collect();
    let recipe = format!(
        r#"
[[step]]
run = "calibrate"
night = "raw"
output = "reduced"

[[step]]
run = "combine"
files = [{list}]
output = "reduced/median.fits"
method = "median"
sigma_low = 3.0
npix = "reduced/median_npix.fits"

[[step]]
run = "stack"
files = [{list}]
output = "reduced/stack.fits"
sigma_low = 3.0
shift = "lanczos3"
"#,
        list = names.join(", ")
    );
    let path = d.path().join("night.toml");
    std::fs::write(&path, recipe).unwrap();
    let printed = ok_stdout(&["run", s(&path)]);
    assert!(printed.contains("stack 7 frames"), "{printed}");
    let reduced = d.path().join("reduced");
    let mut compared = 0;
    for entry in std::fs::read_dir(&by_hand).unwrap() {
        let name = entry.unwrap().file_name();
        let (a, b) = (by_hand.join(&name), reduced.join(&name));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{name:?} differs"
        );
        compared += 1;
    }
    // masters (bias, darks, flats), 7 + 3 calibrated frames, median + npix, stack
    assert!(compared >= 14, "{compared} files");
    // run again: the outputs exist, so only `overwrite = true` may replace them
    fails_clearly(&["run", s(&path)], &["already exists", "step 1 (calibrate"]);
    let again = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("overwrite = true\n{again}")).unwrap();
    ok_stdout(&["run", s(&path)]);
}

#[test]
fn a_recipe_survives_toml_and_names_what_is_wrong() {
    let text = r#"
[[step]]
run = "stack"
files = ["a.fits", "b.fits"]
output = "out/s.fits"
offsets = "positions:pos.txt"
sky = "surface:2"
nlow = 1
nhigh = 1
"#;
    let recipe: Recipe = toml::from_str(text).unwrap();
    let Step::Stack(st) = &recipe.steps[0] else {
        panic!("a stack step")
    };
    // given keys are taken, the rest are the command line's defaults
    assert_eq!((st.options.nlow, st.options.nhigh), (1, 1));
    assert_eq!(st.stack.sky, "surface:2");
    assert_eq!(st.stack.shift, "bilinear");
    assert_eq!(st.options.memory_limit, "350MB");
    let back: Recipe = toml::from_str(&recipe.to_toml().unwrap()).unwrap();
    assert_eq!(back, recipe);
    let rooted = recipe.rooted_at(Path::new("/night"));
    let Step::Stack(st) = &rooted.steps[0] else {
        panic!()
    };
    assert_eq!(st.files[0], Path::new("/night/a.fits"));

    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[step]]\nrun = \"combine\"\nfiles = [\"a.fits\"]\noutput = \"o.fits\"\nsigma_lo = 3\n",
    )
    .unwrap();
    fails_clearly(&["run", s(&bad)], &["bad.toml", "sigma_lo"]);
    std::fs::write(&bad, "[[step]]\nrun = \"reduce\"\n").unwrap();
    fails_clearly(&["run", s(&bad)], &["bad.toml", "reduce"]);
}
