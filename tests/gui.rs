//! The desktop app driven headlessly with egui_kittest: open a night, select a frame by its name,
//! and find it displayed with its zscale limits.
#![cfg(feature = "gui")]

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
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

/// The app on a fresh 96-row sample night in a 1280x800 window, scanned.
fn open_sample_night(d: &tempfile::TempDir) -> Harness<'static, App> {
    open_folder(&sample_night_at(d.path().to_path_buf()))
}

/// A fresh 96-row sample night written into `night`.
fn sample_night_at(night: std::path::PathBuf) -> std::path::PathBuf {
    skycomb::sample::write_sample_night(
        &night,
        skycomb::sample::SampleNightParams {
            size: 96,
            seed: 3,
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap();
    night
}

/// The app on a folder in a 1280x800 window, scanned.
fn open_folder(dir: &std::path::Path) -> Harness<'static, App> {
    open_app(App::new(dir.to_path_buf()))
}

/// An app in a 1280x800 window, its folder scanned.
fn open_app(app: App) -> Harness<'static, App> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    settle(&mut harness);
    harness
}

/// The screen point (points) of the 0-based pixel centre (x, y) of the shown frame.
fn screen_of(harness: &Harness<'static, App>, (x, y): (f64, f64)) -> egui::Pos2 {
    let app = harness.state();
    let (view, rect) = (app.view.unwrap(), app.viewer_rect.unwrap());
    let ppp = harness.ctx.pixels_per_point() as f64;
    let (sx, sy) = view.to_screen((x + 0.5, y + 0.5));
    rect.min + egui::vec2((sx / ppp) as f32, (sy / ppp) as f32)
}

/// The sample night's truth: star positions (0-based, frame 1) and each light frame's dither.
fn truth(d: &tempfile::TempDir) -> serde_json::Value {
    let text = std::fs::read_to_string(d.path().join("truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Type into the browser's filter box.
fn filter_rows(harness: &mut Harness<'static, App>, text: &str) {
    let role = egui::accesskit::Role::TextInput;
    harness.get_by_role_and_label(role, "filter").focus();
    harness.run();
    harness
        .get_by_role_and_label(role, "filter")
        .type_text(text);
    harness.run();
}

/// Click a frame in the table by its file name and wait until it is drawn.
fn show(harness: &mut Harness<'static, App>, file: &str) {
    harness.get_by_label(file).scroll_to_me();
    harness.run();
    harness.get_by_label(file).click();
    harness.run();
    settle(harness);
}

#[test]
fn open_the_night_select_a_light_frame_and_see_it() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    assert_eq!(
        harness.state().collection.as_ref().unwrap().frames.len(),
        30
    );
    show(&mut harness, "sci_R_003.fits");
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
    let look = harness.state().prefs.look;
    assert_eq!(
        (look.stretch, look.colormap),
        (
            skycomb::display::Stretch::Asinh,
            skycomb::display::Colormap::Viridis
        )
    );
    let (lo, hi) = harness.state().image.as_ref().unwrap().limits;
    harness.get_by_label_contains(&format!(
        "sci_R_003.fits   zscale {lo:.1} .. {hi:.1}   asinh"
    ));
}

#[test]
fn zoom_with_the_wheel_about_the_cursor_pan_by_dragging_and_fit_with_f() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    show(&mut harness, "sci_R_003.fits");
    let fit = harness.state().view.expect("the frame is drawn");
    // the frame (96 rows, 160 columns with overscan) fits the viewer, centred
    let (ny, nx) = harness.state().image.as_ref().unwrap().frame.data.dim();
    assert_eq!(fit.center, (nx as f64 / 2.0, ny as f64 / 2.0));
    let (w, h) = fit.viewport;
    assert_eq!(fit.zoom, (w / nx as f64).min(h / ny as f64));

    // hover the viewer's centre, read the pixel, wheel in: the same pixel stays under the cursor
    let viewer = egui::pos2(900.0, 400.0);
    harness.hover_at(viewer);
    harness.run();
    let under = harness.state().hover.expect("a pixel under the cursor");
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 120.0),
        modifiers: egui::Modifiers::NONE,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
    });
    harness.run();
    let zoomed = harness.state().view.unwrap();
    assert!(zoomed.zoom > fit.zoom * 1.2, "{zoomed:?}");
    harness.hover_at(viewer);
    harness.run();
    assert_eq!(
        harness.state().hover.map(|h| (h.0, h.1)),
        Some((under.0, under.1))
    );

    // drag right by 100 screen pixels: the image moves right with the mouse
    let before = harness.state().view.unwrap();
    harness.drag_at(viewer);
    harness.run();
    for dx in [20.0, 50.0, 100.0] {
        harness.hover_at(viewer + egui::vec2(dx, 0.0));
        harness.run();
    }
    harness.drop_at(viewer + egui::vec2(100.0, 0.0));
    harness.run();
    let panned = harness.state().view.unwrap();
    let moved = (before.center.0 - panned.center.0) * panned.zoom;
    assert!((moved - 100.0).abs() < 1.0, "moved {moved} screen px");
    assert_eq!(panned.center.1, before.center.1);

    // 1 shows one image pixel per screen pixel, F fits again
    harness.key_press(egui::Key::Num1);
    harness.run();
    assert_eq!(harness.state().view.unwrap().zoom, 1.0);
    harness.get_by_label_contains("zoom 1:1");
    harness.key_press(egui::Key::F);
    harness.run();
    assert_eq!(harness.state().view.unwrap(), fit);
}

#[test]
fn the_header_panel_searches_the_cards() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    show(&mut harness, "sci_R_003.fits");
    harness.get_by_label("header").click();
    harness.run();
    let all = harness
        .state()
        .image
        .as_ref()
        .unwrap()
        .frame
        .header
        .cards
        .len();

    assert!(harness.query_by_label_contains("EXPTIME =").is_some());
    harness.key_press(egui::Key::Num1);
    harness.run();
    let view = harness.state().view.map(|v| (v.zoom, v.center));
    assert_eq!(view.unwrap().0, 1.0);
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Header")
        .focus();
    harness.run();
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Header")
        .type_text("filter");
    harness.key_press(egui::Key::F); // a real keyboard sends the key as well as the text
    harness.run();
    // only the FILTER card is left; typing "f" into the box did not refit the viewer
    assert!(harness.query_by_label_contains("EXPTIME =").is_none());
    harness.get_by_label_contains("FILTER  = 'R");
    harness.get_by_label("1 cards");
    assert!(all > 5);
    assert_eq!(harness.state().view.map(|v| (v.zoom, v.center)), view);
}

