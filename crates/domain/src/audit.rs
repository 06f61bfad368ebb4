//! The audit trail's rule: what an entry says and how the chain binds it. Entry n's hash is
//! SM3(hash of entry n−1 ‖ canonical encoding of entry n); the first entry follows 32 zero bytes.
//! The encoding is length-prefixed, so no choice of field values can make two entries encode alike.

use chrono::{DateTime, SubsecRound, Utc};
use sm3::{Digest, Sm3};

/// One audit entry as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub unit: Option<String>,
    pub action: String,
    pub object: Option<String>,
    /// `ok`, `denied`, `failed` or `rejected`, with a short reason after a colon when useful.
    pub outcome: String,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub detail: Option<String>,
}

pub const GENESIS: [u8; 32] = [0; 32];

/// Timestamps are kept to the microsecond on both stores.
pub fn audit_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn field(h: &mut Sm3, v: Option<&str>) {
    match v {
        Some(s) => {
            h.update((s.len() as u32).to_be_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(u32::MAX.to_be_bytes()),
    }
}

/// The chain hash of `e` following `prev`.
pub fn chain_hash(prev: &[u8], e: &AuditEntry) -> [u8; 32] {
    let mut h = Sm3::new();
    h.update(prev);
    field(&mut h, Some(&e.seq.to_string()));
    field(
        &mut h,
        Some(&audit_time(e.at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    );
    field(&mut h, Some(&e.actor));
    field(&mut h, Some(&e.role));
    field(&mut h, e.unit.as_deref());
    field(&mut h, Some(&e.action));
    field(&mut h, e.object.as_deref());
    field(&mut h, Some(&e.outcome));
    field(&mut h, e.request_id.as_deref());
    field(&mut h, e.client.as_deref());
    field(&mut h, e.detail.as_deref());
    h.finalize().into()
}

/// The message an SM2 checkpoint signs.
pub fn checkpoint_message(seq_upto: i64, hash: &[u8], at: DateTime<Utc>) -> Vec<u8> {
    format!(
        "xinyong-audit-checkpoint|{seq_upto}|{}|{}",
        hex_lower(hash),
        audit_time(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
    .into_bytes()
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, actor: &str, unit: Option<&str>) -> AuditEntry {
        AuditEntry {
            seq,
            at: DateTime::from_timestamp(1_790_000_000, 123_456_789).unwrap(),
            actor: actor.into(),
            role: "admin".into(),
            unit: unit.map(str::to_string),
            action: "login".into(),
            object: None,
            outcome: "ok".into(),
            request_id: None,
            client: None,
            detail: None,
        }
    }

    #[test]
    fn every_field_and_the_predecessor_count() {
        let a = chain_hash(&GENESIS, &entry(1, "张三", None));
        assert_ne!(a, chain_hash(&GENESIS, &entry(1, "李四", None)));
        assert_ne!(a, chain_hash(&GENESIS, &entry(2, "张三", None)));
        assert_ne!(a, chain_hash(&[1; 32], &entry(1, "张三", None)));
        // An empty unit is not the same as no unit.
        assert_ne!(a, chain_hash(&GENESIS, &entry(1, "张三", Some(""))));
        // Nanoseconds below the microsecond do not count (stores keep microseconds).
        let mut e = entry(1, "张三", None);
        e.at = DateTime::from_timestamp(1_790_000_000, 123_456_000).unwrap();
        assert_eq!(a, chain_hash(&GENESIS, &e));
    }
}
