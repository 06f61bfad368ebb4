//! Subject name search for the portal.
//!
//! Chinese company names are searched by their pieces: 建湖, 射阳, 化工. An index of every
//! two-character substring (bigram) of every organisation's name answers any query of two or
//! more characters by taking the candidates of its rarest bigram and keeping those whose name
//! contains the whole query; a one-character query scans. Ranking: the whole name, then names
//! that start with the query, then registered subjects, then shorter names. Natural persons are
//! not searchable by name on the portal.
//!
//! The index lives in memory, is built from the store at start (about a second per million
//! names) and refreshed from subjects first seen or changed since the last refresh.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use store::{Store, StoreError, Val};

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub name: String,
    pub kind: String,
    pub division: Option<String>,
    pub industry: Option<String>,
    pub registered: bool,
}

/// What to keep besides the query.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// A county-level division code (320902 …) or the city (320900).
    pub division: Option<String>,
    /// organisation or individual_business.
    pub kind: Option<String>,
    /// A national industry section (制造业 …).
    pub industry: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub entry: Entry,
    /// The name cut into pieces, each marked whether it matches the query.
    pub pieces: Vec<(String, bool)>,
}

#[derive(Debug, Clone)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    by_key: HashMap<String, u32>,
    grams: HashMap<u64, Vec<u32>>,
    since: Option<DateTime<Utc>>,
}

/// The index; share it behind an `Arc`.
#[derive(Default)]
pub struct NameIndex {
    inner: RwLock<Inner>,
}

fn gram(a: char, b: char) -> u64 {
    ((a as u64) << 32) | b as u64
}

fn grams(name: &str) -> impl Iterator<Item = u64> + '_ {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<u64> = chars.windows(2).map(|w| gram(w[0], w[1])).collect();
    out.sort_unstable();
    out.dedup();
    out.into_iter()
}

fn normalize(q: &str) -> String {
    q.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect()
}

impl Inner {
    fn add(&mut self, e: Entry) {
        if let Some(&i) = self.by_key.get(&e.key) {
            // A new name: index its pieces too; the old ones fall away at verification.
            let id = i;
            for g in grams(&e.name) {
                let list = self.grams.entry(g).or_default();
                if list.last() != Some(&id) {
                    list.push(id);
                }
            }
            self.entries[i as usize] = e;
            return;
        }
        let id = self.entries.len() as u32;
        for g in grams(&e.name) {
            self.grams.entry(g).or_default().push(id);
        }
        self.by_key.insert(e.key.clone(), id);
        self.entries.push(e);
    }
}

const COLUMNS: &str = "subject_key, name, kind, division, industry, registered, updated_at";

fn entry_of(r: &store::Row) -> Result<(Entry, DateTime<Utc>), StoreError> {
    Ok((
        Entry {
            key: r.text(0)?,
            name: r.text(1)?,
            kind: r.text(2)?,
            division: r.opt_text(3)?,
            industry: r.opt_text(4)?,
            registered: r.bool(5)?,
        },
        r.time(6)?,
    ))
}

