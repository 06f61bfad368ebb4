//! Identifiers: the unified social credit code (USCC, GB 32100-2015) and the resident ID number
//! (RIC, GB 11643-1999). A [`Uscc`] or [`ResidentId`] value always has a valid structure and check
//! character; whether it is fully VALID or only SUSPECT (unknown category or area, failed GB 11714
//! check) travels with it as [`Suspicion`].

use std::collections::HashMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

/// The 31 characters of the USCC alphabet; a character's value is its index.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
const RIC_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RIC_CHECK: &[u8; 11] = b"10X98765432";

/// The three verdicts of identifier validation (rules.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Valid,
    Invalid,
    Suspect,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "VALID",
            Verdict::Invalid => "INVALID",
            Verdict::Suspect => "SUSPECT",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an identifier was rejected. Messages are in Chinese for the source unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("长度应为18位，实为{0}位")]
    Length(usize),
    #[error("第{pos}位“{ch}”不是允许的字符")]
    Character { pos: usize, ch: char },
    #[error("第3至8位应为数字（行政区划码）")]
    DivisionNotDigits,
    // The check character it should have is not told: a clerk who copies it makes a valid
    // number that is someone else's (a digit mistyped, or lost by a spreadsheet, stays wrong).
    #[error("校验码错误：末位“{actual}”与前17位不符，号码有误，请对照{document}原件核对整个号码")]
    Checksum {
        expected: char,
        actual: char,
        /// Where the clerk finds the number as issued.
        document: &'static str,
    },
    #[error("出生日期{0}不是有效日期")]
    BirthDate(String),
    #[error("出生日期{0}晚于今天")]
    BirthInFuture(NaiveDate),
    #[error("为空")]
    Empty,
}

/// Why a structurally valid identifier is still doubtful (kept, flagged in data-quality output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suspicion {
    UnknownCategory(String),
    OrgCodeCheck { expected: char, actual: char },
    UnknownArea(String),
    AreaNotInForce { code: String, year: i32 },
}

impl fmt::Display for Suspicion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suspicion::UnknownCategory(c) => {
                write!(f, "登记管理部门和机构类别代码“{c}”不在代码表中")
            }
            Suspicion::OrgCodeCheck { expected, actual } => write!(
                f,
                "主体标识码（组织机构代码）校验位应为“{expected}”，实为“{actual}”"
            ),
            Suspicion::UnknownArea(c) => write!(f, "行政区划代码{c}不存在"),
            Suspicion::AreaNotInForce { code, year } => write!(
                f,
                "行政区划代码{code}在{year}年前后未启用或已撤销（号码编制时应为当时有效的代码）"
            ),
        }
    }
}

/// Trim, upper-case, and remove spaces and dashes (rules.md); full-width digits and letters
/// (`９１３２…`, `Ｘ`) count as their ASCII forms. The ways spreadsheets keep a long number as
/// text — a leading apostrophe, an `="…"` formula — and zero-width characters pasted with it are
/// not part of the code either.
pub fn normalize(input: &str) -> String {
    let t = input.trim();
    let t = t
        .strip_prefix("=\"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(t);
    let t = t.strip_prefix('\'').unwrap_or(t);
    t.chars()
        .map(crate::text::fold_width)
        .filter(|c| {
            !c.is_whitespace()
                && *c != '-'
                && !matches!(
                    *c,
                    '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}'
                )
        })
        .flat_map(char::to_uppercase)
        .collect()
}

/// One administrative-division code and the years a name was in force (GB/T 2260 history).
#[derive(Debug, Clone)]
pub struct AreaSpan {
    pub name: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
}

/// GB/T 2260 codes with their history, parsed from `data/areas.tsv`.
#[derive(Debug, Default, Clone)]
pub struct AreaTable {
    spans: HashMap<u32, Vec<AreaSpan>>,
    /// The year resident ID numbers began to be assigned (`@first_assigned` in the file): a
    /// person born earlier got a number carrying the code in force then, not at birth.
    first_assigned: Option<i32>,
    /// Years either side of the assigning year still accepted (`@year_tolerance`): the yearly
    /// code lists show a change made late in a year only in the next year's list.
    tolerance: i32,
}

impl AreaTable {
    /// Parses lines `code<TAB>name<TAB>from<TAB>to`; `#` starts a comment line, `@name<TAB>year`
    /// sets one of the table's settings (`first_assigned`, `year_tolerance`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut spans: HashMap<u32, Vec<AreaSpan>> = HashMap::new();
        let (mut first_assigned, mut tolerance) = (None, 0);
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some(setting) = line.strip_prefix('@') {
                let mut parts = setting.split('\t');
                let (name, value) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let value: i32 = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("areas line {}: bad value of @{name}", n + 1))?;
                match name {
                    "first_assigned" => first_assigned = Some(value),
                    "year_tolerance" => tolerance = value,
                    _ => return Err(format!("areas line {}: unknown setting @{name}", n + 1)),
                }
                continue;
            }
            let mut parts = line.split('\t');
            let (Some(code), Some(name)) = (parts.next(), parts.next()) else {
                return Err(format!("areas line {}: expected code and name", n + 1));
            };
            let year = |s: Option<&str>| -> Result<Option<i32>, String> {
                match s.map(str::trim) {
                    None | Some("") => Ok(None),
                    Some(y) => y
                        .parse()
                        .map(Some)
                        .map_err(|_| format!("areas line {}: bad year {y}", n + 1)),
                }
            };
            let from = year(parts.next())?;
            let to = year(parts.next())?;
            let code: u32 = code
                .parse()
                .map_err(|_| format!("areas line {}: bad code {code}", n + 1))?;
            spans.entry(code).or_default().push(AreaSpan {
                name: name.to_string(),
                from,
                to,
            });
        }
        Ok(AreaTable {
            spans,
            first_assigned,
            tolerance,
        })
    }

    /// The year whose codes a number of a person born in `birth_year` carries: the birth year,
    /// or the year numbers began to be assigned for those born before it.
    pub fn assigned_in(&self, birth_year: i32) -> i32 {
        self.first_assigned
            .map_or(birth_year, |y| birth_year.max(y))
    }

    /// The name of `code` in `year`, or else the nearest year within the tolerance.
    pub fn name_near(&self, code: &str, year: i32) -> Option<&str> {
        (0..=self.tolerance).find_map(|d| {
            self.name_in(code, year - d)
                .or_else(|| self.name_in(code, year + d))
        })
    }

    /// Whether `code` was in force within the tolerance of `year`.
    pub fn in_force_near(&self, code: &str, year: i32) -> bool {
        self.name_near(code, year).is_some()
    }

    pub fn spans(&self, code: &str) -> Option<&[AreaSpan]> {
        code.parse::<u32>()
            .ok()
            .and_then(|c| self.spans.get(&c))
            .map(Vec::as_slice)
    }

    /// The name in force in `year`, if any.
    pub fn name_in(&self, code: &str, year: i32) -> Option<&str> {
        self.spans(code)?
            .iter()
            .find(|s| s.from.is_none_or(|f| year >= f) && s.to.is_none_or(|t| year <= t))
            .map(|s| s.name.as_str())
    }

    /// Codes starting with `prefix` that were in force in `year`, sorted.
    pub fn codes_in_force(&self, prefix: &str, year: i32) -> Vec<String> {
        let mut v: Vec<String> = self
            .spans
            .keys()
            .map(|c| format!("{c:06}"))
            .filter(|c| {
                c.starts_with(prefix) && !c.ends_with("00") && self.name_in(c, year).is_some()
            })
            .collect();
        v.sort();
        v
    }

    /// The latest name of a code, whatever the year.
    pub fn latest_name(&self, code: &str) -> Option<&str> {
        self.spans(code)?.last().map(|s| s.name.as_str())
    }
}

/// The registration-authority/category pairs of USCC positions 1–2 (`data/uscc_categories.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct UsccCategories {
    pub version: String,
    pub basis: String,
    #[serde(rename = "pair")]
    pub pairs: Vec<UsccCategory>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UsccCategory {
    pub code: String,
    pub authority: String,
    pub category: String,
    /// 法人及非法人组织 or 个体工商户: the subject kind a code of this pair names.
    pub kind: String,
    #[serde(default)]
    pub later: bool,
}

