//! `skycomb scan DIR`: the collection as a table, CSV or JSON, with filters, sorting and groups.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde_json::{Map, Value as Json};
use skycomb::collection::{Collection, Condition, GroupKey, STANDARD_COLUMNS, ScanOptions, scan};
use skycomb::fits::Value;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The folder to scan.
    pub dir: PathBuf,
    /// Extra header keywords to show as columns, comma-separated (e.g. GAIN,CCD-TEMP).
    #[arg(long, value_delimiter = ',')]
    pub keywords: Vec<String>,
    /// Keep files matching KEY=VALUE (case-insensitive, numbers as numbers, * ? globs), KEY!=VALUE,
    /// KEY~REGEX, !KEY (keyword missing) or KEY (present). Repeat to combine (all must hold).
    /// `imagetyp=flat` matches every spelling of a flat (FLAT, DOME FLAT, Flat Field, SKY_FLAT).
    #[arg(long = "where", value_name = "CONDITION")]
    pub conditions: Vec<String>,
    /// Sort by this column (a keyword, `file` or `kind`); prefix with `-` for descending.
    #[arg(long, allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// Group rows by kind, filter, exptime, binning or any keyword (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Descend into sub-folders.
    #[arg(long, short)]
    pub recursive: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The columns shown: the standard ones, `kind` after IMAGETYP, then the extra keywords.
fn columns(extra: &[String]) -> Vec<String> {
    let mut cols: Vec<String> = STANDARD_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.insert(2, "kind".into());
    for k in extra {
        if !cols.iter().any(|c| c.eq_ignore_ascii_case(k)) {
            cols.push(k.to_ascii_uppercase());
        }
    }
    cols
}

fn json_value(v: Option<Value>) -> Json {
    match v {
        None | Some(Value::Undefined) => Json::Null,
        Some(Value::Int(i)) => Json::from(i),
        Some(Value::Float(f)) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Some(Value::Bool(b)) => Json::Bool(b),
        Some(v) => Json::String(v.display()),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_table(c: &Collection, rows: &[usize], cols: &[String]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|&i| cols.iter().map(|k| c.frames[i].text(k)).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(j, k)| {
            cells
                .iter()
                .map(|r| r[j].chars().count())
                .max()
                .unwrap_or(0)
                .max(k.len())
        })
        .collect();
    let line = |vals: Vec<&str>| {
        let parts: Vec<String> = vals
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(cols.iter().map(String::as_str).collect());
    for r in &cells {
        line(r.iter().map(String::as_str).collect());
    }
}

pub fn run(a: &ScanArgs) -> Result<()> {
    let conditions: Vec<Condition> = a
        .conditions
        .iter()
        .map(|s| s.parse().with_context(|| format!("--where {s:?}")))
        .collect::<Result<_>>()?;
    let keys: Vec<GroupKey> = a
        .group_by
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let mut c = scan(
        &a.dir,
        &ScanOptions {
            recursive: a.recursive,
        },
    )?;
    if let Some(s) = &a.sort {
        let (col, desc) = match s.strip_prefix('-') {
            Some(col) => (col, true),
            None => (s.as_str(), false),
        };
        c.sort_by_column(col, desc);
    }
    let rows = c.select(&conditions);
    let cols = columns(&a.keywords);
    match a.format {
        Format::Json => print_json(&c, &rows, &cols, &keys)?,
        Format::Csv => {
            println!(
                "{}",
                cols.iter()
                    .map(|k| csv_field(k))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            for &i in &rows {
                let vals: Vec<String> = cols
                    .iter()
                    .map(|k| csv_field(&c.frames[i].text(k)))
                    .collect();
                println!("{}", vals.join(","));
            }
        }
        Format::Table if keys.is_empty() => print_table(&c, &rows, &cols),
        Format::Table => {
            for g in c.group(&rows, &keys) {
                let title: Vec<String> = keys
                    .iter()
                    .zip(&g.labels)
                    .map(|(k, l)| format!("{}={l}", k.name()))
                    .collect();
                println!("== {} ({} files)", title.join(" "), g.members.len());
                print_table(&c, &g.members, &cols);
                println!();
            }
        }
    }
    report_problems(&c, rows.len(), a.format);
    Ok(())
}

/// Problems and an empty result go to stderr, so stdout stays a clean table/CSV/JSON.
fn report_problems(c: &Collection, shown: usize, format: Format) {
    if format != Format::Json {
        for p in &c.problems {
            eprintln!("problem: {}", p.reason);
        }
    }
    if c.frames.is_empty() && c.problems.is_empty() {
        eprintln!(
            "{}: no FITS files here (looked for .fits .fit .fts .fz and their .gz/.Z forms)",
            c.root.display()
        );
    } else {
        eprintln!(
            "{} file(s) shown of {} readable; {} problem(s)",
            shown,
            c.frames.len(),
            c.problems.len()
        );
    }
}

fn print_json(c: &Collection, rows: &[usize], cols: &[String], keys: &[GroupKey]) -> Result<()> {
    let files: Vec<Json> = rows
        .iter()
        .map(|&i| {
            let f = &c.frames[i];
            let mut m = Map::new();
            m.insert("path".into(), Json::String(f.path.display().to_string()));
            m.insert("hdu".into(), Json::from(f.hdu));
            for k in cols.iter().filter(|k| *k != "file") {
                m.insert(k.clone(), json_value(f.value(k)));
            }
            Json::Object(m)
        })
        .collect();
    let problems: Vec<Json> = c
        .problems
        .iter()
        .map(|p| serde_json::json!({"path": p.path.display().to_string(), "reason": p.reason}))
        .collect();
    let mut out = serde_json::json!({"files": files, "problems": problems});
    if !keys.is_empty() {
        let groups: Vec<Json> = c
            .group(rows, keys)
            .iter()
            .map(|g| {
                let labels: Map<String, Json> = keys
                    .iter()
                    .zip(&g.labels)
                    .map(|(k, l)| (k.name(), Json::String(l.clone())))
                    .collect();
                let files: Vec<Json> = g
                    .members
                    .iter()
                    .map(|&i| Json::String(c.frames[i].file.clone()))
                    .collect();
                serde_json::json!({"labels": labels, "files": files})
            })
            .collect();
        out["groups"] = Json::Array(groups);
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
