//! The FITS header model: ordered 80-column cards with typed values, case-insensitive lookup, parsing and formatting.

use crate::error::{Error, Result};

/// The typed value of one header card.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string, trailing blanks removed (FITS says they are not significant).
    Str(String),
    /// An integer.
    Int(i64),
    /// A real number (`D` exponents accepted).
    Float(f64),
    /// A logical `T` / `F`.
    Bool(bool),
    /// A complex number `(re, im)`.
    Complex(f64, f64),
    /// A keyword with `= ` but no value.
    Undefined,
    /// A commentary card (COMMENT, HISTORY, blank keyword, or any card without `= `): its text.
    Text(String),
}

impl Value {
    /// The value as a person reads it in a table: strings unquoted, reals in their shortest form.
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) | Value::Text(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float_short(*f),
            Value::Bool(b) => if *b { "T" } else { "F" }.to_string(),
            Value::Complex(r, i) => {
                format!("({}, {})", format_float_short(*r), format_float_short(*i))
            }
            Value::Undefined => String::new(),
        }
    }

    /// The value as a number: integers, reals, and strings that hold a number (some software writes `EXPTIME = '30.0'`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
    }

    /// The value as an integer, when it is one (or a real with no fractional part).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }

    /// The value as text: strings as they are, other values as displayed.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Shortest decimal form that reads back to the same f64, always with a `.` or exponent.
fn format_float_short(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'E', 'N', 'i']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// One header card: keyword (upper case, without any `HIERARCH ` prefix), value, comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub keyword: String,
    pub value: Value,
    /// The text after `/` on a value card; empty when there is none (commentary text lives in [`Value::Text`]).
    pub comment: String,
}

impl Card {
    /// A value card.
    pub fn new(keyword: &str, value: Value, comment: &str) -> Card {
        Card {
            keyword: keyword.trim().to_ascii_uppercase(),
            value,
            comment: comment.to_string(),
        }
    }

    /// A HISTORY card.
    pub fn history(text: &str) -> Card {
        Card::new("HISTORY", Value::Text(text.to_string()), "")
    }

    /// A COMMENT card.
    pub fn comment_card(text: &str) -> Card {
        Card::new("COMMENT", Value::Text(text.to_string()), "")
    }

    /// True for COMMENT, HISTORY, blank-keyword and other cards without a value.
    pub fn is_commentary(&self) -> bool {
        matches!(self.value, Value::Text(_))
    }

    /// Parse one 80-column card image (shorter text is padded with blanks).
    pub fn parse(image: &str) -> Card {
        let image = image.trim_end_matches(['\0']);
        let upper_head: String = image
            .chars()
            .take(9)
            .collect::<String>()
            .to_ascii_uppercase();
        if upper_head.starts_with("HIERARCH ")
            && let Some(eq) = image.find('=')
        {
            let keyword = image[9..eq].trim().to_ascii_uppercase();
            let (value, comment) = parse_value_field(&image[eq + 1..]);
            return Card {
                keyword,
                value,
                comment,
            };
        }
        let keyword = image.get(..8).unwrap_or(image).trim().to_ascii_uppercase();
        let has_value = image.get(8..10) == Some("= ")
            || (image.len() == 9 && image.ends_with('='))
            || image.get(8..10) == Some("=");
        let is_commentary_key = matches!(keyword.as_str(), "COMMENT" | "HISTORY" | "" | "CONTINUE");
        if has_value && !is_commentary_key {
            let (value, comment) = parse_value_field(image.get(10..).unwrap_or(""));
            return Card {
                keyword,
                value,
                comment,
            };
        }
        let text = image.get(8..).unwrap_or("").trim_end().to_string();
        Card {
            keyword,
            value: Value::Text(text),
            comment: String::new(),
        }
    }

    /// Format as one or more 80-column card images (long strings use the CONTINUE convention).
    pub fn to_images(&self) -> Result<Vec<String>> {
        let key = &self.keyword;
        if !key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ' '))
        {
            return Err(Error::Card {
                keyword: key.clone(),
                reason: "keywords may hold only A-Z, 0-9, '-' and '_'".into(),
            });
        }
        if let Value::Text(text) = &self.value {
            return Ok(split_commentary(key, text));
        }
        let long_key = key.len() > 8 || key.contains(' ');
        let prefix = if long_key {
            format!("HIERARCH {key} = ")
        } else {
            format!("{key:<8}= ")
        };
        if let Value::Str(s) = &self.value {
            return Ok(format_string_card(&prefix, s, &self.comment));
        }
        let v = match &self.value {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float_card(*f).ok_or_else(|| Error::Card {
                keyword: key.clone(),
                reason: format!("{f} cannot be written to a FITS header"),
            })?,
            Value::Bool(b) => if *b { "T" } else { "F" }.into(),
            Value::Complex(r, i) => {
                format!("({}, {})", format_float_short(*r), format_float_short(*i))
            }
            Value::Undefined => String::new(),
            Value::Str(_) | Value::Text(_) => unreachable!("handled above"),
        };
        let mut image = if long_key {
            format!("{prefix}{v}")
        } else {
            format!("{prefix}{v:>20}")
        };
        if !self.comment.is_empty() {
            image.push_str(" / ");
            image.push_str(&self.comment);
        }
        Ok(vec![pad80(&image)])
    }
}

