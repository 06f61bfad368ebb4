//! The list entries in force, in memory, by subject: what every check reads, so that a check
//! costs a hash lookup and not a query. Built from the store at start and kept current from
//! `records.updated_at` (new, corrected and ended entries), with the organisations a listed
//! person represents and the exceptions officers have marked. Beside them, the subjects'
//! administrative penalties that some measure is triggered by (`penalty` in `measures.toml`),
//! kept current the same way from their own cursor.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::Role;
use domain::measures::{PenaltyFacts, PenaltyTrigger, Via};
use domain::money::Fen;
use rulebook::Rulebook;
use store::{CheckException, Store, StoreError, payload_pairs};

/// A list entry as checks show it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub record_id: String,
    pub subject_key: String,
    pub subject_name: String,
    pub class_code: String,
    pub source_unit: String,
    pub listed_on: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub category: String,
    pub decision_no: String,
    pub reason: String,
    pub basis: String,
    pub deciding_unit: String,
    pub rectify_by: Option<NaiveDate>,
    pub under_objection: bool,
    pub hash: String,
    /// The legal representative the entry names (person key): held to it as the one registered
    /// is (seed 003 四（六）), even when the registration does not name them.
    pub named_rep: Option<String>,
    /// The legal representative's name as the entry gives it (empty when it names none).
    pub rep_name: String,
    /// For a penalty (class CF) a measure may be triggered by: its decision date, 处罚类别 and
    /// fine. None for a list entry.
    pub penalty: Option<PenaltyFacts>,
}

/// A penalty's basis as results show it: 处罚决定日期, 处罚类别, 罚款金额 in 元.
pub fn penalty_basis(p: &PenaltyFacts) -> String {
    let mut s = format!(
        "处罚决定日期：{}；处罚类别：{}",
        p.decided_on,
        p.categories.join("、")
    );
    if let Some(f) = p.fine {
        s.push_str(&format!("；罚款金额：{f}元"));
    }
    s
}

impl Entry {
    /// In force on `day`: listed by then and not past its validity. (A penalty's own window is
    /// the measure's, [`PenaltyTrigger::applies`].)
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.listed_on.is_none_or(|d| d <= day) && self.valid_to.is_none_or(|d| d >= day)
    }
}

#[derive(Default)]
struct Inner {
    by_subject: HashMap<String, Vec<Arc<Entry>>>,
    /// Organisation → its legal representative, kept only for representatives with entries.
    reps: HashMap<String, String>,
    /// Organisation with entries → its legal representative, and the reverse: the organisations
    /// with entries a person represents (a person is checked against them, seed 003 四（六）).
    org_reps: HashMap<String, String>,
    represents: HashMap<String, Vec<String>>,
    /// Person → organisations with an entry that names them as legal representative (kept as
    /// entries are read; an ended entry's pair stays, its entry is gone).
    named: HashMap<String, Vec<String>>,
    /// (subject, matter) → exceptions in force.
    exceptions: HashMap<(String, String), Vec<CheckException>>,
    entries_since: Option<DateTime<Utc>>,
    /// The time (by the wall clock, less [`SETTLE`]) before which every change stamped has
    /// committed, as of the last refresh: the cursor reads back to it.
    settled: Option<DateTime<Utc>>,
    reps_since: Option<DateTime<Utc>>,
    /// The list submissions read: one that commits after the cursor passed its time stamp (a
    /// long import, another process's), or whose withdrawal did, is read by its id.
    submissions: store::watch::SubmissionWatch,
    /// Subject → its penalties that some measure's penalty trigger could be met by (by
    /// category or fine; the years are judged at the check), with their own cursor, read-back
    /// point and submission watch.
    penalties: HashMap<String, Vec<Arc<Entry>>>,
    penalties_since: Option<DateTime<Utc>>,
    penalties_settled: Option<DateTime<Utc>>,
    penalty_submissions: store::watch::SubmissionWatch,
}

