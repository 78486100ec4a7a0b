//! `skycomb imcombine`'s words as IRAF's imcombine takes them: `input output name=value ...` with
//! IRAF's spellings (yes/no, quoted strings, INDEF, `@file` lists and values, `!KEYWORD`) and unique
//! prefixes of the parameter names, turned into the engine's parameters under IRAF semantics.

use super::params::{
    CombineParams, Keep, Method, NoiseKeywords, NoiseModel, Rejection, Scale, Semantics, SigmaRule,
    Spread, Statistic, Weights, Zero,
};
use crate::error::{Error, Result};
use crate::fits::Section;
use crate::stats::Centre;
use std::path::{Path, PathBuf};

/// Every parameter of IRAF 2.17's imcombine.par, in its order.
const PARAMETERS: [&str; 38] = [
    "input",
    "output",
    "headers",
    "bpmasks",
    "rejmasks",
    "nrejmasks",
    "expmasks",
    "sigmas",
    "imcmb",
    "logfile",
    "combine",
    "reject",
    "project",
    "outtype",
    "outlimits",
    "offsets",
    "masktype",
    "maskvalue",
    "blank",
    "scale",
    "zero",
    "weight",
    "statsec",
    "expname",
    "lthreshold",
    "hthreshold",
    "nlow",
    "nhigh",
    "nkeep",
    "mclip",
    "lsigma",
    "hsigma",
    "rdnoise",
    "gain",
    "snoise",
    "sigscale",
    "pclip",
    "grow",
];

/// One imcombine call: what to read, what to write and how to combine.
#[derive(Debug, Clone)]
pub struct ImcombineCall {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    pub params: CombineParams,
    /// `sigmas=`: IRAF's sigma image (the spread of the values used).
    pub sigmas: Option<PathBuf>,
    /// `nrejmasks=`: the number of values rejected at each pixel (FITS, not IRAF's .pl).
    pub nrejmasks: Option<PathBuf>,
    /// `rejmasks=`: a plane per input, 1 where its value was not used (FITS, not IRAF's .pl).
    pub rejmasks: Option<PathBuf>,
    /// `expmasks=`: the exposure time of the inputs used, in MASKSCAL units (FITS).
    pub expmasks: Option<PathBuf>,
    /// `expname=`: the exposure time keyword (empty: one second per input).
    pub expname: String,
    pub logfile: Log,
}

/// Where `logfile=` sends the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Log {
    /// IRAF's default `STDOUT`.
    Stdout,
    /// `logfile=""`.
    Nowhere,
    File(PathBuf),
}

fn invalid(m: String) -> Error {
    Error::Invalid(m)
}

/// The full name of a parameter from a unique prefix, as IRAF's CL resolves it.
pub fn parameter_name(given: &str) -> Result<&'static str> {
    let g = given.to_ascii_lowercase();
    if let Some(p) = PARAMETERS.iter().find(|p| **p == g) {
        return Ok(p);
    }
    let matches: Vec<&&str> = PARAMETERS.iter().filter(|p| p.starts_with(&g)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(invalid(format!(
            "imcombine has no parameter {given:?} (its parameters: {})",
            PARAMETERS.join(", ")
        ))),
        many => Err(invalid(format!(
            "parameter {given:?} is ambiguous: {}",
            many.iter().map(|p| **p).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// An enumerated value from a unique prefix, as IRAF's CL matches them (`quad` is quadrature).
fn enumerated(name: &str, v: &str, choices: &[&'static str]) -> Result<&'static str> {
    let v = v.to_ascii_lowercase();
    if let Some(c) = choices.iter().find(|c| **c == v) {
        return Ok(c);
    }
    let matches: Vec<&&str> = choices
        .iter()
        .filter(|c| !v.is_empty() && c.starts_with(&v))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        _ => Err(invalid(format!(
            "{name}={v}: expected one of {}",
            choices.join(", ")
        ))),
    }
}

/// A value without IRAF's (or the shell's) quotes.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn boolean(name: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "+" => Ok(true),
        "no" | "n" | "false" | "-" => Ok(false),
        _ => Err(invalid(format!("{name}={v}: expected yes or no"))),
    }
}

fn number(name: &str, v: &str) -> Result<f64> {
    v.parse::<f64>()
        .map_err(|_| invalid(format!("{name}={v}: expected a number")))
}

fn optional_number(name: &str, v: &str) -> Result<Option<f64>> {
    if v.is_empty() || v.eq_ignore_ascii_case("indef") {
        Ok(None)
    } else {
        number(name, v).map(Some)
    }
}

/// An integer parameter: IRAF's CL takes a fraction and truncates it (nlow=0.3 is 0).
fn integer(name: &str, v: &str) -> Result<i64> {
    Ok(number(name, v)?.trunc() as i64)
}

/// The file names of an input word: `@list` (one per line), a comma list, or one name.
fn input_names(word: &str) -> Result<Vec<PathBuf>> {
    if let Some(list) = word.strip_prefix('@') {
        let text = std::fs::read_to_string(list)
            .map_err(|e| Error::io(Path::new(list), "cannot read the input list", e))?;
        let dir = Path::new(list).parent().unwrap_or(Path::new(""));
        return Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let p = Path::new(l);
                // IRAF reads names relative to where it runs; a list beside its files also works
                if p.is_relative() && !p.exists() && dir.join(p).exists() {
                    dir.join(p)
                } else {
                    p.to_path_buf()
                }
            })
            .collect());
    }
    Ok(word
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect())
}

