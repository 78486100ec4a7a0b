//! Celestial WCS from FITS headers: pixel to sky and back for the projections archives write (TAN, TAN-SIP,
//! TPV, SIN, ARC, ZEA, STG, AZP, CAR, CEA, MER, AIT), and the offsets between frames it implies. Pixels here
//! are 0-based (FITS pixel = ours + 1).
//!
//! Written by hand after Calabretta & Greisen 2002 (A&A 395, 1077) with wcslib's prj.c, cel.c and sph.c
//! formulas, TPV after wcslib's dis.c and SIP after Shupe et al. 2005; astropy (wcslib) is the judge, see
//! tests/wcs_oracle.rs. Not through the CDS `wcs` crate (0.4.2, on `mapproj` 0.4.0): it builds here but,
//! run on the same reference headers, it disagreed with astropy by 264" on TAN-SIP, by 1e4" on SIN with
//! PV2_1/PV2_2, by 2e5" on CAR with LONPOLE or LATPOLE given (it reduces the spherical rotation of theta0 = 0
//! projections to one position angle), by 3.5 px going back through a sheared CD matrix and by 1.5e-3" on
//! CEA/MER; it has no TPV and refuses swapped (DEC, RA) axes. Taking only its projections would leave the
//! rotation, the distortions and the linear part to us anyway, for about the size of the formulas below.

use crate::error::{Error, Result};
use crate::fits::Header;
use std::f64::consts::PI;

/// Radius of the generating sphere: projection-plane coordinates are in degrees.
const R0: f64 = 180.0 / PI;
/// Tolerance of wcslib's bound and pole tests.
const TOL: f64 = 1e-10;
const SUPPORTED: &str = "TAN, TAN-SIP, TPV, SIN, ARC, ZEA, STG, AZP, CAR, CEA, MER and AIT are";

fn sincosd(a: f64) -> (f64, f64) {
    a.to_radians().sin_cos()
}

fn atan2d(y: f64, x: f64) -> f64 {
    y.atan2(x).to_degrees()
}

/// An angle brought into [-180, 180).
fn wrap180(a: f64) -> f64 {
    (a + 180.0).rem_euclid(360.0) - 180.0
}

/// asin in degrees, with arguments a rounding error past ±1 clamped and others refused.
fn asind(s: f64) -> Option<f64> {
    (s.abs() <= 1.0 + TOL).then(|| s.clamp(-1.0, 1.0).asin().to_degrees())
}

/// Solve f(u, v) = target by Newton's method from `start` (Jacobian by central differences of step `h`).
fn invert(
    f: impl Fn(f64, f64) -> (f64, f64),
    target: (f64, f64),
    start: (f64, f64),
    h: f64,
) -> (f64, f64) {
    let (mut u, mut v) = start;
    for _ in 0..50 {
        let (fu, fv) = f(u, v);
        let (ru, rv) = (fu - target.0, fv - target.1);
        let (a, b) = (f(u + h, v), f(u - h, v));
        let (c, d) = (f(u, v + h), f(u, v - h));
        let (j11, j21) = ((a.0 - b.0) / (2.0 * h), (a.1 - b.1) / (2.0 * h));
        let (j12, j22) = ((c.0 - d.0) / (2.0 * h), (c.1 - d.1) / (2.0 * h));
        let det = j11 * j22 - j12 * j21;
        let (du, dv) = ((j22 * ru - j12 * rv) / det, (-j21 * ru + j11 * rv) / det);
        u -= du;
        v -= dv;
        let step = du.abs() + dv.abs();
        if step.is_nan() || step <= 1e-13 * (1.0 + u.abs() + v.abs()) {
            break;
        }
    }
    (u, v)
}

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

impl Sip {
    fn read(h: &Header) -> Sip {
        Sip {
            a: coefficients(h, "A"),
            b: coefficients(h, "B"),
            ap: coefficients(h, "AP"),
            bp: coefficients(h, "BP"),
        }
    }

    /// Pixel offsets from CRPIX to their undistorted place.
    fn forward(&self, u: f64, v: f64) -> (f64, f64) {
        (u + poly(&self.a, u, v), v + poly(&self.b, u, v))
    }

    /// Back: the inverse polynomials as a start, then Newton on the forward ones.
    fn inverse(&self, up: f64, vp: f64) -> (f64, f64) {
        let start = (up + poly(&self.ap, up, vp), vp + poly(&self.bp, up, vp));
        invert(|u, v| self.forward(u, v), (up, vp), start, 1e-3)
    }
}