impl UsccCategories {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
    pub fn get(&self, pair: &str) -> Option<&UsccCategory> {
        self.pairs.iter().find(|p| p.code == pair)
    }
}

/// What identifier checks need to know: the division history and the category table.
#[derive(Debug, Clone)]
pub struct IdRules {
    pub areas: AreaTable,
    pub categories: UsccCategories,
}

/// A unified social credit code with a valid format and check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Parses after normalisation. `Ok` carries any suspicion; structural faults are `Err`.
    pub fn parse(input: &str, rules: &IdRules) -> Result<(Uscc, Option<Suspicion>), IdError> {
        let code = normalize(input);
        Self::check_structure(&code)?;
        let suspicion = if rules.categories.get(&code[..2]).is_none() {
            Some(Suspicion::UnknownCategory(code[..2].to_string()))
        } else {
            let expected = org_code_check(&code.as_bytes()[8..16]);
            let actual = code.as_bytes()[16] as char;
            (expected != Some(actual)).then(|| Suspicion::OrgCodeCheck {
                expected: expected.unwrap_or('?'),
                actual,
            })
        };
        Ok((Uscc(code), suspicion))
    }

    /// Format and mod-31 check only, on an already normalised code.
    fn check_structure(code: &str) -> Result<(), IdError> {
        let len = code.chars().count();
        if len == 0 {
            return Err(IdError::Empty);
        }
        if len != 18 {
            return Err(IdError::Length(len));
        }
        let bytes = code.as_bytes();
        let mut sum = 0u32;
        for (i, &b) in bytes.iter().enumerate() {
            let Some(v) = USCC_ALPHABET.iter().position(|&a| a == b) else {
                return Err(IdError::Character {
                    pos: i + 1,
                    ch: code.chars().nth(i).unwrap_or('?'),
                });
            };
            if i < 17 {
                sum += v as u32 * USCC_WEIGHTS[i];
            }
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(IdError::DivisionNotDigits);
        }
        let expected = uscc_check_char(&bytes[..17]);
        debug_assert_eq!(
            expected,
            USCC_ALPHABET[((31 - sum % 31) % 31) as usize] as char
        );
        let actual = bytes[17] as char;
        if expected != actual {
            return Err(IdError::Checksum {
                expected,
                actual,
                document: "营业执照（统一社会信用代码证书）",
            });
        }
        Ok(())
    }

    /// Trusts a code read back from the store (it was parsed before it was written).
    pub fn from_trusted(code: &str) -> Option<Uscc> {
        Self::check_structure(code)
            .ok()
            .map(|_| Uscc(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Positions 3–8: the registering authority's division.
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
    /// Positions 1–2: registration authority and organisation category.
    pub fn category_pair(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The USCC check character of 17 characters from the USCC alphabet (GB 32100: weights 3^(i-1) mod 31).
pub fn uscc_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(b, w)| USCC_ALPHABET.iter().position(|a| a == b).unwrap_or(0) as u32 * w)
        .sum();
    USCC_ALPHABET[((31 - sum % 31) % 31) as usize] as char
}

/// The GB 11714 check character of an organisation code's first 8 characters.
pub fn org_code_check(first8: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    for (b, w) in first8.iter().zip(ORG_WEIGHTS) {
        let v = (*b as char).to_digit(36)?;
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10)?,
    })
}

/// An 18-character resident ID number with a real birth date and a valid check character.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl fmt::Debug for ResidentId {
    // Never print a full ID number by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl ResidentId {
    /// Parses after normalisation; `today` bounds the birth date.
    pub fn parse(
        input: &str,
        rules: &IdRules,
        today: NaiveDate,
    ) -> Result<(ResidentId, Option<Suspicion>), IdError> {
        let id = normalize(input);
        let len = id.chars().count();
        if len == 0 {
            return Err(IdError::Empty);
        }
        if len != 18 {
            return Err(IdError::Length(len));
        }
        let bytes = id.as_bytes();
        if let Some(i) = bytes[..17].iter().position(|b| !b.is_ascii_digit()) {
            return Err(IdError::Character {
                pos: i + 1,
                ch: id.chars().nth(i).unwrap_or('?'),
            });
        }
        if !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(IdError::Character {
                pos: 18,
                ch: id.chars().nth(17).unwrap_or('?'),
            });
        }
        let expected = ric_check_char(&bytes[..17]);
        if expected != bytes[17] as char {
            return Err(IdError::Checksum {
                expected,
                actual: bytes[17] as char,
                document: "居民身份证",
            });
        }
        let birth = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d")
            .map_err(|_| IdError::BirthDate(id[6..14].to_string()))?;
        if birth > today {
            return Err(IdError::BirthInFuture(birth));
        }
        let area = &id[..6];
        let assigned = rules.areas.assigned_in(birth.year());
        let suspicion = match rules.areas.spans(area) {
            None => Some(Suspicion::UnknownArea(area.to_string())),
            Some(_) if !rules.areas.in_force_near(area, assigned) => {
                Some(Suspicion::AreaNotInForce {
                    code: area.to_string(),
                    year: assigned,
                })
            }
            Some(_) => None,
        };
        Ok((ResidentId(id), suspicion))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn area(&self) -> &str {
        &self.0[..6]
    }
    pub fn birth_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").ok()
    }
    /// Masked for anyone but the subject and authorised officers: area code, then asterisks, then
    /// the last four characters (320902********1234).
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

/// Masks any ID number: keeps the first six and last four characters of 18, less for short ones.
/// Free text (a note, a decision's content) with every resident ID number in it masked as
/// [`mask_id_number`] masks one: 18 characters standing alone (no digit either side), a
/// province's code first and a birth date that is a date — whatever the check character (a
/// mistyped one is still someone's number); written in groups too (320928 19951212 333X, with
/// spaces or hyphens); in full-width digits too; or the first-generation 15 digits standing
/// alone, a province's code first and a date (YYMMDD of the 1900s) at the seventh, unless it is
/// the whole value or the text names it a code (注册号, 编号) just before. Borrowed when there is
/// none.
pub fn mask_ids_in(text: &str) -> std::borrow::Cow<'_, str> {
    // Full-width digits (typed in Chinese input mode) are digits, and the spaces, dashes and
    // invisible characters people split or hide a number with are separators: looked for in a
    // folded copy, and the masks put into the text as written (nothing else of it changes).
    masked_at(text, id_spans)
}

/// `text` with the spans `find` gives (start, end, what to show) replaced: found in the folded
/// copy when the text needs folding, their places mapped back to the text as written.
fn masked_at(
    text: &str,
    find: fn(&str) -> Vec<(usize, usize, String)>,
) -> std::borrow::Cow<'_, str> {
    if !may_hold_a_number(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    masked_found(text, find)
}

/// Whether `text` holds as many digits as the shortest number masked (a mobile's eleven).
/// Every payload value of every credit file read passes here, and most (names, dates, amounts,
/// 文书号) hold fewer: they are left without folding or searching.
pub fn may_hold_a_number(text: &str) -> bool {
    digits_at_least(text, 11)
}

/// `masked_at` without the digit count (its caller made it).
fn masked_found(
    text: &str,
    find: fn(&str) -> Vec<(usize, usize, String)>,
) -> std::borrow::Cow<'_, str> {
    let folded = folded_for_numbers(text);
    let (searched, map) = match &folded {
        Some(f) => (f.text.as_str(), Some(&f.map)),
        None => (text, None),
    };
    let spans = find(searched);
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let at = |i: usize| map.map_or(i, |m| m.get(i).copied().unwrap_or(text.len()));
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (start, end, shown) in spans {
        let (start, end) = (at(start), at(end));
        if start < done {
            continue;
        }
        out.push_str(&text[done..start]);
        out.push_str(&shown);
        done = end;
    }
    out.push_str(&text[done..]);
    std::borrow::Cow::Owned(out)
}

