//! The audit trail (审计日志): every write and every sensitive read leaves an entry; entries form
//! an SM3 hash chain (`domain::audit`); the platform signs a checkpoint of the chain with SM2
//! within minutes of new entries, after checking the entries since the last one, and notes the
//! head it signed in the anchor beside the key file ([`anchor`]); [`verify`] recomputes the
//! chain, checks every checkpoint and every anchored head, reports the first break and the
//! entries no checkpoint covers yet. Appends are group-committed by one writer thread, so that thousands of requests a
//! second each wait for their entry to be durable without a transaction each.

pub mod anchor;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crypto::KeyRing;
use domain::audit::{GENESIS, SCHEME_SM3, chain_hash_by, checkpoint_message};
use serde::Serialize;
pub use store::NewAuditEntry;
use store::{Checkpoint, Store, StoreError, StoredAudit};

use crate::anchor::{Anchor, AnchorFile};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit writer has stopped")]
    Stopped,
    /// The chain since the last checkpoint (or anchor) does not hold together: not signed.
    #[error("拒绝签署检查点：第{seq}条：{reason}")]
    Unsound { seq: i64, reason: String },
    #[error("审计锚点文件 {path} 读写失败：{message}")]
    Anchor { path: String, message: String },
}

enum Reply {
    Async(tokio::sync::oneshot::Sender<Result<i64, String>>),
    Blocking(Sender<Result<i64, String>>),
}

struct Job {
    entry: NewAuditEntry,
    reply: Reply,
}

/// The append side of the trail.
#[derive(Clone)]
pub struct AuditLog {
    tx: Sender<Job>,
    pub queue: Arc<AtomicUsize>,
    pub written: Arc<AtomicU64>,
}

/// Entries committed per transaction at most.
const GROUP: usize = 512;
/// How long the writer waits for one more entry (see `Store::gather_group`).
const LINGER: Duration = Duration::from_micros(150);

impl AuditLog {
    /// Starts the writer thread on the platform store. `in_flight` counts the requests the
    /// server is handling: a group is committed as soon as every one of them is waiting in it.
    pub fn start(store: Arc<Store>, in_flight: Arc<AtomicUsize>) -> AuditLog {
        let (tx, rx) = mpsc::channel::<Job>();
        let queue = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let (q, w) = (queue.clone(), written.clone());
        std::thread::Builder::new()
            .name("xy-audit".into())
            .spawn(move || writer(store, rx, q, w, in_flight))
            .expect("spawn audit writer");
        AuditLog { tx, queue, written }
    }

    /// Appends an entry and waits until it is committed; returns its sequence number.
    pub async fn record(&self, entry: NewAuditEntry) -> Result<i64, AuditError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.queue.fetch_add(1, Ordering::Relaxed);
        self.tx
            .send(Job {
                entry,
                reply: Reply::Async(tx),
            })
            .map_err(|_| AuditError::Stopped)?;
        rx.await
            .map_err(|_| AuditError::Stopped)?
            .map_err(|e| AuditError::Store(StoreError::Refused(e)))
    }

    /// The same, for callers outside an async runtime.
    pub fn record_blocking(&self, entry: NewAuditEntry) -> Result<i64, AuditError> {
        let (tx, rx) = mpsc::channel();
        self.queue.fetch_add(1, Ordering::Relaxed);
        self.tx
            .send(Job {
                entry,
                reply: Reply::Blocking(tx),
            })
            .map_err(|_| AuditError::Stopped)?;
        rx.recv()
            .map_err(|_| AuditError::Stopped)?
            .map_err(|e| AuditError::Store(StoreError::Refused(e)))
    }
}