/// The index. Cheap to share; reads take a read lock for the length of a lookup.
pub struct ListIndex {
    inner: RwLock<Inner>,
    /// One refresh at a time: two overlapping ones (a request's and the background pass's)
    /// could apply an entry read before a change after the change itself.
    refreshing: std::sync::Mutex<()>,
    /// The list classes some measure targets.
    lists: Vec<String>,
    /// The measures' penalty triggers: a penalty is held when it meets one of them.
    triggers: Vec<PenaltyTrigger>,
}

/// The class of administrative penalties.
const PENALTIES: &str = "CF";

/// How long a single list action (an exit, a revocation) may take from its time stamp to its
/// commit, waiting for the store's writer included. The cursor reads this far back behind the
/// last refresh, so an action that commits after a later-stamped change was read is still seen
/// at the next refresh; one slower than this waits for the hourly rebuild.
const SETTLE: chrono::Duration = chrono::Duration::seconds(120);

const REASON_ITEMS: &[&str] = &["MD_LRYY", "SX_JTQX", "SX_SXXW", "MD_NR", "CF_WFXW"];

fn to_entry(rules: &Rulebook, e: &store::ListEntry) -> Entry {
    let items: HashMap<String, String> = payload_pairs(&e.payload).into_iter().collect();
    let class = rules.catalog.class_by_code(&e.class_code);
    let role = |r: Role| {
        class
            .and_then(|c| c.item_by_role(r))
            .and_then(|i| items.get(&i.code))
            .cloned()
            .unwrap_or_default()
    };
    let reason = REASON_ITEMS
        .iter()
        .find_map(|c| items.get(*c).filter(|v| !v.is_empty()).cloned())
        .unwrap_or_default();
    Entry {
        record_id: e.record_id.clone(),
        subject_key: e.subject_key.clone(),
        subject_name: role(Role::SubjectName),
        class_code: e.class_code.clone(),
        source_unit: e.source_unit.clone(),
        listed_on: e.listed_on,
        valid_to: e.valid_to,
        category: e.category.clone().unwrap_or_default(),
        decision_no: role(Role::DecisionNo),
        reason,
        basis: role(Role::LegalBasis),
        deciding_unit: {
            let u = role(Role::DecidingUnit);
            if u.is_empty() {
                e.source_unit.clone()
            } else {
                u
            }
        },
        rectify_by: items
            .get("MD_ZGQX")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        under_objection: e.under_objection,
        hash: e.hash.clone(),
        named_rep: e.legal_rep_key.clone(),
        rep_name: role(Role::LegalRep),
        penalty: None,
    }
}

/// A penalty as the index holds it: an entry with its facts (the decision date the record
/// keeps, the 处罚类别 as the catalog's enumeration names them, the fine exactly in fen).
fn to_penalty(rules: &Rulebook, e: &store::ListEntry) -> Option<Entry> {
    let decided_on = e.listed_on?;
    let fine_item = rules
        .catalog
        .class_by_code(&e.class_code)
        .and_then(|c| c.item_by_role(Role::Fine))
        .map(|i| i.code.clone());
    let fine = fine_item.and_then(|code| {
        payload_pairs(&e.payload)
            .into_iter()
            .find(|(k, _)| *k == code)
            .and_then(|(_, v)| Fen::parse_yuan(&v).ok())
    });
    let categories = e
        .category
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let mut entry = to_entry(rules, e);
    // The penalty's publicity end is not a validity: the measure's years count from the decision.
    entry.valid_to = None;
    entry.penalty = Some(PenaltyFacts {
        decided_on,
        categories,
        fine,
    });
    Some(entry)
}

impl ListIndex {
    pub fn new(rules: &Rulebook) -> ListIndex {
        ListIndex {
            inner: RwLock::new(Inner::default()),
            refreshing: std::sync::Mutex::new(()),
            lists: rules
                .measures
                .list_classes()
                .into_iter()
                .map(String::from)
                .collect(),
            triggers: rules
                .measures
                .penalty_triggers()
                .into_iter()
                .cloned()
                .collect(),
        }
    }