/// Real numbers as FITS wants them: a `.` or `E`, at most 20 characters.
fn format_float_card(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let s = format_float_short(f);
    if s.len() <= 20 {
        return Some(s.replace('e', "E"));
    }
    Some(format!("{f:.13E}"))
}

fn pad80(s: &str) -> String {
    let mut s: String = s.chars().take(80).collect();
    while s.len() < 80 {
        s.push(' ');
    }
    s
}

fn split_commentary(key: &str, text: &str) -> Vec<String> {
    let chunks: Vec<String> = text
        .chars()
        .collect::<Vec<_>>()
        .chunks(72)
        .map(|c| c.iter().collect())
        .collect();
    if chunks.is_empty() {
        return vec![pad80(&format!("{key:<8}"))];
    }
    chunks
        .iter()
        .map(|c| pad80(&format!("{key:<8}{c}")))
        .collect()
}

/// A string card, continued over CONTINUE cards when it does not fit.
fn format_string_card(prefix: &str, s: &str, comment: &str) -> Vec<String> {
    let quoted = |t: &str| format!("'{}'", t.replace('\'', "''"));
    let padded = if s.len() < 8 {
        format!("{s:<8}")
    } else {
        s.to_string()
    };
    let whole = format!("{prefix}{}", quoted(&padded));
    let with_comment = if comment.is_empty() {
        whole.clone()
    } else {
        format!("{whole} / {comment}")
    };
    if with_comment.len() <= 80 {
        return vec![pad80(&with_comment)];
    }
    if whole.len() <= 80 {
        return vec![pad80(&whole)];
    }
    // CONTINUE convention: each piece ends in '&' inside the quotes.
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut head = prefix.to_string();
    let mut i = 0;
    while i < chars.len() {
        let room = 80 - head.len() - 3; // quotes and '&'
        let mut take = room.min(chars.len() - i);
        // a doubled quote takes two columns
        while chars[i..i + take].iter().filter(|c| **c == '\'').count() + take > room {
            take -= 1;
        }
        let piece: String = chars[i..i + take].iter().collect();
        i += take;
        let amp = if i < chars.len() { "&" } else { "" };
        out.push(pad80(&format!(
            "{head}{}",
            quoted(&format!("{piece}{amp}"))
        )));
        head = "CONTINUE  ".to_string();
    }
    out
}

/// Split the field after `= ` into a value and a comment.
fn parse_value_field(field: &str) -> (Value, String) {
    let t = field.trim_start();
    if let Some(rest) = t.strip_prefix('\'') {
        let mut s = String::new();
        let mut chars = rest.char_indices().peekable();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    s.push('\'');
                    chars.next();
                    continue;
                }
                end = i + 1;
                break;
            }
            s.push(c);
        }
        let comment = comment_after(&rest[end.min(rest.len())..]);
        return (Value::Str(s.trim_end().to_string()), comment);
    }
    let (v, comment) = match t.find('/') {
        Some(i) => (&t[..i], t[i + 1..].trim().to_string()),
        None => (t, String::new()),
    };
    (parse_bare_value(v.trim()), comment)
}

fn comment_after(rest: &str) -> String {
    match rest.find('/') {
        Some(i) => rest[i + 1..].trim().to_string(),
        None => String::new(),
    }
}

fn parse_bare_value(v: &str) -> Value {
    match v {
        "" => Value::Undefined,
        "T" => Value::Bool(true),
        "F" => Value::Bool(false),
        _ => {
            if let Ok(i) = v.parse::<i64>() {
                return Value::Int(i);
            }
            let fixed = v.replace(['D', 'd'], "E");
            if let Ok(f) = fixed.parse::<f64>() {
                return Value::Float(f);
            }
            if let Some(inner) = v.strip_prefix('(').and_then(|s| s.strip_suffix(')'))
                && let Some((a, b)) = inner.split_once(',')
                && let (Ok(r), Ok(i)) = (
                    a.trim().replace('D', "E").parse(),
                    b.trim().replace('D', "E").parse(),
                )
            {
                return Value::Complex(r, i);
            }
            // Not valid FITS, but real files do this: keep the text.
            Value::Str(v.to_string())
        }
    }
}

