//! The histogram under the image and the header panel: limits typed or dragged, cards searched.

use super::app::{App, Look};
use super::browser::labelled_text_box;
use crate::display::Interval;

impl App {
    /// The shown frame's header, searchable (keyword, value or comment, any case).
    pub(crate) fn header_panel(&mut self, ui: &mut egui::Ui) {
        labelled_text_box(ui, "Header", &mut self.header_search, "search", 160.0);
        let Some(l) = &self.image else {
            return;
        };
        let lines = l.frame.header.lines_matching(&self.header_search);
        ui.label(format!("{} cards", lines.len()));
        egui::ScrollArea::both().show(ui, |ui| {
            for line in lines {
                ui.monospace(line);
            }
        });
    }

    /// The histogram of pixel values (log counts) with the display limits as lines. Type or drag
    /// the low and high values, or drag in the plot to move the nearer limit: the frame is redrawn
    /// with these manual limits when the drag ends.
    pub(crate) fn histogram_panel(&mut self, ui: &mut egui::Ui) {
        let Some(l) = &self.image else { return };
        let Some(h) = &l.histogram else { return };
        let mut lim = self.pending_limits.unwrap_or(l.limits);
        let speed = ((h.hi - h.lo) / 500.0).max(1e-6);
        let mut edited = Edit::None;
        ui.horizontal(|ui| {
            for (name, value) in [("low", &mut lim.0), ("high", &mut lim.1)] {
                let label = ui.label(name);
                let r = ui
                    .add(
                        egui::DragValue::new(value)
                            .speed(speed)
                            .max_decimals(3)
                            .update_while_editing(false),
                    )
                    .labelled_by(label.id);
                edited = edited.or(Edit::of(&r));
            }
        });
        let points: Vec<[f64; 2]> = (0..h.counts.len())
            .flat_map(|i| {
                let y = (h.counts[i] as f64 + 1.0).log10();
                [[h.bin_edge(i), y], [h.bin_edge(i + 1), y]]
            })
            .collect();
        let plot = egui_plot::Plot::new("histogram")
            .height(ui.available_height().max(110.0))
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .show_y(false)
            .y_axis_label("log10 count")
            .show(ui, |p| {
                p.line(egui_plot::Line::new("pixels", points));
                for (name, x) in [("low", lim.0), ("high", lim.1)] {
                    p.vline(egui_plot::VLine::new(name, x).color(egui::Color32::LIGHT_BLUE));
                }
                p.pointer_coordinate()
            });
        if let (Some(at), Edit::Dragging | Edit::Done) = (plot.inner, Edit::of(&plot.response)) {
            let nearer_low = (at.x - lim.0).abs() < (at.x - lim.1).abs();
            *(if nearer_low { &mut lim.0 } else { &mut lim.1 }) = at.x;
            edited = edited.or(Edit::of(&plot.response));
        }
        match edited {
            Edit::None => {}
            Edit::Dragging => self.pending_limits = Some(lim),
            Edit::Done => {
                self.pending_limits = None;
                let (low, high) = (lim.0.min(lim.1), lim.0.max(lim.1));
                let look = Look {
                    interval: Interval::Manual { low, high },
                    ..self.prefs.look
                };
                let ctx = ui.ctx().clone();
                self.set_look(look, &ctx);
            }
        }
    }
}

/// What a widget did to a value this frame: nothing, a drag still under way, or a finished change.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Edit {
    None,
    Dragging,
    Done,
}

impl Edit {
    pub(crate) fn of(r: &egui::Response) -> Edit {
        if r.drag_stopped() || (r.changed() && !r.dragged()) {
            Edit::Done
        } else if r.dragged() {
            Edit::Dragging
        } else {
            Edit::None
        }
    }

    /// The stronger of two: a finished change wins over a drag, a drag over nothing.
    pub(crate) fn or(self, other: Edit) -> Edit {
        match (self, other) {
            (Edit::Done, _) | (_, Edit::Done) => Edit::Done,
            (Edit::Dragging, _) | (_, Edit::Dragging) => Edit::Dragging,
            _ => Edit::None,
        }
    }
}