#[test]
fn limits_set_under_the_histogram_or_dragged_in_it_redraw_the_frame() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    show(&mut harness, "sci_R_003.fits");
    let (lo, hi) = harness.state().image.as_ref().unwrap().limits;
    let histogram = harness.state().image.as_ref().unwrap().histogram.clone();
    let h = histogram.expect("a histogram under the image");
    assert!(h.lo < lo && h.hi > hi, "the histogram spans the limits");

    // set a new high limit in its box
    let spin = harness
        .query_all_by_role(egui::accesskit::Role::SpinButton)
        .nth(1);
    spin.expect("the high limit box")
        .set_value_accesskit(5000.0);
    harness.run();
    settle(&mut harness);
    let l = harness.state().image.as_ref().unwrap();
    assert_eq!(l.limits, (lo, 5000.0));
    assert_eq!(
        harness.state().prefs.look.interval,
        skycomb::display::Interval::Manual {
            low: lo,
            high: 5000.0
        }
    );
    harness.get_by_label_contains(&format!("manual {lo:.1} .. 5000.0"));

    // drag in the plot near its left end: the low limit follows the mouse
    let plot = harness
        .state()
        .image
        .as_ref()
        .unwrap()
        .histogram
        .clone()
        .unwrap();
    let spins: Vec<_> = harness
        .query_all_by_role(egui::accesskit::Role::SpinButton)
        .map(|n| n.rect())
        .collect();
    let below = spins[0].bottom() + 25.0;
    let start = egui::pos2(spins[0].left() + 80.0, below);
    harness.drag_at(start);
    harness.run();
    harness.hover_at(start + egui::vec2(10.0, 0.0));
    harness.run();
    harness.drop_at(start + egui::vec2(10.0, 0.0));
    harness.run();
    settle(&mut harness);
    let l = harness.state().image.as_ref().unwrap();
    assert_ne!(l.limits.0, lo, "the low limit moved");
    assert_eq!(l.limits.1, 5000.0, "the high limit stayed");
    assert!(
        l.limits.0 > plot.lo && l.limits.0 < 5000.0,
        "{:?}",
        l.limits
    );
    let manual = harness.state().prefs.look.interval;

    // the next frame is drawn with zscale again: manual limits do not leak ...
    show(&mut harness, "sci_R_004.fits");
    let zscale = skycomb::display::Interval::ZScale(Default::default());
    assert_eq!(harness.state().prefs.look.interval, zscale);
    let (_, high) = harness.state().image.as_ref().unwrap().limits;
    assert_ne!(high, 5000.0);
    // ... unless locked: then they stay on the next frames of the night
    show(&mut harness, "sci_R_003.fits");
    let ctx = harness.ctx.clone();
    let look = skycomb::gui::app::Look {
        interval: manual,
        ..harness.state().prefs.look
    };
    harness.state_mut().set_look(look, &ctx);
    harness.get_by_label("lock").click();
    harness.run();
    assert!(harness.state().lock_limits);
    show(&mut harness, "sci_R_005.fits");
    assert_eq!(harness.state().prefs.look.interval, manual);
    assert_eq!(harness.state().image.as_ref().unwrap().limits.1, 5000.0);
    // another folder: never, lock or not
    let other = tempfile::tempdir().unwrap();
    let other = sample_night_at(other.path().to_path_buf());
    harness.state_mut().open_folder(other, &ctx);
    settle(&mut harness);
    assert!(!harness.state().lock_limits);
    assert_eq!(harness.state().prefs.look.interval, zscale);
}

#[test]
fn on_a_hidpi_screen_one_to_one_means_device_pixels() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    harness.set_pixels_per_point(2.0);
    harness.run();
    filter_rows(&mut harness, "sci_R_003");
    show(&mut harness, "sci_R_003.fits");
    let fit = harness.state().view.unwrap();
    // the viewport is counted in device pixels: twice the points of the viewer
    let viewer = harness.state().view.unwrap().viewport;
    let (ny, nx) = harness.state().image.as_ref().unwrap().frame.data.dim();
    assert_eq!(fit.zoom, (viewer.0 / nx as f64).min(viewer.1 / ny as f64));
    // a drag of 50 points moves the image by 100 device pixels
    // a point in the viewer, near the window's right edge
    let window = harness.ctx.content_rect();
    let at = egui::pos2(window.right() - 80.0, window.top() + 120.0);
    harness.drag_at(at);
    harness.run();
    harness.hover_at(at + egui::vec2(50.0, 0.0));
    harness.run();
    harness.drop_at(at + egui::vec2(50.0, 0.0));
    harness.run();
    let panned = harness.state().view.unwrap();
    let moved = (fit.center.0 - panned.center.0) * panned.zoom;
    assert!((moved - 100.0).abs() < 1.0, "moved {moved} device px");
}

#[test]
fn the_table_filters_by_header_conditions_and_sorts_by_a_column() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    show(&mut harness, "sci_R_003.fits");
    harness.get_by_label("30 of 30 frames");

    // sort by EXPTIME twice: descending puts the 300 s frames first; the selection follows the file
    harness.get_by_label("EXPTIME").click();
    harness.run();
    harness.get_by_label("EXPTIME ^").click();
    harness.run();
    let app = harness.state();
    let frames = &app.collection.as_ref().unwrap().frames;
    assert_eq!(app.sorted_by, Some(("EXPTIME".to_string(), true)));
    assert_eq!(frames[0].text("EXPTIME"), "300.0");
    assert_eq!(frames.last().unwrap().text("EXPTIME"), "0.0");
    assert_eq!(frames[app.selected.unwrap()].file, "sci_R_003.fits");

    // filter to the V flats; a malformed condition is reported, not applied
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "filter")
        .focus();
    harness.run();
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "filter")
        .type_text("IMAGETYP=flat FILTER=V");
    harness.run();
    harness.get_by_label("5 of 30 frames");
    assert!(harness.query_by_label("flat_V_003.fits").is_some());
    assert!(harness.query_by_label("flat_R_003.fits").is_none());
    harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "filter")
        .type_text(" =oops");
    harness.run();
    harness.get_by_label("30 of 30 frames");
}

#[test]
fn refresh_finds_a_new_file_and_keeps_the_selection() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    show(&mut harness, "sci_R_003.fits");
    std::fs::copy(
        d.path().join("sci_R_007.fits"),
        d.path().join("sci_R_008.fits"),
    )
    .unwrap();
    harness.get_by_label("refresh").click();
    harness.run();
    settle(&mut harness);
    harness.get_by_label("31 of 31 frames");
    filter_rows(&mut harness, "sci_");
    harness.get_by_label("8 of 31 frames");
    assert!(harness.query_by_label("sci_R_008.fits").is_some());
    let app = harness.state();
    let frames = &app.collection.as_ref().unwrap().frames;
    assert_eq!(frames[app.selected.unwrap()].file, "sci_R_003.fits");
}

#[test]
fn a_frame_with_a_wcs_reads_out_ra_and_dec_under_the_cursor() {
    let d = tempfile::tempdir().unwrap();
    let m13 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/shared/odd-astropy/m13.fits"
    );
    std::fs::copy(m13, d.path().join("m13.fits")).unwrap();
    let mut harness = open_folder(d.path());
    show(&mut harness, "m13.fits");
    let window = harness.ctx.content_rect();
    harness.hover_at(egui::pos2(window.right() - 300.0, window.top() + 300.0));
    harness.run();
    let (x, y, _) = harness.state().hover.expect("a pixel under the cursor");
    let l = harness.state().image.as_ref().unwrap();
    let wcs = l.wcs.as_ref().expect("m13.fits has a TAN WCS");
    let (ra, dec) = wcs.pixel_to_world(x as f64, y as f64);
    let text = skycomb::register::wcs::format_ra_dec(ra, dec);
    assert!(text.starts_with("16:4"), "{text}"); // M13 is at 16h41m
    harness.get_by_label_contains(&format!("value {}", l.frame.data[[y, x]]));
    harness.get_by_label_contains(&text);
}

