//! Screenshots of the app for a person to look at: the night, the calibration plan, a running step,
//! the photometry table, a stack with its npix map, the rejection inspector on a cosmic ray and a
//! difference image, rendered by wgpu from a headless egui_kittest harness driving the real App.
//!
//! Usage: cargo run --release --example screens --features snapshots -- OUT_DIR

use egui_kittest::Harness;
use skycomb::gui::App;
use skycomb::gui::app::Dock;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Run frames until the app's background work is done.
fn settle(h: &mut Harness<'_, App>) {
    for _ in 0..3000 {
        h.step();
        if !h.state().busy() && h.state().inspector.asked.is_none() && !h.state().photometry.running
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for _ in 0..5 {
        h.step();
    }
}

fn shoot(h: &mut Harness<'_, App>, out: &Path, name: &str) {
    let image = h.render().expect("render the window");
    let path = out.join(format!("{name}.png"));
    image.save(&path).expect("write the screenshot");
    println!("{}", path.display());
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: screens OUT_DIR"));
    std::fs::create_dir_all(&out).unwrap();
    let work = tempfile::tempdir().unwrap();
    let raw = work.path().join("night");
    let params = skycomb::sample::SampleNightParams {
        size: 256,
        seed: 11,
        ..Default::default()
    };
    skycomb::sample::write_sample_night(&raw, params, Default::default()).unwrap();
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(raw.join("truth.json")).unwrap()).unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut App| app.ui(ui), App::new(raw.clone()));
    let ctx = h.ctx.clone();
    settle(&mut h);
    shoot(&mut h, &out, "01_night");

    h.state_mut().prefs.show_reduce = true;
    settle(&mut h);
    shoot(&mut h, &out, "02_calibration_plan");
    let step = skycomb::recipe::Step::Calibrate(skycomb::recipe::CalibrateStep {
        night: raw.clone(),
        output: work.path().join("reduced"),
        options: Default::default(),
    });
    h.state_mut().start_step(step, &ctx);
    h.step();
    h.step();
    shoot(&mut h, &out, "03_running_step");
    settle(&mut h);

    // a star marked on the reference frame, followed through the light frames
    let lights: Vec<PathBuf> = (1..=7)
        .map(|i| {
            work.path()
                .join("reduced")
                .join(format!("sci_R_00{i}.fits"))
        })
        .collect();
    h.state_mut().show_file(lights[0].clone(), &ctx);
    settle(&mut h);
    let id = &truth["reference_star_ids"][0];
    let star = truth["stars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == *id)
        .expect("the reference star");
    let (x, y) = (star["x"].as_f64().unwrap(), star["y"].as_f64().unwrap());
    h.state_mut().pick_star(x, y);
    h.state_mut().selection = lights.iter().cloned().collect();
    h.state_mut().measure_offsets(&ctx);
    settle(&mut h);
    h.state_mut().prefs.show_stars = true;
    h.state_mut().dock = Dock::Stars;
    h.state_mut().start_photometry(&ctx);
    settle(&mut h);
    shoot(&mut h, &out, "04_photometry");

    // the stack of the lights with the marked star's offsets, and its npix map
    h.state_mut().dock = Dock::Reduce;
    h.state_mut().reduce.write_maps = true;
    h.state_mut().reduce.dithered = true;
    h.state_mut().reduce.output_name = "stack.fits".into();
    let step = h
        .state()
        .combine_step()
        .expect("a stack of the selected frames");
    h.state_mut().start_step(step, &ctx);
    settle(&mut h);
    shoot(&mut h, &out, "05_stack");
    let npix = work.path().join("reduced").join("stack_npix.fits");
    h.state_mut().show_file(npix, &ctx);
    settle(&mut h);
    shoot(&mut h, &out, "06_npix_map");

    // the inspector on a cosmic ray of the reference frame
    let stack = work.path().join("reduced").join("stack.fits");
    h.state_mut().show_file(stack, &ctx);
    settle(&mut h);
    let origin = match &h.state().reduce.result.as_ref().unwrap().report {
        Some(skycomb::recipe::StepReport::Stack(r)) => r.canvas_origin,
        _ => panic!("a stack report"),
    };
    let cr = &truth["frames"]["sci_R_001.fits"]["cosmic_rays"][0];
    let (cx, cy) = (cr["x"].as_i64().unwrap(), cr["y"].as_i64().unwrap());
    let pixel = ((cx - origin[0]) as usize, (cy - origin[1]) as usize);
    h.state_mut().inspector.on = true;
    h.state_mut().inspect_at(pixel, &ctx);
    settle(&mut h);
    shoot(&mut h, &out, "07_inspector_cosmic_ray");

    // the difference of two light frames
    h.state_mut().inspector.shown = None;
    let diff = skycomb::gui::reduce::write_difference(
        &lights[1],
        &lights[0],
        &work.path().join("reduced"),
    )
    .unwrap();
    h.state_mut().prefs.look.interval = skycomb::display::Interval::Manual {
        low: -diff.1,
        high: diff.1,
    };
    h.state_mut().show_file(diff.0, &ctx);
    settle(&mut h);
    shoot(&mut h, &out, "08_difference");
}
