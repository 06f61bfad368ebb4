//! 国密 cryptography for Xinyong, in one place:
//! - SM3 digests (submissions as received, the audit chain, report fingerprints);
//! - keyed SM3 (HMAC-SM3) to find a natural person by ID number without storing it in clear;
//! - SM4-GCM to encrypt ID numbers at rest;
//! - SM2 signatures with the distinguishing ID `1234567812345678`, verifiable with OpenSSL 3.
//!
//! The keys live in a key file outside the store ([`KeyRing`]); losing the store does not leak them,
//! and losing them makes encrypted ID numbers unreadable, so the file is created once and kept.

use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, Nonce};
use hmac::{Hmac, Mac};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::pkcs8::{EncodePublicKey, LineEnding};
use sm3::{Digest, Sm3};
use sm4::Sm4;

/// The distinguishing ID that OpenSSL (`-sigopt distid:1234567812345678`) and gmssl expect.
pub const SM2_DIST_ID: &str = "1234567812345678";

type Sm4Gcm = AesGcm<Sm4, aes_gcm::aead::consts::U12>;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
    #[error("cannot read or write key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ciphertext is damaged or was made with another key")]
    Decrypt,
    #[error("no randomness available from the operating system")]
    Random,
    #[error("signature: {0}")]
    Signature(String),
}

pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

pub fn sm3_hex(data: &[u8]) -> String {
    hex::encode(sm3(data))
}

/// HMAC-SM3 of `data` under `key`, hex: how webhook deliveries are signed, so a receiver with
/// the shared secret can check who sent them and that nothing changed on the way.
pub fn hmac_sm3_hex(key: &[u8], data: &[u8]) -> String {
    match <Hmac<Sm3> as hmac::KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm is not reached.
        Err(_) => String::new(),
    }
}

/// Random bytes from the operating system, hex (webhook secrets).
pub fn random_hex(n: usize) -> Result<String, CryptoError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|_| CryptoError::Random)?;
    Ok(hex::encode(b))
}

/// An incremental SM3, for streams too large to hold.
#[derive(Clone, Default)]
pub struct Sm3Stream(Sm3);

impl Sm3Stream {
    pub fn new() -> Self {
        Self(Sm3::new())
    }
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| CryptoError::Random)?;
    Ok(b)
}

/// The platform's secret keys.
pub struct KeyRing {
    hmac_key: [u8; 32],
    sm4: Sm4Gcm,
    signing: SigningKey,
    pub path: Option<PathBuf>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyRing({:?}, fingerprint {})",
            self.path,
            self.public_key_fingerprint()
        )
    }
}

impl KeyRing {
    /// Fresh random keys (for a new installation, or a test).
    pub fn generate() -> Result<Self, CryptoError> {
        let hmac_key = random_bytes::<32>()?;
        let sm4_key = random_bytes::<16>()?;
        let signing = loop {
            if let Ok(k) = SigningKey::from_slice(SM2_DIST_ID, &random_bytes::<32>()?) {
                break k;
            }
        };
        Ok(Self::from_parts(hmac_key, sm4_key, signing, None))
    }

    fn from_parts(
        hmac_key: [u8; 32],
        sm4_key: [u8; 16],
        signing: SigningKey,
        path: Option<PathBuf>,
    ) -> Self {
        KeyRing {
            hmac_key,
            sm4: Sm4Gcm::new(&sm4_key.into()),
            signing,
            path,
        }
    }

    /// Reads the key file, creating it (mode 0600) when it does not exist yet.
    pub fn open_or_create(path: &Path) -> Result<Self, CryptoError> {
        if path.exists() {
            return Self::open(path);
        }
        let io = |source| CryptoError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let keys = Self::generate()?;
        let hmac_key = keys.hmac_key;
        let sm4_key = random_bytes::<16>()?;
        let text = format!(
            "# Xinyong key file. Keep it outside the store and back it up: without it, encrypted\n\
             # ID numbers cannot be read and signatures cannot be made.\n\
             hmac_sm3 = {}\nsm4 = {}\nsm2_secret = {}\n",
            hex::encode(hmac_key),
            hex::encode(sm4_key),
            hex::encode(keys.signing.to_bytes()),
        );
        write_private(path, &text).map_err(io)?;
        Self::open(path)
    }

