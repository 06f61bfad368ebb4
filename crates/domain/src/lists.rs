//! List entries (红名单, 严重失信主体名单, 重点关注名单, 失信被执行人) and the changes a deciding unit
//! makes to them after listing: a rectification deadline (限期整改), early exit on application
//! (提前移出), revocation (撤销认定), and expiry (到期移出, by the platform when the validity
//! ends). Each is a new version of the entry with who, when and why; here are the rules for
//! which change may follow which.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::record::ChangeKind;

/// How the version a rectification (限期整改) writes begins its reason: that version is a
/// 更正 in the store (the entry's content as reported, with the deadline added), and is named
/// for what it is where versions are shown.
pub const RECTIFY_REASON: &str = "限期整改（整改期限至";

/// The serious lists (the platform's 严重失信主体名单 and the courts' 失信被执行人).
pub const SERIOUS_LISTS: &[&str] = &["YZSX", "SXBZXR"];

/// The red list (守信激励).
pub const RED_LIST: &str = "HMD";

/// A subject on a serious list now is no 守信激励 object while it is (checks drop its incentives
/// as well): its red entry is not published beside the serious one, on the list page nor on its
/// own page.
pub const RED_SUSPENDED_BY: &[&str] = SERIOUS_LISTS;

/// What a deciding unit (or the platform, for expiry) does to an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ListAction {
    /// Sets or moves the rectification deadline; the entry stays in force.
    Rectify { deadline: NaiveDate },
    /// Ends the entry early on the subject's application, after rectification.
    Exit,
    /// Revokes the listing decision (wrongly listed, decision annulled).
    Revoke,
    /// Ends the entry at the end of its validity.
    Expire,
}

impl ListAction {
    pub fn label(&self) -> &'static str {
        match self {
            ListAction::Rectify { .. } => "限期整改",
            ListAction::Exit => "提前移出",
            ListAction::Revoke => "撤销认定",
            ListAction::Expire => "到期移出",
        }
    }
    /// The version kind the action writes (a rectification keeps the entry current).
    pub fn change(&self) -> ChangeKind {
        match self {
            ListAction::Rectify { .. } => ChangeKind::Corrected,
            ListAction::Exit => ChangeKind::Exited,
            ListAction::Revoke => ChangeKind::Revoked,
            ListAction::Expire => ChangeKind::Expired,
        }
    }
}

/// The facts about an entry that decide whether an action may follow.
#[derive(Debug, Clone, Copy)]
pub struct EntryFacts {
    pub change: ChangeKind,
    pub listed_on: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// The entry's list rewards (守信激励, the red list): it carries no punishment, so there is
    /// nothing to rectify.
    pub rewards: bool,
}

