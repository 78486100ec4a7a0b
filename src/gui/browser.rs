//! The browser: the night's table (egui_extras) with its filter box, sort, group chips, added
//! keyword columns and the multi-selection that other panels use as "the selected frames".

use super::app::App;
use crate::collection::{Collection, GroupKey};
use egui_extras::{Column, TableBuilder};
use std::path::PathBuf;

/// The standard columns: header keyword (as `FrameSummary::value` knows it) and title.
const STANDARD_COLUMNS: [(&str, &str); 5] = [
    ("file", "file"),
    ("IMAGETYP", "IMAGETYP"),
    ("FILTER", "FILTER"),
    ("EXPTIME", "EXPTIME"),
    ("NAXIS1", "size"),
];

/// The group chips: what they group by and their titles.
const GROUP_CHIPS: [(GroupKey, &str); 3] = [
    (GroupKey::Kind, "by kind"),
    (GroupKey::Filter, "by filter"),
    (GroupKey::Exptime, "by exptime"),
];

/// A line of the table: a group's heading (labels, members) or a frame (index into the collection).
enum Line {
    Group(String, Vec<usize>),
    Frame(usize),
}

/// Rows a page up or down steps.
const PAGE_ROWS: i64 = 10;

/// How a row was clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Click {
    /// Select only this frame.
    Only,
    /// Add it to the selection, or take it out (ctrl-click).
    Toggle,
    /// Select every shown frame from the last clicked one to this (shift-click).
    Range,
}

impl Click {
    fn from(m: egui::Modifiers) -> Click {
        if m.shift {
            Click::Range
        } else if m.command || m.ctrl {
            Click::Toggle
        } else {
            Click::Only
        }
    }
}

/// What the user asked of the table this frame, applied after it is drawn.
enum Ask {
    /// Show this frame, the selection kept (a key stepped to it).
    Step(usize),
    Sort(String),
    Click(usize, Click),
    Choose(Vec<usize>),
    RemoveColumn(String),
}

