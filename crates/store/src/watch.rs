//! Catching submissions that commit late. The in-memory indexes (list entries, organisation
//! names) read what changed after the newest time stamp they have seen; a submission stamped
//! when it began and committed after a later-stamped change was read would never be seen by
//! that cursor. A [`SubmissionWatch`] remembers which submissions an index has read, so that a
//! new one whose stamp the cursor already passed — or one withdrawn since — is read by its id.
//! It reads only submissions above a floor that trails a day behind the newest id it saw (no
//! import stays open that long), and withdrawn ones, so the read stays small however many
//! pushes a year brings. An index rebuilt from scratch carries its old watch's floor over.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// How far behind the newest id the floor trails.
const FLOOR_LAG: Duration = Duration::from_secs(24 * 3600);

/// A submission as the watch reads it: id, the time stamp its rows carry, withdrawn.
pub type SubmissionStamp = (i64, DateTime<Utc>, bool);

#[derive(Default)]
pub struct SubmissionWatch {
    /// Submissions above the floor read so far, and whether they were withdrawn then.
    seen: HashMap<i64, bool>,
    floor: i64,
    /// (when, the newest id seen then): the floor moves up to a mark a day old.
    marks: VecDeque<(Instant, i64)>,
}

impl SubmissionWatch {
    /// Submissions with ids above this, and withdrawn ones, are the ones to read.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// Takes the floor and its marks from the watch of the index this one replaces (a rebuild
    /// reads everything again, but must not start the floor over).
    pub fn carry_from(&mut self, old: &SubmissionWatch) {
        self.floor = self.floor.max(old.floor);
        self.marks = old.marks.clone();
        self.prune();
    }

    fn prune(&mut self) {
        // Withdrawn ones stay: they are read whatever their id, and must not look new.
        let floor = self.floor;
        self.seen.retain(|id, withdrawn| *id > floor || *withdrawn);
    }

    /// Those of `subs` to read by id: new ones stamped at or before `since` (the cursor has
    /// passed them), and ones withdrawn since they were read. The first read (`since` None)
    /// reads everything by the cursor and needs none.
    pub fn late(&self, subs: &[SubmissionStamp], since: Option<DateTime<Utc>>) -> Vec<(i64, bool)> {
        let Some(since) = since else {
            return Vec::new();
        };
        subs.iter()
            .filter(|(id, at, withdrawn)| match self.seen.get(id) {
                None => *at <= since || *withdrawn,
                Some(was) => *withdrawn && !was,
            })
            .map(|(id, _, withdrawn)| (*id, *withdrawn))
            .collect()
    }

    /// Notes `subs` as read and moves the floor up.
    pub fn mark(&mut self, subs: &[SubmissionStamp]) {
        self.seen
            .extend(subs.iter().map(|(id, _, withdrawn)| (*id, *withdrawn)));
        let now = Instant::now();
        if let Some(newest) = subs.iter().map(|s| s.0).max() {
            self.marks.push_back((now, newest));
        }
        while let Some(&(at, id)) = self.marks.front() {
            if now.duration_since(at) < FLOOR_LAG {
                break;
            }
            self.marks.pop_front();
            self.floor = self.floor.max(id);
        }
        self.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_rebuilt_watch_keeps_the_floor_and_old_withdrawals() {
        let old = SubmissionWatch {
            floor: 10,
            marks: VecDeque::from([(Instant::now(), 12)]),
            ..Default::default()
        };
        let mut fresh = SubmissionWatch::default();
        fresh.mark(&[
            (3, t("2026-06-10T08:00:00Z"), true),
            (5, t("2026-06-10T08:00:00Z"), false),
            (12, t("2026-06-10T08:00:00Z"), false),
        ]);
        fresh.carry_from(&old);
        assert_eq!(fresh.floor(), 10);
        let since = Some(t("2026-06-10T09:00:00Z"));
        // An old withdrawal already read is not new; one below the floor read now is.
        let subs = [
            (3, t("2026-06-10T08:00:00Z"), true),
            (7, t("2026-06-10T08:00:00Z"), true),
            (12, t("2026-06-10T08:00:00Z"), false),
        ];
        assert_eq!(fresh.late(&subs, since), vec![(7, true)]);
    }

    #[test]
    fn new_submissions_behind_the_cursor_and_new_withdrawals_are_late() {
        let mut w = SubmissionWatch::default();
        let first = [(1, t("2026-06-10T08:00:00Z"), false)];
        assert!(w.late(&first, None).is_empty());
        w.mark(&first);
        let since = Some(t("2026-06-10T09:00:00Z"));
        let now = [
            (1, t("2026-06-10T08:00:00Z"), true),
            (2, t("2026-06-10T08:30:00Z"), false),
            (3, t("2026-06-10T09:30:00Z"), false),
        ];
        assert_eq!(w.late(&now, since), vec![(1, true), (2, false)]);
        w.mark(&now);
        assert!(w.late(&now, since).is_empty());
        assert_eq!(w.floor(), 0);
    }
}
