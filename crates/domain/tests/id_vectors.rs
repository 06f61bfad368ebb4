//! Every vector of ../shared/testdata/uscc_ric_vectors.tsv, judged by kind and by `check_any`.

use chrono::NaiveDate;
use domain::ids::{self, AreaTable, IdRules, UsccCategories, Verdict};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/uscc_ric_vectors.tsv"
));

fn rules() -> IdRules {
    IdRules {
        areas: AreaTable::parse(include_str!("../../../data/areas.tsv")).unwrap(),
        categories: UsccCategories::parse(include_str!("../../../data/uscc_categories.toml"))
            .unwrap(),
    }
}

#[test]
fn all_vectors_agree() {
    let rules = rules();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    for line in VECTORS.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (kind, input, expected) = (cols[0], cols[1], cols[2]);
        let expected = match expected {
            "VALID" => Verdict::Valid,
            "INVALID" => Verdict::Invalid,
            "SUSPECT" => Verdict::Suspect,
            other => panic!("unknown verdict {other}"),
        };
        let by_kind = match kind {
            "USCC" => ids::check_uscc(input, &rules),
            "RIC" => ids::check_resident_id(input, &rules, today),
            other => panic!("unknown kind {other}"),
        };
        let any = ids::check_any(input, &rules, today);
        if by_kind.verdict != expected || any.verdict != expected {
            failures.push(format!(
                "{kind} {input}: expected {expected}, by kind {} ({}), any {} ({})",
                by_kind.verdict, by_kind.reason, any.verdict, any.reason
            ));
        }
        if expected != Verdict::Valid {
            assert!(!by_kind.reason.is_empty(), "{input} needs a reason");
        }
        n += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 180, "only {n} vectors read");
}

#[test]
fn reasons_name_the_fault_in_chinese() {
    let rules = rules();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let r = ids::check_uscc("91320900MA1MB4X50T", &rules);
    assert!(
        r.reason.contains("校验码错误") && r.reason.contains("末位“T”") && !r.reason.contains('R'),
        "{}",
        r.reason
    );
    let r = ids::check_resident_id("990426199112010074", &rules, today);
    assert!(r.reason.contains("990426"), "{}", r.reason);
    // Born 1980, before numbers were assigned: the code had to be in force in 1984.
    let r = ids::check_resident_id("110111198012010078", &rules, today);
    assert!(r.reason.contains("1984"), "{}", r.reason);
    // A 响水县 number of a person born in 1960 carries the code of 1984, not of 1960: valid.
    let r = ids::check_resident_id("320921196006011230", &rules, today);
    assert_eq!(r.verdict, Verdict::Valid, "{}", r.reason);
    assert!(r.reason.contains("响水县"), "{}", r.reason);
    // 东台市 from late 1987: its code first stands in the list of 1989; a number of 1988 is
    // within the table's year of tolerance.
    let r = ids::check_resident_id("320981198806011234", &rules, today);
    assert_eq!(r.verdict, Verdict::Valid, "{}", r.reason);
    // 盐都区 (320903, from 2003) on a number of a person born in 1990 stays doubtful.
    let r = ids::check_resident_id("320903199003153269", &rules, today);
    assert_eq!(r.verdict, Verdict::Suspect, "{}", r.reason);
    let future = ids::check_resident_id("320902203001010000", &rules, today);
    assert_eq!(future.verdict, Verdict::Invalid);
}

#[test]
fn masking_keeps_area_and_tail_only() {
    let rules = rules();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let (id, _) = ids::ResidentId::parse("320902198503151234", &rules, today).unwrap();
    assert_eq!(id.masked(), "320902********1234");
    assert!(!format!("{id:?}").contains("19850315"));
}

#[test]
fn a_mistyped_resident_id_is_not_taken_for_a_uscc() {
    let rules = rules();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let right = ids::check_any("320902198503150055", &rules, today);
    assert_eq!(right.verdict, Verdict::Valid, "{}", right.reason);
    // The last digit mistyped: 0 happens to pass the USCC check character.
    let typo = ids::check_any("320902198503150050", &rules, today);
    assert_eq!(
        (typo.kind, typo.verdict),
        (ids::IdKind::ResidentId, Verdict::Invalid),
        "{}",
        typo.reason
    );
    // A letter for a digit, a digit short or one too many, where the birth date stands: a
    // person's number, said so (not sent to the business licence).
    for (input, said) in [
        ("T60426199101010078", "第1位“T”"),
        ("32090219850315123", "实为17位"),
        ("3209021985031512345", "实为19位"),
    ] {
        let r = ids::check_any(input, &rules, today);
        assert_eq!(
            (r.kind, r.verdict),
            (ids::IdKind::ResidentId, Verdict::Invalid),
            "{input}: {}",
            r.reason
        );
        assert!(
            r.reason.starts_with("公民身份号码") && r.reason.contains(said),
            "{input}: {}",
            r.reason
        );
    }
    // A short business code stays one.
    let r = ids::check_any("9132090MA1MB4X50R", &rules, today);
    assert_eq!(r.kind, ids::IdKind::Uscc, "{}", r.reason);
}
