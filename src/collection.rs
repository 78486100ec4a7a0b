//! A night's folder as a collection: header-only parallel scan, one summary row per file, frame kinds,
//! filters (exact, glob, regex, missing), grouping, sorting, and the files that could not be read.

use crate::error::{Error, Result};
use crate::fits::{HduChoice, Header, Value, read_image_info};
use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// The standard summary columns, in the order a person reads them.
pub const STANDARD_COLUMNS: &[&str] = &[
    "file", "IMAGETYP", "FILTER", "EXPTIME", "NAXIS1", "NAXIS2", "DATE-OBS", "OBJECT", "BIASSEC",
    "TRIMSEC",
];

/// Keywords that name the filter, in the order they are consulted.
pub const FILTER_KEYWORDS: &[&str] = &["FILTER", "FILTER1", "FILTNAM", "FILTERS", "FILT"];

/// What a frame is, from its IMAGETYP whatever the software spelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameKind {
    Bias,
    Dark,
    Flat,
    Light,
    /// IMAGETYP present but not one of the above (e.g. SPECTROSCOPIC, EXT).
    Other,
    /// No IMAGETYP keyword.
    Unknown,
}

impl FrameKind {
    /// Normalise an IMAGETYP value: `Bias Frame`, `BIAS`, `zero`; `Dark Frame`; `Flat Field`, `FLAT`,
    /// `DOME FLAT`, `SKY_FLAT`; `Light Frame`, `OBJECT`, `LIGHT`, ...
    pub fn from_imagetyp(imagetyp: Option<&str>) -> FrameKind {
        let Some(raw) = imagetyp else {
            return FrameKind::Unknown;
        };
        let words: Vec<String> = raw
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let has = |w: &str| words.iter().any(|x| x == w || x.starts_with(w));
        if has("flat") || words.iter().any(|w| w.ends_with("flat")) {
            FrameKind::Flat
        } else if has("bias") || has("zero") || has("offset") {
            FrameKind::Bias
        } else if has("dark") {
            FrameKind::Dark
        } else if has("light") || has("object") || has("science") || words == ["sci"] {
            FrameKind::Light
        } else if words.is_empty() {
            FrameKind::Unknown
        } else {
            FrameKind::Other
        }
    }

    /// The lower-case name used in tables and filters (`bias`, `dark`, `flat`, `light`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Bias => "bias",
            FrameKind::Dark => "dark",
            FrameKind::Flat => "flat",
            FrameKind::Light => "light",
            FrameKind::Other => "other",
            FrameKind::Unknown => "unknown",
        }
    }
}

/// One readable file of the collection: its image HDU's header and what follows from it.
#[derive(Debug, Clone)]
pub struct FrameSummary {
    pub path: PathBuf,
    /// The path relative to the scanned folder, with `/` separators.
    pub file: String,
    /// 0-based HDU the image came from.
    pub hdu: usize,
    pub bitpix: i32,
    /// Axis lengths, NAXIS1 first.
    pub naxes: Vec<usize>,
    pub kind: FrameKind,
    pub header: Header,
}

impl FrameSummary {
    /// Exposure time in seconds (EXPTIME, else EXPOSURE).
    /// EXPTIME (else EXPOSURE) in seconds; `None` when absent or not a finite number >= 0.
    pub fn exptime_s(&self) -> Option<f64> {
        self.header
            .get_f64("EXPTIME")
            .or_else(|| self.header.get_f64("EXPOSURE"))
            .filter(|t| t.is_finite() && *t >= 0.0)
    }

    /// What the header says of the exposure time when [`FrameSummary::exptime_s`] has none.
    pub fn exptime_problem(&self) -> String {
        match self
            .header
            .get("EXPTIME")
            .or_else(|| self.header.get("EXPOSURE"))
        {
            Some(v) => format!("EXPTIME {} is not an exposure time", v.display()),
            None => "no EXPTIME or EXPOSURE".into(),
        }
    }

    /// The filter, trimmed: FILTER, else the first of FILTER1, FILTNAM, FILTERS (IRAF's filter-bolt
    /// positions, which ccdred uses as the subset), FILT; `None` when all are missing or blank.
    pub fn filter(&self) -> Option<String> {
        FILTER_KEYWORDS.iter().find_map(|k| {
            let f = self.header.get(k)?.display();
            let f = f.split_whitespace().collect::<Vec<_>>().join(" ");
            (!f.is_empty()).then_some(f)
        })
    }

