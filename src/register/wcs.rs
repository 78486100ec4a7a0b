//! Celestial WCS from FITS headers, TAN (gnomonic) and TAN-SIP: pixel to sky and back, and the
//! offsets between frames it implies. Pixels here are 0-based (FITS pixel = ours + 1).

use crate::error::{Error, Result};
use crate::fits::Header;
use std::f64::consts::PI;

/// SIP distortion polynomials: coefficients (i, j, value) of u^i v^j.
#[derive(Debug, Clone, Default, PartialEq)]
struct Sip {
    a: Vec<(i32, i32, f64)>,
    b: Vec<(i32, i32, f64)>,
    ap: Vec<(i32, i32, f64)>,
    bp: Vec<(i32, i32, f64)>,
}

fn poly(c: &[(i32, i32, f64)], u: f64, v: f64) -> f64 {
    c.iter().map(|(i, j, k)| k * u.powi(*i) * v.powi(*j)).sum()
}

/// A TAN or TAN-SIP world coordinate system.
#[derive(Debug, Clone, PartialEq)]
pub struct Wcs {
    /// CRPIX, 1-based as in the header.
    crpix: (f64, f64),
    /// CRVAL in degrees (RA, Dec).
    crval: (f64, f64),
    /// The CD matrix (degrees per pixel).
    cd: [[f64; 2]; 2],
    sip: Option<Sip>,
}

fn coefficients(h: &Header, prefix: &str) -> Vec<(i32, i32, f64)> {
    let order = h.get_i64(&format!("{prefix}_ORDER")).unwrap_or(-1);
    let mut out = Vec::new();
    for i in 0..=order.max(0) as i32 {
        for j in 0..=(order as i32 - i).max(0) {
            if let Some(v) = h.get_f64(&format!("{prefix}_{i}_{j}")) {
                out.push((i, j, v));
            }
        }
    }
    out
}

impl Wcs {
    /// Read a TAN or TAN-SIP celestial WCS from a header; other projections are refused by name.
    pub fn from_header(h: &Header, name: &str) -> Result<Wcs> {
        let (t1, t2) = (
            h.get_str("CTYPE1")
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase(),
            h.get_str("CTYPE2")
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase(),
        );
        if t1.is_empty() || t2.is_empty() {
            return Err(Error::Invalid(format!(
                "{name}: no celestial WCS (CTYPE1/CTYPE2 missing)"
            )));
        }
        let proj = |t: &str| t.get(4..).unwrap_or("").trim_start_matches('-').to_string();
        let (p1, p2) = (proj(&t1), proj(&t2));
        if !(t1.starts_with("RA") && t2.starts_with("DEC"))
            || p1 != p2
            || !(p1 == "TAN" || p1 == "TAN-SIP")
        {
            return Err(Error::Invalid(format!(
                "{name}: WCS {t1}/{t2} is not supported (TAN and TAN-SIP are)"
            )));
        }
        let need = |k: &str| {
            h.get_f64(k)
                .ok_or_else(|| Error::Invalid(format!("{name}: WCS keyword {k} missing")))
        };
        let cd = if h.contains("CD1_1") || h.contains("CD2_2") {
            let g = |k: &str| h.get_f64(k).unwrap_or(0.0);
            [[g("CD1_1"), g("CD1_2")], [g("CD2_1"), g("CD2_2")]]
        } else {
            let (d1, d2) = (need("CDELT1")?, need("CDELT2")?);
            let pc = |k: &str, def: f64| h.get_f64(k).unwrap_or(def);
            if h.contains("PC1_1") || h.contains("PC1_2") {
                [
                    [d1 * pc("PC1_1", 1.0), d1 * pc("PC1_2", 0.0)],
                    [d2 * pc("PC2_1", 0.0), d2 * pc("PC2_2", 1.0)],
                ]
            } else {
                let r = h.get_f64("CROTA2").unwrap_or(0.0) * PI / 180.0;
                [[d1 * r.cos(), -d2 * r.sin()], [d1 * r.sin(), d2 * r.cos()]]
            }
        };
        let sip = (p1 == "TAN-SIP").then(|| Sip {
            a: coefficients(h, "A"),
            b: coefficients(h, "B"),
            ap: coefficients(h, "AP"),
            bp: coefficients(h, "BP"),
        });
        Ok(Wcs {
            crpix: (need("CRPIX1")?, need("CRPIX2")?),
            crval: (need("CRVAL1")?, need("CRVAL2")?),
            cd,
            sip,
        })
    }

