//! Joint reward and punishment through the real service: checks against the measures in
//! `data/measures.toml` for every effect, legal representatives, delisting, exceptions, batch
//! review accounting for every line, signed alerts to a webhook receiver that fails twice.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth::Role;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use common::*;
use domain::clock::Clock;
use serde_json::{Value, json};

struct Subjects {
    /// On the serious-dishonesty list.
    a: String,
    /// Its legal representative (person p) is on the court's list of judgment defaulters.
    b: String,
    /// On the red list.
    c: String,
    /// On the focus list.
    d: String,
    /// Registered, on no list.
    e: String,
    /// Registered, listed later in the test.
    f: String,
    p: String,
}

fn uscc(n: u8) -> String {
    let org = format!("MA1Y{n:04}");
    let check = domain::ids::org_code_check(org.as_bytes()).unwrap();
    let body = format!("91320900{org}{check}");
    let c = domain::ids::uscc_check_char(body.as_bytes());
    format!("{body}{c}")
}

fn ric(seq: u16) -> String {
    let body = format!("32090219800101{seq:03}");
    let c = domain::ids::ric_check_char(body.as_bytes());
    format!("{body}{c}")
}

/// The list index reads what changed (the store's blocking client leaves the async worker).
fn refresh(h: &Harness) {
    tokio::task::block_in_place(|| {
        h.state
            .lists
            .refresh(&h.state.store, &h.state.platform, &h.state.rules)
            .unwrap()
    });
}

fn import(h: &Harness, unit: &str, class: &str, csv: &str) -> ingest::ImportSummary {
    tokio::task::block_in_place(|| import_now(h, unit, class, csv))
}

fn import_now(h: &Harness, unit: &str, class: &str, csv: &str) -> ingest::ImportSummary {
    // Each submission a moment after the last, as in life: the indexes read what changed
    // strictly after the newest change they have seen.
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    import_csv(&h.state, unit, class, csv)
}

/// The court lists person 王某 (`id`) as a judgment defaulter under case `case_no`.
fn court_lists(h: &Harness, id: &str, case_no: &str) {
    let court = format!(
        "SX_XDR_MC,SX_XDR_LB,SX_XDR_ZJLX,SX_XDR_ZJHM,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ\n\
         王某,自然人,身份证,{id},{case_no},盐城市亭湖区人民法院,（2025）苏0902民初3号,给付货款5万元,全部未履行,有履行能力而拒不履行,2026-05-05,2026-06-01\n"
    );
    let s = import(
        h,
        "盐城市亭湖区人民法院",
        "司法裁判及执行（失信被执行人）",
        &court,
    );
    assert_eq!(s.accepted, 1, "{s:?}");
}

fn list_csv(rows: &[(&str, &str, &str, &str)], valid_to: &str) -> String {
    // (name, uscc, decision no, reason)
    let mut s = String::from(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n",
    );
    for (name, code, no, why) in rows {
        s.push_str(&format!("{name},法人及非法人组织,{code},名单,{no},{why},《社会信用体系建设有关规定》,{UNIT},2026-03-01,{valid_to}\n"));
    }
    s
}