/// Exponents (of x, of y, of r) of the 40 TPV terms: degree by degree x^n, x^(n-1) y, ..., y^n, then r^n
/// for odd n.
fn tpv_exponents() -> Vec<(i32, i32, i32)> {
    let mut out = Vec::with_capacity(40);
    for n in 0..=7 {
        out.extend((0..=n).map(|j| (n - j, j, 0)));
        if n % 2 == 1 {
            out.push((0, 0, n));
        }
    }
    out
}

/// TPV distortion (SCAMP): polynomials in intermediate world coordinates (degrees), PV1_k for the longitude
/// axis in (x, y), PV2_k for the latitude axis in (y, x); missing coefficients are 0, as in wcslib.
#[derive(Debug, Clone, Default, PartialEq)]
struct Tpv {
    /// (exponent of the first argument, of the second, of r, value) for each axis.
    axes: [Vec<(i32, i32, i32, f64)>; 2],
}

impl Tpv {
    fn read(h: &Header) -> Tpv {
        let axis = |i: usize| {
            let keyed = tpv_exponents().into_iter().enumerate();
            keyed
                .filter_map(|(k, (p, q, r))| Some((p, q, r, h.get_f64(&format!("PV{i}_{k}"))?)))
                .collect()
        };
        Tpv {
            axes: [axis(1), axis(2)],
        }
    }

    fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        let r = x.hypot(y);
        let sum = |c: &[(i32, i32, i32, f64)], s: f64, t: f64| -> f64 {
            c.iter()
                .map(|(p, q, m, k)| k * s.powi(*p) * t.powi(*q) * r.powi(*m))
                .sum()
        };
        (sum(&self.axes[0], x, y), sum(&self.axes[1], y, x))
    }

    fn inverse(&self, xi: f64, eta: f64) -> (f64, f64) {
        invert(|x, y| self.forward(x, y), (xi, eta), (xi, eta), 1e-5)
    }
}

/// A spherical projection between native (phi, theta) and the projection plane (x, y), all in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Projection {
    Tan,
    Stg,
    Arc,
    Zea,
    /// Orthographic/synthesis, with the slant parameters PV2_1, PV2_2 (NCP is xi = 0, eta = cot delta0).
    Sin {
        xi: f64,
        eta: f64,
    },
    /// Zenithal perspective: PV2_1 mu (distance of the point of projection, in sphere radii), PV2_2 gamma.
    Azp {
        mu: f64,
        gamma: f64,
    },
    Car,
    Mer,
    /// Cylindrical equal area, PV2_1 lambda.
    Cea {
        lambda: f64,
    },
    Ait,
}

impl Projection {
    /// The projection named by a CTYPE's code (SIP and TPV ride on TAN), with its PV2_m parameters.
    fn parse(code: &str, h: &Header) -> Option<Projection> {
        let pv = |m: u32, default: f64| h.get_f64(&format!("PV2_{m}")).unwrap_or(default);
        Some(match code {
            "TAN" | "TAN-SIP" | "TPV" => Projection::Tan,
            "STG" => Projection::Stg,
            "ARC" => Projection::Arc,
            "ZEA" => Projection::Zea,
            "SIN" => Projection::Sin {
                xi: pv(1, 0.0),
                eta: pv(2, 0.0),
            },
            "AZP" => Projection::Azp {
                mu: pv(1, 0.0),
                gamma: pv(2, 0.0),
            },
            "CAR" => Projection::Car,
            "MER" => Projection::Mer,
            "CEA" => Projection::Cea { lambda: pv(1, 1.0) },
            "AIT" => Projection::Ait,
            _ => return None,
        })
    }

    /// Native latitude of the fiducial point: the pole for zenithal projections, the equator for the others.
    fn theta0(self) -> f64 {
        use Projection::*;
        match self {
            Tan | Stg | Arc | Zea | Sin { .. } | Azp { .. } => 90.0,
            Car | Mer | Cea { .. } | Ait => 0.0,
        }
    }

