//! The service end to end on a real store: push API, visibility of files, masking, errors,
//! rate limits, sessions, the OpenAPI document, the audit trail.

mod common;

use auth::Role;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use common::*;
use domain::clock::Clock;
use serde_json::{Value, json};

fn records_json(rows: &[(&str, &str, &str)]) -> serde_json::Value {
    // (name, USCC, decision no) with national field codes, as a department's system sends them.
    serde_json::Value::Array(
        rows.iter()
            .map(|(name, code, no)| {
                json!({
                    "CF_XDR_MC": name, "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": code, "CF_FRDB": "李四",
                    "CF_WSH": no, "CF_WFXW": "超标排放", "CF_SY": "经查超标排放", "CF_YJ": "《中华人民共和国大气污染防治法》第九十九条",
                    "CF_CFLB": "罚款", "CF_NR": "罚款1万元", "CF_NR_FK": "1", "CF_JDRQ": "2026-06-05", "CF_YXQ": "2029-06-05",
                    "CF_CFJG": "盐城市生态环境局", "CF_CFJGDM": "113209000014018501", "CF_SJLY": "盐城市生态环境局", "CF_SJLYDM": "113209000014018501"
                })
            })
            .collect(),
    )
}

async fn push(h: &Harness, role: Role, body: &serde_json::Value) -> Reply {
    h.send(
        h.request(
            Method::POST,
            &format!("/api/v1/submissions?class={}", urlencode("行政处罚")),
            role,
            Via::Token,
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_api_validates_is_idempotent_and_reports_rows() {
    let h = harness();
    let body = records_json(&[
        (
            "盐城市恒泰化工有限公司",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕101号",
        ),
        (
            "盐城市某某公司",
            "91320900MA1MB4X50T",
            "盐环罚〔2026〕102号",
        ),
        (
            "盐城市恒泰化工有限公司",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕101号",
        ),
    ]);
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let s = r.json();
    assert_eq!(
        (
            s["rows_read"].as_u64(),
            s["accepted"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    let id = s["submission_id"].as_i64().unwrap();
    // The same bytes again change nothing.
    let again = push(&h, Role::Reporter, &body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["duplicate_of"].as_i64(), Some(id));
    // What became of each row.
    let d = h
        .get(&format!("/api/v1/submissions/{id}"), Role::Reporter)
        .await
        .json();
    assert_eq!(d["accepted_rows"].as_array().unwrap().len(), 1);
    let rejected = d["rejected_rows"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected[0]["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("校验码")
    );
    assert!(
        rejected[1]["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("重复")
    );
    // Each refused row names its decision and party, so a system need not map rows by position.
    assert_eq!(
        (
            rejected[0]["decision_no"].as_str(),
            rejected[0]["subject_name"].as_str()
        ),
        (Some("盐环罚〔2026〕102号"), Some("盐城市某某公司"))
    );
    let page = h
        .get(&format!("/console/submissions/{id}"), Role::Reporter)
        .await
        .text();
    assert!(
        page.contains("<td>盐环罚〔2026〕102号</td><td>盐城市某某公司</td>"),
        "{page}"
    );
    // A reviewer of the same unit sees it; nobody of another unit does.
    assert_eq!(
        h.get(&format!("/api/v1/submissions/{id}"), Role::Reviewer)
            .await
            .status,
        StatusCode::OK
    );
    let xlsx = h
        .get(
            &format!("/api/v1/submissions/{id}/rejections.xlsx"),
            Role::Reviewer,
        )
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK"), "an XLSX (zip) file");
    // An empty list is no submission: refused, saying why.
    let empty = push(&h, Role::Reporter, &serde_json::json!([])).await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.text()
    );
    assert!(empty.text().contains("没有数据行"), "{}", empty.text());
    // Saved under a Chinese name where the browser takes one, an ASCII one where it does not.
    let named = xlsx.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        named.contains(&format!("filename=\"rejected-{id}.xlsx\""))
            && named.contains(&format!(
                "filename*=UTF-8''{}",
                urlencode(&format!("退回数据-批次{id}.xlsx"))
            )),
        "{named}"
    );
    // Unsupported content and unknown classes are refused with a reason.
    let bad = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/submissions?class=x",
                Role::Reporter,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("[]"))
            .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不在目录中")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_sees_only_its_own_units_submissions() {
    let h = harness();
    let t = h.token_for(Role::Reporter, OTHER_UNIT);
    let list = h.get("/api/v1/submissions", Role::Reporter).await.json();
    let id = list[0]["submission_id"].as_i64().unwrap();
    let r = h
        .send_as(&t, Method::GET, &format!("/api/v1/submissions/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nor withdraw it or one of its records: answered as for one that does not exist, without
    // naming the unit that reported it.
    let file = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Deciding)
        .await
        .json();
    let record = file["classes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["records"].as_array().unwrap())
        .find(|r| r["source_unit"] == UNIT)
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .unwrap();
    for (uri, missing) in [
        (
            format!("/api/v1/submissions/{id}/withdraw"),
            "/api/v1/submissions/999999/withdraw".to_string(),
        ),
        (
            format!("/api/v1/records/{record}/withdraw"),
            format!(
                "/api/v1/records/{}{}/withdraw",
                &record[..record.len() - 1],
                if record.ends_with('0') { '1' } else { '0' }
            ),
        ),
    ] {
        let mut answers = Vec::new();
        for u in [&uri, &missing] {
            let r = h
                .send_as(&t, Method::POST, u, Some(json!({"reason": "测试撤回"})))
                .await;
            assert!(!r.text().contains(UNIT), "{}", r.text());
            answers.push(r.status);
        }
        assert_eq!(
            answers,
            [StatusCode::NOT_FOUND, StatusCode::NOT_FOUND],
            "{uri}"
        );
    }
    let r = h
        .send_as(
            &t,
            Method::GET,
            &format!("/api/v1/submissions?unit={}", urlencode(UNIT)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

fn full_resident_ids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(17) {
        let w = &b[i..i + 18];
        if w[..17].iter().all(u8::is_ascii_digit) && (w[17].is_ascii_digit() || w[17] == b'X') {
            let first17 = &w[..17];
            // A birth date at the seventh digit too: random figures (a request id's, a hash's)
            // that happen to end in their check digit are no one's number.
            let born = std::str::from_utf8(&w[6..14])
                .ok()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok())
                .is_some_and(|d| (1900..=2100).contains(&chrono::Datelike::year(&d)));
            if born && domain::ids::ric_check_char(first17) == w[17] as char {
                out.push(String::from_utf8_lossy(w).into_owned());
            }
        }
    }
    out
}

/// A 文号 stored before the importer masked an adult's ID number typed into it (a store an
/// earlier version imported) is masked on the way out, wherever it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_number_stored_unmasked_is_masked_when_read() {
    let h = harness();
    let no = format!("盐环罚〔2026〕{}号", h.person);
    let csv = unit_penalty_csv(
        &h.state,
        &[("盐城市某某化工有限公司", "法人及非法人组织", &h.org, &no)],
    );
    let summary = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!(summary.accepted, 1, "{summary:?}");
    // As an earlier importer stored it: the number in the 文号 whole.
    let masked = format!("盐环罚〔2026〕{}号", domain::ids::mask_id_number(&h.person));
    tokio::task::block_in_place(|| {
        h.state.store.write(|c| {
            c.batch(&format!(
                "DROP TRIGGER record_versions_immutable_u;
                 UPDATE record_versions SET payload = replace(payload, '{masked}', '{no}')"
            ))
        })
    })
    .unwrap();
    let stored = tokio::task::block_in_place(|| {
        h.state.store.read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM record_versions WHERE payload LIKE $1",
                &[format!("%{no}%").into()],
            )?
            .map_or(Ok(0), |r| r.i64(0))
        })
    })
    .unwrap();
    assert_eq!(stored, 1, "the old store's 文号 was not put back");
    for (uri, role) in [
        (format!("/api/v1/subjects/{}", h.org), Role::Public),
        (format!("/subjects/{}", h.org), Role::Public),
        ("/publicity/penalties".to_string(), Role::Public),
        ("/opendata/penalties.csv".to_string(), Role::Public),
        (format!("/api/v1/subjects/{}", h.org), Role::Deciding),
    ] {
        let r = h.get(&uri, role).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(r.text().contains(&masked), "{uri}: {}", r.text());
        assert!(full_resident_ids(&r.text()).is_empty(), "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_public_response_shows_a_full_resident_id() {
    let h = harness();
    // The public may not look a person up by ID number (it could try the masked birth date's
    // digits one by one); it names a person by the store key the portal links to.
    let by_id = h
        .get(&format!("/api/v1/subjects/{}", h.person), Role::Public)
        .await;
    assert_eq!(
        by_id.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        by_id.text()
    );
    assert!(by_id.text().contains("主体键"), "{}", by_id.text());
    let key = h
        .get(&format!("/api/v1/subjects/{}", h.person), Role::Deciding)
        .await
        .json()["subject"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let person = h
        .get(&format!("/api/v1/subjects/{key}"), Role::Public)
        .await;
    assert_eq!(
        person.status,
        StatusCode::OK,
        "a person with a public penalty is public"
    );
    let j = person.json();
    assert!(j["subject"]["id_note"].is_null());
    assert_eq!(j["subject"]["id_masked"], "320902********1234");
    let record_id = j["classes"][0]["records"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bodies = vec![person.text()];
    for uri in [
        format!("/api/v1/subjects/{}", h.org),
        format!("/api/v1/records/{record_id}"),
        "/api/v1/stats".into(),
        "/api/v1/catalog".into(),
        "/api/v1/units".into(),
        "/api/v1/openapi.json".into(),
        "/console/login".into(),
    ] {
        let r = h.get(&uri, Role::Public).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        bodies.push(r.text());
    }
    for b in &bodies {
        assert!(
            full_resident_ids(b).is_empty(),
            "a full ID number in a public response: {:?}",
            full_resident_ids(b)
        );
    }
    // An ID number written into a penalty's free text (事由) is masked wherever it shows.
    let csv = unit_penalty_csv(
        &h.state,
        &[(
            "盐城市某某化工有限公司",
            "法人及非法人组织",
            &h.org,
            "盐环罚〔2026〕77号",
        )],
    )
    .replace(
        "经查超标排放大气污染物",
        &format!(
            "经查超标排放大气污染物，现场负责人李四（身份证号{}，联系电话13912345678）",
            h.person
        ),
    )
    .replace(",罚款,处罚款", ",警告;罚款,处罚款");
    let summary = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!(summary.accepted, 1, "{summary:?}");
    for (uri, role) in [
        (format!("/api/v1/subjects/{}", h.org), Role::Public),
        (format!("/subjects/{}", h.org), Role::Public),
        ("/opendata/penalties.csv".to_string(), Role::Public),
        (format!("/api/v1/subjects/{}", h.org), Role::Deciding),
    ] {
        let r = h.get(&uri, role).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(r.text().contains("现场负责人李四"), "{uri}");
        assert!(full_resident_ids(&r.text()).is_empty(), "{uri}");
        // And the mobile number written beside it.
        assert!(!r.text().contains("13912345678"), "{uri}");
        assert!(r.text().contains("139****5678"), "{uri}");
        // Several penalty categories: the national format's ; in data, 、 on a page.
        if uri.starts_with("/subjects/") {
            assert!(r.text().contains("警告、罚款"), "{uri}");
        } else if uri.starts_with("/api/") {
            assert!(r.text().contains("警告;罚款"), "{uri}");
        }
    }
    // Officers see the whole file (audited) but still masked; the full number is a separate, audited read.
    let full = h
        .get(&format!("/api/v1/subjects/{}", h.person), Role::Deciding)
        .await
        .text();
    assert!(full_resident_ids(&full).is_empty());
    let unmasked = h
        .get(
            &format!("/api/v1/subjects/{}/id-number", h.person),
            Role::Deciding,
        )
        .await;
    assert_eq!(unmasked.json()["id_number"], h.person.as_str());
    // Not the deciding officer of a unit that reported nothing of the person.
    let other = h.token_for(Role::Deciding, OTHER_UNIT);
    let r = h
        .send_as(
            &other,
            axum::http::Method::GET,
            &format!("/api/v1/subjects/{}/id-number", h.person),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(!r.text().contains(&h.person));
    assert_eq!(
        h.get(
            &format!("/api/v1/subjects/{}/id-number", h.person),
            Role::Handling
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let trail = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("subject.unmask".into()),
            limit: 5,
            ..Default::default()
        })
        .unwrap();
    // The read, and the other unit's attempt (refused, audited as such).
    let outcomes: Vec<&str> = trail.iter().map(|e| e.entry.outcome.as_str()).collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert_eq!(
        outcomes.iter().filter(|o| **o == "ok").count(),
        1,
        "{outcomes:?}"
    );
    // Both name whose number was asked for.
    let objects: Vec<Option<&str>> = trail.iter().map(|e| e.entry.object.as_deref()).collect();
    assert_eq!(objects[0], objects[1], "{objects:?}");
    assert!(
        objects[0].is_some_and(|o| o.starts_with('P')),
        "{objects:?}"
    );
    // The refused unmask above is in the trail by its route, without the number.
    let denied = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("access.denied".into()),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert!(
        denied
            .iter()
            .any(|e| e.entry.object.as_deref() == Some("GET /api/v1/subjects/{code}/id-number"))
    );
    assert!(
        denied
            .iter()
            .all(|e| !format!("{e:?}").contains(h.person.as_str())),
        "an ID number in the audit trail"
    );
    let reads = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("subject.read_full".into()),
            limit: 5,
            ..Default::default()
        })
        .unwrap();
    assert!(!reads.is_empty(), "a full file read is audited");
    // The public learns nothing from an ID number, known to the store or not.
    let unknown = h
        .get("/api/v1/subjects/320902198503151242", Role::Public)
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.json()["error"]["message"],
        by_id.json()["error"]["message"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_sees_public_records_the_subject_its_whole_file_and_as_of_works() {
    files_by_audience_and_day(&harness()).await;
}

/// On PostgreSQL the service reads files on its runtime (not through the blocking client):
/// the same answers, and the same file as the blocking read gives, field for field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_files_read_without_blocking_are_the_files_the_store_holds() {
    let h = pg_harness().await;
    files_by_audience_and_day(&h).await;
    for code in [h.org.clone(), h.person.clone()] {
        let served = h
            .get(&format!("/api/v1/subjects/{code}"), Role::Admin)
            .await
            .json();
        let state = h.state.clone();
        let key = served["subject"]["key"].as_str().unwrap().to_string();
        let day = served["as_of"].as_str().unwrap().parse().unwrap();
        let blocking = tokio::task::spawn_blocking(move || {
            views::credit_file(&state.store, &state.rules, &key, day, views::Audience::Full)
                .unwrap()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(!blocking.classes.is_empty(), "{code} has records");
        assert_eq!(served, serde_json::to_value(&blocking).unwrap(), "{code}");
    }
    // Many at once: more requests than read connections, every one answered in full.
    let paths: Vec<String> = (0..40)
        .map(|i| {
            let code = if i % 2 == 0 { &h.org } else { &h.person };
            format!("/api/v1/subjects/{code}")
        })
        .collect();
    let replies = futures_util::future::join_all(paths.iter().map(|p| h.get(p, Role::Admin))).await;
    for r in replies {
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.json()["classes"].as_array().unwrap().is_empty());
    }
}

async fn files_by_audience_and_day(h: &Harness) {
    let public = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Public)
        .await
        .json();
    assert_eq!(public["classes"][0]["records"][0]["status"], "public");
    let own = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Subject)
        .await;
    assert_eq!(own.status, StatusCode::OK);
    let before = h
        .get(
            &format!("/api/v1/subjects/{}?as_of=2026-01-01", h.org),
            Role::Admin,
        )
        .await
        .json();
    assert!(
        before["classes"].as_array().unwrap().is_empty(),
        "nothing was recorded before 2026"
    );
    // Another day's file is for the subject and officers: on an earlier day, the public would
    // see what has since been withdrawn or repaired.
    let public_before = h
        .get(
            &format!("/api/v1/subjects/{}?as_of=2026-01-01", h.org),
            Role::Public,
        )
        .await;
    assert_eq!(public_before.status, StatusCode::UNPROCESSABLE_ENTITY);
    let own_before = h
        .get(
            &format!("/api/v1/subjects/{}?as_of=2026-01-01", h.org),
            Role::Subject,
        )
        .await;
    assert_eq!(own_before.status, StatusCode::OK);
    let bad = h
        .get(
            &format!("/api/v1/subjects/{}?as_of=2026-13-01", h.org),
            Role::Admin,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let nonsense = h.get("/api/v1/subjects/not-a-code", Role::Public).await;
    assert_eq!(nonsense.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_a_request_id_and_never_internals() {
    let h = harness();
    let r = h
        .send(
            h.request(Method::POST, "/api/v1/accounts", Role::Admin, Via::Token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let id = r.headers["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(r.json()["error"]["request_id"], id.as_str());
    for uri in ["/nothing/here", "/api/v1/records/x-y"] {
        let r = h.get(uri, Role::Public).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        let t = r.text();
        assert!(
            !t.contains("SQL") && !t.contains("panicked") && !t.contains("src/"),
            "{t}"
        );
    }
    let r = h
        .send(
            h.request(Method::PATCH, "/api/v1/stats", Role::Public, Via::Token)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    // Saying which methods it takes.
    assert_eq!(r.headers[header::ALLOW], "GET", "{:?}", r.headers);
    let r = h
        .send(
            h.request(Method::PUT, "/api/v1/checks", Role::Handling, Via::Token)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers[header::ALLOW], "GET, POST", "{:?}", r.headers);
    // Security headers on every response.
    let r = h.get("/api/v1/stats", Role::Public).await;
    for hd in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(r.headers.contains_key(hd), "{hd}");
    }
    // A bad token is refused outright, not treated as the public; so is a credential the API
    // cannot read (another scheme, no token, bytes that are not text).
    let bad: [&[u8]; 6] = [
        b"Bearer xy_nope",
        b"Basic eDp5",
        b"Bearer ",
        b"Bearer",
        "Bearer 令牌".as_bytes(),
        b"Bearer \xff\xfe",
    ];
    for value in bad {
        let r = h.send(stats_with("authorization", value)).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            String::from_utf8_lossy(value)
        );
        assert_eq!(r.json()["error"]["code"], "unauthenticated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let config = server::Config {
        rate_per_address: 3,
        ..server::Config::default()
    };
    let h = harness_on(testkit::sqlite(), config);
    for _ in 0..3 {
        assert_eq!(
            h.get("/api/v1/stats", Role::Public).await.status,
            StatusCode::OK
        );
    }
    let r = h.get("/api/v1/stats", Role::Public).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    // Health probes from the same address still answer.
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            h.get(path, Role::Public).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    // A token has its own bucket.
    assert_eq!(
        h.get("/api/v1/stats", Role::Admin).await.status,
        StatusCode::OK
    );
    // Not a system's token (运维监控, 共享交换系统) outside its one endpoint: on the public
    // API it counts as its address does, which is spent.
    for system in [Role::Monitor, Role::Exchange] {
        assert_eq!(
            h.get("/api/v1/stats", system).await.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{system:?}"
        );
    }
}

/// A system's token (运维监控, 共享交换系统) reads the service's health and API document, and
/// none of the public data: a leaked one must not scrape the portal's data at a system's rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_tokens_do_not_read_the_public_data() {
    let h = harness();
    for system in [Role::Monitor, Role::Exchange] {
        for open in ["/healthz", "/readyz", "/api/v1/openapi.json"] {
            assert_eq!(h.get(open, system).await.status, StatusCode::OK, "{open}");
        }
        for public in ["/api/v1/stats", "/api/v1/catalog", "/search?q=建湖", "/"] {
            assert_eq!(
                h.get(public, system).await.status,
                StatusCode::FORBIDDEN,
                "{system:?} {public}"
            );
        }
    }
}

/// Lists that name who holds which powers (accounts) and who authorised a lender
/// (authorisations) are sensitive reads: each leaves an entry in the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_lists_are_audited() {
    let h = harness();
    let count = |action: &str| {
        tokio::task::block_in_place(|| {
            h.state.platform.audit_search(&store::AuditQuery {
                action: Some(action.into()),
                limit: 20,
                ..Default::default()
            })
        })
        .unwrap()
        .len()
    };
    assert_eq!(count("account.list"), 0);
    assert_eq!(
        h.get("/api/v1/accounts", Role::Admin).await.status,
        StatusCode::OK
    );
    assert_eq!(count("account.list"), 1);
    assert_eq!(
        h.get("/console/accounts", Role::Admin).await.status,
        StatusCode::OK
    );
    assert_eq!(count("account.list"), 2, "the console's page too");
    for (role, n) in [(Role::Financial, 1), (Role::Subject, 2)] {
        assert_eq!(
            h.get("/api/v1/authorisations", role).await.status,
            StatusCode::OK
        );
        assert_eq!(count("authorisation.list"), n, "{role:?}");
    }
    assert_eq!(
        h.get("/console/authorisations", Role::Financial)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(count("authorisation.list"), 3, "the console's page too");
}

/// The same file uploaded again in the console lands on its earlier batch, which says that the
/// upload changed nothing (not a page that looks as if nothing happened).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploaded_again_in_the_console_is_said_to_change_nothing() {
    let h = harness();
    let csv = unit_penalty_csv(
        &h.state,
        &[(
            "某公司",
            "法人及非法人组织",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕31号",
        )],
    );
    let csrf = h.sessions[&Role::Reporter].1.clone();
    let b = "XyBoundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"class\"\r\n\r\n行政处罚\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
    );
    let upload = || {
        h.send(
            h.request(
                Method::POST,
                "/console/submissions",
                Role::Reporter,
                Via::Session,
            )
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body.clone()))
            .unwrap(),
        )
    };
    let first = upload().await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    let to = first.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!to.contains("duplicate"), "{to}");
    let page = h.get(&to, Role::Reporter).await.text();
    assert!(!page.contains("完全相同"), "{page}");
    let again = upload().await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
    let back = again.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(back, format!("{to}?duplicate=1&left=0"));
    let page = h.get(&back, Role::Reporter).await.text();
    assert!(
        page.contains("完全相同") && page.contains("未重复入库"),
        "{page}"
    );
}

/// What an import told the unit beyond its rows — the columns it passed over — is on the
/// batch's console page and in its API reading later, not only in the reply to the upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_keeps_what_its_import_told_the_unit() {
    let h = harness();
    let csv = unit_penalty_csv(
        &h.state,
        &[(
            "某公司",
            "法人及非法人组织",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕1号",
        )],
    )
    .lines()
    .enumerate()
    .map(|(i, l)| match i {
        0 => format!("{l},处罚决定书文号X\n"),
        _ => format!("{l},盐环罚〔2026〕1号\n"),
    })
    .collect::<String>();
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!((s.accepted, s.unknown_columns.len()), (1, 1), "{s:?}");
    let id = s.submission_id.unwrap();
    let page = h
        .get(&format!("/console/submissions/{id}"), Role::Reporter)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("未导入的列") && page.text().contains("处罚决定书文号X"),
        "{}",
        page.text()
    );
    let api = h
        .get(&format!("/api/v1/submissions/{id}"), Role::Reporter)
        .await
        .json();
    assert_eq!(
        api["submission"]["unknown_columns"],
        serde_json::json!(["处罚决定书文号X"]),
        "{api}"
    );
    assert!(!page.text().contains("原样重报"));
    // The same rows sent again (other bytes: CRLF): withdrawing that batch leaves the record the
    // first one published — its page says so before the button, and the withdrawal is refused
    // with why (it changed nothing).
    let again = csv.replace('\n', "\r\n");
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &again));
    assert_eq!(s.unchanged, 1, "{s:?}");
    let page = h
        .get(
            &format!("/console/submissions/{}", s.submission_id.unwrap()),
            Role::Reporter,
        )
        .await;
    assert!(
        page.text()
            .contains("1条记录与此前批次报送的内容相同（原样重报）"),
        "{}",
        page.text()
    );
    let r = h
        .post_json(
            &format!("/api/v1/submissions/{}/withdraw", s.submission_id.unwrap()),
            Role::Reporter,
            serde_json::json!({"reason": "重复报送"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("撤回原批次"), "{}", r.text());
    // A correction sent later: the first batch's one record is the correction's now, so
    // withdrawing the first batch is refused, naming the batch that corrected it.
    let fixed = csv
        .replace(",0.5,", ",0.8,")
        .replace("处罚款0.5万元", "处罚款0.8万元");
    let c = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &fixed));
    assert_eq!(c.corrected, 1, "{c:?}");
    let r = h
        .post_json(
            &format!("/api/v1/submissions/{id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "整批报错"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(
        r.text()
            .contains(&format!("1条已被批次{}更正", c.submission_id.unwrap())),
        "{}",
        r.text()
    );
}

/// `GET /api/v1/stats` (open to the public) with one header.
fn stats_with(name: &'static str, value: &[u8]) -> axum::http::Request<Body> {
    axum::http::Request::builder()
        .uri("/api/v1/stats")
        .header(name, header::HeaderValue::from_bytes(value).unwrap())
        .body(Body::empty())
        .unwrap()
}

/// Refused tokens count against the caller's address: a flood of made-up tokens meets the same
/// limit as any other request (each one costs a store lookup), while a good token keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_count_against_the_address() {
    let config = server::Config {
        rate_per_address: 3,
        ..server::Config::default()
    };
    let h = harness_on(testkit::sqlite(), config);
    let guess = |n: u32| stats_with("authorization", format!("Bearer xy_guess{n}").as_bytes());
    for n in 0..3 {
        assert_eq!(h.send(guess(n)).await.status, StatusCode::UNAUTHORIZED);
    }
    let r = h.send(guess(3)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        h.get("/api/v1/stats", Role::Admin).await.status,
        StatusCode::OK
    );
}

/// Behind a proxy the client is the address the proxy appended: what a client writes into
/// `X-Forwarded-For` itself neither escapes the per-address limit nor lands in the audit trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_a_forged_forwarded_address_changes_nothing() {
    let config = server::Config {
        rate_per_address: 3,
        trust_forwarded: true,
        ..server::Config::default()
    };
    let h = harness_on(testkit::sqlite(), config);
    let via_proxy = |forged: &str| {
        stats_with(
            "x-forwarded-for",
            format!("{forged}, 198.51.100.4").as_bytes(),
        )
    };
    for i in 0..3 {
        let r = h.send(via_proxy(&format!("10.0.0.{i}"))).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = h.send(via_proxy("10.0.0.99")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has its own bucket.
    let r = h.send(stats_with("x-forwarded-for", b"198.51.100.5")).await;
    assert_eq!(r.status, StatusCode::OK);
    // The audit trail records the proxy's word, not the forged one: an audited read.
    let r = h
        .send(
            h.request(Method::GET, "/api/v1/audit", Role::Auditor, Via::Token)
                .header("x-forwarded-for", "10.6.6.6, 198.51.100.9")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let trail = h.state.platform.audit_page(1, 1000).unwrap();
    let last = trail.last().unwrap();
    assert_eq!(last.entry.client.as_deref(), Some("198.51.100.9"));
    // The server keys the chain with the key file: every entry it wrote is HMAC-SM3, and the
    // trail verifies with that key file.
    assert!(
        trail
            .iter()
            .all(|e| e.scheme == domain::audit::SCHEME_HMAC_SM3)
    );
    let v = audit::verify(&h.state.platform, &h.state.keys, &[]).unwrap();
    assert!(v.ok() && v.entries == trail.len() as i64, "{v:?}");
    assert!(
        trail
            .iter()
            .all(|e| e.entry.client.as_deref() != Some("10.6.6.6"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_lockout_csrf_and_forced_password_change() {
    let h = harness();
    // An account created by the office must change its password at first login.
    let created = h.new_account("zhangsan", Role::Reviewer);
    let login = |pw: String| {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(format!(
                "login_csrf=t&username=zhangsan&password={}",
                urlencode(&pw)
            )))
            .unwrap()
    };
    // Before it logs in, the office's list says it never has (a review of dormant accounts
    // had no last login to go by).
    let row = |page: &str| -> String {
        page.split("<tr>")
            .find(|r| r.contains("zhangsan"))
            .unwrap_or_default()
            .to_string()
    };
    let before = h.get("/console/accounts", Role::Admin).await.text();
    assert!(row(&before).contains("从未登录"), "{}", row(&before));
    let r = h.send(login(created.initial_password.clone())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/console/password");
    let after = h.get("/console/accounts", Role::Admin).await.text();
    let at = domain::clock::beijing(h.state.clock.now())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert!(
        !row(&after).contains("从未登录") && row(&after).contains(&at),
        "{}",
        row(&after)
    );
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let secret = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("xy_session=")
        .to_string();
    let with_session = |m: Method, uri: &str| {
        axum::http::Request::builder()
            .method(m)
            .uri(uri)
            .header("host", "localhost")
            .header(header::COOKIE, format!("xy_session={secret}"))
    };
    // Until the password is changed, pages send the user back to the password form.
    let home = h
        .send(
            with_session(Method::GET, "/console")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    // So do forms, whatever they post.
    let csrf = auth::csrf_token(&h.state.keys, &secret);
    let withdraw = h
        .send(
            with_session(Method::POST, "/console/submissions/1/withdraw")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}&reason=x")))
                .unwrap(),
        )
        .await;
    assert_eq!(withdraw.status, StatusCode::SEE_OTHER);
    assert_eq!(withdraw.headers[header::LOCATION], "/console/password");
    // A form without the CSRF token is refused.
    let no_csrf = h
        .send(
            with_session(Method::POST, "/console/password")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("csrf=&current=x&new=y&repeat=y"))
                .unwrap(),
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    // ... and the refusal is in the trail by its route.
    let trail = h.trail("access.denied", "POST /console/password");
    assert!(
        trail.iter().any(|e| e.entry.outcome == "denied:refused"),
        "{trail:?}"
    );
    let csrf = auth::csrf_token(&h.state.keys, &secret);
    let changed = h
        .send(
            with_session(Method::POST, "/console/password")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "csrf={csrf}&current={}&new=NewPassword2026&repeat=NewPassword2026",
                    urlencode(&created.initial_password)
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    // The change ends every session on the old password, this one included; the browser that
    // made it gets a new one.
    let old_session = h
        .send(
            with_session(Method::GET, "/console")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_ne!(old_session.status, StatusCode::OK);
    let renewed = changed.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    let secret = renewed
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("xy_session=")
        .to_string();
    let with_session = |m: Method, uri: &str| {
        axum::http::Request::builder()
            .method(m)
            .uri(uri)
            .header("host", "localhost")
            .header(header::COOKIE, format!("xy_session={secret}"))
    };
    let home = h
        .send(
            with_session(Method::GET, "/console")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("报送批次"));
    // Where a login goes next: a target with a line break is not followed (it would split the
    // Location header, and was a 500 after the session was issued); one with a unit's name in
    // its query is, percent-encoded.
    let login_to = |next: &str| {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(format!(
                "login_csrf=t&username=zhangsan&password=NewPassword2026&next={}",
                urlencode(next)
            )))
            .unwrap()
    };
    let split = h.send(login_to("/console\r\nSet-Cookie: evil=1")).await;
    assert_eq!(split.status, StatusCode::SEE_OTHER, "{}", split.text());
    assert_eq!(split.headers[header::LOCATION], "/console");
    // Dot segments would lead out of the console once the browser resolves them.
    for out in [
        "/console/../news/1",
        "/console/..//evil.com",
        "/console/%2e%2e/news",
    ] {
        let r = h.send(login_to(out)).await;
        assert_eq!(r.headers[header::LOCATION], "/console", "{out}");
    }
    let named = h
        .send(login_to("/console/monitoring?unit=盐城市生态环境局"))
        .await;
    assert_eq!(named.status, StatusCode::SEE_OTHER, "{}", named.text());
    assert_eq!(
        named.headers[header::LOCATION],
        format!("/console/monitoring?unit={}", urlencode("盐城市生态环境局"))
    );
    // Wrong passwords sent at once are each counted before any is checked: five lock the
    // account, even against the right one, however many arrive together.
    let guesses =
        futures_util::future::join_all((0..12).map(|_| h.send(login("WrongPassword1".into()))))
            .await;
    assert!(
        guesses
            .iter()
            .all(|g| g.status == StatusCode::UNPROCESSABLE_ENTITY)
    );
    let account = h
        .state
        .platform
        .account_by_username("zhangsan")
        .unwrap()
        .unwrap();
    assert_eq!(
        account.failed_logins, 5,
        "attempts past the limit are not tried"
    );
    let locked = h.send(login("NewPassword2026".into())).await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(locked.text().contains("锁定"));
    // A name that does not exist gets the same words.
    let unknown = h
        .send(
            h.request(Method::POST, "/console/login", Role::Public, Via::Session)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, "xy_login=t")
                .body(Body::from(
                    "login_csrf=t&username=nobody&password=WrongPassword1",
                ))
                .unwrap(),
        )
        .await;
    let words = |r: &Reply| {
        let t = r.text();
        t.contains("用户名或密码错误，或账号已锁定")
    };
    assert!(words(&locked) && words(&unknown));
    // A cross-site login form is refused.
    let cross = h
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/console/login")
                .header("host", "localhost")
                .header("origin", "https://evil.example")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("username=zhangsan&password=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    // Login CSRF: the form's token must match its cookie. Without either, or with another's,
    // the right password is refused and no session is given.
    let page = h.get("/console/login", Role::Public).await;
    let set = page.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    let token = set
        .strip_prefix("xy_login=")
        .and_then(|t| t.split(';').next())
        .unwrap()
        .to_string();
    assert!(
        page.text()
            .contains(&format!("name=\"login_csrf\" value=\"{token}\""))
    );
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    for (cookie, field) in [
        ("", ""),
        ("", token.as_str()),
        ("xy_login=other", token.as_str()),
    ] {
        let mut b = h
            .request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie);
        }
        let r = h
            .send(
                b.body(Body::from(format!(
                    "login_csrf={field}&username=zhangsan&password=NewPassword2026"
                )))
                .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie} {field}");
        assert!(r.text().contains("登录页面已过期"), "{}", r.text());
        assert!(
            r.headers
                .get_all(header::SET_COOKIE)
                .iter()
                .all(|c| !c.to_str().unwrap().starts_with("xy_session=")),
            "no session without the token"
        );
    }
    let ok = h
        .send(
            h.request(Method::POST, "/console/login", Role::Public, Via::Session)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("xy_login={token}"))
                .body(Body::from(format!(
                    "login_csrf={token}&username=nobody&password=WrongPassword1"
                )))
                .unwrap(),
        )
        .await;
    // With the page's token the login is tried (and fails on the password, as it should).
    assert_eq!(ok.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", ok.text());
    assert!(words(&ok), "{}", ok.text());
    let logins = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("login".into()),
            limit: 20,
            ..Default::default()
        })
        .unwrap();
    assert!(logins.len() >= 7, "every login attempt is audited");
    // A login that succeeded is the user's own entry (found by actor), with its role.
    assert!(
        logins.iter().filter(|e| e.entry.outcome == "ok").all(|e| e
            .entry
            .actor
            .starts_with("user:")
            && e.entry.role != "public"),
        "{logins:?}"
    );
    assert!(logins.iter().any(|e| e.entry.outcome == "ok"), "{logins:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_api_endpoint() {
    let h = harness();
    let doc = h.get("/api/v1/openapi.json", Role::Public).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for ep in h.state.endpoints.iter().filter(|e| !e.console) {
        let op = &doc["paths"][ep.path][ep.method.as_str().to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is not in the OpenAPI document",
            ep.method,
            ep.path
        );
        // Every operation says what it does, and who may call it as the server enforces it.
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{} {}: no summary",
            ep.method,
            ep.path
        );
        let description = op["description"].as_str().unwrap_or_default();
        for role in auth::ALL_ROLES {
            let named = description
                .rsplit("可调用角色：")
                .next()
                .is_some_and(|who| who.contains(role.label()));
            let may = ep.roles.contains(&role);
            if ep.roles.contains(&Role::Public) {
                assert!(description.contains("任何人"), "{} {}", ep.method, ep.path);
            } else {
                assert_eq!(
                    named, may,
                    "{} {}: {role:?} in {description}",
                    ep.method, ep.path
                );
            }
        }
    }
    // Every 429 says how long to wait; an operation anyone may call still documents the 401
    // and 403 a token it cannot take gets.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            if responses["429"].is_object() {
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}: 429 without Retry-After"
                );
            }
            if op.get("security").is_none() {
                for status in ["401", "403"] {
                    assert!(
                        responses[status].is_object(),
                        "{method} {path}: no {status}"
                    );
                }
            }
        }
    }
    // Every description a reader of the document sees is in Chinese (a description may name
    // a field or a format in Latin letters, beside Chinese words).
    fn english(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if (k == "description" || k == "summary")
                        && let Some(t) = x.as_str()
                        && !t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
                    {
                        out.push(format!("{at}: {t}"));
                    }
                    english(x, &format!("{at}/{k}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    english(x, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut untranslated = Vec::new();
    english(&doc, "", &mut untranslated);
    assert!(
        untranslated.is_empty(),
        "{} descriptions without Chinese:\n{}",
        untranslated.len(),
        untranslated.join("\n")
    );
    // A path parameter is one the path names; the rest are query parameters. Every response
    // says what it means (OpenAPI requires it); operation ids are unique.
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(
                ids.insert(id.clone()),
                "{method} {path}: operationId {id} twice"
            );
            for (status, r) in op["responses"].as_object().unwrap() {
                assert!(
                    r["description"]
                        .as_str()
                        .is_some_and(|d| !d.trim().is_empty()),
                    "{method} {path} {status}: no description"
                );
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    p["in"] == "path",
                    in_path,
                    "{method} {path}: parameter {name} is in {}",
                    p["in"]
                );
            }
        }
    }
    let page = h.get("/api/v1/docs", Role::Public).await;
    assert!(
        page.text().contains("/static/swagger/swagger-ui-bundle.js"),
        "the API page uses vendored assets"
    );
    assert_eq!(
        h.get("/static/swagger/swagger-ui-bundle.js", Role::Public)
            .await
            .status,
        StatusCode::OK
    );
    // A request refused before the access check (a made-up token) counts under its route.
    let refused = h
        .send(
            axum::http::Request::builder()
                .uri("/api/v1/stats")
                .header(header::AUTHORIZATION, "Bearer made-up")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let metrics = h.get("/metrics", Role::Auditor).await.text();
    assert!(
        metrics.contains("xinyong_http_requests_total")
            && metrics.contains("xinyong_audit_queue_depth")
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("route=\"/api/v1/stats\"") && l.contains("status=\"401\"")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_too_the_trail_holds_together() {
    let h = pg_harness().await;
    let body = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕201号",
    )]);
    assert_eq!(
        push(&h, Role::Reporter, &body).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        h.get(&format!("/api/v1/subjects/{}", h.org), Role::Deciding)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get("/api/v1/accounts", Role::Reporter).await.status,
        StatusCode::FORBIDDEN
    );
    let cp = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/audit/checkpoints",
                Role::Auditor,
                Via::Token,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(cp.status, StatusCode::OK);
    let v = h.get("/api/v1/audit/verify", Role::Auditor).await.json();
    assert!(v["first_break"].is_null(), "{v}");
    assert!(v["entries"].as_i64().unwrap() >= 3);
    assert_eq!(v["checkpoints"], 1);
}

/// 三权分立: the credit office manages accounts and tokens, but not the security auditor's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credit_office_cannot_make_or_take_over_an_auditor() {
    let h = harness();
    let account = h
        .post_json(
            "/api/v1/accounts",
            Role::Admin,
            json!({"username": "shenji2", "display_name": "审计二", "role": "auditor"}),
        )
        .await;
    assert_eq!(account.status, StatusCode::FORBIDDEN, "{}", account.text());
    assert!(account.text().contains("命令行"));
    let token = h
        .post_json(
            "/api/v1/tokens",
            Role::Admin,
            json!({"name": "audit", "role": "auditor"}),
        )
        .await;
    assert_eq!(token.status, StatusCode::FORBIDDEN, "{}", token.text());
    let auditor = h
        .state
        .platform
        .account_by_username(Role::Auditor.as_str())
        .unwrap()
        .unwrap();
    for action in ["password", "disable"] {
        let r = h
            .post_json(
                &format!("/api/v1/accounts/{}/{action}", auditor.account_id),
                Role::Admin,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}: {}", r.text());
    }
    // Nor revoke the auditor's token: it keeps working.
    let audit_token = h
        .state
        .platform
        .tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.role == "auditor")
        .expect("the harness's auditor token");
    let r = h
        .send(
            h.request(
                Method::DELETE,
                &format!("/api/v1/tokens/{}", audit_token.token_id),
                Role::Admin,
                Via::Token,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(
        h.send(
            h.request(Method::GET, "/api/v1/audit", Role::Auditor, Via::Token)
                .body(Body::empty())
                .unwrap()
        )
        .await
        .status,
        StatusCode::OK
    );
    // Other roles stay the office's to manage.
    let reviewer = h
        .post_json(
            "/api/v1/accounts",
            Role::Admin,
            json!({"username": "lisi", "display_name": "李四", "role": "reviewer", "unit": UNIT}),
        )
        .await;
    assert_eq!(reviewer.status, StatusCode::CREATED, "{}", reviewer.text());
}

/// A CSV pushed over the size limit is refused whole (413), not kept up to where the limit cut
/// it; the refusal names what is wrong in Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_over_the_limit_or_for_another_class_keeps_nothing_and_says_why() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            max_submission_bytes: 200_000,
            ..server::Config::default()
        },
    );
    let before = h.state.store.submissions(None, 100).unwrap().len();
    let rows: Vec<(String, String)> = (0..1500)
        .map(|i| {
            (
                format!("盐城市第{i}有限公司"),
                format!("盐环罚〔2026〕{i}号"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|(n, no)| {
            (
                n.as_str(),
                "法人及非法人组织",
                "91320900MA1MB4X50R",
                no.as_str(),
            )
        })
        .collect();
    let csv = penalty_csv(&refs);
    assert!(csv.len() > 300_000, "{}", csv.len());
    let send = |uri: String, body: String| {
        h.send(
            h.request(Method::POST, &uri, Role::Reporter, Via::Token)
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let class = urlencode("行政处罚");
    let r = send(format!("/api/v1/submissions?class={class}"), csv).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(h.state.store.submissions(None, 100).unwrap().len(), before);
    // A class the unit does not report: the answer names unit and class.
    let tax = urlencode("纳税信用等级");
    let r = send(format!("/api/v1/submissions?class={tax}"), penalty_csv(&[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("纳税信用等级"), "{}", r.text());
    // A missing parameter, in Chinese.
    let r = send("/api/v1/submissions".into(), penalty_csv(&[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("缺少参数“class”"), "{}", r.text());
}

/// The login's attempt counting and lockout on PostgreSQL (its SQL differs in types from SQLite's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_logins_are_counted_and_lock() {
    let h = pg_harness().await;
    // The blocking PostgreSQL client must leave the runtime's threads.
    let state = h.state.clone();
    let created = tokio::task::spawn_blocking(move || {
        server::manage::create_account(
            &state.platform,
            &state.rules,
            &state.keys,
            &server::manage::AccountRequest {
                username: "wangwu".into(),
                display_name: "王五".into(),
                role: Role::Reviewer,
                unit: Some(UNIT.into()),
                subject: None,
                password: None,
            },
            "test",
            state.clock.now(),
            None,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let login = |pw: &str| {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(format!(
                "login_csrf=t&username=wangwu&password={}",
                urlencode(pw)
            )))
            .unwrap()
    };
    let ok = h.send(login(&created.initial_password)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    for _ in 0..5 {
        assert_eq!(
            h.send(login("WrongPassword1")).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let locked = h.send(login(&created.initial_password)).await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    let state = h.state.clone();
    let a = tokio::task::spawn_blocking(move || {
        state
            .platform
            .account_by_username("wangwu")
            .unwrap()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(a.failed_logins, 5);
    assert!(a.locked_until.is_some());
}

/// An upload that stops sending midway is refused once it has been idle too long, and saves
/// nothing: it does not hold the store's writer (and every other unit's imports) for as long
/// as the sender stays silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_refused_after_its_idle_limit_and_saves_nothing() {
    use futures_util::StreamExt;
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            body_idle: std::time::Duration::from_millis(500),
            ..server::Config::default()
        },
    );
    let before = h.state.store.submissions(None, 100).unwrap().len();
    let body = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕301号",
    )])
    .to_string();
    let half = body.as_bytes()[..body.len() / 2].to_vec();
    let stream =
        futures_util::stream::once(
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(half)) },
        )
        .chain(futures_util::stream::pending());
    let started = std::time::Instant::now();
    let r = h
        .send(
            h.request(
                Method::POST,
                &format!("/api/v1/submissions?class={}", urlencode("行政处罚")),
                Role::Reporter,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(stream))
            .unwrap(),
        )
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.text());
    assert!(r.text().contains("接收超时"), "{}", r.text());
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(h.state.store.submissions(None, 100).unwrap().len(), before);
    // The store's writer is free: the next submission goes through.
    let r = push(
        &h,
        Role::Reporter,
        &records_json(&[(
            "盐城市恒泰化工有限公司",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕302号",
        )]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// A console form that is missing a field, or sent as something else, is answered with a
/// Chinese page naming the field and the request id — not serde's or axum's English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_form_errors_are_chinese_pages() {
    let h = harness();
    let post = |ct: &'static str, body: &'static str| {
        h.send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/console/login")
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let r = post("application/x-www-form-urlencoded", "username=x").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let text = r.text();
    assert!(text.contains("缺少参数“password”"), "{text}");
    assert!(text.contains("请求号"), "{text}");
    assert!(
        !text.contains("Failed") && !text.contains("deserialize"),
        "{text}"
    );
    let r = post("text/plain", "username=x&password=y").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    assert!(!r.text().contains("Form requests"), "{}", r.text());
    // A malformed number in a console address is answered in the console, with the officer's
    // menu and a way out (the portal's frame used to answer it).
    let r = h.get("/console/submissions/abc", Role::Admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let text = r.text();
    assert!(text.contains("路径参数不正确"), "{text}");
    assert!(text.contains("/console/logout"), "{text}");
    assert!(text.contains("请求号"), "{text}");
    // An upload whose form has no boundary is told so in Chinese, in the console.
    let r = h
        .send(
            h.request(
                Method::POST,
                "/console/submissions",
                Role::Reporter,
                Via::Session,
            )
            .header(header::CONTENT_TYPE, "multipart/form-data")
            .body(Body::from("x"))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let text = r.text();
    assert!(text.contains("不是有效的文件表单"), "{text}");
    assert!(!text.contains("boundary`"), "{text}");
    assert!(text.contains("/console/logout"), "{text}");
}

/// The API's JSON requests are held to `max_json_bytes`; submissions stream under their own
/// larger limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_requests_are_held_to_their_limit_and_submissions_are_not() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            max_json_bytes: 64 << 10,
            ..server::Config::default()
        },
    );
    let big = json!({"name": "x".repeat(100 << 10), "role": "reporter", "unit": UNIT});
    let r = h.post_json("/api/v1/tokens", Role::Admin, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let rows: Vec<(String, String, String)> = (0..600)
        .map(|i| {
            (
                "盐城市恒泰化工有限公司".to_string(),
                "91320900MA1MB4X50R".to_string(),
                format!("盐环罚〔2026〕{}号", 4000 + i),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let body = records_json(&refs);
    assert!(body.to_string().len() > 64 << 10);
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// An upload still arriving does not hold the store: another submission made meanwhile is
/// taken at once, and the slow one is taken when its last byte comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upload_does_not_hold_the_store_for_others() {
    use futures_util::StreamExt;
    let h = std::sync::Arc::new(harness());
    // A file whose first 100 KiB have come (more than the importer samples before it starts)
    // and whose last row is still coming.
    let numbers: Vec<String> = (0..400)
        .map(|i| format!("盐环罚〔2026〕{}号", 1000 + i))
        .collect();
    let rows: Vec<(&str, &str, &str, &str)> = numbers
        .iter()
        .map(|n| {
            (
                "盐城市恒泰化工有限公司",
                "法人及非法人组织",
                "91320900MA1MB4X50R",
                n.as_str(),
            )
        })
        .collect();
    let body = penalty_csv(&rows).into_bytes();
    assert!(body.len() > 100 << 10, "{}", body.len());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(2);
    let half = body.len() - 50;
    tx.send(Ok(bytes::Bytes::from(body[..half].to_vec())))
        .await
        .unwrap();
    let slow = {
        let h = h.clone();
        tokio::spawn(async move {
            let stream = tokio_stream_from(rx);
            h.send(
                h.request(
                    Method::POST,
                    &format!("/api/v1/submissions?class={}", urlencode("行政处罚")),
                    Role::Reporter,
                    Via::Token,
                )
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from_stream(stream))
                .unwrap(),
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let quick = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        push(
            &h,
            Role::Reporter,
            &records_json(&[(
                "盐城市恒泰化工有限公司",
                "91320900MA1MB4X50R",
                "盐环罚〔2026〕312号",
            )]),
        ),
    )
    .await
    .expect("the other submission waits for the slow upload");
    assert_eq!(quick.status, StatusCode::CREATED, "{}", quick.text());
    assert!(!slow.is_finished());
    tx.send(Ok(bytes::Bytes::from(body[half..].to_vec())))
        .await
        .unwrap();
    drop(tx);
    let r = slow.await.unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
    ) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
    }
}

/// What a caller typed is repeated short, and a file name is a name: long or multi-line ones
/// are refused, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_input_is_not_said_back_and_a_file_name_is_a_name() {
    let h = harness();
    let long = "9".repeat(5000);
    let r = h
        .get(&format!("/api/v1/subjects/{long}"), Role::Public)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.chars().count() < 120, "{message}");
    for name in ["a".repeat(300), "a\r\nb.csv".to_string()] {
        let r = h
            .send(
                h.request(
                    Method::POST,
                    &format!(
                        "/api/v1/submissions?class={}&file_name={}",
                        urlencode("行政处罚"),
                        urlencode(&name)
                    ),
                    Role::Reporter,
                    Via::Token,
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("[]"))
                .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("file_name无效"), "{}", r.text());
    }
}

/// The credit office resets a unit officer's password and is given it; a subject's or another
/// admin's it may not (it could act as them): those are reset on the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_resets_staff_passwords_but_not_a_subjects_or_an_admins() {
    let h = harness();
    let make = |username: &str, role: Role, unit: Option<&str>, subject: Option<&str>| {
        tokio::task::block_in_place(|| {
            server::manage::create_account(
                &h.state.platform,
                &h.state.rules,
                &h.state.keys,
                &server::manage::AccountRequest {
                    username: username.into(),
                    display_name: username.into(),
                    role,
                    unit: unit.map(str::to_string),
                    subject: subject.map(str::to_string),
                    password: None,
                },
                "test",
                h.state.clock.now(),
                None,
            )
            .unwrap()
            .account_id
        })
    };
    let staff = make("xinxiyuan", Role::Reporter, Some(UNIT), None);
    let firm = make("qiye", Role::Subject, None, Some(&h.org));
    let colleague = make("tongshi", Role::Admin, None, None);
    let reset = |id: i64| {
        let h = &h;
        async move {
            h.send(
                h.request(
                    Method::POST,
                    &format!("/api/v1/accounts/{id}/password"),
                    Role::Admin,
                    Via::Token,
                )
                .body(Body::empty())
                .unwrap(),
            )
            .await
        }
    };
    let r = reset(staff).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json()["initial_password"].as_str().unwrap().len() >= 10);
    for id in [firm, colleague] {
        let r = reset(id).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert!(r.text().contains("accounts reset-password"), "{}", r.text());
    }
    // The console's forms offer only the roles it may make.
    for page in ["/console/accounts", "/console/tokens"] {
        let t = h.get(page, Role::Admin).await.text();
        assert!(t.contains("<option value=\"reporter\">"), "{page}");
        for r in ["subject", "admin", "auditor"] {
            assert!(
                !t.contains(&format!("<option value=\"{r}\">")),
                "{page} offers {r}"
            );
        }
    }
    // Nor may it make a subject's or an admin's account or token, which it would then hold.
    for (path, body) in [
        (
            "/api/v1/accounts",
            json!({"username": "qiye2", "display_name": "企业", "role": "subject", "subject": h.org}),
        ),
        (
            "/api/v1/tokens",
            json!({"name": "企业系统", "role": "subject", "subject": h.org, "days": 30}),
        ),
        (
            "/api/v1/tokens",
            json!({"name": "x", "role": "admin", "days": 1}),
        ),
    ] {
        let r = h
            .send(
                h.request(Method::POST, path, Role::Admin, Via::Token)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{path} {body}: {}",
            r.text()
        );
        assert!(r.text().contains("命令行"), "{}", r.text());
    }
}

/// Two uploads still arriving from one unit are all it may have at once: its third waits for
/// them, while another unit's submission is taken at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unit_may_have_two_uploads_arriving_at_once() {
    use futures_util::StreamExt;
    let h = std::sync::Arc::new(harness());
    let uri = format!("/api/v1/submissions?class={}", urlencode("行政处罚"));
    let mut held = Vec::new();
    let mut slow = Vec::new();
    for _ in 0..2 {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
        tx.send(Ok(bytes::Bytes::from_static(b"["))).await.unwrap();
        held.push(tx);
        let (h, uri) = (h.clone(), uri.clone());
        slow.push(tokio::spawn(async move {
            let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed();
            h.send(
                h.request(Method::POST, &uri, Role::Reporter, Via::Token)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(stream))
                    .unwrap(),
            )
            .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let body = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕321号",
    )]);
    let third = {
        let (h, body) = (h.clone(), body.clone());
        tokio::spawn(async move { push(&h, Role::Reporter, &body).await })
    };
    let other = h.token_for(Role::Reporter, "盐城市市场监督管理局");
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        h.send_as(&other, Method::POST, &uri, Some(body)),
    )
    .await
    .expect("another unit's submission waited");
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(
        !third.is_finished(),
        "a third upload of the unit went ahead"
    );
    // The held uploads finish with one record each (an empty list is refused, not a batch).
    let rest = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕322号",
    )])
    .to_string();
    for tx in held {
        tx.send(Ok(bytes::Bytes::from(rest[1..].to_string())))
            .await
            .unwrap();
    }
    for s in slow {
        // The same list twice: the second is a repeat of the first (200).
        let r = s.await.unwrap();
        assert!(r.status.is_success(), "{}", r.text());
    }
    let r = third.await.unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// 信易贷授权查询: a subject authorises a financial institution to read its whole file until a
/// day; the institution then reads it as it stands today (not its history, not by an ID
/// number), each read audited; a second grant while one holds, another day's limit, a bad code
/// and the subject itself are refused; once withdrawn, the institution sees what the public
/// sees again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_authorises_a_financial_institution_and_withdraws_it() {
    let h = harness();
    let file = format!("/api/v1/subjects/{}", h.org);
    let history = format!("{file}?as_of=2026-06-09");
    // Whole-file reads by the institution, as the trail has them.
    let full_reads = || {
        tokio::task::block_in_place(|| {
            h.state
                .platform
                .audit_search(&store::AuditQuery {
                    action: Some("subject.read_full".into()),
                    limit: 100,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .filter(|e| e.entry.role == "financial")
                .map(|e| e.entry.detail.unwrap_or_default())
                .collect::<Vec<_>>()
        })
    };
    // An institution's token or account names its own code: without it, no subject could
    // authorise it. In the console's form too.
    for (uri, body) in [
        (
            "/api/v1/tokens",
            json!({"name": "银行系统", "role": "financial"}),
        ),
        (
            "/api/v1/tokens",
            json!({"name": "银行系统", "role": "financial", "subject": BANK, "unit": UNIT}),
        ),
        (
            "/api/v1/accounts",
            json!({"username": "bank2", "display_name": "银行", "role": "financial"}),
        ),
    ] {
        let r = h.post_json(uri, Role::Admin, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.text()
        );
        assert!(
            r.text().contains("统一社会信用代码") || r.text().contains("不属于任何信源单位"),
            "{}",
            r.text()
        );
    }
    let r = h
        .post_form(
            "/console/tokens",
            Role::Admin,
            &[
                ("name", "银行系统"),
                ("role", "financial"),
                ("subject", BANK),
                ("days", "30"),
            ],
        )
        .await;
    assert!(r.text().contains("新令牌"), "{}", r.text());
    let made = tokio::task::block_in_place(|| h.state.platform.tokens()).unwrap();
    assert!(
        made.iter()
            .any(|t| t.name == "银行系统" && t.subject_key.as_deref() == Some(BANK)),
        "the console's token carries the bank's code"
    );
    // Its entry says whose it is and for how long (it said the name and role only).
    let entries = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("token.create".into()),
            limit: 10,
            ..Default::default()
        })
    })
    .unwrap();
    assert!(
        entries.iter().any(|e| e
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!("subject={BANK}")) && d.contains("days=30"))),
        "{entries:?}"
    );
    // Without an authorisation the institution sees what the public sees.
    assert_eq!(h.get(&file, Role::Financial).await.status, StatusCode::OK);
    assert!(full_reads().is_empty());
    for (body, says) in [
        (
            json!({"institution": "91320900MA3DDFT27X", "until": "2026-12-31"}),
            "无效",
        ),
        (json!({"institution": BANK, "until": "2027-06-11"}), "一年"),
        (json!({"institution": BANK, "until": "2026-06-01"}), "一年"),
        (json!({"institution": h.org, "until": "2026-12-31"}), "自己"),
        // A valid code, but no institution the platform opened for 信易贷.
        (
            json!({"institution": "91110000600037341L", "until": "2026-12-31"}),
            "不是已在本平台开通信易贷查询的金融机构",
        ),
    ] {
        let r = h
            .post_json("/api/v1/authorisations", Role::Subject, body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains(says), "{}", r.text());
    }
    let grant = json!({"institution": BANK, "until": "2027-06-10"});
    let r = h
        .post_json("/api/v1/authorisations", Role::Subject, grant.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["auth_id"].as_i64().unwrap();
    assert!(r.text().contains("盐城市恒泰化工有限公司"), "{}", r.text());
    // One at a time: withdrawing it must withdraw it all.
    let r = h
        .post_json("/api/v1/authorisations", Role::Subject, grant)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // The institution sees it, with the key to ask for the file by, and reads the whole file
    // as it stands today; not its history.
    let r = h.get("/api/v1/authorisations", Role::Financial).await;
    assert_eq!(r.json()["authorisations"][0]["auth_id"], id, "{}", r.text());
    assert_eq!(r.json()["authorisations"][0]["subject_key"], h.org.as_str());
    // Granted by the subject: the institution is not told which login or token acted.
    assert_eq!(
        r.json()["authorisations"][0]["granted_by"],
        "信用主体本人",
        "{}",
        r.text()
    );
    // One of the subject's records withdrawn by its unit: the subject and staff still see it,
    // the institution does not; nor any unit's working history (batch, row, reasons). A licence
    // in force stays in its view.
    let code = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let csv = format!(
        "XK_XDR_MC,XK_XDR_LB,XK_XDR_SHXYM,XK_FRDB,XK_XKWS,XK_WSH,XK_XKLB,XK_NR,XK_JDRQ,XK_YXQZ,XK_YXQZI,XK_XKJG,XK_XKJGDM,XK_ZT,XK_LYDW,XK_LYDWDM\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{},张三,排污许可证,盐环许〔2026〕91号,普通,准予排污许可,2026-05-06,2026-05-06,长期,{UNIT},{code},有效,{UNIT},{code}\n",
        h.org
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政许可", &csv));
    assert_eq!((s.accepted, s.rejected), (1, 0), "{s:?}");
    let whole = h.get(&file, Role::Admin).await.json();
    let records = |v: &Value| -> Vec<Value> {
        v["classes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["records"].as_array().unwrap().clone())
            .collect()
    };
    let withdrawn = records(&whole)
        .into_iter()
        .find(|r| {
            r["source_unit"] == UNIT && !r["items"].to_string().contains("盐环许〔2026〕91号")
        })
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/records/{withdrawn}/withdraw"),
            Role::Reporter,
            json!({"reason": "决定已撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let seen = h.get(&file, Role::Financial).await;
    assert_eq!(seen.status, StatusCode::OK);
    let seen = seen.json();
    assert!(seen.to_string().contains("盐环许〔2026〕91号"), "{seen}");
    for r in records(&seen) {
        assert!(
            r["status"] == "public" || r["status"] == "shared",
            "only records in force: {r}"
        );
        assert_ne!(r["record_id"], withdrawn.as_str(), "{r}");
        for v in r["versions"].as_array().unwrap() {
            assert!(
                v["submission_id"].is_null() && v["row_no"].is_null() && v["reason"].is_null(),
                "{v}"
            );
        }
    }
    assert!(
        records(&h.get(&file, Role::Subject).await.json())
            .iter()
            .any(|r| r["record_id"] == withdrawn.as_str() && r["status"] == "withdrawn"),
        "the subject sees its whole file"
    );
    let reads = full_reads();
    assert!(
        reads.len() == 1 && reads[0].contains("授权查询"),
        "{reads:?}"
    );
    // In the console: the subject chose the bank by name from those open for 信易贷; the bank
    // opens the file from its list of authorisations, read as the API gives it (and audited).
    let page = h.get("/console/authorisations", Role::Subject).await.text();
    assert!(
        page.contains(&format!("<option value=\"{BANK}\">")),
        "{page}"
    );
    assert!(page.contains(&format!("（{BANK}）</td>")), "{page}");
    let page = h
        .get("/console/authorisations", Role::Financial)
        .await
        .text();
    let link = format!("/console/authorisations/{id}/file");
    assert!(page.contains(&link), "{page}");
    let file_page = h.get(&link, Role::Financial).await;
    assert_eq!(file_page.status, StatusCode::OK, "{}", file_page.text());
    let text = file_page.text();
    assert!(
        text.contains("盐环许〔2026〕91号") && text.contains("盐城市恒泰化工有限公司"),
        "{text}"
    );
    // The record's publicity end, as the portal gives it (the bank saw only the decision's
    // own dates); a repair date only for a penalty.
    let (_, records) = h.state.store.subject_file(&h.org, None).unwrap().unwrap();
    let licence = records
        .iter()
        .find_map(|r| {
            r.current()
                .filter(|v| v.payload.contains("盐环许〔2026〕91号"))
        })
        .unwrap();
    let ends = domain::record::day_shown(licence.public_ends.unwrap());
    assert!(
        text.contains(&format!("<dt>公示截止日期</dt><dd>{ends}</dd>")),
        "{ends}: {text}"
    );
    assert!(!text.contains("可申请信用修复日期"), "{text}");
    assert_eq!(full_reads().len(), 2);
    // The subject sees who read its file, when, and how (the trail kept it for the auditor
    // alone); no other subject's page lists it.
    let mine = h.get("/console/authorisations", Role::Subject).await.text();
    let section = mine.split("金融机构查询记录").nth(1).unwrap_or_default();
    assert!(
        section.contains(BANK) && section.contains("查阅信用档案（授权查询"),
        "{mine}"
    );
    assert_eq!(
        section.matches("查阅信用档案（授权查询").count(),
        2,
        "each read listed: {section}"
    );
    assert_eq!(
        h.get(&link, Role::Subject).await.status,
        StatusCode::FORBIDDEN
    );
    let r = h.get(&history, Role::Financial).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    // Another party cannot withdraw it; the subject can, and at once it no longer holds.
    let revoke = format!("/api/v1/authorisations/{id}/revoke");
    let r = h.post_json(&revoke, Role::Financial, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = h.post_json(&revoke, Role::Subject, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(h.get(&file, Role::Financial).await.status, StatusCode::OK);
    assert_eq!(full_reads().len(), 2);
    let r = h
        .get(
            &format!("/console/authorisations/{id}/file"),
            Role::Financial,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("已撤回或已到期"), "{}", r.text());
    let r = h.post_json(&revoke, Role::Subject, json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let trail = |action: &str| {
        tokio::task::block_in_place(|| {
            h.state
                .platform
                .audit_search(&store::AuditQuery {
                    action: Some(action.into()),
                    limit: 100,
                    ..Default::default()
                })
                .unwrap()
        })
    };
    let grants = trail("authorisation.grant");
    assert_eq!(
        grants.iter().filter(|e| e.entry.outcome == "ok").count(),
        1,
        "{grants:?}"
    );
    assert!(
        trail("authorisation.revoke")
            .iter()
            .any(|e| e.entry.outcome == "ok"
                && e.entry.detail.as_deref() == Some(&format!("institution={BANK}"))),
    );
    // Whose act it was: the subject, by its code, in the trail's unit column (a subject's
    // token made without a name left 单位 empty and its actor said nothing of whom).
    assert!(
        trail("authorisation.revoke")
            .iter()
            .all(|e| e.entry.unit.as_deref() == Some(&format!("信用主体:{}", h.org))),
        "{:?}",
        trail("authorisation.revoke")
    );
    // The console's refused read after the withdrawal is on the trail with the subject it was
    // of (the list page's entry named neither).
    assert!(
        trail("subject.read")
            .iter()
            .any(|e| e.entry.outcome == "denied"
                && e.entry.object.as_deref() == Some(h.org.as_str())
                && e.entry
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.contains(&format!("authorisation={id}")))),
        "{:?}",
        trail("subject.read")
    );
    // A record read is audited as that record, found or not: the bank's, now as the public
    // reads, and an officer's of a record that is not there.
    let rid = records
        .iter()
        .find(|r| {
            r.current()
                .is_some_and(|v| v.payload.contains("盐环许〔2026〕91号"))
        })
        .unwrap()
        .record_id
        .clone();
    let r = h
        .get(&format!("/api/v1/records/{rid}"), Role::Financial)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let missing = format!("{}-{}", h.org, "ab".repeat(16));
    let r = h
        .get(&format!("/api/v1/records/{missing}"), Role::Handling)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let reads = trail("record.read");
    assert!(
        reads
            .iter()
            .any(|e| e.entry.object.as_deref() == Some(rid.as_str())
                && e.entry.outcome == "ok"
                && e.entry.role == "financial"),
        "{reads:?}"
    );
    assert!(
        reads
            .iter()
            .any(|e| e.entry.object.as_deref() == Some(missing.as_str())
                && e.entry.outcome == "not_found"),
        "{reads:?}"
    );
    // An id that is no record's, or of a code that is no subject's, is on the trail too.
    for (id, status, outcome) in [
        ("NOPE-0000", StatusCode::NOT_FOUND, "not_found"),
        (
            "91320900MA00000000-00000000000000000000000000000000",
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
        ),
    ] {
        let r = h
            .get(&format!("/api/v1/records/{id}"), Role::Handling)
            .await;
        assert_eq!(r.status, status, "{id}: {}", r.text());
        assert!(
            h.trail("record.read", id)
                .iter()
                .any(|e| e.entry.outcome == outcome),
            "{id}"
        );
    }
}

/// What the console shows is in words its users read: a batch whose rows were all refused is not
/// "入库"; a role with no submissions has no submissions section; the office is not offered
/// buttons that can only fail (the auditor's token and account are the command line's); the
/// trail names the platform's own steps and refusals in Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_says_what_happened_in_words() {
    let h = harness();
    let bad = unit_penalty_csv(
        &h.state,
        &[(
            "某公司",
            "法人及非法人组织",
            "91320900MA1MB4X50X",
            "盐环罚〔2026〕90号",
        )],
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &bad));
    assert_eq!((s.accepted, s.rejected), (0, 1));
    let home = h.get("/console", Role::Reporter).await.text();
    assert!(home.contains("全部退回"), "{home}");
    let handling = h.get("/console", Role::Handling).await.text();
    assert!(!handling.contains("报送批次"), "{handling}");
    let tokens = tokio::task::block_in_place(|| h.state.platform.tokens()).unwrap();
    let auditor = tokens.iter().find(|t| t.role == "auditor").unwrap();
    let page = h.get("/console/tokens", Role::Admin).await.text();
    assert!(!page.contains(&format!("/console/tokens/{}/revoke", auditor.token_id)));
    // Nor a password reset it refuses (a subject's, an admin's): disable stays.
    let accounts = h.get("/console/accounts", Role::Admin).await.text();
    let account = |role: Role| {
        tokio::task::block_in_place(|| h.state.platform.account_by_username(role.as_str()))
            .unwrap()
            .unwrap()
            .account_id
    };
    let (subject, staff) = (account(Role::Subject), account(Role::Reporter));
    assert!(!accounts.contains(&format!("/console/accounts/{subject}/reset")));
    assert!(accounts.contains(&format!("/console/accounts/{subject}/disable")));
    assert!(accounts.contains(&format!("/console/accounts/{staff}/reset")));
    // The office does not offer to stop its own account.
    let me = account(Role::Admin);
    assert!(
        !accounts.contains(&format!("/console/accounts/{me}/disable")),
        "{accounts}"
    );
    // A reset says it is one, not that an account was made.
    let r = h
        .post_form(
            &format!("/console/accounts/{staff}/reset"),
            Role::Admin,
            &[],
        )
        .await;
    let said = r.text();
    assert!(said.contains("的密码已重置，临时密码"), "{said}");
    assert!(!said.contains("已创建"), "{said}");
    let handling_token = tokens.iter().find(|t| t.role == "handling").unwrap();
    assert!(page.contains(&format!(
        "/console/tokens/{}/revoke",
        handling_token.token_id
    )));
    // A refused login and a file read by the auditor: in words, not codes.
    let r = h
        .send(
            axum::http::Request::builder()
                .uri("/api/v1/me")
                .header(header::AUTHORIZATION, "Bearer xy_not_a_token")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"xinyong\"",
        "a 401 says how to authenticate"
    );
    let trail = h.get("/console/audit", Role::Auditor).await.text();
    assert!(
        trail.contains("拒绝：") && !trail.contains("（denied"),
        "{trail}"
    );
}

/// A service given another platform's key file does not start (its trail would be signed and
/// chained under a key the platform does not know), whoever embeds it — not only `serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_state_refuses_another_platforms_key() {
    let h = harness();
    let other = std::sync::Arc::new(testkit::keys());
    let r = tokio::task::block_in_place(|| {
        server::AppState::new(
            h.state.store.clone(),
            h.state.platform.clone(),
            h.state.rules.clone(),
            other,
            h.state.clock.clone(),
            server::Config::default(),
        )
    });
    assert!(r.is_err(), "another key was taken");
    // Its own key is taken again.
    let same = tokio::task::block_in_place(|| {
        server::AppState::new(
            h.state.store.clone(),
            h.state.platform.clone(),
            h.state.rules.clone(),
            h.state.keys.clone(),
            h.state.clock.clone(),
            server::Config::default(),
        )
    });
    assert!(same.is_ok());
}

/// An audit entry that cannot be written refuses the request it was for (503, not the credit
/// file), is counted in /metrics, and makes /readyz say so until entries are written again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_audit_entry_refuses_its_request() {
    let h = harness();
    let path = format!("/api/v1/subjects/{}", h.org);
    assert_eq!(h.get(&path, Role::Admin).await.status, StatusCode::OK);
    h.state
        .platform
        .write(|c| {
            c.batch(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'blocked by test'); END",
            )
        })
        .unwrap();
    let r = h.get(&path, Role::Admin).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("审计日志写入失败"), "{}", r.text());
    assert!(!r.text().contains("classes"), "{}", r.text());
    assert_eq!(
        h.get("/readyz", Role::Public).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let m = h.get("/metrics", Role::Monitor).await.text();
    assert!(m.contains("xinyong_audit_append_failures_total 1"), "{m}");
    h.state
        .platform
        .write(|c| c.batch("DROP TRIGGER block_audit"))
        .unwrap();
    assert_eq!(h.get(&path, Role::Admin).await.status, StatusCode::OK);
    assert_eq!(h.get("/readyz", Role::Public).await.status, StatusCode::OK);
}

/// A token whose audit entry cannot be written is not made: the answer is 503, no secret is
/// shown, and no credential is left that the trail cannot account for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_not_made_without_its_audit_entry() {
    let h = harness();
    h.state
        .platform
        .write(|c| {
            c.batch(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'blocked by test'); END",
            )
        })
        .unwrap();
    let r = h
        .post_json(
            "/api/v1/tokens",
            Role::Admin,
            serde_json::json!({"name": "无痕令牌", "role": "monitor", "days": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(!r.text().contains("xy_"), "{}", r.text());
    // The token and its entry are one transaction: without the entry, no token at all.
    let made: Vec<store::ApiToken> = tokio::task::block_in_place(|| h.state.platform.tokens())
        .unwrap()
        .into_iter()
        .filter(|t| t.name == "无痕令牌")
        .collect();
    assert!(made.is_empty(), "{made:?}");
}

/// An account is made with its audit entry or not at all; and while the trail cannot be
/// written, a write whose entry would come after it is refused before it begins (nothing
/// changed, and the answer says so); once the trail works, the first write says so in the
/// trail and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_write_stands_without_its_audit_entry() {
    let h = harness();
    let block = |on: bool| h.block_audit(on);
    let account = |name: &str| {
        tokio::task::block_in_place(|| h.state.platform.account_by_username(name)).unwrap()
    };
    let subscribed = || {
        tokio::task::block_in_place(|| h.state.platform.subscriptions(UNIT, 10, 0))
            .unwrap()
            .len()
    };
    let create = |name: &'static str| {
        h.post_json(
            "/api/v1/accounts",
            Role::Admin,
            serde_json::json!({"username": name, "display_name": "张三", "role": "handling",
                "unit": "盐城市行政审批局"}),
        )
    };
    block(true);
    // The trail was working a moment ago: the write is tried, and rolled back with its entry.
    let r = create("no-trace").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(
        account("no-trace").is_none(),
        "an account without its entry"
    );
    // Now the trail is known to fail: a write whose entry comes after it is not begun.
    let before = subscribed();
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            serde_json::json!({"codes": [h.org.clone()]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("本次写操作未执行"), "{}", r.text());
    assert_eq!(
        subscribed(),
        before,
        "a subscription written without its entry"
    );
    // Nor do the background jobs write meanwhile.
    let s = h.state.clone();
    let pass = tokio::task::spawn_blocking(move || server::jobs::run_once(&s))
        .await
        .unwrap();
    assert!(pass.is_err(), "{pass:?}");
    // Logging out, which only ends access, is not held back: the session ends.
    let r = h.post_form("/console/logout", Role::Admin, &[]).await;
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let hash = auth::secret_hash(&h.sessions[&Role::Admin].0);
    let session = tokio::task::block_in_place(|| h.state.platform.session(&hash))
        .unwrap()
        .unwrap();
    assert!(session.revoked, "still logged in: {session:?}");
    block(false);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            serde_json::json!({"codes": [h.org.clone()]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(subscribed(), before + 1);
    let resumed = h.trail("audit.resumed", "POST /api/v1/subscriptions");
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    let r = create("traced").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = account("traced").unwrap().account_id;
    // Filed under the account's id (as its disable, enable and reset are), the name beside.
    let made = h.trail("account.create", &format!("account:{id}"));
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].entry.outcome, "ok");
    assert!(
        made[0]
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("username=traced ")),
        "{made:?}"
    );
    assert_eq!(h.trail("audit.resumed", "POST /api/v1/accounts").len(), 0);
    // A name that differs from one in use only in case is refused, as is a field the role does
    // not take.
    let r = create("TRACED").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("仅大小写不同"), "{}", r.text());
    assert!(account("TRACED").is_none());
    let r = h
        .post_json(
            "/api/v1/accounts",
            Role::Admin,
            serde_json::json!({"username": "rep-subject", "display_name": "信息员", "role": "reporter", "unit": UNIT, "subject": h.org}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("不代表任何信用主体"), "{}", r.text());
}