/// Whether `text` holds at least `n` digits, ASCII or full-width (U+FF10–FF19: EF BC 90–99 in
/// UTF-8) — the digits [`folded_for_numbers`] reads.
fn digits_at_least(text: &str, n: usize) -> bool {
    let b = text.as_bytes();
    // Counted whole first (a loop the compiler vectorises): enough ASCII digits decide, and so
    // does a text without enough lead bytes of full-width forms (0xEF) to make up the rest.
    let ascii = b.iter().filter(|c| c.is_ascii_digit()).count();
    if ascii >= n {
        return true;
    }
    if ascii + b.iter().filter(|&&c| c == 0xEF).count() < n {
        return false;
    }
    let mut count = 0;
    for (i, &c) in b.iter().enumerate() {
        let digit = c.is_ascii_digit()
            || (c == 0xEF
                && b.get(i + 1) == Some(&0xBC)
                && b.get(i + 2).is_some_and(|d| (0x90..=0x99).contains(d)));
        if digit {
            count += 1;
            if count >= n {
                return true;
            }
        }
    }
    false
}

/// A character that separates the groups of a number as people write one — a space of any
/// width, a dash of any length, a middle dot, a line break or tab — or hides inside it (the
/// invisible format characters: zero-width spaces and joiners, direction marks, soft hyphen,
/// variation selectors): read as one plain space or hyphen when numbers are looked for.
fn number_separator(c: char) -> Option<char> {
    match c {
        // Invisible: read as nothing, so that one inside a number does not split it.
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{AD}'
        | '\u{34F}'
        | '\u{61C}'
        | '\u{180E}'
        | '\u{FE00}'..='\u{FE0F}' => Some('\0'),
        // A tab is a table's, not a number's: kept (a phone is not typed with tabs).
        ' '
        | '\n'
        | '\r'
        | '\u{A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}'
        | '\u{B7}'
        | '\u{30FB}'
        | '\u{FF65}' => Some(' '),
        '-' | '\u{FF0D}' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => {
            Some('-')
        }
        _ => None,
    }
}

/// A text folded for looking for numbers, and for each of its bytes the offset of the
/// character it came from in the text as written (one more entry: the text's end).
struct Folded {
    text: String,
    map: Vec<usize>,
}

/// The text with full-width digits (and X, and ．／＿) folded to ASCII and every run of
/// [`number_separator`]s read as one plain space or hyphen — when it needs it (None: it holds
/// no full-width digit and no separator other than single spaces and hyphens after a digit).
/// Every payload value passes here: most are left as they are.
fn folded_for_numbers(text: &str) -> Option<Folded> {
    let wide = |c: char| matches!(c, '\u{FF10}'..='\u{FF19}' | '\u{FF38}' | '\u{FF58}');
    let mut after_digit = false;
    let mut prev_sep = false;
    let wide_punct = |c: char| matches!(c, '\u{FF0E}' | '\u{FF0F}' | '\u{FF3F}');
    let wanted = text.chars().any(|c| {
        let sep = number_separator(c);
        let hit = wide(c)
            || (after_digit && (wide_punct(c) || sep.is_some_and(|f| f != c)))
            || (prev_sep && sep.is_some());
        prev_sep = after_digit && sep.is_some();
        after_digit = c.is_ascii_digit() || wide(c);
        hit
    });
    if !wanted {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    let mut last_sep = false;
    for (o, c) in text.char_indices() {
        let folded = match c {
            c if wide(c) => Some(crate::text::fold_width(c)),
            '\u{FF0E}' => Some('.'),
            '\u{FF0F}' => Some('/'),
            '\u{FF3F}' => Some('_'),
            _ => None,
        };
        if let Some(f) = folded {
            out.push(f);
            map.push(o);
            last_sep = false;
        } else if number_separator(c) == Some('\0') {
            // Invisible: nothing in the copy; a mask over its neighbours covers it.
        } else if let Some(sep) = number_separator(c) {
            // A run of separators is one: its first stands for it, the rest fall inside the
            // span a mask replaces.
            if !last_sep {
                out.push(sep);
                map.push(o);
            }
            last_sep = true;
        } else {
            let start = out.len();
            out.push(c);
            map.extend((0..out.len() - start).map(|k| o + k));
            last_sep = false;
        }
    }
    map.push(text.len());
    Some(Folded { text: out, map })
}

/// Free text as the public may see it: resident ID numbers (`mask_ids_in`) and mobile phone
/// numbers (`mask_phones_in`) masked. Borrowed when there is neither.
pub fn mask_personal_in(text: &str) -> std::borrow::Cow<'_, str> {
    if !may_hold_a_number(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let shown = match masked_found(text, id_spans) {
        std::borrow::Cow::Borrowed(t) => masked_found(t, phone_spans),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(mask_phones_in(&t).into_owned()),
    };
    match shown {
        std::borrow::Cow::Borrowed(t) => masked_found(t, card_spans),
        std::borrow::Cow::Owned(t) => {
            std::borrow::Cow::Owned(masked_found(&t, card_spans).into_owned())
        }
    }
}

/// Bank card and account numbers in an ASCII-folded text: 16 to 19 digits standing alone that
/// pass the Luhn check, named a card or an account just before them (银行卡, 卡号, 账号, 账户,
/// 开户): the first six and the last four digits kept. A financial account is sensitive personal
/// information (个人信息保护法 Art. 28); a number no card or account names is left (a code).
fn card_spans(text: &str) -> Vec<(usize, usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        // Digits, in groups of three or more split by one space or hyphen (6222 0212 3456 …),
        // as a card is often typed.
        let (mut j, mut digits) = (i, Vec::with_capacity(19));
        loop {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                digits.push(b[j]);
                j += 1;
            }
            let more = matches!(b.get(j), Some(b' ' | b'-'))
                && b.get(j + 1).is_some_and(u8::is_ascii_digit)
                && j - start >= 3
                && digits.len() < 19;
            if !more {
                break;
            }
            j += 1;
        }
        let alone = j == b.len() || !b[j].is_ascii_alphanumeric();
        if alone && (16..=19).contains(&digits.len()) && luhn(&digits) && names_an_account(text, i)
        {
            let d = String::from_utf8_lossy(&digits).into_owned();
            let shown = format!(
                "{}{}{}",
                &d[..6],
                "*".repeat(d.len() - 10),
                &d[d.len() - 4..]
            );
            out.push((i, j, shown));
        }
        i = j.max(i + 1);
    }
    out
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(k, d)| {
            let d = u32::from(d - b'0');
            if k % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether the clause before `start` (back to the last comma or stop, at most 30 bytes) names a
/// card or an account.
fn names_an_account(text: &str, start: usize) -> bool {
    let before = &text[text.floor_char_boundary(start.saturating_sub(30))..start];
    let clause = before
        .rfind([',', '，', '。', '；', ';', '、', '\n'])
        .map_or(before, |i| &before[i..]);
    ["卡", "账号", "账户", "开户"]
        .iter()
        .any(|w| clause.contains(w))
}

/// Mainland mobile numbers in free text (a party's or a witness's 联系电话 written into the
/// facts of a case) masked as the 个人信息保护法 asks of what is published: the first three and
/// the last four digits kept, `139****5678`. Eleven digits, 1 then 3–9, standing alone (no
/// digit, letter or decimal point against them), written whole or grouped 3-4-4 by spaces or
/// hyphens, with +86 or 86 before them or not; in full-width digits too (typed in Chinese input
/// mode: folded, as shown once masked). Not a number its own clause names a code just before
/// it (许可编号13912345678), unless it also names a phone (电话, 手机, 联系).
/// Landline numbers are left: a unit's or a business's published number is most of them.
pub fn mask_phones_in(text: &str) -> std::borrow::Cow<'_, str> {
    masked_at(text, phone_spans)
}

/// Whether the clause a number stands in (back to the last comma or stop) names it a code —
/// 编号, 注册号, 文号, 账号 … — and not a phone.
fn named_a_code(text: &str, start: usize) -> bool {
    // The 30 bytes before it — and only what follows a 身份证号 or 证件号 there, which name an
    // ID number, not a code (their 证号); looked for 10 bytes further back, lest the window cut
    // them.
    let wide = &text[text.floor_char_boundary(start.saturating_sub(40))..start];
    let after_id = ["身份证号", "证件号"]
        .iter()
        .filter_map(|w| wide.rfind(w).map(|i| i + w.len()))
        .max()
        .unwrap_or(0);
    let before = &wide[wide.ceil_char_boundary(after_id.max(wide.len().saturating_sub(30)))..];
    let clause = before
        .rfind([',', '，', '。', '；', ';', '、', '\n'])
        .map_or(before, |i| &before[i..]);
    !["电话", "手机", "联系"].iter().any(|w| clause.contains(w))
        && [
            "编号",
            "注册号",
            "注册码",
            "文号",
            "合同号",
            "账号",
            "账户",
            "证号",
            "许可证",
            "证书",
            "批号",
            "案号",
        ]
        .iter()
        .any(|w| clause.contains(w))
}

