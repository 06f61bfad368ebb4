//! The audit trail's rule: what an entry says and how the chain binds it. Entry n's hash is
//! HMAC-SM3 under the platform's audit key (scheme 2, [`chain_hash_keyed`]) — or, for entries
//! written before the chain was keyed, plain SM3 (scheme 1, [`chain_hash`]) — of the hash of
//! entry n−1 ‖ the canonical encoding of entry n; the first entry follows 32 zero bytes. The
//! encoding is length-prefixed, so no choice of field values can make two entries encode alike.
//! Keyed, the chain cannot be recomputed by whoever can write the store but has not the key
//! file: a rewritten entry is found even before a checkpoint signs it.

use chrono::{DateTime, SubsecRound, Utc};
use sm3::digest::Update;
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

/// Entries hashed with plain SM3 (written before the chain was keyed).
pub const SCHEME_SM3: i64 = 1;
/// Entries hashed with HMAC-SM3 under the audit key. Once one is, every later one must be.
pub const SCHEME_HMAC_SM3: i64 = 2;

fn field(h: &mut impl Update, v: Option<&str>) {
    match v {
        Some(s) => {
            h.update(&(s.len() as u32).to_be_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(&u32::MAX.to_be_bytes()),
    }
}

/// HMAC block size of SM3 (GB/T 32905, 512-bit blocks).
const BLOCK: usize = 64;

/// The keyed chain hash of `e` following `prev`: HMAC-SM3 (RFC 2104) under `key` of what
/// [`chain_hash`] digests.
pub fn chain_hash_keyed(key: &[u8; 32], prev: &[u8], e: &AuditEntry) -> [u8; 32] {
    hmac(key, |h| encode(h, prev, e))
}

/// HMAC-SM3 (RFC 2104) under `key` of what `feed` gives the inner hash.
fn hmac(key: &[u8; 32], feed: impl FnOnce(&mut Sm3)) -> [u8; 32] {
    let mut pad = [0u8; BLOCK];
    pad[..key.len()].copy_from_slice(key);
    let mut inner = Sm3::new();
    Digest::update(&mut inner, pad.map(|b| b ^ 0x36));
    feed(&mut inner);
    let mut outer = Sm3::new();
    Digest::update(&mut outer, pad.map(|b| b ^ 0x5c));
    Digest::update(&mut outer, inner.finalize());
    outer.finalize().into()
}

/// What the platform records of its audit key (hex): a keyed hash of a fixed label, which says
/// whether a key file is the platform's without saying anything of the key.
pub fn key_id(key: &[u8; 32]) -> String {
    hmac(key, |h| Digest::update(h, b"xinyong-audit-key-id"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The chain hash of `e` following `prev`, by `scheme` ([`SCHEME_SM3`] or [`SCHEME_HMAC_SM3`]);
/// `None` for an unknown scheme, or a keyed one without the key.
pub fn chain_hash_by(
    scheme: i64,
    key: Option<&[u8; 32]>,
    prev: &[u8],
    e: &AuditEntry,
) -> Option<[u8; 32]> {
    match (scheme, key) {
        (SCHEME_SM3, _) => Some(chain_hash(prev, e)),
        (SCHEME_HMAC_SM3, Some(k)) => Some(chain_hash_keyed(k, prev, e)),
        _ => None,
    }
}

/// The chain hash of `e` following `prev` (scheme 1, unkeyed).
pub fn chain_hash(prev: &[u8], e: &AuditEntry) -> [u8; 32] {
    let mut h = Sm3::new();
    encode(&mut h, prev, e);
    h.finalize().into()
}

/// The bytes both hashes digest (to check the keyed hash against another HMAC).
pub fn chain_input(prev: &[u8], e: &AuditEntry) -> Vec<u8> {
    struct Collect(Vec<u8>);
    impl Update for Collect {
        fn update(&mut self, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
    }
    let mut c = Collect(Vec::new());
    encode(&mut c, prev, e);
    c.0
}

fn encode(h: &mut impl Update, prev: &[u8], e: &AuditEntry) {
    h.update(prev);
    field(h, Some(&e.seq.to_string()));
    field(
        h,
        Some(&audit_time(e.at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    );
    field(h, Some(&e.actor));
    field(h, Some(&e.role));
    field(h, e.unit.as_deref());
    field(h, Some(&e.action));
    field(h, e.object.as_deref());
    field(h, Some(&e.outcome));
    field(h, e.request_id.as_deref());
    field(h, e.client.as_deref());
    field(h, e.detail.as_deref());
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