/// A batch and a withdrawal write their entry before they commit (the trail is in the platform
/// store, a file of its own on SQLite): when it cannot be written, nothing is stored or
/// withdrawn and the answer is 503; when it can, the trail holds one entry for each, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_batch_or_withdrawal_stands_without_its_audit_entry() {
    let h = harness();
    let block = |on: bool| h.block_audit(on);
    let batches = || {
        tokio::task::block_in_place(|| h.state.store.submissions(None, 100))
            .unwrap()
            .len()
    };
    let body = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕301号",
    )]);
    let before = batches();
    block(true);
    // The trail was working a moment ago: the batch is read, and rolled back at its entry.
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("整批未入库"), "{}", r.text());
    // The trail's own error (here the test's trigger) stays in the log.
    assert!(!r.text().contains("blocked by test"), "{}", r.text());
    assert_eq!(batches(), before, "a batch stored without its entry");
    block(false);
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["submission_id"].as_i64().unwrap();
    assert_eq!(batches(), before + 1);
    let made = h.trail("submission.create", &format!("submission:{id}"));
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].entry.outcome, "ok");
    assert!(
        made[0]
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("accepted=1")),
        "{made:?}"
    );
    // The same bytes again store nothing, and are entered as a repeat, not as a second batch.
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        h.outcomes("submission.create", &format!("submission:{id}")),
        ["repeat", "ok"]
    );
    let page = h.get("/console/audit", Role::Auditor).await.text();
    assert!(page.contains("重复报送，未入库"), "{page}");
    // What an entry says of its operation is on the page; the days narrow the search.
    assert!(page.contains("accepted=1"), "{page}");
    // (The trail stamps entries with the machine's time, not the service's test clock.)
    let beijing = chrono::Utc::now() + chrono::Duration::hours(8);
    let day = beijing.format("%Y-%m-%d").to_string();
    let page = h
        .get(
            &format!("/console/audit?action=submission.create&from={day}&to={day}"),
            Role::Auditor,
        )
        .await
        .text();
    assert!(page.contains("重复报送，未入库"), "{page}");
    // The search offers the actions by name, the one searched chosen.
    assert!(
        page.contains(r#"<option value="submission.create" selected>报送数据</option>"#)
            && page.contains(r#"<option value="subject.read_full">查看完整信用档案</option>"#),
        "{page}"
    );
    let next = (beijing + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let page = h
        .get(
            &format!("/console/audit?action=submission.create&from={next}"),
            Role::Auditor,
        )
        .await
        .text();
    assert!(!page.contains("重复报送，未入库"), "{page}");
    assert!(page.contains("没有符合条件的审计记录"), "{page}");
    let r = h.get("/console/audit?from=2026-13-01", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = h
        .get(
            &format!("/console/audit?from={next}&to={day}"),
            Role::Auditor,
        )
        .await;
    assert!(r.text().contains("起始日期晚于截止日期"), "{}", r.text());
    // What the auditor looked for is kept with the search, through the API too.
    let r = h
        .send(
            h.request(
                Method::GET,
                "/api/v1/audit?action=submission.create",
                Role::Auditor,
                Via::Token,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let searches = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("audit.search".into()),
            limit: 20,
            ..Default::default()
        })
    })
    .unwrap();
    assert!(
        searches.iter().any(|e| e.entry.detail.as_deref()
            == Some(format!("action=submission.create from={next}").as_str())),
        "{searches:?}"
    );
    assert!(
        searches.iter().any(|e| e
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("action=submission.create entries="))),
        "{searches:?}"
    );
    // A withdrawal: its entry cannot be written, so the batch stays as it was.
    block(true);
    let uri = format!("/api/v1/submissions/{id}/withdraw");
    let r = h
        .post_json(&uri, Role::Reporter, json!({"reason": "测试撤回"}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    let status = || {
        tokio::task::block_in_place(|| h.state.store.submission(id))
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(status(), "committed", "withdrawn without its entry");
    block(false);
    let r = h
        .post_json(&uri, Role::Reporter, json!({"reason": "测试撤回"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(status(), "withdrawn");
    // (The refused attempt's own entry could not be written either.)
    assert_eq!(
        h.outcomes("submission.withdraw", &format!("submission:{id}")),
        ["ok"]
    );
}

/// A row changed below the last checkpoint is found by the service's own periodic
/// verification: logged, counted in /metrics, written to the trail once, and checkpoint signing
/// stops until a verification passes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_finds_a_row_changed_below_its_last_checkpoint() {
    let h = harness();
    let path = format!("/api/v1/subjects/{}", h.org);
    for _ in 0..3 {
        assert_eq!(h.get(&path, Role::Admin).await.status, StatusCode::OK);
    }
    let s = h.state.clone();
    tokio::task::spawn_blocking(move || {
        audit::checkpoint(&s.platform, &s.keys, s.clock.now()).unwrap();
        assert!(server::verify_trail(&s));
        s.platform
            .write(|c| {
                c.batch(
                    "DROP TRIGGER audit_log_immutable_u;
                     UPDATE audit_log SET client = '10.1.2.3' WHERE seq = 2;
                     CREATE TRIGGER audit_log_immutable_u BEFORE UPDATE ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'audit entries are never changed'); END;",
                )
            })
            .unwrap();
        assert!(!server::verify_trail(&s));
        assert!(!server::verify_trail(&s), "still broken on the next pass");
    })
    .await
    .unwrap();
    let m = h.get("/metrics", Role::Monitor).await.text();
    assert!(m.contains("xinyong_audit_chain_broken 1"), "{m}");
    let found = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("audit.verify".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1, "told once: {found:?}");
    assert_eq!(found[0].entry.outcome, "failed:broken");
    assert_eq!(found[0].entry.actor, "system:audit");
    // Nor does anyone sign one over it by hand.
    let r = h
        .post_json(
            "/api/v1/audit/checkpoints",
            Role::Auditor,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("暂停签署检查点"), "{}", r.text());
}

/// The office enables again an account it disabled, by the rules it disables by (not the
/// auditor's), with the CSRF token, audited; the sessions the disabling ended stay ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_enables_a_disabled_account_and_its_old_sessions_stay_ended() {
    let h = harness();
    let id = |role: Role| {
        tokio::task::block_in_place(|| h.state.platform.account_by_username(role.as_str()))
            .unwrap()
            .unwrap()
    };
    let staff = id(Role::Reporter).account_id;
    let r = h
        .post_form(
            &format!("/console/accounts/{staff}/disable"),
            Role::Admin,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = h.get("/console/accounts", Role::Admin).await.text();
    assert!(
        page.contains(&format!("/console/accounts/{staff}/enable")),
        "{page}"
    );
    // Without the form's token: refused, still disabled.
    let r = h
        .send(
            h.request(
                Method::POST,
                &format!("/console/accounts/{staff}/enable"),
                Role::Admin,
                Via::Session,
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=forged"))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(id(Role::Reporter).disabled_at.is_some());
    let r = h
        .post_form(
            &format!("/console/accounts/{staff}/enable"),
            Role::Admin,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(id(Role::Reporter).disabled_at.is_none());
    let trail = h.trail("account.enable", &format!("account:{staff}"));
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].entry.outcome, "ok");
    // The session it held before is not revived.
    let r = h.get("/console", Role::Reporter).await;
    assert!(
        r.status == StatusCode::SEE_OTHER || r.status == StatusCode::UNAUTHORIZED,
        "{} {}",
        r.status,
        r.text()
    );
    // The auditor's account is the command line's, enabling too.
    let auditor = id(Role::Auditor).account_id;
    tokio::task::block_in_place(|| {
        h.state
            .platform
            .disable_account(auditor, h.state.clock.now(), None)
    })
    .unwrap();
    let r = h
        .post_form(
            &format!("/console/accounts/{auditor}/enable"),
            Role::Admin,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(id(Role::Auditor).disabled_at.is_some());
    let page = h.get("/console/accounts", Role::Admin).await.text();
    assert!(!page.contains(&format!("/console/accounts/{auditor}/enable")));
    // Nor is another office admin's, stopped by the operator after an incident, restarted from
    // the web by a colleague.
    let state = h.state.clone();
    let admin2 = tokio::task::block_in_place(|| {
        let c = server::manage::create_account(
            &state.platform,
            &state.rules,
            &state.keys,
            &server::manage::AccountRequest {
                username: "admin2".into(),
                display_name: "管理员二".into(),
                role: Role::Admin,
                unit: None,
                subject: None,
                password: None,
            },
            "test",
            state.clock.now(),
            None,
        )
        .unwrap();
        let a = state
            .platform
            .account_by_username(&c.username)
            .unwrap()
            .unwrap();
        state
            .platform
            .disable_account(a.account_id, state.clock.now(), None)
            .unwrap();
        a.account_id
    });
    let r = h
        .post_form(
            &format!("/console/accounts/{admin2}/enable"),
            Role::Admin,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("accounts enable"), "{}", r.text());
    let page = h.get("/console/accounts", Role::Admin).await.text();
    assert!(!page.contains(&format!("/console/accounts/{admin2}/enable")));
}

/// A refused login reads the same to the user whatever the reason, but the trail keeps the real
/// one — unknown name, wrong password, locked (right password or not), disabled — and the
/// moment the account gets locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_is_audited_with_its_real_reason() {
    let h = harness();
    let state = h.state.clone();
    let created = tokio::task::block_in_place(|| {
        server::manage::create_account(
            &state.platform,
            &state.rules,
            &state.keys,
            &server::manage::AccountRequest {
                username: "zhaoliu".into(),
                display_name: "赵六".into(),
                role: Role::Reviewer,
                unit: Some(UNIT.into()),
                subject: None,
                password: None,
            },
            "test",
            state.clock.now(),
            None,
        )
    })
    .unwrap();
    let login = |user: &str, pw: &str| {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(format!(
                "login_csrf=t&username={user}&password={}",
                urlencode(pw)
            )))
            .unwrap()
    };
    let refused = |user: &str, n: usize| {
        let t = h.trail("login", &format!("user:{user}"));
        assert!(t.len() >= n, "{t:?}");
        t
    };
    let mut texts = Vec::new();
    let r = h.send(login("nobody", "WrongPassword1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    texts.push(r.text());
    assert_eq!(refused("nobody", 1)[0].entry.outcome, "denied:unknown_user");
    for n in 1..=5 {
        let r = h.send(login("zhaoliu", "WrongPassword1")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        texts.push(r.text());
        let t = refused("zhaoliu", n);
        assert_eq!(t[0].entry.outcome, "denied:bad_password");
        // Locked by the fifth, and only then.
        assert_eq!(h.trail("account.locked", "user:zhaoliu").len(), n / 5);
    }
    let r = h.send(login("zhaoliu", &created.initial_password)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    texts.push(r.text());
    let t = refused("zhaoliu", 6);
    assert_eq!(t[0].entry.outcome, "denied:locked");
    assert!(
        t[0].entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("正确")),
        "{:?}",
        t[0].entry.detail
    );
    tokio::task::block_in_place(|| {
        h.state
            .platform
            .disable_account(created.account_id, h.state.clock.now(), None)
    })
    .unwrap();
    let r = h.send(login("zhaoliu", &created.initial_password)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    texts.push(r.text());
    assert_eq!(refused("zhaoliu", 7)[0].entry.outcome, "denied:disabled");
    // The user reads one message: the page differs in nothing but the name typed.
    let same: Vec<String> = texts
        .iter()
        .map(|t| t.replace("zhaoliu", "nobody"))
        .collect();
    assert!(same.windows(2).all(|w| w[0] == w[1]), "{same:?}");
}

/// The password form states the policy the check applies (three classes of four), from the
/// same source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_form_states_the_policy_it_is_held_to() {
    let h = harness();
    let page = h.get("/console/password", Role::Reporter).await.text();
    let policy = auth::password_policy_text();
    assert!(policy.contains("至少三类"), "{policy}");
    assert!(page.contains(&policy), "{page}");
    assert!(!page.contains("含字母和数字"), "{page}");
    // A password of letters and digits only, as the old label allowed, is refused.
    assert!(auth::check_password_policy("u", "abcdefgh12x").is_err());
}

/// A unit finds its own records by the document number it knows them by (a system that lost the
/// submission's answer, or whose re-send was counted unchanged and so not listed), in any
/// bracket form; another unit finds nothing; the credit office names the unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_finds_its_records_by_document_number() {
    let h = harness();
    let body = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚〔2026〕521号",
    )]);
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["accepted_rows"][0]["record_id"]
        .as_str()
        .map(str::to_string);
    let find = |role: Role, q: &str| {
        let h = &h;
        let uri = format!("/api/v1/records?{q}");
        async move { h.get(&uri, role).await }
    };
    let q = format!("decision_no={}", urlencode("盐环罚[2026]521号"));
    let r = find(Role::Reporter, &q).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ids: Vec<String> = serde_json::from_value(r.json()["record_ids"].clone()).unwrap();
    assert_eq!(ids.len(), 1, "{}", r.text());
    if let Some(id) = id {
        assert_eq!(ids[0], id);
    }
    let other = h.token_for(Role::Reporter, "盐城市市场监督管理局");
    let r = h
        .send_as(&other, Method::GET, &format!("/api/v1/records?{q}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["record_ids"],
        serde_json::json!([]),
        "{}",
        r.text()
    );
    assert_eq!(
        find(Role::Admin, &q).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = find(
        Role::Admin,
        &format!("{q}&unit={}", urlencode("盐城市生态环境局")),
    )
    .await;
    assert_eq!(r.json()["record_ids"].as_array().map(Vec::len), Some(1));
    // Re-sent as 盐环罚（2026）521号, the decision is one record again: the number in any
    // bracket form finds the one in force, not the first writing withdrawn by it.
    let body = records_json(&[(
        "盐城市恒泰化工有限公司",
        "91320900MA1MB4X50R",
        "盐环罚（2026）521号",
    )]);
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = find(Role::Reporter, &q).await;
    let now: Vec<String> = serde_json::from_value(r.json()["record_ids"].clone()).unwrap();
    assert_eq!(now.len(), 1, "{}", r.text());
    assert_ne!(now[0], ids[0], "the re-sent writing's record: {}", r.text());
    let head = h.state.store.record_head(&now[0]).unwrap().unwrap();
    assert_eq!(head.change, "created");
    assert_eq!(find(Role::Handling, &q).await.status, StatusCode::FORBIDDEN);
}

/// One address that failed to log in 20 times in a quarter of an hour waits out the window,
/// whatever name it tries: an anonymous script could otherwise keep every account locked, the
/// administrator's too. The tries meanwhile lock no account; the refusal is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_failing_logins_is_held_off_before_it_locks_accounts() {
    let h = harness();
    let login = |user: &'static str, password: &'static str| {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(format!(
                "login_csrf=t&username={user}&password={password}"
            )))
            .unwrap()
    };
    for _ in 0..20 {
        let r = h.send(login("nobody-here", "WrongPassword1")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    }
    // The administrator's right password too is refused now, and its account is not counted.
    let r = h.send(login("admin", "Testing2026pass")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert!(r.text().contains("登录失败次数过多"), "{}", r.text());
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    let admin = tokio::task::block_in_place(|| h.state.platform.account_by_username("admin"))
        .unwrap()
        .unwrap();
    assert!(admin.locked_until.is_none());
    assert!(
        h.trail("login", "user:admin")
            .iter()
            .any(|e| e.entry.outcome == "denied:address_throttled"),
        "the refusal is in the trail"
    );
}

/// A password that has served 90 days is changed at the next login before anything else (GB/T
/// 22239-2019 8.1.4.1 a)); one set more recently is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_older_than_ninety_days_is_changed_at_login() {
    let h = harness();
    let login = || {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(
                "login_csrf=t&username=admin&password=Testing2026pass",
            ))
            .unwrap()
    };
    let r = h.send(login()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers[header::LOCATION], "/console");
    // A browser-session cookie: closing the browser of a shared PC ends it.
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("xy_session=")
            && !cookie.contains("Max-Age")
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    h.clock.set(h.clock.now() + chrono::Duration::days(91));
    let r = h.send(login()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers[header::LOCATION], "/console/password");
    let admin = tokio::task::block_in_place(|| h.state.platform.account_by_username("admin"))
        .unwrap()
        .unwrap();
    assert!(
        admin.must_change,
        "every page but the password's stays closed"
    );
    assert!(
        h.trail("login", "user:admin").iter().any(|e| e
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("须先修改密码"))),
        "the login that marked it says so"
    );
}

/// Wrong passwords count toward the lock only while they come close together: four, a pause
/// as long as a lock, and four more lock nothing; a fifth within the window does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_far_apart_do_not_lock() {
    let h = harness();
    let wrong = || {
        h.request(Method::POST, "/console/login", Role::Public, Via::Session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, "xy_login=t")
            .body(Body::from(
                "login_csrf=t&username=admin&password=WrongPassword1",
            ))
            .unwrap()
    };
    let locked = || {
        tokio::task::block_in_place(|| h.state.platform.account_by_username("admin"))
            .unwrap()
            .unwrap()
            .locked_until
            .is_some()
    };
    for _ in 0..4 {
        h.send(wrong()).await;
    }
    assert!(!locked());
    h.clock.set(h.clock.now() + chrono::Duration::minutes(16));
    for _ in 0..4 {
        h.send(wrong()).await;
    }
    assert!(!locked(), "four and four, a quarter of an hour apart");
    h.send(wrong()).await;
    assert!(locked(), "the fifth within the window locks");
}

/// A login name no account can have — a NUL in it, which PostgreSQL refuses in text — is an
/// unknown name (the usual refusal, in the trail escaped), not a server error without a trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_name_with_a_nul_is_an_unknown_name() {
    let h = pg_harness().await;
    let r = h
        .send(
            h.request(Method::POST, "/console/login", Role::Public, Via::Session)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, "xy_login=t")
                .body(Body::from(
                    "login_csrf=t&username=a%00b&password=WrongPassword1",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let t = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("login".into()),
            limit: 10,
            ..Default::default()
        })
    })
    .unwrap();
    assert!(
        t.iter().any(|e| e.entry.outcome == "denied:unknown_user"
            && e.entry.object.as_deref() == Some("user:a\\u{0}b")),
        "{t:?}"
    );
}

