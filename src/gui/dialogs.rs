//! Asking for a path: the desktop's file dialog (xdg portal) on a job of its own, and the app's own
//! file browser where there is no desktop to ask (no session bus) or the desktop dialog could not
//! open (it answers "nothing" at once); then what each purpose does with the answer.

use super::app::{App, Done};
use super::file_browser::{Answer, FileBrowser, Want};
use super::jobs::JobKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a file dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    OpenFolder,
    OpenFiles,
    SaveOffsets,
    LoadOffsets,
    SaveRecipe,
    LoadRecipe,
    SavePhotometry,
    ExportFits,
    ExportPng,
}

impl Purpose {
    /// What the file browser is asked for.
    pub fn want(self) -> Want {
        match self {
            Purpose::OpenFolder => Want::Folder,
            Purpose::OpenFiles => Want::Files,
            Purpose::LoadOffsets | Purpose::LoadRecipe => Want::File,
            Purpose::SaveOffsets => Want::SaveAs("offsets.txt"),
            Purpose::SaveRecipe => Want::SaveAs("recipe.toml"),
            Purpose::SavePhotometry => Want::SaveAs("photometry.csv"),
            Purpose::ExportFits => Want::SaveAs("frame.fits"),
            Purpose::ExportPng => Want::SaveAs("view.png"),
        }
    }
}

/// What the desktop dialog answered: the paths chosen (none: cancelled or no dialog), and whether
/// it answered faster than a person could (then no dialog was shown).
#[derive(Debug, Clone, PartialEq)]
pub struct Requested {
    pub paths: Vec<PathBuf>,
    pub at_once: bool,
}

/// Faster than this, "nothing chosen" means no dialog was shown.
const AT_ONCE: Duration = Duration::from_millis(300);

/// Whether a desktop dialog can be asked at all (a session bus for the xdg portal), unless
/// SKYCOMB_FILE_DIALOG=builtin asks for the app's own browser.
fn desktop_dialogs() -> bool {
    let builtin = std::env::var("SKYCOMB_FILE_DIALOG").is_ok_and(|v| v == "builtin");
    !builtin && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
}

/// The desktop's dialog for `purpose`, starting in `folder` (blocks until answered).
fn desktop_dialog(purpose: Purpose, folder: &std::path::Path) -> Vec<PathBuf> {
    let dialog = rfd::FileDialog::new().set_directory(folder);
    let one = |p: Option<PathBuf>| p.into_iter().collect();
    match purpose {
        Purpose::OpenFolder => one(dialog.pick_folder()),
        Purpose::OpenFiles => dialog
            .add_filter("FITS", &["fits", "fit", "fts", "fz", "gz"])
            .pick_files()
            .unwrap_or_default(),
        Purpose::LoadOffsets => one(dialog.pick_file()),
        Purpose::LoadRecipe => one(dialog.add_filter("recipe", &["toml"]).pick_file()),
        Purpose::ExportFits => one(dialog.add_filter("FITS", &["fits", "fit"]).save_file()),
        save => {
            let Want::SaveAs(name) = save.want() else {
                return Vec::new();
            };
            one(dialog.set_file_name(name).save_file())
        }
    }
}

impl App {
    /// Ask for a path for `purpose`: the desktop's dialog on a job of its own, or the app's own
    /// browser where there is no desktop to ask.
    pub fn ask_path(&mut self, purpose: Purpose, ctx: &egui::Context) {
        if !desktop_dialogs() {
            self.open_browser(purpose);
            return;
        }
        let folder = self.folder.clone();
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Dialog, move |h| {
            let asked = Instant::now();
            let paths = desktop_dialog(purpose, &folder);
            let at_once = asked.elapsed() < AT_ONCE;
            h.send(Done::Picked(purpose, Requested { paths, at_once }));
        });
    }

    /// The app's own browser for `purpose`, on the night's folder.
    pub fn open_browser(&mut self, purpose: Purpose) {
        self.browser = Some((purpose, FileBrowser::new(purpose.want(), &self.folder)));
    }

    /// The desktop dialog's answer: nothing at once means no dialog could open, so the app's own
    /// browser takes over; nothing after a while is a cancel.
    pub(crate) fn dialog_answered(
        &mut self,
        purpose: Purpose,
        answer: Requested,
        ctx: &egui::Context,
    ) {
        match answer {
            Requested { paths, .. } if !paths.is_empty() => self.chosen(purpose, paths, ctx),
            Requested { at_once: true, .. } => self.open_browser(purpose),
            _ => {}
        }
    }

    /// Draw the app's browser while it is open, and act on its answer.
    pub(crate) fn show_browser(&mut self, ctx: &egui::Context) {
        let Some((purpose, browser)) = self.browser.as_mut() else {
            return;
        };
        let purpose = *purpose;
        match browser.show(ctx) {
            Some(Answer::Chosen(paths)) => {
                self.browser = None;
                self.chosen(purpose, paths, ctx);
            }
            Some(Answer::Cancelled) => self.browser = None,
            None => {}
        }
    }

    /// Paths chosen for `purpose` (in a dialog or the browser): do what was asked.
    pub fn chosen(&mut self, purpose: Purpose, mut paths: Vec<PathBuf>, ctx: &egui::Context) {
        if purpose == Purpose::OpenFiles {
            self.open_files(paths, ctx);
            return;
        }
        let Some(path) = paths.pop() else { return };
        let result = match purpose {
            Purpose::OpenFolder => {
                self.open_folder(path, ctx);
                Ok(())
            }
            Purpose::OpenFiles => Ok(()),
            Purpose::SaveOffsets => self.save_offsets(&path),
            Purpose::LoadOffsets => self.load_offsets(&path),
            Purpose::SaveRecipe => self.save_recipe(&path).map_err(Into::into),
            Purpose::LoadRecipe => self.load_recipe(&path).map_err(Into::into),
            Purpose::SavePhotometry => self.save_photometry(&path).map_err(Into::into),
            Purpose::ExportFits => {
                self.export_fits(path, ctx);
                Ok(())
            }
            Purpose::ExportPng => {
                self.export_png(path, ctx);
                Ok(())
            }
        };
        self.notice = result.err().map(|e| format!("{e:#}"));
    }
}
