//! Preferences kept between sessions (serde JSON in the user's config folder), apart from the
//! app's runtime state: the look of frames, the panels shown, the table's grouping and columns,
//! the star-picking and blink settings.

use super::app::Look;
use crate::register::centroid::CentroidMethod;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the user chose, remembered for the next session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Interval, stretch and colormap.
    pub look: Look,
    pub show_header: bool,
    pub show_histogram: bool,
    pub show_magnifier: bool,
    /// The stars and offsets panel.
    pub show_stars: bool,
    /// The reduce panel (calibrate, combine, stack).
    pub show_reduce: bool,
    /// Group chips switched on: "kind", "filter", "exptime".
    pub group_by: Vec<String>,
    /// Header keywords added to the table as columns.
    pub columns: Vec<String>,
    /// How a clicked star is measured, and the box side in pixels.
    pub centroid_method: CentroidMethod,
    pub box_size: usize,
    /// Seconds each frame stays up while blinking (0.1 to 5).
    pub blink_interval_s: f64,
    /// Blink with the reference frame's limits on every frame.
    pub blink_lock_limits: bool,
    /// Blink registered (frames shifted by their offsets), and whether by whole pixels only.
    pub blink_registered: bool,
    pub blink_whole_pixels: bool,
    /// Draw BIASSEC and TRIMSEC rectangles.
    pub show_sections: bool,
    /// Folders opened, the latest first (File > Recent).
    pub recent: Vec<PathBuf>,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            look: Look::default(),
            show_header: false,
            show_histogram: true,
            show_magnifier: true,
            show_stars: false,
            show_reduce: false,
            group_by: Vec::new(),
            columns: Vec::new(),
            centroid_method: CentroidMethod::Gauss2d,
            box_size: 15,
            blink_interval_s: 0.5,
            blink_lock_limits: true,
            blink_registered: true,
            blink_whole_pixels: false,
            show_sections: true,
            recent: Vec::new(),
        }
    }
}

/// Folders File > Recent remembers.
const RECENT_FOLDERS: usize = 8;

impl Prefs {
    /// Put `folder` first among the recent folders (once), keeping at most [`RECENT_FOLDERS`].
    pub fn opened(&mut self, folder: &Path) {
        self.recent.retain(|f| f != folder);
        self.recent.insert(0, folder.to_path_buf());
        self.recent.truncate(RECENT_FOLDERS);
    }

    /// Where preferences live: `$SKYCOMB_PREFS`, else `$XDG_CONFIG_HOME/skycomb/prefs.json`, else
    /// `~/.config/skycomb/prefs.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("SKYCOMB_PREFS") {
            return Some(PathBuf::from(p));
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(config.join("skycomb").join("prefs.json"))
    }

    /// Read preferences; a missing file gives the defaults, a damaged one the defaults and why.
    pub fn load(path: &Path) -> (Prefs, Option<String>) {
        match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Prefs::default(), None),
            Err(e) => (Prefs::default(), Some(format!("{}: {e}", path.display()))),
            Ok(text) => match serde_json::from_str(&text) {
                Ok(p) => (p, None),
                Err(e) => (
                    Prefs::default(),
                    Some(format!(
                        "{}: not skycomb preferences ({e}); using defaults",
                        path.display()
                    )),
                ),
            },
        }
    }

    /// Write preferences atomically (the folder is made if needed).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self)?;
        crate::fits::write::write_atomic(
            path,
            text.as_bytes(),
            crate::fits::WriteOptions { overwrite: true },
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_survive_a_round_trip_and_a_damaged_file_gives_defaults() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub").join("prefs.json");
        assert_eq!(Prefs::load(&path), (Prefs::default(), None));
        let p = Prefs {
            columns: vec!["OBJECT".into()],
            blink_interval_s: 1.5,
            centroid_method: CentroidMethod::Com,
            ..Prefs::default()
        };
        p.save(&path).unwrap();
        assert_eq!(Prefs::load(&path), (p, None));
        std::fs::write(&path, "{ not json").unwrap();
        let (back, why) = Prefs::load(&path);
        assert_eq!(back, Prefs::default());
        assert!(why.unwrap().contains("prefs.json"));
        // an older file without the newer keys still loads
        std::fs::write(&path, r#"{"box_size": 21}"#).unwrap();
        assert_eq!(Prefs::load(&path).0.box_size, 21);
    }
}
