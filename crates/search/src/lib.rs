//! Subject name search for the portal.
//!
//! Chinese company names are searched by their pieces: 建湖, 射阳, 化工. An index of every
//! two-character substring (bigram) of every organisation's name answers any query of two or
//! more characters by walking the entries of its rarest bigram and keeping those whose name
//! contains the whole query; a one-character query walks every entry. Ranking: the whole name,
//! then names that start with the query, then registered subjects, then shorter names, then by
//! name.
//!
//! The last three are the same for every query, so the index numbers its entries in that order
//! when it is built: a walk of a bigram's entries meets them already ranked, and a query keeps
//! only the first page of each of the three classes instead of sorting every hit (a two-character
//! query such as 公司 matches most of a million names). Entries added since the build (new or
//! changed subjects) sit after the ranked ones and are sorted at query time; a changed subject
//! becomes a new entry and its old one is marked dead, so an entry's name never changes.
//!
//! The index lives in memory, is built from the store at start (a few seconds per million names)
//! and refreshed from subjects first seen or changed since the last refresh; a refresh that brings
//! many changes rebuilds it instead.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use memchr::memmem::Finder;
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
    /// Per entry: its name as searched (see [`fold`]), where that differs from the name.
    folded: Vec<Option<Box<str>>>,
    /// Per entry: false once its subject changed (the change is a newer entry).
    alive: Vec<bool>,
    dead: usize,
    by_key: HashMap<String, u32>,
    /// Each bigram's entries, in ascending entry number.
    grams: HashMap<u64, Vec<u32>>,
    /// Entries numbered below this are in rank order (registered, shorter, by name).
    ranked: u32,
    since: Option<DateTime<Utc>>,
    /// Submissions whose subjects the index has read: one that commits after the cursor passed
    /// its time stamp (a long import, another process's) is read by its id.
    submissions: store::watch::SubmissionWatch,
}

/// The index; share it behind an `Arc`.
#[derive(Default)]
pub struct NameIndex {
    inner: RwLock<Inner>,
}

/// A refresh that brings more changes than this (or a tenth of the index) rebuilds it, so that
/// the unranked tail each query sorts stays small.
const REBUILD_AFTER: usize = 20_000;

/// The part of the ranking that does not depend on the query.
fn static_order(a: &Entry, b: &Entry) -> Ordering {
    b.registered
        .cmp(&a.registered)
        .then_with(|| a.name.chars().count().cmp(&b.name.chars().count()))
        .then_with(|| a.name.cmp(&b.name))
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

/// The longest query searched, in characters: a registered name is at most a few dozen.
pub const MAX_QUERY_CHARS: usize = 64;
/// The most terms a query may have: each is checked against every candidate, and a query of
/// thousands of one-character terms kept a thread busy for seconds.
pub const MAX_TERMS: usize = 8;

/// Whether `query` is beyond what is searched (too many characters or terms).
pub fn query_too_long(query: &str) -> bool {
    query.split_whitespace().count() > MAX_TERMS
        || query.chars().filter(|c| !c.is_whitespace()).count() > MAX_QUERY_CHARS
}

/// A character as searched: full-width forms (（集团）, ＡＢＣ) as their ASCII forms, letters in
/// upper case — one character for one, so that a match's place in the name is the place to
/// highlight. A name is found however its brackets and letters were typed.
fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        other => other,
    }
    .to_ascii_uppercase()
}

fn folded(name: &str) -> Option<Box<str>> {
    let f: String = name.chars().map(fold).collect();
    (f != name).then(|| f.into_boxed_str())
}

fn normalize(q: &str) -> String {
    q.chars().filter(|c| !c.is_whitespace()).map(fold).collect()
}

impl Inner {
    /// Entries, ranked; for a build.
    fn ranked(mut entries: Vec<Entry>) -> Inner {
        entries.sort_by(static_order);
        let mut inner = Inner::default();
        for e in entries {
            inner.add(e);
        }
        inner.ranked = inner.entries.len() as u32;
        inner
    }

