//! The desktop app driven headlessly with egui_kittest: open a night, select a frame by its name,
//! and find it displayed with its zscale limits.
#![cfg(feature = "gui")]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use skycomb::gui::App;

/// Run frames until the app's background work is done.
fn settle(harness: &mut Harness<'_, App>) {
    for _ in 0..500 {
        harness.step();
        if !harness.state().busy() {
            harness.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the app did not settle");
}

#[test]
fn open_the_night_select_a_light_frame_and_see_it() {
    let d = tempfile::tempdir().unwrap();
    skycomb::sample::write_sample_night(
        d.path(),
        skycomb::sample::SampleNightParams { size: 96, seed: 3 },
        Default::default(),
    )
    .unwrap();
    let app = App::new(d.path().to_path_buf());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    settle(&mut harness);
    assert_eq!(
        harness.state().collection.as_ref().unwrap().frames.len(),
        30
    );
    harness.get_by_label("sci_R_003.fits").click();
    harness.run();
    settle(&mut harness);
    let app = harness.state();
    let loaded = app.image.as_ref().expect("the frame is shown");
    assert_eq!(loaded.name, "sci_R_003.fits");
    let want = skycomb::display::zscale(loaded.frame.data.view(), &Default::default()).unwrap();
    assert_eq!(loaded.limits, want, "displayed with zscale");
    // the status line names the frame and its limits
    harness.get_by_label_contains("sci_R_003.fits   zscale");

    // switch to minmax and back to zscale; then a stretch and a colormap
    harness.get_by_label("minmax").click();
    harness.run();
    settle(&mut harness);
    let l = harness.state().image.as_ref().unwrap();
    let minmax =
        skycomb::display::limits(l.frame.data.view(), &skycomb::display::Interval::MinMax).unwrap();
    assert_eq!(l.limits, minmax);
    harness.get_by_label("zscale").click();
    harness.run();
    settle(&mut harness);
    assert_eq!(harness.state().image.as_ref().unwrap().limits, want);
    harness.get_by_label("asinh").click();
    harness.run();
    harness.get_by_label("viridis").click();
    harness.run();
    settle(&mut harness);
    let look = harness.state().look;
    assert_eq!(
        (look.stretch, look.colormap),
        (
            skycomb::display::Stretch::Asinh,
            skycomb::display::Colormap::Viridis
        )
    );
    let (lo, hi) = harness.state().image.as_ref().unwrap().limits;
    harness.get_by_label(&format!(
        "sci_R_003.fits   zscale {lo:.1} .. {hi:.1}   asinh"
    ));
}
