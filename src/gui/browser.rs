//! The browser: the night's table, its filter box, sorting and the selection.

use super::app::App;

/// The browser's columns: header keyword (as `FrameSummary::value` knows it) and title.
const BROWSER_COLUMNS: [(&str, &str); 5] = [
    ("file", "file"),
    ("IMAGETYP", "IMAGETYP"),
    ("FILTER", "FILTER"),
    ("EXPTIME", "EXPTIME"),
    ("NAXIS1", "size"),
];

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
        let hint = "IMAGETYP=flat FILTER=R";
        labelled_text_box(ui, "filter", &mut self.row_filter, hint, 260.0);
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
        ui.label(format!("{} of {} frames", rows.len(), c.frames.len()));
        let (mut clicked, mut sort_by) = (None, None);
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("frames").striped(true).show(ui, |ui| {
                for (column, title) in BROWSER_COLUMNS {
                    let arrow = match &self.sorted_by {
                        Some((c, false)) if c == column => " ^",
                        Some((c, true)) if c == column => " v",
                        _ => "",
                    };
                    if ui.button(format!("{title}{arrow}")).clicked() {
                        sort_by = Some(column.to_string());
                    }
                }
                ui.end_row();
                for &i in &rows {
                    let f = &c.frames[i];
                    if ui
                        .selectable_label(self.selected == Some(i), &f.file)
                        .clicked()
                    {
                        clicked = Some(i);
                    }
                    ui.label(f.text("IMAGETYP"));
                    ui.label(f.text("FILTER"));
                    ui.label(f.text("EXPTIME"));
                    ui.label(format!("{}x{}", f.text("NAXIS1"), f.text("NAXIS2")));
                    ui.end_row();
                }
            });
            for p in &c.problems {
                ui.colored_label(egui::Color32::LIGHT_RED, &p.reason);
            }
        });
        if let Some(column) = sort_by {
            self.sort_rows(&column);
        }
        if let Some(i) = clicked {
            let ctx = ui.ctx().clone();
            self.select(i, &ctx);
        }
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
