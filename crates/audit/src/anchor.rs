//! The anchor outside the store: beside the key file, one line per signed checkpoint naming the
//! head it signed (`<keyfile>.audit-anchor`). Whoever can write the store but not the key file
//! can drop the guards, delete the checkpoints and recompute the chain (unkeyed, from entry 1),
//! or cut its tail with the checkpoints over it: the store then agrees with itself. The anchor
//! keeps what was signed where that writer does not reach, and each line carries an HMAC-SM3
//! under a key derived from the key file, so it cannot be forged or moved to another store.
//!
//! A line: `anchor store=<id> seq=<n> hash=<hex> scheme=<n> at=<RFC 3339> mac=<hex>`, or
//! `start-over store=<id> at=<…> mac=<hex>` when a store is deliberately made anew at the same
//! place (the demo's `--fresh`): the store's earlier lines no longer apply. Lines are appended,
//! synced, never rewritten. Several stores may share a key file (tests, the demo): a line names
//! its store by where it lives — the SQLite file's full path, PostgreSQL's host, database and
//! schema — not by anything kept in the store, which the same writer could change.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use crypto::KeyRing;
use store::{Location, Store};

use crate::AuditError;

/// What an anchor line says of a signed head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub scheme: i64,
    pub at: DateTime<Utc>,
}

/// The anchor lines of one store, as read.
#[derive(Debug, Default)]
pub struct Anchors {
    /// In the order written, after the store's last start-over.
    pub lines: Vec<Anchor>,
    /// Lines that do not parse or whose MAC fails (a torn write, or not written with this key).
    pub unreadable: usize,
}

/// The anchor file of a key file, scoped to one store.
pub struct AnchorFile {
    pub path: PathBuf,
    mac_key: [u8; 32],
    store: String,
}

const HEADER: &str = "# Xinyong audit anchor: one line per signed audit checkpoint, appended, never \
rewritten. Keep it beside the key file; each line carries an HMAC-SM3 under the key file.\n";

impl AnchorFile {
    /// The anchor of `store` beside the key file `keys` was read from; `None` for keys not read
    /// from a file (tests).
    pub fn of(store: &Store, keys: &KeyRing) -> Option<AnchorFile> {
        let key_path = keys.path.as_ref()?;
        let mut name = key_path.as_os_str().to_owned();
        name.push(".audit-anchor");
        Some(AnchorFile {
            path: PathBuf::from(name),
            mac_key: keys.keyed_hash(b"xinyong-audit-anchor|v1"),
            store: store_id(store.location()),
        })
    }

    fn mac(&self, body: &str) -> String {
        crypto::hmac_sm3_hex(&self.mac_key, body.as_bytes())
    }

