//! The portal in a real browser: headless Chromium (Debian's `chromium` and `chromedriver`)
//! against the real service on a real port. Search by name and by code, open a subject, read a
//! penalty and its dates, watch it disappear after a repair is recorded in the store; with
//! JavaScript off, and on a phone-sized screen. Screenshots of the home and subject pages are
//! saved under `$CARGO_TARGET_TMPDIR/browser/` (printed by the test).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::webdriver::{Driver, ENTER};
use common::*;

async fn serve(h: &Harness) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = h.router.clone();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{addr}")
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn save(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_open_subject_see_penalty_and_its_repair() {
    let h = harness();
    let base = serve(&h).await;
    let org = h.org.clone();
    let store = h.state.store.clone();
    let clock_now = h.state.clock.now();
    // WebDriver calls block: run the browser on a thread of its own while the server serves.
    tokio::task::spawn_blocking(move || {
        let driver = Driver::start();
        let b = driver.session(1280, 1400, true);

        b.goto(&format!("{base}/"));
        assert!(b.title().contains("信用中国（江苏盐城）"), "{}", b.title());
        save("portal-home.png", &b.screenshot());

        // By name: two characters of it, from the home page's search box.
        let q = b.find("form.big-search input[name=q]");
        b.type_into(&q, "恒泰");
        b.click(&b.find("form.big-search button"));
        // A click that submits a form returns before the new page lands; wait for it.
        wait_until(|| b.url().contains("/search?q="));
        assert!(b.url().contains("/search?q="), "{}", b.url());
        let hits = b.find_all("ol.hits a.name");
        assert_eq!(hits.len(), 1, "one subject has 恒泰 in its name");
        let marked = b.find("ol.hits a.name mark");
        assert_eq!(b.text(&marked), "恒泰");
        b.click(&hits[0]);
        wait_until(|| b.url().ends_with(&format!("/subjects/{org}")));
        assert!(
            b.url().ends_with(&format!("/subjects/{org}")),
            "{}",
            b.url()
        );
        assert_eq!(b.text(&b.find("main h1")), "盐城市恒泰化工有限公司");

        // The penalty with its dates.
        let cards = b.find_all("article.record");
        let penalty = cards
            .iter()
            .find(|c| b.text(c).contains("盐环罚〔2026〕1号"))
            .expect("the penalty on the subject page");
        let dates = b.text(penalty);
        assert!(
            dates.contains("可申请信用修复日期") && dates.contains("公示截止日期"),
            "{dates}"
        );
        assert!(dates.contains("2026-06-01"), "{dates}");
        save("portal-subject.png", &b.screenshot());

        // By code, typed in lower case with spaces, from the header's quick search on another
        // page (so that landing on the subject's page is the search's doing).
        b.goto(&format!("{base}/publicity/penalties"));
        let q = b.find("form.quick input[name=q]");
        b.type_into(
            &q,
            &format!(
                " {} {}{ENTER}",
                &org[..9].to_lowercase(),
                &org[9..].to_lowercase()
            ),
        );
        wait_until(|| b.url().ends_with(&format!("/subjects/{org}")));
        assert!(
            b.url().ends_with(&format!("/subjects/{org}")),
            "{}",
            b.url()
        );

        // A repair recorded in the store takes the penalty off the page.
        let id = store
            .public_records(&store::PublicQuery {
                classes: vec!["CF".into()],
                subject_key: Some(org.clone()),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .find(|r| r.payload.contains("盐环罚〔2026〕1号"))
            .unwrap()
            .record_id;
        store
            .repair_record(
                &id,
                &store::Withdrawal {
                    unit: UNIT,
                    actor: "browser-test",
                    reason: "信用修复已核准",
                    at: clock_now,
                },
            )
            .unwrap();
        b.refresh();
        let page = b.text(&b.find("main"));
        assert!(!page.contains("盐环罚〔2026〕1号"), "{page}");
        b.goto(&format!("{base}/publicity/penalties"));
        let column = b.text(&b.find("main"));
        assert!(
            !column.contains("盐环罚〔2026〕1号") && column.contains("盐环罚〔2026〕2号"),
            "{column}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone_screen() {
    let h = harness();
    let base = serve(&h).await;
    let org = h.org.clone();
    tokio::task::spawn_blocking(move || {
        let driver = Driver::start();
        let b = driver.phone(390, 844);
        for path in [
            "/".to_string(),
            format!("/subjects/{org}"),
            "/publicity/penalties".into(),
            format!("/search?q={}", urlencode("盐城")),
            "/news".into(),
            "/opendata".into(),
        ] {
            b.goto(&format!("{base}{path}"));
            let v = b.execute("return [document.documentElement.scrollWidth, window.innerWidth]");
            let (content, screen) = (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
            assert_eq!(screen, 390.0, "the emulated screen");
            assert!(
                content <= screen,
                "{path}: content is {content}px wide on a {screen}px screen"
            );
        }
        b.goto(&format!("{base}/subjects/{org}"));
        save("portal-subject-phone.png", &b.screenshot());
    })
    .await
    .unwrap();
}

fn wait_until(mut ok: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A POST over loopback as a department's system would send it (blocking, for the browser thread).
fn post(base: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    http(base, "POST", path, token, body)
}

fn http(base: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_applies_for_repair_in_the_browser_and_the_penalty_leaves_the_portal() {
    let mut h = harness();
    // 2026-09-02 10:00 in Beijing: the penalty of 2026-06-01 has served its three months.
    h.move_to(
        testkit::day("2026-09-02")
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc(),
    )
    .await;
    let s = h.state.clone();
    let rep = tokio::task::spawn_blocking(move || server::jobs::run_once(&s))
        .await
        .unwrap()
        .unwrap();
    assert!(rep.cases.reminders >= 1, "{rep:?}");
    let base = serve(&h).await;
    let org = h.org.clone();
    let token = h.tokens[&auth::Role::Deciding].clone();
    let checker = h.tokens[&auth::Role::Handling].clone();
    let pdf = artifacts().join("receipt.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    )
    .unwrap();
    tokio::task::spawn_blocking(move || {
        let driver = Driver::start();
        let b = driver.session(1280, 1600, true);
        // The subject logs in and finds the reminder and the record with its repairable date.
        b.goto(&format!("{base}/console/login"));
        b.type_into(&b.find("input[name=username]"), "subject");
        b.type_into(&b.find("input[name=password]"), "Testing2026pass");
        b.click(&b.find("form button[type=submit]"));
        // The click returns before the login's redirect lands; wait for it.
        wait_until(|| b.url().ends_with("/console"));
        b.goto(&format!("{base}/console/my/records"));
        assert!(
            b.url().ends_with("/console/my/records"),
            "{}: {}",
            b.url(),
            b.text(&b.find("body"))
        );
        let main = b.text(&b.find("main"));
        assert!(!b.find_all("#messages").is_empty(), "{main}");
        let reminders = b.text(&b.find("#messages"));
        assert!(reminders.contains("可申请信用修复"), "{reminders}");
        let card = b
            .find_all("section.record")
            .into_iter()
            .find(|c| b.text(c).contains("盐环罚〔2026〕1号"))
            .expect("the penalty among my records");
        assert!(b.text(&card).contains("2026-09-02"));
        // Apply: sign the commitment, say what was done, attach the receipt.
        b.click(&b.find("form.apply input[name=commitment]"));
        b.type_into(
            &b.find("form.apply textarea[name=statement]"),
            "罚款已缴清，整改已完成",
        );
        b.send_keys(
            &b.find("form.apply input[name=file]"),
            pdf.to_str().unwrap(),
        );
        b.click(&b.find("form.apply button"));
        wait_until(|| b.url().contains("/console/cases/"));
        let url = b.url();
        assert!(url.contains("/console/cases/"), "{url}");
        let id: i64 = url.rsplit('/').next().unwrap().parse().unwrap();
        assert!(b.text(&b.find("#case-state")).contains("已提交"));
        assert!(b.text(&b.find("main")).contains("receipt.pdf"));
        save("repair-application.png", &b.screenshot());

        // The deciding unit, over the API: accept, then approve with performance confirmed.
        let (st, body) = post(
            &base,
            &format!("/api/v1/cases/{id}/actions"),
            &token,
            r#"{"action":"accept"}"#,
        );
        assert_eq!(st, 200, "{body}");
        let (st, body) = post(
            &base,
            &format!("/api/v1/cases/{id}/actions"),
            &token,
            r#"{"action":"approve","performed":true,"reason":"罚款已缴清"}"#,
        );
        assert_eq!(st, 200, "{body}");

        // Gone from the portal's subject page and the 双公示 column; the subject sees the decision.
        b.goto(&format!("{base}/subjects/{org}"));
        assert!(!b.text(&b.find("main")).contains("盐环罚〔2026〕1号"));
        b.goto(&format!("{base}/publicity/penalties"));
        let column = b.text(&b.find("main"));
        assert!(
            !column.contains("盐环罚〔2026〕1号") && column.contains("盐环罚〔2026〕2号"),
            "{column}"
        );
        b.goto(&format!("{base}/console/cases/{id}"));
        assert!(b.text(&b.find("#case-state")).contains("准予修复"));
        // … and from the open-data export and the check API.
        let (st, csv) = http(
            &base,
            "GET",
            "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
            "",
            "",
        );
        assert_eq!(st, 200);
        assert!(!csv.contains("盐环罚〔2026〕1号") && csv.contains("盐环罚〔2026〕2号"));
        let (_, case) = http(&base, "GET", &format!("/api/v1/cases/{id}"), &token, "");
        let record = case
            .split("\"record_id\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let (st, check) = post(
            &base,
            "/api/v1/checks",
            &checker,
            &format!(r#"{{"code":"{org}","matter":"行政许可"}}"#),
        );
        assert_eq!(st, 200, "{check}");
        assert!(
            !check.contains(&record) && check.contains("\"verdict\":\"clear\""),
            "{check}"
        );
    })
    .await
    .unwrap();
}