    /// Builds the index from the store.
    pub fn build(
        store: &Store,
        platform: &Store,
        rules: &Rulebook,
    ) -> Result<ListIndex, StoreError> {
        let index = ListIndex::new(rules);
        index.refresh(store, platform, rules)?;
        Ok(index)
    }

    /// Builds the index afresh from the store and swaps it in (readers see the old one until
    /// then). A safety net under the incremental refresh: its time-stamp cursor catches a late
    /// submission by its id, and a single list action that commits after a later-stamped change
    /// it has already read by reading [`SETTLE`] back, but not one slower than that.
    pub fn rebuild(
        &self,
        store: &Store,
        platform: &Store,
        rules: &Rulebook,
    ) -> Result<usize, StoreError> {
        let _one = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = ListIndex::build(store, platform, rules)?;
        let mut inner = fresh.inner.into_inner().map_err(|_| StoreError::Poisoned)?;
        let n = inner.by_subject.values().map(Vec::len).sum();
        let mut g = self.inner.write().map_err(|_| StoreError::Poisoned)?;
        inner.submissions.carry_from(&g.submissions);
        inner.penalty_submissions.carry_from(&g.penalty_submissions);
        *g = inner;
        Ok(n)
    }

    /// Brings the index up to date: entries changed since the last refresh, the organisations
    /// their persons represent, registrations that changed a representative, and exceptions.
    /// Returns how many entries it read (those changed, and those read again within
    /// [`SETTLE`]).
    pub fn refresh(
        &self,
        store: &Store,
        platform: &Store,
        rules: &Rulebook,
    ) -> Result<usize, StoreError> {
        self.refresh_with(store, platform, rules, true)
    }

    /// [`ListIndex::refresh`] without reading single actions back [`SETTLE`] behind the cursor
    /// (what a full refresh does, and goes on doing from where the last full one stopped): for
    /// a follower that looks every second, where reading back two minutes of a large import's
    /// rows each time would cost more than it finds.
    pub fn refresh_quick(
        &self,
        store: &Store,
        platform: &Store,
        rules: &Rulebook,
    ) -> Result<usize, StoreError> {
        self.refresh_with(store, platform, rules, false)
    }

    fn refresh_with(
        &self,
        store: &Store,
        platform: &Store,
        rules: &Rulebook,
        read_back: bool,
    ) -> Result<usize, StoreError> {
        let _one = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        let n = self.refresh_lists(store, platform, rules, read_back)?;
        Ok(n + self.refresh_penalties(store, rules, read_back)?)
    }

    /// What a whole read of the penalties takes: decided within the longest trigger's years
    /// (and a year more, so that a check clock a little behind the wall's loses none), with one
    /// of the triggers' categories or a fine at least the least of theirs.
    fn penalty_filter(&self, rules: &Rulebook, now: DateTime<Utc>) -> store::PenaltyFilter {
        let years = self
            .triggers
            .iter()
            .map(|t| t.within_years)
            .max()
            .unwrap_or(0);
        let mut categories: Vec<String> = Vec::new();
        for c in self.triggers.iter().flat_map(|t| &t.categories) {
            if !categories.contains(c) {
                categories.push(c.clone());
            }
        }
        let item = rules
            .catalog
            .class_by_code(PENALTIES)
            .and_then(|c| c.item_by_role(Role::Fine))
            .map(|i| i.code.clone());
        let least = self
            .triggers
            .iter()
            .filter_map(|t| t.fine_threshold())
            .min();
        store::PenaltyFilter {
            decided_from: crate::beijing_day(now)
                .checked_sub_months(chrono::Months::new(
                    years.saturating_add(1).saturating_mul(12),
                ))
                .unwrap_or(NaiveDate::MIN),
            categories,
            fine: item.zip(least.map(|f| f.to_string())),
            and_later_versions: false,
        }
    }