    /// Takes a subject out of the results (its entry marked dead).
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.by_key.remove(key)
            && self.alive[old as usize]
        {
            self.alive[old as usize] = false;
            self.dead += 1;
        }
    }

    fn add(&mut self, e: Entry) {
        if let Some(&old) = self.by_key.get(&e.key) {
            let o = &self.entries[old as usize];
            if o.name == e.name
                && o.kind == e.kind
                && o.division == e.division
                && o.industry == e.industry
                && o.registered == e.registered
            {
                return;
            }
            self.alive[old as usize] = false;
            self.dead += 1;
        }
        let id = self.entries.len() as u32;
        let f = folded(&e.name);
        for g in grams(f.as_deref().unwrap_or(&e.name)) {
            self.grams.entry(g).or_default().push(id);
        }
        self.by_key.insert(e.key.clone(), id);
        self.entries.push(e);
        self.folded.push(f);
        self.alive.push(true);
    }
}

/// The last column: whether the portal lists the subject at all — registered, or reported in
/// a record its unit has not withdrawn. An organisation known only from records withdrawn as
/// reported in error kept its name on the portal (its page and search) for good.
const COLUMNS: &str = "subject_key, name, kind, division, industry, registered, updated_at,
    (registered OR EXISTS (SELECT 1 FROM records r WHERE r.subject_key = subjects.subject_key
        AND r.change <> 'withdrawn'))";

/// An entry and whether the portal lists it ([`COLUMNS`]).
type Listed = (Entry, bool);

/// An entry, its update time, and whether it is listed ([`COLUMNS`]).
fn entry_of(r: &store::Row) -> Result<(Entry, DateTime<Utc>, bool), StoreError> {
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
        r.bool(7)?,
    ))
}

/// The first page of one ranking class: the first `k` ranked entries met, and every unranked one.
#[derive(Default)]
struct Bucket {
    ranked: Vec<u32>,
    tail: Vec<u32>,
}