/// The mobile numbers in an ASCII-folded text: (start, end, shown masked).
fn phone_spans(text: &str) -> Vec<(usize, usize, String)> {
    let b = text.as_bytes();
    if b.len() < 11 {
        return Vec::new();
    }
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    // Spaces and hyphens group a number any way; a dot, slash or underscore only as a number
    // reads (139.1234.5678): otherwise they are an address's, a path's or a decimal's.
    let sep = |i: usize| matches!(b.get(i), Some(b' ' | b'-'));
    let punct = |i: usize| matches!(b.get(i), Some(b'.' | b'/' | b'_'));
    // What may not touch a number: another digit or letter (a code, a hash), or a decimal point
    // with a digit beyond it (an amount); a country code may.
    let touches_before = |i: usize| {
        let alone = |k: usize| k == 0 || !b[k - 1].is_ascii_alphanumeric();
        let word = |w: &[u8]| i >= w.len() && b[i - w.len()..i].eq_ignore_ascii_case(w);
        let prefixed = (word(b"86") && alone(i - 2))
            || (word(b"0086") && alone(i - 4))
            || [&b"tel"[..], b"mobile", b"phone", b"mob", b"cell"]
                .iter()
                .any(|w| word(w) && alone(i - w.len()));
        i > 0
            && !prefixed
            && (b[i - 1].is_ascii_alphanumeric()
                || (i > 1 && b[i - 1] == b'.' && b[i - 2].is_ascii_digit()))
    };
    let touches_after = |i: usize| {
        b.get(i).is_some_and(u8::is_ascii_alphanumeric) || (b.get(i) == Some(&b'.') && digit(i + 1))
    };
    let mut found: Vec<(usize, usize, [u8; 11])> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'1' || touches_before(i) {
            i += 1;
            continue;
        }
        // Eleven digits, whole or in up to four groups however split (3-4-4, 4-3-4, 3-8,
        // 1-3-3-4 …) by single spaces or hyphens; a run that goes on past them is a longer
        // number. With dots, slashes or underscores: 3-4-4 only.
        // Split by spaces (a tab, a line break read as one), every group holds three digits at
        // least: "1 53 1845 3320" is a table's row, not a phone.
        let (mut j, mut digits, mut seps, mut group, mut short) = (i, 0, 0, 0, false);
        while digits < 11 {
            if digit(j) {
                digits += 1;
                group += 1;
                j += 1;
            } else if seps < 3 && sep(j) && digit(j - 1) && digit(j + 1) {
                short |= b[j] == b' ' && group < 3;
                seps += 1;
                group = 0;
                j += 1;
            } else {
                break;
            }
        }
        short |= seps > 0 && group < 3 && b.get(j - group - 1) == Some(&b' ');
        if short {
            i += 1;
            continue;
        }
        let dotted = digits < 11
            && (i..i + 3).all(digit)
            && punct(i + 3)
            && (i + 4..i + 8).all(digit)
            && b.get(i + 8) == b.get(i + 3)
            && (i + 9..i + 13).all(digit)
            && !digit(i + 13)
            && !(punct(i + 13) && digit(i + 14));
        if dotted {
            (j, digits, seps) = (i + 13, 11, 2);
        }
        let end = j;
        // An amount (…元, …万元) is no phone, however its figures are grouped.
        let money = text
            .get(end..)
            .is_some_and(|rest| rest.trim_start().starts_with(['元', '万', '亿']));
        if digits < 11 || money || ((sep(end) || punct(end)) && digit(end + 1) && seps > 0) {
            i += 1;
            continue;
        }
        let mut d = [0u8; 11];
        let mut n = 0;
        for &c in &b[i..end] {
            if c.is_ascii_digit() {
                d[n] = c;
                n += 1;
            }
        }
        if (b'3'..=b'9').contains(&d[1]) && !touches_after(end) && !named_a_code(text, i) {
            found.push((i, end, d));
            i = end;
        } else {
            i += 1;
        }
    }
    found
        .into_iter()
        .map(|(start, end, d)| {
            let shown = format!(
                "{}****{}",
                std::str::from_utf8(&d[..3]).unwrap_or_default(),
                std::str::from_utf8(&d[7..]).unwrap_or_default()
            );
            (start, end, shown)
        })
        .collect()
}

/// The province-level codes (GB/T 2260) an ID number's area code starts with.
const PROVINCES: [&[u8; 2]; 34] = [
    b"11", b"12", b"13", b"14", b"15", b"21", b"22", b"23", b"31", b"32", b"33", b"34", b"35",
    b"36", b"37", b"41", b"42", b"43", b"44", b"45", b"46", b"50", b"51", b"52", b"53", b"54",
    b"61", b"62", b"63", b"64", b"65", b"71", b"81", b"82",
];

/// An 18-character number that reads as a resident ID: a province's code first, a birth date
/// (1900 to 2100) at the seventh character, and its check character right — or, with a wrong
/// one (a mistyped number is still someone's), named as an ID number just before it (身份证,
/// 证件): an area code, a date and a serial is also how offices number their documents.
fn reads_as_id18(d: &[u8], text: &str, start: usize) -> bool {
    // Residents' numbers; Taiwan residents' residence permits (83…); foreigners' permanent
    // residence IDs of 2023 (9, then the issuing province's code).
    let province = PROVINCES.iter().any(|p| d[..2] == p[..])
        || &d[..2] == b"83"
        || (d[0] == b'9' && PROVINCES.iter().any(|p| d[1..3] == p[..]));
    let dated = std::str::from_utf8(&d[6..14])
        .ok()
        .and_then(|x| NaiveDate::parse_from_str(x, "%Y%m%d").ok())
        .is_some_and(|x| (1900..=2100).contains(&x.year()));
    province
        && dated
        && (ric_check_char(&d[..17]) == d[17].to_ascii_uppercase() as char
            || named_an_id(text, start))
}

/// The first seventeen characters of a resident ID: digits, a province's code first (or 83, or
/// 9 and a province), a birth date from 1900 to 2100 at the seventh.
fn id_body(d: &[u8]) -> bool {
    d.len() >= 17
        && d[..17].iter().all(u8::is_ascii_digit)
        && (PROVINCES.iter().any(|p| d[..2] == p[..])
            || &d[..2] == b"83"
            || (d[0] == b'9' && PROVINCES.iter().any(|p| d[1..3] == p[..])))
        && std::str::from_utf8(&d[6..14])
            .ok()
            .and_then(|x| NaiveDate::parse_from_str(x, "%Y%m%d").ok())
            .is_some_and(|x| (1900..=2100).contains(&x.year()))
}

/// Whether the text names the number at `start` an ID number just before it, in its clause.
fn named_an_id(text: &str, start: usize) -> bool {
    label_before(text, start) == Some(Label::Id)
}

#[derive(Debug, PartialEq, Eq)]
enum Label {
    Code,
    Id,
}

/// What the nearest label before the number at `start`, in its clause, names it: a code (注册号,
/// 编号, 文号, 账号) or an ID number (身份证, 证件).
fn label_before(text: &str, start: usize) -> Option<Label> {
    let from = text.floor_char_boundary(start.saturating_sub(60));
    let before = &text[from..start];
    let before = before
        .rfind(['。', '；', ';', '\n'])
        .map_or(before, |i| &before[i..]);
    let nearest = |words: &[&str]| words.iter().filter_map(|w| before.rfind(w)).max();
    let id = nearest(&["身份证", "证件", "身份号码", "公民", "当事人", "法定代表人"]);
    // An account's label names the number only in its own part of the sentence, and never
    // against an ID's label: "（身份证及银行账户）…" is still an ID number.
    let part = before.rfind(['，', ',']).map_or(before, |i| &before[i..]);
    let account = if id.is_none() {
        ["账号", "帐号", "账户", "卡号"]
            .iter()
            .filter_map(|w| part.rfind(w))
            .max()
            .map(|i| i + (before.len() - part.len()))
    } else {
        None
    };
    let code = nearest(&[
        "注册号",
        "注册码",
        "编号",
        "工商",
        "营业执照",
        "文号",
        "合同号",
        "许可证",
        "证书",
        "批号",
        "决定书",
        "批复",
        "案号",
    ])
    .max(account);
    match (code, id) {
        (None, None) => None,
        (c, i) if c > i => Some(Label::Code),
        _ => Some(Label::Id),
    }
}

