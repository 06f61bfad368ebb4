//! The rule book: every table of rules the platform applies, loaded at start from the versioned
//! files in `data/` (compiled in) or, file by file, from an override directory the credit office
//! maintains (`--rules <dir>` or `XINYONG_RULES`). Its [`Rulebook::digest`] names the exact rule
//! texts in force, so a computed figure can say which rules produced it.

use std::path::{Path, PathBuf};

use domain::calendar::WorkCalendar;
use domain::catalog::Catalog;
use domain::ids::{AreaTable, IdRules, UsccCategories};
use domain::measures::MeasureBook;
use domain::monitoring::MonitoringRules;
use domain::publicity::PublicityRules;
use domain::units::{Divisions, Units};
use domain::workflow::WorkflowRules;
use sm3::{Digest, Sm3};

/// The data files, by name, with their compiled-in defaults.
pub const FILES: &[(&str, &str)] = &[
    ("catalog.toml", include_str!("../../../data/catalog.toml")),
    ("units.toml", include_str!("../../../data/units.toml")),
    (
        "divisions.toml",
        include_str!("../../../data/divisions.toml"),
    ),
    ("calendar.toml", include_str!("../../../data/calendar.toml")),
    (
        "publicity.toml",
        include_str!("../../../data/publicity.toml"),
    ),
    (
        "uscc_categories.toml",
        include_str!("../../../data/uscc_categories.toml"),
    ),
    ("areas.tsv", include_str!("../../../data/areas.tsv")),
    (
        "monitoring.toml",
        include_str!("../../../data/monitoring.toml"),
    ),
    ("measures.toml", include_str!("../../../data/measures.toml")),
    (
        "workflows.toml",
        include_str!("../../../data/workflows.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RulebookError {
    #[error("cannot read rule file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rule file {file}: {message}")]
    Parse { file: &'static str, message: String },
}

/// Every rule table in force.
#[derive(Debug, Clone)]
pub struct Rulebook {
    pub catalog: Catalog,
    pub units: Units,
    pub divisions: Divisions,
    pub calendar: WorkCalendar,
    pub publicity: PublicityRules,
    pub ids: IdRules,
    pub monitoring: MonitoringRules,
    /// The joint reward and punishment measures (措施清单) and the matters they apply to.
    pub measures: MeasureBook,
    /// Clocks of repair and objections, evidence limits, the repair commitment text.
    pub workflows: WorkflowRules,
    /// SM3 over all rule texts, hex, first 16 characters.
    pub digest: String,
    /// Which files came from the override directory.
    pub overridden: Vec<String>,
}

fn parse_err(file: &'static str) -> impl Fn(String) -> RulebookError {
    move |message| RulebookError::Parse { file, message }
}

impl Rulebook {
    /// The compiled-in rules.
    pub fn builtin() -> Result<Self, RulebookError> {
        Self::load(None)
    }

    /// Loads every file from `dir` when it has one, else the compiled-in default.
    pub fn load(dir: Option<&Path>) -> Result<Self, RulebookError> {
        let mut texts: Vec<(&'static str, String)> = Vec::new();
        let mut overridden = Vec::new();
        for (name, builtin) in FILES {
            let text = match dir.map(|d| d.join(name)) {
                Some(p) if p.exists() => {
                    overridden.push(name.to_string());
                    std::fs::read_to_string(&p)
                        .map_err(|source| RulebookError::Read { path: p, source })?
                }
                _ => builtin.to_string(),
            };
            texts.push((name, text));
        }
        let get = |n: &str| {
            texts
                .iter()
                .find(|(f, _)| *f == n)
                .map(|(_, t)| t.as_str())
                .unwrap_or_default()
        };
        let mut h = Sm3::new();
        for (name, text) in &texts {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
        }
        let digest = hex::encode(h.finalize())[..16].to_string();
        // Read once: the measures and the workflows are checked against them.
        let catalog = Catalog::parse(get("catalog.toml"))
            .map_err(|e| parse_err("catalog.toml")(e.to_string()))?;
        let units =
            Units::parse(get("units.toml")).map_err(|e| parse_err("units.toml")(e.to_string()))?;
        Ok(Rulebook {
            divisions: Divisions::parse(get("divisions.toml"))
                .map_err(|e| parse_err("divisions.toml")(e.to_string()))?,
            calendar: WorkCalendar::parse(get("calendar.toml"))
                .map_err(|e| parse_err("calendar.toml")(e.to_string()))?,
            publicity: PublicityRules::parse(get("publicity.toml"))
                .map_err(|e| parse_err("publicity.toml")(e.to_string()))?,
            ids: IdRules {
                areas: AreaTable::parse(get("areas.tsv")).map_err(parse_err("areas.tsv"))?,
                categories: UsccCategories::parse(get("uscc_categories.toml"))
                    .map_err(|e| parse_err("uscc_categories.toml")(e.to_string()))?,
            },
            monitoring: MonitoringRules::parse(get("monitoring.toml"))
                .map_err(|e| parse_err("monitoring.toml")(e.to_string()))?,
            measures: {
                let lists: Vec<&str> = catalog
                    .classes
                    .iter()
                    .filter(|c| c.publicity == domain::catalog::PublicityKind::List)
                    .map(|c| c.code.as_str())
                    .collect();
                let book = MeasureBook::parse(get("measures.toml"), &lists)
                    .map_err(parse_err("measures.toml"))?;
                book.check_penalty_categories(
                    catalog.enums.get("处罚类别").map_or(&[][..], Vec::as_slice),
                )
                .map_err(parse_err("measures.toml"))?;
                book
            },
            workflows: {
                let w = WorkflowRules::parse(get("workflows.toml"))
                    .map_err(|e| parse_err("workflows.toml")(e.to_string()))?;
                // Only a punishing list is left early on application: a typo would switch the
                // feature off unseen, and another class would be "exited". A court's list
                // (失信被执行人) leaves by the court's own procedure.
                for code in &w.list_exit.classes {
                    let punishing = catalog.class_by_code(code).is_some_and(|c| {
                        matches!(
                            c.list_type,
                            Some(
                                domain::catalog::ListType::Serious
                                    | domain::catalog::ListType::Focus
                            )
                        ) && c.sources.iter().any(|t| t != "法院" && t != "回流")
                    });
                    if !punishing {
                        return Err(parse_err("workflows.toml")(format!(
                            "list_exit.classes: {code} is not a serious or focus list class of the catalog that the city's units decide"
                        )));
                    }
                }
                for m in &w.list_exit.minimum {
                    if !units.units.iter().any(|u| u.tags.contains(&m.tag)) {
                        return Err(parse_err("workflows.toml")(format!(
                            "list_exit.minimum: no unit of units.toml carries the tag {}",
                            m.tag
                        )));
                    }
                }
                w
            },
            catalog,
            units,
            digest,
            overridden,
        })
    }

    /// Loads from `dir`, or from `XINYONG_RULES` when set, else the compiled-in rules.
    pub fn from_env_or(dir: Option<&Path>) -> Result<Self, RulebookError> {
        match dir {
            Some(d) => Self::load(Some(d)),
            None => match std::env::var_os("XINYONG_RULES") {
                Some(d) => Self::load(Some(Path::new(&d))),
                None => Self::builtin(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The court's 失信被执行人 list is not left on the platform: its subjects are told how.
    #[test]
    fn a_list_left_at_the_court_says_how() {
        let rb = Rulebook::builtin().unwrap();
        let how = rb
            .workflows
            .list_exit
            .elsewhere("SXBZXR")
            .unwrap_or_default();
        assert!(how.contains("执行法院"), "{how}");
        assert!(!rb.workflows.list_exit.offers("SXBZXR"));
        assert_eq!(rb.workflows.list_exit.elsewhere("YZSX"), None);
    }

    #[test]
    fn early_exit_lists_are_punishing_lists_and_an_older_file_offers_none() {
        let dir = std::env::temp_dir().join(format!("xinyong-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = include_str!("../../../data/workflows.toml");
        // The red list rewards: nothing to leave early, and a wrong code is refused by name.
        for code in ["HMD", "YZSXX", "SXBZXR"] {
            let text = shipped.replace(
                r#"classes = ["YZSX", "ZDGZ"]"#,
                &format!(r#"classes = ["YZSX", "{code}"]"#),
            );
            assert_ne!(text, shipped);
            std::fs::write(dir.join("workflows.toml"), text).unwrap();
            let e = Rulebook::load(Some(&dir)).unwrap_err().to_string();
            assert!(e.contains(code) && e.contains("list_exit"), "{e}");
        }
        // A least time on the list names a kind of unit that exists.
        let text = shipped.replace(r#"tag = "市场监管""#, r#"tag = "市场监督""#);
        assert_ne!(text, shipped);
        std::fs::write(dir.join("workflows.toml"), text).unwrap();
        let e = Rulebook::load(Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("市场监督"), "{e}");
        // A file written before the section existed still loads; it offers no early exit.
        let start = shipped.find("[list_exit]").unwrap();
        let end = shipped.find("[objection]").unwrap();
        let older = format!("{}{}", &shipped[..start], &shipped[end..]);
        std::fs::write(dir.join("workflows.toml"), older).unwrap();
        let r = Rulebook::load(Some(&dir)).unwrap();
        assert!(r.workflows.list_exit.classes.is_empty());
        assert!(
            !Rulebook::builtin()
                .unwrap()
                .workflows
                .list_exit
                .classes
                .is_empty()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn builtin_rules_load_and_cohere() {
        let r = Rulebook::builtin().unwrap();
        // Every unit's division is a known division; every class's source tags are held by some unit.
        for u in &r.units.units {
            assert!(r.divisions.get(&u.division).is_some(), "{}", u.name);
            let (code, _) = domain::ids::Uscc::parse(&u.uscc, &r.ids).unwrap();
            assert_eq!(code.division(), u.division);
        }
        for c in &r.catalog.classes {
            assert!(r.units.units.iter().any(|u| u.may_report(c)), "{}", c.name);
        }
        for name in [
            "盐城市市场监督管理局",
            "盐城市生态环境局",
            "盐城市应急管理局",
            "盐城市住房和城乡建设局",
            "盐城市交通运输局",
            "盐城市人力资源和社会保障局",
            "国家税务总局盐城市税务局",
        ] {
            assert!(r.units.find(name).is_some(), "{name}");
        }
        assert_eq!(r.divisions.counties().count(), 9);
        assert_eq!(r.digest.len(), 16);
    }

    /// Penalties of 2023 and 2024 are still in publicity: their years' notices are loaded.
    /// Seven working days from 2024-02-08 run over the Spring Festival (02-10..02-17 off) and
    /// its make-up Sunday 02-18 to 02-23 (weekdays alone would give 02-19); from 2023-09-27
    /// over the National Day (09-29..10-06 off, 10-07 and 10-08 worked) to 10-12 (weekdays
    /// alone: 10-06).
    #[test]
    fn the_2023_and_2024_holiday_notices_are_loaded() {
        let r = Rulebook::builtin().unwrap();
        for (from, until) in [("2024-02-08", "2024-02-23"), ("2023-09-27", "2023-10-12")] {
            let d = r.calendar.add_workdays(from.parse().unwrap(), 7);
            assert_eq!(d.date.to_string(), until, "{from}");
            assert!(d.years_without_notice.is_empty(), "{from}");
        }
    }

    #[test]
    fn override_directory_replaces_one_file() {
        let dir = std::env::temp_dir().join(format!("rulebook-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cal = FILES.iter().find(|(n, _)| *n == "calendar.toml").unwrap().1;
        let extra = format!(
            "{cal}\n[[year]]\nyear = 2027\nbasis = \"test\"\nholidays = [\"2027-01-01\"]\nworkdays = []\n"
        );
        std::fs::write(dir.join("calendar.toml"), extra).unwrap();
        let r = Rulebook::load(Some(&dir)).unwrap();
        assert!(r.calendar.has_year(2027));
        assert_eq!(r.overridden, vec!["calendar.toml".to_string()]);
        assert_ne!(r.digest, Rulebook::builtin().unwrap().digest);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
