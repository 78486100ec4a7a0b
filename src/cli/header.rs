//! `skycomb header FILE`: the cards of an image HDU, or the list of HDUs.

use anyhow::Result;
use clap::Args;
use skycomb::fits::{HduChoice, list_hdus, read_image_info, read_raw_header};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct HeaderArgs {
    /// The FITS file.
    pub file: PathBuf,
    /// HDU number (0 = primary) or EXTNAME; default: the first HDU with an image. A number prints
    /// that HDU's header exactly as stored.
    #[arg(long)]
    pub hdu: Option<String>,
    /// List the HDUs instead of printing a header.
    #[arg(long)]
    pub list: bool,
}

pub fn run(a: &HeaderArgs) -> Result<()> {
    if a.list {
        for h in list_hdus(&a.file)? {
            let shape: Vec<String> = h.naxes.iter().map(|n| n.to_string()).collect();
            println!(
                "{:>3}  {:<18} {:<16} {}",
                h.index,
                h.kind,
                h.extname.as_deref().unwrap_or(""),
                shape.join("x")
            );
        }
        return Ok(());
    }
    let header = match a.hdu.as_deref().map(str::parse::<HduChoice>).transpose()? {
        Some(HduChoice::Index(i)) => read_raw_header(&a.file, i)?,
        Some(choice) => read_image_info(&a.file, &choice)?.header,
        None => read_image_info(&a.file, &HduChoice::FirstImage)?.header,
    };
    for card in &header.cards {
        match card.to_images() {
            Ok(images) => images.iter().for_each(|i| println!("{}", i.trim_end())),
            Err(e) => {
                // shown as stored, and said once on stderr with the file's name
                println!("{:<8}{}", card.keyword, card.value.display());
                eprintln!("skycomb: warning: {}: {e}", a.file.display());
            }
        }
    }
    println!("END");
    Ok(())
}