fn city(h: &Harness) -> Subjects {
    let x = Subjects {
        a: uscc(1),
        b: uscc(2),
        c: uscc(3),
        d: uscc(4),
        e: uscc(5),
        f: uscc(6),
        p: ric(7),
    };
    let mut dj =
        String::from("DJ_MC,DJ_SHXYM,DJ_ZTLX,DJ_FRDB,DJ_FR_ZJHM,DJ_CLRQ,DJ_DJJG,DJ_DJZT\n");
    for (name, code, rep_id) in [
        ("盐城市甲严重失信有限公司", &x.a, ""),
        ("盐城市乙建设工程有限公司", &x.b, x.p.as_str()),
        ("盐城市丙守信科技有限公司", &x.c, ""),
        ("盐城市丁重点关注有限公司", &x.d, ""),
        ("盐城市戊清白贸易有限公司", &x.e, ""),
        ("盐城市己后来列入有限公司", &x.f, ""),
    ] {
        dj.push_str(&format!(
            "{name},{code},企业,王某,{rep_id},2015-05-05,盐城市市场监督管理局,存续\n"
        ));
    }
    let s = import(h, "盐城市市场监督管理局", "登记注册基本信息", &dj);
    assert_eq!(s.accepted, 6, "{s:?}");
    let s = import(
        h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市甲严重失信有限公司",
                &x.a,
                "盐环信〔2026〕1号",
                "拒不履行行政处罚决定",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    let s = import(
        h,
        UNIT,
        "守信激励（红）名单",
        &list_csv(
            &[(
                "盐城市丙守信科技有限公司",
                &x.c,
                "盐环信〔2026〕2号",
                "连续三年环保信用评价为绿色",
            )],
            "2027-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    let s = import(
        h,
        UNIT,
        "重点关注名单",
        &list_csv(
            &[(
                "盐城市丁重点关注有限公司",
                &x.d,
                "盐环信〔2026〕3号",
                "一年内两次超标排放",
            )],
            "2027-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    let court = format!(
        "SX_XDR_MC,SX_XDR_LB,SX_XDR_ZJLX,SX_XDR_ZJHM,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ\n\
         王某,自然人,身份证,{},（2026）苏0902执100号,盐城市亭湖区人民法院,（2025）苏0902民初1号,给付货款10万元,全部未履行,有履行能力而拒不履行,2026-01-05,2026-02-01\n",
        x.p
    );
    let s = import(
        h,
        "盐城市亭湖区人民法院",
        "司法裁判及执行（失信被执行人）",
        &court,
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(h);
    tokio::task::block_in_place(|| h.state.search.refresh(&h.state.store).unwrap());
    x
}

async fn check(h: &Harness, role: Role, code: &str, matter: &str) -> (StatusCode, Value) {
    let r = h
        .post_json(
            "/api/v1/checks",
            role,
            json!({"code": code, "matter": matter}),
        )
        .await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// A list action writes its audit entry before it commits, and an exception in its own
/// transaction: when the trail cannot take it, nothing changes and the answer is 503; when it
/// can, one entry says it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_action_or_exception_does_not_stand_without_its_audit_entry() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let versions = || {
        tokio::task::block_in_place(|| h.state.store.record(&id))
            .unwrap()
            .unwrap()
            .1
            .versions
            .len()
    };
    let before = versions();
    let uri = format!("/api/v1/lists/{id}/actions");
    // Another unit's officer may see the entry (it is public) but not act on it: 403, naming
    // the unit that may.
    let other = h.token_for(Role::Deciding, OTHER_UNIT);
    let r = h
        .send_as(
            &other,
            Method::POST,
            &uri,
            Some(json!({"action": "rectify", "deadline": "2026-09-30", "reason": "试图整改"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("只有认定单位"), "{}", r.text());
    let act = || {
        h.clock
            .set(h.clock.now() + chrono::Duration::milliseconds(10));
        h.post_json(
            &uri,
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-09-30", "reason": "约谈并责令限期整改"}),
        )
    };
    h.block_audit(true);
    let r = act().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("未作任何更改"), "{}", r.text());
    assert_eq!(versions(), before, "a list action stood without its entry");
    h.block_audit(false);
    let r = act().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(versions(), before + 1);
    // The same deadline with the same words again (a form sent twice) is already recorded: no
    // second version, and the answer says so.
    let r = act().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("未重复记录"), "{}", r.text());
    assert_eq!(versions(), before + 1);
    // (Newest first: the repeat, the action, the other unit's refused attempt.)
    assert_eq!(h.outcomes("list.action", &id), ["ok", "ok", "failed"]);
    let exceptions = || {
        tokio::task::block_in_place(|| h.state.platform.exceptions(None))
            .unwrap()
            .len()
    };
    let mark = || {
        h.post_json(
            "/api/v1/exceptions",
            Role::Handling,
            json!({"code": x.a, "matter": "ZFCG", "record_id": id, "reason": "同名不同主体"}),
        )
    };
    let before = exceptions();
    h.block_audit(true);
    let r = mark().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(exceptions(), before, "an exception stood without its entry");
    h.block_audit(false);
    let r = mark().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(exceptions(), before + 1);
    let first = r.json()["exception_id"].as_i64().unwrap();
    let made = h.trail("exception.create", &id);
    assert_eq!(made.len(), 1, "{made:?}");
    // The same mark again (a retry) is the exception already in force, not a second one that
    // would outlive the first's revocation.
    let r = mark().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["exception_id"].as_i64(), Some(first));
    assert_eq!(exceptions(), before + 1);
    assert_eq!(h.outcomes("exception.create", &id), ["unchanged", "ok"]);
    assert!(
        made[0]
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("matter=ZFCG")),
        "{made:?}"
    );
    // Feedback on the check, likewise.
    let check_id = v["check_id"].as_i64().unwrap();
    let feedback_uri = format!("/api/v1/checks/{check_id}/feedback");
    let give = || {
        h.post_json(
            &feedback_uri,
            Role::Handling,
            json!({"outcome": "not_applicable", "reason": "同名不同主体"}),
        )
    };
    let stored = || tokio::task::block_in_place(|| h.state.platform.feedback(check_id)).unwrap();
    h.block_audit(true);
    let r = give().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(stored().is_none(), "feedback stood without its entry");
    h.block_audit(false);
    assert_eq!(give().await.status, StatusCode::OK);
    assert!(stored().is_some());
    // The same feedback again (a retry) is entered as such.
    assert_eq!(give().await.status, StatusCode::OK);
    assert_eq!(
        h.outcomes("check.feedback", &format!("check:{check_id}")),
        ["unchanged", "ok"]
    );
    // A check the role may not make at all (a bank's, for procurement) is refused in the trail.
    let r = h
        .post_json(
            "/api/v1/checks",
            Role::Financial,
            json!({"code": x.a, "matter": "ZFCG"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let refused = h.trail("check.create", "");
    assert!(
        refused.iter().any(|a| a.entry.outcome == "denied"
            && a.entry
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("matter=ZFCG"))),
        "{refused:?}"
    );
}

fn measure_ids(v: &Value) -> Vec<String> {
    v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_effect_of_the_measure_list_and_a_delisting() {
    every_effect_and_a_delisting(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_effect_of_the_measure_list_and_a_delisting_on_postgres() {
    let h = pg_harness().await;
    every_effect_and_a_delisting(h).await;
}

async fn every_effect_and_a_delisting(h: Harness) {
    let x = city(&h);
    let cases: &[(&str, &str, &str, &str)] = &[
        // (code, matter, verdict, a measure that must apply)
        (&x.a, "ZFCG", "forbid", "CJ-ZFCG-01"),
        (&x.a, "政府采购", "forbid", "CJ-ZFCG-01"),
        (&x.a, "XZXK", "restrict", "CJ-XZXK-01"),
        (&x.a, "GZCN", "restrict", "CJ-GZCN-01"),
        (&x.a, "RCJG", "supervise", "CJ-RCJG-01"),
        (&x.a, "JRSX", "restrict", "CJ-JRSX-01"),
        (&x.d, "XZXK", "review", "CJ-XZXK-02"),
        (&x.d, "RCJG", "supervise", "CJ-RCJG-01"),
        (&x.c, "PYPX", "incentive", "JL-PYPX-01"),
        (&x.c, "XZXK", "incentive", "JL-XZXK-01"),
        (&x.c, "RCJG", "incentive", "JL-RCJG-01"),
        (&x.b, "ZFCG", "review", "CJ-FR-01"),
        // Notify-and-commit approval is not for an organisation whose representative is
        // listed: the ordinary procedure, as for a subject on a list itself.
        (&x.b, "GZCN", "restrict", "CJ-FR-04"),
        (&x.b, "XZXK", "review", "CJ-FR-01"),
        (&x.p, "FDDB", "forbid", "CJ-FDDB-01"),
        // A person bidding (科研项目) is checked as a bidder: a judgment defaulter is restricted.
        (&x.p, "ZTB", "restrict", "CJ-ZTB-01"),
        (&x.p, "XZXK", "review", "CJ-XZXK-02"),
    ];
    for (code, matter, verdict, measure) in cases {
        let (st, v) = check(&h, Role::Handling, code, matter).await;
        assert_eq!(st, StatusCode::OK, "{code} {matter}: {v}");
        assert_eq!(v["verdict"], *verdict, "{code} {matter}: {v}");
        assert!(
            measure_ids(&v).iter().any(|m| m == measure),
            "{code} {matter}: {v}"
        );
        assert!(v["check_id"].as_i64().unwrap() > 0);
        for m in v["measures"].as_array().unwrap() {
            assert!(
                !m["basis"].as_str().unwrap().is_empty() && !m["body"].as_str().unwrap().is_empty()
            );
        }
    }
    // A judgment defaulter is not told it is on the focus list.
    let (_, v) = check(&h, Role::Handling, &x.p, "XZXK").await;
    let name = v["measures"][0]["name"].as_str().unwrap();
    assert!(name.contains("失信被执行人"), "{v}");
    // The legal representative's entry is named as such; the organisation's own matters that do
    // not look at the representative are clear.
    let (_, v) = check(&h, Role::Handling, &x.b, "ZFCG").await;
    assert_eq!(v["entries"][0]["via"], "legal_rep");
    assert_eq!(v["entries"][0]["decision_no"], "（2026）苏0902执100号");
    assert_eq!(
        check(&h, Role::Handling, &x.b, "SSYH").await.1["verdict"],
        "clear"
    );
    // A clean, registered subject; its name is known.
    let (_, v) = check(&h, Role::Handling, &x.e, "ZFCG").await;
    assert_eq!(v["verdict"], "clear");
    assert_eq!(v["subject"]["known"], true);
    // Its snippet asks for no feedback: there is none to give.
    let snippet = h
        .get(
            &format!("/api/v1/checks/{}/snippet", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        snippet.contains("无需反馈") && !snippet.contains("请在业务办结后反馈"),
        "{snippet}"
    );
    // Its console page says the same, with no feedback form beside it.
    let page = h
        .get(
            &format!("/console/checks/{}", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        page.contains("无需反馈") && !page.contains("/feedback\""),
        "{page}"
    );
    assert_eq!(v["subject"]["name"], "盐城市戊清白贸易有限公司");
    // A person's ID number never comes back in full.
    let r = h
        .post_json(
            "/api/v1/checks",
            Role::Handling,
            json!({"code": x.p, "matter": "FDDB"}),
        )
        .await;
    assert!(
        !r.text().contains(&x.p)
            && r.text()
                .contains(&format!("{}********{}", &x.p[..6], &x.p[14..]))
    );
    // Errors say what is wrong.
    let (st, v) = check(&h, Role::Handling, "91320900MA1Y00010X", "ZFCG").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("校验码"),
        "{v}"
    );
    let (st, v) = check(&h, Role::Handling, &x.a, "造船").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不在联合奖惩措施清单中")
    );
    let (st, v) = check(&h, Role::Handling, &x.a, "GWYLY").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不适用于法人及非法人组织"),
        "{v}"
    );
    // A bank checks for credit only.
    assert_eq!(
        check(&h, Role::Financial, &x.a, "ZFCG").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        check(&h, Role::Financial, &x.a, "JRSX").await.1["verdict"],
        "restrict"
    );
    // The public and others may not check.
    for role in [Role::Public, Role::Reporter, Role::Subject, Role::Auditor] {
        let st = check(&h, role, &x.a, "ZFCG").await.0;
        assert!(
            st == StatusCode::UNAUTHORIZED || st == StatusCode::FORBIDDEN,
            "{role}: {st}"
        );
    }

    // Feedback against the check id.
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["check_id"].as_i64().unwrap();
    let fb_uri = format!("/api/v1/checks/{id}/feedback");
    let fb = |body: Value| h.post_json(&fb_uri, Role::Handling, body);
    // The credit office sees the check but does not answer for the department.
    let r = h
        .post_json(
            &fb_uri,
            Role::Admin,
            json!({"outcome": "not_applicable", "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("发起该次核查的部门"), "{}", r.text());
    let r = fb(json!({"outcome": "not_applicable"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("须说明理由"));
    let r = fb(json!({"outcome": "applied", "measures": ["CJ-PYPX-01"]})).await;
    assert!(
        r.text().contains("不在该次核查的适用措施中"),
        "{}",
        r.text()
    );
    let body =
        json!({"outcome": "applied", "measures": ["CJ-ZFCG-01"], "reason": "已拒绝其参加本次采购"});
    let r = fb(body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let first = r.json();
    assert_eq!(first["measures"], json!(["CJ-ZFCG-01"]), "{first}");
    // A client retrying after a timeout sends the same feedback: it gets what was stored —
    // also when its system typed the id in lower case, or ticked it twice.
    h.clock.set(h.clock.now() + chrono::Duration::minutes(3));
    let r = fb(body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), first);
    let r = fb(
        json!({"outcome": " Applied", "measures": ["cj-zfcg-01", "CJ-ZFCG-01 "],
        "reason": "已拒绝其参加本次采购"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), first);
    // Other feedback is refused, saying what was recorded.
    let r = fb(json!({"outcome": "applied", "measures": ["CJ-ZFCG-01"]})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.text().contains("已采取措施") && r.text().contains("已拒绝其参加本次采购"),
        "{}",
        r.text()
    );
    let got = h
        .get(&format!("/api/v1/checks/{id}"), Role::Handling)
        .await
        .json();
    assert_eq!(got["feedback"]["outcome"], "applied");
    assert_eq!(got["verdict"], "forbid");
    // The embedded snippet shows the loop closed, no longer asking for feedback.
    let snippet = h
        .get(&format!("/api/v1/checks/{id}/snippet"), Role::Handling)
        .await
        .text();
    assert!(
        snippet.contains("已反馈：已采取措施") && !snippet.contains("请在业务办结后反馈"),
        "{snippet}"
    );
    // The unit's list of checks says which were fed back.
    let list = h.get("/console/checks", Role::Handling).await.text();
    assert!(
        list.contains("已反馈：已采取措施") && list.contains("未反馈"),
        "{list}"
    );
    // "Not applicable" keeps no measure ids, whatever the form sent.
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let other = v["check_id"].as_i64().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/checks/{other}/feedback"),
            Role::Handling,
            json!({"outcome": "not_applicable", "measures": ["CJ-ZFCG-01", "NOT-A-MEASURE"], "reason": "同名不同主体"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["measures"], json!([]), "{}", r.text());
    // The feedback rate is the departments': a check run at the command line (no unit, nobody
    // to answer it) does not lower it.
    let rate = || async {
        let st = h.get("/api/v1/joint/stats", Role::Admin).await.json();
        st["feedback_rate"].as_f64().unwrap()
    };
    let before = rate().await;
    assert!(before > 0.0 && before <= 1.0, "{before}");
    tokio::task::block_in_place(|| {
        let store = &h.state.store;
        let names = |key: &str| store.subject(key).ok().flatten().map(|s| (s.name, s.kind));
        let checker = joint::Checker {
            index: &h.state.lists,
            rules: &h.state.rules,
            keys: &h.state.keys,
            names: &names,
            unit: None,
        };
        let now = h.state.clock.now();
        let r = checker
            .check(&x.a, "ZFCG", h.state.clock.today(), now)
            .unwrap();
        assert_eq!(r.verdict.as_str(), "forbid");
        h.state
            .platform
            .record_checks(&[r.record("cli:operator", None, "query", None)])
            .unwrap();
    });
    assert_eq!(rate().await, before);
    // A bank's check (a principal without a unit, through the service) is owed feedback.
    let (st, v) = check(&h, Role::Financial, &x.a, "JRSX").await;
    assert_eq!(st, StatusCode::OK);
    assert_ne!(v["verdict"], "clear", "{v}");
    assert!(rate().await < before);
    // Every check answered: none waits in the writer's queue.
    let metrics = h.get("/metrics", Role::Auditor).await.text();
    assert!(
        metrics.lines().any(|l| l == "xinyong_checks_queue_depth 0"),
        "{metrics}"
    );
    // Another unit's officer (the bank has none) cannot see it.
    assert_eq!(
        h.get(&format!("/api/v1/checks/{id}"), Role::Financial)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The embeddable verdict.
    let snip = h
        .get(&format!("/api/v1/checks/{id}/snippet"), Role::Handling)
        .await;
    assert_eq!(snip.status, StatusCode::OK);
    // Reading a check again is in the trail.
    for action in ["check.read", "check.snippet"] {
        assert!(
            !h.trail(action, &format!("check:{id}")).is_empty(),
            "{action}"
        );
    }
    let t = snip.text();
    assert!(
        t.contains("禁止") && t.contains("政府采购法") && !t.contains("<script"),
        "{t}"
    );
    // Every check left an audit entry.
    let audited = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("check.create".into()),
            limit: 100,
            ..Default::default()
        })
    })
    .unwrap();
    assert!(audited.len() >= cases.len(), "{}", audited.len());

    // Rectification, then exit: a versioned change each, and the check follows at once.
    let record_id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let act_uri = format!("/api/v1/lists/{record_id}/actions");
    // Each action a moment after the last (the list index reads what changed after the newest
    // change it has seen).
    let act = |body: Value| {
        h.clock
            .set(h.clock.now() + chrono::Duration::milliseconds(10));
        h.post_json(&act_uri, Role::Deciding, body)
    };
    let r =
        act(json!({"action": "rectify", "deadline": "2026-08-31", "reason": "约谈并责令限期整改"}))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["verdict"], "forbid");
    assert_eq!(v["entries"][0]["rectify_by"], "2026-08-31");
    let before_exit = v["check_id"].as_i64().unwrap();
    let r = act(json!({"action": "exit", "reason": ""})).await;
    assert!(r.text().contains("须说明理由"), "{}", r.text());
    // A red-list entry punishes nothing: there is nothing to rectify.
    let (_, red) = check(&h, Role::Handling, &x.c, "PYPX").await;
    let red_id = red["entries"][0]["record_id"].as_str().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/lists/{red_id}/actions"),
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-08-31", "reason": "督促整改"}),
        )
        .await;
    assert!(!r.status.is_success(), "{}", r.text());
    assert!(r.text().contains("不能限期整改"), "{}", r.text());
    let (_, red) = check(&h, Role::Handling, &x.c, "PYPX").await;
    assert_eq!(red["entries"][0]["rectify_by"], Value::Null, "{red}");
    // Only the deciding unit (or the credit office) acts on an entry.
    assert_eq!(
        h.post_json(
            &format!("/api/v1/lists/{record_id}/actions"),
            Role::Handling,
            json!({"action": "exit", "reason": "x"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = act(json!({"action": "exit", "reason": "已整改到位，申请提前移出，经审核同意"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The snippet of a check made before says how its entry left the list, not nothing.
    let text = h
        .get(
            &format!("/api/v1/checks/{before_exit}/snippet"),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        text.contains("所涉名单")
            && text.contains("盐环信〔2026〕1号")
            && text.contains("核查后已移出名单"),
        "{text}"
    );
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["verdict"], "clear", "{v}");
    // A changed resend of the exited entry from its unit does not put it back on the list; the
    // same row again changes nothing either.
    for (why, rejected) in [("拒不履行行政处罚决定。", 1), ("拒不履行行政处罚决定", 0)]
    {
        let s = import(
            &h,
            UNIT,
            "严重失信主体名单",
            &list_csv(
                &[("盐城市甲严重失信有限公司", &x.a, "盐环信〔2026〕1号", why)],
                "2029-03-01",
            ),
        );
        assert_eq!(
            (s.rejected, s.created + s.corrected),
            (rejected, 0),
            "{s:?}"
        );
        if rejected == 1 {
            let d = h
                .get(
                    &format!("/api/v1/submissions/{}", s.submission_id.unwrap()),
                    Role::Reporter,
                )
                .await
                .json();
            let reason = d["rejected_rows"][0]["problems"][0]["reason"].to_string();
            assert!(reason.contains("已提前移出名单，不能再更正"), "{d}");
        }
        refresh(&h);
        let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
        assert_eq!(v["verdict"], "clear", "{v}");
    }
    let r = act(json!({"action": "rectify", "deadline": "2026-09-30", "reason": "x"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("已提前移出名单"), "{}", r.text());
    // The entry's history: listing, rectification, exit, each with who and why.
    let rec = h
        .get(&format!("/api/v1/records/{record_id}"), Role::Deciding)
        .await
        .json();
    let versions = rec["record"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{rec}");
    assert!(
        versions[1]["reason"]
            .as_str()
            .unwrap()
            .contains("整改期限至2026-08-31")
    );
    // Stored as a correction of the entry, shown as what it is.
    assert_eq!(versions[1]["change_label"], "限期整改", "{rec}");
    assert_eq!(versions[0]["change_label"], "新增", "{rec}");
    assert_eq!(versions[2]["change"], "exited");
    // An entry the credit office reported for the unit that decided it (its 认定单位 item):
    // that unit acts on it, though it did not report it.
    let s = import(
        &h,
        "盐城市发展和改革委员会",
        "重点关注名单",
        &list_csv(
            &[(
                "盐城市戊清白贸易有限公司",
                &x.e,
                "盐发改信〔2026〕9号",
                "一年内三次被行政处罚",
            )],
            "2028-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let named = h.state.lists.entries(&x.e)[0].record_id.clone();
    let r = h
        .post_json(
            &format!("/api/v1/lists/{named}/actions"),
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-09-30", "reason": "约谈并责令限期整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Found afterwards to be a wrong listing: revoked although it already left the list.
    let r =
        act(json!({"action": "revoke", "reason": "经复核属错误认定，撤销并消除不良影响"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rec = h
        .get(&format!("/api/v1/records/{record_id}"), Role::Deciding)
        .await
        .json();
    assert_eq!(rec["record"]["versions"][3]["change"], "revoked", "{rec}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_suppresses_a_hit_until_the_entry_changes() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let record_id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let r = h
        .post_json("/api/v1/exceptions", Role::Handling, json!({"code": x.a, "matter": "ZFCG", "record_id": record_id, "reason": "同名不同主体：名单主体为外省同名企业，经办人电话13912345678"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ex = r.json();
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["verdict"], "clear", "{v}");
    assert_eq!(v["suppressed"][0]["exception_id"], ex["exception_id"]);
    // The unit that decided the entry is told, with who set it aside and why (masked).
    let told = h.state.store.messages("unit", UNIT, 20).unwrap();
    assert!(
        told.iter().any(|m| m.title == "名单记录被登记为核查例外"
            && m.body.contains("盐环信〔2026〕1号")
            && m.body.contains("139****5678")),
        "{told:?}"
    );
    // The auditor finds the checks on the company by its code (each is filed under its number).
    let on_a = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            object: Some(x.a.clone()),
            action: Some("check.create".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(on_a.len() >= 2, "{on_a:?}");
    // An officer's words come back masked in every answer, the first too.
    for said in [&ex["reason"], &v["suppressed"][0]["reason"]] {
        let said = said.as_str().unwrap();
        assert!(
            said.contains("139****5678") && !said.contains("13912345678"),
            "{said}"
        );
    }
    // The console names the hit set aside by its list and document number.
    let page = h
        .get(
            &format!("/console/checks/{}", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        page.contains("已按例外处理的命中：严重失信主体名单 盐环信〔2026〕1号")
            && !page.contains(&record_id),
        "{page}"
    );
    let listed = h
        .get(&format!("/api/v1/exceptions?code={}", x.a), Role::Handling)
        .await
        .json();
    assert_eq!(listed[0]["in_effect"], true, "{listed}");
    // The snippet says the hit was there and set aside, and on what ground.
    let text = h
        .get(
            &format!("/api/v1/checks/{}/snippet", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        text.contains("已按例外处理")
            && text.contains("盐环信〔2026〕1号")
            && text.contains(&format!("例外{}：同名不同主体", ex["exception_id"])),
        "{text}"
    );
    // Only for the unit that marked it: another department's check still meets the measure.
    let other = h.token_for(Role::Handling, OTHER_UNIT);
    let r = h
        .send_as(
            &other,
            Method::POST,
            "/api/v1/checks",
            Some(json!({"code": x.a, "matter": "ZFCG"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["verdict"], "forbid", "{}", r.text());
    assert!(r.json()["suppressed"].as_array().unwrap().is_empty());
    // Only for that matter.
    assert_eq!(
        check(&h, Role::Handling, &x.a, "ZTB").await.1["verdict"],
        "restrict"
    );
    // The source unit corrects the entry: the exception no longer covers it.
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市甲严重失信有限公司",
                &x.a,
                "盐环信〔2026〕1号",
                "拒不履行行政处罚决定且逾期未整改",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.accepted, 1);
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["verdict"], "forbid", "{v}");
    assert!(v["suppressed"].as_array().unwrap().is_empty());
    // Nor once the entry is corrected back to the content it was marked on: the exception was
    // for that version. (Line ends of the sheet's other program, so the file is not the first.)
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市甲严重失信有限公司",
                &x.a,
                "盐环信〔2026〕1号",
                "拒不履行行政处罚决定",
            )],
            "2029-03-01",
        )
        .replace('\n', "\r\n"),
    );
    assert_eq!(s.corrected, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["verdict"], "forbid", "{v}");
    assert!(v["suppressed"].as_array().unwrap().is_empty(), "{v}");
    // A reason is required; a record not on the subject is refused.
    let r = h
        .post_json(
            "/api/v1/exceptions",
            Role::Handling,
            json!({"code": x.a, "matter": "ZFCG", "record_id": record_id, "reason": " "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = h
        .post_json(
            "/api/v1/exceptions",
            Role::Handling,
            json!({"code": x.e, "matter": "ZFCG", "record_id": record_id, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let listed = h
        .get(&format!("/api/v1/exceptions?code={}", x.a), Role::Handling)
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Listed, but said to be no longer in effect: its entry changed since it was marked.
    assert_eq!(listed[0]["in_effect"], false, "{listed}");

    // A hit through the legal representative can be marked too.
    let (_, v) = check(&h, Role::Handling, &x.b, "ZFCG").await;
    assert_eq!(v["entries"][0]["via"], "legal_rep");
    let rep_entry = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let r = h
        .post_json("/api/v1/exceptions", Role::Handling, json!({"code": x.b, "matter": "ZFCG", "record_id": rep_entry, "reason": "法定代表人已变更，名单记录为前任"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rep_ex = r.json()["exception_id"].as_i64().unwrap();
    let (_, v) = check(&h, Role::Handling, &x.b, "ZFCG").await;
    assert_eq!(v["verdict"], "clear", "{v}");
    // The court is told whose checks it holds for: the company's, not its representative's own.
    let told = h
        .state
        .store
        .messages("unit", "盐城市亭湖区人民法院", 20)
        .unwrap();
    assert!(
        told.iter().any(|m| m
            .body
            .contains("该例外仅对盐城市乙建设工程有限公司的核查有效")),
        "{told:?}"
    );
    // Another unit's officer may not take it back; the unit that marked it may.
    let revoke = format!("/api/v1/exceptions/{rep_ex}/revoke");
    let other = h.token_for(Role::Handling, "盐城市市场监督管理局");
    let reason = || Some(json!({"reason": "经核实确为该主体"}));
    let r = h.send_as(&other, Method::POST, &revoke, reason()).await;
    // Nor learn that it exists.
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // Nor read it, nor its reason, among the subject's exceptions; its own unit and the credit
    // office do, an ID number in the reason masked. The credit office's own exception every
    // unit sees (it holds for their checks too); only the credit office takes it back.
    let r = h
        .post_json("/api/v1/exceptions", Role::Admin, json!({"code": x.b, "matter": "ZTB", "record_id": rep_entry, "reason": format!("法定代表人已变更（前任{}）", x.p)}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let office_ex = r.json()["exception_id"].as_i64().unwrap();
    let listed = format!("/api/v1/exceptions?code={}", x.b);
    let ids = |v: Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["exception_id"].as_i64().unwrap())
            .collect()
    };
    let r = h.send_as(&other, Method::GET, &listed, None).await;
    assert_eq!(ids(r.json()), vec![office_ex], "{}", r.text());
    assert!(!r.text().contains(&x.p), "{}", r.text());
    let mine = h.get(&listed, Role::Handling).await.json();
    let mut seen = ids(mine.clone());
    seen.sort();
    assert_eq!(seen, vec![rep_ex, office_ex], "{mine}");
    let all = h.get(&listed, Role::Admin).await.text();
    assert!(all.contains("法定代表人已变更，名单记录为前任"), "{all}");
    assert!(!all.contains(&x.p), "{all}");
    let r = h
        .send_as(
            &other,
            Method::POST,
            &format!("/api/v1/exceptions/{office_ex}/revoke"),
            reason(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A revocation says why: without a reason it is refused, and the exception holds.
    let r = h
        .post_json(&revoke, Role::Handling, json!({"reason": "  "}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("撤销理由"), "{}", r.text());
    let (_, v) = check(&h, Role::Handling, &x.b, "ZFCG").await;
    assert_eq!(v["verdict"], "clear", "{v}");
    let r = h
        .post_json(
            &revoke,
            Role::Handling,
            json!({"reason": "经核实确为该主体"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The answer is the exception as it now stands, with who revoked it and why.
    let done = r.json();
    assert_eq!(done["exception_id"], rep_ex, "{done}");
    assert_eq!(done["revoke_reason"], "经核实确为该主体", "{done}");
    assert!(
        done["revoked_at"].is_string() && done["in_effect"] == false,
        "{done}"
    );
    let made = h.trail("exception.revoke", &format!("exception:{rep_ex}"));
    let reasons: Vec<_> = made
        .iter()
        .map(|e| {
            (
                e.entry.outcome.clone(),
                e.entry.detail.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("ok".into(), "reason=经核实确为该主体".into())),
        "{reasons:?}"
    );
    let (_, v) = check(&h, Role::Handling, &x.b, "ZFCG").await;
    assert_ne!(v["verdict"], "clear", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_accounts_for_every_line() {
    let h = harness();
    let x = city(&h);
    let lines = [
        "统一社会信用代码".to_string(),
        x.a.clone(),
        "91320900MA1Y00010X".to_string(),
        x.e.to_lowercase(),
        String::new(),
        x.p.clone(),
        x.a.clone(),
        "不是代码".to_string(),
        x.c.clone(),
    ];
    let body = lines.join("\r\n") + "\r\n";
    let upload = || {
        h.send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=ZFCG&file_name=bidders.csv",
                Role::Handling,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body.clone()))
            .unwrap(),
        )
    };
    let batches = || {
        tokio::task::block_in_place(|| h.state.platform.batches(None, 100))
            .unwrap()
            .len()
    };
    // A list of codes is a CSV or a workbook: a JSON array is refused, not read line by line.
    let r = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=ZFCG",
                Role::Handling,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(format!("[\"{}\"]", x.a)))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    // It says what the endpoint takes, not a list that names the type refused.
    assert!(
        r.text().contains("text/csv") && r.text().contains("不接受application/json"),
        "{}",
        r.text()
    );
    // A batch and its entry stand together: with the trail refusing, no batch is kept.
    h.block_audit(true);
    let r = upload().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(batches(), 0, "a batch stood without its audit entry");
    h.block_audit(false);
    let r = upload().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(batches(), 1);
    let b = r.json();
    // A system whose upload timed out finds the batch in its list (GET answered 405); another
    // unit's list does not show it.
    let listed = h.get("/api/v1/batches", Role::Handling).await.json();
    assert_eq!(listed[0]["batch_id"], b["batch_id"], "{listed}");
    assert_eq!(listed[0]["file_name"], "bidders.csv", "{listed}");
    let before = h
        .get(
            &format!("/api/v1/batches?before={}", b["batch_id"]),
            Role::Handling,
        )
        .await
        .json();
    assert_eq!(before, serde_json::json!([]), "{before}");
    let other = h.token_for(Role::Handling, OTHER_UNIT);
    let theirs = h
        .send_as(&other, Method::GET, "/api/v1/batches", None)
        .await
        .json();
    assert_eq!(theirs, serde_json::json!([]), "{theirs}");
    let made = h.trail("batch.create", &format!("batch:{}", b["batch_id"]));
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(
        made[0]
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("matter=ZFCG rows=8 invalid=3 hits=2")),
        "{made:?}"
    );
    assert_eq!(b["rows_read"], 8, "the header is not a row: {b}");
    assert_eq!(b["invalid"], 3, "{b}");
    assert_eq!(b["duplicates"], 1, "{b}");
    assert_eq!(b["valid"], 4, "{b}");
    assert_eq!(
        b["hits"], 2,
        "measures apply to A (serious list) and P (judgment defaulter): {b}"
    );
    let id = b["batch_id"].as_i64().unwrap();
    let csv = h
        .get(&format!("/api/v1/batches/{id}/result.csv"), Role::Handling)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    // The security auditor reads the batch's figures and signature, not whom it names, nor
    // anyone's repair or objection case.
    for uri in [
        format!("/api/v1/batches/{id}/result.csv"),
        format!("/console/batches/{id}/result.xlsx"),
        "/api/v1/cases".to_string(),
        "/console/cases".to_string(),
    ] {
        assert_eq!(
            h.get(&uri, Role::Auditor).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    assert_eq!(
        h.get(&format!("/api/v1/batches/{id}"), Role::Auditor)
            .await
            .status,
        StatusCode::OK
    );
    let text = csv.text();
    assert!(
        !text.contains(&x.p),
        "the person's ID is masked in the result"
    );
    let mut rd = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    // One result row per input line after the header, in order, with its line number.
    let lines_out: Vec<u64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(lines_out, vec![2, 3, 4, 5, 6, 7, 8, 9]);
    let by_line = |n: u64| {
        rows.iter()
            .find(|r| r[0].parse::<u64>().unwrap() == n)
            .unwrap()
    };
    assert_eq!(&by_line(2)[4], "禁止");
    assert!(by_line(2)[5].contains("不得参加政府采购活动"));
    assert!(by_line(3)[7].contains("校验码"), "{:?}", by_line(3));
    assert_eq!(&by_line(4)[4], "未发现限制");
    assert!(by_line(5)[7].contains("代码为空"));
    assert_eq!(&by_line(6)[3], "有效");
    assert_eq!(&by_line(6)[4], "禁止");
    assert_eq!(&by_line(7)[3], "重复");
    assert!(by_line(7)[7].contains("第2行"));
    assert_eq!(&by_line(7)[4], "禁止");
    assert_eq!(&by_line(8)[3], "无效");
    // The red list carries no measure for procurement.
    assert_eq!(&by_line(9)[4], "未发现限制");
    // For programs: the verdict's code and the measures' ids (only labels and names before).
    assert_eq!(&by_line(2)[8], "forbid", "{:?}", by_line(2));
    assert!(by_line(2)[9].starts_with("CJ-ZFCG-"), "{:?}", by_line(2));
    assert_eq!(&by_line(7)[8], "forbid");
    assert_eq!(&by_line(7)[9], &by_line(2)[9]);
    assert_eq!(&by_line(3)[8], "");
    assert_eq!(&by_line(4)[8], "clear");
    // The workbook says the same, line for line.
    let x_resp = h
        .get(&format!("/api/v1/batches/{id}/result.xlsx"), Role::Handling)
        .await;
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(x_resp.body.clone())).unwrap();
    let sheet = wb.worksheet_range("审查结果").unwrap();
    assert_eq!(sheet.height(), 2 + 8);
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 2;
        for col in [1u32, 3, 4, 5, 7] {
            let cell = sheet
                .get_value((row, col))
                .map(|v| v.to_string())
                .unwrap_or_default();
            assert_eq!(cell, r[col as usize], "row {row} col {col}");
        }
    }
    // Another unit's officer cannot read it; the credit office can sign its own batches.
    assert_eq!(
        h.get(&format!("/api/v1/batches/{id}"), Role::Reporter)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=PYPX&sign=true",
                Role::Admin,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(format!("{}\n{}\n", x.c, x.a)))
            .unwrap(),
        )
        .await;
    let signed = r.json();
    let digest = signed["result_digest"].as_str().unwrap().to_string();
    let sig = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    let result = h
        .get(
            &format!("/api/v1/batches/{}/result.csv", signed["batch_id"]),
            Role::Admin,
        )
        .await;
    assert_eq!(
        crypto::sm3_hex(&result.body),
        digest,
        "the digest names the result file"
    );
    // What is signed names this batch, its matter and the result's SM3, as the batch says.
    let message = signed["signed_message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&format!("批次：{}", signed["batch_id"]))
            && message.contains("事项：PYPX")
            && message.contains(&digest),
        "{message}"
    );
    let again = h
        .get(
            &format!("/api/v1/batches/{}", signed["batch_id"]),
            Role::Admin,
        )
        .await
        .json();
    assert_eq!(again["signed_message"].as_str(), Some(message.as_str()));
    // OpenSSL checks the SM2 signature against the platform's public key, which anyone fetches.
    let key = h.get("/api/v1/platform-key", Role::Public).await;
    assert_eq!(key.status, StatusCode::OK);
    if let Err(e) = testkit::openssl_sm2_verifies(&key.body, message.as_bytes(), &sig) {
        panic!("openssl: {e}");
    }
    // The console gives the same two files to download (it said 已签名 and gave neither), and
    // OpenSSL checks them as they come; the list links them.
    let b = signed["batch_id"].as_i64().unwrap();
    let text = h
        .get(&format!("/console/batches/{b}/signed.txt"), Role::Admin)
        .await;
    let der = h
        .get(&format!("/console/batches/{b}/signature.sig"), Role::Admin)
        .await;
    assert_eq!((text.status, der.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(text.body, message.as_bytes());
    if let Err(e) = testkit::openssl_sm2_verifies(&key.body, &text.body, &der.body) {
        panic!("openssl on the console's files: {e}");
    }
    let list = h.get("/console/batches", Role::Admin).await.text();
    assert!(
        list.contains(&format!("/console/batches/{b}/signature.sig")),
        "{list}"
    );
    // A batch not signed has neither; another unit's officer does not learn of a batch.
    let unsigned = h
        .get(&format!("/console/batches/{id}/signature.sig"), Role::Admin)
        .await;
    assert_eq!(unsigned.status, StatusCode::NOT_FOUND);
    assert_ne!(
        h.get(&format!("/console/batches/{b}/signed.txt"), Role::Reporter)
            .await
            .status,
        StatusCode::OK
    );
    // A handling officer may not sign.
    let r = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=PYPX&sign=true",
                Role::Handling,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(x.c.clone()))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.text().contains("只有市信用办可以对批量审查结果签名"),
        "{}",
        r.text()
    );
    // In the console: the upload goes back to the list, which says the batch is done.
    let b = "XYBOUNDARY";
    let csrf = h.sessions[&Role::Handling].1.clone();
    let r = h
        .send(
            h.request(Method::POST, "/console/batches", Role::Handling, Via::Session)
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
                .body(Body::from(format!(
                    "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
                     --{b}\r\nContent-Disposition: form-data; name=\"matter\"\r\n\r\nZFCG\r\n\
                     --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"codes.csv\"\r\nContent-Type: text/csv\r\n\r\n{}\r\n\
                     --{b}--\r\n",
                    x.c
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/console/batches?done="), "{to}");
    let page = h.get(&to, Role::Handling).await.text();
    assert!(page.contains("批量审查已完成（批次"), "{page}");
    // The courts' entries on the serious list name the judgment number for what it is.
    let page = h.get("/lists/serious", Role::Public).await.text();
    assert!(page.contains("执行依据文号："), "{page}");
}

#[derive(Default)]
struct Receiver {
    hits: AtomicUsize,
    fail_first: AtomicUsize,
    always_fail: std::sync::atomic::AtomicBool,
    /// How long it takes to answer, in milliseconds.
    delay_ms: std::sync::atomic::AtomicU64,
    got: Mutex<Vec<(HeaderMap, Vec<u8>)>>,
    /// When each request came in.
    arrived: Mutex<Vec<std::time::Instant>>,
}

async fn receiver() -> (String, Arc<Receiver>) {
    let r = Arc::new(Receiver::default());
    let state = r.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let s = state.clone();
            async move {
                s.arrived.lock().unwrap().push(std::time::Instant::now());
                let n = s.hits.fetch_add(1, Ordering::SeqCst);
                s.got.lock().unwrap().push((headers, body.to_vec()));
                let delay = s.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                }
                if n < s.fail_first.load(Ordering::SeqCst) || s.always_fail.load(Ordering::SeqCst) {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), r)
}

fn run_jobs(h: &Harness) -> server::jobs::JobsReport {
    // Off the runtime's worker: the receivers' tasks must run while deliveries wait for them.
    tokio::task::block_in_place(|| server::jobs::run_once(&h.state).unwrap())
}

/// A financial institution follows its borrowers (design.md: it receives warnings): it
/// subscribes to organisations — not to persons, whose files it reads only while they authorise
/// it — and its alerts are its own, shown in the console, answered by it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_financial_institution_is_warned_about_the_organisations_it_follows() {
    let h = harness();
    let x = city(&h);
    // Its checks are the institution's: its console lists them (made through its token, read
    // in its session), it answers them; another department does not see them.
    let (status, v) = check(&h, Role::Financial, &x.a, "授信融资").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["check_id"].as_i64().unwrap();
    let page = h.get("/console/checks", Role::Financial).await.text();
    assert!(page.contains(&format!("/console/checks/{id}")), "{page}");
    assert_eq!(
        h.get(&format!("/api/v1/checks/{id}"), Role::Handling)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Financial,
            json!({"codes": [x.f, x.p], "note": "本行贷款客户"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let s = r.json();
    assert_eq!(s["added"], 1, "{s}");
    let refused = s["invalid"][0].as_str().unwrap_or_default();
    assert!(refused.contains("须经本人授权"), "{s}");
    assert!(!refused.contains(&x.p), "a full ID number in {refused}");
    let mine = h.get("/api/v1/subscriptions", Role::Financial).await.json();
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    // Whom an institution watches is a sensitive read: it is in the trail.
    let bank = format!("金融机构:{BANK}");
    let read = h.trail("subscription.list", &bank);
    assert_eq!(
        read.first().and_then(|e| e.entry.detail.as_deref()),
        Some("rows=1"),
        "{read:?}"
    );
    // The handling department has subscribed to nothing: the bank's list is not its.
    let theirs = h.get("/api/v1/subscriptions", Role::Handling).await.json();
    assert_eq!(theirs.as_array().map(Vec::len), Some(0), "{theirs}");
    run_jobs(&h);

    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市己后来列入有限公司",
                &x.f,
                "盐环信〔2026〕19号",
                "伪造监测数据",
            )],
            "2029-06-01",
        ),
    );
    assert_eq!(s.accepted, 1);
    assert_eq!(run_jobs(&h).alerts_made, 1);
    let alerts = h.get("/api/v1/alerts", Role::Financial).await.json();
    assert_eq!(h.trail("alert.list", &bank).len(), 1);
    let a = &alerts[0];
    assert_eq!(
        (a["event"].as_str(), a["delivery"].as_str()),
        (Some("listed"), Some("console")),
        "{alerts}"
    );
    assert_eq!(alerts.as_array().map(Vec::len), Some(1));
    assert!(
        h.get("/api/v1/alerts", Role::Handling)
            .await
            .json()
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let page = h.get("/console/alerts", Role::Financial).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(h.trail("alert.list", &bank).len(), 2);
    // The credit office reads every unit's alerts (and that read is on the trail); the security
    // auditor reads none of them.
    h.get("/api/v1/alerts", Role::Admin).await;
    assert_eq!(h.trail("alert.list", "全部").len(), 1);
    for uri in [
        "/api/v1/alerts",
        "/console/alerts",
        "/api/v1/exceptions?code=x",
        // Which subject asked which bank for credit is business data too.
        "/api/v1/authorisations",
        "/console/authorisations",
    ] {
        assert_eq!(
            h.get(uri, Role::Auditor).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
    }
    assert!(page.text().contains("盐城市己后来列入有限公司"), "console");
    assert!(
        page.text().contains(&format!("金融机构（{BANK}）")) && !page.text().contains("金融机构:"),
        "the institution named as people read it"
    );
    let id = a["alert_id"].as_i64().unwrap();
    let feedback = json!({"outcome": "applied", "reason": "已暂停发放新增贷款"});
    let r = h
        .post_json(
            &format!("/api/v1/alerts/{id}/feedback"),
            Role::Handling,
            feedback.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another's alert");
    let r = h
        .post_json(
            &format!("/api/v1/alerts/{id}/feedback"),
            Role::Financial,
            feedback,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = h
        .post_json(
            "/api/v1/subscriptions/remove",
            Role::Financial,
            json!({"code": x.f}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["action"], "unsubscribe");
    // A retry (the first answer lost on the way) ends the same: not an error, and in the trail.
    let r = h
        .post_json(
            "/api/v1/subscriptions/remove",
            Role::Financial,
            json!({"code": x.f}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["action"], "not_subscribed", "{}", r.text());
    let trail = h.trail("subscription.remove", &x.f);
    assert!(
        trail
            .iter()
            .any(|e| e.entry.detail.as_deref() == Some("not_subscribed")),
        "{trail:?}"
    );
}

/// F (盐城市己后来列入有限公司) put on the serious list by the unit's file.
fn list_f(h: &Harness, x: &Subjects) {
    let s = import(
        h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市己后来列入有限公司",
                &x.f,
                "盐环信〔2026〕9号",
                "伪造监测数据",
            )],
            "2029-06-01",
        ),
    );
    assert_eq!(s.accepted, 1);
}

/// A financial institution is no source unit, but its systems take alerts as a department's
/// do: the credit office sets its receiver under its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_financial_institution_receives_its_alerts_by_webhook() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            webhooks_to_loopback: true,
            ..server::Config::default()
        },
    );
    let x = city(&h);
    let (url, rx) = receiver().await;
    for bad in ["91320900MA3DDFT273", "金融机构:123", "某某银行"] {
        let r = h
            .post_json(
                "/api/v1/webhooks",
                Role::Admin,
                json!({"unit": bad, "url": url}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(r.text().contains("统一社会信用代码"), "{}", r.text());
    }
    let mut secret = String::new();
    for named in [BANK.to_lowercase(), format!("金融机构:{BANK}")] {
        let r = h
            .post_json(
                "/api/v1/webhooks",
                Role::Admin,
                json!({"unit": named, "url": url}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["unit"], format!("金融机构:{BANK}"));
        secret = r.json()["secret"].as_str().unwrap().to_string();
    }
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Financial,
            json!({"codes": [x.f]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    run_jobs(&h);
    list_f(&h, &x);
    let r = run_jobs(&h);
    assert_eq!((r.alerts_made, r.delivered), (1, 1), "{r:?}");
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    let ts: i64 = headers["x-xinyong-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-xinyong-signature"].to_str().unwrap(),
        joint::alerts::signature(&secret, ts, body),
        "signed with the institution's own secret"
    );
    let alerts = h.get("/api/v1/alerts", Role::Financial).await.json();
    assert_eq!(alerts[0]["delivery"], "delivered", "{alerts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_signed_and_retried_until_the_receiver_accepts() {
    // In service a webhook may not point at the platform's own machine, nor at addresses no
    // department has (the cloud metadata service).
    let strict = harness();
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "file:///etc/passwd",
    ] {
        let r = strict
            .post_json(
                "/api/v1/webhooks",
                Role::Admin,
                json!({"unit": UNIT, "url": url}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.text()
        );
    }
    // A name that does not resolve is said at the form, not found at the first alert (.invalid
    // never resolves: RFC 6761).
    let r = strict
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": UNIT, "url": "http://receiver.xinyong.invalid/hook"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("无法解析"), "{}", r.text());
    // The test's receiver listens on this machine.
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            webhooks_to_loopback: true,
            public_url: "https://credit.yancheng.example".into(),
            ..server::Config::default()
        },
    );
    let x = city(&h);
    let (url, rx) = receiver().await;
    rx.fail_first.store(2, Ordering::SeqCst);
    // Named by its short name, the unit's webhook is kept under its own name.
    let short = h.state.rules.units.find(UNIT).unwrap().short.clone();
    let r = h
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": short, "url": url}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["unit"], UNIT);
    let r = h
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": UNIT, "url": url}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let secret = r.json()["secret"].as_str().unwrap().to_string();
    assert_eq!(
        h.post_json(
            "/api/v1/webhooks",
            Role::Handling,
            json!({"unit": UNIT, "url": url})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.f, x.f.to_lowercase(), "123"], "note": "本局许可持证单位"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let s = r.json();
    // The same subject twice in one call is one subject, new.
    assert_eq!(
        (s["added"].as_i64(), s["already"].as_i64()),
        (Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(s["invalid"].as_array().unwrap().len(), 1);
    run_jobs(&h);
    let before = rx.hits.load(Ordering::SeqCst);

    // F is put on the serious list: an alert, refused twice, delivered on the third attempt.
    list_f(&h, &x);
    let t0 = h.clock.now();
    let r1 = run_jobs(&h);
    assert_eq!(r1.alerts_made, 1, "{r1:?}");
    assert_eq!((r1.delivery_attempts, r1.delivered), (1, 0));
    // Nothing is due before the pause ends; running again makes no second alert.
    let again = run_jobs(&h);
    assert_eq!(
        (again.alerts_made, again.delivery_attempts),
        (0, 0),
        "{again:?}"
    );
    // The office sees it being retried, before the retries run out.
    let st = h.get("/api/v1/joint/stats", Role::Admin).await.json();
    assert_eq!(
        (st["alerts_retrying"].as_u64(), st["alerts_failed"].as_u64()),
        (Some(1), Some(0)),
        "{st}"
    );
    h.clock.set(t0 + chrono::Duration::seconds(61));
    assert_eq!(run_jobs(&h).delivered, 0);
    h.clock.set(t0 + chrono::Duration::seconds(61 + 301));
    assert_eq!(run_jobs(&h).delivered, 1);
    assert_eq!(rx.hits.load(Ordering::SeqCst) - before, 3);
    // Each attempt carried the same alert, signed with the unit's secret over time and body.
    let got = rx.got.lock().unwrap().clone();
    for (headers, body) in &got {
        let ts: i64 = headers["x-xinyong-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let sig = headers["x-xinyong-signature"].to_str().unwrap();
        assert_eq!(sig, joint::alerts::signature(&secret, ts, body));
        assert_ne!(sig, joint::alerts::signature("another-secret", ts, body));
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["event"], "listed");
        // Feedback goes to the address departments reach the service at.
        let fb = v["feedback_url"].as_str().unwrap();
        assert!(
            fb.starts_with("https://credit.yancheng.example/api/v1/alerts/")
                && fb.ends_with("/feedback"),
            "{fb}"
        );
        assert!(
            v["subject"]
                .as_str()
                .unwrap()
                .contains("盐城市己后来列入有限公司")
        );
    }
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let a = &alerts[0];
    assert_eq!(
        (a["delivery"].as_str(), a["attempts"].as_i64()),
        (Some("delivered"), Some(3)),
        "{a}"
    );
    let id = a["alert_id"].as_i64().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/alerts/{id}/feedback"),
            Role::Handling,
            json!({"outcome": "applied", "reason": "已暂停其投标资格"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The same answer again (a retry) is taken; another is refused, saying what was recorded.
    let r = h
        .post_json(
            &format!("/api/v1/alerts/{id}/feedback"),
            Role::Handling,
            json!({"outcome": "applied", "reason": "已暂停其投标资格"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["action"], "applied");
    let r = h
        .post_json(
            &format!("/api/v1/alerts/{id}/feedback"),
            Role::Handling,
            json!({"outcome": "applied"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("已暂停其投标资格"), "{}", r.text());

    // A's listing is revoked: a "revoked" alert (not a plain exit). This time the receiver
    // never answers 2xx: after the last pause the alert is marked failed and the console shows
    // it. (A was listed before the unit subscribed: that past listing is not an alert.)
    h.clock.set(h.clock.now() + chrono::Duration::seconds(1));
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.a]}),
        )
        .await;
    assert_eq!(r.json()["added"], 1);
    assert_eq!(run_jobs(&h).alerts_made, 0);
    rx.always_fail.store(true, Ordering::SeqCst);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let rid = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let r = h
        .post_json(
            &format!("/api/v1/lists/{rid}/actions"),
            Role::Deciding,
            json!({"action": "revoke", "reason": "认定决定被行政复议撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut t = h.clock.now();
    let first = run_jobs(&h);
    assert_eq!(first.alerts_made, 1);
    for _ in 0..joint::alerts::BACKOFF.len() {
        t += chrono::Duration::days(2);
        h.clock.set(t);
        run_jobs(&h);
    }
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let exited = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event"] == "revoked")
        .unwrap();
    assert_eq!(exited["delivery"], "failed", "{exited}");
    assert_eq!(
        exited["attempts"].as_i64().unwrap() as usize,
        joint::alerts::BACKOFF.len() + 1
    );
    assert!(exited["last_error"].as_str().unwrap().contains("500"));
    // Back to the day the console session was opened, to read the console.
    let later = h.clock.now();
    h.clock.set(t0);
    let page = h.get("/console/alerts", Role::Handling).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("推送失败"), "{}", page.text());
    // The unit mends its receiver and its address is set again: the failed alert goes out.
    h.clock.set(later);
    rx.always_fail.store(false, Ordering::SeqCst);
    rx.fail_first.store(0, Ordering::SeqCst);
    let r = h
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": UNIT, "url": url}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(run_jobs(&h).delivered, 1);
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let exited = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event"] == "revoked")
        .unwrap();
    assert_eq!(
        (exited["delivery"].as_str(), exited["attempts"].as_i64()),
        (Some("delivered"), Some(1)),
        "{exited}"
    );
    // The office removes the receiver (it could only be replaced): alerts stay in the console.
    let r = h
        .post_json(
            "/api/v1/webhooks/remove",
            Role::Admin,
            json!({"unit": UNIT}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["url"], url.as_str(), "{}", r.text());
    assert!(
        tokio::task::block_in_place(|| h.state.platform.webhook(UNIT))
            .unwrap()
            .is_none()
    );
    assert_eq!(h.trail("webhook.remove", UNIT).len(), 1);
    let again = h
        .post_json(
            "/api/v1/webhooks/remove",
            Role::Admin,
            json!({"unit": UNIT}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert!(again.json()["url"].is_null());
}

/// Two receivers: the unit's (the first alert's, in subscription order) and the financial
/// institution's, each set up; the institution follows F and E, the unit F. Then F and E are
/// listed: one alert to the unit's receiver, two to the institution's.
async fn two_receivers(h: &Harness) -> (Arc<Receiver>, Arc<Receiver>, String) {
    let x = city(h);
    let (unit_url, unit_rx) = receiver().await;
    let (bank_url, bank_rx) = receiver().await;
    for (unit, url) in [(UNIT.to_string(), &unit_url), (BANK.to_string(), &bank_url)] {
        let r = h
            .post_json(
                "/api/v1/webhooks",
                Role::Admin,
                json!({"unit": unit, "url": url}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let bank_secret = h
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": BANK, "url": bank_url}),
        )
        .await
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    for (role, codes) in [
        (Role::Handling, json!([x.f])),
        (Role::Financial, json!([x.f, x.e])),
    ] {
        let r = h
            .post_json("/api/v1/subscriptions", role, json!({ "codes": codes }))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    run_jobs(h);
    let s = import(
        h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[
                (
                    "盐城市己后来列入有限公司",
                    &x.f,
                    "盐环信〔2026〕9号",
                    "伪造监测数据",
                ),
                (
                    "盐城市戊清白贸易有限公司",
                    &x.e,
                    "盐环信〔2026〕10号",
                    "伪造监测数据",
                ),
            ],
            "2029-06-01",
        ),
    );
    assert_eq!(s.accepted, 2);
    (unit_rx, bank_rx, bank_secret)
}

/// A receiver that does not answer holds only itself: the other receiver's alerts go out while
/// it is waited for, each request stamped (and signed) as it is sent; the one that timed out
/// failed in Chinese and gets the same alert again (at least once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_holds_only_itself() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            webhooks_to_loopback: true,
            webhook_timeout: std::time::Duration::from_secs(2),
            ..server::Config::default()
        },
    );
    let (slow, fast, secret) = two_receivers(&h).await;
    slow.delay_ms.store(5000, Ordering::SeqCst);
    fast.delay_ms.store(1200, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let r = run_jobs(&h);
    assert_eq!(
        (r.alerts_made, r.delivery_attempts, r.delivered),
        (3, 3, 2),
        "{r:?}"
    );
    // The institution's first alert went out at once, not after the unit's 2 s timeout.
    let first = fast.arrived.lock().unwrap()[0] - started;
    assert!(first < std::time::Duration::from_millis(1500), "{first:?}");
    // Stamped when sent: the second request a second and more after the first.
    let got = fast.got.lock().unwrap().clone();
    let stamps: Vec<i64> = got
        .iter()
        .map(|(h, _)| h["x-xinyong-timestamp"].to_str().unwrap().parse().unwrap())
        .collect();
    assert!(stamps[1] > stamps[0], "{stamps:?}");
    for ((headers, body), ts) in got.iter().zip(&stamps) {
        assert_eq!(
            headers["x-xinyong-signature"].to_str().unwrap(),
            joint::alerts::signature(&secret, *ts, body)
        );
    }
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let a = &alerts[0];
    assert_eq!(
        (
            a["delivery"].as_str(),
            a["attempts"].as_i64(),
            a["last_error"].as_str()
        ),
        (Some("pending"), Some(1), Some("无法送达：超时（2秒）")),
        "{a}"
    );
    // Sent again after its pause; the receiver took it the first time too, and tells the two
    // apart from nothing but the alert's id.
    slow.delay_ms.store(0, Ordering::SeqCst);
    // (The pause counts from when the attempt ended, the timeout after the pass began.)
    h.clock.set(h.clock.now() + chrono::Duration::seconds(65));
    assert_eq!(run_jobs(&h).delivered, 1);
    let ids: Vec<String> = slow
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["x-xinyong-alert"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0], a["alert_id"].to_string());
}

/// A pass spends at most its budget sending: what is left is given back, not counted as an
/// attempt, and goes out in the next pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_pass_keeps_to_its_budget() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            webhooks_to_loopback: true,
            webhook_pass_budget: std::time::Duration::from_millis(800),
            ..server::Config::default()
        },
    );
    let (_unit, fast, _) = two_receivers(&h).await;
    fast.delay_ms.store(1200, Ordering::SeqCst);
    let r = run_jobs(&h);
    assert_eq!(
        (r.delivery_attempts, r.delivered, r.delivery_left),
        (2, 2, 1),
        "{r:?}"
    );
    let alerts = h.get("/api/v1/alerts", Role::Financial).await.json();
    let pending: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["delivery"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{alerts}");
    assert_eq!(pending[0]["attempts"], 0, "{alerts}");
    // Due at once: the next pass, on the same clock, sends it.
    let r = run_jobs(&h);
    assert_eq!((r.delivery_attempts, r.delivered), (1, 1), "{r:?}");
    assert_eq!(fast.hits.load(Ordering::SeqCst), 2);
    // Paged back by number, and polled forward from the last one read, oldest first.
    let alerts = h.get("/api/v1/alerts", Role::Financial).await.json();
    let all: Vec<i64> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alert_id"].as_i64().unwrap())
        .collect();
    assert_eq!(all.len(), 2, "{alerts}");
    let back = h
        .get(
            &format!("/api/v1/alerts?before={}", all[0]),
            Role::Financial,
        )
        .await
        .json();
    assert_eq!(back.as_array().unwrap().len(), 1, "{back}");
    assert_eq!(back[0]["alert_id"], all[1]);
    let since = h
        .get(&format!("/api/v1/alerts?after={}", all[1]), Role::Financial)
        .await
        .json();
    assert_eq!(since.as_array().unwrap().len(), 1, "{since}");
    assert_eq!(since[0]["alert_id"], all[0]);
    let both = h
        .get("/api/v1/alerts?before=9&after=1", Role::Financial)
        .await;
    assert_eq!(
        both.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        both.text()
    );
}

/// The credit office sees where each unit's alerts go (never the secret), tries a receiver
/// with a signed ping and reads what it answered (audited), and the OpenAPI document describes
/// the delivery as it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_listed_tried_and_documented() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            webhooks_to_loopback: true,
            webhook_timeout: std::time::Duration::from_secs(1),
            ..server::Config::default()
        },
    );
    let (unit_rx, bank_rx, bank_secret) = two_receivers(&h).await;
    let listed = h.get("/api/v1/webhooks", Role::Admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert!(!listed.text().contains(&bank_secret), "{}", listed.text());
    let listed = listed.json();
    let units: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["unit"].as_str().unwrap())
        .collect();
    assert_eq!(
        units,
        [UNIT, format!("金融机构:{BANK}").as_str()],
        "{listed}"
    );
    assert!(listed[1]["url"].as_str().unwrap().ends_with("/hook"));
    assert!(listed[1].get("secret").is_none());
    assert_eq!(
        h.get("/api/v1/webhooks", Role::Handling).await.status,
        StatusCode::FORBIDDEN
    );

    // A ping, signed as an alert is.
    let r = h
        .post_json("/api/v1/webhooks/test", Role::Admin, json!({"unit": BANK}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["delivered"].as_bool(), v["status"].as_u64()),
        (Some(true), Some(204)),
        "{v}"
    );
    let (headers, body) = bank_rx.got.lock().unwrap().last().unwrap().clone();
    let ping: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (ping["event"].as_str(), ping["alert_id"].as_i64()),
        (Some("ping"), Some(0))
    );
    let ts: i64 = headers["x-xinyong-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-xinyong-signature"].to_str().unwrap(),
        joint::alerts::signature(&bank_secret, ts, &body)
    );
    // The same in the console, with the office's session (no token of its own needed): the
    // list without secrets, a test from the list, a receiver set with its secret shown once.
    let page = h.get("/console/webhooks", Role::Admin).await.text();
    assert!(
        page.contains(UNIT) && page.contains(&format!("金融机构（{BANK}）")),
        "{page}"
    );
    assert!(!page.contains(&bank_secret), "{page}");
    let r = h
        .post_form(
            "/console/webhooks/test",
            Role::Admin,
            &[("unit", &format!("金融机构（{BANK}）"))],
        )
        .await;
    assert!(r.text().contains("测试消息已送达"), "{}", r.text());
    let url = listed[1]["url"].as_str().unwrap().to_string();
    let r = h
        .post_form(
            "/console/webhooks",
            Role::Admin,
            &[("unit", "盐城市交通运输局"), ("url", &url)],
        )
        .await;
    let page = r.text();
    assert!(page.contains("共享密钥：<code>"), "{page}");
    let secret = page
        .split("共享密钥：<code>")
        .nth(1)
        .and_then(|t| t.split("</code>").next())
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 64, "{secret}");
    let page = h.get("/console/webhooks", Role::Admin).await.text();
    assert!(
        page.contains("盐城市交通运输局") && !page.contains(&secret),
        "{page}"
    );
    // Where the alerts go is on the trail, and where they went before.
    let again = h
        .post_form(
            "/console/webhooks",
            Role::Admin,
            &[("unit", "盐城市交通运输局"), ("url", &format!("{url}2"))],
        )
        .await;
    assert!(again.text().contains("共享密钥"), "{}", again.text());
    let set = h.trail("webhook.set", "盐城市交通运输局");
    assert_eq!(
        set[0].entry.detail.as_deref(),
        Some(format!("url={url}2 原地址={url}").as_str()),
        "{set:?}"
    );
    // No credentials in an address (shown and kept); no company's code taken for a bank's.
    for (unit, to, says) in [
        (
            "盐城市交通运输局",
            "http://ops:S3cret@10.7.7.7/hook",
            "不能包含用户名或密码",
        ),
        (
            "91320900MA1MB4X50R",
            url.as_str(),
            "不是已在本平台开通的金融机构",
        ),
    ] {
        let r = h
            .post_json(
                "/api/v1/webhooks",
                Role::Admin,
                json!({"unit": unit, "url": to}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains(says), "{}", r.text());
    }
    // The refused password is not kept in the trail either, nor a query's token.
    let r = h
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": "盐城市交通运输局", "url": format!("{url}?token=secret123")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let kept = format!("{:?}", h.trail("webhook.set", "盐城市交通运输局"));
    assert!(
        !kept.contains("S3cret") && !kept.contains("secret123") && kept.contains("***@10.7.7.7"),
        "{kept}"
    );

    assert_eq!(
        h.get("/console/webhooks", Role::Handling).await.status,
        StatusCode::FORBIDDEN
    );
    // What the receiver answered, or why it could not: in Chinese.
    unit_rx.always_fail.store(true, Ordering::SeqCst);
    let v = h
        .post_json("/api/v1/webhooks/test", Role::Admin, json!({"unit": UNIT}))
        .await
        .json();
    assert_eq!(
        (
            v["delivered"].as_bool(),
            v["status"].as_u64(),
            v["error"].as_str()
        ),
        (Some(false), Some(500), Some("接收方返回HTTP 500")),
        "{v}"
    );
    unit_rx.delay_ms.store(3000, Ordering::SeqCst);
    let v = h
        .post_json("/api/v1/webhooks/test", Role::Admin, json!({"unit": UNIT}))
        .await
        .json();
    assert_eq!(
        (
            v["delivered"].as_bool(),
            v["status"].as_u64(),
            v["error"].as_str()
        ),
        (Some(false), None, Some("无法送达：超时（1秒）")),
        "{v}"
    );
    let r = h
        .post_json(
            "/api/v1/webhooks/test",
            Role::Admin,
            json!({"unit": OTHER_UNIT}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(r.text().contains("尚未设置预警接收地址"), "{}", r.text());
    assert_eq!(
        h.post_json(
            "/api/v1/webhooks/test",
            Role::Handling,
            json!({"unit": UNIT})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let trail = h.state.platform.audit_page(1, 10_000).unwrap();
    let tests: Vec<(Option<&str>, &str, Option<&str>)> = trail
        .iter()
        .filter(|e| e.entry.action == "webhook.test")
        .map(|e| {
            (
                e.entry.object.as_deref(),
                e.entry.outcome.as_str(),
                e.entry.detail.as_deref(),
            )
        })
        .collect();
    let bank_unit = format!("金融机构:{BANK}");
    assert_eq!(
        tests[..4],
        [
            (Some(bank_unit.as_str()), "ok", Some("HTTP 204")),
            // (The console's test, from the list.)
            (Some(bank_unit.as_str()), "ok", Some("HTTP 204")),
            (Some(UNIT), "failed", Some("接收方返回HTTP 500")),
            (Some(UNIT), "failed", Some("无法送达：超时（1秒）")),
        ],
        "{tests:?}"
    );
    assert!(trail.iter().any(|e| e.entry.action == "webhook.list"));

    // The document's webhook: the body's fields are those an alert carries, and the headers.
    run_jobs(&h);
    let sent = bank_rx.got.lock().unwrap().clone();
    let alert: Value = sent
        .iter()
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .find(|v| v["event"] == "listed")
        .unwrap();
    let doc = h.get("/api/v1/openapi.json", Role::Public).await.json();
    let hook = &doc["webhooks"]["alert"]["post"];
    let headers: Vec<&str> = hook["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        headers,
        [
            "X-Xinyong-Alert",
            "X-Xinyong-Timestamp",
            "X-Xinyong-Signature"
        ]
    );
    let desc = hook["description"].as_str().unwrap();
    for fact in [
        "HMAC-SM3",
        "<timestamp>.<body>",
        "2xx",
        "去重",
        "不跟随重定向",
        "旧密钥",
    ] {
        assert!(desc.contains(fact), "{fact}: {desc}");
    }
    let schema = hook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut documented: Vec<&String> = doc["components"]["schemas"][&schema]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut carried: Vec<&String> = alert.as_object().unwrap().keys().collect();
    documented.sort();
    carried.sort();
    assert_eq!(documented, carried);
}

const FEED: &str = "江苏省公共信用信息平台（回流）";

/// The provincial platform's feed (回流) arrives in the same formats as the units' files: the
/// national 失信被执行人 list comes in and is checked against; an entry the city itself reported,
/// sent back by the province, leaves the city's record as it stands.
async fn the_feed_brings_entries_in_the_same_formats(h: Harness) {
    let x = city(&h);
    let q = ric(9);
    let court = format!(
        "SX_XDR_MC,SX_XDR_LB,SX_XDR_ZJLX,SX_XDR_ZJHM,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ\n\
         赵某,自然人,身份证,{q},（2026）苏01执9号,南京市中级人民法院,（2025）苏01民初9号,给付工程款30万元,全部未履行,有履行能力而拒不履行,2026-01-05,2026-02-01\n"
    );
    let s = import(&h, FEED, "司法裁判及执行（失信被执行人）", &court);
    assert_eq!((s.accepted, s.created), (1, 1), "{s:?}");
    let s = import(
        &h,
        FEED,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市甲严重失信有限公司",
                &x.a,
                "盐环信〔2026〕1号",
                "拒不履行行政处罚决定（省平台回流）",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(
        (s.accepted, s.rejected, s.unchanged, s.corrected),
        (1, 0, 1, 0),
        "{s:?}"
    );
    // The same entry twice in one feed file: both kept, on either backend.
    let entry = (
        "盐城市甲严重失信有限公司",
        x.a.as_str(),
        "盐环信〔2026〕1号",
        "拒不履行行政处罚决定",
    );
    let s = import(
        &h,
        FEED,
        "严重失信主体名单",
        &list_csv(&[entry, entry], "2029-03-01"),
    );
    assert_eq!(
        (s.accepted, s.rejected, s.unchanged, s.linked),
        (2, 0, 2, 2),
        "{s:?}"
    );
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &q, "FDDB").await;
    assert_eq!(v["verdict"], "forbid", "{v}");
    assert_eq!(
        v["entries"][0]["deciding_unit"], "南京市中级人民法院",
        "{v}"
    );
    // The city's entry: one version, still the unit's, still acted on by it.
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let rec = h
        .get(&format!("/api/v1/records/{id}"), Role::Deciding)
        .await
        .json();
    assert_eq!(rec["record"]["source_unit"], UNIT, "{rec}");
    assert_eq!(
        rec["record"]["versions"].as_array().unwrap().len(),
        1,
        "{rec}"
    );
    // An entry the feed brought first, then reported by the city's unit that decided it: the
    // record is handed to that unit (a new version under its name), which then acts on it.
    let feed_first = list_csv(
        &[(
            "盐城市戊清白贸易有限公司",
            &x.e,
            "盐环信〔2026〕8号",
            "拒不履行行政处罚决定",
        )],
        "2029-03-01",
    );
    let s = import(&h, FEED, "严重失信主体名单", &feed_first);
    assert_eq!(s.created, 1, "{s:?}");
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &feed_first.replace('\n', "\r\n"),
    );
    assert_eq!((s.corrected, s.rejected), (1, 0), "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.e, "ZFCG").await;
    let id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let rec = h
        .get(&format!("/api/v1/records/{id}"), Role::Deciding)
        .await
        .json();
    assert_eq!(rec["record"]["source_unit"], UNIT, "{rec}");
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .post_json(
            &format!("/api/v1/lists/{id}/actions"),
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-09-30", "reason": "约谈并责令限期整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A unit of the city may not report the national list itself.
    let err = tokio::task::block_in_place(|| {
        ingest::Importer {
            store: &h.state.store,
            rules: &h.state.rules,
            keys: &h.state.keys,
            clock: h.state.clock.as_ref(),
        }
        .import_reader(
            None,
            ingest::Format::Csv,
            court.as_bytes(),
            &ingest::ImportOptions {
                unit: UNIT.into(),
                class: "司法裁判及执行（失信被执行人）".into(),
                actor: "test".into(),
                channel: store::Channel::File,
            },
            &|_| {},
        )
    })
    .unwrap_err();
    assert!(err.to_string().contains("无权报送"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_brings_entries_in_the_same_formats_on_sqlite() {
    the_feed_brings_entries_in_the_same_formats(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_brings_entries_in_the_same_formats_on_postgres() {
    let h = pg_harness().await;
    the_feed_brings_entries_in_the_same_formats(h).await;
}

/// A person who represents an organisation on the serious list is checked against it (seed 003
/// 四（六）): restricted from serving as another company's legal representative, reviewed for
/// the other matters that look across the relation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legal_representative_of_a_listed_organisation_is_checked_against_it() {
    let h = harness();
    let x = city(&h);
    let (org, rep) = (uscc(7), ric(11));
    let s = import(
        &h,
        "盐城市市场监督管理局",
        "登记注册基本信息",
        &format!(
            "DJ_MC,DJ_SHXYM,DJ_ZTLX,DJ_FRDB,DJ_FR_ZJHM,DJ_CLRQ,DJ_DJJG,DJ_DJZT\n\
             盐城市庚失信代表有限公司,{org},企业,钱某,{rep},2016-06-06,盐城市市场监督管理局,存续\n"
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    // Not yet listed: nothing on the person.
    refresh(&h);
    assert_eq!(
        check(&h, Role::Handling, &rep, "FDDB").await.1["verdict"],
        "clear"
    );
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市庚失信代表有限公司",
                &org,
                "盐环信〔2026〕7号",
                "拒不履行行政处罚决定",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &rep, "FDDB").await;
    assert_eq!(v["verdict"], "restrict", "{v}");
    assert_eq!(measure_ids(&v), vec!["CJ-FR-02".to_string()], "{v}");
    assert_eq!(v["entries"][0]["via"], "represented_org", "{v}");
    let (_, v) = check(&h, Role::Handling, &rep, "GWYLY").await;
    assert_eq!(v["verdict"], "review", "{v}");
    // The registration names the person, the entry names no representative: known, no name,
    // and not said to be unknown beside the review.
    assert_eq!(v["subject"]["known"], true, "{v}");
    let text = h
        .get(
            &format!("/api/v1/checks/{}/snippet", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(!text.contains("平台未归集"), "{text}");
    // The licence: reviewed; notify-and-commit approval: the ordinary procedure.
    // 招标投标 too: a person may bid (it read 未发现限制 alone of the approval matters).
    for (matter, verdict, measure) in [
        ("XZXK", "review", "CJ-FR-03"),
        ("ZTB", "review", "CJ-FR-03"),
        ("GZCN", "restrict", "CJ-FR-05"),
    ] {
        let (_, v) = check(&h, Role::Handling, &rep, matter).await;
        assert_eq!(v["verdict"], verdict, "{matter}: {v}");
        assert_eq!(measure_ids(&v), vec![measure.to_string()], "{matter}: {v}");
    }
    // A matter that does not look across the relation, and a person who represents nothing.
    assert_eq!(
        check(&h, Role::Handling, &rep, "SSYH").await.1["verdict"],
        "clear"
    );
    assert_eq!(
        check(&h, Role::Handling, &ric(12), "FDDB").await.1["verdict"],
        "clear"
    );
    // The organisation itself is forbidden from procurement as before.
    assert_eq!(
        check(&h, Role::Handling, &org, "ZFCG").await.1["verdict"],
        "forbid"
    );
    // The organisation is a judgment defaulter too: a measure that targets both the subject's
    // own entries and those of the organisations it represents is shown as brought by the
    // organisation's entry, not as the person's own.
    let s = import(
        &h,
        "盐城市亭湖区人民法院",
        "司法裁判及执行（失信被执行人）",
        &format!(
            "SX_XDR_MC,SX_XDR_LB,SX_XDR_SHXYM,SX_FRDB,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ
             盐城市庚失信代表有限公司,法人及非法人组织,{org},钱某,（2026）苏0902执200号,盐城市亭湖区人民法院,（2025）苏0902民初2号,给付货款20万元,全部未履行,有履行能力而拒不履行,2026-01-05,2026-02-01
"
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &rep, "GXF").await;
    assert!(measure_ids(&v).contains(&"CJ-GXF-01".to_string()), "{v}");
    let page = h
        .get(
            &format!("/console/checks/{}", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(page.contains("所任法定代表人的组织在列"), "{page}");
    assert!(!page.contains("本主体在列"), "{page}");
    let snippet = h
        .get(
            &format!("/api/v1/checks/{}/snippet", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(snippet.contains("所任法定代表人的组织在列"), "{snippet}");
    let _ = x;
}

/// An entry still on its list after the rectification deadline its deciding unit set: the unit
/// is told once (约谈 is due), not on every pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passed_rectification_deadline_is_put_to_the_deciding_unit_once() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    // A moment after the listing (the index reads what changed after the newest it has seen).
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .post_json(
            &format!("/api/v1/lists/{id}/actions"),
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-08-29", "reason": "约谈并责令限期整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A Saturday, with no reason: refused as any reasonless deadline is (the note on the moved
    // day is no reason).
    let blank = h
        .post_json(
            &format!("/api/v1/lists/{id}/actions"),
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-08-29", "reason": "  "}),
        )
        .await;
    assert_eq!(blank.status, StatusCode::CONFLICT, "{}", blank.text());
    assert!(blank.text().contains("须说明理由"), "{}", blank.text());
    // A Saturday: stored as the Monday enforced, with why, so that every check shows that day.
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["entries"][0]["rectify_by"], "2026-08-31", "{v}");
    let overdue = |h: &Harness| {
        h.state
            .store
            .messages("unit", UNIT, 100)
            .unwrap()
            .into_iter()
            .filter(|m| m.title == "名单整改逾期")
            .count()
    };
    assert_eq!(run_jobs(&h).rectification_overdue, 0);
    // The deadline is a Saturday: it moves to Monday 08-31, and that Monday is still in time.
    h.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-08-31T02:00:00Z")
            .unwrap()
            .to_utc(),
    );
    assert_eq!(run_jobs(&h).rectification_overdue, 0);
    // The day after the moved deadline, and the day after that.
    for day in ["2026-09-01", "2026-09-02"] {
        h.clock.set(
            chrono::DateTime::parse_from_rfc3339(&format!("{day}T02:00:00Z"))
                .unwrap()
                .to_utc(),
        );
        let r = run_jobs(&h);
        assert_eq!(r.rectification_overdue, 1, "{r:?}");
        assert_eq!(overdue(&h), 1, "told once");
    }
    let m = h.state.store.messages("unit", UNIT, 100).unwrap();
    let m = m.iter().find(|m| m.title == "名单整改逾期").unwrap();
    assert!(m.body.contains("整改期限2026-08-31已过"), "{}", m.body);
    assert_eq!(m.record_id.as_deref(), Some(id.as_str()));
}

/// The measures the national list names for judgment defaulters and serious-list subjects beyond
/// the approval matters: high spending, leaving the country, industry self-regulation; and the
/// bidding incentive for the red list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spending_exit_industry_and_bidding_measures_apply() {
    let h = harness();
    let x = city(&h);
    for (code, matter, verdict, measure) in [
        (&x.p, "GXF", "forbid", "CJ-GXF-01"),
        // The court decides 限制出境 by a decision of its own: the body verifies it.
        (&x.p, "CJ", "review", "CJ-CJ-01"),
        (&x.a, "HYZL", "supervise", "CJ-HYZL-01"),
        (&x.c, "ZTB", "incentive", "JL-ZTB-01"),
    ] {
        let (st, v) = check(&h, Role::Handling, code, matter).await;
        assert_eq!(st, StatusCode::OK, "{matter}: {v}");
        assert_eq!(v["verdict"], verdict, "{matter}: {v}");
        assert_eq!(measure_ids(&v), vec![measure.to_string()], "{matter}: {v}");
    }
    // Clear for a subject on no list.
    assert_eq!(
        check(&h, Role::Handling, &x.e, "HYZL").await.1["verdict"],
        "clear"
    );
}

/// The console offers what the API does on a check's entries: an officer marks a false positive,
/// a deciding unit sets a rectification deadline — through forms, without JavaScript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_marks_exceptions_and_acts_on_entries() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let (id, rid) = (
        v["check_id"].as_i64().unwrap(),
        v["entries"][0]["record_id"].as_str().unwrap().to_string(),
    );
    let page = h
        .get(&format!("/console/checks/{id}"), Role::Handling)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("登记例外") && !text.contains("提前移出"),
        "{text}"
    );
    // Reading it in the console is in the trail, as in the API.
    let trail = h.trail("check.read", &format!("check:{id}"));
    assert_eq!(trail.len(), 1, "{trail:?}");
    // A deciding unit sets a deadline on the entry.
    let page = h
        .get(&format!("/console/checks/{id}"), Role::Deciding)
        .await;
    assert!(page.text().contains("提前移出"), "{}", page.text());
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .post_form(
            &format!("/console/checks/{id}/list-action"),
            Role::Deciding,
            &[
                ("record_id", rid.as_str()),
                ("action", "rectify"),
                ("deadline", "2026-09-30"),
                ("reason", "约谈并责令限期整改"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["entries"][0]["rectify_by"], "2026-09-30", "{v}");
    // A handling officer may not act on the entry.
    let r = h
        .post_form(
            &format!("/console/checks/{id}/list-action"),
            Role::Handling,
            &[
                ("record_id", rid.as_str()),
                ("action", "exit"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The officer marks the hit as a false positive: the next check is clear.
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["check_id"].as_i64().unwrap();
    let r = h
        .post_form(
            &format!("/console/checks/{id}/exception"),
            Role::Handling,
            &[
                ("record_id", rid.as_str()),
                ("reason", "同名不同主体：名单主体为外省同名企业"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // Back on the check, which says it was marked; the trail has why.
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.contains("?marked="), "{to}");
    let page = h.get(&to, Role::Handling).await.text();
    assert!(page.contains("已登记例外（编号"), "{page}");
    // The hit now set aside is not offered for another exception.
    assert!(
        !page.contains(&format!("/console/checks/{id}/exception")),
        "{page}"
    );
    let made = h.trail("exception.create", &rid);
    assert!(
        made[0]
            .entry
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("reason=同名不同主体：名单主体为外省同名企业")),
        "{made:?}"
    );
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["verdict"], "clear", "{v}");
    // The unit's exceptions page lists it, in force, and takes it back.
    let page = h.get("/console/exceptions", Role::Handling).await.text();
    assert!(
        page.contains("名单主体为外省同名企业")
            && page.contains("<td>有效</td>")
            && page.contains("/revoke"),
        "{page}"
    );
    let ex_id = page
        .split("/console/exceptions/")
        .nth(1)
        .and_then(|t| t.split('/').next())
        .unwrap()
        .to_string();
    let r = h
        .post_form(
            &format!("/console/exceptions/{ex_id}/revoke"),
            Role::Handling,
            &[("reason", "外省企业已注销，本市主体确有失信记录")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let said = h.get(&to, Role::Handling).await.text();
    assert!(said.contains(&format!("已撤销例外{ex_id}")), "{said}");
    let page = h.get("/console/exceptions", Role::Handling).await.text();
    // A revoked exception stays listed a while as revoked, with who, when and why, and no
    // button: the unit learns what became of it.
    assert!(
        page.contains("名单主体为外省同名企业")
            && page.contains("已撤销（")
            && page.contains("外省企业已注销，本市主体确有失信记录"),
        "{page}"
    );
    assert!(
        !page.contains(&format!("/console/exceptions/{ex_id}/revoke")),
        "{page}"
    );
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_ne!(v["verdict"], "clear", "revoked: the hit counts again: {v}");
    // An entry the check did not find is refused.
    let r = h
        .post_form(
            &format!("/console/checks/{id}/exception"),
            Role::Handling,
            &[("record_id", "not-an-entry"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}

/// The source unit corrects an entry that its deciding unit put under a rectification deadline:
/// the deadline stays (the unit's file does not carry it).
async fn a_correction_keeps_the_rectification_deadline(h: Harness) {
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .post_json(
            &format!("/api/v1/lists/{id}/actions"),
            Role::Deciding,
            json!({"action": "rectify", "deadline": "2026-08-31", "reason": "约谈并责令限期整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市甲严重失信有限公司",
                &x.a,
                "盐环信〔2026〕1号",
                "拒不履行行政处罚决定（更正）",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.corrected, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["entries"][0]["rectify_by"], "2026-08-31", "{v}");
    assert_eq!(
        v["entries"][0]["reason"], "拒不履行行政处罚决定（更正）",
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_keeps_the_rectification_deadline_on_sqlite() {
    a_correction_keeps_the_rectification_deadline(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_keeps_the_rectification_deadline_on_postgres() {
    let h = pg_harness().await;
    a_correction_keeps_the_rectification_deadline(h).await;
}

/// An objection to a list entry shows at the next check and in the embeddable snippet at once,
/// with the entry behind the verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_shows_in_the_next_check_and_its_snippet() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let rid = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    assert_eq!(v["entries"][0]["under_objection"], false);
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Reporter,
            json!({"record_id": rid, "reason": "认定所依据的处罚决定已被复议撤销，申请核实"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["entries"][0]["under_objection"], true, "{v}");
    let id = v["check_id"].as_i64().unwrap();
    let snippet = h
        .get(&format!("/api/v1/checks/{id}/snippet"), Role::Handling)
        .await
        .text();
    assert!(snippet.contains("盐环信〔2026〕1号"), "{snippet}");
    assert!(snippet.contains("异议处理中"), "{snippet}");
}

/// A list entry pushed by a unit's system counts in the very next check, and its withdrawal
/// lifts it at once: the service brings the check index up to date before it answers, not at
/// the next background pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_entry_and_its_withdrawal_count_in_the_next_check() {
    let h = harness();
    let x = city(&h);
    refresh(&h);
    assert_eq!(
        check(&h, Role::Handling, &x.e, "ZFCG").await.1["verdict"],
        "clear"
    );
    let token = h.token_for(Role::Reporter, UNIT);
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let body = json!({"records": [{
        "MD_XDR_MC": "盐城市戊清白贸易有限公司", "MD_XDR_LB": "法人及非法人组织", "MD_XDR_SHXYM": x.e,
        "MD_MDLX": "名单", "MD_WSH": "盐环信〔2026〕31号", "MD_LRYY": "拒不履行行政处罚决定",
        "MD_RDYJ": "《社会信用体系建设有关规定》", "MD_RDDW": UNIT, "MD_LRRQ": "2026-03-01",
        "MD_YXQZ": "2029-03-01"
    }]});
    let r = h
        .send_as(
            &token,
            Method::POST,
            &format!(
                "/api/v1/submissions?class={}",
                urlencode("严重失信主体名单")
            ),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["accepted"], 1, "{v}");
    let (_, c) = check(&h, Role::Handling, &x.e, "ZFCG").await;
    assert_eq!(c["verdict"], "forbid", "{c}");
    let record = c["entries"][0]["record_id"].as_str().unwrap().to_string();
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .send_as(
            &token,
            Method::POST,
            &format!("/api/v1/records/{record}/withdraw"),
            Some(json!({"reason": "错报"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (_, c) = check(&h, Role::Handling, &x.e, "ZFCG").await;
    assert_eq!(c["verdict"], "clear", "{c}");
}

/// A date far outside what the platform holds is refused with a reason, not a 500 from the
/// time arithmetic behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_dates_are_refused_with_a_reason() {
    let h = harness();
    for since in ["-262143-01-01", "1899-12-31"] {
        let r = h
            .get(&format!("/api/v1/joint/stats?since={since}"), Role::Admin)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{since}");
        assert!(r.text().contains("超出范围"), "{}", r.text());
    }
    let r = h
        .get("/api/v1/joint/stats?since=2026-01-01", Role::Admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// A list entry that names the organisation's legal representative by ID number holds that
/// person to it for the matters that look across the relation, though the platform holds no
/// registration naming them (seed 003 四（六）).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_representative_a_list_entry_names_is_checked_against_it() {
    let h = harness();
    let (org, rep) = (uscc(8), ric(13));
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &format!(
            "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_FRDB,MD_FR_ZJHM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
             盐城市辛未登记有限公司,法人及非法人组织,{org},孙某,{rep},名单,盐环信〔2026〕8号,拒不履行行政处罚决定,《社会信用体系建设有关规定》,{UNIT},2026-03-01,2029-03-01\n"
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &rep, "FDDB").await;
    assert_eq!(v["verdict"], "restrict", "{v}");
    assert_eq!(v["entries"][0]["via"], "represented_org", "{v}");
    // Known to the platform through the entry, and named as it names its representative; the
    // snippet does not say, beside a restriction, that nothing of the person is held.
    assert_eq!(
        (&v["subject"]["known"], &v["subject"]["name"]),
        (&json!(true), &json!("孙某")),
        "{v}"
    );
    let text = h
        .get(
            &format!("/api/v1/checks/{}/snippet", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        text.contains("孙某") && !text.contains("平台未归集"),
        "{text}"
    );
    // Also for a matter that does not look across the relation.
    let (_, other) = check(&h, Role::Handling, &rep, "SSYH").await;
    assert_eq!(other["subject"]["name"], "孙某", "{other}");
    // The console says whose entry brought the measure: the organisation's, not the person's.
    let page = h
        .get(
            &format!("/console/checks/{}", v["check_id"].as_i64().unwrap()),
            Role::Handling,
        )
        .await
        .text();
    assert!(page.contains("所任法定代表人的组织在列"), "{page}");
    assert!(!page.contains("本主体在列"), "{page}");
    // Someone else, and a matter that does not look across the relation: clear.
    assert_eq!(
        check(&h, Role::Handling, &ric(14), "FDDB").await.1["verdict"],
        "clear"
    );
    assert_eq!(
        check(&h, Role::Handling, &rep, "SSYH").await.1["verdict"],
        "clear"
    );
    // The court lists the same company as a judgment defaulter, naming its representative by
    // name only: the person the credit office's entry names is held to it too (限制高消费,
    // 法释〔2015〕17号 第三条), not only to the entry that named them.
    let s = import(
        &h,
        "盐城市亭湖区人民法院",
        "司法裁判及执行（失信被执行人）",
        &format!(
            "SX_XDR_MC,SX_XDR_LB,SX_XDR_SHXYM,SX_FRDB,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ
             盐城市辛未登记有限公司,法人及非法人组织,{org},孙某,（2026）苏0902执208号,盐城市亭湖区人民法院,（2025）苏0902民初8号,给付货款8万元,全部未履行,有履行能力而拒不履行,2026-01-05,2026-02-01
"
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &rep, "GXF").await;
    assert_eq!(v["verdict"], "forbid", "{v}");
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["decision_no"] == "（2026）苏0902执208号" && e["via"] == "represented_org"),
        "{v}"
    );
}

/// A department following a person hears when an organisation the person represents is listed:
/// the person's checks are held to it (CJ-FR-03, 限制高消费) as the organisation's are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_listed_warns_those_who_follow_its_representative() {
    let h = harness();
    let x = city(&h);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.p]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    tokio::task::block_in_place(|| run_jobs(&h));
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    // The company the person represents (registered so) goes on the serious list.
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市乙建设工程有限公司",
                &x.b,
                "盐环信〔2026〕31号",
                "拒不履行行政处罚决定",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    tokio::task::block_in_place(|| run_jobs(&h));
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let a = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event"] == "represented_org_listed")
        .unwrap_or_else(|| panic!("{alerts}"));
    let detail = a["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "所任法定代表人的组织盐城市乙建设工程有限公司（{}）列入名单",
            x.b
        )) && detail.contains("盐环信〔2026〕31号"),
        "{a}"
    );
    assert!(
        !detail.contains(&x.p),
        "the person's number is not spelled out: {a}"
    );
    let page = h.get("/console/alerts", Role::Handling).await.text();
    assert!(page.contains("所任法定代表人的组织列入名单"), "{page}");
}

/// A measure whose basis awaits the credit office's confirmation says so wherever an officer
/// reads it — the JSON, the embedded snippet, the console — not as a note in brackets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_basis_awaiting_confirmation_is_said_so() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.c, "CZZJ").await;
    let m = &v["measures"][0];
    assert_eq!(m["id"], "JL-CZZJ-01", "{v}");
    assert!(
        m["basis_pending"].as_str().is_some_and(|n| !n.is_empty()),
        "{v}"
    );
    assert!(!m["basis"].as_str().unwrap().contains("[M"), "{v}");
    let id = v["check_id"].as_i64().unwrap();
    for uri in [
        format!("/api/v1/checks/{id}/snippet"),
        format!("/console/checks/{id}"),
        "/console/measures".to_string(),
    ] {
        let text = h.get(&uri, Role::Handling).await.text();
        assert!(text.contains("依据待市信用办核定"), "{uri}: {text}");
    }
    // A confirmed basis says nothing of the kind.
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert!(v["measures"][0].get("basis_pending").is_none(), "{v}");
}

/// A natural person on no list is not in the organisations' name index: the check and the batch
/// still say the platform holds their records (and their name), and that it holds none of a
/// person never reported.
async fn a_person_on_no_list_is_known_from_the_store(h: Harness) {
    let (fined, never) = (ric(21), ric(22));
    let unit_code = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let cf = format!(
        "CF_XDR_MC,CF_XDR_LB,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n\
         孙某,自然人,身份证,{fined},盐环罚〔2026〕301号,露天焚烧,经查露天焚烧垃圾,《中华人民共和国大气污染防治法》第一百一十九条,罚款,处罚款0.05万元,0.05,2026-03-02,2027-03-02,{UNIT},{unit_code},{UNIT},{unit_code}\n"
    );
    let s = import(&h, UNIT, "行政处罚", &cf);
    assert_eq!(s.accepted, 1, "{s:?}");
    let (st, v) = check(&h, Role::Handling, &fined, "GWYLY").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["subject"]["known"], &v["subject"]["name"]),
        (&json!(true), &json!("孙某")),
        "{v}"
    );
    let (_, v) = check(&h, Role::Handling, &never, "GWYLY").await;
    assert_eq!(v["subject"]["known"], false, "{v}");
    // The snippet an approval system shows says so: "nothing found" of a subject the platform
    // holds nothing of is no clearance.
    let snippet = |v: &serde_json::Value, role| {
        let id = v["check_id"].as_i64().unwrap();
        let h = &h;
        async move {
            h.get(&format!("/api/v1/checks/{id}/snippet"), role)
                .await
                .text()
        }
    };
    let text = snippet(&v, Role::Handling).await;
    assert!(text.contains("平台未归集到该主体的信息"), "{text}");
    // An organisation reported since the name index was last refreshed is known from the store.
    let fresh = uscc(77);
    let cf_org = penalty_csv(&[(
        "盐城市新近贸易有限公司",
        "法人及非法人组织",
        &fresh,
        "盐环罚〔2026〕302号",
    )])
    .replace("11320900001401484X", &unit_code);
    assert_eq!(import(&h, UNIT, "行政处罚", &cf_org).accepted, 1);
    let (_, v) = check(&h, Role::Handling, &fresh, "ZFCG").await;
    assert_eq!(
        (&v["subject"]["known"], &v["subject"]["name"]),
        (&json!(true), &json!("盐城市新近贸易有限公司")),
        "{v}"
    );
    // A department's check is in the trail under the key of the subject it was about.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
    let key = views::subject_key(&fined, &h.state.rules, &h.state.keys, day).unwrap();
    let trail = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("check.create".into()),
            limit: 100,
            ..Default::default()
        })
    })
    .unwrap();
    let about = format!("subject={key} ");
    assert!(
        trail.iter().any(|e| e.entry.role == "handling"
            && e.entry.outcome == "ok"
            && e.entry
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with(&about))),
        "{trail:?}"
    );
    // A financial institution learns about a person only by the person's authorisation, asked
    // by the subject key: by an ID number (the hidden digits of a masked number could be tried
    // until the answer differs) it is refused, and so is a key no authorisation names; each
    // refusal is in the trail under the key tried.
    let (st, v) = check(&h, Role::Financial, &fined, "JRSX").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("主体键"),
        "{v}"
    );
    // The console's form says so beforehand.
    let form = h.get("/console/checks", Role::Financial).await.text();
    assert!(form.contains("主体键（P开头）"), "{form}");
    let (st, v) = check(&h, Role::Financial, &key, "JRSX").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("未授权"),
        "{v}"
    );
    let (st, _) = check(&h, Role::Financial, &never, "JRSX").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let denied = h
        .trail("check.create", &key)
        .into_iter()
        .filter(|e| e.entry.role == "financial" && e.entry.outcome == "denied")
        .count();
    assert_eq!(denied, 2);
    // Nor does it read the person's file: what the portal shows anyone is no consent for a
    // lender to collect it in its own name. Refused, and in the trail.
    let r = h
        .get(&format!("/api/v1/subjects/{key}"), Role::Financial)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("未授权"), "{}", r.text());
    assert!(
        h.trail("subject.read", &key)
            .iter()
            .any(|e| e.entry.role == "financial" && e.entry.outcome == "denied"),
        "the refused read is audited"
    );
    assert_eq!(
        h.get(&format!("/api/v1/subjects/{key}"), Role::Public)
            .await
            .status,
        StatusCode::OK
    );
    // Authorised by the person (信易贷授权查询), the institution is told whom it checked.
    tokio::task::block_in_place(|| {
        h.state.platform.grant_authorisation(
            &store::NewAuthorisation {
                subject_key: &key,
                subject_label: "孙某",
                institution: BANK,
                purpose: "授信融资",
                granted_by: "test",
                at: chrono::Utc::now(),
                until: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            },
            day,
            None,
        )
    })
    .unwrap();
    let (st, v) = check(&h, Role::Financial, &key, "JRSX").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["subject"]["name"], "孙某", "{v}");
    assert_eq!(
        h.get(&format!("/api/v1/subjects/{key}"), Role::Financial)
            .await
            .status,
        StatusCode::OK
    );
    // By the ID number it is still refused.
    let (st, v) = check(&h, Role::Financial, &fined, "JRSX").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let r = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=ZFCG",
                Role::Handling,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(format!("代码\n{fined}\n{never}\n")))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()["batch_id"].as_i64().unwrap();
    let csv = h
        .get(&format!("/api/v1/batches/{id}/result.csv"), Role::Handling)
        .await
        .text();
    let mut rd = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(&rows[0][2], "孙某", "{csv}");
    assert!(!rows[0][7].contains("平台未归集"), "{csv}");
    assert!(rows[1][7].contains("平台未归集到该主体的信息"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_on_no_list_is_known_from_the_store_on_sqlite() {
    a_person_on_no_list_is_known_from_the_store(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_on_no_list_is_known_from_the_store_on_postgres() {
    a_person_on_no_list_is_known_from_the_store(pg_harness().await).await;
}

/// The 累计失信 warning names a person so that the office can act: name and masked ID number,
/// the key in full and where the file is (not a cut key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accumulation_warning_names_a_person_the_office_can_act_on() {
    let h = harness();
    let p = ric(31);
    let rows: Vec<(&str, &str, &str, &str)> = [
        "盐环罚〔2026〕41号",
        "盐环罚〔2026〕42号",
        "盐环罚〔2026〕43号",
    ]
    .iter()
    .map(|no| ("周某", "自然人", p.as_str(), *no))
    .collect();
    let s = import(&h, UNIT, "行政处罚", &unit_penalty_csv(&h.state, &rows));
    assert_eq!(s.accepted, 3, "{s:?}");
    let key = views::subject_key(
        &p,
        &h.state.rules,
        &h.state.keys,
        chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap(),
    )
    .unwrap();
    let st = h.get("/api/v1/joint/stats", Role::Admin).await.json();
    let a = st["accumulated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key.as_str())
        .unwrap_or_else(|| panic!("{st}"))
        .clone();
    let masked = format!("{}********{}", &p[..6], &p[14..]);
    assert_eq!(a["subject"], format!("周某（{masked}）"), "{a}");
    assert_eq!(a["file"], format!("/api/v1/subjects/{key}"), "{a}");
    assert_eq!(a["records"], 3, "{a}");
    let page = h.get("/console/joint", Role::Admin).await.text();
    assert!(
        page.contains(&format!("周某（{masked}）"))
            && page.contains(&format!("href=\"/console/subjects?code={key}\"")),
        "{page}"
    );
    assert!(!page.contains(&p), "{page}");
    // Reading whom it names is in the trail.
    let read = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("joint.stats".into()),
            limit: 10,
            ..Default::default()
        })
    })
    .unwrap();
    assert_eq!(read.len(), 2, "{read:?}");
    // The security auditor reads the figures, not whom they name.
    let page = h.get("/console/joint", Role::Auditor).await.text();
    assert!(page.contains("主体名单仅向市信用办显示"), "{page}");
    assert!(!page.contains(&format!("周某（{masked}）")), "{page}");
    // The same as a workbook, for the office's reports: counts as numbers, the warned subjects
    // for the office only; each export is a read in the trail.
    let sheets = |role: Role| {
        let h = &h;
        async move {
            let x = h.get("/console/joint.xlsx?since=2026-01-01", role).await;
            assert_eq!(x.status, StatusCode::OK, "{role}");
            use calamine::Reader;
            let mut wb: calamine::Xlsx<_> =
                calamine::Xlsx::new(std::io::Cursor::new(x.body.clone())).unwrap();
            let mut text = |name: &str| {
                wb.worksheet_range(name)
                    .unwrap()
                    .used_cells()
                    .map(|(_, _, v)| v.to_string())
                    .collect::<Vec<_>>()
            };
            (text("核查情况"), text("累计失信预警"))
        }
    };
    let (checks, warned) = sheets(Role::Admin).await;
    assert!(
        checks.iter().any(|c| c == "核查次数") && checks.iter().any(|c| c.contains("2026-01-01")),
        "{checks:?}"
    );
    assert!(
        warned.iter().any(|c| c == &format!("周某（{masked}）")),
        "{warned:?}"
    );
    assert!(!warned.iter().any(|c| c.contains(&p)), "{warned:?}");
    let (_, withheld) = sheets(Role::Auditor).await;
    assert!(!withheld.iter().any(|c| c.contains("周某")), "{withheld:?}");
    assert_eq!(
        h.get("/console/joint.xlsx", Role::Handling).await.status,
        StatusCode::FORBIDDEN
    );
}

/// A department that follows an organisation hears when its legal representative is listed:
/// checks hold the organisation to its representative's entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_representative_listed_warns_those_who_follow_the_organisation() {
    let h = harness();
    let x = city(&h);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.b]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    tokio::task::block_in_place(|| run_jobs(&h));
    // Its representative (person p) is listed again by the court.
    court_lists(&h, &x.p, "（2026）苏0902执300号");
    tokio::task::block_in_place(|| run_jobs(&h));
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let a = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["event"] == "legal_rep_listed")
        .unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(
        a["subject_label"],
        format!("盐城市乙建设工程有限公司（{}）", x.b),
        "{a}"
    );
    let detail = a["detail"].as_str().unwrap();
    assert!(
        detail.contains("盐城市乙建设工程有限公司") && detail.contains("的法定代表人列入名单"),
        "{a}"
    );
    assert!(!detail.contains(&x.p), "{a}");
    // The decision is named by its number and its own date, not the day the platform heard.
    assert!(
        detail.contains("（2026）苏0902执300号") && detail.contains("决定日期2026-"),
        "{a}"
    );
    let page = h.get("/console/alerts", Role::Handling).await.text();
    assert!(page.contains("法定代表人列入名单"), "{page}");
}

/// Whether `text` holds the person's key or any eight characters of it in a row: a subscriber
/// given a person's key matches it against public record ids and so confirms the ID number it
/// sent.
fn holds_key(text: &str, key: &str) -> bool {
    let hex = &key[1..];
    text.contains(key) || (0..=hex.len() - 8).any(|i| text.contains(&hex[i..i + 8]))
}

/// A department holding many ID numbers tells its subjects apart by the reference the platform
/// gives back for each code it subscribes (masked ID numbers look alike): its list and its
/// alerts — in the API and in the webhook's body — name that reference, and an organisation's
/// code. A person's reference is the unit's own (another unit's differs) and never the person's
/// key, which public record ids carry: a key for each of 100,000 candidate numbers would tell
/// which one is a listed person's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_alerts_name_the_subject_by_its_key() {
    let h = harness_on(
        testkit::sqlite(),
        server::Config {
            webhooks_to_loopback: true,
            ..server::Config::default()
        },
    );
    let x = city(&h);
    let (url, rx) = receiver().await;
    let r = h
        .post_json(
            "/api/v1/webhooks",
            Role::Admin,
            json!({"unit": UNIT, "url": url}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let person = h.state.keys.person_key("身份证", &x.p);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.f, x.p, "123"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        !holds_key(&r.text(), &person),
        "a person's key in {}",
        r.text()
    );
    let s = r.json();
    assert_eq!(
        s["subjects"][0],
        json!({"code": x.f, "subscriber_ref": x.f})
    );
    assert_eq!(s["subjects"][1]["code"], x.p.as_str(), "{s}");
    let mine = s["subjects"][1]["subscriber_ref"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(mine.starts_with('R') && mine.len() == 25, "{s}");
    // The same again: the same reference.
    let again = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.p]}),
        )
        .await
        .json();
    assert_eq!(
        again["subjects"][0]["subscriber_ref"],
        mine.as_str(),
        "{again}"
    );
    // Another unit: another reference for the same person.
    let other = h.token_for(Role::Handling, OTHER_UNIT);
    let theirs = h
        .send_as(
            &other,
            Method::POST,
            "/api/v1/subscriptions",
            Some(json!({"codes": [x.p]})),
        )
        .await
        .json();
    let theirs = theirs["subjects"][0]["subscriber_ref"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(theirs.starts_with('R') && theirs != mine, "{theirs} {mine}");

    let r = h.get("/api/v1/subscriptions", Role::Handling).await;
    assert!(
        !holds_key(&r.text(), &person),
        "a person's key in {}",
        r.text()
    );
    let list = r.json();
    let by_ref = |r: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["subscriber_ref"] == r)
            .cloned()
            .unwrap_or_else(|| panic!("{r} not in {list}"))
    };
    assert_eq!(by_ref(&x.f)["code"], x.f.as_str());
    let p = by_ref(&mine);
    assert!(p["code"].is_null(), "{p}");
    assert!(!p.to_string().contains(&x.p), "a full ID number in {p}");
    run_jobs(&h);

    // F is listed, and so is person p again: an alert about each (and one for the other unit).
    list_f(&h, &x);
    let court = format!(
        "SX_XDR_MC,SX_XDR_LB,SX_XDR_ZJLX,SX_XDR_ZJHM,SX_AH,SX_ZXFY,SX_YJWH,SX_YW,SX_LXQK,SX_JTQX,SX_LARQ,SX_FBRQ\n\
         王某,自然人,身份证,{},（2026）苏0902执301号,盐城市亭湖区人民法院,（2025）苏0902民初4号,给付货款5万元,全部未履行,有履行能力而拒不履行,2026-05-05,2026-06-01\n",
        x.p
    );
    let s = import(
        &h,
        "盐城市亭湖区人民法院",
        "司法裁判及执行（失信被执行人）",
        &court,
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    let r = run_jobs(&h);
    assert_eq!((r.alerts_made, r.delivered), (3, 2), "{r:?}");
    let r = h.get("/api/v1/alerts", Role::Handling).await;
    assert!(
        !holds_key(&r.text(), &person),
        "a person's key in {}",
        r.text()
    );
    let alerts = r.json();
    let about = |r: &str| {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["subscriber_ref"] == r)
            .cloned()
            .unwrap_or_else(|| panic!("no alert about {r} in {alerts}"))
    };
    assert_eq!(about(&x.f)["code"], x.f.as_str());
    let a = about(&mine);
    assert!(a["code"].is_null() && !a.to_string().contains(&x.p), "{a}");
    // The person's record by the unit's own reference too (its id begins with the key).
    assert!(
        a["record_id"].as_str().is_some_and(|r| r.starts_with('R')),
        "{a}"
    );
    let r = h.send_as(&other, Method::GET, "/api/v1/alerts", None).await;
    assert!(
        !holds_key(&r.text(), &person),
        "a person's key in {}",
        r.text()
    );
    assert_eq!(
        r.json()[0]["subscriber_ref"],
        theirs.as_str(),
        "{}",
        r.text()
    );
    let got = rx.got.lock().unwrap().clone();
    let bodies: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    assert!(
        !holds_key(&format!("{bodies:?}"), &person),
        "a person's key in {bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|v| v["subscriber_ref"] == x.f.as_str() && v["code"] == x.f.as_str()),
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|v| v["subscriber_ref"] == mine.as_str() && v["code"].is_null()),
        "{bodies:?}"
    );
    assert!(!format!("{bodies:?}").contains(&x.p), "a full ID number");
    // The document says so.
    let doc = h.get("/api/v1/openapi.json", Role::Public).await.json();
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("SubscribeResult", "subjects"),
        ("Subscribed", "subscriber_ref"),
        ("Subscription", "subscriber_ref"),
        ("Subscription", "code"),
        ("Alert", "subscriber_ref"),
        ("Alert", "code"),
        ("Alert", "record_id"),
        ("AlertDelivery", "subscriber_ref"),
    ] {
        assert!(
            schemas[schema]["properties"][field].is_object(),
            "{schema}.{field}: {}",
            schemas[schema]
        );
    }
    for schema in ["Subscribed", "Subscription", "Alert", "AlertDelivery"] {
        assert!(
            schemas[schema]["properties"]["subject_key"].is_null(),
            "{schema}: {}",
            schemas[schema]
        );
    }
}

/// A subscription's note is kept on every row the call adds: a long one is refused, naming
/// the limit, before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_note_is_capped() {
    let h = harness();
    let x = city(&h);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.f], "note": "备".repeat(201)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("200个字符"), "{}", r.text());
    let list = h.get("/api/v1/subscriptions", Role::Handling).await.json();
    assert_eq!(list, json!([]), "nothing written");
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.f, x.p], "note": "备".repeat(200)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The trail says which codes in a line: how many persons and organisations, and the SM3
    // of the codes sorted.
    let trail = tokio::task::block_in_place(|| {
        h.state.platform.audit_search(&store::AuditQuery {
            action: Some("subscription.create".into()),
            limit: 1,
            ..Default::default()
        })
    })
    .unwrap();
    let codes = [x.f.clone(), x.p.clone()];
    let digest = server::codes_digest(&h.state.keys, UNIT, &codes);
    let detail = trail[0].entry.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("persons=1 organisations=1") && detail.contains(&digest),
        "{detail}"
    );
    assert!(!detail.contains(&x.p), "{detail}");
    // Keyed: the plain SM3 of an ID number (found again from its masked form by trying birth
    // dates) is not in the trail.
    assert!(
        !detail.contains(&crypto::sm3_hex(x.p.as_bytes())),
        "{detail}"
    );
    // A person's platform key (public in record ids) is no subscription code: beside candidate
    // ID numbers in one call, equal refs would name the number. Nor is it one to unsubscribe.
    let key = h.state.keys.person_key("身份证", &x.p);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [key]}),
        )
        .await
        .json();
    assert_eq!(r["added"], 0, "{r}");
    assert_eq!(r["already"], 0, "{r}");
    assert!(
        r["invalid"][0]
            .as_str()
            .is_some_and(|m| m.contains("不接受平台内部主体键")),
        "{r}"
    );
    assert_eq!(r["subjects"], json!([]), "{r}");
    let r = h
        .post_json(
            "/api/v1/subscriptions/remove",
            Role::Handling,
            json!({"code": key}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
}

/// A deciding unit manages the entries it reported on its own page (本单位认定名单) — the ended
/// ones too — instead of through a check made for the purpose, which counted as a department's
/// check owed feedback. An exit there is a versioned change that checks follow at once; a
/// revocation may follow it; another role has no such page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deciding_unit_manages_its_entries_on_its_own_page() {
    use chrono::Datelike;
    let h = harness();
    let x = tokio::task::block_in_place(|| city(&h));
    let page = h.get("/console/lists", Role::Deciding).await;
    assert_eq!(page.status, StatusCode::OK);
    let t = page.text();
    assert!(
        t.contains("盐城市甲严重失信有限公司")
            && t.contains("盐环信〔2026〕1号")
            && t.contains("在列"),
        "{t}"
    );
    assert_eq!(
        h.get("/console/lists", Role::Reporter).await.status,
        StatusCode::FORBIDDEN
    );
    // Reading it is in the trail; a red-list entry offers no 限期整改.
    assert!(!h.trail("lists.unit_view", UNIT).is_empty());
    let red = t
        .split("守信激励")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_default();
    assert!(!red.is_empty() && !red.contains("value=\"rectify\""), "{t}");
    let id = tokio::task::block_in_place(|| h.state.store.unit_heads(UNIT, &["YZSX"], 10))
        .unwrap()
        .into_iter()
        .find(|e| e.subject_key == x.a)
        .expect("the entry on the unit's page")
        .record_id;
    let checks = || {
        tokio::task::block_in_place(|| h.state.platform.checks(None, 1000))
            .unwrap()
            .len()
    };
    let checks_before = checks();
    let act = |action: &'static str, reason: &'static str| {
        let id = id.clone();
        let h = &h;
        // Each action a moment after the last, as the list index reads what changed after the
        // newest change it has seen.
        h.clock
            .set(h.clock.now() + chrono::Duration::milliseconds(10));
        async move {
            h.post_form(
                "/console/lists/actions",
                Role::Deciding,
                &[
                    ("record_id", id.as_str()),
                    ("action", action),
                    ("reason", reason),
                ],
            )
            .await
        }
    };
    // A deadline on a day off moves to the next working day, and the console says so; a past
    // day is refused as typed.
    let rectify = async |deadline: &str| {
        h.clock
            .set(h.clock.now() + chrono::Duration::milliseconds(10));
        h.post_form(
            "/console/lists/actions",
            Role::Deciding,
            &[
                ("record_id", id.as_str()),
                ("action", "rectify"),
                ("deadline", deadline),
                ("reason", "约谈并责令限期整改"),
            ],
        )
        .await
    };
    let today = h.state.clock.today();
    let saturday = (1..8)
        .map(|d| today + chrono::Duration::days(d))
        .find(|d| d.weekday() == chrono::Weekday::Sat)
        .unwrap();
    let moved = h.state.rules.calendar.next_workday_on_or_after(saturday);
    let r = rectify(&saturday.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text()
            .contains(&format!("所定期限{saturday}为休息日，顺延至{moved}")),
        "{}",
        r.text()
    );
    let past = today - chrono::Duration::days(9);
    let r = rectify(&past.to_string()).await;
    assert!(
        r.text().contains(&format!("整改期限{past}应晚于今天")),
        "{}",
        r.text()
    );
    // A reason is required.
    assert_ne!(act("exit", " ").await.status, StatusCode::SEE_OTHER);
    let r = act("exit", "已整改到位，申请提前移出，经审核同意").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // Back on the page, which says what was recorded.
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.ends_with("done=exit"), "{to}");
    let page = h.get(&to, Role::Deciding).await.text();
    assert!(page.contains("已记录：提前移出"), "{page}");
    let t = h.get("/console/lists", Role::Deciding).await.text();
    assert!(t.contains("提前移出名单"), "{t}");
    let v = h
        .post_json(
            "/api/v1/checks",
            Role::Handling,
            json!({"code": x.a, "matter": "ZFCG"}),
        )
        .await
        .json();
    assert_eq!(v["verdict"], "clear", "{v}");
    // The decision itself was wrong: revoked after the exit.
    let r = act("revoke", "认定依据的处罚决定已被撤销").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        h.get("/console/lists", Role::Deciding)
            .await
            .text()
            .contains("撤销认定")
    );
    // All in the trail (rectification, exit, revocation), and the refused ones too (a past
    // deadline, a blank reason).
    let trail = h.trail("list.action", &id);
    assert_eq!(
        trail.iter().filter(|e| e.entry.outcome == "ok").count(),
        3,
        "{trail:?}"
    );
    assert_eq!(trail.len(), 5, "{trail:?}");
    // Managing entries made no checks (the one check above is the handling department's).
    assert_eq!(checks(), checks_before + 1);
}

/// The console's list of checks pages back past the latest 50, and shows on request only the
/// checks still to answer: something found and no feedback yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checks_list_pages_and_shows_what_is_still_to_answer() {
    let h = harness();
    let x = city(&h);
    let id_of = |v: &Value| v["check_id"].as_i64().unwrap();
    let answered = id_of(&check(&h, Role::Handling, &x.a, "ZFCG").await.1);
    let r = h
        .post_json(
            &format!("/api/v1/checks/{answered}/feedback"),
            Role::Handling,
            json!({"outcome": "applied", "measures": ["CJ-ZFCG-01"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let open = id_of(&check(&h, Role::Handling, &x.d, "XZXK").await.1);
    let mut clear = Vec::new();
    for _ in 0..51 {
        clear.push(id_of(&check(&h, Role::Handling, &x.e, "XZXK").await.1));
    }
    let link = |id: i64| format!("<a href=\"/console/checks/{id}\">");
    let page = h
        .get("/console/checks?pending=1", Role::Handling)
        .await
        .text();
    assert!(page.contains(&link(open)), "{page}");
    assert!(!page.contains(&link(answered)), "{page}");
    assert!(!page.contains(&link(clear[0])), "{page}");
    assert!(!page.contains("更早的核查"), "{page}");
    // All checks: the latest 50, then the page before them.
    let first = h.get("/console/checks", Role::Handling).await.text();
    assert!(first.contains(&link(clear[50])), "{first}");
    assert!(!first.contains(&link(open)), "{first}");
    let next = format!("/console/checks?before={}", clear[1]);
    assert!(
        first.contains(&format!("<a href=\"{next}\">更早的核查</a>")),
        "{first}"
    );
    let second = h.get(&next, Role::Handling).await.text();
    assert!(
        second.contains(&link(clear[0]))
            && second.contains(&link(open))
            && second.contains(&link(answered)),
        "{second}"
    );
    // The same by the API, for a department's own system: its checks still to answer, paged.
    let api = h
        .get("/api/v1/checks?pending=true", Role::Handling)
        .await
        .json();
    let ids: Vec<i64> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![open], "{api}");
    let all = h.get("/api/v1/checks?limit=2", Role::Handling).await.json();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let last = all[1]["check_id"].as_i64().unwrap();
    let next = h
        .get(
            &format!("/api/v1/checks?limit=500&before={last}"),
            Role::Handling,
        )
        .await
        .json();
    let answered_row = next
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_id"] == answered)
        .unwrap_or_else(|| panic!("{next}"));
    assert_eq!(answered_row["feedback"], "applied", "{next}");
    // Another unit's officer sees none of them.
    let other = h.token_for(Role::Handling, "盐城市市场监督管理局");
    let r = h.send_as(&other, Method::GET, "/api/v1/checks", None).await;
    assert_eq!(r.json(), json!([]), "{}", r.text());
    assert!(
        !h.trail("check.list", UNIT).is_empty(),
        "the list is a sensitive read"
    );
}

/// Feedback that takes some of a check's measures says why it did not take the others: a
/// 审慎审核 ticked beside an untaken 限制 read as "applied" with nothing on record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_taking_part_of_the_measures_says_why_not_the_rest() {
    let h = harness();
    let x = city(&h);
    let s = import(
        &h,
        UNIT,
        "重点关注名单",
        &list_csv(
            &[(
                "盐城市甲严重失信有限公司",
                &x.a,
                "盐环信〔2026〕19号",
                "一年内两次超标排放",
            )],
            "2027-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "XZXK").await;
    let mut ids = measure_ids(&v);
    ids.sort();
    assert_eq!(ids, ["CJ-XZXK-01", "CJ-XZXK-02"], "{v}");
    let uri = format!(
        "/api/v1/checks/{}/feedback",
        v["check_id"].as_i64().unwrap()
    );
    let r = h
        .post_json(
            &uri,
            Role::Handling,
            json!({"outcome": "applied", "measures": ["CJ-XZXK-02"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("CJ-XZXK-01"), "{}", r.text());
    let r = h
        .post_json(
            &uri,
            Role::Handling,
            json!({"outcome": "applied", "measures": ["CJ-XZXK-02"],
                   "reason": "重点关注名单审慎审核；严重失信名单已于当日移出，经核实不再限制"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // All of them taken: no reason needed.
    let (_, v) = check(&h, Role::Handling, &x.a, "XZXK").await;
    let uri = format!(
        "/api/v1/checks/{}/feedback",
        v["check_id"].as_i64().unwrap()
    );
    let r = h
        .post_json(
            &uri,
            Role::Handling,
            json!({"outcome": "applied", "measures": ["CJ-XZXK-01", "CJ-XZXK-02"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// Incentives are for the trustworthy only: a red-list company whose licence is revoked keeps
/// its entry, but no matter gives it the green channel or priority any more, and the check shows
/// the penalty that withholds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_list_company_with_a_revoked_licence_gets_no_incentive() {
    let h = harness();
    let x = city(&h);
    for matter in ["XZXK", "PYPX"] {
        assert_eq!(
            check(&h, Role::Handling, &x.c, matter).await.1["verdict"],
            "incentive"
        );
    }
    let token = h.token_for(Role::Reporter, UNIT);
    let uc = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let body = json!({"records": [{
        "CF_XDR_MC": "盐城市丙守信科技有限公司", "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": x.c, "CF_FRDB": "张三", "CF_WSH": "盐环罚〔2026〕301号",
        "CF_WFXW": "超标排放", "CF_SY": "经查超标排放大气污染物",
        "CF_YJ": "《中华人民共和国大气污染防治法》第九十九条", "CF_CFLB": "吊销许可证件",
        "CF_NR": "吊销排污许可证", "CF_NR_ZKDX": "排污许可证 盐环许〔2020〕3号",
        "CF_JDRQ": "2026-06-01", "CF_YXQ": "2029-12-31",
        "CF_CFJG": UNIT, "CF_CFJGDM": uc, "CF_SJLY": UNIT, "CF_SJLYDM": uc
    }]});
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .send_as(
            &token,
            Method::POST,
            &format!("/api/v1/submissions?class={}", urlencode("行政处罚")),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["accepted"], 1, "{}", r.text());
    for matter in ["XZXK", "PYPX"] {
        let (_, v) = check(&h, Role::Handling, &x.c, matter).await;
        assert_eq!(v["verdict"], "clear", "{matter}: {v}");
        assert!(measure_ids(&v).is_empty(), "{matter}: {v}");
        let shown: Vec<&str> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["decision_no"].as_str())
            .collect();
        assert!(shown.contains(&"盐环罚〔2026〕301号"), "{matter}: {v}");
        // The console says the reward was withheld, and why — not that the list has no measure.
        let page = h
            .get(
                &format!("/console/checks/{}", v["check_id"].as_i64().unwrap()),
                Role::Handling,
            )
            .await
            .text();
        assert!(
            page.contains("守信激励措施不予适用") && !page.contains("没有对应的惩戒或激励措施"),
            "{page}"
        );
    }
    // A company with nothing to withhold an incentive for is not shown the penalty of another
    // matter: the clean one stays clear and empty.
    let (_, v) = check(&h, Role::Handling, &x.e, "XZXK").await;
    assert_eq!(
        (v["verdict"].as_str(), v["entries"].as_array().map(Vec::len)),
        (Some("clear"), Some(0)),
        "{v}"
    );
}

/// A supplier's own 重大违法记录 — a 责令停产停业 pushed by the environment bureau — forbids it
/// in 政府采购 at the very next check (CJ-ZFCG-02), shown with its 文书号, decision date,
/// 处罚类别 and fine in the JSON, the snippet and the console; 行政许可 is unaffected; a fine
/// under 200万元 with no such category is no hit.
async fn a_serious_penalty_forbids_procurement(h: Harness) {
    let supplier = uscc(201);
    let small = uscc(202);
    assert_eq!(
        check(&h, Role::Handling, &supplier, "ZFCG").await.1["verdict"],
        "clear"
    );
    let token = h.token_for(Role::Reporter, UNIT);
    let uc = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let row = |name: &str, code: &str, no: &str, categories: &str, fine: &str| {
        json!({
            "CF_XDR_MC": name, "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": code,
            "CF_FRDB": "张三", "CF_WSH": no, "CF_WFXW": "超标排放",
            "CF_SY": "经查超标排放大气污染物", "CF_YJ": "《中华人民共和国大气污染防治法》第九十九条",
            "CF_CFLB": categories, "CF_NR": "依法处罚", "CF_NR_FK": fine,
            "CF_JDRQ": "2024-06-10", "CF_YXQ": "2029-12-31", "CF_CFJG": UNIT, "CF_CFJGDM": uc,
            "CF_SJLY": UNIT, "CF_SJLYDM": uc
        })
    };
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let body = json!({"records": [
        row("盐城市停产化工有限公司", &supplier, "盐环罚〔2024〕88号", "罚款;责令停产停业", "30"),
        row("盐城市小额化工有限公司", &small, "盐环罚〔2024〕89号", "罚款", "199.999999"),
    ]});
    let r = h
        .send_as(
            &token,
            Method::POST,
            &format!("/api/v1/submissions?class={}", urlencode("行政处罚")),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["accepted"], 2, "{}", r.text());

    let (_, v) = check(&h, Role::Handling, &supplier, "ZFCG").await;
    assert_eq!(v["verdict"], "forbid", "{v}");
    assert_eq!(measure_ids(&v), vec!["CJ-ZFCG-02".to_string()], "{v}");
    let e = &v["entries"][0];
    assert_eq!(e["class_code"], "CF", "{v}");
    assert_eq!(e["decision_no"], "盐环罚〔2024〕88号", "{v}");
    assert_eq!(e["decided_on"], "2024-06-10", "{v}");
    assert_eq!(e["category"], "罚款、责令停产停业", "{v}");
    assert_eq!(e["fine"], "300000.00", "{v}");
    let id = v["check_id"].as_i64().unwrap();
    let snippet = h
        .get(&format!("/api/v1/checks/{id}/snippet"), Role::Handling)
        .await
        .text();
    for s in [
        "盐环罚〔2024〕88号",
        "处罚决定日期：2024-06-10",
        "处罚类别：罚款、责令停产停业",
        "罚款金额：300000.00元",
        "本主体受到行政处罚",
    ] {
        assert!(snippet.contains(s), "{s}: {snippet}");
    }
    let page = h
        .get(&format!("/console/checks/{id}"), Role::Handling)
        .await
        .text();
    assert!(page.contains("罚款金额：300000.00元"), "{page}");
    assert!(page.contains("盐环罚〔2024〕88号"), "{page}");
    assert!(!page.contains("核查后已变更或移出"), "{page}");

    let (_, x) = check(&h, Role::Handling, &supplier, "XZXK").await;
    assert_eq!(x["verdict"], "clear", "{x}");
    assert_eq!(x["entries"], json!([]), "{x}");
    let (_, s) = check(&h, Role::Handling, &small, "ZFCG").await;
    assert_eq!(s["verdict"], "clear", "{s}");
    // The OpenAPI document describes the trigger and the penalty's fields.
    let doc = h.get("/api/v1/openapi.json", Role::Public).await.json();
    let schemas = &doc["components"]["schemas"];
    let entry = &schemas["EntryView"]["properties"];
    assert!(
        entry["fine"].is_object() && entry["decided_on"].is_object(),
        "{entry}"
    );
    assert!(
        schemas["PenaltyTrigger"]["properties"]["within_years"].is_object(),
        "{}",
        schemas["PenaltyTrigger"]
    );
    assert!(schemas["PenaltyTrigger"]["properties"]["fine_fen"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serious_penalty_forbids_procurement_on_sqlite() {
    a_serious_penalty_forbids_procurement(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serious_penalty_forbids_procurement_on_postgres() {
    a_serious_penalty_forbids_procurement(pg_harness().await).await;
}

/// A financial institution's check of a person shows how the entries it met stand now only
/// while the person's authorisation holds: after the person withdraws it, the old check's
/// snippet and page no longer tell of later exits (polling them would watch the person).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_check_tells_a_lender_nothing_new_once_the_authorisation_ends() {
    let h = harness();
    let x = tokio::task::block_in_place(|| city(&h));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
    let key = views::subject_key(&x.p, &h.state.rules, &h.state.keys, day).unwrap();
    let id = tokio::task::block_in_place(|| {
        h.state.platform.grant_authorisation(
            &store::NewAuthorisation {
                subject_key: &key,
                subject_label: "王某",
                institution: BANK,
                purpose: "授信融资",
                granted_by: "test",
                at: chrono::Utc::now(),
                until: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            },
            day,
            None,
        )
    })
    .unwrap();
    let (st, v) = check(&h, Role::Financial, &key, "JRSX").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_ne!(v["verdict"], "clear", "{v}");
    let check_id = v["check_id"].as_i64().unwrap();
    let uri = format!("/api/v1/checks/{check_id}/snippet");
    let page = format!("/console/checks/{check_id}");
    let before = h.get(&uri, Role::Financial).await.text();
    assert!(before.contains("苏0902执100号"), "{before}");
    tokio::task::block_in_place(|| {
        h.state
            .platform
            .revoke_authorisation(id, &key, "test", chrono::Utc::now(), day, None)
    })
    .unwrap();
    let after = h.get(&uri, Role::Financial).await.text();
    assert!(
        !after.contains("苏0902执100号")
            && after.contains("授权已结束")
            && after.contains("核查时命中")
            && !after.contains("已变更"),
        "{after}"
    );
    let console = h.get(&page, Role::Financial).await.text();
    assert!(
        !console.contains("苏0902执100号") && console.contains("授权已结束"),
        "{console}"
    );
    // The department that checked the same person still sees it as it stands.
    let (_, v) = check(&h, Role::Handling, &x.p, "XZXK").await;
    let theirs = h
        .get(
            &format!("/api/v1/checks/{}/snippet", v["check_id"]),
            Role::Handling,
        )
        .await
        .text();
    assert!(theirs.contains("苏0902执100号"), "{theirs}");
}

/// A check whose record and audit entry cannot be written is not answered: 503 in Chinese
/// (not the store's words as a conflict), counted with the lost audit entries; checks go on
/// once the store takes them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_cannot_be_recorded_is_not_answered() {
    let h = harness();
    let x = city(&h);
    tokio::task::block_in_place(|| {
        h.state
            .platform
            .write(|c| {
                c.batch(
                    "CREATE TRIGGER block_checks BEFORE INSERT ON checks
                     BEGIN SELECT RAISE(ABORT, 'blocked by test'); END",
                )
            })
            .unwrap()
    });
    let r = h
        .post_json(
            "/api/v1/checks",
            Role::Handling,
            json!({"code": x.a, "matter": "ZFCG"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(
        r.text().contains("核查记录及其审计日志未能写入"),
        "{}",
        r.text()
    );
    assert!(!r.text().contains("blocked by test"), "{}", r.text());
    let m = h.get("/metrics", Role::Monitor).await.text();
    assert!(m.contains("xinyong_audit_append_failures_total 1"), "{m}");
    tokio::task::block_in_place(|| {
        h.state
            .platform
            .write(|c| c.batch("DROP TRIGGER block_checks"))
            .unwrap()
    });
    let (status, _) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.get("/readyz", Role::Public).await.status, StatusCode::OK);
}

/// A second server on the same PostgreSQL database, one that does not run the jobs, follows a
/// delisting the first made: its checks change within seconds, not at its next restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_follows_a_delisting_made_on_the_first() {
    use tower::ServiceExt;
    let h = pg_harness().await;
    let x = city(&h);
    let second = tokio::task::block_in_place(|| {
        server::AppState::new(
            h.state.store.clone(),
            h.state.platform.clone(),
            h.state.rules.clone(),
            h.state.keys.clone(),
            h.state.clock.clone(),
            server::Config {
                run_jobs: false,
                ..Default::default()
            },
        )
    })
    .unwrap();
    let (router, shared) = server::app(second);
    let follower = tokio::spawn(server::jobs::follow_lists(shared));
    let check_there = || {
        let req = h
            .request(Method::POST, "/api/v1/checks", Role::Handling, Via::Token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"code": x.a, "matter": "ZFCG"}).to_string(),
            ))
            .unwrap();
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let v = check_there().await;
    assert_eq!(v["verdict"], "forbid", "{v}");
    let record_id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    h.clock
        .set(h.clock.now() + chrono::Duration::milliseconds(10));
    let r = h
        .post_json(
            &format!("/api/v1/lists/{record_id}/actions"),
            Role::Deciding,
            json!({"action": "exit", "reason": "信用修复后提前移出"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        check(&h, Role::Handling, &x.a, "ZFCG").await.1["verdict"],
        "clear"
    );
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = check_there().await;
        if seen["verdict"] == "clear" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen["verdict"], "clear", "still stale after 10 s: {seen}");
    // An exception marked on the first (no record changes: the exceptions' stamp moves) sets
    // the hit aside on the second too.
    let (_, v) = check(&h, Role::Handling, &x.d, "XZXK").await;
    let entry = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let r = h
        .post_json(
            "/api/v1/exceptions",
            Role::Handling,
            json!({"code": x.d, "matter": "XZXK", "record_id": entry, "reason": "同名不同主体"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let there = |code: &str| {
        let req = h
            .request(Method::POST, "/api/v1/checks", Role::Handling, Via::Token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"code": code, "matter": "XZXK"}).to_string(),
            ))
            .unwrap();
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = there(&x.d).await;
        if !seen["suppressed"].as_array().is_none_or(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    follower.abort();
    assert_eq!(seen["suppressed"][0]["record_id"], entry.as_str(), "{seen}");
}

/// A 整改期限 sent in a list file is held to the entry's dates (not before its listing, not after
/// its validity: refused with the field and why), and one that falls on a day off is shown in
/// checks as the working day it runs to, as the overdue job counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_rectification_deadline_is_held_to_the_entrys_dates() {
    let h = harness();
    let x = city(&h);
    let with_deadline = |deadline: &str| {
        list_csv(
            &[(
                "盐城市丁重点关注有限公司",
                &x.d,
                "盐环关〔2026〕9号",
                "多次超标排放",
            )],
            "2027-12-01",
        )
        .replace("MD_YXQZ\n", "MD_YXQZ,MD_ZGQX\n")
        .replace("2027-12-01\n", &format!("2027-12-01,{deadline}\n"))
    };
    for (deadline, says) in [
        ("2026-02-01", "2026-02-01早于列入日期"),
        ("2029-11-01", "早于整改期限（MD_ZGQX）2029-11-01"),
    ] {
        let s = import(&h, UNIT, "重点关注名单", &with_deadline(deadline));
        assert_eq!(s.rejected, 1, "{deadline}: {s:?}");
        let reasons = tokio::task::block_in_place(|| {
            h.state
                .store
                .rejections_page(s.submission_id.unwrap(), 0, 10)
        })
        .unwrap();
        let text = ingest::rejects::reason_text(&reasons[0]);
        assert!(text.contains(says), "{deadline}: {text}");
    }
    // 2026-10-04 is a day of the National Day holiday: the deadline runs to 2026-10-08.
    let s = import(&h, UNIT, "重点关注名单", &with_deadline("2026-10-04"));
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let (_, v) = check(&h, Role::Handling, &x.d, "XZXK").await;
    let entry = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["decision_no"] == "盐环关〔2026〕9号")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(entry["rectify_by"], "2026-10-08", "{entry}");
    // The deciding unit's own list and the check's page say the same.
    let page = h.get("/console/lists", Role::Deciding).await.text();
    assert!(
        page.contains("2026-10-04（遇休息日顺延至2026-10-08）"),
        "{page}"
    );
    let page = h
        .get(
            &format!("/console/checks/{}", v["check_id"]),
            Role::Handling,
        )
        .await
        .text();
    assert!(
        page.contains("2026-10-04（遇休息日顺延至2026-10-08）"),
        "{page}"
    );
}

/// A deadline set on a day off is moved to the next working day and the unit is told so; one
/// counted in a year whose holiday notice is not out carries the calendar's warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rectification_deadline_says_how_it_was_counted() {
    let h = harness();
    let x = city(&h);
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    let id = v["entries"][0]["record_id"].as_str().unwrap().to_string();
    let uri = format!("/api/v1/lists/{id}/actions");
    let rectify = |deadline: &'static str| {
        h.clock
            .set(h.clock.now() + chrono::Duration::milliseconds(10));
        h.post_json(
            &uri,
            Role::Deciding,
            json!({"action": "rectify", "deadline": deadline, "reason": "责令限期整改"}),
        )
    };
    let r = rectify("2026-10-04").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let note = r.json()["note"].as_str().unwrap().to_string();
    assert!(note.contains("顺延至2026-10-08"), "{note}");
    assert!(!note.contains("警告"), "{note}");
    let r = rectify("2027-02-06").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let note = r.json()["note"].as_str().unwrap().to_string();
    assert!(note.contains("顺延至2027-02-09"), "{note}");
    assert!(
        note.contains("2027年的国务院节假日安排通知尚未载入"),
        "{note}"
    );
    let (_, v) = check(&h, Role::Handling, &x.a, "ZFCG").await;
    assert_eq!(v["entries"][0]["rectify_by"], "2027-02-09", "{v}");
}

/// A department subscribes to its subjects in the console (invalid codes said, not dropped),
/// sees them listed, and removes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_subscribes_and_unsubscribes() {
    let h = harness();
    let x = city(&h);
    let r = h
        .post_form(
            "/console/subscriptions",
            Role::Handling,
            &[
                ("codes", &format!("{}\n\n91320900MA1MB4X50X\n", x.a)),
                ("note", "2026年第3批许可持有人"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains("新订阅1个主体") && t.contains("1个代码无效"),
        "{t}"
    );
    let page = h.get("/console/subscriptions", Role::Handling).await.text();
    assert!(
        page.contains(&x.a) && page.contains("2026年第3批许可持有人"),
        "{page}"
    );
    let r = h
        .post_form(
            "/console/subscriptions/remove",
            Role::Handling,
            &[("code", x.a.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = h.get("/console/subscriptions", Role::Handling).await.text();
    assert!(page.contains("尚未订阅主体"), "{page}");
    // Both calls are in the trail, as through the API.
    for action in ["subscription.create", "subscription.remove"] {
        let found = tokio::task::block_in_place(|| {
            h.state.platform.audit_search(&store::AuditQuery {
                action: Some(action.into()),
                limit: 5,
                ..Default::default()
            })
        })
        .unwrap();
        assert!(
            found.iter().any(|e| e.entry.outcome == "ok"),
            "{action}: {found:?}"
        );
    }
}

/// The measures book as loaded is readable in the console by the officers who check against
/// it: matters, each measure with what triggers it, and the 累计失信 rule; not by a reporter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_measures_book_is_readable_in_the_console() {
    let h = harness();
    for role in [Role::Admin, Role::Handling, Role::Deciding] {
        let page = h.get("/console/measures", role).await;
        assert_eq!(page.status, StatusCode::OK, "{role}");
        let t = page.text();
        let book = &h.state.rules.measures;
        let first = &book.measures[0];
        assert!(
            t.contains(&book.version) && t.contains(&first.id) && t.contains(&first.name),
            "{role}: {t}"
        );
        assert!(
            t.contains(&format!("累计达到{}条", book.accumulation.threshold)),
            "{role}: {t}"
        );
        assert!(
            t.contains("政府采购") && t.contains("严重失信主体名单"),
            "{t}"
        );
    }
    for role in [Role::Reporter, Role::Subject] {
        assert_eq!(
            h.get("/console/measures", role).await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
}

/// A retry of a check under the same 办件编号 (the first answer lost on the way) is answered with
/// the check recorded then, not a second one owed feedback (two pending checks for one matter
/// lowered the unit's 反馈率); another subject under the same number is a check of its own.
async fn a_retried_check_with_its_reference_is_the_same_check(h: Harness) {
    let x = city(&h);
    let ask = |code: &str, reference: &str| {
        h.post_json(
            "/api/v1/checks",
            Role::Handling,
            json!({"code": code, "matter": "XZXK", "reference": reference}),
        )
    };
    let first = ask(&x.a, "SP-2026-0001").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["repeated"], false, "{first}");
    assert_eq!(first["reference"], "SP-2026-0001");
    assert_ne!(first["verdict"], "clear", "{first}");
    let id = first["check_id"].as_i64().unwrap();
    let again = ask(&x.a, " SP-2026-0001 ").await.json();
    assert_eq!(again["check_id"], id, "{again}");
    assert_eq!(again["repeated"], true, "{again}");
    assert_eq!(again["verdict"], first["verdict"]);
    assert_eq!(h.trail("check.repeat", &format!("check:{id}")).len(), 1);
    // The snippet names the case it was made for.
    let snippet = h
        .get(&format!("/api/v1/checks/{id}/snippet"), Role::Handling)
        .await
        .text();
    assert!(snippet.contains("办件编号：SP-2026-0001"), "{snippet}");
    // One check waits for feedback, and it carries the number.
    let pending = h
        .get("/api/v1/checks?pending=true", Role::Handling)
        .await
        .json();
    let mine: Vec<&Value> = pending
        .as_array()
        .unwrap_or_else(|| panic!("{pending}"))
        .iter()
        .filter(|c| c["reference"] == "SP-2026-0001")
        .collect();
    assert_eq!(mine.len(), 1, "{pending}");
    assert_eq!(mine[0]["check_id"], id);
    // The same number for the legal representative is another check; without a number, each
    // check is its own.
    let rep = ask(&x.p, "SP-2026-0001").await.json();
    assert_ne!(rep["check_id"], id, "{rep}");
    assert_eq!(rep["repeated"], false);
    let (_, plain) = check(&h, Role::Handling, &x.a, "XZXK").await;
    assert_ne!(plain["check_id"], id, "{plain}");
    // Another unit's officer with the same number makes its own check.
    let other = h.token_for(Role::Handling, OTHER_UNIT);
    let theirs = h
        .send_as(
            &other,
            Method::POST,
            "/api/v1/checks",
            Some(json!({"code": x.a, "matter": "XZXK", "reference": "SP-2026-0001"})),
        )
        .await;
    assert_ne!(theirs.json()["check_id"], id, "{}", theirs.text());
    // The office counts from a day it chooses (the page was fixed to 30 days).
    let today = h.state.clock.now().format("%Y-%m-%d").to_string();
    let page = h
        .get(&format!("/console/joint?since={today}"), Role::Admin)
        .await
        .text();
    assert!(page.contains(&format!("自{today}起核查")), "{page}");
    assert!(
        !page.contains("<span class=\"v\">0</span><span class=\"l\">自"),
        "{page}"
    );
    let later = h
        .get("/console/joint?since=2099-01-01", Role::Admin)
        .await
        .text();
    assert!(
        later.contains("<span class=\"v\">0</span><span class=\"l\">自2099-01-01起核查"),
        "{later}"
    );
    // A number too long is refused, saying so.
    let long = ask(&x.a, &"9".repeat(65)).await;
    assert_eq!(
        long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        long.text()
    );
    assert!(long.text().contains("办件编号"), "{}", long.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_check_with_its_reference_is_the_same_check_on_sqlite() {
    a_retried_check_with_its_reference_is_the_same_check(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_check_with_its_reference_is_the_same_check_on_postgres() {
    a_retried_check_with_its_reference_is_the_same_check(pg_harness().await).await;
}

/// A red-list entry of a subject now on the serious list gives no incentive: the deciding unit's
/// own page says so (it read as plain 在列 there, while the file said 暂停激励).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_red_entry_says_so_on_the_units_own_page() {
    let h = harness();
    let x = tokio::task::block_in_place(|| city(&h));
    let row = |page: &str| -> String {
        page.split("<tr")
            .find(|r| r.contains("盐环信〔2026〕2号"))
            .unwrap_or_else(|| panic!("{page}"))
            .to_string()
    };
    let before = h.get("/console/lists", Role::Deciding).await.text();
    assert!(!row(&before).contains("暂停激励"), "{}", row(&before));
    let s = tokio::task::block_in_place(|| {
        import_now(
            &h,
            UNIT,
            "严重失信主体名单",
            &list_csv(
                &[(
                    "盐城市丙守信科技有限公司",
                    &x.c,
                    "盐环信〔2026〕21号",
                    "伪造监测数据",
                )],
                "2029-03-01",
            ),
        )
    });
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let after = h.get("/console/lists", Role::Deciding).await.text();
    assert!(
        row(&after).contains("暂停激励：同时列入严重失信主体名单"),
        "{}",
        row(&after)
    );
}

/// A unit that keeps only its subscriber reference of a person (R…, as its subscription list
/// gives it) unsubscribes by it (refused before: 长度应为18位); another unit's reference for
/// the same person removes nothing of this unit's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_is_unsubscribed_by_the_units_reference() {
    let h = harness();
    let x = tokio::task::block_in_place(|| city(&h));
    let subscribe = |token: Option<String>| {
        let h = &h;
        let p = x.p.clone();
        async move {
            let body = json!({"codes": [p]});
            let r = match token {
                Some(t) => {
                    h.send_as(&t, Method::POST, "/api/v1/subscriptions", Some(body))
                        .await
                }
                None => {
                    h.post_json("/api/v1/subscriptions", Role::Handling, body)
                        .await
                }
            };
            r.json()["subjects"][0]["subscriber_ref"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let mine = subscribe(None).await;
    let other = h.token_for(Role::Handling, OTHER_UNIT);
    let theirs = subscribe(Some(other)).await;
    assert!(mine.starts_with('R') && theirs.starts_with('R') && mine != theirs);
    let remove = |code: String| {
        h.post_json(
            "/api/v1/subscriptions/remove",
            Role::Handling,
            json!({ "code": code }),
        )
    };
    let r = remove(theirs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["action"], "not_subscribed");
    let r = remove(mine.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["action"], "unsubscribe", "{}", r.text());
    let list = h.get("/api/v1/subscriptions", Role::Handling).await.json();
    assert!(!list.to_string().contains(&mine), "{list}");
    let r = remove(mine).await;
    assert_eq!(r.json()["action"], "not_subscribed");
}

/// Found by a handling department's review. A re-check under the same 办件编号 after the
/// subject was listed records the new verdict (it was answered under the earlier clear check,
/// which took no feedback and counted as clear); a clear check takes no feedback and its line
/// says 无需反馈; ID and mobile numbers in a feedback reason are masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recheck_after_a_listing_is_recorded_anew() {
    let h = harness();
    let x = city(&h);
    let ask = |code: &str| {
        h.post_json(
            "/api/v1/checks",
            Role::Handling,
            json!({"code": code, "matter": "ZFCG", "reference": "SP-2026-1208-001"}),
        )
    };
    let first = ask(&x.f).await.json();
    assert_eq!(first["verdict"], "clear", "{first}");
    let clear_id = first["check_id"].as_i64().unwrap();
    let fb = h
        .post_json(
            &format!("/api/v1/checks/{clear_id}/feedback"),
            Role::Handling,
            json!({"outcome": "not_applicable", "reason": "无"}),
        )
        .await;
    assert_eq!(fb.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", fb.text());
    assert!(fb.text().contains("无需反馈"), "{}", fb.text());
    let list = h.get("/console/checks", Role::Handling).await.text();
    assert!(list.contains("无需反馈</td>"), "{list}");
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市己后来列入有限公司",
                &x.f,
                "盐环信〔2026〕9号",
                "拒不履行行政处罚决定",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    refresh(&h);
    let again = ask(&x.f).await.json();
    assert_eq!(again["verdict"], "forbid", "{again}");
    assert_eq!(again["repeated"], false, "{again}");
    let hit_id = again["check_id"].as_i64().unwrap();
    assert_ne!(hit_id, clear_id, "{again}");
    // The hit is owed feedback; the clear check is not.
    let pending = h
        .get("/api/v1/checks?pending=true", Role::Handling)
        .await
        .json();
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check_id"] == hit_id),
        "{pending}"
    );
    // A retry now is that check's.
    let retry = ask(&x.f).await.json();
    assert_eq!(retry["check_id"], hit_id, "{retry}");
    assert_eq!(retry["repeated"], true, "{retry}");
    // Another listing, and the first withdrawn: the same verdict on other grounds is another
    // check (the stored one named a listing no longer there).
    let first_entry = again["entries"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = import(
        &h,
        UNIT,
        "严重失信主体名单",
        &list_csv(
            &[(
                "盐城市己后来列入有限公司",
                &x.f,
                "盐环信〔2026〕10号",
                "拒不履行行政处罚决定",
            )],
            "2029-03-01",
        ),
    );
    assert_eq!(s.accepted, 1, "{s:?}");
    let r = h
        .post_json(
            &format!("/api/v1/records/{first_entry}/withdraw"),
            Role::Reporter,
            json!({"reason": "认定有误"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    refresh(&h);
    let regrounded = ask(&x.f).await.json();
    assert_eq!(regrounded["verdict"], "forbid", "{regrounded}");
    assert_eq!(regrounded["repeated"], false, "{regrounded}");
    assert_ne!(regrounded["check_id"], hit_id, "{regrounded}");
    // 不适用 with its reason reads as such on the check's page (not 「不适用：；…」).
    let rid = regrounded["check_id"].as_i64().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/checks/{rid}/feedback"),
            Role::Handling,
            json!({"outcome": "not_applicable", "reason": "同名不同主体"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = h
        .get(&format!("/console/checks/{rid}"), Role::Handling)
        .await
        .text();
    assert!(page.contains("不适用：同名不同主体"), "{page}");
    let fb = h
        .post_json(
            &format!("/api/v1/checks/{hit_id}/feedback"),
            Role::Handling,
            json!({"outcome": "applied", "measures": measure_ids(&again),
                   "reason": format!("申请人身份证{} 电话13812345678", x.p)}),
        )
        .await;
    assert_eq!(fb.status, StatusCode::OK, "{}", fb.text());
    let reason = fb.json()["reason"].as_str().unwrap().to_string();
    assert!(
        !reason.contains(&x.p) && !reason.contains("13812345678") && reason.contains("申请人"),
        "{reason}"
    );
}

/// An ID number with a typo that happens to pass the USCC's checks as a suspect code (about one
/// in 31) is refused as a mistyped ID number, in a check, a batch and a subscription alike — it
/// was checked as an unknown organisation, 未发现限制. A subscription accounts for a code it
/// names twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_id_number_is_no_unknown_organisation() {
    let h = harness();
    let x = city(&h);
    let rules = &h.state.rules.ids;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
    // A typo of the listed person's number (one digit) that the USCC's check passes.
    let typo = (0..17)
        .flat_map(|i| (b'0'..=b'9').map(move |d| (i, d)))
        .map(|(i, d)| {
            let mut b = x.p.clone().into_bytes();
            b[i] = d;
            String::from_utf8(b).unwrap()
        })
        .find(|t| {
            *t != x.p
                && matches!(domain::ids::Uscc::parse(t, rules), Ok((_, Some(_))))
                && domain::ids::ResidentId::parse(t, rules, today).is_err()
        })
        .expect("a typo that passes as a suspect USCC");
    let (st, v) = check(&h, Role::Handling, &typo, "ZFCG").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(!v.to_string().contains(&typo), "{v}");
    // Every one-digit typo of the number is refused the same way, whether or not it passes the
    // USCC's checks (a typo in the first six digits passed as an unknown organisation).
    let typos: Vec<String> = (0..18)
        .flat_map(|i| b"0123456789X".iter().map(move |&d| (i, d)))
        .filter_map(|(i, d)| {
            let mut b = x.p.clone().into_bytes();
            if b[i] == d || (d == b'X' && i != 17) {
                return None;
            }
            b[i] = d;
            String::from_utf8(b).ok()
        })
        .collect();
    for t in &typos {
        let (st, v) = check(&h, Role::Handling, t, "ZFCG").await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{t}: {v}");
        assert!(v.to_string().contains("公民身份号码"), "{t}: {v}");
    }
    // A typo in the first six digits that passes the USCC wholly (found in the demo's data: 5th
    // digit of 320925199809168492) is refused too.
    let wholly = "320915199809168492";
    assert!(matches!(
        domain::ids::Uscc::parse(wholly, rules),
        Ok((_, None))
    ));
    let (st, v) = check(&h, Role::Handling, wholly, "ZFCG").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A real all-digit USCC whose first six digits happen to spell a division (社会团体 51 +
    // 南京高淳 320118 reads 513201) is an organisation, checked as one.
    let real = (0..10_000u32)
        .find_map(|k| {
            let org = format!("{:08}", 51_050_000 + k);
            let check = domain::ids::org_code_check(org.as_bytes())?;
            let body = format!("51320118{org}{check}");
            let c = domain::ids::uscc_check_char(body.as_bytes());
            let code = format!("{body}{c}");
            code.bytes().all(|b| b.is_ascii_digit()).then_some(code)
        })
        .expect("an all-digit USCC");
    assert!(matches!(
        domain::ids::Uscc::parse(&real, rules),
        Ok((_, None))
    ));
    let (st, v) = check(&h, Role::Handling, &real, "ZTB").await;
    assert_eq!(st, StatusCode::OK, "{real}: {v}");
    assert_eq!(v["subject"]["kind"], "organisation", "{v}");
    let batch = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=ZFCG",
                Role::Handling,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(format!("代码\n{typo}\n{}\n", x.a)))
            .unwrap(),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.text());
    assert_eq!(batch.json()["invalid"], 1, "{}", batch.text());
    let sub = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [typo, x.a, x.a.to_lowercase()]}),
        )
        .await
        .json();
    assert_eq!(sub["invalid"].as_array().map(Vec::len), Some(1), "{sub}");
    assert_eq!(sub["added"], 1, "{sub}");
    assert_eq!(sub["repeated"], 1, "{sub}");
    assert_eq!(sub["subjects"].as_array().map(Vec::len), Some(2), "{sub}");
    assert_eq!(
        sub["subjects"][0]["subscriber_ref"],
        sub["subjects"][1]["subscriber_ref"]
    );
}

/// A list of applicants with the organisations' codes in one column and the persons' ID numbers
/// in another is checked line by line from whichever is filled (the persons came back 代码为空,
/// unchecked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reads_persons_from_their_own_column() {
    let h = harness();
    let x = city(&h);
    let csv = format!(
        "序号,申请人,统一社会信用代码,身份证号码,法定代表人身份证号码\n1,盐城市戊清白贸易有限公司,{},,\n2,王某,,{},\n3,空行,,,\n4,王某,无,{},\n5,盐城市乙建设工程有限公司,,,{}\n",
        x.e, x.p, x.p, x.p
    );
    let r = h
        .send(
            h.request(
                Method::POST,
                "/api/v1/batches?matter=PYPX",
                Role::Handling,
                Via::Token,
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let b = r.json();
    assert_eq!(
        (
            b["valid"].as_i64(),
            b["invalid"].as_i64(),
            b["duplicates"].as_i64()
        ),
        (Some(2), Some(2), Some(1)),
        "{b}"
    );
    let result = h
        .get(
            &format!("/api/v1/batches/{}/result.csv", b["batch_id"]),
            Role::Handling,
        )
        .await
        .text();
    let person = result
        .lines()
        .find(|l| l.contains(&domain::ids::mask_id_number(&x.p)))
        .unwrap_or_else(|| panic!("{result}"));
    assert!(
        !person.contains("代码为空") && person.contains("有效"),
        "{person}"
    );
    assert!(!result.contains(&x.p), "{result}");
    assert_eq!(result.matches("代码为空").count(), 2, "{result}");
}

/// A department that follows both a company and its legal representative hears of the person's
/// listing once, and that alert names the company it follows (it named a masked ID number only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_alert_names_the_company_the_unit_follows_too() {
    let h = harness();
    let x = city(&h);
    let r = h
        .post_json(
            "/api/v1/subscriptions",
            Role::Handling,
            json!({"codes": [x.b, x.p]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    tokio::task::block_in_place(|| run_jobs(&h));
    court_lists(&h, &x.p, "（2026）苏0902执301号");
    tokio::task::block_in_place(|| run_jobs(&h));
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.json();
    let mine: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["detail"].as_str().is_some_and(|d| d.contains("执301号")))
        .collect();
    assert_eq!(mine.len(), 1, "{alerts}");
    let detail = mine[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "该人为本单位订阅的盐城市乙建设工程有限公司（{}）的法定代表人",
            x.b
        )),
        "{detail}"
    );
    assert!(!detail.contains(&x.p), "{detail}");
    // Its feedback masks the numbers typed into it, as a check's does.
    let id = mine[0]["alert_id"].as_i64().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/alerts/{id}/feedback"),
            Role::Handling,
            json!({"outcome": "noted", "reason": format!("已电话13912345678告知，身份证{}", x.p)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let alerts = h.get("/api/v1/alerts", Role::Handling).await.text();
    assert!(
        !alerts.contains(&x.p) && !alerts.contains("13912345678") && alerts.contains("已电话"),
        "{alerts}"
    );
}