    /// Binning as `XxY` from XBINNING/YBINNING or CCDSUM; `1x1` when absent.
    pub fn binning(&self) -> String {
        if let (Some(x), Some(y)) = (
            self.header.get_i64("XBINNING"),
            self.header.get_i64("YBINNING"),
        ) {
            return format!("{x}x{y}");
        }
        if let Some(s) = self.header.get_str("CCDSUM") {
            let p: Vec<&str> = s.split_whitespace().collect();
            if p.len() == 2 {
                return format!("{}x{}", p[0], p[1]);
            }
        }
        "1x1".into()
    }

    /// The value of a column: `file`, `kind`, NAXISn from the image, else the header keyword.
    pub fn value(&self, column: &str) -> Option<Value> {
        let upper = column.to_ascii_uppercase();
        match upper.as_str() {
            "FILE" => Some(Value::Str(self.file.clone())),
            "KIND" => Some(Value::Str(self.kind.name().into())),
            "HDU" => Some(Value::Int(self.hdu as i64)),
            _ => {
                if let Some(n) = upper
                    .strip_prefix("NAXIS")
                    .and_then(|n| n.parse::<usize>().ok())
                    && n >= 1
                {
                    return self.naxes.get(n - 1).map(|&v| Value::Int(v as i64));
                }
                self.header.get(column).cloned()
            }
        }
    }

    /// A column's value as text ("" when missing).
    pub fn text(&self, column: &str) -> String {
        self.value(column).map(|v| v.display()).unwrap_or_default()
    }
}

/// A file that could not be read, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub path: PathBuf,
    pub reason: String,
}

/// Options for [`scan`].
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Descend into sub-folders.
    pub recursive: bool,
}

/// A scanned folder: readable frames (sorted by file name) and problems.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub root: PathBuf,
    pub frames: Vec<FrameSummary>,
    pub problems: Vec<Problem>,
}

/// True for names FITS files usually have (`.fits`, `.fit`, `.fts`, `.fz`, gzip and compress variants).
pub fn is_fits_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.starts_with('.') {
        return false; // hidden and temporary files (our own partial outputs among them)
    }
    let n = n
        .strip_suffix(".gz")
        .or_else(|| n.strip_suffix(".z"))
        .unwrap_or(&n);
    [".fits", ".fit", ".fts", ".fz"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// What a non-regular, non-folder entry is, to say why it is skipped.
fn special_kind(t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        Some("a named pipe")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else {
        None
    }
}

/// Candidate files (by name) under `dir`. Each real folder is visited once (symbolic links that
/// loop back are not followed again); named pipes, sockets and devices are never opened, only
/// reported; unreadable sub-folders become problems.
struct Walk<'a> {
    recursive: bool,
    visited: std::collections::HashSet<(u64, u64)>,
    files: &'a mut Vec<PathBuf>,
    problems: &'a mut Vec<Problem>,
}

impl Walk<'_> {
    fn problem(&mut self, path: PathBuf, reason: String) {
        self.problems.push(Problem { path, reason });
    }

    fn folder(&mut self, dir: &Path) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, "cannot read folder", e))?;
        if !self.visited.insert((meta.dev(), meta.ino())) {
            return Ok(()); // reached again through a link: already listed
        }
        let entries =
            std::fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot read folder", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, "cannot read folder", e))?;
            let path = entry.path();
            // follow links to see what they name, without opening anything
            let Ok(meta) = std::fs::metadata(&path) else {
                if is_fits_name(&entry.file_name().to_string_lossy()) {
                    let why = format!("{}: a broken link or unreadable entry", path.display());
                    self.problem(path, why);
                }
                continue;
            };
            let t = meta.file_type();
            if t.is_dir() {
                if self.recursive
                    && let Err(e) = self.folder(&path)
                {
                    self.problem(path, e.to_string());
                }
            } else if let Some(kind) = special_kind(&t) {
                if is_fits_name(&entry.file_name().to_string_lossy()) {
                    let why = format!("{}: {kind}, not a file: not opened", path.display());
                    self.problem(path, why);
                }
            } else if is_fits_name(&entry.file_name().to_string_lossy()) {
                self.files.push(path);
            }
        }
        Ok(())
    }
}

fn list_candidates(
    dir: &Path,
    recursive: bool,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    Walk {
        recursive,
        visited: Default::default(),
        files,
        problems,
    }
    .folder(dir)
}

