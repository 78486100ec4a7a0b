//! `skycomb arith A.fits - B.fits -o D.fits`: pixel arithmetic of two frames, or of a frame and a number.

use anyhow::{Context, Result, bail};
use clap::Args;
use skycomb::fits::{Value, WriteOptions, refuse_inputs, write_f32};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ArithArgs {
    /// A frame or a number.
    pub a: String,
    /// One of + - * / (quote * in a shell).
    pub op: String,
    /// A frame or a number.
    pub b: String,
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long)]
    pub overwrite: bool,
}

/// A frame, or a number when the text parses as one and names no file.
enum Operand {
    Frame(skycomb::Frame),
    Number(f32),
}

fn operand(s: &str) -> Result<Operand> {
    if !Path::new(s).exists()
        && let Ok(v) = s.parse::<f32>()
    {
        return Ok(Operand::Number(v));
    }
    Ok(Operand::Frame(skycomb::Frame::open(Path::new(s))?))
}

pub fn run(a: &ArithArgs) -> Result<()> {
    let f: fn(f32, f32) -> f32 = match a.op.as_str() {
        "+" => |x, y| x + y,
        "-" => |x, y| x - y,
        "*" | "x" => |x, y| x * y,
        // division by zero gives NaN (a masked pixel), never inf
        "/" => |x, y| if y == 0.0 { f32::NAN } else { x / y },
        op => bail!("operator {op:?}: expected + - * /"),
    };
    let (x, y) = (operand(&a.a)?, operand(&a.b)?);
    let inputs: Vec<PathBuf> = [&x, &y]
        .iter()
        .filter_map(|o| match o {
            Operand::Frame(fr) => fr.source.as_ref().map(|s| s.path.clone()),
            Operand::Number(_) => None,
        })
        .collect();
    refuse_inputs(&a.output, &inputs)?;
    let (data, mut header) = match (&x, &y) {
        (Operand::Frame(p), Operand::Frame(q)) => {
            if p.data.dim() != q.data.dim() {
                bail!(
                    "{} is {}x{} but {} is {}x{}: arithmetic needs one shape",
                    p.name(),
                    p.nx(),
                    p.ny(),
                    q.name(),
                    q.nx(),
                    q.ny()
                );
            }
            (
                ndarray::Zip::from(&p.data)
                    .and(&q.data)
                    .map_collect(|&u, &v| f(u, v)),
                p.header.clone(),
            )
        }
        (Operand::Frame(p), Operand::Number(v)) => (p.data.mapv(|u| f(u, *v)), p.header.clone()),
        (Operand::Number(u), Operand::Frame(q)) => (q.data.mapv(|v| f(*u, v)), q.header.clone()),
        (Operand::Number(_), Operand::Number(_)) => {
            bail!("at least one operand must be a FITS file")
        }
    };
    header.set(
        "ARITH",
        Value::Str(format!("{} {} {}", a.a, a.op, a.b)),
        "skycomb arith",
    );
    header.add_history(&format!("skycomb arith: {} {} {}", a.a, a.op, a.b));
    write_f32(
        &a.output,
        data.view(),
        &header,
        WriteOptions {
            overwrite: a.overwrite,
        },
    )
    .with_context(|| format!("writing {}", a.output.display()))?;
    println!("wrote {}", a.output.display());
    Ok(())
}