/// Numbers from an `@file` of scale, zero or weight values (one per line, as IRAF reads them).
fn values_file(name: &str, file: &str, n: usize) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(Path::new(file), "cannot read the values", e))?;
    let values: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|t| t.parse::<f64>().ok())
        .take(n)
        .collect();
    if values.len() < n {
        return Err(invalid(format!(
            "{name}=@{file}: insufficient {name} values ({} for {n} images)",
            values.len()
        )));
    }
    Ok(values)
}

/// A CCD noise parameter: a number for every image or a header keyword (with or without `!`).
fn noise_param(v: &str) -> (Option<f64>, Option<String>) {
    match v.parse::<f64>() {
        Ok(x) => (Some(x), None),
        Err(_) => (None, Some(v.trim_start_matches('!').to_string())),
    }
}

/// IRAF's defaults (imcombine.par), the ones that decide a result.
struct Words {
    combine: String,
    reject: String,
    scale: String,
    zero: String,
    weight: String,
    statsec: String,
    expname: String,
    lthreshold: Option<f64>,
    hthreshold: Option<f64>,
    nlow: i64,
    nhigh: i64,
    nkeep: i64,
    mclip: bool,
    lsigma: f64,
    hsigma: f64,
    rdnoise: String,
    gain: String,
    snoise: String,
    sigscale: f64,
    pclip: f64,
    grow: f64,
    blank: f64,
    sigmas: String,
    nrejmasks: String,
    rejmasks: String,
    expmasks: String,
    logfile: String,
}

impl Default for Words {
    fn default() -> Self {
        Words {
            combine: "average".into(),
            reject: "none".into(),
            scale: "none".into(),
            zero: "none".into(),
            weight: "none".into(),
            statsec: String::new(),
            expname: String::new(),
            lthreshold: None,
            hthreshold: None,
            nlow: 1,
            nhigh: 1,
            nkeep: 1,
            mclip: true,
            lsigma: 3.0,
            hsigma: 3.0,
            rdnoise: "0.".into(),
            gain: "1.".into(),
            snoise: "0.".into(),
            sigscale: 0.1,
            pclip: -0.5,
            grow: 0.0,
            blank: 0.0,
            sigmas: String::new(),
            nrejmasks: String::new(),
            rejmasks: String::new(),
            expmasks: String::new(),
            logfile: "STDOUT".into(),
        }
    }
}

