//! A synthetic 盐城-like city, deterministic from a seed: organisations and persons with valid
//! codes across the county and category codes, and the files departments send — registration,
//! licences, penalties, lists, commitments, contracts, court and tax records — in the national
//! fields (national codes, Chinese names or the older code set, per unit), as CSV (UTF-8 or
//! GB18030), XLSX or JSON, with dirty rows at a chosen rate. A manifest lists every file and
//! every dirty row, so tests can check that each one is rejected and none is lost.

mod names;
mod rng;
mod rows;
pub mod sink;
mod subjects;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use domain::catalog::CatalogClass;
use rulebook::Rulebook;
use serde::Serialize;

pub use rng::Rng;
pub use sink::OutFormat;
pub use subjects::{Org, Person, make_uscc};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("write: {0}")]
    Io(String),
    #[error("{0}")]
    Options(String),
}

/// How many of each, and how dirty.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub seed: u64,
    /// The day the files are sent (decision dates are before it).
    pub today: NaiveDate,
    pub orgs: usize,
    pub persons: usize,
    pub licences: usize,
    pub penalties: usize,
    /// Entries per list class (serious, red, focus, court).
    pub lists: usize,
    pub commitments: usize,
    pub contracts: usize,
    pub honours: usize,
    /// Share of dirty rows, 0.0–1.0.
    pub dirty: f64,
    pub format: OutFormat,
    /// Generate only this class, into one file from one unit (for benchmarks).
    pub only: Option<String>,
    /// The unit of `only` (default: the first unit allowed to report it).
    pub only_unit: Option<String>,
}