/// An ordered list of cards (without END), as in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    pub cards: Vec<Card>,
}

/// Keywords that describe the HDU's layout: written by the writer itself, never copied from a source header.
pub const STRUCTURAL_KEYWORDS: &[&str] = &[
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "BZERO", "BSCALE",
    "BLANK", "END",
];

/// True when `key` is NAXISn or one of [`STRUCTURAL_KEYWORDS`].
pub fn is_structural(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    STRUCTURAL_KEYWORDS.contains(&k.as_str())
        || (k.starts_with("NAXIS") && k[5..].chars().all(|c| c.is_ascii_digit()))
}

impl Header {
    /// Parse a sequence of 80-column card images, joining CONTINUE cards onto the string before them.
    pub fn from_card_images<S: AsRef<str>>(images: impl IntoIterator<Item = S>) -> Header {
        let mut cards: Vec<Card> = Vec::new();
        for image in images {
            let card = Card::parse(image.as_ref());
            if card.keyword == "END" && card.is_commentary() {
                break;
            }
            if card.keyword == "CONTINUE"
                && let Some(Card {
                    value: Value::Str(prev),
                    comment,
                    ..
                }) = cards.last_mut()
                && prev.ends_with('&')
            {
                let (cont, cont_comment) = parse_value_field(image.as_ref().get(8..).unwrap_or(""));
                if let Value::Str(more) = cont {
                    prev.pop();
                    prev.push_str(&more);
                    if !cont_comment.is_empty() {
                        *comment = if comment.is_empty() {
                            cont_comment
                        } else {
                            format!("{comment} {cont_comment}")
                        };
                    }
                    continue;
                }
            }
            cards.push(card);
        }
        Header { cards }
    }

    /// The first value card with this keyword (case-insensitive), if any.
    pub fn card(&self, keyword: &str) -> Option<&Card> {
        self.cards
            .iter()
            .find(|c| !c.is_commentary() && c.keyword.eq_ignore_ascii_case(keyword))
    }

    /// The value of a keyword (case-insensitive); `None` when absent.
    pub fn get(&self, keyword: &str) -> Option<&Value> {
        self.card(keyword).map(|c| &c.value)
    }

    /// A keyword's value as a number (see [`Value::as_f64`]).
    pub fn get_f64(&self, keyword: &str) -> Option<f64> {
        self.get(keyword).and_then(Value::as_f64)
    }

    /// A keyword's value as an integer.
    pub fn get_i64(&self, keyword: &str) -> Option<i64> {
        self.get(keyword).and_then(Value::as_i64)
    }

    /// A keyword's value as a string (strings only).
    pub fn get_str(&self, keyword: &str) -> Option<&str> {
        self.get(keyword).and_then(Value::as_str)
    }

    /// True when the keyword is present.
    pub fn contains(&self, keyword: &str) -> bool {
        self.card(keyword).is_some()
    }

    /// Set a keyword: replace the first card with it, or append a new card.
    pub fn set(&mut self, keyword: &str, value: Value, comment: &str) {
        let card = Card::new(keyword, value, comment);
        match self
            .cards
            .iter_mut()
            .find(|c| !c.is_commentary() && c.keyword == card.keyword)
        {
            Some(existing) => *existing = card,
            None => self.cards.push(card),
        }
    }

    /// Remove every value card with this keyword.
    pub fn remove(&mut self, keyword: &str) {
        self.cards
            .retain(|c| c.is_commentary() || !c.keyword.eq_ignore_ascii_case(keyword));
    }

    /// True when a HISTORY card contains `text`.
    pub fn history_contains(&self, text: &str) -> bool {
        self.cards.iter().any(|c| {
            c.keyword == "HISTORY" && matches!(&c.value, Value::Text(t) if t.contains(text))
        })
    }

    /// Append a HISTORY card.
    pub fn add_history(&mut self, text: &str) {
        self.cards.push(Card::history(text));
    }