#[test]
fn click_ctrl_click_shift_click_and_group_chips_select_frames() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    filter_rows(&mut harness, "sci_");
    harness.get_by_label("7 of 30 frames");
    let names = |h: &Harness<'static, App>| -> Vec<String> {
        h.state()
            .selected_frames()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    show(&mut harness, "sci_R_002.fits");
    harness
        .get_by_label("sci_R_004.fits")
        .click_modifiers(egui::Modifiers::COMMAND);
    harness.run();
    settle(&mut harness);
    assert_eq!(names(&harness), ["sci_R_002.fits", "sci_R_004.fits"]);
    harness.get_by_label("2 selected");
    // shift-click runs from the last clicked row
    harness
        .get_by_label("sci_R_006.fits")
        .click_modifiers(egui::Modifiers::SHIFT);
    harness.run();
    settle(&mut harness);
    assert_eq!(
        names(&harness),
        ["sci_R_004.fits", "sci_R_005.fits", "sci_R_006.fits"]
    );
    assert_eq!(
        harness.state().image.as_ref().unwrap().name,
        "sci_R_006.fits"
    );
    // ctrl-click takes one out again
    harness
        .get_by_label("sci_R_005.fits")
        .click_modifiers(egui::Modifiers::COMMAND);
    harness.run();
    assert_eq!(names(&harness), ["sci_R_004.fits", "sci_R_006.fits"]);

    // grouped by kind and filter, the group heading selects its frames
    let role = egui::accesskit::Role::TextInput;
    harness.get_by_role_and_label(role, "filter").focus();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    harness.run();
    harness.get_by_label("30 of 30 frames");
    harness.get_by_label("by kind").click();
    harness.run();
    harness.get_by_label("by filter").click();
    harness.run();
    harness.get_by_label("flat · V (5)").click();
    harness.run();
    settle(&mut harness);
    assert_eq!(
        names(&harness),
        (1..=5)
            .map(|i| format!("flat_V_00{i}.fits"))
            .collect::<Vec<_>>()
    );
    assert_eq!(harness.state().prefs.group_by, ["kind", "filter"]);

    // a header keyword typed into "add column" becomes a column with each frame's value
    let role = egui::accesskit::Role::TextInput;
    harness.get_by_role_and_label(role, "add column").focus();
    harness.run();
    harness
        .get_by_role_and_label(role, "add column")
        .type_text("ccd-temp");
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(harness.state().prefs.columns, ["CCD-TEMP"]);
    harness.get_by_label("CCD-TEMP");
    assert!(harness.query_all_by_label("-20.0").count() >= 5);
}

/// On the sample night: show sci_R_001, click two pixels off the brightest star that stays well
/// inside every light frame (the marker must snap to within 0.1 px of truth), shift-click the
/// seven light frames and measure offsets. Returns the star (truth.json's entry).
fn mark_a_star_and_measure_offsets(
    harness: &mut Harness<'static, App>,
    truth: &serde_json::Value,
) -> serde_json::Value {
    filter_rows(harness, "sci_");
    show(harness, "sci_R_001.fits");
    harness.get_by_label("stars").click();
    harness.run();
    harness.get_by_label("measure").click();
    harness.run();
    // zoom in (key 1 then +) so one image pixel spans several screen points
    harness.key_press(egui::Key::Num1);
    harness.key_press(egui::Key::Plus);
    harness.run();

    // click two pixels off a bright star: the marker snaps to its centroid
    let dither = |file: &str, k: &str| truth["frames"][file][k].as_f64().unwrap();
    let lights: Vec<String> = (1..=7).map(|i| format!("sci_R_00{i}.fits")).collect();
    // the brightest star that stays 10 pixels inside the 96-pixel data area in every light frame
    let inside = |s: &serde_json::Value| {
        lights.iter().all(|f| {
            let x = s["x"].as_f64().unwrap() + dither(f, "dx");
            let y = s["y"].as_f64().unwrap() + dither(f, "dy");
            (10.0..86.0).contains(&x) && (10.0..86.0).contains(&y)
        })
    };
    let star = truth["stars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| inside(s))
        .max_by(|a, b| {
            a["flux"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["flux"].as_f64().unwrap())
        })
        .unwrap();
    let (tx, ty) = (
        star["x"].as_f64().unwrap() + dither("sci_R_001.fits", "dx"),
        star["y"].as_f64().unwrap() + dither("sci_R_001.fits", "dy"),
    );
    let at = screen_of(harness, (tx.round() + 2.0, ty.round() - 1.0));
    harness.hover_at(at);
    harness.run();
    harness.drag_at(at);
    harness.drop_at(at);
    harness.run();
    let stars = &harness.state().measuring.stars;
    assert_eq!(stars.len(), 1, "{:?}", harness.state().measuring.message);
    let c = stars[0].centroid;
    assert!(
        (c.x - tx).abs() < 0.1 && (c.y - ty).abs() < 0.1,
        "{c:?} vs {tx} {ty}"
    );
    assert!(stars[0].reference);
    // the table shows it FITS 1-based
    harness.get_by_label(&format!("{:.2}", c.x + 1.0));
    harness.get_by_label(&format!("{:.2}", c.y + 1.0));

    // select the seven light frames and follow the star through them
    harness
        .get_by_label("sci_R_007.fits")
        .click_modifiers(egui::Modifiers::SHIFT);
    harness.run();
    settle(harness);
    harness.get_by_label("measure offsets").click();
    harness.step();
    settle(harness);
    star.clone()
}

#[test]
fn a_click_snaps_to_the_star_and_offsets_follow_it_through_the_light_frames() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    let truth = truth(&d);
    let dither = |file: &str, k: &str| truth["frames"][file][k].as_f64().unwrap();
    let star = mark_a_star_and_measure_offsets(&mut harness, &truth);
    let m = &harness.state().measuring;
    assert_eq!(m.offsets.len(), 7);
    for r in &m.offsets {
        let (dx, dy) = r.offset.clone().unwrap();
        let want = (
            dither(&r.file, "dx") - dither("sci_R_001.fits", "dx"),
            dither(&r.file, "dy") - dither("sci_R_001.fits", "dy"),
        );
        assert!(
            (dx - want.0).abs() < 0.1 && (dy - want.1).abs() < 0.1,
            "{}: ({dx}, {dy}) vs {want:?}",
            r.file
        );
    }

    // the star's marker is on every frame, carried through its offset to the star there
    for k in 2..=7 {
        let file = format!("sci_R_{k:03}.fits");
        let markers = harness.state().markers_on(&file);
        assert_eq!(markers.len(), 1, "{file}");
        let (x, y) = (
            star["x"].as_f64().unwrap() + dither(&file, "dx"),
            star["y"].as_f64().unwrap() + dither(&file, "dy"),
        );
        let m = &markers[0];
        assert!(!m.picked_here && (m.at.0 - x).abs() < 0.1 && (m.at.1 - y).abs() < 0.1);
    }

    // save, edit, load back: the file holds what was measured
    let path = d.path().join("offsets.txt");
    harness.state_mut().save_offsets(&path).unwrap();
    let saved = harness.state().measuring.offsets[3].offset.clone().unwrap();
    harness.state_mut().measuring.offsets[3].offset = Ok((99.0, 99.0));
    harness.state_mut().load_offsets(&path).unwrap();
    let back = harness.state().measuring.offsets[3].offset.clone().unwrap();
    assert!((back.0 - saved.0).abs() < 1e-3 && (back.1 - saved.1).abs() < 1e-3);

    // blink the seven frames registered: the star stands still on the screen
    assert!(
        harness.query_by_label("high").is_some(),
        "the histogram's limits"
    );
    harness.get_by_label("blink").click();
    harness.step();
    settle(&mut harness);
    assert_eq!(harness.state().blink.frames.len(), 7);
    harness.get_by_label("pause").click();
    harness.run();
    let star_on_screen = |h: &Harness<'static, App>| {
        let app = h.state();
        let file = &app.blink.frame().unwrap().file;
        let (x, y) = (
            star["x"].as_f64().unwrap() + dither(file, "dx"),
            star["y"].as_f64().unwrap() + dither(file, "dy"),
        );
        let view = app.blink_view(&app.view.unwrap());
        (view.to_screen((x, y)), view.zoom)
    };
    let (first, zoom) = star_on_screen(&harness);
    for _ in 0..7 {
        let before = harness.state().blink.current;
        harness.get_by_label(">").click();
        harness.run();
        let k = harness.state().blink.current;
        assert_eq!(k, (before + 1) % 7);
        let (at, _) = star_on_screen(&harness);
        let moved = (at.0 - first.0).hypot(at.1 - first.1) / zoom;
        assert!(moved < 0.1, "frame {k}: the star moved {moved} px");
        let caption = format!("sci_R_00{}.fits   {} of 7   dx ", k + 1, k + 1);
        assert!(harness.query_by_label_contains(&caption).is_some());
        // the status line names the frame on screen, and no histogram of another frame shows
        let status = format!("sci_R_00{}.fits (blink {}/7)", k + 1, k + 1);
        assert!(
            harness.query_by_label_contains(&status).is_some(),
            "{status}"
        );
        assert!(harness.query_by_label("high").is_none(), "no histogram");
    }
    // raw, the star jumps by the dither
    harness.get_by_label("registered").click();
    harness.run();
    let (raw, _) = star_on_screen(&harness);
    assert!((raw.0 - first.0).abs() / zoom > 1.0);
    // playing at 0.1 s it moves on by itself; Escape stops
    harness.state_mut().prefs.blink_interval_s = 0.1;
    harness.key_press(egui::Key::Space);
    harness.step();
    let before = harness.state().blink.current;
    std::thread::sleep(std::time::Duration::from_millis(250));
    harness.step();
    harness.step();
    assert!(harness.state().blink.playing);
    assert_ne!(harness.state().blink.current, before);
    harness.key_press(egui::Key::Escape);
    harness.run();
    assert!(!harness.state().blink.active);

    // the marker can be removed
    harness.get_by_label("remove").click();
    harness.run();
    assert!(harness.state().measuring.stars.is_empty());

    // a click on the emptiest sky of the frame shown (the box clear of every star) makes no
    // marker and says why
    let shown = harness.state().image.as_ref().unwrap().name.clone();
    let clearance = |x: f64, y: f64| {
        truth["stars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let sx = s["x"].as_f64().unwrap() + dither(&shown, "dx");
                let sy = s["y"].as_f64().unwrap() + dither(&shown, "dy");
                (sx - x).hypot(sy - y)
            })
            .fold(f64::INFINITY, f64::min)
    };
    let empty = (8..88)
        .flat_map(|y| (8..88).map(move |x| (x as f64, y as f64)))
        .max_by(|a, b| clearance(a.0, a.1).total_cmp(&clearance(b.0, b.1)))
        .unwrap();
    assert!(clearance(empty.0, empty.1) > 15.0, "{empty:?}");
    harness.state_mut().pick_star(empty.0, empty.1);
    harness.run();
    assert!(harness.state().measuring.stars.is_empty());
    let said = harness
        .state()
        .measuring
        .message
        .clone()
        .unwrap_or_default();
    assert!(said.starts_with("no star at"), "{said}");
}

