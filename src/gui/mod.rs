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

/// The app's icon (assets/skycomb.png, made from assets/skycomb.svg).
const ICON_PNG: &[u8] = include_bytes!("../../assets/skycomb.png");

/// Open the window on a night's folder, or on FITS files.
pub fn run(paths: Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_inner_size([1400.0, 900.0])
        .with_app_id("skycomb");
    // the icon of assets/skycomb.png (its .desktop entry names it too)
    if let Ok(icon) = eframe::icon_data::from_png_bytes(ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_icon_decodes() {
        let icon = eframe::icon_data::from_png_bytes(super::ICON_PNG).unwrap();
        assert_eq!((icon.width, icon.height), (256, 256));
    }
}