    /// The cards in the order of the file, as 80-column images (for display).
    pub fn to_card_images(&self) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(self.cards.len());
        for c in &self.cards {
            out.extend(c.to_images()?);
        }
        Ok(out)
    }

    /// The card images that contain `needle`, ignoring case (the header panel's search box);
    /// all of them for an empty needle; trailing blanks trimmed. A card that cannot be formatted is shown as its keyword.
    pub fn lines_matching(&self, needle: &str) -> Vec<String> {
        let needle = needle.trim().to_ascii_uppercase();
        self.cards
            .iter()
            .flat_map(|c| c.to_images().unwrap_or_else(|_| vec![c.keyword.clone()]))
            .filter(|line| needle.is_empty() || line.to_ascii_uppercase().contains(&needle))
            .map(|line| line.trim_end().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_search_finds_keywords_values_and_comments_in_any_case() {
        let h = Header::from_card_images([
            "IMAGETYP= 'object  '           / type of exposure",
            "FILTER  = 'R       '           / filter name",
            "EXPTIME =                 30.0 / exposure time",
            "HISTORY trimmed with skycomb",
        ]);
        assert_eq!(h.lines_matching("").len(), 4);
        let filter = h.lines_matching("filter");
        assert_eq!(filter.len(), 1);
        assert!(filter[0].starts_with("FILTER  = 'R"));
        assert_eq!(h.lines_matching("EXPOSURE").len(), 2);
        assert_eq!(
            h.lines_matching("skycomb"),
            vec!["HISTORY trimmed with skycomb"]
        );
        assert!(h.lines_matching("nothing here").is_empty());
    }

    #[test]
    fn parses_typed_values_and_comments() {
        let h = Header::from_card_images([
            "SIMPLE  =                    T / conforms",
            "BITPIX  =                   16",
            "BZERO   =              32768.0",
            "EXPTIME =                1.5D2 / seconds",
            "IMAGETYP= 'Light Frame'        / type",
            "OBJECT  = 'it''s here'",
            "EMPTY   =",
            "HISTORY made by hand",
            "COMMENT   two spaces",
            "HIERARCH EXTRA KEY0 = 1.5 / hierarch",
            "END",
            "AFTER   = 1",
        ]);
        assert_eq!(h.get("simple"), Some(&Value::Bool(true)));
        assert_eq!(h.get("BITPIX"), Some(&Value::Int(16)));
        assert_eq!(h.get_f64("bzero"), Some(32768.0));
        assert_eq!(h.get_f64("EXPTIME"), Some(150.0));
        assert_eq!(h.card("EXPTIME").unwrap().comment, "seconds");
        assert_eq!(h.get_str("imagetyp"), Some("Light Frame"));
        assert_eq!(h.get_str("OBJECT"), Some("it's here"));
        assert_eq!(h.get("EMPTY"), Some(&Value::Undefined));
        assert_eq!(h.get_f64("extra key0"), Some(1.5));
        assert!(
            h.cards
                .iter()
                .any(|c| c.keyword == "HISTORY" && c.value == Value::Text("made by hand".into()))
        );
        assert!(
            !h.contains("AFTER"),
            "cards after END are not part of the header"
        );
    }

    #[test]
    fn cards_round_trip_through_their_images() {
        let long = "x".repeat(150) + "'quoted'";
        let cards = vec![
            Card::new("EXPTIME", Value::Float(30.0), "s"),
            Card::new("NCOMBINE", Value::Int(7), ""),
            Card::new("FLAG", Value::Bool(false), ""),
            Card::new("FILTER", Value::Str("V".into()), "filter name"),
            Card::new("LONGSTR", Value::Str(long.clone()), ""),
            Card::new("GAIN", Value::Float(1.482602218505602), ""),
            Card::new("TINY", Value::Float(1.0e-30), ""),
            Card::new("EXTRA KEY0", Value::Float(1.5), ""),
            Card::history(&"h".repeat(100)),
        ];
        let images: Vec<String> = cards.iter().flat_map(|c| c.to_images().unwrap()).collect();
        assert!(images.iter().all(|i| i.len() == 80), "{images:#?}");
        let back = Header::from_card_images(&images);
        assert_eq!(back.get_str("LONGSTR"), Some(long.as_str()));
        assert_eq!(back.get_f64("GAIN"), Some(1.482602218505602));
        assert_eq!(back.get_f64("TINY"), Some(1.0e-30));
        assert_eq!(back.get_f64("EXTRA KEY0"), Some(1.5));
        assert_eq!(back.get("FLAG"), Some(&Value::Bool(false)));
        assert_eq!(back.card("FILTER").unwrap().comment, "filter name");
        // the fixed format: values right-aligned to column 30
        assert_eq!(&images[1][..30], "NCOMBINE=                    7");
    }

    #[test]
    fn set_replaces_and_structural_keys_are_known() {
        let mut h = Header::default();
        h.set("exptime", Value::Float(1.0), "");
        h.set("EXPTIME", Value::Float(2.0), "");
        assert_eq!(h.cards.len(), 1);
        assert_eq!(h.get_f64("EXPTIME"), Some(2.0));
        assert!(is_structural("NAXIS2") && is_structural("bzero") && !is_structural("NAXISX"));
    }
}