/// The resident ID numbers in an ASCII-folded text: (start, end, shown masked).
fn id_spans(text: &str) -> Vec<(usize, usize, String)> {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let x_end =
        |i: usize| matches!(b.get(i), Some(b'X' | b'x')) && i > 0 && digit(i - 1) && !digit(i + 1);
    // A character of a number: a digit, or an X closing a run of digits.
    let part = |i: usize| digit(i) || x_end(i);
    let sep = |i: usize| matches!(b.get(i), Some(b' ' | b'-' | b'.' | b'/' | b'_'));
    // (start, end, the number's characters).
    let mut found: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    // Every payload value of every credit file passes here: probe every 7th byte, since a group
    // of 8 digits (the birth date of a number written in groups) must hold one of them, and
    // look closer only where a probe is a digit.
    let mut p = 6;
    while p < b.len() {
        // A separator between digits is a probe's hit too: a number grouped in sixes puts one
        // every seventh byte, where every probe could land.
        if !(b[p].is_ascii_digit() || (sep(p) && digit(p - 1) && digit(p + 1))) {
            p += 7;
            continue;
        }
        // The span around it: groups of digits joined by single spaces or hyphens.
        let mut start = p;
        loop {
            while start > 0 && part(start - 1) {
                start -= 1;
            }
            if start >= 2 && sep(start - 1) && part(start - 2) {
                start -= 1;
                continue;
            }
            break;
        }
        let mut end = p;
        loop {
            while part(end) {
                end += 1;
            }
            if sep(end) && digit(end + 1) {
                end += 1;
                continue;
            }
            break;
        }
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut g = start;
        for i in start..=end {
            if i == end || sep(i) {
                groups.push((g, i));
                g = i + 1;
            }
        }
        for (k, &(gs, ge)) in groups.iter().enumerate() {
            let w = &b[gs..ge];
            // Without a check digit, a 15-digit run may also be an old 工商注册号: failing safe,
            // it is masked unless it is the whole value or named as a code.
            if w.len() == 15
                && w.iter().all(u8::is_ascii_digit)
                && first_generation_id(w)
                && !a_code(text, gs)
            {
                found.push((gs, ge, w.to_vec()));
            }
            if w.len() == 18 && reads_as_id18(w, text, gs) {
                found.push((gs, ge, w.to_vec()));
            }
            // Seventeen digits named an ID number: one with its check character left off, which
            // anyone can compute.
            if w.len() == 17 && named_an_id(text, gs) && id_body(w) {
                found.push((gs, ge, w.to_vec()));
            }
            // Written in groups, however grouped (6-8-4 as the number reads, 4-4-4-4-2 as a
            // card's number is, 6-4-4-4, …): consecutive groups that make 18 characters, or
            // the 15 digits of a first-generation number — all the groups there are, unless
            // the text names the number an ID (part of a longer grouped number, a bank card's
            // or an account's, is no ID number).
            let mut joined: Vec<u8> = w.to_vec();
            for &(gs2, ge2) in groups.iter().skip(k + 1) {
                if joined.len() >= 18 {
                    break;
                }
                joined.extend_from_slice(&b[gs2..ge2]);
                // Eighteen characters with their check character right are an ID number
                // wherever they stand (two numbers in a row, one before a phone number); the
                // fifteen digits of the first generation, which have none, only as all the
                // groups there are or where the text names them an ID.
                if joined.len() == 18 && reads_as_id18(&joined, text, gs) {
                    found.push((gs, ge2, joined.clone()));
                }
                // Seventeen in groups, all there are, named an ID number.
                if joined.len() == 17 && ge2 == end && named_an_id(text, gs) && id_body(&joined) {
                    found.push((gs, ge2, joined.clone()));
                }
                if joined.len() == 15
                    && ((k == 0 && ge2 == end) || named_an_id(text, gs))
                    && joined.iter().all(u8::is_ascii_digit)
                    && first_generation_id(&joined)
                    && !a_code(text, gs)
                {
                    found.push((gs, ge2, joined.clone()));
                }
            }
        }
        p = end + 7;
    }
    found.sort_by_key(|f| f.0);
    let mut at = 0;
    let mut out = Vec::with_capacity(found.len());
    for (start, end, number) in found {
        if start < at {
            continue;
        }
        out.push((
            start,
            end,
            mask_id_number(&String::from_utf8_lossy(&number)),
        ));
        at = end;
    }
    out
}

/// Whether the 15-digit run at `start` is a code, not an ID number: the whole value (a code item;
/// an ID number item is never shown), or the nearest label before it in its clause names a code
/// (注册号, 编号), not an ID number (身份证, 证件).
fn a_code(text: &str, start: usize) -> bool {
    text.trim().len() == 15 || label_before(text, start) == Some(Label::Code)
}

/// The first-generation number (GB 11643-1989, valid until 2013 and still written in old
/// files): 15 digits, a province-level code (11 to 82) first, then the birth date as YYMMDD of
/// the 1900s. It has no check digit; the province and the date set it apart from most 15-digit
/// numbers, though not from an old business registration number (see [`a_code`]).
fn first_generation_id(d: &[u8]) -> bool {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        std::str::from_utf8(d.get(r)?).ok()?.parse().ok()
    };
    let province = num(0..2).is_some_and(
        |p| matches!(p, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82),
    );
    let dated = match (num(6..8), num(8..10), num(10..12)) {
        (Some(y), Some(m), Some(day)) => NaiveDate::from_ymd_opt(1900 + y as i32, m, day).is_some(),
        _ => false,
    };
    d.len() == 15 && province && dated
}

pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    let (head, tail) = if n >= 18 {
        (6, 4)
    } else if n >= 8 {
        (2, 2)
    } else {
        (0, 0)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

/// Whether `value` as a whole is shaped as an 18-digit resident ID number: 17 digits and the
/// right GB 11643 check character (the date and area are not judged: shown masked when in
/// doubt).
pub fn shaped_as_resident_id(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && b[17].to_ascii_uppercase() as char == ric_check_char(&b[..17])
}

/// A document number (文号) with the resident ID numbers of people of age written into it
/// masked. A 文号 is not searched as free text is: 320902202403150006 numbers a decision by
/// area, date and serial, and is shaped as an ID number of someone born on the decision's day.
/// So an ID-shaped run is masked only if it would be a person at least 14 on `decided_on` —
/// the age below which no administrative penalty is given (行政处罚法 第三十条) — and a
/// decision's own date never is.
pub fn mask_adult_ids_in(text: &str, decided_on: NaiveDate) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let id_char = |c: u8| c.is_ascii_digit() || c == b'X' || c == b'x';
    let mut out: Option<String> = None;
    let mut done = 0;
    let mut i = 0;
    while i < b.len() {
        if !id_char(b[i]) || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && id_char(b[i]) {
            i += 1;
        }
        let run = &text[start..i];
        let alone = i == b.len() || !b[i].is_ascii_alphanumeric();
        let adult = alone
            && shaped_as_resident_id(run)
            && NaiveDate::parse_from_str(&run[6..14], "%Y%m%d")
                .ok()
                .and_then(|born| born.checked_add_months(chrono::Months::new(14 * 12)))
                .is_some_and(|fourteen| fourteen <= decided_on);
        if adult {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[done..start]);
            o.push_str(&mask_id_number(run));
            done = i;
        }
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[done..]);
            std::borrow::Cow::Owned(o)
        }
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// The GB 11643 check character of the first 17 digits.
pub fn ric_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(RIC_WEIGHTS)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    RIC_CHECK[(sum % 11) as usize] as char
}

/// A verdict with its reason, as `xinyong ids validate` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCheck {
    pub kind: IdKind,
    pub verdict: Verdict,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Uscc,
    ResidentId,
    Unknown,
}

