//! A department's receiver on the intranet, over HTTPS with a certificate from the intranet's own
//! CA: refused (UnknownIssuer) against the public roots, delivered once the platform is given
//! that CA (`serve --webhook-ca`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use joint::alerts::{WebhookCa, WebhookOptions, ping};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const UNIT: &str = "盐城市生态环境局";

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An intranet CA (ca.pem) and a receiver's certificate for 127.0.0.1 it signed (leaf.pem,
/// leaf.key).
fn intranet_pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=Yancheng Intranet CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(&ca, dir);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
    openssl(&csr, dir);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
        dir,
    );
}

/// An HTTPS receiver answering 204 to every request it reads whole; its address.
fn tls_receiver(dir: &Path) -> String {
    let pem = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let certs: Vec<CertificateDer<'static>> = ureq::tls::parse_pem(&pem("leaf.pem"))
        .filter_map(|i| match i.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(CertificateDer::from(c.der().to_vec())),
            _ => None,
        })
        .collect();
    let key = ureq::tls::parse_pem(&pem("leaf.key"))
        .find_map(|i| match i.unwrap() {
            ureq::tls::PemItem::PrivateKey(k) => Some(PrivateKeyDer::Pkcs8(
                PrivatePkcs8KeyDer::from(k.der().to_vec()),
            )),
            _ => None,
        })
        .unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // A client that refuses the certificate ends here: the next one is served.
            let _ = serve_one(&mut tls);
        }
    });
    format!("https://{addr}/hook")
}

fn serve_one<S: Read + Write>(s: S) -> std::io::Result<()> {
    let mut r = BufReader::new(s);
    let mut len = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let s = r.get_mut();
    s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")?;
    s.flush()
}

#[test]
fn an_intranet_receiver_is_reached_with_the_intranet_ca() {
    let dir = tempfile::tempdir().unwrap();
    intranet_pki(dir.path());
    let url = tls_receiver(dir.path());
    let ts = testkit::sqlite();
    let platform = store::Store::open_platform(&ts.spec).unwrap();
    let keys = testkit::keys();
    let now = chrono::Utc::now();
    platform
        .set_webhook(
            UNIT,
            &url,
            &keys.encrypt(b"secret").unwrap(),
            "admin",
            now,
            None,
        )
        .unwrap();
    let opts = WebhookOptions {
        loopback: true,
        ..WebhookOptions::default()
    };
    // Against the public roots: not delivered, and the unit is told what to do, in Chinese.
    let public = ping(&platform, &keys, UNIT, now, &opts).unwrap().unwrap();
    assert!(!public.delivered, "{public:?}");
    let why = public.error.unwrap_or_default();
    assert!(
        why.contains("证书") && why.contains("--webhook-ca"),
        "{why}"
    );
    // With the intranet CA: delivered.
    let ca = WebhookCa::from_pem(&std::fs::read(dir.path().join("ca.pem")).unwrap()).unwrap();
    assert_eq!(ca.len(), 1);
    let intranet = WebhookOptions {
        ca: Some(ca),
        ..opts
    };
    let ok = ping(&platform, &keys, UNIT, now, &intranet)
        .unwrap()
        .unwrap();
    assert_eq!((ok.delivered, ok.status), (true, Some(204)), "{ok:?}");
    // A file without a certificate (a key given by mistake) is refused, in Chinese.
    let key = std::fs::read(dir.path().join("ca.key")).unwrap();
    let err = WebhookCa::from_pem(&key).unwrap_err();
    assert!(err.contains("没有证书"), "{err}");
}