impl NameIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every organisation from the store.
    pub fn build(store: &Store) -> Result<NameIndex, StoreError> {
        let idx = NameIndex::default();
        idx.refresh(store)?;
        Ok(idx)
    }

    /// Adds subjects first seen or changed since the last refresh; returns how many.
    pub fn refresh(&self, store: &Store) -> Result<usize, StoreError> {
        let since = self.inner.read().map_err(|_| StoreError::Poisoned)?.since;
        let mut last = since;
        let mut added = Vec::new();
        let mut after = String::new();
        // Page through by key so that a million names do not come back in one result.
        loop {
            let rows = store.read(|c| match since {
                // What changed, by the update-time index (ordering by key here would walk
                // every subject); a first build pages by key instead.
                Some(t) => c.query(
                    &format!(
                        "SELECT {COLUMNS} FROM subjects WHERE updated_at > $1 AND kind <> 'natural_person'"
                    ),
                    &[t.into()],
                ),
                None => c.query(
                    &format!(
                        "SELECT {COLUMNS} FROM subjects WHERE kind <> 'natural_person' AND subject_key > $1
                         ORDER BY subject_key LIMIT 50000"
                    ),
                    &[Val::Text(after.clone())],
                ),
            })?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let (e, t) = entry_of(r)?;
                if last.is_none_or(|l| t > l) {
                    last = Some(t);
                }
                after = e.key.clone();
                added.push(e);
            }
            if since.is_some() {
                break;
            }
        }
        let n = added.len();
        let mut inner = self.inner.write().map_err(|_| StoreError::Poisoned)?;
        for e in added {
            inner.add(e);
        }
        inner.since = last;
        Ok(n)
    }

    /// Reads every organisation afresh and replaces the index with it: a subject whose update
    /// time was at or before one already seen but which committed later (overlapping writers)
    /// is missed by [`NameIndex::refresh`]; the server rebuilds hourly so that none stays missed.
    pub fn rebuild(&self, store: &Store) -> Result<usize, StoreError> {
        let fresh = NameIndex::build(store)?;
        let fresh = fresh.inner.into_inner().map_err(|_| StoreError::Poisoned)?;
        let n = fresh.entries.len();
        *self.inner.write().map_err(|_| StoreError::Poisoned)? = fresh;
        Ok(n)
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.entries.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches names; every term (split by spaces) must occur in the name.
    pub fn search(&self, query: &str, filters: &Filters, offset: usize, limit: usize) -> Results {
        let terms: Vec<String> = query
            .split_whitespace()
            .map(normalize)
            .filter(|t| !t.is_empty())
            .collect();
        let Ok(inner) = self.inner.read() else {
            return Results {
                total: 0,
                hits: Vec::new(),
            };
        };
        if terms.is_empty() {
            return Results {
                total: 0,
                hits: Vec::new(),
            };
        }
        let keep = |e: &Entry| {
            filters
                .division
                .as_ref()
                .is_none_or(|d| e.division.as_ref() == Some(d))
                && filters.kind.as_ref().is_none_or(|k| &e.kind == k)
                && filters
                    .industry
                    .as_ref()
                    .is_none_or(|i| e.industry.as_ref() == Some(i))
                && terms.iter().all(|t| e.name.contains(t.as_str()))
        };
        // Candidates: the rarest bigram over all terms, or everything for one-character terms.
        let rarest = terms
            .iter()
            .flat_map(|t| grams(t).collect::<Vec<_>>())
            .map(|g| inner.grams.get(&g).map_or(0, Vec::len))
            .zip(terms.iter().flat_map(|t| grams(t).collect::<Vec<_>>()))
            .min_by_key(|(n, _)| *n);
        let mut found: Vec<(i64, u32)> = Vec::new();
        let mut consider = |id: u32| {
            let e = &inner.entries[id as usize];
            if keep(e) {
                found.push((score(e, &terms), id));
            }
        };
        match rarest {
            Some((_, g)) => {
                if let Some(list) = inner.grams.get(&g) {
                    let mut last = u32::MAX;
                    for &id in list {
                        // A renamed subject can appear twice in a list; count it once.
                        if id != last {
                            consider(id);
                        }
                        last = id;
                    }
                }
            }
            None => (0..inner.entries.len() as u32).for_each(&mut consider),
        }
        found.sort_unstable_by(|a, b| {
            b.0.cmp(&a.0).then_with(|| {
                inner.entries[a.1 as usize]
                    .name
                    .cmp(&inner.entries[b.1 as usize].name)
            })
        });
        found.dedup_by_key(|x| x.1);
        let total = found.len();
        let hits = found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(_, id)| {
                let e = inner.entries[*id as usize].clone();
                let pieces = highlight(&e.name, &terms);
                Hit { entry: e, pieces }
            })
            .collect();
        Results { total, hits }
    }

    /// The entry of a store key, if indexed.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let inner = self.inner.read().ok()?;
        inner
            .by_key
            .get(key)
            .map(|&i| inner.entries[i as usize].clone())
    }
}