/// Judges an identifier of unknown kind. An 18-character code of 17 digits and a digit or X may be
/// either; a code that parses as a resident ID is one, else a valid USCC is one, else a code whose
/// digits 7–14 are a birth date is a resident ID with an error, else the USCC's structure and then
/// the birth-century digits (positions 7–8) decide whose error is reported.
pub fn check_any(input: &str, rules: &IdRules, today: NaiveDate) -> IdCheck {
    let n = normalize(input);
    let b = n.as_bytes();
    let ric_shaped = b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17] == b'X' || b[17].is_ascii_digit());
    // Fifteen digits with a province and a 1900s date: the first-generation ID number, not a
    // short USCC (whose reason would send the operator looking for the wrong thing).
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) && first_generation_id(b) {
        return IdCheck {
            kind: IdKind::ResidentId,
            verdict: Verdict::Invalid,
            reason: "15位的第一代居民身份证号码（已于2013年停止使用）：请换用18位公民身份号码"
                .into(),
        };
    }
    if !ric_shaped {
        // A birth date where a resident ID has it, in a code of digits but for one character or
        // of the wrong length (17 digits, a letter typed for a digit): a person's number
        // mistyped, told as such — not sent to look at a business licence.
        let birth_at = n.is_ascii()
            && n.len() >= 14
            && n[..14]
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_alphabetic())
            && n[6..14].bytes().all(|c| c.is_ascii_digit())
            && matches!(&n[6..8], "18" | "19" | "20")
            && NaiveDate::parse_from_str(&n[6..14], "%Y%m%d").is_ok_and(|d| d <= today);
        let others = b.iter().take(17).filter(|c| !c.is_ascii_digit()).count();
        if birth_at
            && others <= 1
            && (16..=19).contains(&b.len())
            && check_uscc(input, rules).verdict != Verdict::Valid
        {
            return check_resident_id(input, rules, today);
        }
        return check_uscc(input, rules);
    }
    if ResidentId::parse(&n, rules, today).is_ok() {
        return check_resident_id(input, rules, today);
    }
    let as_uscc = check_uscc(input, rules);
    if as_uscc.verdict == Verdict::Valid {
        return as_uscc;
    }
    // Digits 7–14 that make a birth date: a resident ID with a typo is far likelier than a
    // USCC that fails its own checks (about one mistyped ID in 31 passes the USCC check
    // character, and Jiangsu's 32… is also a USCC category pair).
    let birth = NaiveDate::parse_from_str(&n[6..14], "%Y%m%d")
        .is_ok_and(|d| matches!(&n[6..8], "18" | "19" | "20") && d <= today);
    if birth {
        return check_resident_id(input, rules, today);
    }
    if Uscc::check_structure(&n).is_ok() {
        return as_uscc;
    }
    if matches!(&n[6..8], "18" | "19" | "20") {
        check_resident_id(input, rules, today)
    } else {
        check_uscc(input, rules)
    }
}

pub fn check_uscc(input: &str, rules: &IdRules) -> IdCheck {
    let (verdict, reason) = match Uscc::parse(input, rules) {
        Ok((code, None)) => {
            let cat = rules.categories.get(code.category_pair());
            let reason = cat.map_or(String::new(), |c| {
                format!(
                    "{}·{}，登记机关区划{}",
                    c.authority,
                    c.category,
                    code.division()
                )
            });
            (Verdict::Valid, reason)
        }
        Ok((_, Some(s))) => (Verdict::Suspect, s.to_string()),
        Err(e) => (Verdict::Invalid, format!("统一社会信用代码{e}")),
    };
    IdCheck {
        kind: IdKind::Uscc,
        verdict,
        reason,
    }
}

pub fn check_resident_id(input: &str, rules: &IdRules, today: NaiveDate) -> IdCheck {
    let (verdict, reason) = match ResidentId::parse(input, rules, today) {
        Ok((id, None)) => {
            let birth = id.birth_date();
            let place = birth
                .and_then(|b| {
                    let year = rules.areas.assigned_in(b.year());
                    rules.areas.name_near(id.area(), year)
                })
                .unwrap_or("");
            (
                Verdict::Valid,
                format!(
                    "出生日期{}，发证地{}{}",
                    birth.map(|b| b.to_string()).unwrap_or_default(),
                    id.area(),
                    place
                ),
            )
        }
        Ok((_, Some(s))) => (Verdict::Suspect, s.to_string()),
        Err(e) => (Verdict::Invalid, format!("公民身份号码{e}")),
    };
    IdCheck {
        kind: IdKind::ResidentId,
        verdict,
        reason,
    }
}

#[cfg(test)]
mod normalize_tests {
    use super::{digits_at_least, mask_personal_in, mask_phones_in};

    #[test]
    fn bank_card_numbers_named_so_are_masked() {
        assert_eq!(
            mask_personal_in("备注：银行卡6222021234567890128，已缴清"),
            "备注：银行卡622202*********0128，已缴清"
        );
        assert_eq!(
            mask_personal_in("开户账号：6222021234567890128"),
            "开户账号：622202*********0128"
        );
        // Not named a card or account, or failing the check: left.
        let code = "许可编号6222021234567890128";
        assert_eq!(mask_personal_in(code), code);
        let bad = "银行卡6222021234567890123";
        assert_eq!(mask_personal_in(bad), bad);
        // Typed in groups.
        assert_eq!(
            mask_personal_in("卡号： 6222 0212 3456 7890 128"),
            "卡号： 622202*********0128"
        );
    }

