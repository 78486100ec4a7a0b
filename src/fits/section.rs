//! FITS/IRAF image sections (`[x1:x2,y1:y2]`, 1-based inclusive, `*` for a whole axis), parsed in one place.

use crate::error::{Error, Result};
use std::ops::Range;

/// One axis of a section as the person typed it: 1-based inclusive bounds, or the whole axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisSpec {
    /// `*`: the whole axis.
    All,
    /// `a:b` (or a single `a`), 1-based inclusive.
    Range { first: usize, last: usize },
}

/// A parsed section, not yet checked against an image: x (columns) first, as FITS writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub x: AxisSpec,
    pub y: AxisSpec,
}

/// A section resolved against an image: 0-based half-open column and row ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixelBox {
    /// Columns (x), 0-based, half-open.
    pub x: Range<usize>,
    /// Rows (y), 0-based, half-open.
    pub y: Range<usize>,
}

impl PixelBox {
    /// Width in pixels (number of columns).
    pub fn width(&self) -> usize {
        self.x.len()
    }
    /// Height in pixels (number of rows).
    pub fn height(&self) -> usize {
        self.y.len()
    }
    /// The box written back as a FITS section (1-based inclusive).
    pub fn to_fits(&self) -> String {
        format!(
            "[{}:{},{}:{}]",
            self.x.start + 1,
            self.x.end,
            self.y.start + 1,
            self.y.end
        )
    }
}

impl Section {
    /// Parse `[x1:x2,y1:y2]`; brackets are optional, `*` means the whole axis, a single number one pixel.
    pub fn parse(text: &str) -> Result<Section> {
        let bad = |reason: &str| Error::Section {
            section: text.to_string(),
            reason: reason.to_string(),
        };
        let inner = text.trim();
        let inner = match (inner.strip_prefix('['), inner.strip_suffix(']')) {
            (Some(_), Some(_)) => &inner[1..inner.len() - 1],
            (None, None) => inner,
            _ => return Err(bad("unbalanced brackets")),
        };
        let parts: Vec<&str> = inner.split(',').collect();
        if parts.len() != 2 {
            return Err(bad("expected two axes, as in [x1:x2,y1:y2]"));
        }
        let axis = |s: &str| -> Result<AxisSpec> {
            let s = s.trim();
            if s == "*" {
                return Ok(AxisSpec::All);
            }
            let (a, b) = s.split_once(':').unwrap_or((s, s));
            let num = |t: &str| -> Result<usize> {
                t.trim()
                    .parse::<usize>()
                    .map_err(|_| bad(&format!("{t:?} is not a positive whole number")))
            };
            let (first, last) = (num(a)?, num(b)?);
            if first == 0 || last == 0 {
                return Err(bad("sections are 1-based: 0 is not a pixel"));
            }
            if first > last {
                return Err(bad(&format!(
                    "reversed range {first}:{last} (flipped sections are not supported)"
                )));
            }
            Ok(AxisSpec::Range { first, last })
        };
        Ok(Section {
            x: axis(parts[0])?,
            y: axis(parts[1])?,
        })
    }

    /// Check the section against an image of `nx` columns and `ny` rows and convert it to 0-based ranges.
    pub fn resolve(&self, nx: usize, ny: usize) -> Result<PixelBox> {
        let range = |spec: AxisSpec, n: usize, name: &str| -> Result<Range<usize>> {
            match spec {
                AxisSpec::All => Ok(0..n),
                AxisSpec::Range { first, last } if last <= n => Ok(first - 1..last),
                AxisSpec::Range { first, last } => Err(Error::Section {
                    section: self.to_string(),
                    reason: format!(
                        "{name} range {first}:{last} lies outside the image (1:{n}; image is {nx}x{ny})"
                    ),
                }),
            }
        };
        Ok(PixelBox {
            x: range(self.x, nx, "x")?,
            y: range(self.y, ny, "y")?,
        })
    }
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let axis = |a: AxisSpec| match a {
            AxisSpec::All => "*".to_string(),
            AxisSpec::Range { first, last } => format!("{first}:{last}"),
        };
        write!(f, "[{},{}]", axis(self.x), axis(self.y))
    }
}

/// Parse and resolve in one step: the usual way to turn a header's BIASSEC or a typed section into ranges.
pub fn parse_section(text: &str, nx: usize, ny: usize) -> Result<PixelBox> {
    Section::parse(text)?.resolve(nx, ny)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iraf_overscan_section() {
        let b = parse_section("[321:352,1:512]", 352, 512).unwrap();
        assert_eq!(b.x, 320..352);
        assert_eq!(b.y, 0..512);
        assert_eq!(b.to_fits(), "[321:352,1:512]");
    }

    #[test]
    fn star_means_whole_axis_and_single_pixel_works() {
        let b = parse_section("[*,7]", 10, 20).unwrap();
        assert_eq!((b.x, b.y), (0..10, 6..7));
        let b = parse_section(" 2:3 , * ", 10, 20).unwrap();
        assert_eq!((b.x, b.y), (1..3, 0..20));
    }

    #[test]
    fn refuses_bad_sections_with_reasons() {
        for (s, needle) in [
            ("[0:10,1:5]", "1-based"),
            ("[10:2,1:5]", "reversed"),
            ("[1:10]", "two axes"),
            ("[1:a,1:5]", "not a positive"),
            ("[1:10,1:5", "unbalanced"),
            ("[1:11,1:5]", "outside the image"),
        ] {
            let e = parse_section(s, 10, 5).unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