/// A FITS header block of `cards` (80-column, padded to 2880 bytes).
fn header_block(cards: &[&str]) -> Vec<u8> {
    let mut b: Vec<u8> = cards
        .iter()
        .chain(["END"].iter())
        .flat_map(|c| format!("{c:<80}").into_bytes())
        .collect();
    b.resize(b.len().div_ceil(2880) * 2880, b' ');
    b
}

#[test]
fn bad_files_are_listed_or_shown_with_a_message_never_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let write = |name: &str, data: ndarray::Array2<f32>| {
        skycomb::fits::write::write_f32(
            &d.path().join(name),
            data.view(),
            &Default::default(),
            Default::default(),
        )
        .unwrap();
    };
    write("all_nan.fits", ndarray::Array2::from_elem((8, 8), f32::NAN));
    write(
        "one_column.fits",
        ndarray::Array2::from_shape_fn((50, 1), |(y, _)| y as f32),
    );
    std::fs::write(d.path().join("notes.fits"), "this is not FITS\n").unwrap();
    let mut table = header_block(&[
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    0",
        "EXTEND  =                    T",
    ]);
    table.extend(header_block(&[
        "XTENSION= 'BINTABLE'",
        "BITPIX  =                    8",
        "NAXIS   =                    2",
        "NAXIS1  =                    4",
        "NAXIS2  =                    1",
        "PCOUNT  =                    0",
        "GCOUNT  =                    1",
        "TFIELDS =                    1",
        "TTYPE1  = 'FLUX'",
        "TFORM1  = '1E'",
    ]));
    table.extend(vec![0u8; 2880]);
    std::fs::write(d.path().join("table_only.fits"), table).unwrap();

    let mut harness = open_folder(d.path());
    let app = harness.state();
    let problems: Vec<String> = app
        .collection
        .as_ref()
        .unwrap()
        .problems
        .iter()
        .map(|p| p.reason.clone())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    for (file, _) in [("notes.fits", ()), ("table_only.fits", ())] {
        let reason = problems.iter().find(|r| r.contains(file)).unwrap();
        // the reason is shown in the browser, as it is
        harness.get_by_label(reason);
    }
    harness.get_by_label("2 unreadable");

    // an all-NaN frame is drawn (black) and says why
    show(&mut harness, "all_nan.fits");
    assert!(harness.state().image.is_some());
    assert!(harness.query_by_label_contains("no finite pixel").is_some());
    // every interval and stretch copes
    for look in ["minmax", "99%", "log", "asinh", "histogram equalisation"] {
        harness.get_by_label(look).click();
        harness.run();
        settle(&mut harness);
        assert!(harness.state().image.as_ref().unwrap().blank);
    }
    // a frame one pixel wide fits the viewer, reads out and measures without a crash
    show(&mut harness, "one_column.fits");
    let app = harness.state();
    assert_eq!(app.image.as_ref().unwrap().frame.data.dim(), (50, 1));
    let view = app.view.unwrap();
    assert!(view.zoom.is_finite() && view.zoom > 0.0);
    let at = screen_of(&harness, (0.0, 25.0));
    harness.hover_at(at);
    harness.run();
    assert_eq!(harness.state().hover, Some((0, 25, 25.0)));
    harness.state_mut().pick_star(0.0, 25.0);
    harness.run();
}

/// Click a widget of a side panel wherever its scroll area has it (an accessibility click: a
/// mouse click lands where the widget was a frame ago, while a scroll may still move it).
fn press(harness: &mut Harness<'static, App>, label: &str) {
    harness.get_by_label(label).click_accesskit();
    harness.run();
}

/// Click a button of the reduce panel and wait for its step to end.
fn run_step(harness: &mut Harness<'static, App>, button: &str) {
    press(harness, button);
    settle(harness);
    let log = &harness.state().reduce.log;
    assert!(log.last().unwrap().starts_with("done"), "{log:?}");
}