    #[test]
    fn mobile_numbers_in_free_text_are_masked() {
        for (text, shown) in [
            ("联系电话13912345678。", "联系电话139****5678。"),
            ("电话：139 1234 5678，", "电话：139****5678，"),
            ("139-1234-5678", "139****5678"),
            ("+8613912345678", "+86139****5678"),
            ("电话8613912345670", "电话86139****5670"),
            ("１３９１２３４５６７８。", "139****5678。"),
            ("139\u{3000}1234\u{3000}5678", "139****5678"),
            ("139-1234 5671", "139****5671"),
            ("13912345678", "139****5678"),
            (
                "营业执照注册号320900000012345，负责人手机13912345678",
                "营业执照注册号320900000012345，负责人手机139****5678",
            ),
            (
                "经工商部门核查，当事人联系电话13912345678",
                "经工商部门核查，当事人联系电话139****5678",
            ),
            (
                "文号盐环罚〔2026〕1号，电话139 1234 5678",
                "文号盐环罚〔2026〕1号，电话139****5678",
            ),
            (
                "手机18800001111或15912345678",
                "手机188****1111或159****5678",
            ),
        ] {
            assert_eq!(mask_phones_in(text), shown, "{text}");
        }
        // Not a mobile number: too long or short, a code or hash, an amount, 1 then 0–2, mixed
        // separators.
        for text in [
            "139123456789",
            "1391234567",
            "91320900139123456789",
            "a13912345678",
            "13912345678b",
            "15034.80",
            "罚款13912345678.50元",
            "12912345678",
            "盐环罚〔2026〕09991号",
            "许可编号13912345678",
        ] {
            assert!(
                matches!(mask_phones_in(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
        // With ID numbers, both masked; nothing to mask borrows.
        let both = mask_personal_in("李四（身份证号320902198607226595，电话13912345678）");
        assert!(!both.contains("320902198607226595") && !both.contains("13912345678"));
        assert!(both.contains("139****5678"), "{both}");
        assert!(matches!(
            mask_personal_in("经查超标排放"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    use super::{mask_id_number, mask_ids_in, normalize, ric_check_char};

    #[test]
    fn full_width_codes_read_as_their_ascii_forms() {
        assert_eq!(
            normalize(" ９１３２０９００ｍａ１ｘ－ａ　"),
            "91320900MA1XA"
        );
        assert_eq!(
            normalize("３２０９０２１９９０１２３１００１ｘ"),
            "32090219901231001X"
        );
    }

    #[test]
    fn spreadsheet_text_markers_and_zero_width_characters_are_not_part_of_a_code() {
        for s in [
            "'91320900MA1XA",
            "=\"91320900MA1XA\"",
            "91320900MA1XA\u{200b}",
            "\t91320900MA1XA",
        ] {
            assert_eq!(normalize(s), "91320900MA1XA", "{s:?}");
        }
    }
    /// The digit count that lets most values pass unsearched counts full-width digits (and
    /// not the full-width punctuation that shares their lead byte), so a mobile typed in
    /// Chinese input mode is still found.
    #[test]
    fn the_digit_count_before_the_search_counts_full_width_digits() {
        assert!(!digits_at_least("处罚款39.2113万元（２０２６）", 11));
        assert!(digits_at_least("１３９１２３４５６７８", 11));
        assert!(digits_at_least("电话1３９１２３4５６７8", 11));
        assert!(!digits_at_least("（，）：１２３４５６７８９０", 11));
        assert_eq!(
            mask_personal_in("联系电话１３９１２３４５６７８。"),
            "联系电话139****5678。"
        );
        assert_eq!(
            mask_personal_in("联系电话1391234567。"),
            "联系电话1391234567。"
        );
    }

    /// The ways people split, or hide, a number in a sentence: each is masked (the reviewers'
    /// probes that leaked, every one of them).
    #[test]
    fn numbers_split_or_hidden_are_masked_too() {
        let id = "32090219850315123";
        let id = format!("{id}{}", ric_check_char(id.as_bytes()));
        let shown = mask_id_number(&id);
        let (a, b, c) = (&id[..6], &id[6..14], &id[14..]);
        for written in [
            format!("{a}.{b}.{c}"),
            format!("{a}/{b}/{c}"),
            format!("{a}_{b}_{c}"),
            format!("{a}\n{b}\n{c}"),
            format!("{a}\u{3000}{b}\u{3000}{c}"),
            format!("{a}\u{FF0D}{b}\u{FF0D}{c}"),
            format!("{a}\u{2014}{b}\u{2014}{c}"),
            format!("{}\u{200B}{}", &id[..10], &id[10..]),
            format!("{}\u{AD}{}", &id[..9], &id[9..]),
        ] {
            let text = format!("当事人身份证号{written}，已整改");
            let masked = mask_personal_in(&text).into_owned();
            assert!(masked.contains(&shown), "{written:?}: {masked}");
            assert!(!masked.contains(b), "{written:?}: {masked}");
        }
        // Its check character left off, where the text names it an ID number.
        let masked = mask_personal_in(&format!("身份证号码{}", &id[..17])).into_owned();
        assert!(!masked.contains(&id[6..14]), "{masked}");
        // With a wrong check character, in running text and not named a code.
        let wrong = format!("{}{}", &id[..17], if id.ends_with('0') { '1' } else { '0' });
        let masked = mask_personal_in(&format!("当事人（{wrong}）")).into_owned();
        assert!(!masked.contains(&wrong[6..14]), "{masked}");
        for phone in [
            "139 12345678",
            "1391 234 5678",
            "13912 345678",
            "1-391-234-5678",
            "139\u{2014}1234\u{2014}5678",
            "139.1234.5678",
            "1391234 5678",
            "139\u{200B}1234\u{200B}5678",
            "139\u{2009}1234\u{2009}5678",
            "139\u{2002}1234\u{2002}5678",
            "139\u{202F}1234\u{202F}5678",
            "139\r\n1234\r\n5678",
            "139\u{200E}1234\u{202C}5678",
            "139\u{2063}1234\u{34F}5678",
            "139\u{FE0F}12345678",
            "139 - 1234 - 5678",
            "139  1234  5678",
            "139\u{200B}\u{200B}1234\u{200B}5678",
            "139·1234·5678",
            "1\u{200B}3912345678",
            "13\u{200B}912345678",
            "1\u{2066}3912345678",
            "139．1234．5678",
        ] {
            let masked = mask_personal_in(&format!("联系电话{phone}。")).into_owned();
            assert_eq!(masked, "联系电话139****5678。", "{phone:?}");
        }
        for written in [
            format!("{a}\u{200E}{b}{c}"),
            format!("{a}\u{2009}{b}\u{2009}{c}"),
            format!("{a} - {b} - {c}"),
            format!("{a}\u{AD}\u{AD}{b}{c}"),
        ] {
            let masked = mask_personal_in(&format!("当事人身份证号{written}")).into_owned();
            assert_eq!(masked, format!("当事人身份证号{shown}"), "{written:?}");
        }
        for prefixed in ["008613912345678", "Tel13912345678", "+86 139 1234 5678"] {
            let masked = mask_personal_in(prefixed).into_owned();
            assert!(masked.ends_with("139****5678"), "{prefixed}: {masked}");
        }
        // After an ID number, a mobile is no code (身份证号 holds 证号); an ID hidden between
        // bidi isolates.
        let masked = mask_personal_in(&format!("身份证号：{id} 13912345678")).into_owned();
        assert_eq!(masked, format!("身份证号：{shown} 139****5678"));
        let masked = mask_personal_in(&format!("号码{a}\u{2066}{b}{c}\u{2069}止")).into_owned();
        assert_eq!(masked, format!("号码{shown}止"));
        // Grouped, with a wrong check character or without it, named an ID number.
        let masked = mask_personal_in(&format!("身份证号{a} {b} {}", &wrong[14..])).into_owned();
        assert!(!masked.contains(b), "{masked}");
        let masked = mask_personal_in(&format!("身份证号{a} {b} {}", &id[14..17])).into_owned();
        assert!(!masked.contains(b), "{masked}");
        // Only the number changes: the rest of the text stays as written (full-width figures,
        // slashes and stops included).
        let text =
            format!("当事人（身份证号{id}）处罚款１．５万元，并责令于２０２６／１２／３１前整改。");
        assert_eq!(
            mask_personal_in(&text),
            format!(
                "当事人（身份证号{shown}）处罚款１．５万元，并责令于２０２６／１２／３１前整改。"
            )
        );
        // What is no phone and no ID number stays: a date and an amount, a longer number, a
        // list, an address, a period, a path, a batch, permits and decisions numbered by area
        // code and date.
        for text in [
            "2026.11.05 罚款1.5万元",
            "编号139 1234 5678 9",
            "第1、3、5、7批 共13912345678.5元",
            "2026-03-05 10:30 第13号",
            "服务器IP地址139.224.10.100",
            "任职期间1998.10-2003.1",
            "证书号1391234567/8",
            "生产批号：1903 1512 345",
            "原文链接：https://www.yancheng.gov.cn/art/2024/2/21/art_1848_4112345.html",
            "核发施工许可证（320902202403150101）",
            "许可证号320902202403150101",
            "建字第320902202603150012号",
            "依据320902202603150012号规划批复核发",
            "射阳县\t1\t53\t1845\t3320",
            "第1\n391\n234\n5678",
            "全年罚没款总额139123456.78元",
            "150000000.00",
            "处13000-150000元罚款",
            "罚款150 2000 3600元",
            "序号\t金额\n150\t2000\t3600",
            "0515-88123456",
        ] {
            assert_eq!(mask_personal_in(text), text, "{text}");
        }
    }

    #[test]
    fn id_numbers_in_free_text_are_masked() {
        let id = "320902198503151234";
        let body = &id.as_bytes()[..17];
        let id = format!("{}{}", &id[..17], ric_check_char(body));
        let text = format!("申请人王小明（身份证号{id}）委托李华，电话13812345678，文号2026{id}0");
        let masked = mask_ids_in(&text);
        assert!(
            masked.starts_with(&format!("申请人王小明（身份证号{}）", mask_id_number(&id))),
            "{masked}"
        );
        // Part of a longer number: left as written.
        assert!(masked.ends_with(&format!("2026{id}0")), "{masked}");
        // A wrong check character is still someone's number; in full-width digits, or written
        // in groups, too. An 18-digit number that is no ID (no province, no date): left.
        // With a wrong check character it is masked where the text names it an ID number, and
        // left where it is not (an area code, a date and a serial also number documents).
        let wrong = format!("{}{}", &id[..17], if id.ends_with('0') { '1' } else { '0' });
        assert_eq!(
            mask_ids_in(&format!("身份证号：{wrong}")),
            format!("身份证号：{}", mask_id_number(&wrong))
        );
        assert_eq!(
            mask_ids_in(&format!("受理编号{wrong}")),
            format!("受理编号{wrong}")
        );
        assert_eq!(mask_ids_in(&wrong), wrong.as_str());
        // Typed in full-width mode with its spaces.
        let wide_spaced: String = format!("{}　{}　{}", &id[..6], &id[6..14], &id[14..])
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    char::from_u32(c as u32 + 0xFEE0).unwrap()
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(
            mask_ids_in(&format!("当事人{wide_spaced}")),
            format!("当事人{}", mask_id_number(&id))
        );
        // A Taiwan resident's residence permit (83…) and a foreigner's permanent residence ID
        // (9 and a province) are numbers of persons too.
        for body in ["83000019850304123", "93215619900101121"] {
            let n = format!("{body}{}", ric_check_char(body.as_bytes()));
            assert_eq!(
                mask_ids_in(&format!("居住证{n}")),
                format!("居住证{}", mask_id_number(&n))
            );
        }
        // An area code that is no province's (20…).
        let not_province = format!("20{}", &id[2..]);
        assert_eq!(
            mask_ids_in(&format!("证件号{not_province}")),
            format!("证件号{not_province}")
        );
        let wide: String = id
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
            .collect();
        assert_eq!(
            mask_ids_in(&format!("证号{wide}。")),
            format!("证号{}。", mask_id_number(&id))
        );
        for spaced in [
            format!("{} {} {}", &id[..6], &id[6..14], &id[14..]),
            format!("{}-{}-{}", &id[..6], &id[6..14], &id[14..]),
            // As a card's number is grouped, and as the area and then fours.
            format!(
                "{} {} {} {} {}",
                &id[..4],
                &id[4..8],
                &id[8..12],
                &id[12..16],
                &id[16..]
            ),
            format!("{} {} {} {}", &id[..6], &id[6..10], &id[10..14], &id[14..]),
        ] {
            assert_eq!(
                mask_ids_in(&format!("当事人（{spaced}）到场")),
                format!("当事人（{}）到场", mask_id_number(&id))
            );
        }
        assert_eq!(
            mask_ids_in("订单号990000000000000001"),
            "订单号990000000000000001"
        );
        // A first-generation number in groups; a bank card's 19 digits are not an ID number.
        assert_eq!(
            mask_ids_in("当事人 320902 850315 123 到场"),
            format!("当事人 {} 到场", mask_id_number("320902850315123"))
        );
        assert_eq!(
            mask_ids_in("账号 6222 0212 3456 7890 123"),
            "账号 6222 0212 3456 7890 123"
        );
        // Nor is part of one that reads as a first-generation number (3209 0185 0315 123).
        for account in ["账号 6222 3209 0185 0315 123", "账号 110 9005 0092 0001"] {
            assert_eq!(mask_ids_in(account), account);
        }
        // Two grouped numbers in a row, one before a phone number or after a date: each is
        // masked; so is a first-generation number after an account's label in another part of
        // the sentence, or next to an ID's label.
        let other = {
            let b = "32090219700101002";
            format!("{b}{}", ric_check_char(b.as_bytes()))
        };
        let grouped = |n: &str| format!("{} {} {}", &n[..6], &n[6..14], &n[14..]);
        for (text, masked) in [
            (
                format!("当事人王五、赵六 {} {}", grouped(&id), grouped(&other)),
                format!(
                    "当事人王五、赵六 {} {}",
                    mask_id_number(&id),
                    mask_id_number(&other)
                ),
            ),
            (
                format!("王五 {} 13912345678", grouped(&id)),
                format!("王五 {} 13912345678", mask_id_number(&id)),
            ),
            (
                format!("2026-05-03 {}", grouped(&id)),
                format!("2026-05-03 {}", mask_id_number(&id)),
            ),
            (
                "开立银行账户，涉案人员王五 320902850315123".to_string(),
                format!(
                    "开立银行账户，涉案人员王五 {}",
                    mask_id_number("320902850315123")
                ),
            ),
            (
                "（身份证及银行账户）320902850315123".to_string(),
                format!("（身份证及银行账户）{}", mask_id_number("320902850315123")),
            ),
        ] {
            assert_eq!(mask_ids_in(&text), masked);
        }
        // Grouped in sixes, whatever the bytes before it (a probe may land on every space).
        let sixes = format!("{} {} {}", &id[..6], &id[6..12], &id[12..]);
        for before in ["", "当事 ", "当事人 ", "当事人：", "ab"] {
            assert_eq!(
                mask_ids_in(&format!("{before}{sixes} 到场")),
                format!("{before}{} 到场", mask_id_number(&id)),
                "{before:?}"
            );
            assert_eq!(
                mask_ids_in(&format!("{before}320902 850315 123 到场")),
                format!("{before}{} 到场", mask_id_number("320902850315123")),
                "{before:?}"
            );
        }
        // A phone number in groups is not one.
        assert_eq!(
            mask_ids_in("电话 0515 8888 6666 转 2"),
            "电话 0515 8888 6666 转 2"
        );
        // At either end, twice, and with a lower-case x.
        let x_id = (0..999)
            .map(|n| format!("32090219850315{n:03}"))
            .find(|b| ric_check_char(b.as_bytes()) == 'X')
            .map(|b| format!("{b}x"))
            .unwrap();
        let both = format!("{id}、{x_id}");
        assert_eq!(
            mask_ids_in(&both),
            format!("{}、{}", mask_id_number(&id), mask_id_number(&x_id))
        );
        assert!(matches!(
            mask_ids_in("没有证件号"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn first_generation_numbers_in_free_text_are_masked() {
        let old = "320902850315123";
        let text = format!("委托代理人李华（身份证{old}），注册号320922000112573");
        assert_eq!(
            mask_ids_in(&text),
            format!(
                "委托代理人李华（身份证{}），注册号320922000112573",
                mask_id_number(old)
            )
        );
        // An old registration number (a public code) reads as a 1900s date too: the whole value
        // of a code item, or named as one, it is left as written.
        assert_eq!(mask_ids_in("320922000112573"), "320922000112573");
        // Unlabelled, second in a list, or with a code named earlier in the clause: masked.
        for (text, shown) in [
            (
                format!("委托代理人李华（{old}）"),
                format!("委托代理人李华（{}）", mask_id_number(old)),
            ),
            (
                format!("身份证号码：320902850316124、{old}"),
                format!(
                    "身份证号码：{}、{}",
                    mask_id_number("320902850316124"),
                    mask_id_number(old)
                ),
            ),
            (
                format!("注册号320922000112573，委托人身份证{old}"),
                format!("注册号320922000112573，委托人身份证{}", mask_id_number(old)),
            ),
        ] {
            assert_eq!(mask_ids_in(&text), shown);
        }
        assert!(!mask_ids_in(&text).contains(old));
        // Not a province's code, not a date, or part of a longer run: left as written.
        for other in [
            "990902850315123",
            "320902851315123",
            "3209028503151234567",
            "32090285031512",
        ] {
            assert_eq!(mask_ids_in(other), other, "{other}");
        }
        // Named by 证件号码, beside an 18-character one.
        let id = "320902198503151234";
        let id = format!("{}{}", &id[..17], ric_check_char(&id.as_bytes()[..17]));
        assert_eq!(
            mask_ids_in(&format!("证件号码：{old}/{id}")),
            format!("证件号码：{}/{}", mask_id_number(old), mask_id_number(&id))
        );
    }
}

#[cfg(test)]
mod document_number_tests {
    use super::{mask_adult_ids_in, mask_id_number, ric_check_char};
    use chrono::NaiveDate;

    fn valid(first17: &str) -> String {
        format!("{first17}{}", ric_check_char(first17.as_bytes()))
    }

    /// A person's ID number written into a 文号 is masked; a 文号 numbered by area, the
    /// decision's date and a serial (shaped as the ID number of someone born that day) is not.
    #[test]
    fn a_document_number_keeps_its_own_date_and_hides_a_persons_number() {
        let on = NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
        let person = valid("32098119850315128");
        let text = format!("盐环罚〔2026〕{person}号");
        assert_eq!(
            mask_adult_ids_in(&text, on),
            format!("盐环罚〔2026〕{}号", mask_id_number(&person))
        );
        assert_eq!(mask_adult_ids_in(&person, on), mask_id_number(&person));
        let dated = valid("32090220260315000");
        assert_eq!(mask_adult_ids_in(&dated, on), dated.as_str());
        // Thirteen on the day: no penalty could name them, so not a party's number.
        let child = valid("32090220130401000");
        assert_eq!(mask_adult_ids_in(&child, on), child.as_str());
        // Part of a longer code, or with a wrong check character: left.
        let longer = format!("A{person}");
        assert_eq!(mask_adult_ids_in(&longer, on), longer.as_str());
        let wrong = format!("{}0", &person[..17]);
        if wrong != person {
            assert_eq!(mask_adult_ids_in(&wrong, on), wrong.as_str());
        }
    }
}