impl Words {
    /// Take one `name=value`.
    fn set(&mut self, name: &'static str, v: &str) -> Result<()> {
        let v = unquote(v);
        match name {
            "combine" => {
                self.combine = enumerated(
                    name,
                    v,
                    &[
                        "average",
                        "median",
                        "lmedian",
                        "sum",
                        "quadrature",
                        "nmodel",
                    ],
                )?
                .into()
            }
            "reject" => {
                self.reject = enumerated(
                    name,
                    v,
                    &[
                        "none",
                        "minmax",
                        "ccdclip",
                        "crreject",
                        "sigclip",
                        "avsigclip",
                        "pclip",
                    ],
                )?
                .into()
            }
            "scale" => self.scale = v.to_string(),
            "zero" => self.zero = v.to_string(),
            "weight" => self.weight = v.to_string(),
            "statsec" => self.statsec = v.to_string(),
            "expname" => self.expname = v.to_string(),
            "lthreshold" => self.lthreshold = optional_number(name, v)?,
            "hthreshold" => self.hthreshold = optional_number(name, v)?,
            "nlow" => self.nlow = integer(name, v)?,
            "nhigh" => self.nhigh = integer(name, v)?,
            "nkeep" => self.nkeep = integer(name, v)?,
            "mclip" => self.mclip = boolean(name, v)?,
            "lsigma" => self.lsigma = number(name, v)?,
            "hsigma" => self.hsigma = number(name, v)?,
            "rdnoise" => self.rdnoise = v.to_string(),
            "gain" => self.gain = v.to_string(),
            "snoise" => self.snoise = v.to_string(),
            "sigscale" => self.sigscale = number(name, v)?,
            "pclip" => self.pclip = number(name, v)?,
            "grow" => self.grow = number(name, v)?,
            "blank" => self.blank = number(name, v)?,
            "sigmas" => self.sigmas = v.to_string(),
            "nrejmasks" => self.nrejmasks = v.to_string(),
            "rejmasks" => self.rejmasks = v.to_string(),
            "expmasks" => self.expmasks = v.to_string(),
            "logfile" => self.logfile = v.to_string(),
            other => return unsupported(other, v),
        }
        Ok(())
    }
}

/// Parameters skycomb knows but takes only at IRAF's default (anything else is refused by name).
fn unsupported(name: &str, v: &str) -> Result<()> {
    let default_ok = match name {
        "headers" | "bpmasks" | "outlimits" => v.is_empty(),
        "imcmb" => v == "$I" || v.is_empty(),
        "project" => !boolean(name, v)?,
        "outtype" => v.is_empty() || v.eq_ignore_ascii_case("real"),
        "offsets" => v.eq_ignore_ascii_case("none") || v.is_empty(),
        "masktype" => v.eq_ignore_ascii_case("none") || v.is_empty(),
        "maskvalue" => true,
        _ => false,
    };
    if default_ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "imcombine {name}={v}: not supported by skycomb imcombine (only its default; see the README)"
        )))
    }
}

/// A scale/zero/weight word: none, a statistic, exposure, `@file` or `!KEYWORD`.
enum Choice {
    None,
    Stat(Statistic),
    Exposure,
    File(Vec<f64>),
    Keyword(String),
}

fn choice(name: &str, v: &str, n: usize, exposure_ok: bool) -> Result<Choice> {
    if let Some(file) = v.strip_prefix('@') {
        return Ok(Choice::File(values_file(name, file, n)?));
    }
    if let Some(key) = v.strip_prefix('!') {
        return Ok(Choice::Keyword(key.to_string()));
    }
    Ok(match v.to_ascii_lowercase().as_str() {
        "" | "none" => Choice::None,
        "mode" => Choice::Stat(Statistic::Mode),
        "median" => Choice::Stat(Statistic::Median),
        "mean" => Choice::Stat(Statistic::Mean),
        "exposure" if exposure_ok => Choice::Exposure,
        _ => {
            return Err(invalid(format!(
                "{name}={v}: expected none, mode, median, mean{}, @file or !KEYWORD",
                if exposure_ok { ", exposure" } else { "" }
            )));
        }
    })
}