impl App {
    pub(crate) fn browser(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Night");
            if ui
                .add_enabled(!self.scanning, egui::Button::new("refresh"))
                .clicked()
            {
                let ctx = ui.ctx().clone();
                self.refresh(&ctx);
            }
        });
        if let Some(e) = &self.scan_error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
            return;
        }
        let hint = "IMAGETYP=flat FILTER=R sci_";
        labelled_text_box(ui, "filter", &mut self.row_filter, hint, 260.0);
        self.group_chips_and_columns(ui);
        let Some(c) = &self.collection else {
            ui.label("scanning ...");
            return;
        };
        let rows = match crate::collection::parse_conditions(&self.row_filter) {
            Ok(conditions) => c.select(&conditions),
            Err(e) => {
                ui.colored_label(egui::Color32::LIGHT_RED, e.to_string());
                (0..c.frames.len()).collect()
            }
        };
        ui.horizontal(|ui| {
            ui.label(format!("{} of {} frames", rows.len(), c.frames.len()));
            ui.label(format!("{} selected", self.selection.len()));
        });
        let lines = self.lines(c, &rows);
        if !c.problems.is_empty() {
            egui::CollapsingHeader::new(format!("{} unreadable", c.problems.len()))
                .default_open(true)
                .show(ui, |ui| {
                    for p in &c.problems {
                        ui.colored_label(egui::Color32::LIGHT_RED, &p.reason);
                    }
                });
        }
        let ask = self.table(ui, c, &lines);
        let frame_rows: Vec<usize> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Frame(i) => Some(*i),
                Line::Group(..) => None,
            })
            .collect();
        let ctx = ui.ctx().clone();
        let ask = ask.or_else(|| self.stepped(&ctx, &frame_rows).map(Ask::Step));
        match ask {
            Some(Ask::Step(i)) => self.select(i, &ctx),
            Some(Ask::Sort(column)) => self.sort_rows(&column),
            Some(Ask::Click(i, how)) => self.click_row(i, how, &frame_rows, &ctx),
            Some(Ask::Choose(members)) => self.choose(&members, &ctx),
            Some(Ask::RemoveColumn(k)) => self.prefs.columns.retain(|c| *c != k),
            None => {}
        }
    }

    /// The frame a key steps to from the one shown, among `frame_rows` (the rows in the order
    /// shown): down/up and tab/shift-tab one row, page down/up ten; not while typing or blinking.
    fn stepped(&self, ctx: &egui::Context, frame_rows: &[usize]) -> Option<usize> {
        if ctx.text_edit_focused() || self.blink.active || frame_rows.is_empty() {
            return None;
        }
        let by: i64 = ctx.input_mut(|i| {
            let mut by = 0;
            for (key, step) in [
                (egui::Key::ArrowDown, 1),
                (egui::Key::ArrowUp, -1),
                (egui::Key::PageDown, PAGE_ROWS),
                (egui::Key::PageUp, -PAGE_ROWS),
            ] {
                if i.consume_key(egui::Modifiers::NONE, key) {
                    by += step;
                }
            }
            if i.consume_key(egui::Modifiers::SHIFT, egui::Key::Tab) {
                by -= 1;
            }
            if i.consume_key(egui::Modifiers::NONE, egui::Key::Tab) {
                by += 1;
            }
            by
        });
        if by == 0 {
            return None;
        }
        let here = self
            .selected
            .and_then(|s| frame_rows.iter().position(|&i| i == s));
        let to = match here {
            Some(h) => (h as i64 + by).clamp(0, frame_rows.len() as i64 - 1) as usize,
            None => 0,
        };
        (Some(to) != here).then(|| frame_rows[to])
    }

    /// Chips that group the table, and a box that adds a header keyword as a column.
    fn group_chips_and_columns(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for (key, title) in GROUP_CHIPS {
                let mut on = self.prefs.group_by.contains(&key.name());
                if ui.toggle_value(&mut on, title).changed() {
                    self.prefs.group_by.retain(|k| *k != key.name());
                    if on {
                        self.prefs.group_by.push(key.name());
                    }
                }
            }
            ui.separator();
            let label = ui.label("add column");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.new_column)
                        .hint_text("OBJECT")
                        .desired_width(90.0),
                )
                .labelled_by(label.id);
            if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                let k = self.new_column.trim().to_ascii_uppercase();
                if !k.is_empty() && !self.prefs.columns.contains(&k) {
                    self.prefs.columns.push(k);
                }
                self.new_column.clear();
            }
        });
    }

    /// The table's lines: the rows as they are, or under a heading per group.
    fn lines(&self, c: &Collection, rows: &[usize]) -> Vec<Line> {
        if self.prefs.group_by.is_empty() {
            return rows.iter().map(|&i| Line::Frame(i)).collect();
        }
        // the chips' order, not the order they were switched on
        let keys: Vec<GroupKey> = GROUP_CHIPS
            .iter()
            .filter(|(k, _)| self.prefs.group_by.contains(&k.name()))
            .map(|(k, _)| k.clone())
            .collect();
        let mut lines = Vec::new();
        for g in c.group(rows, &keys) {
            let title = format!("{} ({})", g.labels.join(" · "), g.members.len());
            lines.push(Line::Group(title, g.members.clone()));
            lines.extend(g.members.into_iter().map(Line::Frame));
        }
        lines
    }

    /// Draw the table; return what was clicked.
    fn table(&self, ui: &mut egui::Ui, c: &Collection, lines: &[Line]) -> Option<Ask> {
        let columns: Vec<(String, String)> = STANDARD_COLUMNS
            .iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .chain(self.prefs.columns.iter().map(|k| (k.clone(), k.clone())))
            .collect();
        let mut ask = None;
        let row_height = ui.text_style_height(&egui::TextStyle::Button) + 4.0;
        // one line per row: long names widen their column rather than wrap
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        // cells' text is not selectable, so a click anywhere on a row reaches the row
        ui.style_mut().interaction.selectable_labels = false;
        TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .column(Column::auto().at_least(120.0))
            .columns(Column::auto().at_least(40.0), columns.len() - 1)
            .header(row_height, |mut header| {
                for (column, title) in &columns {
                    header.col(|ui| {
                        let arrow = match &self.sorted_by {
                            Some((c, false)) if c == column => " ^",
                            Some((c, true)) if c == column => " v",
                            _ => "",
                        };
                        let r = ui.button(format!("{title}{arrow}"));
                        if r.clicked() {
                            ask = Some(Ask::Sort(column.clone()));
                        }
                        if self.prefs.columns.contains(column) {
                            r.context_menu(|ui| {
                                if ui.button("remove column").clicked() {
                                    ask = Some(Ask::RemoveColumn(column.clone()));
                                }
                            });
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, lines.len(), |mut row| {
                    match &lines[row.index()] {
                        Line::Group(title, members) => {
                            row.col(|ui| {
                                if ui.button(title).on_hover_text("select the group").clicked() {
                                    ask = Some(Ask::Choose(members.clone()));
                                }
                            });
                        }
                        Line::Frame(i) => {
                            let f = &c.frames[*i];
                            let chosen = self.selection.contains(&f.path);
                            row.set_selected(chosen);
                            row.col(|ui| {
                                let shown = self.selected == Some(*i);
                                let r = ui.selectable_label(chosen || shown, &f.file);
                                if r.clicked() {
                                    let how = Click::from(ui.input(|i| i.modifiers));
                                    ask = Some(Ask::Click(*i, how));
                                }
                            });
                            for (column, _) in &columns[1..] {
                                row.col(|ui| {
                                    ui.label(match column.as_str() {
                                        "NAXIS1" => {
                                            format!("{}x{}", f.text("NAXIS1"), f.text("NAXIS2"))
                                        }
                                        k => f.text(k),
                                    });
                                });
                            }
                            // the whole row takes the click, not only the file's name
                            if ask.is_none() && row.response().clicked() {
                                let how = Click::from(row.response().ctx.input(|i| i.modifiers));
                                ask = Some(Ask::Click(*i, how));
                            }
                        }
                    }
                });
            });
        ask
    }

    /// A click on a frame's row: `frame_rows` are the frames in the order shown (for shift-click).
    /// The clicked frame is shown in the viewer unless ctrl-click took it out of the selection.
    pub fn click_row(
        &mut self,
        index: usize,
        how: Click,
        frame_rows: &[usize],
        ctx: &egui::Context,
    ) {
        let Some(path) = self.path_of(index) else {
            return;
        };
        match how {
            Click::Only => {
                self.selection.clear();
                self.selection.insert(path.clone());
            }
            Click::Toggle => {
                if !self.selection.remove(&path) {
                    self.selection.insert(path.clone());
                }
            }
            Click::Range => {
                let at = |p: &Option<PathBuf>| {
                    frame_rows
                        .iter()
                        .position(|&i| self.path_of(i).as_ref() == p.as_ref())
                };
                let to = at(&Some(path.clone())).unwrap_or(0);
                let from = at(&self.anchor).unwrap_or(to);
                let (a, b) = (from.min(to), from.max(to));
                self.selection = frame_rows[a..=b]
                    .iter()
                    .filter_map(|&i| self.path_of(i))
                    .collect();
            }
        }
        if how != Click::Range {
            self.anchor = Some(path.clone());
        }
        if self.selection.contains(&path) {
            self.select(index, ctx);
        }
    }

    /// Select these frames (a group) and show the first.
    pub fn choose(&mut self, members: &[usize], ctx: &egui::Context) {
        self.selection = members.iter().filter_map(|&i| self.path_of(i)).collect();
        self.anchor = members.first().and_then(|&i| self.path_of(i));
        if let Some(&first) = members.first() {
            self.select(first, ctx);
        }
    }

    /// The selected frames in table order (the shown frame alone when nothing is selected).
    pub fn selected_frames(&self) -> Vec<PathBuf> {
        let Some(c) = &self.collection else {
            return Vec::new();
        };
        let chosen: Vec<PathBuf> = c
            .frames
            .iter()
            .filter(|f| self.selection.contains(&f.path))
            .map(|f| f.path.clone())
            .collect();
        if chosen.is_empty() {
            self.selected_path().into_iter().collect()
        } else {
            chosen
        }
    }

    fn path_of(&self, index: usize) -> Option<PathBuf> {
        Some(self.collection.as_ref()?.frames.get(index)?.path.clone())
    }

    /// Sort the table by a column; the same column again reverses the order. The selected frame
    /// stays selected.
    pub fn sort_rows(&mut self, column: &str) {
        let Some(c) = self.collection.as_mut() else {
            return;
        };
        let descending = matches!(&self.sorted_by, Some((s, false)) if s == column);
        let selected = self.selected.map(|i| c.frames[i].path.clone());
        c.sort_by_column(column, descending);
        self.selected = selected.and_then(|p| c.frames.iter().position(|f| f.path == p));
        self.sorted_by = Some((column.to_string(), descending));
    }
}

/// A one-line text box after its label (which names it for screen readers and tests).
pub(crate) fn labelled_text_box(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    hint: &str,
    width: f32,
) {
    ui.horizontal(|ui| {
        let label = ui.strong(label);
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(width),
        )
        .labelled_by(label.id);
    });
}