/// Read the headers of every FITS file in `dir` in parallel (pixels are not read).
pub fn scan(dir: &Path, options: &ScanOptions) -> Result<Collection> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, "cannot open folder", e))?;
    if !meta.is_dir() {
        return Err(Error::Invalid(format!("{}: not a folder", dir.display())));
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    list_candidates(dir, options.recursive, &mut files, &mut problems)?;
    files.sort();
    let (frames, mut unreadable) = summarize_all(dir, &files);
    problems.append(&mut unreadable);
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Collection {
        root: dir.into(),
        frames,
        problems,
    })
}

/// Read the headers of the files named (in parallel, in the order given): a night made of chosen
/// files rather than a folder. Its root is the first file's folder; a file that cannot be read
/// (missing, not a regular file, not FITS) is a problem with its reason.
pub fn scan_files(files: &[PathBuf]) -> Collection {
    let root = files
        .first()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let (frames, problems) = summarize_all(&root, files);
    Collection {
        root,
        frames,
        problems,
    }
}

/// The headers of `files` read in parallel (file names relative to `root`), and the files that
/// could not be read.
fn summarize_all(root: &Path, files: &[PathBuf]) -> (Vec<FrameSummary>, Vec<Problem>) {
    let results: Vec<Result<FrameSummary, Problem>> =
        files.par_iter().map(|p| summarize_file(root, p)).collect();
    let (mut frames, mut problems) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(f) => frames.push(f),
            Err(p) => problems.push(p),
        }
    }
    (frames, problems)
}

fn summarize_file(root: &Path, path: &Path) -> Result<FrameSummary, Problem> {
    let info = read_image_info(path, &HduChoice::FirstImage).map_err(|e| Problem {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let file = path
        .strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let kind =
        FrameKind::from_imagetyp(info.header.get("IMAGETYP").map(|v| v.display()).as_deref());
    Ok(FrameSummary {
        path: path.into(),
        file,
        hdu: info.hdu,
        bitpix: info.bitpix,
        naxes: info.naxes,
        kind,
        header: info.header,
    })
}

/// A condition on one keyword, as typed after `--where`:
/// `KEY=VALUE` (case-insensitive; numbers compare as numbers; `*?[` make it a glob),
/// `KEY!=VALUE`, `KEY~REGEX` (case-insensitive search), `!KEY` (keyword missing), `KEY` (present).
/// For IMAGETYP, a value also matches the frame kind, so `imagetyp=flat` finds `DOME FLAT` and `Flat Field`.
#[derive(Debug, Clone)]
pub enum Condition {
    Equals {
        key: String,
        value: String,
    },
    NotEquals {
        key: String,
        value: String,
    },
    Glob {
        key: String,
        pattern: Regex,
    },
    Regex {
        key: String,
        pattern: Regex,
    },
    Missing {
        key: String,
    },
    Present {
        key: String,
    },
    /// The file name contains the text (any case; `*?[` make it a glob over the whole name).
    FileName {
        pattern: Regex,
    },
}

/// A shell glob as a regex over the whole name: `*`, `?`, and classes `[1-3]`, `[!ab]` (or `[^ab]`)
/// whose ranges stay ranges.
fn glob_to_regex(glob: &str) -> Result<Regex> {
    let mut re = String::from("(?i)^");
    let mut in_class = false;
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match (in_class, c) {
            (false, '*') => re.push_str(".*"),
            (false, '?') => re.push('.'),
            (false, '[') => {
                in_class = true;
                re.push('[');
                if chars.next_if(|n| *n == '!' || *n == '^').is_some() {
                    re.push('^');
                }
            }
            (true, ']') => {
                in_class = false;
                re.push(']');
            }
            (true, '-') => re.push('-'),
            (_, c) => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| Error::Invalid(format!("bad glob {glob:?}: {e}")))
}

impl std::str::FromStr for Condition {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let key_ok = |k: &str| -> Result<String> {
            let k = k.trim();
            if k.is_empty() || k.contains(char::is_whitespace) && !k.contains(' ') {
                return Err(Error::Invalid(format!("condition {s:?}: missing keyword")));
            }
            Ok(k.to_string())
        };
        if let Some(k) = s.strip_prefix('!') {
            return Ok(Condition::Missing { key: key_ok(k)? });
        }
        if let Some((k, v)) = s.split_once("!=") {
            return Ok(Condition::NotEquals {
                key: key_ok(k)?,
                value: v.trim().to_string(),
            });
        }
        if let Some((k, v)) = s.split_once('~') {
            let pattern = Regex::new(&format!("(?i){}", v.trim())).map_err(|e| {
                Error::Invalid(format!("condition {s:?}: bad regular expression: {e}"))
            })?;
            return Ok(Condition::Regex {
                key: key_ok(k)?,
                pattern,
            });
        }
        if let Some((k, v)) = s.split_once('=') {
            let v = v.trim();
            if v.contains(['*', '?', '[']) {
                return Ok(Condition::Glob {
                    key: key_ok(k)?,
                    pattern: glob_to_regex(v)?,
                });
            }
            return Ok(Condition::Equals {
                key: key_ok(k)?,
                value: v.to_string(),
            });
        }
        Ok(Condition::Present { key: key_ok(s)? })
    }
}

/// The conditions typed in the browser's filter box: space- or comma-separated, all must hold
/// (`IMAGETYP=flat FILTER=R`, `EXPTIME!=0`, `OBJECT~M3*`, `!FILTER`). A bare word is free text
/// over the file names (`sci_R`, `*_00[1-3].fits`). Empty text selects every row.
pub fn parse_conditions(text: &str) -> Result<Vec<Condition>> {
    text.split([' ', ','])
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            if t.contains(['=', '~', '!']) {
                t.parse()
            } else if t.contains(['*', '?', '[']) {
                Ok(Condition::FileName {
                    pattern: glob_to_regex(t)?,
                })
            } else {
                let pattern = Regex::new(&format!("(?i){}", regex::escape(t)))
                    .map_err(|e| Error::Invalid(format!("{t:?}: {e}")))?;
                Ok(Condition::FileName { pattern })
            }
        })
        .collect()
}