/// The rejection IRAF's words describe.
fn rejection(w: &Words) -> Result<Rejection> {
    let centre = if w.mclip {
        Centre::Median
    } else {
        Centre::Mean
    };
    let rule = |spread: Spread, low: f64| SigmaRule {
        low,
        high: w.hsigma,
        centre,
        spread,
        max_iterations: None,
    };
    let (rd, rdk) = noise_param(&w.rdnoise);
    let (g, gk) = noise_param(&w.gain);
    let (sn, snk) = noise_param(&w.snoise);
    let ccd = Spread::CcdNoise {
        gain_e_per_adu: g.unwrap_or(1.0),
        read_noise_e: rd.unwrap_or(0.0),
        sensitivity_noise: sn.unwrap_or(0.0),
    };
    let mut r = Rejection {
        min_clip: w.lthreshold,
        max_clip: w.hthreshold,
        grow_radius_px: w.grow,
        nkeep: Keep::from_nkeep(w.nkeep),
        sigscale: w.sigscale,
        ..Default::default()
    };
    match w.reject.as_str() {
        "none" => {}
        "minmax" => {
            if w.nlow < 0 || w.nhigh < 0 {
                return Err(invalid("nlow and nhigh must be >= 0".into()));
            }
            r.nlow = w.nlow as usize;
            r.nhigh = w.nhigh as usize;
        }
        "ccdclip" | "crreject" => {
            let low = if w.reject == "crreject" {
                f64::INFINITY
            } else {
                w.lsigma
            };
            r.sigma = Some(rule(ccd, low));
            r.noise_keywords = NoiseKeywords {
                gain: gk,
                read_noise: rdk,
                snoise: snk,
            };
        }
        "sigclip" => r.sigma = Some(rule(Spread::Std, w.lsigma)),
        "avsigclip" => r.sigma = Some(rule(Spread::PoissonScaled, w.lsigma)),
        "pclip" => r.sigma = Some(rule(Spread::Percentile(w.pclip), w.lsigma)),
        other => return Err(invalid(format!("reject={other}: not an IRAF reject"))),
    }
    Ok(r)
}