    pub fn open(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read_to_string(path).map_err(|source| CryptoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |message: &str| CryptoError::KeyFile {
            path: path.to_path_buf(),
            message: message.to_string(),
        };
        let field = |name: &str| -> Result<Vec<u8>, CryptoError> {
            let line = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix(name)
                        .map(str::trim)
                        .and_then(|r| r.strip_prefix('='))
                })
                .ok_or_else(|| bad(&format!("missing {name}")))?;
            hex::decode(line.trim()).map_err(|_| bad(&format!("{name} is not hex")))
        };
        let hmac_key: [u8; 32] = field("hmac_sm3")?
            .try_into()
            .map_err(|_| bad("hmac_sm3 must be 32 bytes"))?;
        let sm4_key: [u8; 16] = field("sm4")?
            .try_into()
            .map_err(|_| bad("sm4 must be 16 bytes"))?;
        let signing = SigningKey::from_slice(SM2_DIST_ID, &field("sm2_secret")?)
            .map_err(|_| bad("sm2_secret is not a valid SM2 private key"))?;
        Ok(Self::from_parts(
            hmac_key,
            sm4_key,
            signing,
            Some(path.to_path_buf()),
        ))
    }

    /// HMAC-SM3 of `data`: the same input always gives the same value, without the key nobody can
    /// recompute it from a guessed ID number.
    pub fn keyed_hash(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sm3> as hmac::KeyInit>::new_from_slice(&self.hmac_key)
            .expect("HMAC takes keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The key the audit chain is computed under (HMAC-SM3): derived from the HMAC key, apart
    /// from persons' keys by its label, so the one key file holds it and nothing in the store
    /// does.
    pub fn audit_chain_key(&self) -> [u8; 32] {
        self.keyed_hash(b"xinyong-audit-chain|v2")
    }

    /// What a subscribing unit is told a subject (or a subject's record) is: an organisation's
    /// key or record id as it stands (its USCC is public); for a person's (`P…`) `R` and 24 hex
    /// characters of HMAC-SM3 over the unit and the key, under a key of its own purpose. A
    /// person's key given back for a code sent is an ID-number oracle (keys are public in record
    /// ids); this one is stable for the same unit, differs for another, and matches no public id.
    pub fn subscriber_ref(&self, unit: &str, key: &str) -> String {
        if !key.starts_with('P') {
            return key.to_string();
        }
        format!(
            "R{}",
            &self.unit_digest(b"xinyong-subscriber-ref|v1", unit, key)[..24]
        )
    }

    /// HMAC-SM3 (hex) of a unit's text under a key of the given purpose, derived from the key
    /// file: what the platform can recompute and nobody without the key file can reverse (a
    /// plain SM3 of an ID number is found again from its masked form by trying birth dates).
    pub fn unit_digest(&self, purpose: &[u8], unit: &str, text: &str) -> String {
        let key = self.keyed_hash(purpose);
        hmac_sm3_hex(&key, format!("{unit}\u{1f}{text}").as_bytes())
    }

    /// The store's key for a natural person: `P` and 31 hex characters of the keyed hash of the
    /// ID type and number. The same person always gets the same key; the key does not reveal the
    /// number.
    pub fn person_key(&self, id_type: &str, id_number: &str) -> String {
        let h = self.keyed_hash(format!("{id_type}:{id_number}").as_bytes());
        format!("P{}", &hex::encode(h)[..31])
    }

    /// SM4-GCM with a random nonce: nonce ‖ ciphertext ‖ tag.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = random_bytes::<12>()?;
        let nonce = Nonce::from(nonce_bytes);
        let mut out = nonce_bytes.to_vec();
        let ct = self
            .sm4
            .encrypt(&nonce, plain)
            .map_err(|_| CryptoError::Decrypt)?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if data.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let nonce: [u8; 12] = data[..12].try_into().map_err(|_| CryptoError::Decrypt)?;
        self.sm4
            .decrypt(&Nonce::from(nonce), &data[12..])
            .map_err(|_| CryptoError::Decrypt)
    }

    /// SM2 signature (DER) over `msg`, with the distinguishing ID `1234567812345678`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(msg);
        sig.to_der().to_vec()
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as PEM (SubjectPublicKeyInfo), for `openssl dgst -sm3 -verify`.
    pub fn public_key_pem(&self) -> String {
        self.verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// SM3 of the uncompressed public key, hex: what a verifier compares against the published one.
    pub fn public_key_fingerprint(&self) -> String {
        sm3_hex(&self.verifying_key().to_sec1_bytes())
    }
}

/// Verifies a DER SM2 signature against an uncompressed SEC1 public key.
pub fn verify(public_sec1: &[u8], msg: &[u8], der: &[u8]) -> Result<(), CryptoError> {
    let key = VerifyingKey::from_sec1_bytes(SM2_DIST_ID, public_sec1)
        .map_err(|e| CryptoError::Signature(e.to_string()))?;
    let sig = Signature::from_der(der).map_err(|e| CryptoError::Signature(e.to_string()))?;
    key.verify(msg, &sig)
        .map_err(|e| CryptoError::Signature(e.to_string()))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_known_answer() {
        // GB/T 32905-2016 example 1.
        assert_eq!(
            sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn keys_round_trip_through_the_file() {
        let dir = std::env::temp_dir().join(format!("xy-keys-{}", std::process::id()));
        let path = dir.join("xinyong.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = KeyRing::open_or_create(&path).unwrap();
        let b = KeyRing::open_or_create(&path).unwrap();
        assert_eq!(
            a.keyed_hash(b"320902198503151234"),
            b.keyed_hash(b"320902198503151234")
        );
        let ct = a.encrypt(b"320902198503151234").unwrap();
        assert!(!ct.windows(6).any(|w| w == b"320902"));
        assert_eq!(b.decrypt(&ct).unwrap(), b"320902198503151234");
        let other = KeyRing::generate().unwrap();
        assert!(other.decrypt(&ct).is_err());
        assert_ne!(other.keyed_hash(b"x"), a.keyed_hash(b"x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "key file must not be readable by others");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_subscriber_ref_hides_a_persons_key_and_differs_by_unit() {
        let k = KeyRing::generate().unwrap();
        let p = k.person_key("身份证", "320902198503151234");
        let a = k.subscriber_ref("盐城市市场监督管理局", &p);
        assert_eq!(a, k.subscriber_ref("盐城市市场监督管理局", &p));
        assert_ne!(a, k.subscriber_ref("盐城市税务局", &p));
        assert!(a.starts_with('R') && a.len() == 25, "{a}");
        assert!(!a.contains(&p[1..9]) && !p.contains(&a[1..9]));
        let record = format!("{p}-091d");
        assert!(!k.subscriber_ref("盐城市税务局", &record).contains(&p[1..]));
        assert_eq!(
            k.subscriber_ref("盐城市税务局", "91320900MA1XXXXXXX"),
            "91320900MA1XXXXXXX"
        );
    }

    #[test]
    fn signatures_verify_and_detect_changes() {
        let k = KeyRing::generate().unwrap();
        let sig = k.sign(b"checkpoint 42");
        let pk = k.verifying_key().to_sec1_bytes();
        verify(&pk, b"checkpoint 42", &sig).unwrap();
        assert!(verify(&pk, b"checkpoint 43", &sig).is_err());
        assert!(k.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
    }
}