    /// Native (phi, theta) to the plane; `None` where the projection does not reach.
    fn to_plane(self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let (sp, cp) = sincosd(phi);
        let radial = |r: f64| (r * sp, -r * cp);
        match self {
            Projection::Tan => (theta > 0.0).then(|| radial(R0 / theta.to_radians().tan())),
            Projection::Stg => (theta > -90.0)
                .then(|| radial(2.0 * R0 * ((90.0 - theta) / 2.0).to_radians().tan())),
            Projection::Arc => Some(radial(90.0 - theta)),
            Projection::Zea => Some(radial(2.0 * R0 * ((90.0 - theta) / 2.0).to_radians().sin())),
            Projection::Sin { xi, eta } => sin_to_plane(xi, eta, (sp, cp), theta),
            Projection::Azp { mu, gamma } => azp_to_plane(mu, gamma, (sp, cp), theta),
            Projection::Car => Some((phi, theta)),
            Projection::Mer => (theta.abs() < 90.0)
                .then(|| (phi, R0 * ((90.0 + theta) / 2.0).to_radians().tan().ln())),
            Projection::Cea { lambda } => Some((phi, R0 * theta.to_radians().sin() / lambda)),
            Projection::Ait => {
                let (st, ct) = sincosd(theta);
                let (sh, ch) = sincosd(phi / 2.0);
                let g = R0 * (2.0 / (1.0 + ct * ch)).sqrt();
                Some((2.0 * g * ct * sh, g * st))
            }
        }
    }

    /// The plane to native (phi, theta); `None` off the sky.
    fn to_native(self, x: f64, y: f64) -> Option<(f64, f64)> {
        let r = x.hypot(y);
        let zenithal =
            |theta: Option<f64>| Some((if r == 0.0 { 0.0 } else { atan2d(x, -y) }, theta?));
        match self {
            Projection::Tan => zenithal(Some(atan2d(R0, r))),
            Projection::Stg => zenithal(Some(90.0 - 2.0 * atan2d(r, 2.0 * R0))),
            Projection::Arc => zenithal((r <= 180.0).then_some(90.0 - r)),
            Projection::Zea => zenithal(asind(r / (2.0 * R0)).map(|a| 90.0 - 2.0 * a)),
            Projection::Sin { xi, eta } => sin_to_native(xi, eta, x / R0, y / R0),
            Projection::Azp { mu, gamma } => azp_to_native(mu, gamma, x, y),
            Projection::Car => Some((x, y)),
            Projection::Mer => Some((x, 2.0 * (y / R0).exp().atan().to_degrees() - 90.0)),
            Projection::Cea { lambda } => Some((x, asind(lambda * y / R0)?)),
            Projection::Ait => {
                let s = 1.0 - (x / (4.0 * R0)).powi(2) - (y / (2.0 * R0)).powi(2);
                if s < 0.5 - TOL {
                    return None;
                }
                let z = s.max(0.5).sqrt();
                Some((
                    2.0 * atan2d(z * x / (2.0 * R0), 2.0 * z * z - 1.0),
                    asind(z * y / R0)?,
                ))
            }
        }
    }
}

/// SIN forward (C&G eq. 44), refusing the far side of the limb.
fn sin_to_plane(xi: f64, eta: f64, (sp, cp): (f64, f64), theta: f64) -> Option<(f64, f64)> {
    let limb = -atan2d(xi * sp - eta * cp, 1.0);
    let (st, ct) = sincosd(theta);
    let z = 1.0 - st;
    (theta >= limb - TOL).then(|| (R0 * (ct * sp + xi * z), -R0 * (ct * cp - eta * z)))
}

/// SIN inverse: with z = 1 - sin(theta), (X - xi z)^2 + (Y - eta z)^2 = 2z - z^2; the root nearer the pole.
fn sin_to_native(xi: f64, eta: f64, x: f64, y: f64) -> Option<(f64, f64)> {
    let (r2, b) = (x * x + y * y, 1.0 + x * xi + y * eta);
    let a = 1.0 + xi * xi + eta * eta;
    let disc = b * b - a * r2;
    if disc < 0.0 {
        return None;
    }
    let z = r2 / (b + disc.sqrt());
    if !(0.0..=2.0 + TOL).contains(&z) {
        return None;
    }
    let theta = 90.0 - 2.0 * asind((z / 2.0).sqrt())?;
    let (px, py) = (x - xi * z, y - eta * z);
    let phi = if px == 0.0 && py == 0.0 {
        0.0
    } else {
        atan2d(px, -py)
    };
    Some((phi, theta))
}

