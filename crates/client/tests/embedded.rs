//! The client against the real service on a real port: check, snippet, feedback, errors.

use std::sync::Arc;

use xinyong_client::{Client, ClientError};

const UNIT: &str = "盐城市生态环境局";

fn uscc(n: u16) -> String {
    let org = format!("MA3Y{n:04}");
    let check = domain::ids::org_code_check(org.as_bytes()).unwrap();
    let body = format!("91320900{org}{check}");
    format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_system_checks_shows_and_reports_back() {
    let ts = testkit::sqlite();
    let rules = Arc::new(rulebook::Rulebook::builtin().unwrap());
    let keys = Arc::new(testkit::keys());
    let clock: Arc<dyn domain::clock::Clock> = Arc::new(testkit::clock_on("2026-06-10"));
    let store = Arc::new(store::Store::open(&ts.spec).unwrap());
    let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
    let a = uscc(1);
    let csv = format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         甲公司,法人及非法人组织,{a},严重失信主体名单,信1号,拒不履行,《有关规定》,{UNIT},2026-01-10,2029-01-10\n"
    );
    let s = ingest::Importer {
        store: &store,
        rules: &rules,
        keys: &keys,
        clock: clock.as_ref(),
    }
    .import_reader(
        None,
        ingest::Format::Csv,
        csv.as_bytes(),
        &ingest::ImportOptions {
            unit: UNIT.into(),
            class: "严重失信主体名单".into(),
            actor: "t".into(),
            channel: store::Channel::File,
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(s.accepted, 1);
    let token = server::manage::create_token(
        &platform,
        &rules,
        &keys,
        &server::manage::TokenRequest {
            name: "招投标系统".into(),
            role: auth::Role::Handling,
            unit: Some(UNIT.into()),
            subject: None,
            days: Some(1),
        },
        "test",
        clock.now(),
        None,
    )
    .unwrap()
    .token;
    let state = server::AppState::new(
        store,
        platform,
        rules,
        keys,
        clock,
        server::Config::default(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(state, listener, std::future::pending()));

    tokio::task::spawn_blocking(move || {
        let c = Client::new(&base, &token);
        let answer = c.check(&a, "ZFCG").unwrap();
        assert_eq!(answer.verdict, "forbid");
        assert_eq!(answer.subject.name, "甲公司");
        assert!(
            answer
                .measures
                .iter()
                .any(|m| m.id == "CJ-ZFCG-01" && m.basis.contains("政府采购法"))
        );
        assert_eq!(answer.entries[0].decision_no, "信1号");
        assert!(!answer.repeated);
        // A case's check retried under its 办件编号 is the same check.
        let first = c.check_case(&a, "ZFCG", Some("CG-2026-7")).unwrap();
        let retry = c.check_case(&a, "ZFCG", Some("CG-2026-7")).unwrap();
        assert_ne!(first.check_id, answer.check_id);
        assert_eq!((retry.check_id, retry.repeated), (first.check_id, true));
        let html = c.snippet(answer.check_id).unwrap();
        assert!(
            html.contains("禁止")
                && html.contains(&answer.check_id.to_string())
                && !html.contains("<script")
        );
        c.applied(
            answer.check_id,
            &answer.measure_ids(),
            Some("未准予参加本次采购"),
        )
        .unwrap();
        // Sent again after a timeout, the same feedback is taken; other feedback is refused,
        // saying what was recorded.
        c.applied(
            answer.check_id,
            &answer.measure_ids(),
            Some("未准予参加本次采购"),
        )
        .unwrap();
        match c.applied(answer.check_id, &answer.measure_ids(), None) {
            Err(ClientError::Refused {
                status: 409,
                message,
                ..
            }) => assert!(message.contains("未准予参加本次采购"), "{message}"),
            other => panic!("second feedback: {other:?}"),
        }
        match c.check("91320900MA3Y00010X", "ZFCG") {
            Err(ClientError::Refused {
                status: 422,
                message,
                ..
            }) => assert!(message.contains("校验码"), "{message}"),
            other => panic!("bad code: {other:?}"),
        }
        let clear = c.check(&uscc(2), "政府采购").unwrap();
        assert_eq!(clear.verdict, "clear");
        assert!(!clear.subject.known);
        // A check that found nothing takes no feedback.
        match c.not_applicable(clear.check_id, "未发现限制，正常办理") {
            Err(ClientError::Refused {
                status: 422,
                message,
                ..
            }) => assert!(message.contains("无需反馈"), "{message}"),
            other => panic!("feedback on a clear check: {other:?}"),
        }
        match Client::new(&base, "xt_wrong").check(&a, "ZFCG") {
            Err(ClientError::Refused { status: 401, .. }) => {}
            other => panic!("bad token: {other:?}"),
        }
    })
    .await
    .unwrap();
}

/// A platform on the intranet with its own CA: the client takes the CA's PEM; a file without a
/// certificate is refused in Chinese.
#[test]
fn an_intranet_ca_is_taken_from_its_pem() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("ca.key"), dir.path().join("ca.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=盐城市政务内网CA"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read(&cert).unwrap();
    assert!(Client::with_root_certs("https://credit.yancheng.example", "t", &pem).is_ok());
    let key_only = std::fs::read(&key).unwrap();
    match Client::with_root_certs("https://credit.yancheng.example", "t", &key_only) {
        Err(ClientError::Transport(m)) => assert!(m.contains("没有证书"), "{m}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}