/// Case-insensitive equality of a header value and typed text; numbers compare as numbers.
fn value_equals(v: &Value, text: &str) -> bool {
    if let (Some(a), Ok(b)) = (v.as_f64(), text.trim().parse::<f64>()) {
        return a == b;
    }
    v.display().trim().eq_ignore_ascii_case(text.trim())
}

/// True for a bare frame-kind word (`flat`, `bias`, `zero`, `dark`, `light`, `object`, `science`), which
/// an IMAGETYP condition matches against the frame kind rather than the raw spelling.
fn is_kind_word(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    ["bias", "zero", "dark", "flat", "light", "object", "science"].contains(&v.as_str())
}

impl Condition {
    /// True when the row satisfies the condition.
    pub fn matches(&self, row: &FrameSummary) -> bool {
        let is_imagetyp =
            |k: &str| k.eq_ignore_ascii_case("IMAGETYP") || k.eq_ignore_ascii_case("kind");
        let equals = |key: &str, value: &str| {
            let filter_fallback = || {
                key.eq_ignore_ascii_case("FILTER")
                    && row
                        .filter()
                        .is_some_and(|f| f.eq_ignore_ascii_case(value.trim()))
            };
            row.value(key).is_some_and(|v| value_equals(&v, value))
                || filter_fallback()
                || (is_imagetyp(key)
                    && is_kind_word(value)
                    && FrameKind::from_imagetyp(Some(value)) == row.kind)
        };
        match self {
            Condition::Equals { key, value } => equals(key, value),
            Condition::NotEquals { key, value } => !equals(key, value),
            Condition::Glob { key, pattern } | Condition::Regex { key, pattern } => row
                .value(key)
                .is_some_and(|v| pattern.is_match(v.display().trim())),
            Condition::Missing { key } => row.value(key).is_none(),
            Condition::Present { key } => row.value(key).is_some(),
            Condition::FileName { pattern } => pattern.is_match(&row.file),
        }
    }
}

/// What rows are grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Kind,
    Filter,
    Exptime,
    Binning,
    Keyword(String),
}

impl std::str::FromStr for GroupKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "" => return Err(Error::Invalid("empty group key".into())),
            "kind" | "imagetyp" | "type" => GroupKey::Kind,
            "filter" => GroupKey::Filter,
            "exptime" | "exposure" => GroupKey::Exptime,
            "binning" | "bin" => GroupKey::Binning,
            _ => GroupKey::Keyword(s.trim().to_string()),
        })
    }
}

