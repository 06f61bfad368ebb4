//! Source units (信源单位) and the administrative divisions of the city, as data
//! (`data/units.toml`, `data/divisions.toml`).

use serde::Deserialize;

use crate::catalog::{CatalogClass, fold_name};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceUnit {
    pub name: String,
    pub short: String,
    pub division: String,
    pub uscc: String,
    pub tags: Vec<String>,
    #[serde(default)]
    pub domains: Vec<String>,
}

impl SourceUnit {
    pub fn is_market_regulation(&self) -> bool {
        self.tags.iter().any(|t| t == "市场监管")
    }
    /// The provincial platform's feed (回流): its rows never overwrite the city's own records.
    pub fn is_feed(&self) -> bool {
        self.tags.iter().any(|t| t == "回流")
    }
    pub fn may_report(&self, class: &CatalogClass) -> bool {
        class.sources.iter().any(|s| self.tags.contains(s))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Units {
    pub version: String,
    #[serde(rename = "unit")]
    pub units: Vec<SourceUnit>,
    /// Folded full names and USCCs, and folded short names, to the first unit that has them:
    /// every row of every import names its units, and the city has hundreds of them.
    #[serde(skip)]
    index: std::sync::OnceLock<UnitIndex>,
}

#[derive(Debug, Clone, Default)]
struct UnitIndex {
    full: std::collections::HashMap<String, usize>,
    short: std::collections::HashMap<String, usize>,
}

impl Units {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
    /// Finds a unit by its full name, short name or USCC.
    pub fn find(&self, name: &str) -> Option<&SourceUnit> {
        let index = self.index.get_or_init(|| {
            let mut ix = UnitIndex::default();
            for (i, u) in self.units.iter().enumerate() {
                ix.full.entry(fold_name(&u.name)).or_insert(i);
                ix.full.entry(u.uscc.clone()).or_insert(i);
                ix.short.entry(fold_name(&u.short)).or_insert(i);
            }
            ix
        });
        let f = fold_name(name);
        index
            .full
            .get(&f)
            .or_else(|| index.short.get(&f))
            .and_then(|&i| self.units.get(i))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub level: String,
    pub since: Option<i32>,
    pub formerly: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Divisions {
    pub version: String,
    pub city: String,
    #[serde(rename = "division")]
    pub divisions: Vec<Division>,
}

impl Divisions {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
    pub fn get(&self, code: &str) -> Option<&Division> {
        self.divisions.iter().find(|d| d.code == code)
    }
    /// The county-level divisions (all but the city itself).
    pub fn counties(&self) -> impl Iterator<Item = &Division> {
        self.divisions.iter().filter(move |d| d.code != self.city)
    }
}