fn writer(
    store: Arc<Store>,
    rx: Receiver<Job>,
    queue: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
) {
    while let Ok(first) = rx.recv() {
        // One transaction for the whole group.
        let jobs = store.gather_group(&rx, first, GROUP, LINGER, &in_flight);
        let (entries, replies): (Vec<NewAuditEntry>, Vec<Reply>) =
            jobs.into_iter().map(|j| (j.entry, j.reply)).unzip();
        let result = store.audit_append(&entries, Utc::now());
        queue.fetch_sub(replies.len(), Ordering::Relaxed);
        match result {
            Ok(seqs) => {
                written.fetch_add(seqs.len() as u64, Ordering::Relaxed);
                for (reply, s) in replies.into_iter().zip(seqs) {
                    send(reply, Ok(s));
                }
            }
            // One entry the store refuses must not fail the others gathered with it: the
            // group is written again one entry at a time.
            Err(_) if entries.len() > 1 => {
                for (entry, reply) in entries.into_iter().zip(replies) {
                    let one = store.audit_append(std::slice::from_ref(&entry), Utc::now());
                    if one.is_ok() {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                    send(
                        reply,
                        one.map(|s| s.first().copied().unwrap_or_default())
                            .map_err(|e| e.to_string()),
                    );
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for reply in replies {
                    send(reply, Err(msg.clone()));
                }
            }
        }
    }
}

fn send(reply: Reply, r: Result<i64, String>) {
    match reply {
        Reply::Async(tx) => {
            let _ = tx.send(r);
        }
        Reply::Blocking(tx) => {
            let _ = tx.send(r);
        }
    }
}

/// Signs a checkpoint of the chain's head, unless the head is already checkpointed. The
/// entries since the last checkpoint signed by this key, or the last anchor if later, are
/// checked first (a chain forged behind the platform's back is not signed), and the signed head
/// is appended to the anchor beside the key file before the checkpoint is stored (so that no
/// stored checkpoint lacks its anchor).
pub fn checkpoint(
    store: &Store,
    keys: &KeyRing,
    now: DateTime<Utc>,
) -> Result<Option<Checkpoint>, AuditError> {
    // The anchor before the head: another process's anchor then names no entry past it.
    let anchor = AnchorFile::of(store, keys);
    let anchored = match &anchor {
        Some(f) => f.read()?.lines.into_iter().max_by_key(|a| a.seq),
        None => None,
    };
    let (seq, hash) = store.audit_head()?;
    let last = store.audit_last_checkpoint()?;
    if let Some(a) = anchored.as_ref().filter(|a| a.seq > seq) {
        return Err(AuditError::Unsound {
            seq: a.seq,
            reason: truncated_below_anchor(a, seq),
        });
    }
    if seq == 0 {
        return Ok(None);
    }
    // A checkpoint past the head: inserted by someone (the triggers only stop updates and
    // deletes), or the tail cut below it. Either way nothing is signed, and the server says so.
    if let Some(c) = last.as_ref().filter(|c| c.seq_upto > seq) {
        return Err(AuditError::Unsound {
            seq: c.seq_upto,
            reason: past_the_head(c.seq_upto, seq),
        });
    }
    // Signed up to the head already — by this platform; a row there that is not its own was
    // inserted by someone (the real checkpoint could not be stored beside it: refused as such).
    if let Some(c) = last.as_ref().filter(|c| c.seq_upto == seq) {
        if signed_by_us(keys, c) {
            return Ok(None);
        }
        return Err(AuditError::Unsound {
            seq,
            reason: format!(
                "第{seq}条处的检查点不是本平台签署的：检查点被伪造（插入），请核查后由安全审计员处置"
            ),
        });
    }
    let scheme = sound_up_to(store, keys, last.as_ref(), anchored.as_ref(), seq)?;
    let at = domain::audit::audit_time(now);
    let cp = Checkpoint {
        seq_upto: seq,
        at,
        signature: keys.sign(&checkpoint_message(seq, &hash, at)),
        hash,
        public_key: keys.verifying_key().to_sec1_bytes().to_vec(),
        key_fingerprint: keys.public_key_fingerprint(),
    };
    if let Some(f) = &anchor {
        f.append(&Anchor {
            seq,
            hash: cp.hash.clone(),
            scheme,
            at,
        })?;
    }
    store.audit_add_checkpoint(&cp)?;
    Ok(Some(cp))
}

/// Whether `c` is signed with this platform's key (checked under the key's own public key, not
/// the one the row carries, which anyone who can write the store could set).
fn signed_by_us(keys: &KeyRing, c: &Checkpoint) -> bool {
    crypto::verify(
        &keys.verifying_key().to_sec1_bytes(),
        &checkpoint_message(c.seq_upto, &c.hash, c.at),
        &c.signature,
    )
    .is_ok()
}

fn past_the_head(upto: i64, entries: i64) -> String {
    format!("检查点指向第{upto}条，但日志只有{entries}条：检查点被伪造（插入），或日志末尾被删除")
}

/// Says that the platform store was made anew where it was (the demo's `--fresh`): the anchor
/// lines of the store that was there no longer apply to it. Nothing without a key file.
pub fn start_over(store: &Store, keys: &KeyRing, now: DateTime<Utc>) -> Result<(), AuditError> {
    match AnchorFile::of(store, keys) {
        Some(f) => f.start_over(now),
        None => Ok(()),
    }
}

/// Checks the chain from the later of the last checkpoint signed by this key and the last
/// anchor (each first checked against the entry it names) up to `head`; from entry 1 when there
/// is neither. Returns the head's scheme.
fn sound_up_to(
    store: &Store,
    keys: &KeyRing,
    last: Option<&Checkpoint>,
    anchored: Option<&Anchor>,
    head: i64,
) -> Result<i64, AuditError> {
    let audit_key = keys.audit_chain_key();
    // A checkpoint signed by another key (one trusted before a key change, or not) is no
    // starting point: the chain is then checked from the anchor, or from entry 1. Checked
    // under this key's public key, not the one the row carries (which anyone could write).
    let own = last.filter(|c| signed_by_us(keys, c));
    let mut start: Option<StoredAudit> = None;
    for (seq, hash, scheme, what) in [
        own.map(|c| (c.seq_upto, &c.hash, None, "签名检查点")),
        anchored.map(|a| (a.seq, &a.hash, Some(a.scheme), "库外锚点")),
    ]
    .into_iter()
    .flatten()
    {
        let e = store
            .audit_page(seq, 1)?
            .into_iter()
            .find(|e| e.entry.seq == seq)
            .ok_or_else(|| Break {
                seq,
                reason: format!("{what}所记的第{seq}条缺失：日志被删除"),
            })?;
        if let Some(b) = anchor_mismatch(scheme, &e) {
            return Err(b.into());
        }
        if e.hash != *hash {
            return Err(AuditError::from(Break {
                seq,
                reason: format!("第{seq}条与{what}所记的哈希不符：记录被改写"),
            }));
        }
        // Its own hash recomputed too: that says its scheme is the one it was written with.
        if chain_hash_by(e.scheme, Some(&audit_key), &e.prev_hash, &e.as_entry())
            .is_none_or(|h| h[..] != e.hash[..])
        {
            return Err(AuditError::from(Break {
                seq,
                reason: format!("第{seq}条记录的内容与其哈希不符：记录被改动"),
            }));
        }
        if start.as_ref().is_none_or(|s| s.entry.seq < seq) {
            start = Some(e);
        }
    }
    let mut walk = match &start {
        Some(e) => Walk {
            prev: e.hash.clone(),
            expected: e.entry.seq + 1,
            keyed: e.scheme != SCHEME_SM3,
            key: audit_key,
        },
        None => Walk::new(audit_key),
    };
    let mut scheme = start.as_ref().map_or(SCHEME_SM3, |e| e.scheme);
    while walk.expected <= head {
        let page = store.audit_page(walk.expected, 10_000.min(head - walk.expected + 1))?;
        if page.is_empty() {
            return Err(AuditError::from(Break {
                seq: walk.expected,
                reason: format!("第{}条缺失：日志被删除", walk.expected),
            }));
        }
        // Each step advances or fails (a gap too, even past the head): the loop ends.
        for e in page.iter().take((head - walk.expected + 1) as usize) {
            walk.step(e)?;
            scheme = e.scheme;
        }
    }
    Ok(scheme)
}

/// The chain's rule entry by entry: numbered without gaps, each after the one before, keyed
/// once keyed, its hash recomputed. Shared by [`verify`] and the check before signing.
struct Walk {
    prev: Vec<u8>,
    expected: i64,
    keyed: bool,
    key: [u8; 32],
}

impl Walk {
    fn new(key: [u8; 32]) -> Walk {
        Walk {
            prev: GENESIS.to_vec(),
            expected: 1,
            keyed: false,
            key,
        }
    }

    fn step(&mut self, e: &StoredAudit) -> Result<[u8; 32], Break> {
        let expected = self.expected;
        let seq = e.entry.seq;
        if seq != expected {
            return Err(Break {
                seq: expected,
                reason: format!("第{expected}条缺失（下一条为第{seq}条）：日志被删除"),
            });
        }
        if e.prev_hash != self.prev {
            return Err(Break {
                seq,
                reason: format!("第{seq}条记录的前一哈希与第{}条不符", seq - 1),
            });
        }
        // Keyed once, keyed to the end: an unkeyed entry after a keyed one is how a rewrite
        // by someone without the key file would look.
        if e.scheme == SCHEME_SM3 && self.keyed {
            return Err(Break {
                seq,
                reason: format!("第{seq}条记录未用平台密钥计算哈希，而此前的记录已用：记录被改写"),
            });
        }
        self.keyed |= e.scheme != SCHEME_SM3;
        let Some(h) = chain_hash_by(e.scheme, Some(&self.key), &self.prev, &e.as_entry()) else {
            return Err(Break {
                seq,
                reason: format!("第{seq}条记录的哈希方式（{}）未知", e.scheme),
            });
        };
        if h.as_slice() != e.hash.as_slice() {
            return Err(Break {
                seq,
                reason: format!(
                    "第{seq}条记录的内容与其哈希不符：记录被改动（或密钥文件不是平台的）"
                ),
            });
        }
        self.prev = h.to_vec();
        self.expected = seq + 1;
        Ok(h)
    }
}

/// An anchored keyed entry found unkeyed: the downgrade a rewrite without the key file makes.
fn anchor_mismatch(anchored_scheme: Option<i64>, e: &StoredAudit) -> Option<Break> {
    let seq = e.entry.seq;
    (anchored_scheme.is_some_and(|s| s != SCHEME_SM3) && e.scheme == SCHEME_SM3).then(|| Break {
        seq,
        reason: format!("第{seq}条记录未用平台密钥计算哈希，而库外锚点记录它已用：记录被改写"),
    })
}

fn truncated_below_anchor(a: &Anchor, entries: i64) -> String {
    format!(
        "库外锚点记录了第{}条（{}签署检查点时），但日志只有{entries}条：日志末尾被删除",
        a.seq,
        domain::clock::beijing(a.at).format("%Y-%m-%d %H:%M:%S")
    )
}

/// Whether a checkpoint is due: none yet, or the last is older than `every`, with entries since.
pub fn checkpoint_due(
    store: &Store,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> Result<bool, AuditError> {
    let (seq, _) = store.audit_head()?;
    let last = store.audit_last_checkpoint()?;
    Ok(match last {
        None => seq > 0,
        // A checkpoint past the head, or dated ahead of now, is no reason to wait: the
        // attempt reports it.
        Some(c) => c.seq_upto > seq || (c.seq_upto < seq && (now - c.at >= every || c.at > now)),
    })
}

/// The result of [`verify`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "审计日志完整性校验的结果。")]
pub struct Verification {
    pub entries: i64,
    pub checkpoints: usize,
    // Checkpoints signed by a trusted earlier key of the platform.
    /// 由平台此前使用、仍受信任的密钥签名的检查点数。
    pub checkpoints_by_other_keys: usize,
    // The first place the trail does not hold together, if any.
    /// 审计日志链第一处断裂的位置；完整时为空。
    pub first_break: Option<Break>,
    // Entries after the last signed checkpoint: they hold together; keyed, they cannot be
    // rewritten without the key file, but the tail could be cut off unseen (and unkeyed ones
    // rewritten) until the next checkpoint seals them.
    /// 最后一个已签名检查点之后的条目数：这些条目的链式校验通过，但要到下一个检查点签名后才受签名保护。
    pub unsigned_entries: i64,
    // When the first of them was written.
    /// 其中第一条的写入时间。
    pub unsigned_since: Option<DateTime<Utc>>,
    // Heads noted in the anchor beside the key file, each found in the chain as noted.
    /// 库外锚点（密钥文件旁的审计锚点文件）中本库的锚点数，每个都已与日志比对。
    pub anchors: usize,
    /// 锚点记录到的最后一条的序号；无锚点时为 0。
    pub anchored_upto: i64,
    // Why the anchor could not rule out a rewrite of the whole trail, if it could not.
    /// 未找到库外锚点（或其中有无法核验的行）时的说明：此时无法排除整条日志连同检查点被改写。
    pub anchor_warning: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// A break found before signing: the checkpoint is refused with it.
impl From<Break> for AuditError {
    fn from(b: Break) -> Self {
        AuditError::Unsound {
            seq: b.seq,
            reason: b.reason,
        }
    }
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Recomputes the whole chain and checks every checkpoint: its hash against the chain, its SM2
/// signature, and that the signing key is the platform's own or one of `trusted` (SM3
/// fingerprints of the platform's earlier keys, after a key change). A checkpoint signed by any
/// other key is a break: whoever can rewrite the trail can also sign with a key of their own.
/// Then every head noted in the anchor beside the key file must be in the chain as noted (with
/// its scheme: keyed there, keyed from there on), and the chain must reach the last of them:
/// the store alone cannot tell a trail rewritten or cut together with its checkpoints.
/// Reports the first break.
pub fn verify(
    store: &Store,
    keys: &KeyRing,
    trusted: &[String],
) -> Result<Verification, AuditError> {
    let checkpoints = store.audit_checkpoints()?;
    let anchor_file = AnchorFile::of(store, keys);
    let (mut anchors, unreadable) = match &anchor_file {
        Some(f) => {
            let a = f.read()?;
            (a.lines, a.unreadable)
        }
        None => (Vec::new(), 0),
    };
    anchors.sort_by_key(|a| a.seq);
    let anchor_warning = match &anchor_file {
        None => Some(
            "密钥不是从密钥文件读取的，没有库外锚点：无法排除整条日志连同检查点被改写".to_string(),
        ),
        Some(f) => {
            let unreadable = (unreadable > 0).then(|| {
                format!(
                    "审计锚点文件（{}）中有{unreadable}行无法核验（损坏，或不是用本密钥写的），已略过",
                    f.path.display()
                )
            });
            // No checkpoint signed yet is not a missing anchor: it is said as what it is.
            let none = anchors.is_empty().then(|| {
                if checkpoints.is_empty() {
                    format!(
                        "本库尚未签署检查点，审计锚点（{}）中还没有它的记录：首个检查点签署前，无法排除整条日志被改写（可用 audit checkpoint 立即签署）",
                        f.path.display()
                    )
                } else {
                    format!(
                        "密钥文件旁没有本库的审计锚点（{}）：无法排除整条日志连同检查点被改写",
                        f.path.display()
                    )
                }
            });
            match (none, unreadable) {
                (Some(a), Some(b)) => Some(format!("{a}；{b}")),
                (a, b) => a.or(b),
            }
        }
    };
    let mut next_cp = 0usize;
    let mut next_anchor = 0usize;
    let mut first_break: Option<Break> = None;
    let mut count = 0i64;
    let own_fingerprint = keys.public_key_fingerprint();
    let mut other_keys = 0;
    let signed_upto = checkpoints.last().map_or(0, |c| c.seq_upto);
    let mut unsigned_entries = 0;
    let mut unsigned_since = None;
    let mut walk = Walk::new(keys.audit_chain_key());
    'pages: loop {
        let page = store.audit_page(walk.expected, 10_000)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            count += 1;
            let seq = e.entry.seq;
            let h = match walk.step(e) {
                Ok(h) => h,
                Err(b) => {
                    first_break = Some(b);
                    break 'pages;
                }
            };
            while next_cp < checkpoints.len() && checkpoints[next_cp].seq_upto == seq {
                let cp = &checkpoints[next_cp];
                if cp.hash != h.to_vec() {
                    first_break = Some(Break {
                        seq,
                        reason: format!("第{seq}条处的签名检查点与链上哈希不符"),
                    });
                    break 'pages;
                }
                let msg = checkpoint_message(cp.seq_upto, &cp.hash, cp.at);
                if crypto::verify(&cp.public_key, &msg, &cp.signature).is_err()
                    || crypto::sm3_hex(&cp.public_key) != cp.key_fingerprint
                {
                    first_break = Some(Break {
                        seq,
                        reason: format!("第{seq}条处检查点的SM2签名无效"),
                    });
                    break 'pages;
                }
                if cp.key_fingerprint != own_fingerprint {
                    if !trusted
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&cp.key_fingerprint))
                    {
                        first_break = Some(Break {
                            seq,
                            reason: format!(
                                "第{seq}条处的检查点不是由本平台密钥签署的（公钥指纹{}）：检查点可能被替换",
                                cp.key_fingerprint
                            ),
                        });
                        break 'pages;
                    }
                    other_keys += 1;
                }
                next_cp += 1;
            }
            while next_anchor < anchors.len() && anchors[next_anchor].seq == seq {
                let a = &anchors[next_anchor];
                if let Some(b) = anchor_mismatch(Some(a.scheme), e) {
                    first_break = Some(b);
                    break 'pages;
                }
                if a.hash != h.to_vec() {
                    first_break = Some(Break {
                        seq,
                        reason: format!(
                            "第{seq}条与库外锚点（{}签署检查点时所记）不符：记录被改写",
                            domain::clock::beijing(a.at).format("%Y-%m-%d %H:%M:%S")
                        ),
                    });
                    break 'pages;
                }
                next_anchor += 1;
            }
            if seq > signed_upto {
                unsigned_entries += 1;
                unsigned_since.get_or_insert(e.entry.at);
            }
        }
    }
    let entries_seen = walk.expected - 1;
    if first_break.is_none() && next_cp < checkpoints.len() {
        let cp = &checkpoints[next_cp];
        first_break = Some(Break {
            seq: cp.seq_upto,
            reason: past_the_head(cp.seq_upto, entries_seen),
        });
    }
    if first_break.is_none()
        && let Some(a) = anchors.get(next_anchor)
    {
        first_break = Some(Break {
            seq: a.seq,
            reason: truncated_below_anchor(a, entries_seen),
        });
    }
    Ok(Verification {
        entries: count,
        checkpoints: checkpoints.len(),
        checkpoints_by_other_keys: other_keys,
        first_break,
        unsigned_entries,
        unsigned_since,
        anchors: anchors.len(),
        anchored_upto: anchors.last().map_or(0, |a| a.seq),
        anchor_warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> NewAuditEntry {
        NewAuditEntry {
            actor: format!("user:u{i}"),
            role: "admin".into(),
            action: "test".into(),
            outcome: "ok".into(),
            object: Some(format!("obj{i}")),
            ..Default::default()
        }
    }

    fn tamper(platform: &Store, sql: &str) {
        // Behind the platform's back: lift the guard, change the row, put the guard back.
        match platform.backend() {
            store::Backend::Sqlite => platform
                .write(|c| {
                    c.batch(&format!(
                        "DROP TRIGGER audit_log_immutable_u; DROP TRIGGER audit_log_immutable_d; {sql};
                         CREATE TRIGGER audit_log_immutable_u BEFORE UPDATE ON audit_log
                         BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END;
                         CREATE TRIGGER audit_log_immutable_d BEFORE DELETE ON audit_log
                         BEGIN SELECT RAISE(ABORT, 'audit entries are never deleted'); END;"
                    ))
                })
                .unwrap(),
            store::Backend::Postgres => platform
                .write(|c| {
                    c.batch(&format!(
                        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_immutable; {sql};
                         ALTER TABLE audit_log ENABLE TRIGGER audit_log_immutable"
                    ))
                })
                .unwrap(),
        }
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_is_a_break_unless_that_key_is_trusted() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 0..5 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap();
            log.record_blocking(entry(5)).unwrap();
            // Someone who can write the store signs the next checkpoint with a key of their own.
            let other = testkit::keys();
            checkpoint(&platform, &other, Utc::now()).unwrap();
            let v = verify(&platform, &keys, &[]).unwrap();
            let b = v.first_break.expect("a foreign key is a break");
            assert_eq!(b.seq, 6, "{}", ts.name);
            assert!(b.reason.contains("不是由本平台密钥签署"), "{}", b.reason);
            // An earlier key of the platform's own, named as trusted, is accepted.
            let v = verify(&platform, &keys, &[other.public_key_fingerprint()]).unwrap();
            assert!(v.ok(), "{}: {:?}", ts.name, v.first_break);
            assert_eq!(v.checkpoints_by_other_keys, 1);
        }
    }

    /// A byte string as an SQL literal of the store's backend.
    fn bytes_literal(platform: &Store, b: &[u8]) -> String {
        match platform.backend() {
            store::Backend::Sqlite => format!("X'{}'", hex::encode(b)),
            store::Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(b)),
        }
    }

    /// Keyed with the key file, the chain's tail cannot be rewritten by whoever can write the
    /// store without the key, even before a checkpoint signs it: an entry rewritten with its
    /// hash recomputed in plain SM3 (as an unkeyed chain allowed) or under a key of their own is
    /// a break. Entries written before the chain was keyed keep verifying; once it is keyed, a
    /// store without the key appends nothing.
    #[test]
    fn a_keyed_chain_cannot_be_rewritten_without_the_key_file() {
        for ts in testkit::stores() {
            let keys = testkit::keys();
            // Entries of a platform from before the chain was keyed.
            let unkeyed = store::Store::open_platform(&ts.spec).unwrap();
            unkeyed
                .audit_append(&[entry(0), entry(1)], Utc::now())
                .unwrap();
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 2..6 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap();
            for i in 6..9 {
                log.record_blocking(entry(i)).unwrap();
            }
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(v.ok(), "{}: {:?}", ts.name, v.first_break);
            assert_eq!((v.entries, v.unsigned_entries), (9, 3), "{}", ts.name);
            let schemes: Vec<i64> = platform
                .audit_page(1, 9)
                .unwrap()
                .iter()
                .map(|e| e.scheme)
                .collect();
            assert_eq!(schemes, [1, 1, 2, 2, 2, 2, 2, 2, 2], "{}", ts.name);
            let refused = unkeyed.audit_append(&[entry(9)], Utc::now()).unwrap_err();
            assert!(
                refused.to_string().contains("密钥"),
                "{}: {refused}",
                ts.name
            );
            // Another platform's key file (a mistyped --keys) is refused before it writes.
            let stranger = store::Store::open_platform(&ts.spec).unwrap();
            let other_key = testkit::keys().audit_chain_key();
            assert_eq!(stranger.audit_key_matches(&other_key).unwrap(), Some(false));
            let refused = stranger.set_audit_key(other_key).unwrap_err();
            assert!(
                refused.to_string().contains("不是平台的"),
                "{}: {refused}",
                ts.name
            );
            // A chain keyed before its key was recorded (before migration 1006): the first key
            // offered is recorded only if the last keyed entry was computed under it.
            platform
                .write(|c| c.execute("DELETE FROM audit_key", &[]))
                .unwrap();
            assert!(stranger.set_audit_key(other_key).is_err(), "{}", ts.name);
            assert_eq!(stranger.audit_key_matches(&other_key).unwrap(), None);
            stranger.set_audit_key(keys.audit_chain_key()).unwrap();
            assert_eq!(
                platform.audit_key_matches(&keys.audit_chain_key()).unwrap(),
                Some(true)
            );
            // A head that does not hold together does not silence the trail: entries are
            // still appended after it, and verification names it.
            let original = platform.audit_page(9, 1).unwrap()[0].hash.clone();
            tamper(
                &platform,
                "UPDATE audit_log SET hash = prev_hash WHERE seq = 9",
            );
            log.record_blocking(entry(10)).unwrap();
            let v = verify(&platform, &keys, &[]).unwrap();
            assert_eq!(v.first_break.map(|b| b.seq), Some(9), "{}", ts.name);
            tamper(
                &platform,
                &format!(
                    "DELETE FROM audit_log WHERE seq = 10; UPDATE audit_log SET hash = {} WHERE seq = 9",
                    bytes_literal(&platform, &original)
                ),
            );
            assert!(verify(&platform, &keys, &[]).unwrap().ok(), "{}", ts.name);

            // The last entry, not yet under a checkpoint, rewritten with its hash recomputed.
            let last = platform.audit_page(9, 1).unwrap().remove(0);
            let mut forged = last.as_entry();
            forged.actor = "user:mallory".into();
            let other = testkit::keys();
            // The keyed hash is HMAC-SM3 as the crypto crate computes it.
            assert_eq!(
                hex::encode(domain::audit::chain_hash_keyed(
                    &keys.audit_chain_key(),
                    &last.prev_hash,
                    &last.as_entry()
                )),
                crypto::hmac_sm3_hex(
                    &keys.audit_chain_key(),
                    &domain::audit::chain_input(&last.prev_hash, &last.as_entry())
                )
            );
            for (scheme, hash, says) in [
                (
                    1,
                    domain::audit::chain_hash(&last.prev_hash, &forged),
                    "未用平台密钥",
                ),
                (
                    2,
                    domain::audit::chain_hash_keyed(
                        &other.audit_chain_key(),
                        &last.prev_hash,
                        &forged,
                    ),
                    "改动",
                ),
            ] {
                tamper(
                    &platform,
                    &format!(
                        "UPDATE audit_log SET actor = 'user:mallory', hash = {}, scheme = {scheme} WHERE seq = 9",
                        bytes_literal(&platform, &hash)
                    ),
                );
                let v = verify(&platform, &keys, &[]).unwrap();
                let b = v.first_break.expect("a rewritten tail is a break");
                assert_eq!(b.seq, 9, "{}", ts.name);
                assert!(b.reason.contains(says), "{}: {}", ts.name, b.reason);
            }
        }
    }

    /// What a caller typed goes into the trail bounded and without control characters: a NUL
    /// (which PostgreSQL refuses in text) no longer fails the entry, nor the entries gathered
    /// with it; megabytes of a login name are cut. The chain still verifies.
    #[test]
    fn hostile_text_is_kept_bounded_and_fails_no_entry() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let log = AuditLog::start(platform.clone(), Default::default());
            let hostile = NewAuditEntry {
                object: Some("x".repeat(1 << 20)),
                detail: Some("outcome=a\u{0}b\nc".into()),
                ..entry(0)
            };
            let seq = log.record_blocking(hostile).unwrap();
            let page = platform.audit_page(1, 10).unwrap();
            let stored = page.iter().find(|a| a.entry.seq == seq).unwrap();
            let object = stored.entry.object.clone().unwrap();
            assert!(object.chars().count() < 600, "{}", object.len());
            assert!(object.ends_with("…（已截断）"));
            let detail = stored.entry.detail.clone().unwrap();
            assert!(
                !detail.contains('\0') && !detail.contains('\n'),
                "{detail:?}"
            );
            assert!(detail.contains("\\u{0}"), "{detail:?}");
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(v.first_break.is_none(), "{}: {v:?}", ts.name);
        }
    }

    #[test]
    fn chain_checkpoints_and_tampering_on_both_backends() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 0..30 {
                assert_eq!(log.record_blocking(entry(i)).unwrap(), i as i64 + 1);
            }
            assert!(checkpoint(&platform, &keys, Utc::now()).unwrap().is_some());
            assert!(
                checkpoint(&platform, &keys, Utc::now()).unwrap().is_none(),
                "nothing new to sign"
            );
            for i in 30..40 {
                log.record_blocking(entry(i)).unwrap();
            }
            // A group of many, as the writer commits under load (one statement on PostgreSQL).
            let group: Vec<NewAuditEntry> = (40..90).map(entry).collect();
            let seqs = platform.audit_append(&group, Utc::now()).unwrap();
            assert_eq!(seqs, (41..=90).collect::<Vec<i64>>(), "{}", ts.name);
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(v.ok(), "{}: {:?}", ts.name, v.first_break);
            assert_eq!((v.entries, v.checkpoints), (90, 1));
            let last = platform.audit_page(90, 1).unwrap();
            assert_eq!(last[0].entry.actor, "user:u89", "{}", ts.name);

            // The store refuses changes through the front door.
            assert!(
                platform
                    .write(|c| c.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 3", &[]))
                    .is_err()
            );
            assert!(
                platform
                    .write(|c| c.execute("DELETE FROM audit_log WHERE seq = 3", &[]))
                    .is_err()
            );

            tamper(
                &platform,
                "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 17",
            );
            let v = verify(&platform, &keys, &[]).unwrap();
            assert_eq!(
                v.first_break.as_ref().map(|b| b.seq),
                Some(17),
                "{}",
                ts.name
            );
            assert!(v.first_break.unwrap().reason.contains("改动"));
        }
    }

    #[test]
    fn groups_of_checks_chain_with_their_entries_on_both_backends() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            let log = AuditLog::start(platform.clone(), Default::default());
            log.record_blocking(entry(0)).unwrap();
            let at = Utc::now();
            let check = |i: usize| store::CheckRow {
                check_id: 0,
                checked_at: at,
                actor: format!("user:h{i}"),
                // Absent values too: they go as NULL elements of the arrays on PostgreSQL.
                unit: i.is_multiple_of(2).then(|| "盐城市行政审批局".to_string()),
                channel: "query".into(),
                batch_id: i.is_multiple_of(3).then_some(i as i64),
                subject_key: format!("k{i}"),
                subject_label: format!("主体{i}"),
                matter: "XZXK".into(),
                verdict: if i.is_multiple_of(2) {
                    "clear"
                } else {
                    "forbid"
                }
                .into(),
                measures: vec![format!("m{i}"), "m0".into()],
                entries: vec![format!("r{i}")],
                suppressed: vec![],
                rule_version: "v1".into(),
                reference: i.is_multiple_of(2).then(|| format!("BJ{i}")),
            };
            let mut ids = Vec::new();
            for size in [1, 37, 5] {
                let rows: Vec<store::CheckRow> = (ids.len()..ids.len() + size).map(check).collect();
                let mut audit: Vec<NewAuditEntry> = (0..size)
                    .map(|i| NewAuditEntry {
                        actor: rows[i].actor.clone(),
                        role: "handling".into(),
                        action: "check".into(),
                        outcome: "ok".into(),
                        request_id: (i % 2 == 1).then(|| format!("req{i}")),
                        ..Default::default()
                    })
                    .collect();
                let got = platform
                    .record_checks_audited(&rows, &mut audit, at)
                    .unwrap();
                assert_eq!(got.len(), size, "{}", ts.name);
                ids.extend(got);
            }
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{}: {ids:?}", ts.name);
            // Each check reads back as written, and its entry names it, in order after the first.
            let page = platform.audit_page(2, 100).unwrap();
            assert_eq!(page.len(), 43, "{}", ts.name);
            for (n, id) in ids.iter().enumerate() {
                let want = check(n);
                let got = platform.check(*id).unwrap().unwrap();
                assert_eq!(
                    (
                        &got.actor,
                        &got.unit,
                        got.batch_id,
                        &got.measures,
                        &got.verdict
                    ),
                    (
                        &want.actor,
                        &want.unit,
                        want.batch_id,
                        &want.measures,
                        &want.verdict
                    ),
                    "{}",
                    ts.name
                );
                assert_eq!(
                    page[n].entry.object,
                    Some(format!("check:{id}")),
                    "{}",
                    ts.name
                );
                assert_eq!(page[n].entry.actor, want.actor, "{}", ts.name);
            }
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(v.ok(), "{}: {:?}", ts.name, v.first_break);
            assert_eq!(v.entries, 44, "{}", ts.name);
        }
    }

    /// An auditor asking after a subject by its key finds the entries about it and about its
    /// records (`<key>-<record key>`), not those of another subject whose key it begins.
    #[test]
    fn a_subject_is_found_with_its_records_in_the_trail() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let log = AuditLog::start(platform.clone(), Default::default());
            for object in ["S1", "S1-abc", "S1-def", "S10-xyz", "S1x", "T1-abc"] {
                let mut e = entry(0);
                e.object = Some(object.into());
                log.record_blocking(e).unwrap();
            }
            let mut found: Vec<String> = platform
                .audit_search(&store::AuditQuery {
                    object: Some("S1".into()),
                    limit: 100,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .filter_map(|a| a.entry.object)
                .collect();
            found.sort();
            assert_eq!(found, ["S1", "S1-abc", "S1-def"], "{}", ts.name);
        }
    }

    /// A write carrying its entry (`Store::write_audited`: accounts, tokens, webhooks) chains
    /// between the writer's groups — on PostgreSQL the groups' cached head is stale after it —
    /// and a write whose entry cannot be appended leaves neither.
    #[test]
    fn writes_carry_their_entries_into_the_chain_on_both_backends() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            let log = AuditLog::start(platform.clone(), Default::default());
            let now = Utc::now();
            for i in 0..3 {
                log.record_blocking(entry(i)).unwrap();
                let mut e = entry(100 + i);
                e.object = None;
                let id = platform
                    .create_token(
                        &store::NewToken {
                            token_hash: format!("hash{i}").as_bytes(),
                            prefix: "xy_abcdef",
                            name: "t",
                            role: "monitor",
                            unit: None,
                            subject_key: None,
                            created_by: "test",
                            at: now,
                            expires_at: now + chrono::Duration::days(1),
                        },
                        Some(&mut e),
                    )
                    .unwrap();
                assert_eq!(e.object, Some(format!("token:{id}")), "{}", ts.name);
                log.record_blocking(entry(200 + i)).unwrap();
            }
            let page = platform.audit_page(1, 100).unwrap();
            let objects: Vec<String> = page
                .iter()
                .map(|a| a.entry.object.clone().unwrap_or_default())
                .collect();
            assert_eq!(objects.len(), 9, "{}: {objects:?}", ts.name);
            assert!(objects[1].starts_with("token:"), "{}: {objects:?}", ts.name);
            assert!(objects[7].starts_with("token:"), "{}: {objects:?}", ts.name);
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(v.ok(), "{}: {:?}", ts.name, v.first_break);
            // An entry the store refuses (an actor over any bound is cut, so: a NUL byte on
            // PostgreSQL, a trigger on SQLite) takes its write with it.
            let block = match platform.backend() {
                store::Backend::Sqlite => {
                    "CREATE TRIGGER block_audit BEFORE INSERT ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'blocked by test'); END"
                }
                store::Backend::Postgres => {
                    "CREATE FUNCTION block_audit() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'blocked by test'; END $$;
                     CREATE TRIGGER block_audit BEFORE INSERT ON audit_log
                     FOR EACH ROW EXECUTE FUNCTION block_audit()"
                }
            };
            platform.write(|c| c.batch(block)).unwrap();
            let before = platform.tokens().unwrap().len();
            let mut e = entry(300);
            let r = platform.create_token(
                &store::NewToken {
                    token_hash: b"lost",
                    prefix: "xy_lost00",
                    name: "lost",
                    role: "monitor",
                    unit: None,
                    subject_key: None,
                    created_by: "test",
                    at: now,
                    expires_at: now + chrono::Duration::days(1),
                },
                Some(&mut e),
            );
            assert!(r.is_err(), "{}", ts.name);
            assert_eq!(platform.tokens().unwrap().len(), before, "{}", ts.name);
        }
    }

    /// On PostgreSQL a group is appended in one statement after the head this process last
    /// wrote, without the lock. Two servers on one database (two stores here) each hold a stale
    /// head as soon as the other appends: the chain must still come out whole, numbered without
    /// gaps, every check named by its own entry.
    #[test]
    fn two_servers_append_to_one_chain_on_postgres() {
        let ts = testkit::postgres();
        let keys = testkit::keys();
        let a = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
        let b = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
        for s in [&a, &b] {
            s.set_audit_key(keys.audit_chain_key()).unwrap();
        }
        // Taking turns: each append finds the other's entries after its cached head.
        assert_eq!(a.audit_append(&[entry(0)], Utc::now()).unwrap(), vec![1]);
        assert_eq!(b.audit_append(&[entry(1)], Utc::now()).unwrap(), vec![2]);
        assert_eq!(
            a.audit_append(&[entry(2), entry(3)], Utc::now()).unwrap(),
            vec![3, 4]
        );
        assert_eq!(b.audit_append(&[entry(4)], Utc::now()).unwrap(), vec![5]);

        // At once, entries and checks from both.
        let check = |who: &str, i: usize| store::CheckRow {
            check_id: 0,
            checked_at: Utc::now(),
            actor: format!("user:{who}{i}"),
            unit: None,
            channel: "query".into(),
            batch_id: None,
            subject_key: format!("k{i}"),
            subject_label: format!("主体{i}"),
            matter: "XZXK".into(),
            verdict: "clear".into(),
            measures: vec![],
            entries: vec![],
            suppressed: vec![],
            rule_version: "v1".into(),
            reference: None,
        };
        let threads: Vec<_> = [("a", a.clone()), ("b", b.clone())]
            .into_iter()
            .map(|(who, s)| {
                std::thread::spawn(move || {
                    let mut checks = Vec::new();
                    for round in 0..40 {
                        let size = round % 7 + 1;
                        if round % 2 == 0 {
                            let group: Vec<NewAuditEntry> = (0..size).map(entry).collect();
                            s.audit_append(&group, Utc::now()).unwrap();
                        } else {
                            let rows: Vec<store::CheckRow> =
                                (0..size).map(|i| check(who, round * 10 + i)).collect();
                            let mut audit: Vec<NewAuditEntry> = rows
                                .iter()
                                .map(|r| NewAuditEntry {
                                    actor: r.actor.clone(),
                                    role: "handling".into(),
                                    action: "check".into(),
                                    outcome: "ok".into(),
                                    ..Default::default()
                                })
                                .collect();
                            let ids = s
                                .record_checks_audited(&rows, &mut audit, Utc::now())
                                .unwrap();
                            checks.extend(ids.into_iter().zip(rows.into_iter().map(|r| r.actor)));
                        }
                    }
                    checks
                })
            })
            .collect();
        let checks: Vec<(i64, String)> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let per_server: usize = (0..40).map(|r| r % 7 + 1).sum();
        let total = 5 + 2 * per_server;
        let v = verify(&a, &keys, &[]).unwrap();
        assert!(v.ok(), "{:?}", v.first_break);
        assert_eq!(v.entries as usize, total);

        let page = a.audit_page(1, total as i64 + 10).unwrap();
        assert_eq!(page.len(), total);
        let mut ids = std::collections::HashSet::new();
        for (id, actor) in &checks {
            assert!(ids.insert(*id), "check id {id} given twice");
            assert_eq!(&b.check(*id).unwrap().unwrap().actor, actor);
            let named: Vec<_> = page
                .iter()
                .filter(|e| e.entry.object.as_deref() == Some(&format!("check:{id}")))
                .collect();
            assert_eq!(named.len(), 1, "check {id}");
            assert_eq!(&named[0].entry.actor, actor);
        }

        // The table loses its last entries behind the servers' backs (a restore from a backup,
        // a failover to a replica that had not received them): a's cached head is ahead of the
        // table's. Its next group, entries or checks, follows the head the table has.
        a.audit_append(&[entry(5)], Utc::now()).unwrap();
        let last = a.audit_head().unwrap().0;
        tamper(
            &a,
            &format!("DELETE FROM audit_log WHERE seq > {}", last - 3),
        );
        assert_eq!(
            a.audit_append(&[entry(6)], Utc::now()).unwrap(),
            vec![last - 2]
        );
        tamper(
            &a,
            &format!("DELETE FROM audit_log WHERE seq > {}", last - 3),
        );
        let mut audit = vec![NewAuditEntry {
            actor: "user:a0".into(),
            role: "handling".into(),
            action: "check".into(),
            outcome: "ok".into(),
            ..Default::default()
        }];
        let ids = a
            .record_checks_audited(&[check("a", 999)], &mut audit, Utc::now())
            .unwrap();
        assert_eq!(a.audit_head().unwrap().0, last - 2);
        let v = verify(&a, &keys, &[]).unwrap();
        assert!(v.ok(), "{:?}", v.first_break);
        let tail = a.audit_page(last - 2, 10).unwrap();
        assert_eq!(
            tail[0].entry.object,
            Some(format!("check:{}", ids[0])),
            "the check's entry follows the table's head"
        );
    }

    /// What someone who can write the store but has not the key file can do: drop the guards
    /// for good, then run `sql`.
    fn behind_the_back(platform: &Store, sql: &str) {
        let drop = match platform.backend() {
            store::Backend::Sqlite => {
                "DROP TRIGGER IF EXISTS audit_log_immutable_u; DROP TRIGGER IF EXISTS audit_log_immutable_d;
                 DROP TRIGGER IF EXISTS audit_checkpoints_immutable_u; DROP TRIGGER IF EXISTS audit_checkpoints_immutable_d"
            }
            store::Backend::Postgres => {
                "DROP TRIGGER IF EXISTS audit_log_immutable ON audit_log;
                 DROP TRIGGER IF EXISTS audit_checkpoints_immutable ON audit_checkpoints"
            }
        };
        platform
            .write(|c| c.batch(&format!("{drop}; {sql}")))
            .unwrap();
    }

    /// A key file of its own in `dir`, as the platform reads it (so that it has an anchor).
    fn key_file(dir: &std::path::Path) -> KeyRing {
        KeyRing::open(&testkit::key_file(dir)).unwrap()
    }

    /// The whole chain recomputed with plain SM3 from entry 1, every checkpoint and the record
    /// of the key deleted: the store agrees with itself again. Only the anchor beside the key
    /// file tells, and the forged chain is not signed.
    #[test]
    fn a_chain_recomputed_unkeyed_from_the_first_entry_is_found_by_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let keys = key_file(dir.path());
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 0..10 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
            for i in 10..15 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
            log.record_blocking(entry(15)).unwrap();
            assert!(verify(&platform, &keys, &[]).unwrap().ok(), "{}", ts.name);

            let mut prev = GENESIS.to_vec();
            let mut sql = String::new();
            for e in platform.audit_page(1, 100).unwrap() {
                let mut forged = e.as_entry();
                if e.entry.seq == 3 {
                    forged.actor = "user:mallory".into();
                }
                let h = domain::audit::chain_hash(&prev, &forged);
                sql.push_str(&format!(
                    "UPDATE audit_log SET actor = '{}', prev_hash = {}, hash = {}, scheme = 1 WHERE seq = {};",
                    forged.actor,
                    bytes_literal(&platform, &prev),
                    bytes_literal(&platform, &h),
                    e.entry.seq
                ));
                prev = h.to_vec();
            }
            sql.push_str("DELETE FROM audit_checkpoints; DELETE FROM audit_key");
            behind_the_back(&platform, &sql);
            // Without the anchor the store alone agrees with itself.
            let unanchored = verify(&platform, &testkit::keys(), &[]).unwrap();
            assert!(unanchored.ok(), "{}: {:?}", ts.name, unanchored.first_break);
            assert!(unanchored.anchor_warning.is_some());

            let v = verify(&platform, &keys, &[]).unwrap();
            let b = v.first_break.expect("the anchor finds the rewrite");
            assert_eq!(b.seq, 10, "{}: {}", ts.name, b.reason);
            assert!(
                b.reason.contains("库外锚点") && b.reason.contains("未用平台密钥"),
                "{}: {}",
                ts.name,
                b.reason
            );
            let refused = checkpoint(&platform, &keys, Utc::now()).unwrap_err();
            assert!(
                matches!(refused, AuditError::Unsound { seq: 15, .. }),
                "{}: {refused}",
                ts.name
            );
            assert!(refused.to_string().contains("拒绝签署"), "{refused}");
            assert_eq!(platform.audit_checkpoint_count().unwrap(), 0, "{}", ts.name);
        }
    }

    /// The tail cut off together with the checkpoints over it: the chain that is left holds
    /// together and its checkpoints check; the anchor names the last entry it had.
    #[test]
    fn a_tail_cut_with_its_checkpoints_is_found_by_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let keys = key_file(dir.path());
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 0..10 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
            for i in 10..15 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
            behind_the_back(
                &platform,
                "DELETE FROM audit_log WHERE seq > 10; DELETE FROM audit_checkpoints WHERE seq_upto > 10",
            );
            let v = verify(&platform, &keys, &[]).unwrap();
            let b = v.first_break.expect("the anchor finds the cut");
            assert_eq!(b.seq, 15, "{}: {}", ts.name, b.reason);
            assert!(b.reason.contains("只有10条"), "{}: {}", ts.name, b.reason);
            assert!(
                checkpoint(&platform, &keys, Utc::now()).is_err(),
                "{}: a cut chain is not signed",
                ts.name
            );
            // Nor once new entries have grown it past the anchor again.
            for i in 15..22 {
                log.record_blocking(entry(i)).unwrap();
            }
            let refused = checkpoint(&platform, &keys, Utc::now()).unwrap_err();
            assert!(
                matches!(refused, AuditError::Unsound { seq: 15, .. }),
                "{}: {refused}",
                ts.name
            );
            assert_eq!(
                verify(&platform, &keys, &[])
                    .unwrap()
                    .first_break
                    .map(|b| b.seq),
                Some(15),
                "{}",
                ts.name
            );
        }
    }

    /// Appends, checkpoints and verification as they run every day, with the anchor: each
    /// checkpoint notes its head there, for its own store only (several stores share one key
    /// file here, as in the tests and the demo); a store made anew at the same place starts
    /// over; a line changed in the file is not taken.
    #[test]
    fn checkpoints_anchor_their_heads_per_store_beside_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = key_file(dir.path());
        let anchor = dir.path().join("test.key.audit-anchor");
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(
                v.ok() && v.anchors == 0 && v.anchor_warning.is_some(),
                "{}: {v:?}",
                ts.name
            );
            let log = AuditLog::start(platform.clone(), Default::default());
            for round in 0..3 {
                for i in 0..4 {
                    log.record_blocking(entry(round * 4 + i)).unwrap();
                }
                let cp = checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
                assert_eq!(cp.seq_upto, (round as i64 + 1) * 4);
                assert!(checkpoint(&platform, &keys, Utc::now()).unwrap().is_none());
            }
            log.record_blocking(entry(12)).unwrap();
            let v = verify(&platform, &keys, &[]).unwrap();
            assert!(v.ok(), "{}: {:?}", ts.name, v.first_break);
            assert_eq!(
                (v.entries, v.checkpoints, v.anchors, v.anchored_upto),
                (13, 3, 3, 12),
                "{}",
                ts.name
            );
            assert_eq!(v.anchor_warning, None, "{}", ts.name);
        }
        let text = std::fs::read_to_string(&anchor).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("anchor ")).count(), 6);

        // A store at another place with the same key file has no anchor of its own yet.
        let other = testkit::sqlite();
        let platform = store::Store::open_platform(&other.spec).unwrap();
        platform.set_audit_key(keys.audit_chain_key()).unwrap();
        platform.audit_append(&[entry(0)], Utc::now()).unwrap();
        let v = verify(&platform, &keys, &[]).unwrap();
        assert!(v.ok(), "{:?}", v.first_break);
        // (With no checkpoint of its own yet, said as that.)
        assert!(v.anchor_warning.unwrap().contains("本库尚未签署检查点"));
        checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
        assert_eq!(verify(&platform, &keys, &[]).unwrap().anchors, 1);

        // A line changed (its head moved to another entry) no longer checks: it is passed over
        // and said, the others still count.
        let text = std::fs::read_to_string(&anchor).unwrap();
        let last = text.lines().last().unwrap().to_string();
        let moved = last.replace(" seq=1 ", " seq=2 ");
        assert_ne!(moved, last);
        std::fs::write(&anchor, text.replace(&last, &moved)).unwrap();
        let v = verify(&platform, &keys, &[]).unwrap();
        assert!(v.ok(), "{:?}", v.first_break);
        assert_eq!(v.anchors, 0);
        assert!(v.anchor_warning.unwrap().contains("1行无法核验"));

        // Made anew at the same place (the demo's --fresh): the old store's heads do not apply.
        drop(platform);
        let path = store::platform_path(std::path::Path::new(&other.spec));
        std::fs::write(&anchor, &text).unwrap();
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
        let platform = store::Store::open_platform(&other.spec).unwrap();
        platform.set_audit_key(keys.audit_chain_key()).unwrap();
        assert!(
            checkpoint(&platform, &keys, Utc::now()).is_err(),
            "empty below its anchor"
        );
        start_over(&platform, &keys, Utc::now()).unwrap();
        platform
            .audit_append(&[entry(0), entry(1)], Utc::now())
            .unwrap();
        checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
        let v = verify(&platform, &keys, &[]).unwrap();
        assert!(v.ok(), "{:?}", v.first_break);
        assert_eq!((v.anchors, v.anchored_upto), (1, 2));
    }

    /// Without any anchor (keys not read from a file), a chain forged after the last checkpoint
    /// is still not signed: the entries since it are checked first.
    #[test]
    fn a_forged_tail_is_not_signed() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 0..5 {
                log.record_blocking(entry(i)).unwrap();
            }
            checkpoint(&platform, &keys, Utc::now()).unwrap().unwrap();
            for i in 5..9 {
                log.record_blocking(entry(i)).unwrap();
            }
            let last = platform.audit_page(9, 1).unwrap().remove(0);
            let mut forged = last.as_entry();
            forged.actor = "user:mallory".into();
            let h = domain::audit::chain_hash(&last.prev_hash, &forged);
            behind_the_back(
                &platform,
                &format!(
                    "UPDATE audit_log SET actor = 'user:mallory', hash = {}, scheme = 1 WHERE seq = 9",
                    bytes_literal(&platform, &h)
                ),
            );
            let refused = checkpoint(&platform, &keys, Utc::now()).unwrap_err();
            assert!(
                matches!(refused, AuditError::Unsound { seq: 9, .. }),
                "{}: {refused}",
                ts.name
            );
            assert_eq!(platform.audit_checkpoint_count().unwrap(), 1, "{}", ts.name);
            // Nor with a checkpoint row over the forged entry that names the platform's key
            // but carries a key and signature of the forger's own, and a keyed entry after it.
            let other = testkit::keys();
            let at = domain::audit::audit_time(Utc::now());
            platform
                .audit_add_checkpoint(&Checkpoint {
                    seq_upto: 9,
                    at,
                    signature: other.sign(&checkpoint_message(9, &h, at)),
                    hash: h.to_vec(),
                    public_key: other.verifying_key().to_sec1_bytes().to_vec(),
                    key_fingerprint: keys.public_key_fingerprint(),
                })
                .unwrap();
            log.record_blocking(entry(9)).unwrap();
            let refused = checkpoint(&platform, &keys, Utc::now()).unwrap_err();
            assert!(
                matches!(refused, AuditError::Unsound { seq: 9, .. }),
                "{}: {refused}",
                ts.name
            );
        }
    }

    /// A checkpoint row inserted by whoever can write the store (the triggers stop updates and
    /// deletes, not inserts): one past the head does not stop signing quietly — it is due, and
    /// refused with what it is; one at the head with a signature not the platform's is not taken
    /// for "already signed".
    #[test]
    fn an_inserted_checkpoint_row_neither_stops_signing_nor_passes_for_signed() {
        for ts in testkit::stores() {
            let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
            let keys = testkit::keys();
            platform.set_audit_key(keys.audit_chain_key()).unwrap();
            let log = AuditLog::start(platform.clone(), Default::default());
            for i in 0..4 {
                log.record_blocking(entry(i)).unwrap();
            }
            let (head, head_hash) = platform.audit_head().unwrap();
            let at = domain::audit::audit_time(Utc::now());
            let junk = |seq_upto: i64| Checkpoint {
                seq_upto,
                at,
                signature: vec![0],
                hash: head_hash.to_vec(),
                public_key: vec![0],
                key_fingerprint: keys.public_key_fingerprint(),
            };
            platform.audit_add_checkpoint(&junk(head)).unwrap();
            let refused = checkpoint(&platform, &keys, Utc::now()).unwrap_err();
            assert!(
                matches!(&refused, AuditError::Unsound { seq, reason } if *seq == head && reason.contains("伪造")),
                "{}: a row at the head is not taken on its word: {refused}",
                ts.name
            );
            // Past it, signing goes on (the forged row stays for verify to report).
            log.record_blocking(entry(4)).unwrap();
            let signed = checkpoint(&platform, &keys, Utc::now()).unwrap();
            assert!(
                signed.is_some_and(|c| c.seq_upto == head + 1),
                "{}",
                ts.name
            );
            platform.audit_add_checkpoint(&junk(1_000_000)).unwrap();
            assert!(
                checkpoint_due(&platform, Utc::now(), chrono::Duration::minutes(5)).unwrap(),
                "{}",
                ts.name
            );
            let refused = checkpoint(&platform, &keys, Utc::now()).unwrap_err();
            assert!(
                matches!(&refused, AuditError::Unsound { seq: 1_000_000, reason } if reason.contains("伪造")),
                "{}: {refused}",
                ts.name
            );
        }
    }

    #[test]
    fn a_deleted_entry_and_a_truncated_tail_are_found() {
        let ts = testkit::sqlite();
        let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
        let keys = testkit::keys();
        let log = AuditLog::start(platform.clone(), Default::default());
        for i in 0..10 {
            log.record_blocking(entry(i)).unwrap();
        }
        checkpoint(&platform, &keys, Utc::now()).unwrap();
        tamper(&platform, "DELETE FROM audit_log WHERE seq = 10");
        let v = verify(&platform, &keys, &[]).unwrap();
        assert_eq!(v.first_break.as_ref().map(|b| b.seq), Some(10));
        tamper(&platform, "DELETE FROM audit_log WHERE seq = 4");
        let v = verify(&platform, &keys, &[]).unwrap();
        assert_eq!(v.first_break.as_ref().map(|b| b.seq), Some(4));
        assert!(v.first_break.unwrap().reason.contains("缺失"));
    }
}