    /// The penalties some measure could be triggered by, changed since the last refresh: read
    /// as list entries are (time-stamp cursor, single actions read back [`SETTLE`] behind it,
    /// late or withdrawn submissions by id; only those [`Self::penalty_filter`] lets through,
    /// and later versions), and kept only when their category or fine meets some trigger — a
    /// few of millions of penalties.
    fn refresh_penalties(
        &self,
        store: &Store,
        rules: &Rulebook,
        read_back: bool,
    ) -> Result<usize, StoreError> {
        if self.triggers.is_empty() {
            return Ok(0);
        }
        let (since, settled, floor) = {
            let g = self.inner.read().map_err(|_| StoreError::Poisoned)?;
            (
                g.penalties_since,
                g.penalties_settled,
                g.penalty_submissions.floor(),
            )
        };
        let started = Utc::now();
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let submissions = store.list_submissions(&[PENALTIES], floor)?;
        let late = self
            .inner
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .penalty_submissions
            .late(&submissions, since);
        // Only what could qualify; a refresh also every later version, so that a held penalty
        // corrected out of qualifying (or to an older date), withdrawn or repaired leaves.
        let mut only = self.penalty_filter(rules, started);
        only.and_later_versions = since.is_some();
        // Read before the records: whatever it covers, the read below has seen (filtered), and
        // the cursor goes past it — not back to the newest penalty kept, which would have the
        // next refresh read again every new penalty the filter passed over.
        let read_to = store.class_changed_last(PENALTIES)?;
        let (mut live, mut ended) =
            store.penalties_since(PENALTIES, since.unwrap_or(epoch), Some(&only))?;
        if let (true, Some(s), Some(t)) = (read_back, since, settled)
            && t < s
        {
            add_unseen(
                &mut live,
                &mut ended,
                store.list_actions_since(&[PENALTIES], t)?,
            );
        }
        add_late(store, &[PENALTIES], late, &mut live, &mut ended)?;
        let changed = live.len() + ended.len();
        let newest = live.iter().map(|e| e.updated_at).max();
        let mut g = self.inner.write().map_err(|_| StoreError::Poisoned)?;
        // A corrected penalty that no longer qualifies leaves as an ended one does.
        let mut gone = ended;
        let mut kept = Vec::new();
        for e in &live {
            match to_penalty(rules, e) {
                Some(p)
                    if p.penalty
                        .as_ref()
                        .is_some_and(|f| self.triggers.iter().any(|t| t.qualifies(f))) =>
                {
                    kept.push(p)
                }
                _ => gone.push((e.subject_key.clone(), e.record_id.clone())),
            }
        }
        for (subject, id) in &gone {
            if let Some(v) = g.penalties.get_mut(subject) {
                v.retain(|e| &e.record_id != id);
                if v.is_empty() {
                    g.penalties.remove(subject);
                }
            }
        }
        for p in kept {
            let v = g.penalties.entry(p.subject_key.clone()).or_default();
            v.retain(|x| x.record_id != p.record_id);
            put_in_order(v, p);
        }
        g.penalty_submissions.mark(&submissions);
        g.penalties_since = newest.max(since).max(read_to).or(Some(epoch));
        // Without the read-back, what it would have read is still to be read by the next one.
        if read_back || settled.is_none() {
            g.penalties_settled = Some(started - SETTLE);
        }
        Ok(changed)
    }

