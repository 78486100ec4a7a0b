//! Pixel arithmetic of frames and numbers (A + - * / B), as `skycomb arith` and the app's A − B
//! make it. The result keeps the first frame's header with ARITH and HISTORY saying what was done;
//! a frame minus a frame is IMAGETYP 'difference', so that a plan never takes it for a science
//! frame.

use crate::error::{Error, Result};
use crate::fits::{Header, Value};
use crate::frame::Frame;
use ndarray::Array2;
use std::str::FromStr;

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    /// Division by zero gives NaN (a masked pixel), never inf.
    Div,
}

impl FromStr for Op {
    type Err = Error;
    fn from_str(s: &str) -> Result<Op> {
        Ok(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" | "x" => Op::Mul,
            "/" => Op::Div,
            op => return Err(Error::Invalid(format!("operator {op:?}: expected + - * /"))),
        })
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        })
    }
}

impl Op {
    fn apply(self, x: f32, y: f32) -> f32 {
        match self {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div if y == 0.0 => f32::NAN,
            Op::Div => x / y,
        }
    }
}

/// A frame, or a number.
pub enum Operand {
    Frame(Box<Frame>),
    Number(f32),
}

impl Operand {
    /// How the operand is written in ARITH and HISTORY: the file's name, or the number.
    fn describe(&self) -> String {
        match self {
            Operand::Frame(f) => f.name(),
            Operand::Number(v) => v.to_string(),
        }
    }
}

/// `a op b` pixel by pixel, with the header it is written with.
pub fn arith(a: &Operand, op: Op, b: &Operand) -> Result<(Array2<f32>, Header)> {
    let (data, mut header) = match (a, b) {
        (Operand::Frame(p), Operand::Frame(q)) => {
            if p.data.dim() != q.data.dim() {
                return Err(Error::Invalid(format!(
                    "{} is {}x{} but {} is {}x{}: arithmetic needs one shape",
                    p.name(),
                    p.nx(),
                    p.ny(),
                    q.name(),
                    q.nx(),
                    q.ny()
                )));
            }
            let data = ndarray::Zip::from(&p.data)
                .and(&q.data)
                .map_collect(|&u, &v| op.apply(u, v));
            let mut header = p.header.clone();
            if op == Op::Sub {
                // not a light frame any more: the plan and the kind chips leave it alone
                header.set(
                    "IMAGETYP",
                    Value::Str("difference".into()),
                    "A - B of two frames",
                );
            }
            (data, header)
        }
        (Operand::Frame(p), Operand::Number(v)) => {
            (p.data.mapv(|u| op.apply(u, *v)), p.header.clone())
        }
        (Operand::Number(u), Operand::Frame(q)) => {
            (q.data.mapv(|v| op.apply(*u, v)), q.header.clone())
        }
        (Operand::Number(_), Operand::Number(_)) => {
            return Err(Error::Invalid(
                "at least one operand must be a FITS file".into(),
            ));
        }
    };
    let what = format!("{} {op} {}", a.describe(), b.describe());
    header.set("ARITH", Value::Str(what.clone()), "skycomb arith");
    header.add_history(&format!("skycomb arith: {what}"));
    Ok((data, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, v: [f32; 4], imagetyp: &str) -> Operand {
        let mut header = Header::default();
        header.set("IMAGETYP", Value::Str(imagetyp.into()), "");
        let mut f = Frame::from_data(Array2::from_shape_vec((2, 2), v.to_vec()).unwrap());
        f.header = header;
        f.source = Some(crate::frame::FrameSource {
            path: name.into(),
            hdu: 0,
            plane: 0,
            n_planes: 1,
            bitpix: -32,
        });
        Operand::Frame(Box::new(f))
    }

    #[test]
    fn a_frame_minus_a_frame_is_a_difference_and_says_so() {
        let a = frame("a.fits", [5.0, 6.0, 7.0, 8.0], "LIGHT");
        let b = frame("b.fits", [1.0, 1.0, 2.0, 0.0], "LIGHT");
        let (d, h) = arith(&a, Op::Sub, &b).unwrap();
        assert_eq!(d.as_slice().unwrap(), &[4.0, 5.0, 5.0, 8.0]);
        assert_eq!(h.get_str("IMAGETYP"), Some("difference"));
        assert_eq!(h.get_str("ARITH"), Some("a.fits - b.fits"));
        let (q, h) = arith(&a, Op::Div, &b).unwrap();
        assert!(q[[1, 1]].is_nan(), "x / 0 is NaN");
        assert_eq!(
            h.get_str("IMAGETYP"),
            Some("LIGHT"),
            "only A - B is a difference"
        );
        let (s, _) = arith(&Operand::Number(2.0), Op::Mul, &a).unwrap();
        assert_eq!(s[[0, 0]], 10.0);
        assert!(arith(&Operand::Number(1.0), Op::Add, &Operand::Number(2.0)).is_err());
        assert!("%".parse::<Op>().is_err());
    }
}