/// Who made each version is named to the subject (and to a bank it authorised) by the unit
/// that reported the record, not by a login or token of the unit's staff; officers see who.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_reads_its_file_without_staff_logins() {
    let h = harness();
    let path = format!("/api/v1/subjects/{}", h.org);
    let actors = |file: &serde_json::Value| -> Vec<String> {
        file["classes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["records"].as_array().unwrap().iter())
            .flat_map(|r| r["versions"].as_array().unwrap().iter())
            .map(|v| v["actor"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let own = h.get(&path, Role::Subject).await.json();
    let seen = actors(&own);
    assert!(!seen.is_empty(), "{own}");
    assert!(seen.iter().all(|a| a == UNIT), "{seen:?}");
    let officer = h.get(&path, Role::Admin).await.json();
    assert!(actors(&officer).iter().all(|a| a == "test"), "{officer}");
}

/// A console form posted without its CSRF field is refused as one with a wrong token is — 403,
/// and recorded — not answered 422 by the form reader and left out of the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_field_is_a_recorded_refusal() {
    let h = harness();
    let r = h
        .send(
            h.request(Method::POST, "/console/tokens", Role::Admin, Via::Session)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("name=x&role=handling&unit=%E7%9B%90&days=1"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(h.trail("access.denied", "POST /console/tokens").len(), 1);
    let made = tokio::task::block_in_place(|| h.state.platform.tokens()).unwrap();
    assert!(made.iter().all(|t| t.name != "x"), "{made:?}");
}

/// A record withdrawn with a reason that names a person, then sent again corrected, is public
/// again: the public reads its versions without the reasons staff typed (nor the batch and row
/// they came from); the subject reads them with ID and mobile numbers masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_does_not_read_the_reasons_staff_typed() {
    let h = harness();
    let row = [(
        "盐城市恒泰化工有限公司",
        "法人及非法人组织",
        h.org.as_str(),
        "盐环罚〔2026〕77号",
    )];
    let csv = unit_penalty_csv(&h.state, &row);
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!(s.accepted, 1, "{s:?}");
    let path = format!("/api/v1/subjects/{}", h.org);
    let record_of = |file: &serde_json::Value| -> serde_json::Value {
        file["classes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["records"].as_array().unwrap().iter())
            .find(|r| r.to_string().contains("〔2026〕77号"))
            .cloned()
            .unwrap_or_default()
    };
    let id = record_of(&h.get(&path, Role::Admin).await.json())["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = "当事人身份证号320902198503151234录入有误，联系电话13912345678";
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/withdraw"),
            Role::Reporter,
            json!({ "reason": secret }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    h.clock.set(h.clock.now() + chrono::Duration::minutes(1));
    let again = csv.replace("处罚款0.5万元", "处罚款0.5万元（已更正）");
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &again));
    assert_eq!(s.accepted, 1, "{s:?}");
    let public = h.get(&path, Role::Public).await.text();
    assert!(public.contains("〔2026〕77号"), "public again: {public}");
    assert!(
        !public.contains("19850315") && !public.contains("12345678"),
        "{public}"
    );
    let rec = record_of(&serde_json::from_str(&public).unwrap());
    for v in rec["versions"].as_array().unwrap() {
        assert!(v["reason"].is_null() && v["submission_id"].is_null(), "{v}");
    }
    let own = h.get(&path, Role::Subject).await.text();
    assert!(own.contains("139****5678"), "{own}");
    assert!(
        !own.contains("19850315") && !own.contains("13912345678"),
        "{own}"
    );
}

/// A withdrawn batch's console page says it was withdrawn and why, as its API reading does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_batch_says_why_in_the_console() {
    let h = harness();
    let csv = unit_penalty_csv(
        &h.state,
        &[(
            "某公司",
            "法人及非法人组织",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕41号",
        )],
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    let id = s.submission_id.unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/submissions/{id}/withdraw"),
            Role::Reporter,
            json!({"reason": "与第3批重复报送"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = h
        .get(&format!("/console/submissions/{id}"), Role::Reporter)
        .await
        .text();
    assert!(page.contains("本批次已撤回：与第3批重复报送"), "{page}");
}

/// An administrator cannot lock the office out of its console: not by disabling the account it
/// is signed in with, nor the last enabled administrator account (by a token either); with a
/// second administrator, the first can be disabled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_keeps_an_administrator_on_sqlite() {
    the_office_keeps_an_administrator(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_keeps_an_administrator_on_postgres() {
    the_office_keeps_an_administrator(pg_harness().await).await;
}

async fn the_office_keeps_an_administrator(h: Harness) {
    let admin =
        tokio::task::block_in_place(|| h.state.platform.account_by_username(Role::Admin.as_str()))
            .unwrap()
            .unwrap()
            .account_id;
    let r = h
        .post_form(
            &format!("/console/accounts/{admin}/disable"),
            Role::Admin,
            &[],
        )
        .await;
    assert!(
        r.text().contains("不能停用自己正在使用的账号"),
        "{}",
        r.text()
    );
    let by_token = async || {
        h.post_json(
            &format!("/api/v1/accounts/{admin}/disable"),
            Role::Admin,
            serde_json::json!({}),
        )
        .await
    };
    let r = by_token().await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(
        r.text().contains("最后一个在用的信用办管理员账号"),
        "{}",
        r.text()
    );
    let page = h.get("/console/accounts", Role::Admin).await;
    assert_eq!(page.status, StatusCode::OK, "still signed in");
    // The store judges it too, in the write's own transaction (whatever calls it).
    let e = tokio::task::block_in_place(|| {
        h.state
            .platform
            .disable_account(admin, h.state.clock.now(), None)
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("最后一个在用的信用办管理员账号"), "{e}");
    tokio::task::block_in_place(|| {
        server::manage::create_account(
            &h.state.platform,
            &h.state.rules,
            &h.state.keys,
            &server::manage::AccountRequest {
                username: "lisi".into(),
                display_name: "李四".into(),
                role: Role::Admin,
                unit: None,
                subject: None,
                password: None,
            },
            "test",
            h.state.clock.now(),
            None,
        )
    })
    .unwrap();
    let r = by_token().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// The home page of a deciding unit, a checking department and a bank says what waits on them
/// and links to where they work; every link opens for the role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_homes_say_what_waits_and_link_to_their_work() {
    let h = harness();
    for (role, says) in [
        (Role::Deciding, "办理中的修复和异议"),
        (Role::Handling, "待反馈的预警"),
        (Role::Financial, "信用核查（授信融资）"),
    ] {
        let home = h.get("/console", role).await;
        assert_eq!(home.status, StatusCode::OK);
        let t = home.text();
        assert!(t.contains(says), "{role}: {t}");
        let main = &t[t.find("<main").unwrap_or(0)..];
        let links: Vec<&str> = main
            .split("href=\"")
            .skip(1)
            .filter_map(|x| x.split('"').next())
            .filter(|x| x.starts_with("/console/"))
            .collect();
        assert!(links.len() >= 2, "{role}: {links:?}");
        for l in links {
            let r = h.get(l, role).await;
            assert_eq!(r.status, StatusCode::OK, "{role} {l}");
        }
    }
}

/// A batch's page lists the records it wrote, and the unit withdraws one of them there (the
/// console asks clerks to withdraw row by row, so it must offer it); others cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_withdraws_one_record_from_its_batch_page() {
    let h = harness();
    let body = records_json(&[
        (
            "盐城市恒泰化工有限公司",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕401号",
        ),
        (
            "盐城市恒泰化工有限公司",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕402号",
        ),
    ]);
    let r = push(&h, Role::Reporter, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["submission_id"].as_i64().unwrap();
    let uri = format!("/console/submissions/{id}");
    let page = h.get(&uri, Role::Reporter).await.text();
    assert!(
        page.contains("入库的记录") && page.contains("盐环罚〔2026〕401号"),
        "{page}"
    );
    assert!(page.contains("盐环罚〔2026〕402号"), "{page}");
    assert_eq!(
        page.matches("/console/records/withdraw").count(),
        2,
        "{page}"
    );
    let first = page
        .split("name=\"record_id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let fields = [
        ("record_id", first.as_str()),
        ("submission", &id.to_string()),
        ("reason", "文号录入错误"),
    ];
    // Not a department that only checks, nor another unit's writer.
    let r = h
        .post_form("/console/records/withdraw", Role::Handling, &fields)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = h
        .post_form("/console/records/withdraw", Role::Reporter, &fields)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("已撤回"), "{}", r.text());
    let page = h.get(&uri, Role::Reporter).await.text();
    assert_eq!(
        page.matches("/console/records/withdraw").count(),
        1,
        "{page}"
    );
    assert!(page.contains("已撤回"), "{page}");
    let column = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(
        column.contains("盐环罚〔2026〕402号") && !column.contains("盐环罚〔2026〕401号"),
        "{column}"
    );
    // Audited as a record withdrawal, once.
    let done = h.trail("record.withdraw", &first);
    assert_eq!(done.len(), 1, "{done:?}");
}

/// The public reads the statistics of what it may see (records public now, of the classes
/// published whole), the credit office every current record at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_statistics_count_only_what_the_public_sees() {
    let h = harness();
    // A tax credit grade B: current, but only grade A is published.
    let csv = format!(
        "纳税人名称,纳税人识别号（统一社会信用代码）,评价年度,纳税信用级别,评定日期,评定机关\n\
         盐城市恒泰化工有限公司,{},2025,B,2026-04-20,国家税务总局盐城市税务局\n",
        h.org
    );
    let s = tokio::task::block_in_place(|| {
        import_csv(&h.state, "国家税务总局盐城市税务局", "纳税信用等级", &csv)
    });
    assert_eq!(s.accepted, 1, "{s:?}");
    let admin = h.get("/api/v1/stats", Role::Admin).await.json();
    let public = h.get("/api/v1/stats", Role::Public).await.json();
    assert!(admin["versions"].as_i64().unwrap() > 0, "{admin}");
    // The platform's own counts are not the public's: absent, not a misleading 0.
    assert!(public.get("versions").is_none(), "{public}");
    assert!(public.get("submissions").is_none(), "{public}");
    for c in public["records_by_class"].as_array().unwrap() {
        let class = h
            .state
            .rules
            .catalog
            .class_by_code(c["name"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            class.sharing,
            domain::catalog::SharingScope::Public,
            "{public}"
        );
    }
    let count = |v: &serde_json::Value, class: &str| {
        v["records_by_class"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == class)
            .map_or(0, |c| c["count"].as_i64().unwrap())
    };
    // The penalties the portal's column shows, as its home page counts them.
    let home = h.get("/", Role::Public).await.text();
    let cf = count(&public, "CF");
    assert!(cf > 0, "{public}");
    assert!(home.contains(&cf.to_string()), "{home}");
    // What only staff count: the current records of every class, published or not.
    assert_eq!(count(&admin, "NSXY"), 1, "{admin}");
    assert_eq!(count(&public, "NSXY"), 0, "{public}");
}

/// Lists page as documented: a size out of range or a negative start is refused, not read as
/// one row or the first; the submissions page on by the last number seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_refuse_a_page_out_of_range_and_page_on() {
    let h = harness();
    let csv = penalty_csv(&[(
        "盐城市第二化工有限公司",
        "法人及非法人组织",
        "91320900MA1MB4X51P",
        "盐环罚〔2026〕3号",
    )]);
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert!(s.submission_id.is_some(), "{s:?}");
    for uri in [
        "/api/v1/submissions?limit=0",
        "/api/v1/submissions?limit=-1",
        "/api/v1/submissions?limit=501",
        "/api/v1/subscriptions?limit=0",
        "/api/v1/subscriptions?offset=-5",
        "/api/v1/alerts?limit=-1",
    ] {
        let role = if uri.contains("submissions") {
            Role::Reporter
        } else {
            Role::Handling
        };
        let r = h.get(uri, role).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.text()
        );
        assert!(
            r.text().contains("limit") || r.text().contains("offset"),
            "{}",
            r.text()
        );
    }
    let ids = |v: Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["submission_id"].as_i64().unwrap())
            .collect()
    };
    let all = ids(h.get("/api/v1/submissions", Role::Reporter).await.json());
    assert!(all.len() >= 2, "{all:?}");
    let first = ids(h
        .get("/api/v1/submissions?limit=1", Role::Reporter)
        .await
        .json());
    assert_eq!(first, all[..1]);
    let next = ids(h
        .get(
            &format!("/api/v1/submissions?limit=1&before={}", first[0]),
            Role::Reporter,
        )
        .await
        .json());
    assert_eq!(next, all[1..2]);
    // Another unit's batches: refused naming the parameter, not as a role without the right.
    let r = h
        .get(
            &format!(
                "/api/v1/submissions?unit={}",
                urlencode("盐城市市场监督管理局")
            ),
            Role::Reporter,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("只能查看本单位"), "{}", r.text());
}

/// A row accepted with a doubtful code is flagged on its own line of the batch, with why, so
/// that the unit can check it against the original (the batch's count alone named none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspect_row_says_which_and_why() {
    for h in [harness(), pg_harness().await] {
        let body = "91320900MA1RXW003";
        let code = format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()));
        let unit_code = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
        let csv = penalty_csv(&[(
            "盐城市存疑代码有限公司",
            "法人及非法人组织",
            &code,
            "盐环罚〔2026〕31号",
        )])
        .replace("11320900001401484X", &unit_code);
        let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
        assert_eq!((s.accepted, s.suspect), (1, 1), "{s:?}");
        let id = s.submission_id.unwrap();
        let v = h
            .get(&format!("/api/v1/submissions/{id}"), Role::Reporter)
            .await
            .json();
        let row = &v["accepted_rows"][0];
        assert_eq!(row["id_suspect"], true, "{v}");
        assert!(
            row["id_note"].as_str().is_some_and(|n| !n.is_empty()),
            "{v}"
        );
    }
}

