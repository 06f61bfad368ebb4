//! The city's subjects: organisations with valid USCCs across the county and category codes, and
//! natural persons with valid resident ID numbers of Yancheng's areas.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Days, NaiveDate};
use domain::ids::{AreaTable, org_code_check, ric_check_char, uscc_check_char};

use crate::names::{self, place_prefix, place_word};
use crate::rng::Rng;

pub const DIVISIONS: &[(&str, u32)] = &[
    ("320900", 14),
    ("320902", 12),
    ("320903", 11),
    ("320904", 9),
    ("320921", 7),
    ("320922", 9),
    ("320923", 9),
    ("320924", 10),
    ("320925", 9),
    ("320981", 10),
];

/// USCC alphabet without the letters GB 11714 codes avoid in practice.
const ORG_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

#[derive(Debug, Clone)]
pub struct Org {
    pub uscc: String,
    pub name: String,
    /// 法人及非法人组织 or 个体工商户.
    pub kind: &'static str,
    pub reg_type: &'static str,
    pub division: String,
    pub legal_rep: String,
    pub rep_id: String,
    pub industry: &'static str,
    pub founded: NaiveDate,
    pub capital_wan: String,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub division: String,
}

pub fn make_uscc(rng: &mut Rng, pair: &str, division: &str) -> String {
    let mut org = Vec::with_capacity(9);
    org.extend_from_slice(b"MA");
    for _ in 0..6 {
        org.push(ORG_CHARS[rng.below(ORG_CHARS.len())]);
    }
    let check = org_code_check(&org).unwrap_or('0');
    org.push(check as u8);
    let mut s = format!("{pair}{division}{}", String::from_utf8_lossy(&org));
    let c = uscc_check_char(s.as_bytes());
    s.push(c);
    s
}

/// Yancheng's county-level area codes in force, by year (cached: the table has 7,000 codes).
pub struct Areas<'a> {
    table: &'a AreaTable,
    by_year: HashMap<i32, Vec<String>>,
}

impl<'a> Areas<'a> {
    pub fn new(table: &'a AreaTable) -> Self {
        Areas {
            table,
            by_year: HashMap::new(),
        }
    }
    fn in_force(&mut self, year: i32) -> &Vec<String> {
        let table = self.table;
        self.by_year.entry(year).or_insert_with(|| {
            let mut codes = table.codes_in_force("3209", year);
            if codes.is_empty() {
                codes = table.codes_in_force("3223", year);
            }
            codes.retain(|c| !c.ends_with("01"));
            codes
        })
    }
}

/// A person born in Yancheng, with the area code in force in the birth year (盐城地区 3223xx
/// before 1983).
pub fn make_person(rng: &mut Rng, today: NaiveDate, areas: &mut Areas) -> Person {
    let age_days = 18 * 365 + rng.below(55 * 365) as u64;
    let birth = today.checked_sub_days(Days::new(age_days)).unwrap_or(today);
    let codes = areas.in_force(birth.year());
    let area = if codes.is_empty() {
        "320902".to_string()
    } else {
        rng.pick(codes).clone()
    };
    let seq = rng.below(999) + 1;
    let body = format!(
        "{area}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        birth.month(),
        birth.day()
    );
    let c = ric_check_char(body.as_bytes());
    Person {
        division: area,
        id: format!("{body}{c}"),
        name: names::person_name(rng),
    }
}

pub fn make_orgs(rng: &mut Rng, n: usize, today: NaiveDate, areas: &mut Areas) -> Vec<Org> {
    let mut seen_codes = HashSet::with_capacity(n);
    let mut seen_names = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    let pairs: &[(&str, u32)] = &[
        ("91", 62),
        ("92", 28),
        ("93", 3),
        ("12", 2),
        ("51", 2),
        ("52", 2),
        ("11", 1),
    ];
    while out.len() < n {
        let division = rng.weighted(DIVISIONS).to_string();
        let pair = *rng.weighted(pairs);
        let uscc = make_uscc(rng, pair, &division);
        if !seen_codes.insert(uscc.clone()) {
            continue;
        }
        let (ind, section) = *rng.pick(names::INDUSTRIES);
        let place = place_prefix(&division);
        let trade = names::trade_name(rng);
        let (name, kind, reg_type) = match pair {
            "92" => (
                format!("{}{}{}", place, trade, rng.pick(names::SHOPS)),
                "个体工商户",
                "个体工商户",
            ),
            "93" => (
                format!(
                    "{place}{trade}{}专业合作社",
                    if rng.chance(0.5) { "种植" } else { "养殖" }
                ),
                "法人及非法人组织",
                "农民专业合作社",
            ),
            "12" => (
                format!("{place}{}服务中心", place_word(&division)),
                "法人及非法人组织",
                "事业单位",
            ),
            "11" => (
                format!("{place}{}管理办公室", trade),
                "法人及非法人组织",
                "机关",
            ),
            "51" => (
                format!("盐城市{}{}协会", place_word(&division), ind),
                "法人及非法人组织",
                "社会组织",
            ),
            "52" => (
                format!("{place}{trade}职业培训学校"),
                "法人及非法人组织",
                "社会组织",
            ),
            _ => {
                let form = if rng.chance(0.1) {
                    "股份有限公司"
                } else {
                    "有限公司"
                };
                // Some names carry the place word in the middle (江苏射阳…), as real ones do.
                if rng.chance(0.2) {
                    (
                        format!("江苏{}{}{}{}", place_word(&division), trade, ind, form),
                        "法人及非法人组织",
                        "企业",
                    )
                } else {
                    (
                        format!("{place}{trade}{ind}{form}"),
                        "法人及非法人组织",
                        "企业",
                    )
                }
            }
        };
        let mut name = name;
        while !seen_names.insert(name.clone()) {
            name = format!("{name}{}", rng.pick(names::TRADE));
        }
        let rep = make_person(rng, today, areas);
        let founded = today
            .checked_sub_days(Days::new(200 + rng.below(20 * 365) as u64))
            .unwrap_or(today);
        let capital = format!("{}", (rng.below(5000) + 1) * 10);
        out.push(Org {
            uscc,
            name,
            kind,
            reg_type,
            division,
            legal_rep: rep.name,
            rep_id: rep.id,
            industry: section,
            founded,
            capital_wan: capital,
        });
    }
    out
}
