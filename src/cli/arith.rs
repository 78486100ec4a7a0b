//! `skycomb arith A.fits - B.fits -o D.fits`: pixel arithmetic of two frames, or of a frame and a number.

use anyhow::{Context, Result};
use clap::Args;
use skycomb::arith::{Op, Operand, arith};
use skycomb::fits::{WriteOptions, refuse_inputs, write_f32};
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
fn operand(s: &str) -> Result<Operand> {
    if !Path::new(s).exists()
        && let Ok(v) = s.parse::<f32>()
    {
        return Ok(Operand::Number(v));
    }
    Ok(Operand::Frame(Box::new(skycomb::Frame::open(Path::new(
        s,
    ))?)))
}

pub fn run(a: &ArithArgs) -> Result<()> {
    let op: Op = a.op.parse()?;
    let (x, y) = (operand(&a.a)?, operand(&a.b)?);
    let inputs: Vec<PathBuf> = [&x, &y]
        .iter()
        .filter_map(|o| match o {
            Operand::Frame(fr) => fr.source.as_ref().map(|s| s.path.clone()),
            Operand::Number(_) => None,
        })
        .collect();
    refuse_inputs(&a.output, &inputs)?;
    let (data, header) = arith(&x, op, &y)?;
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