impl GenOptions {
    pub fn small(seed: u64, today: NaiveDate) -> Self {
        GenOptions {
            seed,
            today,
            orgs: 3000,
            persons: 600,
            licences: 3000,
            penalties: 2000,
            lists: 120,
            commitments: 400,
            contracts: 200,
            honours: 80,
            dirty: 0.02,
            format: OutFormat::Csv,
            only: None,
            only_unit: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderStyle {
    Codes,
    Names,
    Old,
}

#[derive(Debug, Clone, Serialize)]
pub struct DirtyRow {
    pub row_no: u64,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub file: String,
    pub unit: String,
    pub class: String,
    pub format: String,
    pub headers: HeaderStyle,
    pub rows: u64,
    pub dirty: u64,
    pub dirty_by_kind: BTreeMap<String, u64>,
    /// Every dirty row (left out above 100,000 rows; the counts stay).
    pub dirty_rows: Vec<DirtyRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub seed: u64,
    pub today: NaiveDate,
    pub orgs: usize,
    pub persons: usize,
    pub files: Vec<FileEntry>,
}

/// The subjects of the city.
pub struct City {
    pub orgs: Vec<Org>,
    pub persons: Vec<Person>,
    pub today: NaiveDate,
}

impl City {
    pub fn new(rules: &Rulebook, seed: u64, today: NaiveDate, orgs: usize, persons: usize) -> City {
        let mut rng = Rng::new(seed);
        let mut areas = subjects::Areas::new(&rules.ids.areas);
        let orgs = subjects::make_orgs(&mut rng, orgs, today, &mut areas);
        // One person per ID number (a number drawn twice would be two names under one key,
        // which the platform rejects as a mistyped number).
        let mut seen = std::collections::HashSet::with_capacity(persons);
        let mut made = Vec::with_capacity(persons);
        while made.len() < persons {
            let p = subjects::make_person(&mut rng, today, &mut areas);
            if seen.insert(p.id.clone()) {
                made.push(p);
            }
        }
        let persons = made;
        City {
            orgs,
            persons,
            today,
        }
    }
}

fn header_text(class: &CatalogClass, i: usize, style: HeaderStyle) -> String {
    let it = &class.items[i];
    match style {
        HeaderStyle::Codes => it.code.clone(),
        HeaderStyle::Names => it.name.clone(),
        HeaderStyle::Old => it.old.first().cloned().unwrap_or_else(|| it.code.clone()),
    }
}

/// Writes one file of rows; injects dirty rows; returns its manifest entry.
struct FileWriter<'a> {
    class: &'a CatalogClass,
    sink: Box<dyn sink::Sink>,
    entry: FileEntry,
    last_clean: Option<Vec<String>>,
}

impl<'a> FileWriter<'a> {
    fn open(
        dir: &Path,
        class: &'a CatalogClass,
        unit: &str,
        format: OutFormat,
        style: HeaderStyle,
    ) -> Result<Self, SynthError> {
        let file = format!("{}_{}.{}", class.name, unit, format.ext());
        let headers: Vec<String> = (0..class.items.len())
            .map(|i| header_text(class, i, style))
            .collect();
        let sink = sink::open(&dir.join(&file), format, &headers)?;
        Ok(FileWriter {
            class,
            sink,
            entry: FileEntry {
                file,
                unit: unit.to_string(),
                class: class.name.clone(),
                format: format.as_str().to_string(),
                headers: style,
                rows: 0,
                dirty: 0,
                dirty_by_kind: BTreeMap::new(),
                dirty_rows: Vec::new(),
            },
            last_clean: None,
        })
    }

    fn cells(&self, values: &BTreeMap<&'static str, String>) -> Vec<String> {
        self.class
            .items
            .iter()
            .map(|it| values.get(it.code.as_str()).cloned().unwrap_or_default())
            .collect()
    }

    fn write(
        &mut self,
        rng: &mut Rng,
        values: BTreeMap<&'static str, String>,
        dirty: f64,
    ) -> Result<(), SynthError> {
        let mut cells = self.cells(&values);
        let mut kind = None;
        if rng.chance(dirty) {
            kind = Some(rows::spoil(
                rng,
                self.class,
                &mut cells,
                self.last_clean.as_ref(),
            ));
        } else {
            self.last_clean = Some(cells.clone());
        }
        self.entry.rows += 1;
        if let Some(k) = kind {
            self.entry.dirty += 1;
            *self.entry.dirty_by_kind.entry(k.to_string()).or_default() += 1;
            if self.entry.dirty_rows.len() < 100_000 {
                // As the importer numbers rows: a sheet's line (the header is line 1), a JSON
                // array's element (the first is 1).
                let header_lines = u64::from(self.entry.format != OutFormat::Json.as_str());
                self.entry.dirty_rows.push(DirtyRow {
                    row_no: self.entry.rows + header_lines,
                    kind: k.to_string(),
                });
            }
        }
        self.sink.row(&cells)
    }

    fn finish(self) -> Result<FileEntry, SynthError> {
        self.sink.finish()?;
        Ok(self.entry)
    }
}

/// Header style a unit's system uses: county bureaus Chinese names, the transport bureau the
/// older code set, the rest national codes.
fn style_for(unit: &str, class: &CatalogClass) -> HeaderStyle {
    let has_old = class.items.iter().any(|i| !i.old.is_empty());
    if unit.contains("交通运输局") && unit.starts_with("盐城市") && has_old {
        HeaderStyle::Old
    } else if !unit.starts_with("盐城市")
        || unit.starts_with("盐城市亭湖")
        || unit.starts_with("盐城市盐都")
        || unit.starts_with("盐城市大丰")
    {
        HeaderStyle::Names
    } else {
        HeaderStyle::Codes
    }
}

/// Generates the city's files into `dir` and writes `manifest.json` there.
pub fn generate(rules: &Rulebook, dir: &Path, opts: &GenOptions) -> Result<Manifest, SynthError> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::Io(format!("{}: {e}", dir.display())))?;
    let city = City::new(
        rules,
        opts.seed,
        opts.today,
        opts.orgs.max(1),
        opts.persons.max(1),
    );
    let mut rng = Rng::new(opts.seed.wrapping_add(1));
    let mut files = Vec::new();
    let plan = rows::plan(rules, opts)?;
    for (class_name, unit_rows) in plan {
        let class = rules
            .catalog
            .class(&class_name)
            .ok_or_else(|| SynthError::Options(format!("unknown class {class_name}")))?;
        for (unit, n) in unit_rows {
            if n == 0 {
                continue;
            }
            let unit_ref = rules
                .units
                .find(&unit)
                .ok_or_else(|| SynthError::Options(format!("unknown unit {unit}")))?;
            let mut rowgen = rows::RowGen::new(&city, unit_ref, class, rng.fork());
            // Registration files hold every organisation the unit registered.
            let n = if n == usize::MAX { rowgen.rows } else { n };
            if n == 0 {
                continue;
            }
            let style = if opts.only.is_some() {
                HeaderStyle::Codes
            } else {
                style_for(&unit, class)
            };
            let mut w = FileWriter::open(dir, class, &unit, opts.format, style)?;
            for seq in 0..n {
                let values = rowgen.row(seq);
                w.write(&mut rng, values, opts.dirty)?;
            }
            files.push(w.finish()?);
        }
    }
    let manifest = Manifest {
        seed: opts.seed,
        today: opts.today,
        orgs: city.orgs.len(),
        persons: city.persons.len(),
        files,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| SynthError::Io(e.to_string()))?;
    std::fs::write(dir.join("manifest.json"), text).map_err(|e| SynthError::Io(e.to_string()))?;
    Ok(manifest)
}