impl GroupKey {
    /// The group label of a row under this key.
    pub fn label(&self, row: &FrameSummary) -> String {
        match self {
            GroupKey::Kind => row.kind.name().into(),
            GroupKey::Filter => row.filter().unwrap_or_else(|| "(none)".into()),
            GroupKey::Exptime => row
                .exptime_s()
                .map(|t| format!("{t}s"))
                .unwrap_or_else(|| "(none)".into()),
            GroupKey::Binning => row.binning(),
            GroupKey::Keyword(k) => row
                .value(k)
                .map(|v| v.display())
                .unwrap_or_else(|| "(none)".into()),
        }
    }

    /// A short name for headings.
    pub fn name(&self) -> String {
        match self {
            GroupKey::Kind => "kind".into(),
            GroupKey::Filter => "filter".into(),
            GroupKey::Exptime => "exptime".into(),
            GroupKey::Binning => "binning".into(),
            GroupKey::Keyword(k) => k.clone(),
        }
    }
}

/// Rows sharing the same labels under some group keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// One label per key, in the keys' order.
    pub labels: Vec<String>,
    /// Indices into [`Collection::frames`].
    pub members: Vec<usize>,
}

/// Order two optional values: numbers numerically, text case-insensitively, missing last.
pub fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a
                .display()
                .to_ascii_lowercase()
                .cmp(&b.display().to_ascii_lowercase()),
        },
    }
}

impl Collection {
    /// Indices of the rows that satisfy every condition.
    pub fn select(&self, conditions: &[Condition]) -> Vec<usize> {
        (0..self.frames.len())
            .filter(|&i| conditions.iter().all(|c| c.matches(&self.frames[i])))
            .collect()
    }

    /// Sort rows by a column (missing values last, ties kept in file order).
    pub fn sort_by_column(&mut self, column: &str, descending: bool) {
        self.frames.sort_by(|a, b| {
            let o = compare_values(a.value(column).as_ref(), b.value(column).as_ref());
            let o = if descending { o.reverse() } else { o };
            o.then_with(|| a.file.cmp(&b.file))
        });
    }