/// AZP forward (C&G eq. 19-21), refusing points beyond the horizon of the point of projection.
fn azp_to_plane(mu: f64, gamma: f64, (sp, cp): (f64, f64), theta: f64) -> Option<(f64, f64)> {
    let (sg, cg) = sincosd(gamma);
    let (st, ct) = sincosd(theta);
    let t = mu + st + ct * cp * sg / cg;
    if t == 0.0 || (mu.abs() > 1.0 && theta < asind(-1.0 / mu)?) {
        return None;
    }
    let r = R0 * (mu + 1.0) * ct / t;
    Some((r * sp, -r * cp / cg))
}

/// AZP inverse (C&G eq. 25-27): of the two latitudes, the one nearer the pole.
fn azp_to_native(mu: f64, gamma: f64, x: f64, y: f64) -> Option<(f64, f64)> {
    let (sg, cg) = sincosd(gamma);
    let yc = y * cg;
    let r = x.hypot(yc);
    if r == 0.0 {
        return Some((0.0, 90.0));
    }
    let rho = r / (R0 * (mu + 1.0) + y * sg);
    let psi = atan2d(1.0, rho);
    let omega = asind(rho * mu / (rho * rho + 1.0).sqrt())?;
    let below_pole = |a: f64| if a > 90.0 { a - 360.0 } else { a };
    let theta = below_pole(psi - omega).max(below_pole(psi + omega + 180.0));
    Some((atan2d(x, -yc), theta))
}

/// Rotate (lon, lat) about a pole at latitude `lat_p`: the spherical rotation of C&G eq. 2 and 5, which
/// is its own form both ways (native to celestial: from = phi_p, to = alpha_p; back: swapped).
fn rotate((lon, lat): (f64, f64), from: f64, to: f64, lat_p: f64) -> (f64, f64) {
    let (sl, cl) = sincosd(lat);
    let (sp, cp) = sincosd(lat_p);
    let (sd, cd) = sincosd(lon - from);
    let (x, y, z) = (sl * cp - cl * sp * cd, -cl * sd, sl * sp + cl * cp * cd);
    (to + atan2d(y, x), atan2d(z, x.hypot(y)))
}

/// The celestial (alpha_p, delta_p) of the native pole, from the fiducial point's celestial CRVAL and
/// native latitude theta0, LONPOLE phi_p and LATPOLE (C&G section 2.4; wcslib's celset).
fn native_pole(crval: (f64, f64), phi_p: f64, latpole: f64, theta0: f64) -> Option<(f64, f64)> {
    let (lng0, lat0) = crval;
    if theta0 == 90.0 {
        return Some(crval);
    }
    let (sthe0, cthe0) = sincosd(theta0);
    let (slat0, clat0) = sincosd(lat0);
    let (sphip, cphip) = sincosd(phi_p);
    let z = (cthe0 * cphip).hypot(sthe0);
    let latp = if z == 0.0 {
        (slat0 == 0.0).then_some(latpole)?
    } else {
        let (u, v) = (
            atan2d(sthe0, cthe0 * cphip),
            asind(slat0 / z).map(|a| 90.0 - a)?,
        );
        let (l1, l2) = (wrap180(u + v), wrap180(u - v));
        let (near, far) = if (latpole - l1).abs() < (latpole - l2).abs() {
            (l1, l2)
        } else {
            (l2, l1)
        };
        if near.abs() < 90.0 + TOL { near } else { far }
    };
    let (slatp, clatp) = sincosd(latp);
    let lngp = if (clatp * clat0).abs() < TOL {
        match () {
            _ if clat0.abs() < TOL => lng0,
            _ if latp > 0.0 => lng0 + phi_p - 180.0,
            _ => lng0 - phi_p,
        }
    } else {
        let x = (sthe0 - slatp * slat0) / (clatp * clat0);
        lng0 - atan2d(sphip * cthe0 / clat0, x)
    };
    Some((lngp, latp))
}

/// A celestial world coordinate system.
#[derive(Debug, Clone, PartialEq)]
pub struct Wcs {
    /// The projection code as in CTYPE after the axis name: TAN, TAN-SIP, TPV, SIN...
    code: String,
    /// CRPIX, 1-based as in the header.
    crpix: (f64, f64),
    /// The CD matrix (degrees per pixel), from CD, PC and CDELT, or CDELT and CROTA2.
    cd: [[f64; 2]; 2],
    /// CTYPE1 is the latitude (DEC) and CTYPE2 the longitude (RA).
    swapped: bool,
    sip: Option<Sip>,
    tpv: Option<Tpv>,
    projection: Projection,
    /// Celestial longitude and latitude of the native pole, native longitude of the celestial pole (deg).
    alpha_p: f64,
    delta_p: f64,
    phi_p: f64,
}