/// Checks an action against the entry's state on `today`; the error says why, in Chinese.
pub fn check_action(
    f: EntryFacts,
    action: &ListAction,
    reason: &str,
    today: NaiveDate,
) -> Result<(), String> {
    // A wrong listing is revoked even after it ended by exit or expiry (盐政办发〔2020〕33号
    // 四（六）: 错误认定 is revoked and its harm undone), so the history does not keep it as a
    // valid past listing.
    let revocable_after_end = matches!(action, ListAction::Revoke)
        && matches!(f.change, ChangeKind::Exited | ChangeKind::Expired);
    if f.change.ends() && !revocable_after_end {
        return Err(format!(
            "该名单记录已{}，不能再{}",
            f.change.label(),
            action.label()
        ));
    }
    if reason.trim().is_empty() && !matches!(action, ListAction::Expire) {
        return Err(format!("{}须说明理由", action.label()));
    }
    match action {
        ListAction::Rectify { .. } if f.rewards => {
            return Err(
                "守信激励（红）名单不是惩戒名单，没有须整改的失信行为，不能限期整改；认定有误的请撤销认定，不再符合条件的请提前移出"
                    .into(),
            );
        }
        ListAction::Rectify { deadline } => {
            if *deadline <= today {
                return Err(format!("整改期限{deadline}应晚于今天（{today}）"));
            }
            if f.valid_to.is_some_and(|v| *deadline > v) {
                return Err(format!(
                    "整改期限{deadline}晚于名单有效期{}",
                    f.valid_to.map(|v| v.to_string()).unwrap_or_default()
                ));
            }
        }
        ListAction::Expire => match f.valid_to {
            Some(v) if v < today => {}
            Some(v) => return Err(format!("名单有效期至{v}，尚未届满")),
            None => return Err("该名单记录没有有效期，不会到期移出".into()),
        },
        ListAction::Exit | ListAction::Revoke => {
            if f.listed_on.is_some_and(|d| d > today) {
                return Err("列入日期尚未到来".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn facts(change: ChangeKind, valid_to: Option<&str>) -> EntryFacts {
        EntryFacts {
            change,
            listed_on: Some(d("2026-01-10")),
            valid_to: valid_to.map(d),
            rewards: false,
        }
    }

    #[test]
    fn transitions() {
        let today = d("2026-06-01");
        let live = facts(ChangeKind::Created, Some("2029-01-10"));
        let rectify = ListAction::Rectify {
            deadline: d("2026-09-01"),
        };
        assert!(check_action(live, &rectify, "督促整改", today).is_ok());
        assert!(
            check_action(live, &rectify, " ", today)
                .unwrap_err()
                .contains("须说明理由")
        );
        let past = ListAction::Rectify {
            deadline: d("2026-05-01"),
        };
        assert!(
            check_action(live, &past, "x", today)
                .unwrap_err()
                .contains("应晚于今天")
        );
        let beyond = ListAction::Rectify {
            deadline: d("2030-01-01"),
        };
        assert!(
            check_action(live, &beyond, "x", today)
                .unwrap_err()
                .contains("晚于名单有效期")
        );
        // A red-list entry punishes nothing: nothing to rectify; it may still exit or be revoked.
        let red = EntryFacts {
            rewards: true,
            ..live
        };
        assert!(
            check_action(red, &rectify, "督促整改", today)
                .unwrap_err()
                .contains("不能限期整改")
        );
        assert!(check_action(red, &ListAction::Exit, "不再符合条件", today).is_ok());
        assert!(check_action(red, &ListAction::Revoke, "认定有误", today).is_ok());
        assert!(check_action(live, &ListAction::Exit, "已整改到位", today).is_ok());
        assert!(check_action(live, &ListAction::Revoke, "认定决定被撤销", today).is_ok());
        // Expiry only after the validity ends.
        assert!(
            check_action(live, &ListAction::Expire, "", today)
                .unwrap_err()
                .contains("尚未届满")
        );
        let old = facts(ChangeKind::Corrected, Some("2026-05-31"));
        assert!(check_action(old, &ListAction::Expire, "", today).is_ok());
        assert!(
            check_action(
                facts(ChangeKind::Created, None),
                &ListAction::Expire,
                "",
                today
            )
            .is_err()
        );
        // Nothing follows an ended entry.
        for ended in [
            ChangeKind::Exited,
            ChangeKind::Revoked,
            ChangeKind::Expired,
            ChangeKind::Withdrawn,
            ChangeKind::Repaired,
        ] {
            let e = check_action(
                facts(ended, Some("2029-01-10")),
                &ListAction::Exit,
                "x",
                today,
            )
            .unwrap_err();
            assert!(e.contains("不能再提前移出"), "{e}");
        }
        // A wrong listing is revoked even after it left the list by exit or expiry; nothing
        // follows a revocation, a withdrawal or a repair.
        for (ended, ok) in [
            (ChangeKind::Exited, true),
            (ChangeKind::Expired, true),
            (ChangeKind::Revoked, false),
            (ChangeKind::Withdrawn, false),
            (ChangeKind::Repaired, false),
        ] {
            let r = check_action(
                facts(ended, Some("2029-01-10")),
                &ListAction::Revoke,
                "错误认定",
                today,
            );
            assert_eq!(r.is_ok(), ok, "{ended:?}: {r:?}");
        }
    }
}