    /// Group the given rows by the keys; groups come in sorted label order.
    pub fn group(&self, rows: &[usize], keys: &[GroupKey]) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for &i in rows {
            let labels: Vec<String> = keys.iter().map(|k| k.label(&self.frames[i])).collect();
            match groups.iter_mut().find(|g| g.labels == labels) {
                Some(g) => g.members.push(i),
                None => groups.push(Group {
                    labels,
                    members: vec![i],
                }),
            }
        }
        groups.sort_by(|a, b| {
            a.labels
                .iter()
                .zip(&b.labels)
                .map(|(x, y)| compare_values(Some(&label_value(x)), Some(&label_value(y))))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        groups
    }
}

/// A label as a value, so "60s" sorts before "300s".
fn label_value(label: &str) -> Value {
    match label.strip_suffix('s').and_then(|n| n.parse::<f64>().ok()) {
        Some(n) => Value::Float(n),
        None => Value::Str(label.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_box_takes_several_conditions_and_reports_a_bad_one() {
        assert!(parse_conditions("  ").unwrap().is_empty());
        let c = parse_conditions("IMAGETYP=flat, FILTER=R").unwrap();
        assert_eq!(c.len(), 2);
        assert!(parse_conditions("=R").is_err());
    }

    #[test]
    fn glob_classes_keep_their_ranges_and_negations() {
        let g = |glob: &str, name: &str| glob_to_regex(glob).unwrap().is_match(name);
        for n in ["m_0001.fit", "m_0002.fit", "m_0003.fit"] {
            assert!(g("*_000[1-3].fit", n), "{n}");
        }
        assert!(!g("*_000[1-3].fit", "m_0004.fit"));
        assert!(!g("*_000[1-3].fit", "m_000-.fit"));
        assert!(g("*_000[!1-3].fit", "m_0004.fit"));
        assert!(!g("*_000[!1-3].fit", "m_0002.fit"));
        assert!(g("a-b?.fits", "A-B1.fits"));
        assert!(!g("a.b", "axb"));
    }

    #[test]
    fn a_bare_word_in_the_filter_box_searches_the_file_names() {
        let mut a = row("LIGHT", Some("R"), 300.0);
        a.file = "sci_R_003.fits".into();
        let mut b = row("FLAT", Some("R"), 3.0);
        b.file = "flat_R_001.fits".into();
        let keep = |text: &str, r: &FrameSummary| {
            parse_conditions(text).unwrap().iter().all(|c| c.matches(r))
        };
        assert!(keep("SCI_r", &a) && !keep("SCI_r", &b));
        assert!(keep("*_001.fits", &b) && !keep("*_001.fits", &a));
        assert!(keep("_R_ FILTER=R", &a) && keep("_R_ FILTER=R", &b));
        assert!(!keep("sci IMAGETYP=flat", &a));
    }

    fn row(imagetyp: &str, filter: Option<&str>, exptime: f64) -> FrameSummary {
        let mut header = Header::default();
        header.set("IMAGETYP", Value::Str(imagetyp.into()), "");
        if let Some(f) = filter {
            header.set("FILTER", Value::Str(f.into()), "");
        }
        header.set("EXPTIME", Value::Float(exptime), "");
        FrameSummary {
            path: "x.fits".into(),
            file: format!("{imagetyp}-{exptime}.fits"),
            hdu: 0,
            bitpix: 16,
            naxes: vec![10, 20],
            kind: FrameKind::from_imagetyp(Some(imagetyp)),
            header,
        }
    }

    #[test]
    fn imagetyp_spellings_normalise() {
        use FrameKind::*;
        for (s, k) in [
            ("Bias Frame", Bias),
            ("BIAS", Bias),
            ("zero", Bias),
            ("Dark Frame", Dark),
            ("Flat Field", Flat),
            ("FLAT", Flat),
            ("DOME FLAT", Flat),
            ("SKY_FLAT", Flat),
            ("twilight flat", Flat),
            ("domeflat", Flat),
            ("Light Frame", Light),
            ("OBJECT", Light),
            ("LIGHT", Light),
            ("SPECTROSCOPIC", Other),
            ("", Unknown),
        ] {
            assert_eq!(FrameKind::from_imagetyp(Some(s)), k, "{s}");
        }
        assert_eq!(FrameKind::from_imagetyp(None), Unknown);
    }

    #[test]
    fn conditions_select_what_a_person_expects() {
        let c = Collection {
            root: ".".into(),
            frames: vec![
                row("DOME FLAT", Some("V"), 7.0),
                row("Flat Field", Some("B"), 15.0),
                row("OBJECT", Some("v"), 60.0),
                row("BIAS", None, 0.0),
            ],
            problems: vec![],
        };
        let sel = |s: &str| c.select(&[s.parse().unwrap()]);
        assert_eq!(sel("imagetyp=flat"), vec![0, 1]);
        assert_eq!(sel("IMAGETYP=dome flat"), vec![0]);
        assert_eq!(sel("filter=V"), vec![0, 2]);
        assert_eq!(sel("exptime=60"), vec![2]);
        assert_eq!(sel("imagetyp=*flat*"), vec![0, 1]);
        assert_eq!(sel("object~^O"), Vec::<usize>::new());
        assert_eq!(sel("imagetyp~^(bias|object)$"), vec![2, 3]);
        assert_eq!(sel("!FILTER"), vec![3]);
        assert_eq!(sel("filter!=v"), vec![1, 3]);
        assert_eq!(sel("NAXIS2=20"), vec![0, 1, 2, 3]);
        assert!("x~(".parse::<Condition>().is_err());
    }

    #[test]
    fn groups_and_sorting() {
        let mut c = Collection {
            root: ".".into(),
            frames: vec![
                row("DARK", None, 300.0),
                row("DARK", None, 60.0),
                row("FLAT", Some("R"), 2.0),
                row("DARK", None, 60.0),
            ],
            problems: vec![],
        };
        let all: Vec<usize> = (0..4).collect();
        let g = c.group(&all, &[GroupKey::Kind, GroupKey::Exptime]);
        let labels: Vec<_> = g
            .iter()
            .map(|g| (g.labels.join(" "), g.members.len()))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("dark 60s".to_string(), 2),
                ("dark 300s".to_string(), 1),
                ("flat 2s".to_string(), 1)
            ]
        );
        c.sort_by_column("EXPTIME", true);
        assert_eq!(c.frames[0].exptime_s(), Some(300.0));
        c.sort_by_column("FILTER", false);
        assert_eq!(
            c.frames[0].filter().as_deref(),
            Some("R"),
            "missing values sort last"
        );
    }

    #[test]
    fn fits_names() {
        for n in [
            "a.fits",
            "B.FIT",
            "c.fts",
            "d.fits.gz",
            "e.fits.fz",
            "f.fits.Z",
            "g.fz",
        ] {
            assert!(is_fits_name(n), "{n}");
        }
        for n in ["notes.txt", ".a.fits.part-1-0", "fits", "a.fits.bak"] {
            assert!(!is_fits_name(n), "{n}");
        }
    }
}