/// The linear part: the CD matrix, or PC times CDELT, or CDELT rotated by CROTA2.
fn cd_matrix(h: &Header, name: &str) -> Result<[[f64; 2]; 2]> {
    let any = |keys: [&str; 4]| keys.iter().any(|k| h.contains(k));
    let get = |k: &str, default: f64| h.get_f64(k).unwrap_or(default);
    if any(["CD1_1", "CD1_2", "CD2_1", "CD2_2"]) {
        return Ok([
            [get("CD1_1", 0.0), get("CD1_2", 0.0)],
            [get("CD2_1", 0.0), get("CD2_2", 0.0)],
        ]);
    }
    let (d1, d2) = (need(h, name, "CDELT1")?, need(h, name, "CDELT2")?);
    Ok(if any(["PC1_1", "PC1_2", "PC2_1", "PC2_2"]) {
        [
            [d1 * get("PC1_1", 1.0), d1 * get("PC1_2", 0.0)],
            [d2 * get("PC2_1", 0.0), d2 * get("PC2_2", 1.0)],
        ]
    } else {
        let (s, c) = sincosd(get("CROTA2", 0.0));
        [[d1 * c, -d2 * s], [d1 * s, d2 * c]]
    })
}

fn need(h: &Header, name: &str, key: &str) -> Result<f64> {
    h.get_f64(key)
        .ok_or_else(|| Error::Invalid(format!("{name}: WCS keyword {key} missing")))
}

/// CTYPE1 and CTYPE2 upper-cased, and the projection code they share: whether they are (DEC, RA).
fn celestial_axes(h: &Header, name: &str) -> Result<(String, bool)> {
    let ctype = |k: &str| h.get_str(k).unwrap_or("").trim().to_ascii_uppercase();
    let (t1, t2) = (ctype("CTYPE1"), ctype("CTYPE2"));
    if t1.is_empty() || t2.is_empty() {
        return Err(Error::Invalid(format!(
            "{name}: no celestial WCS (CTYPE1/CTYPE2 missing)"
        )));
    }
    let split = |t: &str| {
        let (axis, code) = t.split_at(t.len().min(4));
        (
            axis.trim_end_matches('-').to_string(),
            code.trim_start_matches('-').to_string(),
        )
    };
    let ((a1, c1), (a2, c2)) = (split(&t1), split(&t2));
    let swapped = (a1.as_str(), a2.as_str()) == ("DEC", "RA");
    let known = (a1.as_str(), a2.as_str()) == ("RA", "DEC") || swapped;
    if !known || c1 != c2 || Projection::parse(&c1, h).is_none() {
        return Err(Error::Invalid(format!(
            "{name}: WCS {t1}/{t2} is not supported ({SUPPORTED})"
        )));
    }
    Ok((c1, swapped))
}

impl Wcs {
    /// Read a celestial WCS from a header; other projections, and Galactic or ecliptic axes, are refused
    /// by name.
    pub fn from_header(h: &Header, name: &str) -> Result<Wcs> {
        let (code, swapped) = celestial_axes(h, name)?;
        let projection = Projection::parse(&code, h).expect("checked by celestial_axes");
        if code != "TPV" && (h.contains("PV1_1") || h.contains("PV1_2")) {
            return Err(Error::Invalid(format!(
                "{name}: WCS with a fiducial point moved by PV1_1/PV1_2 is not supported"
            )));
        }
        let crval = (need(h, name, "CRVAL1")?, need(h, name, "CRVAL2")?);
        let crval = if swapped { (crval.1, crval.0) } else { crval };
        let theta0 = projection.theta0();
        let phi_p = h
            .get_f64("LONPOLE")
            .unwrap_or(if crval.1 < theta0 { 180.0 } else { 0.0 });
        let latpole = h.get_f64("LATPOLE").unwrap_or(90.0);
        let (alpha_p, delta_p) = native_pole(crval, phi_p, latpole, theta0).ok_or_else(|| {
            Error::Invalid(format!(
                "{name}: WCS CRVAL, LONPOLE and LATPOLE give no celestial pole"
            ))
        })?;
        Ok(Wcs {
            crpix: (need(h, name, "CRPIX1")?, need(h, name, "CRPIX2")?),
            cd: cd_matrix(h, name)?,
            swapped,
            sip: (code == "TAN-SIP").then(|| Sip::read(h)),
            tpv: (code == "TPV").then(|| Tpv::read(h)),
            code,
            projection,
            alpha_p,
            delta_p,
            phi_p,
        })
    }

