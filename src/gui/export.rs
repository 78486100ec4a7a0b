//! Export: the shown frame (a raw or calibrated frame, a combined image or map, with its provenance
//! header) saved as FITS where the person chooses, and the view as a PNG of every pixel with the
//! current limits, stretch and colormap.

use super::app::{App, Done, Look};
use super::jobs::JobKind;
use crate::fits::{WriteOptions, write::write_atomic};
use std::path::{Path, PathBuf};

/// The frame as 8-bit RGB, FITS row 0 at the bottom, every pixel, drawn between `lim` with `look`.
pub fn frame_png(frame: &crate::Frame, lim: (f64, f64), look: &Look) -> crate::Result<Vec<u8>> {
    use image::ImageEncoder;
    let renderer = look.renderer(frame, lim);
    let (ny, nx) = frame.data.dim();
    let mut rgb = Vec::with_capacity(nx * ny * 3);
    for y in (0..ny).rev() {
        for &v in frame.data.row(y) {
            rgb.extend_from_slice(&renderer.rgb(v));
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, nx as u32, ny as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| crate::Error::Invalid(format!("cannot encode the PNG: {e}")))?;
    Ok(png)
}

/// Copy the FITS file `from` to `to` (atomically; never over the file itself).
pub fn export_fits(from: &Path, to: &Path) -> crate::Result<()> {
    crate::fits::refuse_inputs(to, &[from.to_path_buf()])?;
    let bytes = std::fs::read(from).map_err(|e| crate::Error::io(from, "cannot read", e))?;
    write_atomic(to, &bytes, WriteOptions { overwrite: true })
}

impl App {
    /// Save the shown file as FITS at `to` off the UI thread (the status line says when done).
    pub fn export_fits(&mut self, to: PathBuf, ctx: &egui::Context) {
        let Some(from) = self.wanted.clone() else {
            return;
        };
        self.export(ctx, move || export_fits(&from, &to).map(|()| to));
    }

    /// Run an export off the UI thread; the status line hears how it went.
    fn export(
        &mut self,
        ctx: &egui::Context,
        job: impl FnOnce() -> crate::Result<PathBuf> + Send + 'static,
    ) {
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Export, move |h| {
            h.send(Done::Exported(job()));
        });
    }

    /// Write the shown frame as a PNG at `to` off the UI thread (the status line says when done).
    pub fn export_png(&mut self, to: PathBuf, ctx: &egui::Context) {
        let Some(l) = &self.image else { return };
        let (frame, lim, look) = (l.frame.clone(), l.limits, self.prefs.look);
        self.export(ctx, move || {
            let png = frame_png(&frame, lim, &look)?;
            write_atomic(&to, &png, WriteOptions { overwrite: true }).map(|()| to)
        });
    }
}