/// 信用档案查询 in the console: an officer who reads files whole finds one by its code and reads
/// every record with its versions (a withdrawn one too, with who and why), audited as the API's
/// read is; the roles that may not read files whole are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_read_a_whole_file_in_the_console() {
    let h = harness();
    let whole = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Admin)
        .await
        .json();
    let record = whole["classes"][0]["records"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .post_json(
            &format!("/api/v1/records/{record}/withdraw"),
            Role::Reporter,
            json!({"reason": "决定已被复议撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let reads = || h.outcomes("subject.read_full", &h.org).len();
    let before = reads();
    let page = h
        .get(&format!("/console/subjects?code={}", h.org), Role::Handling)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    assert!(
        text.contains("盐城市恒泰化工有限公司") && text.contains("盐环罚〔2026〕1号"),
        "{text}"
    );
    assert!(
        text.contains("已撤回") && text.contains("决定已被复议撤销"),
        "{text}"
    );
    assert_eq!(reads(), before + 1);
    // The form posts what was typed — a person's ID number stays out of the address, the
    // browser's history and proxies' logs — and the page shows it masked.
    let form = h.get("/console/subjects", Role::Handling).await.text();
    assert!(
        form.contains(r#"<form method="post" action="/console/subjects""#),
        "{form}"
    );
    let person = "320902198503151234";
    let r = h
        .post_form("/console/subjects", Role::Handling, &[("code", person)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("王小明") && !r.text().contains(person),
        "{}",
        r.text()
    );
    // In the address it is not looked up (it would stay in histories and access logs).
    let r = h
        .get(&format!("/console/subjects?code={person}"), Role::Handling)
        .await;
    assert!(
        r.text().contains("不要写在网址中")
            && !r.text().contains("王小明")
            && !r.text().contains(person),
        "{}",
        r.text()
    );
    assert_eq!(
        h.post_form("/console/subjects", Role::Subject, &[("code", person)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The search box alone, and a code that is none, said in Chinese on the console's page.
    let empty = h.get("/console/subjects", Role::Deciding).await;
    assert_eq!(empty.status, StatusCode::OK);
    let bad = h.get("/console/subjects?code=abc", Role::Admin).await;
    assert!(
        bad.text().contains("不是有效的统一社会信用代码"),
        "{}",
        bad.text()
    );
    for role in [
        Role::Reporter,
        Role::Subject,
        Role::Financial,
        Role::Auditor,
    ] {
        let r = h
            .get(&format!("/console/subjects?code={}", h.org), role)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
}

/// A batch's page says which rows' ID numbers were judged suspect and why (they count as not
/// linked, and the unit saw its 关联 fall with no reason given on the page).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_page_names_its_suspect_id_numbers() {
    let h = harness();
    let csv = unit_penalty_csv(
        &h.state,
        &[
            (
                "李建华",
                "自然人",
                "320904200003150617",
                "盐环罚〔2026〕61号",
            ),
            (
                "王小明",
                "自然人",
                "320902198503151234",
                "盐环罚〔2026〕62号",
            ),
        ],
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!((s.accepted, s.suspect), (2, 1), "{s:?}");
    let page = h
        .get(
            &format!("/console/submissions/{}", s.submission_id.unwrap()),
            Role::Reporter,
        )
        .await
        .text();
    assert!(page.contains("另有1行证件号码存疑，计为未关联"), "{page}");
    let row = page
        .split("<tr>")
        .find(|r| r.contains("盐环罚〔2026〕61号"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        row.contains("证件号码存疑：行政区划代码320904在2000年前后未启用"),
        "{row}"
    );
    let other = page
        .split("<tr>")
        .find(|r| r.contains("盐环罚〔2026〕62号"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(!other.contains("存疑"), "{other}");
}

/// The office's home lists any unit's batches on asking, and pages back past the latest 50
/// (it showed the latest 50 of all units, with no way to a unit's history).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_home_filters_batches_by_unit_and_pages_back() {
    let h = harness();
    let seeded = h.get("/console", Role::Admin).await.text();
    assert!(seeded.contains("/console/submissions/1\""), "{seeded}");
    let theirs = h
        .get(
            &format!("/console?unit={}", urlencode(OTHER_UNIT)),
            Role::Admin,
        )
        .await
        .text();
    assert!(
        theirs.contains("暂无报送") && !theirs.contains("/console/submissions/1\""),
        "{theirs}"
    );
    let ours = h
        .get(&format!("/console?unit={}", urlencode(UNIT)), Role::Admin)
        .await
        .text();
    assert!(ours.contains("/console/submissions/1\""), "{ours}");
    // Part of a name finds every unit that has it (生态环境: ours; 应急: not ours).
    let part = h
        .get(
            &format!("/console?unit={}", urlencode("生态环境")),
            Role::Admin,
        )
        .await
        .text();
    assert!(part.contains("/console/submissions/1\""), "{part}");
    let none = h
        .get(&format!("/console?unit={}", urlencode("应急")), Role::Admin)
        .await
        .text();
    assert!(none.contains("暂无报送"), "{none}");
    let older = h.get("/console?before=1", Role::Admin).await.text();
    assert!(older.contains("暂无报送"), "{older}");
}

/// The lists that name whom departments checked and which systems hold tokens are sensitive
/// reads in the console as in the API: each view leaves an entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_lists_of_checks_batches_and_tokens_are_audited() {
    let h = harness();
    let count = |action: &str| {
        tokio::task::block_in_place(|| {
            h.state.platform.audit_search(&store::AuditQuery {
                action: Some(action.into()),
                limit: 50,
                ..Default::default()
            })
        })
        .unwrap()
        .len()
    };
    for (uri, role, action) in [
        ("/console/checks", Role::Handling, "check.list"),
        ("/console/batches", Role::Handling, "batch.list"),
        ("/console/tokens", Role::Admin, "token.list"),
        ("/api/v1/tokens", Role::Admin, "token.list"),
    ] {
        let before = count(action);
        let r = h.get(uri, role).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(count(action), before + 1, "{uri}");
    }
}

/// A new password may not be one of the last five: switching away and back would undo the
/// periodic change (GB/T 22239-2019 8.1.4.1 a).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_used_lately_is_not_taken_again() {
    for h in [harness(), pg_harness().await] {
        let created = h.new_account("lisi", Role::Reviewer);
        let r = h
            .send(
                h.request(Method::POST, "/console/login", Role::Public, Via::Session)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::COOKIE, "xy_login=t")
                    .body(Body::from(format!(
                        "login_csrf=t&username=lisi&password={}",
                        urlencode(&created.initial_password)
                    )))
                    .unwrap(),
            )
            .await;
        let session = |reply: &Reply| {
            reply.headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("xy_session=")
                .to_string()
        };
        let mut secret = session(&r);
        let mut current = created.initial_password.clone();
        // Away to one password and another, then back to the first: refused, with why.
        for (new, taken) in [
            ("Qz7!kWm2pLx", true),
            ("Rt5#vNq8sHy", true),
            ("Qz7!kWm2pLx", false),
            (created.initial_password.as_str(), false),
        ] {
            let csrf = auth::csrf_token(&h.state.keys, &secret);
            let r = h
                .send(
                    axum::http::Request::builder()
                        .method(Method::POST)
                        .uri("/console/password")
                        .header("host", "localhost")
                        .header(header::COOKIE, format!("xy_session={secret}"))
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(format!(
                            "csrf={csrf}&current={}&new={}&repeat={}",
                            urlencode(&current),
                            urlencode(new),
                            urlencode(new)
                        )))
                        .unwrap(),
                )
                .await;
            if taken {
                assert_eq!(r.status, StatusCode::OK, "{}: {}", h.ts.name, r.text());
                secret = session(&r);
                current = new.to_string();
            } else {
                assert!(
                    r.text().contains("新密码不能与最近5次使用过的密码相同"),
                    "{}: {new}: {}",
                    h.ts.name,
                    r.text()
                );
            }
        }
    }
}