fn score(e: &Entry, terms: &[String]) -> i64 {
    let q: String = terms.concat();
    let mut s = 0i64;
    if e.name == q {
        s += 1_000_000;
    }
    if e.name.starts_with(terms[0].as_str()) {
        s += 100_000;
    }
    if e.registered {
        s += 10_000;
    }
    s - e.name.chars().count() as i64
}

/// Cuts a name into matching and non-matching pieces, for highlighting.
pub fn highlight(name: &str, terms: &[String]) -> Vec<(String, bool)> {
    let chars: Vec<char> = name.chars().collect();
    let mut marked = vec![false; chars.len()];
    for t in terms {
        let tc: Vec<char> = t.chars().collect();
        if tc.is_empty() || tc.len() > chars.len() {
            continue;
        }
        for i in 0..=chars.len() - tc.len() {
            if chars[i..i + tc.len()] == tc[..] {
                marked[i..i + tc.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let mut out: Vec<(String, bool)> = Vec::new();
    for (c, m) in chars.into_iter().zip(marked) {
        match out.last_mut() {
            Some((s, lm)) if *lm == m => s.push(c),
            _ => out.push((c.to_string(), m)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(names: &[(&str, &str)]) -> NameIndex {
        let i = NameIndex::default();
        {
            let mut inner = i.inner.write().unwrap();
            for (k, n) in names {
                inner.add(Entry {
                    key: k.to_string(),
                    name: n.to_string(),
                    kind: "organisation".into(),
                    division: Some(
                        if n.contains("建湖") {
                            "320925"
                        } else {
                            "320924"
                        }
                        .into(),
                    ),
                    industry: None,
                    registered: true,
                });
            }
        }
        i
    }

    #[test]
    fn two_characters_find_every_name_containing_them() {
        let i = idx(&[
            ("1", "建湖县恒泰化工有限公司"),
            ("2", "射阳县鑫达建材有限公司"),
            ("3", "江苏建湖华盛机械有限公司"),
            ("4", "建湖县华盛小吃店"),
            ("5", "盐城市湖建物流有限公司"),
        ]);
        let r = i.search("建湖", &Filters::default(), 0, 10);
        assert_eq!(r.total, 3);
        assert!(r.hits.iter().all(|h| h.entry.name.contains("建湖")));
        // Names that start with the query first, shorter first among them.
        assert_eq!(r.hits[0].entry.name, "建湖县华盛小吃店");
        assert_eq!(i.search("射阳", &Filters::default(), 0, 10).total, 1);
        assert_eq!(i.search("华盛 建湖", &Filters::default(), 0, 10).total, 2);
        assert_eq!(i.search("湖", &Filters::default(), 0, 10).total, 4);
        assert_eq!(i.search("不存在", &Filters::default(), 0, 10).total, 0);
        let f = Filters {
            division: Some("320924".into()),
            ..Default::default()
        };
        assert_eq!(i.search("有限", &f, 0, 10).total, 2);
        let h = &i.search("华盛", &Filters::default(), 0, 10).hits[0];
        assert!(h.pieces.iter().any(|(s, m)| *m && s == "华盛"));
    }

    #[test]
    fn a_renamed_subject_is_found_by_its_new_name_only() {
        let i = idx(&[("1", "建湖县恒泰化工有限公司")]);
        i.inner.write().unwrap().add(Entry {
            key: "1".into(),
            name: "江苏恒泰新材料股份有限公司".into(),
            kind: "organisation".into(),
            division: None,
            industry: None,
            registered: true,
        });
        assert_eq!(i.search("化工", &Filters::default(), 0, 10).total, 0);
        assert_eq!(i.search("新材料", &Filters::default(), 0, 10).total, 1);
        assert_eq!(i.search("恒泰", &Filters::default(), 0, 10).total, 1);
    }
}