    fn refresh_lists(
        &self,
        store: &Store,
        platform: &Store,
        rules: &Rulebook,
        full: bool,
    ) -> Result<usize, StoreError> {
        let lists: Vec<&str> = self.lists.iter().map(String::as_str).collect();
        // The store is read without the index's lock held (a waiting writer would make every
        // check wait for the query); refreshes themselves run one at a time.
        let (since, settled, reps_since, floor) = {
            let g = self.inner.read().map_err(|_| StoreError::Poisoned)?;
            (
                g.entries_since,
                g.settled,
                g.reps_since,
                g.submissions.floor(),
            )
        };
        // Single actions (no submission: an exit, a revocation, a withdrawal) are read back to
        // what had surely committed at the last refresh: one stamped before the newest change
        // read may have committed after it. Submissions have their watch. Reading an entry
        // again is harmless (its current version replaces itself).
        let read_back = match (since, settled) {
            (Some(s), Some(t)) if full && t < s => Some(t),
            _ => None,
        };
        let started = Utc::now();
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        // Submissions first: any seen here has committed, so the reads below include its rows.
        let submissions = store.list_submissions(&lists, floor)?;
        let late = self
            .inner
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .submissions
            .late(&submissions, since);
        let (mut live, mut ended) = store.list_entries_since(&lists, since.unwrap_or(epoch))?;
        if let Some(t) = read_back {
            add_unseen(&mut live, &mut ended, store.list_actions_since(&lists, t)?);
        }
        // Committed (or withdrawn) after the cursor passed their time stamp: the cursor would
        // never see them. Read after the cursor's read, what they say of a record stands.
        add_late(store, &lists, late, &mut live, &mut ended)?;
        let exceptions = platform.exceptions(None)?;
        let changed = live.len() + ended.len();
        let newest = live.iter().map(|e| e.updated_at).max();
        let fresh: Vec<Entry> = live.iter().map(|e| to_entry(rules, e)).collect();
        // Persons newly with entries: find the organisations they represent.
        let new_persons: Vec<String> = {
            let g = self.inner.read().map_err(|_| StoreError::Poisoned)?;
            fresh
                .iter()
                .filter(|e| {
                    e.subject_key.starts_with('P') && !g.by_subject.contains_key(&e.subject_key)
                })
                .map(|e| e.subject_key.clone())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        let represented = store.represented_by(&new_persons)?;
        // Organisations newly with entries: find who represents them.
        let new_orgs: Vec<String> = {
            let g = self.inner.read().map_err(|_| StoreError::Poisoned)?;
            fresh
                .iter()
                .filter(|e| {
                    !e.subject_key.starts_with('P') && !g.by_subject.contains_key(&e.subject_key)
                })
                .map(|e| e.subject_key.clone())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        };
        let org_reps = store.legal_reps_of(&new_orgs)?;
        // Registrations changed since the last look (first build: the query above covers them).
        let (rep_changes, reps_newest) = match reps_since {
            Some(t) => store.legal_reps_changed(t)?,
            None => (Vec::new(), None),
        };
        let mut g = self.inner.write().map_err(|_| StoreError::Poisoned)?;
        for (subject, id) in &ended {
            if let Some(v) = g.by_subject.get_mut(subject) {
                v.retain(|e| &e.record_id != id);
                if v.is_empty() {
                    g.by_subject.remove(subject);
                }
            }
        }
        for e in fresh {
            if let Some(rep) = &e.named_rep {
                let orgs = g.named.entry(rep.clone()).or_default();
                if !orgs.contains(&e.subject_key) {
                    orgs.push(e.subject_key.clone());
                }
            }
            let v = g.by_subject.entry(e.subject_key.clone()).or_default();
            v.retain(|x| x.record_id != e.record_id);
            put_in_order(v, e);
        }
        for (org, person) in represented {
            g.reps.insert(org, person);
        }
        // Whether who represents a listed organisation changed (the reverse map is rebuilt).
        let mut reps_changed = false;
        for (org, person) in org_reps {
            reps_changed |= g.org_reps.insert(org, person.clone()).as_ref() != Some(&person);
        }
        for (org, person) in rep_changes {
            match &person {
                Some(p) if g.by_subject.contains_key(p) => {
                    g.reps.insert(org.clone(), p.clone());
                }
                _ => {
                    g.reps.remove(&org);
                }
            }
            reps_changed |= match person {
                Some(p) if g.by_subject.contains_key(&org) => {
                    g.org_reps.insert(org, p.clone()).as_ref() != Some(&p)
                }
                _ => g.org_reps.remove(&org).is_some(),
            };
        }
        // Representatives no longer listed.
        let Inner {
            reps,
            by_subject,
            org_reps,
            represents,
            ..
        } = &mut *g;
        reps.retain(|_, p| by_subject.contains_key(p));
        // Organisations no longer listed; the reverse map follows.
        let before = org_reps.len();
        org_reps.retain(|o, _| by_subject.contains_key(o));
        if reps_changed || org_reps.len() != before {
            represents.clear();
            for (org, person) in org_reps.iter() {
                represents
                    .entry(person.clone())
                    .or_default()
                    .push(org.clone());
            }
        }
        g.exceptions.clear();
        for e in exceptions {
            g.exceptions
                .entry((e.subject_key.clone(), e.matter.clone()))
                .or_default()
                .push(e);
        }
        g.submissions.mark(&submissions);
        g.entries_since = newest.max(since).or(Some(epoch));
        // Without the read-back, what it would have read is still to be read by the next one.
        if full || settled.is_none() {
            g.settled = Some(started - SETTLE);
        }
        // Strictly after the newest change seen: a big import's rows share one time stamp and
        // would otherwise be read again on every pass.
        g.reps_since = reps_newest.or(reps_since).or(Some(started));
        Ok(changed)
    }

    /// The subject's entries (all, in force or not).
    pub fn entries(&self, subject_key: &str) -> Vec<Arc<Entry>> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.by_subject.get(subject_key).cloned())
            .unwrap_or_default()
    }

    /// The subject's penalties that some measure's trigger could be met by (whatever their
    /// date: the years are the measure's, judged at the check).
    pub fn penalties(&self, subject_key: &str) -> Vec<Arc<Entry>> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.penalties.get(subject_key).cloned())
            .unwrap_or_default()
    }

    /// Whether some measure is triggered by penalties (a penalty submission then refreshes the
    /// index at once, as a list submission does).
    pub fn watches_penalties(&self) -> bool {
        !self.triggers.is_empty()
    }

    /// The legal representative of an organisation, when that person has entries.
    pub fn listed_rep(&self, org: &str) -> Option<String> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.reps.get(org).cloned())
    }

    /// Entries in force on `day` whose rectification deadline (限期整改) has passed: a deadline
    /// on a day off moves to the next working day (rules.md, 民法典 第二百零三条), and acting on
    /// it is in time.
    pub fn rectification_overdue(
        &self,
        day: NaiveDate,
        calendar: &domain::calendar::WorkCalendar,
    ) -> Vec<Arc<Entry>> {
        self.inner
            .read()
            .map(|g| {
                g.by_subject
                    .values()
                    .flatten()
                    .filter(|e| {
                        e.in_force(day)
                            && e.rectify_by
                                .is_some_and(|d| calendar.next_workday_on_or_after(d) < day)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The entries a check of `key` can meet, with whose they are: its own (and its penalties
    /// some measure may be triggered by), its legal representative's, and those of the
    /// organisations it represents.
    pub fn entries_around(&self, key: &str) -> Vec<(Arc<Entry>, Via)> {
        let mut out: Vec<_> = self
            .entries(key)
            .into_iter()
            .chain(self.penalties(key))
            .map(|e| (e, Via::Subject))
            .collect();
        if let Some(rep) = self.listed_rep(key) {
            out.extend(self.entries(&rep).into_iter().map(|e| (e, Via::LegalRep)));
        }
        out.extend(
            self.represented_entries(key)
                .into_iter()
                .map(|e| (e, Via::RepresentedOrg)),
        );
        out
    }

    /// The entries of the organisations a person represents: those of organisations whose
    /// registration names them, and entries that themselves name them as the organisation's
    /// legal representative (where the registration, if the platform holds one, does not).
    pub fn represented_entries(&self, person: &str) -> Vec<Arc<Entry>> {
        let registered = self.represented_orgs(person);
        let mut out: Vec<Arc<Entry>> = registered.iter().flat_map(|o| self.entries(o)).collect();
        // An organisation an entry names the person as representing: its entries that name
        // no one else (one naming the representative by name only is the organisation's
        // entry all the same — a court's 失信被执行人 entry of the company was left out while
        // the credit office's entry named the person).
        for org in self.named_orgs(person) {
            if registered.contains(&org) {
                continue;
            }
            out.extend(
                self.entries(&org)
                    .into_iter()
                    .filter(|e| e.named_rep.as_deref().is_none_or(|r| r == person)),
            );
        }
        out.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        out
    }

    fn named_orgs(&self, person: &str) -> Vec<String> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.named.get(person).cloned())
            .unwrap_or_default()
    }

    /// The organisations with entries that a person represents as legal representative.
    pub fn represented_orgs(&self, person: &str) -> Vec<String> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.represents.get(person).cloned())
            .unwrap_or_default()
    }

    /// Exceptions for a subject and matter.
    pub fn exceptions(&self, subject_key: &str, matter: &str) -> Vec<CheckException> {
        self.inner
            .read()
            .ok()
            .and_then(|g| {
                g.exceptions
                    .get(&(subject_key.to_string(), matter.to_string()))
                    .cloned()
            })
            .unwrap_or_default()
    }

    /// Entries and subjects held.
    pub fn size(&self) -> (usize, usize) {
        self.inner
            .read()
            .map(|g| {
                (
                    g.by_subject.values().map(Vec::len).sum(),
                    g.by_subject.len(),
                )
            })
            .unwrap_or((0, 0))
    }

    pub fn lists(&self) -> Vec<&str> {
        self.lists.iter().map(String::as_str).collect()
    }
}

/// Adds to what a refresh read the changes `read` brings that it did not read already (single
/// actions read back behind the cursor).
fn add_unseen(
    live: &mut Vec<store::ListEntry>,
    ended: &mut Vec<(String, String)>,
    (l, e): store::EntryChanges,
) {
    let seen: HashSet<String> = live
        .iter()
        .map(|e| e.record_id.clone())
        .chain(ended.iter().map(|(_, id)| id.clone()))
        .collect();
    live.extend(l.into_iter().filter(|x| !seen.contains(&x.record_id)));
    ended.extend(e.into_iter().filter(|(_, id)| !seen.contains(id)));
}

/// What submissions that committed (or were withdrawn) after the cursor passed their time stamp
/// say of their records, in place of what the refresh read of those records: the cursor would
/// never see them, and read after its read, what they say stands.
fn add_late(
    store: &Store,
    classes: &[&str],
    late: Vec<(i64, bool)>,
    live: &mut Vec<store::ListEntry>,
    ended: &mut Vec<(String, String)>,
) -> Result<(), StoreError> {
    if late.is_empty() {
        return Ok(());
    }
    let (mut l2, mut e2) = (Vec::new(), Vec::new());
    for (id, withdrawn) in late {
        let (l, e) = store.list_entries_of_submission(classes, id, withdrawn)?;
        l2.extend(l);
        e2.extend(e);
    }
    let newer: HashSet<String> = l2
        .iter()
        .map(|e| e.record_id.clone())
        .chain(e2.iter().map(|(_, id)| id.clone()))
        .collect();
    live.retain(|e| !newer.contains(&e.record_id));
    ended.retain(|(_, id)| !newer.contains(id));
    live.extend(l2);
    ended.extend(e2);
    Ok(())
}

/// Keeps a subject's entries in the order of their record ids, whatever order the store gave
/// them in: a check (and a signed batch result) lists them the same on every server and every
/// day, on either backend.
fn put_in_order(v: &mut Vec<Arc<Entry>>, e: Entry) {
    let at = v.partition_point(|x| x.record_id < e.record_id);
    v.insert(at, Arc::new(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subjects_entries_stay_in_record_order_whatever_order_they_come_in() {
        let mut v = Vec::new();
        for id in ["S-c", "S-a", "S-d", "S-b"] {
            put_in_order(
                &mut v,
                Entry {
                    record_id: id.into(),
                    ..Default::default()
                },
            );
        }
        let ids: Vec<&str> = v.iter().map(|e| e.record_id.as_str()).collect();
        assert_eq!(ids, ["S-a", "S-b", "S-c", "S-d"]);
    }
}
