//! The domain of Xinyong: pure types and rules of public credit information, with no I/O.
//!
//! - [`ids`]: USCC and resident ID numbers that cannot hold invalid values, with verdicts.
//! - [`catalog`]: the information classes and their data items.
//! - [`units`]: source units and the city's administrative divisions.
//! - [`calendar`]: working days with 调休 and month arithmetic.
//! - [`publicity`]: penalty publicity windows by regime.
//! - [`money`]: exact amounts (万元 in, fen kept, 元 shown).
//! - [`monitoring`]: the 双公示 rates and the warning thresholds.
//! - [`measures`]: matters, joint reward and punishment measures, and how a check is evaluated.
//! - [`lists`]: which change may follow which on a list entry (整改, 移出, 撤销, 到期).
//! - [`record`]: subjects, versions and statuses.
//! - [`clock`]: Beijing time behind a trait tests can set.
//! - [`audit`]: how audit entries are chained (SM3) and what a checkpoint signs.
//! - [`text`]: full-width characters folded to ASCII, as identifiers, amounts and dates need.
//! - [`workflow`]: repair and objection state machines, their clocks, repair eligibility.
//!
//! Rules are data: every table here is parsed from text the `rulebook` crate supplies.

pub mod audit;
pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod ids;
pub mod lists;
pub mod measures;
pub mod money;
pub mod monitoring;
pub mod publicity;
pub mod record;
pub mod text;
pub mod units;
pub mod workflow;
