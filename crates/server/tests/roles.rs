//! Every endpoint called as every role: allowed roles get through, the public gets 401, other
//! roles 403. The table the server enforces is the one tested here.

mod common;

use auth::Role;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use common::*;

fn fill(path: &str, h: &Harness) -> String {
    path.replace("{code}", &h.org)
        .replace("{id}", "999999")
        .replace("{aid}", "1")
        .replace("{file}", "penalties.csv")
}

fn body_for(
    h: &Harness,
    ep: &server::Endpoint,
    role: Role,
) -> (String, Option<&'static str>, Body) {
    let path = fill(ep.path, h);
    if ep.method != Method::POST {
        return (path, None, Body::empty());
    }
    let csrf = h
        .sessions
        .get(&role)
        .map(|s| s.1.clone())
        .unwrap_or_default();
    let form = |fields: &str| Body::from(format!("csrf={csrf}&{fields}"));
    match ep.path {
        "/api/v1/submissions" => (
            format!("{path}?class={}", urlencode("行政处罚")),
            Some("text/csv"),
            Body::from(penalty_csv(&[(
                "盐城市某公司",
                "法人及非法人组织",
                "91320900MA1MB4X50R",
                "盐环罚〔2026〕77号",
            )])),
        ),
        "/api/v1/accounts" => (
            path,
            Some("application/json"),
            Body::from(format!(
                r#"{{"username":"new-{role}","display_name":"新用户","role":"handling","unit":"盐城市行政审批局"}}"#
            )),
        ),
        "/api/v1/tokens" => (
            path,
            Some("application/json"),
            Body::from(r#"{"name":"x","role":"handling","unit":"盐城市行政审批局","days":1}"#),
        ),
        p if p.starts_with("/api/") && p.ends_with("/withdraw") => (
            path,
            Some("application/json"),
            Body::from(r#"{"reason":"测试"}"#),
        ),
        p if p.starts_with("/api/") => (path, Some("application/json"), Body::from("{}")),
        "/console/login" => (
            path,
            Some("application/x-www-form-urlencoded"),
            Body::from("username=nobody&password=wrong&login_csrf=matrix"),
        ),
        "/console/password" => (
            path,
            Some("application/x-www-form-urlencoded"),
            form("current=x&new=y&repeat=y"),
        ),
        "/console/accounts" => (
            path,
            Some("application/x-www-form-urlencoded"),
            form(&format!(
                "username=c-{role}&display_name=x&role=handling&unit=盐城市行政审批局"
            )),
        ),
        "/console/tokens" => (
            path,
            Some("application/x-www-form-urlencoded"),
            form("name=x&role=handling&unit=盐城市行政审批局&days=1"),
        ),
        "/console/submissions" => {
            let b = "XyBoundary";
            let csv = penalty_csv(&[(
                "盐城市某公司",
                "法人及非法人组织",
                "91320900MA1MB4X50R",
                "盐环罚〔2026〕78号",
            )]);
            let body = format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"class\"\r\n\r\n行政处罚\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
            );
            (
                path,
                Some("multipart/form-data; boundary=XyBoundary"),
                Body::from(body),
            )
        }
        p if p.ends_with("/withdraw") => (
            path,
            Some("application/x-www-form-urlencoded"),
            form("reason=test"),
        ),
        _ => (path, Some("application/x-www-form-urlencoded"), form("")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_as_every_role() {
    let h = harness();
    let mut endpoints = h.state.endpoints.clone();
    // Logging out ends the session the other console calls use: do it last.
    endpoints.sort_by_key(|e| e.path == "/console/logout");
    assert!(
        endpoints.len() >= 40,
        "only {} endpoints in the table",
        endpoints.len()
    );
    let mut failures = Vec::new();
    for ep in &endpoints {
        for role in auth::ALL_ROLES {
            let (uri, ct, body) = body_for(&h, ep, role);
            let via = if ep.console { Via::Session } else { Via::Token };
            let mut b = h.request(ep.method.clone(), &uri, role, via);
            if let Some(ct) = ct {
                b = b.header(header::CONTENT_TYPE, ct);
            }
            // The login form's token, as its page sets it.
            if ep.path == "/console/login" {
                b = b.header(header::COOKIE, "xy_login=matrix");
            }
            let r = h.send(b.body(body).unwrap()).await;
            let allowed = ep.roles.contains(&role);
            let ok = if allowed {
                r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN
            } else if role == Role::Public {
                r.status == StatusCode::UNAUTHORIZED
            } else {
                r.status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {role}: {} (allowed: {allowed}) {}",
                    ep.method,
                    ep.path,
                    r.status,
                    r.text()
                        .replace('\n', " ")
                        .chars()
                        .rev()
                        .take(200)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} calls answered wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denials_are_audited() {
    let h = harness();
    let r = h.get("/api/v1/accounts", Role::Reporter).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let rows = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("access.denied".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(
        rows.iter()
            .any(|e| e.entry.actor.starts_with("token:") && e.entry.outcome == "denied:forbidden")
    );
    // An unknown (or revoked) token is refused and in the trail, by route and public prefix.
    let r = h
        .send_as(
            "xy_0000000000000000000000000000000000000000",
            Method::GET,
            "/api/v1/audit",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let refused = h.trail("auth.refused", "GET /api/v1/audit");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].entry.detail.as_deref(), Some("token=xy_000000…"));
    // Another unit's submission, answered 404 so as not to say it exists, is a refusal too.
    let other = h.token_for(Role::Reporter, "盐城市市场监督管理局");
    let r = h
        .send_as(&other, Method::GET, "/api/v1/submissions/1", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let probed = h.trail("access.denied", "GET /api/v1/submissions/{id}");
    assert!(
        probed.iter().any(|e| e.entry.outcome == "denied:not_found"),
        "{probed:?}"
    );
    // A revoked token replayed behind a flood of junk ones is still in the trail, by its id.
    let made = h
        .send(
            h.request(Method::POST, "/api/v1/tokens", Role::Admin, Via::Token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"name":"旧系统","role":"handling","unit":"盐城市行政审批局","days":1}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let (id, secret) = (
        made.json()["token_id"].as_i64().unwrap(),
        made.json()["token"].as_str().unwrap().to_string(),
    );
    let r = h
        .send(
            h.request(
                Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                Role::Admin,
                Via::Token,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    for i in 0..12 {
        let junk = format!("xy_{:040x}", i + 1);
        h.send_as(&junk, Method::GET, "/api/v1/checks", None).await;
    }
    let r = h
        .send_as(&secret, Method::GET, "/api/v1/checks", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The revoked token's use is found by the token (the route in the detail); the junk by
    // the route.
    let mine = "GET /api/v1/checks：令牌已撤销、已过期或已失效";
    let replayed = h.trail("auth.refused", &format!("token:{id}"));
    assert!(
        replayed.len() == 1 && replayed[0].entry.detail.as_deref() == Some(mine),
        "{replayed:?}"
    );
    let junk = h.trail("auth.refused", "GET /api/v1/checks");
    assert!(junk.len() < 13, "junk is capped: {}", junk.len());
    // Replayed again and again, it has a quota of its own too.
    for _ in 0..20 {
        h.send_as(&secret, Method::GET, "/api/v1/checks", None)
            .await;
    }
    let n = h.trail("auth.refused", &format!("token:{id}")).len();
    assert!((1..=10).contains(&n), "{n}");
    // The same through the console: another unit's submission, asked for by this unit's
    // reporter.
    let theirs = tokio::task::block_in_place(|| {
        import_csv(
            &h.state,
            "盐城市市场监督管理局",
            "行政处罚",
            &penalty_csv(&[(
                "某公司",
                "法人及非法人组织",
                "91320900MA1MB4X50R",
                "盐市监罚〔2026〕1号",
            )]),
        )
    });
    let id = theirs.submission_id.unwrap();
    let r = h
        .get(&format!("/console/submissions/{id}"), Role::Reporter)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(
        !h.trail("access.denied", "GET /console/submissions/{id}")
            .is_empty(),
        "a console 404 that hid another's submission is not in the trail"
    );
    // Withdrawing another unit's submission is refused the same way.
    let r = h
        .send_as(
            &other,
            Method::POST,
            "/api/v1/submissions/1/withdraw",
            Some(serde_json::json!({"reason": "误报"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(
        !h.trail("access.denied", "POST /api/v1/submissions/{id}/withdraw")
            .is_empty()
    );
    // A lookup that simply finds nothing is not a refusal.
    let r = h
        .send_as(&other, Method::GET, "/api/v1/submissions/999999", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.trail("access.denied", "GET /api/v1/submissions/{id}")
            .len(),
        probed.len()
    );
}

/// A monitoring system (Prometheus) reads the metrics with a token of its own and reaches
/// nothing else, the provincial exchange system the sharing feed; they are systems, so they
/// have no console account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systems_have_tokens_that_reach_their_one_endpoint() {
    let h = harness();
    let post = |uri: &'static str, body: &'static str| {
        h.request(Method::POST, uri, Role::Admin, Via::Token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let made = h
        .send(post(
            "/api/v1/tokens",
            r#"{"name":"Prometheus","role":"monitor","days":30}"#,
        ))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let secret = made.json()["token"].as_str().unwrap().to_string();
    let r = h.send_as(&secret, Method::GET, "/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("xinyong_"), "{}", r.text());
    for uri in [
        "/api/v1/alerts",
        "/api/v1/accounts",
        "/api/v1/joint/stats",
        "/api/v1/audit",
    ] {
        let r = h.send_as(&secret, Method::GET, uri, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
    }
    let r = h
        .send(post(
            "/api/v1/accounts",
            r#"{"username":"prometheus","display_name":"监控系统","role":"monitor"}"#,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("接口令牌"), "{}", r.text());
    // The console offers the role for tokens, not for accounts.
    let tokens = h.get("/console/tokens", Role::Admin).await.text();
    let accounts = h.get("/console/accounts", Role::Admin).await.text();
    // The provincial exchange system likewise: the sharing feed, nothing else.
    let made = h
        .send(post(
            "/api/v1/tokens",
            r#"{"name":"省平台交换","role":"exchange","days":30}"#,
        ))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let exchange = made.json()["token"].as_str().unwrap().to_string();
    let r = h
        .send_as(&exchange, Method::GET, "/api/v1/sharing/feed", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for uri in ["/metrics", "/api/v1/alerts", "/api/v1/accounts"] {
        let r = h.send_as(&exchange, Method::GET, uri, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
    }
    let r = h
        .send_as(&secret, Method::GET, "/api/v1/sharing/feed", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A system's token belongs to no unit.
    let r = h
        .send(post(
            "/api/v1/tokens",
            r#"{"name":"x","role":"exchange","unit":"盐城市生态环境局","days":1}"#,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let option = r#"<option value="monitor">"#;
    assert!(tokens.contains(option), "{tokens}");
    assert!(!accounts.contains(option), "{accounts}");
}

/// A token the platform issued that has expired or been revoked is refused saying so, so that
/// its system's operators know to ask for a new one; a string the platform never issued is told
/// nothing more than that it is no valid token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_token_is_told_why_and_an_unknown_one_is_not() {
    use domain::clock::Clock;
    let h = harness();
    let issue = |name: &'static str| {
        let h = &h;
        async move {
            let made = h
                .send(
                    h.request(Method::POST, "/api/v1/tokens", Role::Admin, Via::Token)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(format!(
                            r#"{{"name":"{name}","role":"handling","unit":"盐城市行政审批局","days":1}}"#
                        )))
                        .unwrap(),
                )
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
            (
                made.json()["token_id"].as_i64().unwrap(),
                made.json()["token"].as_str().unwrap().to_string(),
            )
        }
    };
    let message = |r: &Reply| r.json()["error"]["message"].as_str().unwrap().to_string();
    let (revoked_id, revoked) = issue("旧系统").await;
    let (_, expiring) = issue("到期系统").await;
    // The client crate's example shows a token as the platform issues them.
    let doc = include_str!("../../client/src/lib.rs");
    let shown = doc
        .split("Client::new(")
        .nth(1)
        .and_then(|s| s.split('"').nth(3))
        .unwrap_or_default();
    assert_eq!(
        shown.get(..3),
        expiring.get(..3),
        "the client's example: {shown}"
    );
    let r = h
        .send_as(&expiring, Method::GET, "/api/v1/alerts", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = h
        .send(
            h.request(
                Method::DELETE,
                &format!("/api/v1/tokens/{revoked_id}"),
                Role::Admin,
                Via::Token,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = h
        .send_as(&revoked, Method::GET, "/api/v1/alerts", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&r), "令牌已撤销，请联系信用办重新签发");
    assert_eq!(r.json()["error"]["code"], "unauthenticated");
    h.clock.set(h.clock.now() + chrono::Duration::days(2));
    let r = h
        .send_as(&expiring, Method::GET, "/api/v1/alerts", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&r), "令牌已过期，请联系信用办重新签发");
    // Never issued (of our form or not): nothing said about it.
    for junk in [
        "xy_0000000000000000000000000000000000000000".to_string(),
        "something-else".to_string(),
    ] {
        let r = h.send_as(&junk, Method::GET, "/api/v1/alerts", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(message(&r), "需要登录或有效的接口令牌", "{junk}");
    }
}
