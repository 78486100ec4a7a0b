//! The app's own file browser, for where no desktop file dialog answers (ssh -X, a bare window
//! manager, no xdg portal): folders and FITS files of one folder at a time, up and home, a path
//! typed in, several files picked with ctrl-click, and a name typed for a file to save.

use crate::collection::is_fits_name;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the browser is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A folder (the one shown when the user accepts).
    Folder,
    /// One or more existing files.
    Files,
    /// One existing file.
    File,
    /// A name to save under (the file need not exist), starting as `default_name`.
    SaveAs(&'static str),
}

/// An entry of the folder shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub is_dir: bool,
    pub name: String,
}

/// The browser's state; [`FileBrowser::show`] draws it and returns the answer once given.
#[derive(Debug, Clone)]
pub struct FileBrowser {
    pub want: Want,
    /// The folder shown.
    pub dir: PathBuf,
    /// Its folders and (FITS, or any file when saving) files, folders first.
    pub entries: Vec<Entry>,
    /// The files picked (names in `dir`).
    pub picked: BTreeSet<String>,
    /// The path typed (a folder to go to) and, when saving, the file name typed.
    pub typed_dir: String,
    pub name: String,
    /// Why the folder cannot be listed.
    pub error: Option<String>,
}

/// What the user did with the browser.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Chosen(Vec<PathBuf>),
    Cancelled,
}

impl FileBrowser {
    /// The browser on `dir`, asked for `want`.
    pub fn new(want: Want, dir: &Path) -> FileBrowser {
        let mut b = FileBrowser {
            want,
            dir: PathBuf::new(),
            entries: Vec::new(),
            picked: BTreeSet::new(),
            typed_dir: String::new(),
            name: match want {
                Want::SaveAs(name) => name.to_string(),
                _ => String::new(),
            },
            error: None,
        };
        b.go(dir);
        b
    }

    /// Show `dir` (its entries listed now; an unreadable folder says why and keeps the old list).
    pub fn go(&mut self, dir: &Path) {
        match list(dir, matches!(self.want, Want::SaveAs(_))) {
            Ok(entries) => {
                self.dir = dir.to_path_buf();
                self.typed_dir = dir.display().to_string();
                self.entries = entries;
                self.picked.clear();
                self.error = None;
            }
            Err(e) => self.error = Some(format!("{}: {e}", dir.display())),
        }
    }

    /// The answer the "open"/"save" button gives now (`None`: nothing to give yet).
    pub fn answer(&self) -> Option<Vec<PathBuf>> {
        match self.want {
            Want::Folder => Some(vec![self.dir.clone()]),
            Want::Files | Want::File if self.picked.is_empty() => None,
            Want::Files | Want::File => {
                Some(self.picked.iter().map(|n| self.dir.join(n)).collect())
            }
            Want::SaveAs(_) => {
                let name = self.name.trim();
                (!name.is_empty() && !name.contains('/')).then(|| vec![self.dir.join(name)])
            }
        }
    }

    /// A click on an entry: a folder opens; a file is picked (ctrl adds to the files picked when
    /// several are wanted); a double click on a file answers at once.
    pub fn click(&mut self, entry: &Entry, ctrl: bool, double: bool) -> Option<Answer> {
        if entry.is_dir {
            self.go(&self.dir.join(&entry.name));
            return None;
        }
        match self.want {
            Want::Folder => return None,
            Want::SaveAs(_) => self.name = entry.name.clone(),
            Want::Files if ctrl => {
                if !self.picked.remove(&entry.name) {
                    self.picked.insert(entry.name.clone());
                }
            }
            Want::Files | Want::File => {
                self.picked = BTreeSet::from([entry.name.clone()]);
            }
        }
        if double {
            return self.answer().map(Answer::Chosen);
        }
        None
    }