#[test]
fn calibrate_combine_the_flats_stack_the_lights_and_look_at_the_npix_map() {
    let d = tempfile::tempdir().unwrap();
    let raw = sample_night_at(d.path().join("raw"));
    // a cosmic ray in the raw reference frame (trimmed and raw pixels coincide here)
    let (cr_x, cr_y) = (40usize, 30usize);
    let reference = raw.join("sci_R_001.fits");
    let mut f = skycomb::Frame::open(&reference).unwrap();
    f.data[[cr_y, cr_x]] = 60000.0;
    let overwrite = skycomb::fits::WriteOptions { overwrite: true };
    skycomb::fits::write::write_f32(&reference, f.data.view(), &f.header, overwrite).unwrap();
    let mut harness = open_folder(&raw);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(raw.join("truth.json")).unwrap()).unwrap();
    // offsets from a marked star on the raw light frames
    mark_a_star_and_measure_offsets(&mut harness, &truth);
    assert_eq!(harness.state().measuring.offsets.len(), 7);

    // the plan from the headers, then calibrate into the sibling folder raw_reduced
    harness.get_by_label("stars").click();
    harness.get_by_label("reduce").click();
    harness.run();
    harness.get_by_label_contains("master bias  <-");
    harness.get_by_label_contains("science sci_R_001.fits");
    run_step(&mut harness, "calibrate the night");
    // the log names files relative to the night's folder, the whole path on hover
    harness.get_by_label_contains("s: calibrate raw -> raw_reduced");
    let reduced = d.path().join("raw_reduced");
    assert_eq!(harness.state().folder, reduced);
    settle(&mut harness);
    for name in ["master_bias.fits", "master_flat_R.fits", "sci_R_001.fits"] {
        assert!(reduced.join(name).is_file(), "{name}");
    }
    // the browser holds the calibrated night (its table is still filtered by "sci_")
    let c = harness.state().collection.as_ref().unwrap();
    assert!(c.frames.iter().any(|f| f.file == "master_flat_R.fits"));
    assert!(harness.query_all_by_label("sci_R_001.fits").count() >= 1);

    // combine the raw R flats: their defaults are inverse-median scaling and a 5/5 sigma clip
    press(&mut harness, "back to the raw night");
    settle(&mut harness);
    assert_eq!(harness.state().folder, raw);
    harness.state_mut().row_filter.clear();
    harness.get_by_label("by kind").click();
    harness.get_by_label("by filter").click();
    harness.run();
    harness.get_by_label_contains("flat · R (").click();
    harness.run();
    assert_eq!(
        harness.state().selected_frames().len(),
        5,
        "the five raw R flats"
    );
    assert_eq!(harness.state().reduce.combine.scale, "inv-median");
    assert!(!harness.state().reduce.dithered);
    run_step(&mut harness, "combine the frames");
    let flat = skycomb::Frame::open(&reduced.join("combined_flat.fits")).unwrap();
    assert!(flat.header.get_str("SCALE").unwrap().contains("median"));

    // stack the calibrated lights with the offsets of the marked star, maps on
    press(&mut harness, "show the calibrated frames");
    settle(&mut harness);
    assert_eq!(harness.state().folder, reduced);
    harness.get_by_label_contains("light · R (").click();
    harness.run();
    assert!(harness.state().reduce.dithered, "light frames are stacked");
    // the maps are on by default; a stack offers the maps it writes
    assert!(harness.state().reduce.write_maps);
    harness.get_by_label("npix and rejected maps");
    // a typo in an option shows before the click, and the button waits for a fix
    harness.get_by_label("scale").focus();
    harness.run();
    harness.get_by_label("scale").type_text("x");
    harness.run();
    assert_eq!(harness.state().reduce.combine.scale, "nonex");
    harness.get_by_label_contains("--scale \"nonex\": expected none");
    assert!(
        harness
            .get_by_label("stack the frames")
            .accesskit_node()
            .is_disabled()
    );
    harness.state_mut().reduce.combine.scale = "none".into();
    harness.run();
    assert!(
        !harness
            .get_by_label("stack the frames")
            .accesskit_node()
            .is_disabled()
    );
    press(&mut harness, "use the offsets table");
    assert!(harness.state().reduce.stack.offsets.starts_with("file:"));
    run_step(&mut harness, "stack the frames");
    let stacked = reduced.join("combined_light.fits");
    let npix_path = reduced.join("combined_light_npix.fits");
    let image = skycomb::Frame::open(&stacked).unwrap();
    assert_eq!(image.header.get_f64("NCOMBINE"), Some(7.0));
    // stacking again asks before replacing the stack; the recipe keeps one step per output
    let steps = harness.state().reduce.recipe.steps.len();
    press(&mut harness, "stack the frames");
    settle(&mut harness);
    harness.get_by_label("combined_light.fits exists. Replace it?");
    assert!(
        harness
            .state()
            .reduce
            .log
            .iter()
            .all(|l| !l.contains("--overwrite"))
    );
    press(&mut harness, "replace");
    settle(&mut harness);
    assert!(harness.state().reduce.ask_overwrite.is_none());
    assert!(
        harness
            .query_by_label("combined_light.fits exists. Replace it?")
            .is_none()
    );
    assert_eq!(harness.state().reduce.recipe.steps.len(), steps);
    assert!(
        harness
            .state()
            .reduce
            .log
            .last()
            .unwrap()
            .starts_with("done in"),
        "{:?}",
        harness.state().reduce.log
    );
    // inspect the cosmic ray's pixel on the canvas: rejected by the sigma rule, the result is sky
    let origin = match &harness.state().reduce.result.as_ref().unwrap().report {
        Some(skycomb::recipe::StepReport::Stack(r)) => r.canvas_origin,
        _ => panic!("a stack report"),
    };
    let on_canvas = (cr_x as i64 - origin[0], cr_y as i64 - origin[1]);
    settle(&mut harness);
    harness.get_by_label("inspect").click();
    harness.run();
    let at = screen_of(&harness, (on_canvas.0 as f64, on_canvas.1 as f64));
    harness.hover_at(at);
    harness.run();
    harness.drag_at(at);
    harness.drop_at(at);
    harness.run();
    for _ in 0..200 {
        if harness.state().inspector.shown.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        harness.step();
    }
    harness.run();
    let p = harness.state().inspector.shown.clone().unwrap().unwrap();
    assert_eq!((p.x as i64, p.y as i64), on_canvas);
    let cr = &p.values[0];
    // on the canvas, with the frame's sky subtracted
    assert_eq!(cr.frame, "sci_R_001.fits");
    assert!(cr.raw > 40000.0, "{cr:?}");
    assert_eq!(cr.reason, skycomb::combine::kernel::Reason::Sigma);
    assert!(p.value < 10000.0 && p.n_used >= 5, "{p:?}");
    harness.get_by_label_contains(&format!("pixel {} {} (FITS)", p.x + 1, p.y + 1));
    assert!(harness.query_all_by_label("sigma").count() >= 1);

    // photometry of the marked star through the seven frames and the stack: each frame's scale
    // factor is the reference frame's transparency over its own (truth.json), within 3 % with one
    // star while the seeing goes from 3.0 to 4.2 px
    harness.state_mut().prefs.show_stars = true;
    harness.state_mut().dock = skycomb::gui::app::Dock::Stars;
    harness.run();
    press(&mut harness, "photometry");
    for _ in 0..300 {
        harness.step();
        if !harness.state().photometry.running {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    harness.run();
    let table = &harness.state().photometry;
    assert!(table.problems.is_empty(), "{:?}", table.problems);
    assert_eq!(table.rows.len(), 8, "seven frames and the stack");
    let transparency = |f: &str| truth["frames"][f]["transparency"].as_f64().unwrap();
    for (file, scale) in &table.scales {
        // (sci_R_004 has a satellite trail through the star's aperture: its flux is too high)
        if file.starts_with("sci_R") && truth["frames"][file]["satellite_trail"].is_null() {
            let want = transparency("sci_R_001.fits") / transparency(file);
            assert!(
                (scale / want - 1.0).abs() < 0.03,
                "{file}: {scale} vs {want}"
            );
        }
    }
    let stack_row = table
        .rows
        .iter()
        .find(|r| r.row.file == "combined_light.fits")
        .unwrap();
    assert!(
        stack_row.ratio > 0.8 && stack_row.ratio < 1.2,
        "{stack_row:?}"
    );
    let csv = d.path().join("photometry.csv");
    harness.state().save_photometry(&csv).unwrap();
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 9);
    harness.state_mut().dock = skycomb::gui::app::Dock::Reduce;
    harness.run();
    // the frames' scale factors can scale the next stack
    press(&mut harness, "scale by the photometry");
    let scale_file = std::path::PathBuf::from(&harness.state().reduce.combine.scale);
    let written = std::fs::read_to_string(&scale_file).unwrap();
    let (_, s5) = harness
        .state()
        .photometry
        .scales
        .iter()
        .find(|s| s.0 == "sci_R_005.fits")
        .unwrap();
    assert!(
        written.contains(&format!("sci_R_005.fits {s5}\n")),
        "{written}"
    );

    // the result is shown with its maps as tabs (same zoom and pan); M steps to the next map
    assert_eq!(harness.state().wanted.as_ref(), Some(&stacked));
    settle(&mut harness);
    let view = harness.state().view;
    harness.get_by_label("npix").click();
    harness.run();
    settle(&mut harness);
    assert_eq!(harness.state().wanted.as_ref(), Some(&npix_path));
    assert_eq!(harness.state().view, view);
    let shown = &harness.state().image.as_ref().unwrap().frame;
    let npix = skycomb::Frame::open(&npix_path).unwrap();
    assert_eq!(shown.data, npix.data);
    // the dithers leave the canvas edges covered by fewer frames than its middle
    let (ny, nx) = npix.data.dim();
    assert_eq!(npix.data[[ny / 2, nx / 2]], 7.0);
    assert!(npix.data.iter().any(|&v| v < 7.0));
    harness.key_press(egui::Key::M);
    harness.run();
    let rejected = reduced.join("combined_light_rejected.fits");
    assert_eq!(harness.state().wanted.as_ref(), Some(&rejected));

    // export: the shown map as FITS where the person chooses (the bytes, header and all), and the
    // view as a PNG of every pixel with the limits and colours shown
    let exported = d.path().join("export").join("npix.fits");
    std::fs::create_dir_all(exported.parent().unwrap()).unwrap();
    let png = d.path().join("export").join("view.png");
    let ctx = harness.ctx.clone();
    harness.state_mut().export_fits(exported.clone(), &ctx);
    harness.state_mut().export_png(png.clone(), &ctx);
    for _ in 0..300 {
        harness.step();
        if png.is_file() && exported.is_file() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    harness.run();
    assert!(std::fs::read(&exported).unwrap() == std::fs::read(&rejected).unwrap());
    harness.get_by_label_contains("wrote ");
    let img = image::open(&png).unwrap().to_rgb8();
    let shown = harness.state().image.as_ref().unwrap();
    let (ny, nx) = shown.frame.data.dim();
    assert_eq!(img.dimensions(), (nx as u32, ny as u32));
    let look = harness.state().prefs.look;
    let renderer = look.renderer(&shown.frame, shown.limits);
    // PNG row 0 is the top: FITS row ny - 1
    assert_eq!(
        img.get_pixel(3, 0).0,
        renderer.rgb(shown.frame.data[[ny - 1, 3]])
    );

    // the recipe of the three steps runs from the command line to the same bytes
    let recipe = d.path().join("night.toml");
    harness.state().save_recipe(&recipe).unwrap();
    // and, loaded into a fresh app, it restores the panels
    let mut fresh = open_folder(&raw);
    fresh.state_mut().load_recipe(&recipe).unwrap();
    let (was, now) = (&harness.state().reduce, &fresh.state().reduce);
    assert_eq!(now.calibrate, was.calibrate);
    assert_eq!(
        (now.dithered, now.output_name.as_str()),
        (true, "combined_light.fits")
    );
    assert_eq!(now.stack, was.stack);
    assert_eq!(now.recipe.steps.len(), 3);
    // a calibrated folder opened on its own (it holds the masters) takes the outputs itself
    assert_eq!(open_folder(&reduced).state().output_folder(), reduced);
    assert_eq!(fresh.state().output_folder(), d.path().join("raw_reduced"));
    let before: Vec<Vec<u8>> = [&stacked, &npix_path]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    std::fs::remove_file(&stacked).unwrap();
    std::fs::remove_file(&npix_path).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skycomb"))
        .args(["run", recipe.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (p, b) in [&stacked, &npix_path].iter().zip(&before) {
        assert!(std::fs::read(p).unwrap() == *b, "{} differs", p.display());
    }
}

#[test]
fn a_combine_cancelled_halfway_leaves_no_output_file() {
    let d = tempfile::tempdir().unwrap();
    let night = d.path().join("flats");
    std::fs::create_dir(&night).unwrap();
    // ten 1024x1024 flats: enough bands under a 2 MB limit for the cancel to land mid-way
    let mut header = skycomb::fits::Header::default();
    header.set(
        "IMAGETYP",
        skycomb::fits::header::Value::Str("flat".into()),
        "",
    );
    for i in 0..10 {
        let data = ndarray::Array2::from_shape_fn((1024, 1024), |(y, x)| {
            (10000 + (x * 7 + y * 13 + i * 31) % 97) as f32
        });
        let path = night.join(format!("flat_{i:02}.fits"));
        skycomb::fits::write::write_f32(&path, data.view(), &header, Default::default()).unwrap();
    }
    let mut harness = open_folder(&night);
    press(&mut harness, "reduce");
    harness.get_by_label("by kind").click();
    harness.run();
    harness.get_by_label_contains("flat (10)").click();
    harness.run();
    assert_eq!(harness.state().selected_frames().len(), 10);
    harness.state_mut().reduce.combine.memory_limit = "2MB".into();
    harness.get_by_label("combine the frames").click_accesskit();
    harness.step();
    let log = harness.state().reduce.log.join("\n");
    assert!(
        harness.state().reduce.job.is_some(),
        "the combine runs: {log}"
    );
    harness.step(); // the progress bar and its cancel button appear
    harness.get_by_label("cancel").click();
    harness.step();
    settle(&mut harness);
    let log = harness.state().reduce.log.join("\n");
    assert!(log.contains("cancelled: combine 10 frames"), "{log}");
    let out = harness.state().output_folder();
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|r| r.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{written:?} in {}", out.display());
}

#[test]
fn the_difference_of_two_frames_is_shown_with_limits_symmetric_about_zero() {
    let d = tempfile::tempdir().unwrap();
    let raw = sample_night_at(d.path().join("raw"));
    let prefs = d.path().join("prefs.json");
    let mut harness = open_app(App::with_prefs(vec![raw.clone()], Some(prefs.clone())));
    filter_rows(&mut harness, "sci_R_00");
    show(&mut harness, "sci_R_001.fits");
    harness
        .get_by_label("sci_R_002.fits")
        .click_modifiers(egui::Modifiers::COMMAND);
    harness.run();
    settle(&mut harness);
    press(&mut harness, "reduce");
    harness.get_by_label("A = sci_R_001.fits   B = sci_R_002.fits");
    press(&mut harness, "swap A and B");
    press(&mut harness, "show A − B");
    for _ in 0..300 {
        harness.step();
        if harness
            .state()
            .wanted
            .as_ref()
            .is_some_and(|w| w.starts_with(d.path().join("raw_reduced")))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    settle(&mut harness);
    let app = harness.state();
    let shown = app.wanted.clone().unwrap();
    assert_eq!(file_name(&shown), "diff_sci_R_002_minus_sci_R_001.fits");
    let (a, b) = (
        skycomb::Frame::open(&raw.join("sci_R_002.fits")).unwrap(),
        skycomb::Frame::open(&raw.join("sci_R_001.fits")).unwrap(),
    );
    assert_eq!(app.image.as_ref().unwrap().frame.data, &a.data - &b.data);
    let header = &app.image.as_ref().unwrap().frame.header;
    assert_eq!(header.get_str("IMAGETYP"), Some("difference"));
    let (low, high) = app.image.as_ref().unwrap().limits;
    assert!(high > 0.0 && low == -high, "{low} {high}");
    // the preferences saved meanwhile keep zscale: the difference's limits are its own
    std::thread::sleep(std::time::Duration::from_millis(200));
    let saved = skycomb::gui::prefs::Prefs::load(&prefs).0;
    assert!(matches!(
        saved.look.interval,
        skycomb::display::Interval::ZScale(_)
    ));
    // back to a frame: the limits are zscale's again (not the difference's)
    show(&mut harness, "sci_R_001.fits");
    let app = harness.state();
    assert!(matches!(
        app.prefs.look.interval,
        skycomb::display::Interval::ZScale(_)
    ));
    let want = skycomb::display::zscale(b.data.view(), &Default::default()).unwrap();
    assert_eq!(app.image.as_ref().unwrap().limits, want);
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_trim_section_is_drawn_with_the_mouse_and_used_by_the_calibration() {
    let d = tempfile::tempdir().unwrap();
    let raw = sample_night_at(d.path().join("raw"));
    let mut harness = open_folder(&raw);
    show(&mut harness, "sci_R_001.fits");
    press(&mut harness, "reduce");
    press(&mut harness, "draw trim");
    let view = harness.state().view;
    // drag from pixel (10, 10) to pixel (50, 40), 0-based: a drag draws instead of panning
    let (from, to) = (
        screen_of(&harness, (10.0, 10.0)),
        screen_of(&harness, (50.0, 40.0)),
    );
    harness.hover_at(from);
    harness.run();
    harness.drag_at(from);
    harness.run();
    for k in 1..=4 {
        harness.hover_at(from + (to - from) * (k as f32 / 4.0));
        harness.run();
    }
    harness.drop_at(to);
    harness.run();
    let step = harness.state().reduce.calibrate.clone().unwrap();
    assert_eq!(step.options.trim, "[11:51,11:41]");
    assert_eq!(harness.state().view, view, "the drag did not pan");
    assert_eq!(harness.state().reduce.drawing, None);
    // the calibration trims to it
    run_step(&mut harness, "calibrate the night");
    let calibrated =
        skycomb::Frame::open(&d.path().join("raw_reduced").join("sci_R_001.fits")).unwrap();
    assert_eq!(calibrated.data.dim(), (31, 41));
}

#[test]
fn a_turned_night_registers_by_its_star_field_and_blinks_still() {
    let d = tempfile::tempdir().unwrap();
    skycomb::sample::write_sample_night(
        d.path(),
        skycomb::sample::SampleNightParams {
            size: 256,
            seed: 4,
            geometry: skycomb::sample::Geometry {
                rotation_deg: 3.0,
                scale: 1.0,
                mirror: true,
            },
        },
        Default::default(),
    )
    .unwrap();
    let truth = truth(&d);
    let mut harness = open_folder(d.path());
    filter_rows(&mut harness, "sci_");
    show(&mut harness, "sci_R_001.fits");
    harness
        .get_by_label("sci_R_007.fits")
        .click_modifiers(egui::Modifiers::SHIFT);
    harness.run();
    settle(&mut harness);
    harness.get_by_label("stars").click();
    harness.run();
    // no ref star: the whole star field places each frame
    harness.get_by_label("whole star field").click();
    harness.run();
    harness.get_by_label("measure offsets").click();
    harness.step();
    settle(&mut harness);
    let rows = harness.state().measuring.offsets.clone();
    assert_eq!(rows.len(), 7, "{:?}", harness.state().measuring.message);
    let matrix = |file: &str| {
        let m = &truth["frames"][file]["matrix"];
        let v = |r: usize, c: usize| m[r][c].as_f64().unwrap();
        [[v(0, 0), v(0, 1), v(0, 2)], [v(1, 0), v(1, 1), v(1, 2)]]
    };
    for r in &rows {
        let o = r.current().unwrap();
        let want = matrix(&r.file);
        for (x, y) in [(0.0, 0.0), (255.0, 255.0)] {
            let got = o.transform.apply(x, y);
            let t = (
                want[0][0] * x + want[0][1] * y + want[0][2],
                want[1][0] * x + want[1][1] * y + want[1][2],
            );
            assert!(
                (got.0 - t.0).hypot(got.1 - t.1) < 0.1,
                "{}: {got:?} vs {t:?}",
                r.file
            );
        }
    }
    // the table shows the rotation of a turned frame
    assert_eq!(harness.query_all_by_label_contains("mirrored").count(), 3);

    // blink registered: a star drawn through each frame's transform stands still on the screen
    harness.get_by_label("blink").click();
    harness.step();
    settle(&mut harness);
    harness.get_by_label("pause").click();
    harness.run();
    let star = truth["stars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reference"].as_bool().unwrap())
        .unwrap();
    let (sx, sy) = (star["x"].as_f64().unwrap(), star["y"].as_f64().unwrap());
    for _ in 0..7 {
        let app = harness.state();
        let file = app.blink.frame().unwrap().file.clone();
        let m = matrix(&file);
        let in_frame = (
            m[0][0] * sx + m[0][1] * sy + m[0][2],
            m[1][0] * sx + m[1][1] * sy + m[1][2],
        );
        let back = app.blink_transform().unwrap_or_default();
        let on_reference = if file == "sci_R_001.fits" {
            (sx, sy)
        } else {
            back.apply(in_frame.0, in_frame.1)
        };
        assert!(
            (on_reference.0 - sx).hypot(on_reference.1 - sy) < 0.1,
            "{file}: the star is drawn at {on_reference:?}, not at ({sx}, {sy})"
        );
        harness.get_by_label(">").click();
        harness.run();
    }
}

/// Stale work is cancelled: a blink started again, or stopped, cancels the worker of the one
/// before (only the newest run's frames arrive).
#[test]
fn a_newer_or_stopped_blink_cancels_the_stale_worker() {
    use skycomb::gui::jobs::JobKind;
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    for k in 1..=7 {
        let path = d.path().join(format!("sci_R_{k:03}.fits"));
        harness.state_mut().selection.insert(path);
    }
    let ctx = harness.ctx.clone();
    harness.state_mut().start_blink(&ctx);
    let first = harness.state().job_progress(JobKind::Blink).unwrap();
    harness.state_mut().start_blink(&ctx);
    let second = harness.state().job_progress(JobKind::Blink).unwrap();
    assert!(first.is_cancelled() && !second.is_cancelled());
    settle(&mut harness);
    assert_eq!(
        harness.state().blink.frames.len(),
        7,
        "the newest run's frames, once each"
    );
    harness.state_mut().stop_blink();
    assert!(second.is_cancelled());

    harness.state_mut().start_blink(&ctx);
    let third = harness.state().job_progress(JobKind::Blink).unwrap();
    harness.state_mut().stop_blink();
    assert!(third.is_cancelled());
    settle(&mut harness);
    assert!(
        harness.state().blink.frames.is_empty(),
        "a stopped blink shows nothing"
    );
}

/// `skycomb FILE` and `skycomb A B` open those files on their own (the first shown), as `ds9
/// file.fits` would; `skycomb DIR` the whole night; a missing file is listed with its reason.
#[test]
fn files_and_a_folder_named_on_the_command_line_open() {
    let d = tempfile::tempdir().unwrap();
    let night = sample_night_at(d.path().to_path_buf());
    let one = night.join("sci_R_004.fits");
    let mut harness = open_app(App::open_paths(vec![one.clone()]));
    settle(&mut harness);
    let app = harness.state();
    let c = app.collection.as_ref().unwrap();
    assert_eq!(c.frames.len(), 1);
    assert_eq!(app.wanted.as_ref(), Some(&one));
    assert_eq!(app.image.as_ref().unwrap().name, "sci_R_004.fits");
    harness.get_by_label("sci_R_004.fits");

    let two = vec![
        night.join("flat_V_002.fits"),
        night.join("bias_001.fits"),
        night.join("missing.fits"),
    ];
    let mut harness = open_app(App::open_paths(two.clone()));
    settle(&mut harness);
    let app = harness.state();
    let c = app.collection.as_ref().unwrap();
    let files: Vec<&str> = c.frames.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        files,
        ["flat_V_002.fits", "bias_001.fits"],
        "in the order named"
    );
    assert_eq!(c.problems.len(), 1);
    assert!(
        c.problems[0].reason.contains("missing.fits"),
        "{:?}",
        c.problems
    );
    assert_eq!(app.image.as_ref().unwrap().name, "flat_V_002.fits");

    let mut harness = open_app(App::open_paths(vec![night.clone()]));
    settle(&mut harness);
    let app = harness.state();
    assert_eq!(app.collection.as_ref().unwrap().frames.len(), 30);
    assert_eq!(app.image.as_ref().unwrap().name, "sci_R_001.fits");
}

/// Without a desktop dialog the app's own browser opens: pick two files with ctrl-click and open
/// them; go into a folder and open it as the night; cancel closes it.
#[test]
fn the_apps_own_file_browser_opens_files_and_folders() {
    use skycomb::gui::dialogs::Purpose;
    let d = tempfile::tempdir().unwrap();
    let night = sample_night_at(d.path().join("night"));
    std::fs::create_dir(d.path().join("empty")).unwrap();
    let mut harness = open_folder(&d.path().join("empty"));
    harness.state_mut().open_browser(Purpose::OpenFiles);
    harness.run();
    harness.get_by_label("Open files");
    harness.get_by_label("up").click();
    harness.run();
    harness.get_by_label("night/").click();
    harness.run();
    harness.get_by_label("bias_004.fits").click();
    harness.run();
    harness
        .get_by_label("bias_002.fits")
        .click_modifiers(egui::Modifiers::COMMAND);
    harness.run();
    harness.get_by_label("open").click();
    harness.run();
    settle(&mut harness);
    let app = harness.state();
    assert!(app.browser.is_none());
    let files: Vec<&str> = app
        .collection
        .as_ref()
        .unwrap()
        .frames
        .iter()
        .map(|f| f.file.as_str())
        .collect();
    assert_eq!(files, ["bias_002.fits", "bias_004.fits"]);
    assert_eq!(app.image.as_ref().unwrap().name, "bias_002.fits");

    // a folder: up from the night, into it again, and open it
    harness.state_mut().open_browser(Purpose::OpenFolder);
    harness.run();
    harness.get_by_label("up").click();
    harness.run();
    harness.get_by_label("night/").click();
    harness.run();
    harness.get_by_label("open this folder").click();
    harness.run();
    settle(&mut harness);
    assert_eq!(harness.state().folder, night);
    assert_eq!(
        harness.state().collection.as_ref().unwrap().frames.len(),
        30
    );

    harness.state_mut().open_browser(Purpose::SaveOffsets);
    harness.run();
    harness.get_by_label("cancel").click();
    harness.run();
    assert!(harness.state().browser.is_none());
}

/// Manual limits are never saved for the next start: the preferences keep the interval chosen
/// before them (and a manual interval in an old preferences file does not come back).
#[test]
fn manual_limits_are_not_saved_for_the_next_start() {
    let d = tempfile::tempdir().unwrap();
    let night = sample_night_at(d.path().join("night"));
    let prefs = d.path().join("prefs.json");
    let mut harness = open_app(App::with_prefs(vec![night.clone()], Some(prefs.clone())));
    settle(&mut harness);
    let ctx = harness.ctx.clone();
    let look = skycomb::gui::app::Look {
        interval: skycomb::display::Interval::Manual {
            low: 900.0,
            high: 5000.0,
        },
        stretch: skycomb::display::Stretch::Sqrt,
        ..harness.state().prefs.look
    };
    harness.state_mut().set_look(look, &ctx);
    harness.run();
    settle(&mut harness);
    let saved = (0..200).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        let p = skycomb::gui::prefs::Prefs::load(&prefs).0;
        (p.look.stretch == skycomb::display::Stretch::Sqrt).then_some(p)
    });
    let saved = saved.expect("the stretch was saved");
    assert_eq!(
        saved.look.interval,
        skycomb::display::Interval::ZScale(Default::default())
    );
    // an old file that holds manual limits starts on the automatic interval
    let mut old = saved.clone();
    old.look.interval = look.interval;
    old.save(&prefs).unwrap();
    let app = App::with_prefs(vec![night], Some(prefs));
    assert!(!matches!(
        app.prefs.look.interval,
        skycomb::display::Interval::Manual { .. }
    ));
}

/// Down/up, page down/up and tab/shift-tab step the shown frame through the table's rows and keep
/// the selection; a click anywhere on a row (not only its name) shows that frame.
#[test]
fn keys_step_through_the_frames_keeping_the_selection() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    let shown = |h: &Harness<'static, App>| h.state().image.as_ref().unwrap().name.clone();
    show(&mut harness, "bias_001.fits");
    harness
        .get_by_label("bias_003.fits")
        .click_modifiers(egui::Modifiers::SHIFT);
    harness.run();
    settle(&mut harness);
    let chosen = harness.state().selection.clone();
    assert_eq!(chosen.len(), 3);
    let key = |h: &mut Harness<'static, App>, key: egui::Key, modifiers: egui::Modifiers| {
        h.key_press_modifiers(modifiers, key);
        h.run();
        settle(h);
        shown(h)
    };
    let none = egui::Modifiers::NONE;
    assert_eq!(
        key(&mut harness, egui::Key::ArrowDown, none),
        "bias_004.fits"
    );
    assert_eq!(
        key(&mut harness, egui::Key::PageDown, none),
        "flat_R_001.fits"
    );
    assert_eq!(
        key(&mut harness, egui::Key::ArrowUp, none),
        "dark_60s_003.fits"
    );
    assert_eq!(key(&mut harness, egui::Key::Tab, none), "flat_R_001.fits");
    assert_eq!(
        key(&mut harness, egui::Key::Tab, egui::Modifiers::SHIFT),
        "dark_60s_003.fits"
    );
    assert_eq!(key(&mut harness, egui::Key::PageUp, none), "bias_003.fits");
    assert_eq!(harness.state().selection, chosen, "the selection is kept");

    // a click on a row's EXPTIME cell selects and shows that frame
    harness.get_all_by_label("60.0").next().unwrap().click();
    harness.run();
    settle(&mut harness);
    assert_eq!(shown(&harness), "dark_60s_001.fits");
    assert_eq!(harness.state().selection.len(), 1);
}