    /// Sky position (RA, Dec in degrees) of the 0-based pixel (x, y).
    pub fn pixel_to_world(&self, x: f64, y: f64) -> (f64, f64) {
        let (mut u, mut v) = (x + 1.0 - self.crpix.0, y + 1.0 - self.crpix.1);
        if let Some(s) = &self.sip {
            let (du, dv) = (poly(&s.a, u, v), poly(&s.b, u, v));
            u += du;
            v += dv;
        }
        let xi = (self.cd[0][0] * u + self.cd[0][1] * v) * PI / 180.0;
        let eta = (self.cd[1][0] * u + self.cd[1][1] * v) * PI / 180.0;
        let (a0, d0) = (self.crval.0 * PI / 180.0, self.crval.1 * PI / 180.0);
        let den = d0.cos() - eta * d0.sin();
        let ra = a0 + xi.atan2(den);
        let dec = (d0.sin() + eta * d0.cos()).atan2((xi * xi + den * den).sqrt());
        ((ra * 180.0 / PI).rem_euclid(360.0), dec * 180.0 / PI)
    }

    /// The 0-based pixel of a sky position (RA, Dec in degrees).
    pub fn world_to_pixel(&self, ra: f64, dec: f64) -> (f64, f64) {
        let (a, d) = (ra * PI / 180.0, dec * PI / 180.0);
        let (a0, d0) = (self.crval.0 * PI / 180.0, self.crval.1 * PI / 180.0);
        let cosc = d.sin() * d0.sin() + d.cos() * d0.cos() * (a - a0).cos();
        let xi = d.cos() * (a - a0).sin() / cosc * 180.0 / PI;
        let eta = (d.sin() * d0.cos() - d.cos() * d0.sin() * (a - a0).cos()) / cosc * 180.0 / PI;
        let det = self.cd[0][0] * self.cd[1][1] - self.cd[0][1] * self.cd[1][0];
        let up = (self.cd[1][1] * xi - self.cd[0][1] * eta) / det;
        let vp = (-self.cd[1][0] * xi + self.cd[0][0] * eta) / det;
        let (u, v) = match &self.sip {
            None => (up, vp),
            Some(s) => {
                // the inverse polynomials as a start, then Newton on u + A(u, v) = u', v + B(u, v) = v'
                let (mut u, mut v) = if s.ap.is_empty() {
                    (up, vp)
                } else {
                    (up + poly(&s.ap, up, vp), vp + poly(&s.bp, up, vp))
                };
                for _ in 0..20 {
                    let (fu, fv) = (u + poly(&s.a, u, v) - up, v + poly(&s.b, u, v) - vp);
                    let h = 1e-4;
                    let j11 = 1.0 + (poly(&s.a, u + h, v) - poly(&s.a, u - h, v)) / (2.0 * h);
                    let j12 = (poly(&s.a, u, v + h) - poly(&s.a, u, v - h)) / (2.0 * h);
                    let j21 = (poly(&s.b, u + h, v) - poly(&s.b, u - h, v)) / (2.0 * h);
                    let j22 = 1.0 + (poly(&s.b, u, v + h) - poly(&s.b, u, v - h)) / (2.0 * h);
                    let dj = j11 * j22 - j12 * j21;
                    let (du, dv) = ((j22 * fu - j12 * fv) / dj, (-j21 * fu + j11 * fv) / dj);
                    u -= du;
                    v -= dv;
                    if du.abs() + dv.abs() < 1e-12 {
                        break;
                    }
                }
                (u, v)
            }
        };
        (u + self.crpix.0 - 1.0, v + self.crpix.1 - 1.0)
    }
}