/// Parse `input... output name=value...` into a call.
pub fn parse_imcombine(words: &[String]) -> Result<ImcombineCall> {
    let mut w = Words::default();
    let mut positional = Vec::new();
    for word in words {
        match word.split_once('=') {
            Some((name, value)) => w.set(parameter_name(name.trim())?, value)?,
            None => positional.push(word.as_str()),
        }
    }
    let Some((output, inputs)) = positional.split_last() else {
        return Err(invalid(
            "imcombine needs the input images and the output image".into(),
        ));
    };
    let inputs: Vec<PathBuf> = inputs
        .iter()
        .map(|i| input_names(i))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    if inputs.is_empty() {
        return Err(invalid("imcombine: no input images".into()));
    }
    let n = inputs.len();
    let (method, median_low) = match w.combine.as_str() {
        "average" => (Method::Average, false),
        "median" => (Method::Median, false),
        "lmedian" => (Method::Median, true),
        "sum" => (Method::Sum, false),
        "quadrature" => (Method::Quadrature, false),
        "nmodel" => (Method::NoiseModel, false),
        other => return Err(invalid(format!("combine={other}: not an IRAF combine"))),
    };
    let scale = match choice("scale", &w.scale, n, true)? {
        Choice::None => Scale::None,
        Choice::Stat(Statistic::Mode) => Scale::InvMode,
        Choice::Stat(Statistic::Median) => Scale::InvMedian,
        Choice::Stat(Statistic::Mean) => Scale::InvMean,
        Choice::Exposure => Scale::Exptime(w.expname.clone()),
        Choice::File(v) => Scale::Given(v),
        Choice::Keyword(k) => Scale::Keyword(k),
    };
    let zero = match choice("zero", &w.zero, n, false)? {
        Choice::None => Zero::None,
        Choice::Stat(Statistic::Mode) => Zero::Mode,
        Choice::Stat(Statistic::Median) => Zero::Median,
        Choice::Stat(Statistic::Mean) => Zero::Mean,
        Choice::File(v) => Zero::Given(v),
        Choice::Keyword(k) => {
            return Err(invalid(format!(
                "zero=!{k}: offsets from a keyword are not supported yet; use @file"
            )));
        }
        Choice::Exposure => unreachable!("exposure is not a zero choice"),
    };
    let weights = match choice("weight", &w.weight, n, true)? {
        Choice::None => Weights::None,
        Choice::Stat(s) => Weights::Statistic(s),
        Choice::Exposure => Weights::Exptime(w.expname.clone()),
        Choice::File(v) => Weights::Given(v),
        Choice::Keyword(k) => Weights::Keyword(k),
    };
    let stat_section = match w.statsec.trim() {
        "" => None,
        s => Some(Section::parse(s.trim_start_matches("input").trim())?),
    };
    let path = |s: &str| (!s.is_empty()).then(|| PathBuf::from(s));
    let mut rejection = rejection(&w)?;
    let noise_model = (method == Method::NoiseModel).then(|| {
        let ((rd, rdk), (g, gk), (sn, snk)) = (
            noise_param(&w.rdnoise),
            noise_param(&w.gain),
            noise_param(&w.snoise),
        );
        rejection.noise_keywords = NoiseKeywords {
            gain: gk,
            read_noise: rdk,
            snoise: snk,
        };
        NoiseModel {
            gain_e_per_adu: g.unwrap_or(1.0),
            read_noise_e: rd.unwrap_or(0.0),
            sensitivity_noise: sn.unwrap_or(0.0),
        }
    });
    let params = CombineParams {
        method,
        median_low,
        rejection,
        noise_model,
        scale,
        zero,
        weights,
        stat_section,
        semantics: Semantics::Iraf,
        blank: w.blank as f32,
        sigma_map: !w.sigmas.is_empty(),
        ..Default::default()
    };
    params.validate(n)?;
    Ok(ImcombineCall {
        inputs,
        output: PathBuf::from(output),
        params,
        sigmas: path(&w.sigmas),
        nrejmasks: path(&w.nrejmasks),
        rejmasks: path(&w.rejmasks),
        expmasks: path(&w.expmasks),
        expname: w.expname.clone(),
        logfile: match w.logfile.as_str() {
            "STDOUT" => Log::Stdout,
            "" => Log::Nowhere,
            f => Log::File(PathBuf::from(f)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn prefixes_resolve_and_unknown_or_ambiguous_names_are_refused() {
        assert_eq!(parameter_name("comb").unwrap(), "combine");
        assert_eq!(parameter_name("lthresh").unwrap(), "lthreshold");
        assert!(
            parameter_name("rej")
                .unwrap_err()
                .to_string()
                .contains("ambiguous")
        );
        let e = parse_imcombine(&words("a.fits b.fits out.fits sigmaclip=3")).unwrap_err();
        assert!(e.to_string().contains("\"sigmaclip\""), "{e}");
    }

    #[test]
    fn iraf_words_become_iraf_semantics() {
        assert_eq!(
            parse_imcombine(&words("a.fits b.fits o.fits comb=quad"))
                .unwrap()
                .params
                .method,
            Method::Quadrature
        );
        let e = parse_imcombine(&words("a.fits b.fits o.fits reject=c")).unwrap_err();
        assert!(e.to_string().contains("reject=c: expected one of"), "{e}");
        let c = parse_imcombine(&words(
            "a.fits,b.fits c.fits out.fits comb=median reje=ccdclip mclip=no gain=!GAIN rdnoise=5 \
             lthresh=INDEF hthreshold=60000 nkeep=-2 blank=-1 sigmas=s.fits",
        ))
        .unwrap();
        assert_eq!(c.inputs.len(), 3);
        assert_eq!(c.output, PathBuf::from("out.fits"));
        let p = &c.params;
        assert_eq!(p.semantics, Semantics::Iraf);
        assert_eq!(p.method, Method::Median);
        assert_eq!(p.rejection.max_clip, Some(60000.0));
        assert_eq!(p.rejection.min_clip, None);
        assert_eq!(p.rejection.nkeep, Keep::RejectAtMost(2));
        assert_eq!(p.rejection.noise_keywords.gain.as_deref(), Some("GAIN"));
        let s = p.rejection.sigma.unwrap();
        assert_eq!(s.centre, Centre::Mean);
        assert!(matches!(s.spread, Spread::CcdNoise { read_noise_e, .. } if read_noise_e == 5.0));
        assert_eq!(p.blank, -1.0);
        assert_eq!(c.sigmas, Some(PathBuf::from("s.fits")));
    }

    #[test]
    fn options_beyond_skycomb_are_refused_by_name() {
        let e = parse_imcombine(&words("a.fits b.fits out.fits offsets=wcs")).unwrap_err();
        assert!(e.to_string().contains("offsets=wcs"), "{e}");
        let e = parse_imcombine(&words("a.fits b.fits out.fits project=yes")).unwrap_err();
        assert!(e.to_string().contains("project=yes"), "{e}");
    }
}