/// A removed star comes back with "undo remove" (or ctrl+Z), in its row, with its measurement.
#[test]
fn a_removed_star_comes_back_with_undo() {
    let d = tempfile::tempdir().unwrap();
    let mut harness = open_sample_night(&d);
    let truth = truth(&d);
    mark_a_star_and_measure_offsets(&mut harness, &truth);
    let before = harness.state().measuring.stars.clone();
    assert_eq!(before.len(), 1);
    press(&mut harness, "remove");
    assert!(harness.state().measuring.stars.is_empty());
    press(&mut harness, "undo remove (star 1)");
    assert_eq!(harness.state().measuring.stars, before);
    // and by key
    press(&mut harness, "remove");
    assert!(harness.state().measuring.stars.is_empty());
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    assert_eq!(harness.state().measuring.stars, before);
    assert!(harness.query_by_label("undo remove (star 1)").is_none());
}

/// File > Recent lists the folders opened, the latest first, and opens one again.
#[test]
fn recent_folders_are_remembered_and_reopened() {
    let d = tempfile::tempdir().unwrap();
    let a = sample_night_at(d.path().join("night_a"));
    let b = d.path().join("night_b");
    std::fs::create_dir(&b).unwrap();
    let prefs = d.path().join("prefs.json");
    let mut harness = open_app(App::with_prefs(vec![a.clone()], Some(prefs.clone())));
    settle(&mut harness);
    let ctx = harness.ctx.clone();
    harness.state_mut().open_folder(b.clone(), &ctx);
    settle(&mut harness);
    assert_eq!(harness.state().prefs.recent, vec![b.clone(), a.clone()]);
    harness.get_by_label("File").click();
    harness.run();
    harness.get_by_label("Recent").click();
    harness.run();
    harness.get_by_label("night_a").click();
    harness.run();
    settle(&mut harness);
    assert_eq!(harness.state().folder, a);
    assert_eq!(harness.state().prefs.recent, vec![a, b]);
}