    /// The projection as CTYPE names it: TAN, TAN-SIP, TPV, SIN, ARC, ZEA, STG, AZP, CAR, CEA, MER, AIT.
    pub fn projection(&self) -> &str {
        &self.code
    }

    /// Projection-plane (x, y) in degrees, x along the longitude axis, of a 0-based pixel.
    fn pixel_to_plane(&self, x: f64, y: f64) -> (f64, f64) {
        let (mut u, mut v) = (x + 1.0 - self.crpix.0, y + 1.0 - self.crpix.1);
        if let Some(s) = &self.sip {
            (u, v) = s.forward(u, v);
        }
        let m = &self.cd;
        let (i1, i2) = (m[0][0] * u + m[0][1] * v, m[1][0] * u + m[1][1] * v);
        let (px, py) = if self.swapped { (i2, i1) } else { (i1, i2) };
        match &self.tpv {
            Some(t) => t.forward(px, py),
            None => (px, py),
        }
    }

    /// The 0-based pixel of projection-plane (x, y) in degrees.
    fn plane_to_pixel(&self, px: f64, py: f64) -> (f64, f64) {
        let (px, py) = match &self.tpv {
            Some(t) => t.inverse(px, py),
            None => (px, py),
        };
        let (i1, i2) = if self.swapped { (py, px) } else { (px, py) };
        let m = &self.cd;
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        let u = (m[1][1] * i1 - m[0][1] * i2) / det;
        let v = (-m[1][0] * i1 + m[0][0] * i2) / det;
        let (u, v) = match &self.sip {
            Some(s) => s.inverse(u, v),
            None => (u, v),
        };
        (u + self.crpix.0 - 1.0, v + self.crpix.1 - 1.0)
    }

    /// Sky position (RA, Dec in degrees, RA in [0, 360)) of the 0-based pixel (x, y); NaN off the sky.
    pub fn pixel_to_world(&self, x: f64, y: f64) -> (f64, f64) {
        let (px, py) = self.pixel_to_plane(x, y);
        match self.projection.to_native(px, py) {
            Some(native) => {
                let (ra, dec) = rotate(native, self.phi_p, self.alpha_p, self.delta_p);
                (ra.rem_euclid(360.0), dec)
            }
            None => (f64::NAN, f64::NAN),
        }
    }

    /// The 0-based pixel of a sky position (RA, Dec in degrees); NaN where the projection does not reach.
    pub fn world_to_pixel(&self, ra: f64, dec: f64) -> (f64, f64) {
        let (phi, theta) = rotate((ra, dec), self.alpha_p, self.phi_p, self.delta_p);
        match self.projection.to_plane(wrap180(phi), theta) {
            Some((px, py)) => self.plane_to_pixel(px, py),
            None => (f64::NAN, f64::NAN),
        }
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
    fn tpv_terms_are_numbered_as_in_scamp() {
        let e = tpv_exponents();
        assert_eq!(e.len(), 40);
        assert_eq!(&e[..4], &[(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]);
        assert_eq!((e[7], e[10], e[11]), ((3, 0, 0), (0, 3, 0), (0, 0, 3)));
        assert_eq!((e[23], e[24], e[39]), ((0, 0, 5), (6, 0, 0), (0, 0, 7)));
    }

    #[test]
    fn every_projection_goes_there_and_back() {
        let h = Header::default();
        for code in [
            "TAN", "STG", "ARC", "ZEA", "SIN", "CAR", "MER", "CEA", "AIT",
        ] {
            let p = Projection::parse(code, &h).unwrap();
            let (phi, theta) = (37.0, 55.0);
            let (x, y) = p.to_plane(phi, theta).unwrap();
            let (bp, bt) = p.to_native(x, y).unwrap();
            assert!(
                (bp - phi).abs() < 1e-10 && (bt - theta).abs() < 1e-10,
                "{code}"
            );
        }
        assert_eq!(Projection::Tan.to_plane(10.0, -1.0), None);
        assert_eq!(Projection::Ait.to_native(400.0, 0.0), None);
    }

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