    /// This store's lines; none when the file does not exist.
    pub fn read(&self) -> Result<Anchors, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Anchors::default()),
            Err(e) => return Err(self.io_error(e)),
        };
        let mut out = Anchors::default();
        let store = format!("store={}", self.store);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((body, mac)) = line.rsplit_once(" mac=") else {
                out.unreadable += 1;
                continue;
            };
            if self.mac(body) != mac {
                out.unreadable += 1;
                continue;
            }
            let mut words = body.split(' ');
            let (kind, id) = (words.next(), words.next());
            if id != Some(store.as_str()) {
                continue;
            }
            match (kind, parse_anchor(words)) {
                (Some("start-over"), _) => out.lines.clear(),
                (Some("anchor"), Some(a)) => out.lines.push(a),
                _ => out.unreadable += 1,
            }
        }
        Ok(out)
    }

    /// Appends the line for a signed head, synced before the checkpoint is stored.
    pub fn append(&self, a: &Anchor) -> Result<(), AuditError> {
        self.write_line(&format!(
            "anchor store={} seq={} hash={} scheme={} at={}",
            self.store,
            a.seq,
            hex::encode(&a.hash),
            a.scheme,
            time(a.at)
        ))
    }

    /// Says that the store at this place was made anew: its earlier lines no longer apply.
    pub fn start_over(&self, at: DateTime<Utc>) -> Result<(), AuditError> {
        self.write_line(&format!("start-over store={} at={}", self.store, time(at)))
    }

    fn write_line(&self, body: &str) -> Result<(), AuditError> {
        let line = format!("{body} mac={}\n", self.mac(body));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io_error(e))?;
        let len = f.metadata().map_err(|e| self.io_error(e))?.len();
        // A line torn by a crash is ended first, so that it does not swallow this one.
        let mut last = [b'\n'];
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            f.seek(SeekFrom::End(-1))
                .and_then(|_| f.read_exact(&mut last))
                .map_err(|e| self.io_error(e))?;
        }
        let text = if len == 0 {
            format!("{HEADER}{line}")
        } else if last[0] != b'\n' {
            format!("\n{line}")
        } else {
            line
        };
        // One write of one short line, O_APPEND: lines of two processes do not interleave.
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| self.io_error(e))?;
        if len == 0 {
            // The new file's name must survive a crash too.
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
        }
        Ok(())
    }

    fn io_error(&self, e: std::io::Error) -> AuditError {
        AuditError::Anchor {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    domain::audit::audit_time(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_anchor<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<Anchor> {
    let mut field = |name: &str| words.next()?.strip_prefix(name)?.strip_prefix('=');
    let seq = field("seq")?.parse().ok().filter(|s: &i64| *s >= 1)?;
    let hash = hex::decode(field("hash")?).ok()?;
    let scheme = field("scheme")?.parse().ok()?;
    let at = DateTime::parse_from_rfc3339(field("at")?).ok()?.to_utc();
    Some(Anchor {
        seq,
        hash,
        scheme,
        at,
    })
}

/// Names a store by where it lives (SM3, 32 hex digits, so that no path or host is written
/// out): an SQLite file by its full path (directory resolved, so `a.db` and `./a.db` agree, and
/// a file not there yet is named as it will be), PostgreSQL by host, database and schema,
/// without user or password.
fn store_id(location: &Location) -> String {
    let place = match location {
        Location::Sqlite(p) => format!("sqlite:{}", full_path(p).display()),
        Location::Postgres { url, schema } => {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
            let host_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let (host_port, db) = host_db.split_once('/').unwrap_or((host_db, ""));
            format!(
                "postgres:{}/{db}#{}",
                server_of(host_port),
                // Unquoted, as the store sets its search path: PostgreSQL folds it to lower case.
                schema.as_deref().unwrap_or("public").to_ascii_lowercase()
            )
        }
    };
    crypto::sm3_hex(place.as_bytes())[..32].to_string()
}

/// The server a URL's `host[:port]` names, the same however this machine is written: the
/// loopback under any of its names (localhost, 127.0.0.1, ::1, an IPv4-mapped address, or no
/// host — the local socket) is one server; case and the default port do not matter. (Another
/// DNS name of a remote server is still another name: the anchor then says it has none.)
fn server_of(host_port: &str) -> String {
    let hp = host_port.to_ascii_lowercase();
    let (host, port) = match hp.strip_prefix('[') {
        // [v6]:port
        Some(v6) => match v6.split_once(']') {
            Some((h, rest)) => (h.to_string(), rest.trim_start_matches(':').to_string()),
            None => (v6.to_string(), String::new()),
        },
        None => match hp.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), p.to_string()),
            _ => (hp.clone(), String::new()),
        },
    };
    let port = if port.is_empty() { "5432".into() } else { port };
    let loopback = host.is_empty()
        || host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| match ip {
            std::net::IpAddr::V4(v4) => v4.is_loopback(),
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        });
    format!("{}:{port}", if loopback { "loopback" } else { &host })
}

fn full_path(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(abs.clone()),
        _ => abs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_named_by_its_place_not_its_address_details() {
        let pg = |s: &str| store_id(&Location::parse(s).unwrap());
        // This machine's server under any of its names, with or without the default port.
        let here = pg("postgres://postgres@127.0.0.1:5432/credit");
        for alias in [
            "postgres://postgres@localhost/credit",
            "postgres://postgres@LOCALHOST:5432/credit",
            "postgres://postgres@[::1]:5432/credit",
            "postgres://postgres@[::ffff:127.0.0.1]/credit",
            "postgres://postgres@127.0.0.2:5432/credit",
        ] {
            assert_eq!(pg(alias), here, "{alias}");
        }
        assert_ne!(pg("postgres://postgres@127.0.0.1:5433/credit"), here);
        // A schema in other letter case is the same schema (unquoted, PostgreSQL folds it).
        assert_eq!(
            pg("postgres://db/credit?schema=Rev5_X"),
            pg("postgres://db/credit?schema=rev5_x")
        );
        assert_ne!(pg("postgres://postgres@127.0.0.1:5432/other"), here);
        assert_eq!(
            pg("postgres://app:secret@db:5432/credit?schema=a"),
            pg("postgres://other@db:5432/credit?schema=a&sslmode=disable")
        );
        assert_ne!(
            pg("postgres://db:5432/credit?schema=a"),
            pg("postgres://db:5432/credit?schema=b")
        );
        let dir = std::env::temp_dir();
        assert_eq!(
            store_id(&Location::Sqlite(dir.join("x.db"))),
            store_id(&Location::Sqlite(dir.join(".").join("x.db")))
        );
    }
}