    /// Draw the browser as a window; the answer once the user gives one.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Answer> {
        let title = match self.want {
            Want::Folder => "Open folder",
            Want::Files => "Open files",
            Want::File => "Open file",
            Want::SaveAs(_) => "Save as",
        };
        egui::Window::new(title)
            .collapsible(false)
            .default_size([600.0, 680.0])
            .show(ctx, |ui| {
                self.path_bar(ui);
                ui.separator();
                let picked = self.entries_list(ui);
                ui.separator();
                let pressed = self.buttons(ui);
                picked.or(pressed)
            })
            .and_then(|r| r.inner.flatten())
    }

    /// Up, home and the folder typed.
    fn path_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if ui.button("up").on_hover_text("the folder above").clicked()
                && let Some(up) = self.dir.parent().map(Path::to_path_buf)
            {
                self.go(&up);
            }
            if ui.button("home").clicked()
                && let Some(home) = std::env::var_os("HOME")
            {
                self.go(Path::new(&home));
            }
            let typed = ui.add(
                egui::TextEdit::singleline(&mut self.typed_dir)
                    .desired_width(f32::INFINITY)
                    .hint_text("a folder: type and press Enter"),
            );
            if typed.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                let to = PathBuf::from(self.typed_dir.trim());
                self.go(&to);
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }

    /// The folder's entries, folders first (named with a trailing `/`); the answer of a double
    /// click.
    fn entries_list(&mut self, ui: &mut egui::Ui) -> Option<Answer> {
        let mut answer = None;
        let height = (ui.available_height() - 40.0).max(240.0);
        egui::ScrollArea::vertical()
            .max_height(height)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for entry in self.entries.clone() {
                    let label = if entry.is_dir {
                        format!("{}/", entry.name)
                    } else {
                        entry.name.clone()
                    };
                    let r = ui.selectable_label(self.picked.contains(&entry.name), label);
                    if r.clicked() || r.double_clicked() {
                        let ctrl = ui.input(|i| i.modifiers.command);
                        if let Some(a) = self.click(&entry, ctrl, r.double_clicked()) {
                            answer = Some(a);
                        }
                    }
                }
            });
        answer
    }

    /// The name to save under, the open (save) and cancel buttons and a hint.
    fn buttons(&mut self, ui: &mut egui::Ui) -> Option<Answer> {
        let mut answer = None;
        ui.horizontal(|ui| {
            if let Want::SaveAs(_) = self.want {
                let label = ui.label("name:");
                ui.text_edit_singleline(&mut self.name)
                    .labelled_by(label.id);
            }
            let ok = match self.want {
                Want::SaveAs(_) => "save",
                Want::Folder => "open this folder",
                _ => "open",
            };
            let ready = self.answer();
            if ui
                .add_enabled(ready.is_some(), egui::Button::new(ok))
                .clicked()
            {
                answer = ready.map(Answer::Chosen);
            }
            if ui.button("cancel").clicked() {
                answer = Some(Answer::Cancelled);
            }
            let hint = match self.want {
                Want::Files => "ctrl-click picks several; a double click opens",
                Want::Folder => "a click opens a folder",
                _ => "a double click takes the file",
            };
            ui.weak(hint);
        });
        answer
    }
}

/// The folders and files of `dir`, folders first, each by name; hidden entries left out; files
/// only with FITS names unless `any_file`.
fn list(dir: &Path, any_file: bool) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // follow links: a link to a folder is a folder
        let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
        if is_dir || any_file || is_fits_name(&name) {
            entries.push(Entry { is_dir, name });
        }
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_first_fits_files_only_and_picks_answer() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.fits", "a.fit", "notes.txt", ".hidden.fits"] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        std::fs::create_dir(d.path().join("night2")).unwrap();
        let mut b = FileBrowser::new(Want::Files, d.path());
        let names: Vec<(&str, bool)> = b
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.is_dir))
            .collect();
        assert_eq!(
            names,
            [("night2", true), ("a.fit", false), ("b.fits", false)]
        );
        assert_eq!(b.answer(), None);
        let (a, bf) = (b.entries[1].clone(), b.entries[2].clone());
        b.click(&a, false, false);
        b.click(&bf, true, false);
        assert_eq!(
            b.answer(),
            Some(vec![d.path().join("a.fit"), d.path().join("b.fits")])
        );
        // a folder opens; a missing one says why and stays
        let night2 = b.entries[0].clone();
        b.click(&night2, false, false);
        assert_eq!(b.dir, d.path().join("night2"));
        assert!(b.entries.is_empty() && b.picked.is_empty());
        b.go(&d.path().join("nowhere"));
        assert!(b.error.as_deref().is_some_and(|e| e.contains("nowhere")));
        assert_eq!(b.dir, d.path().join("night2"));
        // saving lists every file and answers with the typed name
        let mut s = FileBrowser::new(Want::SaveAs("offsets.txt"), d.path());
        assert!(s.entries.iter().any(|e| e.name == "notes.txt"));
        assert_eq!(s.answer(), Some(vec![d.path().join("offsets.txt")]));
        s.name = "sub/x".into();
        assert_eq!(s.answer(), None);
        assert_eq!(
            FileBrowser::new(Want::Folder, d.path()).answer(),
            Some(vec![d.path().to_path_buf()])
        );
    }
}