impl NameIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every organisation from the store.
    pub fn build(store: &Store) -> Result<NameIndex, StoreError> {
        // Submissions first: any seen here has committed, so the load below has its subjects.
        let submissions = store.submission_stamps(0)?;
        let (entries, last) = Self::load(store, None)?;
        let entries = entries
            .into_iter()
            .filter_map(|(e, shown)| shown.then_some(e))
            .collect();
        let mut inner = Inner::ranked(entries);
        inner.since = last;
        inner.submissions.mark(&submissions);
        Ok(NameIndex {
            inner: RwLock::new(inner),
        })
    }

    /// Organisations changed after `since`, or all of them; with the latest update time seen.
    fn load(
        store: &Store,
        since: Option<DateTime<Utc>>,
    ) -> Result<(Vec<Listed>, Option<DateTime<Utc>>), StoreError> {
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
                let (e, t, shown) = entry_of(r)?;
                if last.is_none_or(|l| t > l) {
                    last = Some(t);
                }
                after = e.key.clone();
                added.push((e, shown));
            }
            if since.is_some() {
                break;
            }
        }
        Ok((added, last))
    }

    /// Adds subjects first seen or changed since the last refresh; returns how many.
    pub fn refresh(&self, store: &Store) -> Result<usize, StoreError> {
        // The store is read without the index's lock held (a waiting writer would make every
        // search wait for the query).
        let (since, size, floor) = {
            let inner = self.inner.read().map_err(|_| StoreError::Poisoned)?;
            (inner.since, inner.entries.len(), inner.submissions.floor())
        };
        if since.is_none() {
            return self.rebuild(store);
        }
        let submissions = store.submission_stamps(floor)?;
        let late = self
            .inner
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .submissions
            .late(&submissions, since);
        let (mut added, last) = Self::load(store, since)?;
        for (id, _) in late {
            added.extend(Self::load_submission(store, id)?);
        }
        let n = added.len();
        if n > REBUILD_AFTER.max(size / 10) {
            self.rebuild(store)?;
            return Ok(n);
        }
        let mut inner = self.inner.write().map_err(|_| StoreError::Poisoned)?;
        for (e, shown) in added {
            if shown {
                inner.add(e);
            } else {
                inner.remove(&e.key);
            }
        }
        inner.since = last.max(since);
        inner.submissions.mark(&submissions);
        Ok(n)
    }

    /// The organisations a submission wrote records of, as they stand.
    fn load_submission(store: &Store, submission_id: i64) -> Result<Vec<Listed>, StoreError> {
        let rows = store.read(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM subjects WHERE kind <> 'natural_person' AND subject_key IN
                        (SELECT subject_key FROM record_versions WHERE submission_id = $1)"
                ),
                &[Val::Int(submission_id)],
            )
        })?;
        rows.iter()
            .map(|r| entry_of(r).map(|(e, _, shown)| (e, shown)))
            .collect()
    }

    /// Reads every organisation afresh and replaces the index with it, ranked again: a subject
    /// whose update time was at or before one already seen but which committed later, other
    /// than by a submission (which [`NameIndex::refresh`] catches by its id), is missed by the
    /// refresh; the server rebuilds hourly so that none stays missed.
    pub fn rebuild(&self, store: &Store) -> Result<usize, StoreError> {
        let fresh = NameIndex::build(store)?;
        let mut fresh = fresh.inner.into_inner().map_err(|_| StoreError::Poisoned)?;
        let n = fresh.entries.len();
        let mut inner = self.inner.write().map_err(|_| StoreError::Poisoned)?;
        fresh.submissions.carry_from(&inner.submissions);
        *inner = fresh;
        Ok(n)
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .map(|i| i.entries.len() - i.dead)
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches names; every term (split by spaces) must occur in the name. A query over
    /// [`MAX_QUERY_CHARS`] or [`MAX_TERMS`] finds nothing (see [`query_too_long`]).
    pub fn search(&self, query: &str, filters: &Filters, offset: usize, limit: usize) -> Results {
        let none = || Results {
            total: 0,
            hits: Vec::new(),
        };
        if query_too_long(query) {
            return none();
        }
        let terms: Vec<String> = query
            .split_whitespace()
            .map(normalize)
            .filter(|t| !t.is_empty())
            .collect();
        let Ok(inner) = self.inner.read() else {
            return none();
        };
        if terms.is_empty() {
            return none();
        }
        let whole: String = terms.concat();
        let first = terms[0].as_str();
        // Candidates: the entries of the rarest bigram over all terms (a bigram no entry has
        // means no hit), or every entry when all terms are one character.
        let rarest = terms
            .iter()
            .flat_map(|t| grams(t).collect::<Vec<_>>())
            .map(|g| (inner.grams.get(&g).map_or(0, Vec::len), g))
            .min_by_key(|(n, _)| *n);
        let list: Option<&[u32]> = match rarest {
            Some((0, _)) => return none(),
            Some((_, g)) => inner.grams.get(&g).map(Vec::as_slice),
            None => None,
        };
        // A two-character term that is the walked bigram itself needs no check: every entry of
        // the list contains it, and an entry's name never changes.
        let checks: Vec<Finder<'_>> = terms
            .iter()
            .filter(|t| {
                let mut cs = t.chars();
                let walked = match (cs.next(), cs.next(), cs.next(), rarest) {
                    (Some(a), Some(b), None, Some((_, g))) => gram(a, b) == g,
                    _ => false,
                };
                !walked
            })
            .map(|t| Finder::new(t.as_bytes()))
            .collect();
        let k = offset + limit;
        let mut total = 0usize;
        // Classes in rank order: the whole name, names that start with the first term, the rest.
        let mut buckets: [Bucket; 3] = Default::default();
        let mut visit = |id: u32| {
            if !inner.alive[id as usize] {
                return;
            }
            let e = &inner.entries[id as usize];
            let name = inner.folded[id as usize].as_deref().unwrap_or(&e.name);
            let kept = filters
                .division
                .as_ref()
                .is_none_or(|d| e.division.as_ref() == Some(d))
                && filters.kind.as_ref().is_none_or(|k| &e.kind == k)
                && filters
                    .industry
                    .as_ref()
                    .is_none_or(|i| e.industry.as_ref() == Some(i))
                && checks.iter().all(|f| f.find(name.as_bytes()).is_some());
            if !kept {
                return;
            }
            total += 1;
            let class = if name == whole {
                0
            } else if name.starts_with(first) {
                1
            } else {
                2
            };
            let b = &mut buckets[class];
            if id < inner.ranked {
                if b.ranked.len() < k {
                    b.ranked.push(id);
                }
            } else {
                b.tail.push(id);
            }
        };
        match list {
            Some(l) => l.iter().for_each(|&id| visit(id)),
            None => (0..inner.entries.len() as u32).for_each(visit),
        }
        let mut ordered: Vec<u32> = Vec::with_capacity(k);
        for b in buckets {
            if ordered.len() >= k {
                break;
            }
            let mut ids = b.ranked;
            if !b.tail.is_empty() {
                ids.extend(b.tail);
                ids.sort_by(|a, b| {
                    static_order(&inner.entries[*a as usize], &inner.entries[*b as usize])
                });
            }
            ordered.extend(ids.into_iter().take(k - ordered.len()));
        }
        let hits = ordered
            .iter()
            .skip(offset)
            .take(limit)
            .map(|id| {
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
            if chars[i..i + tc.len()]
                .iter()
                .zip(&tc)
                .all(|(&c, &t)| fold(c) == t)
            {
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

    /// A name is found however its brackets and letters are typed: the exact registered name
    /// with full-width brackets, half-width ones, lower case, full-width letters.
    #[test]
    fn brackets_and_letters_are_found_in_either_width_and_case() {
        let i = idx(&[
            ("a", "江苏盐城鹤鸣（集团）有限公司"),
            ("b", "盐城XYZ鹳鹤科技有限公司"),
        ]);
        let f = Filters::default();
        for (q, key) in [
            ("江苏盐城鹤鸣（集团）有限公司", "a"),
            ("（集团）", "a"),
            ("(集团)", "a"),
            ("鸣（", "a"),
            ("XYZ", "b"),
            ("xyz", "b"),
            ("ＸＹＺ", "b"),
            ("xyz鹳鹤", "b"),
        ] {
            let r = i.search(q, &f, 0, 10);
            assert_eq!(r.total, 1, "{q}");
            assert_eq!(r.hits[0].entry.key, key, "{q}");
            // The name is shown as registered, the match marked where it is.
            let marked: String = r.hits[0]
                .pieces
                .iter()
                .filter(|(_, m)| *m)
                .map(|(p, _)| p.as_str())
                .collect();
            assert_eq!(marked.chars().count(), normalize(q).chars().count(), "{q}");
        }
        // The exact name ranks as the whole name.
        let r = i.search("江苏盐城鹤鸣(集团)有限公司", &f, 0, 10);
        assert_eq!(r.hits[0].entry.name, "江苏盐城鹤鸣（集团）有限公司");
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

    /// A query of thousands of terms (each checked against every candidate) is not searched;
    /// one of eight terms is.
    #[test]
    fn overlong_queries_are_not_searched() {
        let i = idx(&[
            ("1", "建湖县恒泰化工有限公司"),
            ("2", "射阳县鑫达建材有限公司"),
        ]);
        let many = vec!["公"; 3000].join(" ");
        assert!(query_too_long(&many));
        assert_eq!(i.search(&many, &Filters::default(), 0, 10).total, 0);
        let eight = "建 湖 县 恒 泰 化 工 司";
        assert!(!query_too_long(eight));
        assert_eq!(i.search(eight, &Filters::default(), 0, 10).total, 1);
        assert!(query_too_long(&format!("{eight} 有")));
        let long_name = "有".repeat(MAX_QUERY_CHARS + 1);
        assert!(query_too_long(&long_name));
        assert!(!query_too_long(&long_name[3..]));
    }

    /// The ranking spelled out: score every name and sort them all.
    fn reference(entries: &[Entry], q: &str, f: &Filters) -> Vec<String> {
        let terms: Vec<String> = q.split_whitespace().map(normalize).collect();
        let whole = terms.concat();
        let mut hits: Vec<(i64, &Entry)> = entries
            .iter()
            .filter(|e| terms.iter().all(|t| e.name.contains(t.as_str())))
            .filter(|e| {
                f.division
                    .as_ref()
                    .is_none_or(|d| e.division.as_ref() == Some(d))
            })
            .map(|e| {
                let s = (e.name == whole) as i64 * 1_000_000
                    + e.name.starts_with(terms[0].as_str()) as i64 * 100_000
                    + e.registered as i64 * 10_000
                    - e.name.chars().count() as i64;
                (s, e)
            })
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        hits.iter().map(|(_, e)| e.key.clone()).collect()
    }

    #[test]
    fn ranked_walk_agrees_with_scoring_every_name() {
        let parts = [
            "建湖", "射阳", "盐城", "恒泰", "华盛", "化工", "建材", "有限", "公司", "湖建", "县",
            "市", "阳光",
        ];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        let mut entries: Vec<Entry> = (0..3000)
            .map(|i| {
                let n = 1 + next(5);
                let name: String = (0..n).map(|_| parts[next(parts.len())]).collect();
                Entry {
                    key: format!("k{i}"),
                    name,
                    kind: "organisation".into(),
                    division: Some(if next(2) == 0 { "320925" } else { "320924" }.into()),
                    industry: None,
                    registered: next(3) != 0,
                }
            })
            .collect();
        let idx = NameIndex {
            inner: RwLock::new(Inner::ranked(entries.clone())),
        };
        // Changes after the build: renames, a registration, new subjects (the unranked tail).
        for i in 0..200 {
            let mut e = entries[next(entries.len())].clone();
            if i % 3 == 0 {
                e.key = format!("new{i}");
            }
            e.name = format!("{}{}", parts[next(parts.len())], e.name);
            e.registered = !e.registered;
            idx.inner.write().unwrap().add(e.clone());
            match entries.iter_mut().find(|x| x.key == e.key) {
                Some(x) => *x = e,
                None => entries.push(e),
            }
        }
        let f = Filters {
            division: Some("320925".into()),
            ..Default::default()
        };
        for q in [
            "建湖",
            "公司",
            "有限公司",
            "县",
            "湖建 公司",
            "盐城市",
            "建湖县",
            "阳光 有限",
            "不存在",
        ] {
            for filters in [&Filters::default(), &f] {
                let want = reference(&entries, q, filters);
                for (offset, limit) in [(0, 20), (20, 20), (0, 5000)] {
                    let got = idx.search(q, filters, offset, limit);
                    assert_eq!(got.total, want.len(), "{q}");
                    let keys: Vec<String> = got.hits.iter().map(|h| h.entry.key.clone()).collect();
                    let want_page: Vec<String> =
                        want.iter().skip(offset).take(limit).cloned().collect();
                    // Equal names may come in either order; compare the names then.
                    let names = |ks: &[String]| -> Vec<String> {
                        ks.iter()
                            .map(|k| entries.iter().find(|e| &e.key == k).unwrap().name.clone())
                            .collect()
                    };
                    assert_eq!(names(&keys), names(&want_page), "{q} {offset}");
                }
            }
        }
        assert_eq!(idx.len(), entries.len());
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
