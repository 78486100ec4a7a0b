//! The desktop app (feature `gui`): a thin layer over the core; panels draw and emit actions, work
//! runs as jobs (jobs.rs: the only place the app starts threads) that wake the UI when done.

pub mod app;
pub mod blink;
mod browser;
pub mod dialogs;
pub mod export;
pub mod file_browser;
mod histogram;
pub mod inspect;
pub mod jobs;
pub mod photometry;
pub mod prefs;
pub mod reduce;
pub mod stars;
mod viewer;

pub use app::App;

/// Open the window on a night's folder, or on FITS files.
pub fn run(paths: Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1400.0, 900.0]),
        ..Default::default()
    };
    eframe::run_native(
        "skycomb",
        options,
        Box::new(move |_cc| {
            Ok(Box::new(App::with_prefs(
                paths,
                prefs::Prefs::default_path(),
            )))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
