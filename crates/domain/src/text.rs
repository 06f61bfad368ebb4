//! Text as departments type it: full-width (全角) letters, digits and punctuation folded to their
//! ASCII forms, so that `９１３２…`, `ＣＦ＿ＷＳＨ` and `２０２６－０１－０５` read as what they mean.

/// The ASCII form of a full-width character (U+FF01–U+FF5E) and of the ideographic space;
/// every other character as it is.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        other => other,
    }
}

/// A character of a document number (文书号) as two reports of the same decision are compared:
/// full-width forms folded, and square brackets around its year in any style — [], 【】, ［］,
/// 〖〗 as units type them — as the standard's 〔〕, so that 盐环罚[2026]12号 corrects
/// 盐环罚〔2026〕12号 instead of publishing a second penalty. Parentheses stay parentheses:
/// every court's 案号 is written （2026）…, and records keyed before this folding keep their
/// keys (folding them would publish each such record again when its unit resends it).
pub fn fold_doc_char(c: char) -> char {
    match fold_width(c) {
        '[' | '【' | '〖' => '〔',
        ']' | '】' | '〗' => '〕',
        other => other,
    }
}

/// `fold_width` over a whole string.
pub fn fold_widths(s: &str) -> String {
    s.chars().map(fold_width).collect()
}

/// A subject's name as the subject master keeps it: brackets in their full-width form, as the
/// registers write them, no surrounding spaces, and none beside a Chinese character (盐城市亭湖区
/// 多元化工有限公司 is one name with the register's); between two Latin words one space stays.
/// So 某公司(盐城分公司) and 某公司（盐城分公司） are one name in the 重错码 report, not two.
pub fn subject_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.trim_matches(|c: char| c.is_whitespace()).chars() {
        let c = match c {
            '(' => '（',
            ')' => '）',
            other => other,
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && c.is_ascii() && out.chars().last().is_some_and(|b: char| b.is_ascii()) {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// A natural person's name as two reports of it are compared: without spaces and middle dots
/// (阿依古丽·买买提 is written with several), full-width letters folded, Latin letters in one
/// case. (Names keep their order: SMITH JOHN and JOHN SMITH are two.)
pub fn person_name_key(name: &str) -> String {
    name.chars()
        .map(fold_width)
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '·' | '•'
                        | '・'
                        | '･'
                        | '‧'
                        | '∙'
                        | '⋅'
                        | '.'
                        | '．'
                        | '﹒'
                        | '-'
                        | '－'
                        | '‐'
                )
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a caller typed, as a message repeats it: trimmed, and at most 40 characters (a
/// 5,000-character "code" is not said back in full).
pub fn echo(input: &str) -> String {
    let t = input.trim();
    match t.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_document_numbers_brackets_in_any_style_are_one() {
        let k = |s: &str| s.chars().map(super::fold_doc_char).collect::<String>();
        for other in [
            "盐环罚[2026]12号",
            "盐环罚【2026】12号",
            "盐环罚［2026］12号",
        ] {
            assert_eq!(k(other), k("盐环罚〔2026〕12号"), "{other}");
        }
        assert_ne!(k("盐环罚〔2026〕12号"), k("盐环罚〔2026〕13号"));
        // Parentheses keep the keys records were given before the folding (a 案号's （2026）).
        assert_eq!(k("（2026）苏0981执1号"), "(2026)苏0981执1号");
    }

    #[test]
    fn a_persons_name_compares_without_dots_spaces_width_or_case() {
        use super::person_name_key as k;
        assert_eq!(k("阿依古丽·买买提"), k("阿依古丽•买买提"));
        assert_eq!(k("阿依古丽・买买提"), k("阿依古丽 买买提"));
        assert_eq!(k("覃 成"), k("覃成"));
        assert_eq!(k("ＴＯＭ Lee"), k("tom lee"));
        assert_ne!(k("覃成"), k("覃晓成"));
    }

    use super::*;

    #[test]
    fn an_echo_is_short() {
        assert_eq!(echo(" 9132 "), "9132");
        let long = "9".repeat(5000);
        assert_eq!(echo(&long), format!("{}…", "9".repeat(40)));
    }

    #[test]
    fn a_subject_name_takes_the_registers_brackets() {
        assert_eq!(
            subject_name(" 盐城某某有限公司(盐城分公司)\u{3000}"),
            "盐城某某有限公司（盐城分公司）"
        );
        assert_eq!(
            subject_name("盐城市亭湖区 多元化工\u{3000}有限公司\n"),
            "盐城市亭湖区多元化工有限公司"
        );
        assert_eq!(
            subject_name("Yancheng  Sunrise Trading Co.,   Ltd. (盐城)"),
            "Yancheng Sunrise Trading Co., Ltd.（盐城）"
        );
    }

    #[test]
    fn full_width_forms_fold_to_ascii_and_chinese_stays() {
        assert_eq!(
            fold_widths("９１３２ＡＢｘ－，．（）　年"),
            "9132ABx-,.() 年"
        );
    }
}

/// Rows named in a notice as a clerk reads them: 第3、7、9行, and 等，共N行 when `count` is more
/// than those named.
pub fn rows_named(count: u64, named: &[u64]) -> String {
    let rows: Vec<String> = named.iter().map(u64::to_string).collect();
    let more = if count as usize > named.len() {
        format!("等，共{count}行")
    } else {
        String::new()
    };
    format!("第{}行{more}", rows.join("、"))
}

#[cfg(test)]
mod rows_named_tests {
    #[test]
    fn rows_are_listed_and_the_rest_counted() {
        assert_eq!(super::rows_named(2, &[3, 7]), "第3、7行");
        assert_eq!(super::rows_named(12, &[3, 7]), "第3、7行等，共12行");
    }
}
