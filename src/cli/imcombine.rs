//! `skycomb imcombine input... output name=value...`: IRAF's imcombine, its parameters and results.

use super::combine::print_summary;
use super::progress_line::with_progress;
use anyhow::{Context, Result};
use clap::Args;
use skycomb::combine::iraf_params::{Log, parse_imcombine};
use skycomb::combine::{CombineSummary, OutputPaths, StackInput, combine_to_files};
use skycomb::recipe::open_inputs;

#[derive(Debug, Args)]
pub struct ImcombineArgs {
    /// IRAF's words: the inputs (files, comma lists or @list), the output, then name=value
    /// parameters with IRAF's names, defaults and spellings (unique prefixes allowed).
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    pub words: Vec<String>,
}

pub fn run(a: &ImcombineArgs) -> Result<()> {
    let call = parse_imcombine(&a.words)?;
    let (inputs, _) = open_inputs(&call.inputs, "nothing to combine")?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let out = OutputPaths {
        image: call.output.clone(),
        rejected: call.nrejmasks.clone(),
        sigma: call.sigmas.clone(),
        rejection_masks: call.rejmasks.clone(),
        exposure_mask: call.expmasks.clone(),
        exposure_keyword: call.expname.clone(),
        ..Default::default()
    };
    let summary: CombineSummary =
        with_progress(|progress| combine_to_files(&refs, &call.params, &out, progress))
            .with_context(|| format!("imcombine into {}", call.output.display()))?;
    match &call.logfile {
        Log::Stdout => print_summary(&summary, &call.output),
        Log::Nowhere => {}
        Log::File(f) => std::fs::write(f, serde_json::to_string_pretty(&summary)?)
            .with_context(|| format!("writing the log {}", f.display()))?,
    }
    Ok(())
}