/// Offsets of frames (name, header, shape (ny, nx); the first is the reference) from their WCS:
/// the affine map that best follows each frame's WCS from the reference frame's pixels (fitted on
/// a 7 x 7 grid over the reference frame; rotation, scale and mirror included; `rms_px` tells how
/// far the two WCS's distortions depart from an affine map).
pub fn offsets_from_wcs(frames: &[(String, Header, (usize, usize))]) -> Result<Vec<super::Offset>> {
    let (name0, h0, (ny, nx)) = frames
        .first()
        .ok_or_else(|| Error::Invalid("no frames to register".into()))?;
    let w0 = Wcs::from_header(h0, name0)?;
    let grid: Vec<(f64, f64)> = (0..7)
        .flat_map(|j| (0..7).map(move |i| (i as f64 / 6.0, j as f64 / 6.0)))
        .map(|(u, v)| (u * (*nx as f64 - 1.0), v * (*ny as f64 - 1.0)))
        .collect();
    let sky: Vec<(f64, f64)> = grid.iter().map(|&(x, y)| w0.pixel_to_world(x, y)).collect();
    let centre = super::offsets::centre_of((*ny, *nx));
    frames
        .iter()
        .map(|(name, h, _)| {
            let w = Wcs::from_header(h, name)?;
            let pairs: Vec<super::transform::PointPair> = grid
                .iter()
                .zip(&sky)
                .map(|(&p, &(ra, dec))| (p, w.world_to_pixel(ra, dec)))
                .collect();
            let t = super::transform::fit(super::transform::TransformKind::Affine, &pairs)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{name}: its WCS gives no usable map from {name0}'s pixels"
                    ))
                })?;
            Ok(super::Offset::from_transform(
                name,
                t,
                centre,
                0,
                t.rms(&pairs),
            ))
        })
        .collect()
}

/// RA and Dec in degrees as astronomers read them: `hh:mm:ss.ss ±dd:mm:ss.s` (rounding carried up).
pub fn format_ra_dec(ra: f64, dec: f64) -> String {
    let centi_s = (ra.rem_euclid(360.0) / 15.0 * 360_000.0).round() as i64 % (24 * 360_000);
    let (h, m, cs) = (centi_s / 360_000, centi_s / 6000 % 60, centi_s % 6000);
    let deci_arcsec = (dec.abs() * 36_000.0).round() as i64;
    let (d, dm, ds) = (
        deci_arcsec / 36_000,
        deci_arcsec / 600 % 60,
        deci_arcsec % 600,
    );
    let sign = if dec < 0.0 && deci_arcsec > 0 {
        '-'
    } else {
        '+'
    };
    format!(
        "{h:02}:{m:02}:{:02}.{:02} {sign}{d:02}:{dm:02}:{:02}.{}",
        cs / 100,
        cs % 100,
        ds / 10,
        ds % 10
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sky_positions_read_in_sexagesimal() {
        assert_eq!(format_ra_dec(0.0, 0.0), "00:00:00.00 +00:00:00.0");
        // M13
        assert_eq!(
            format_ra_dec(250.423475, 36.4613194),
            "16:41:41.63 +36:27:40.7"
        );
        // rounding carries into minutes, hours and wraps at 24h
        assert_eq!(format_ra_dec(359.99999999, -0.5), "00:00:00.00 -00:30:00.0");
        assert_eq!(
            format_ra_dec(15.0 * 1.9999999999, -89.99999999),
            "02:00:00.00 -90:00:00.0"
        );
    }
}
