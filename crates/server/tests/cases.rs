//! Repair and objections through the service: the reminder when a penalty becomes repairable,
//! the subject's records and application, evidence, the deciding unit's worklist and decision,
//! and the effect everywhere — the portal subject page, the 双公示 column, the open-data export,
//! the subject API and the check — plus the 异议处理中 label while an objection is open, the
//! audit entries, statistics, and the same on PostgreSQL.

mod common;

use auth::Role;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use common::*;

const DECISION: &str = "盐环罚〔2026〕1号";

async fn jobs(h: &Harness) -> server::jobs::JobsReport {
    let s = h.state.clone();
    tokio::task::spawn_blocking(move || server::jobs::run_once(&s))
        .await
        .unwrap()
        .unwrap()
}

async fn set_day(h: &mut Harness, day: &str, hour: u32) {
    let t = testkit::day(day).and_hms_opt(hour, 0, 0).unwrap().and_utc();
    h.move_to(t).await;
}

/// A step of case `id` as `role` over the API.
async fn act(h: &Harness, id: i64, role: Role, body: serde_json::Value) -> Reply {
    h.post_json(&format!("/api/v1/cases/{id}/actions"), role, body)
        .await
}

async fn upload(h: &Harness, id: i64, role: Role, bytes: &[u8]) -> Reply {
    h.send(
        h.request(
            Method::POST,
            &format!("/api/v1/cases/{id}/files?name=%E7%BC%B4%E6%AC%BE%E5%87%AD%E8%AF%81.pdf"),
            role,
            Via::Token,
        )
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(Body::from(bytes.to_vec()))
        .unwrap(),
    )
    .await
}

async fn run(mut h: Harness) {
    let org = h.org.clone();
    // The harness's penalty: decided 2026-06-01 (2026 regime, 一般), repairable from 2026-09-02.
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let rec = &mine["records"][0];
    let record_id = rec["record_id"].as_str().unwrap().to_string();
    assert_eq!(rec["repairable_from"], "2026-09-02");
    assert_eq!(rec["public_ends"], "2027-06-01");
    // Titled by its decision number and category, read from the record's items.
    assert_eq!(rec["title"], "盐环罚〔2026〕1号 罚款", "{rec}");
    assert_eq!(rec["may_apply"], false);
    assert!(
        rec["missing"]
            .to_string()
            .contains("自2026-09-02起方可申请")
    );

    // An objection labels the record 异议处理中 on the portal at once; the unit maintains it.
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "reason": "罚款金额与决定书不符"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let oid = r.json()["case_id"].as_i64().unwrap();
    let page = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(page.contains("异议处理中"), "portal label");
    let col = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(col.contains("异议处理中"), "column label");
    jobs(&h).await;
    let view = h
        .get(&format!("/api/v1/cases/{oid}"), Role::Reporter)
        .await
        .json();
    assert_eq!(view["state"], "forwarded");
    assert_eq!(view["record_label"], "异议处理中");
    // The platform's own step is in the audit trail, as the parties' steps are.
    let forwarded = h.trail("case.forward", &format!("case:{oid}"));
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    assert_eq!(forwarded[0].entry.actor, "system:jobs");
    // Another unit's officer is not a party: refused, and the attempt is in the trail.
    let other = h.token_for(Role::Deciding, OTHER_UNIT);
    let probe = h
        .send_as(&other, Method::GET, &format!("/api/v1/cases/{oid}"), None)
        .await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND, "{}", probe.text());
    let trail = h.trail("case.read", &format!("case:{oid}"));
    assert!(
        trail.iter().any(|e| e.entry.outcome == "failed"),
        "{trail:?}"
    );
    // Nor may it learn from an objection or a list action that the record exists, or whose it
    // is: answered as for a missing record.
    let reporter = h.token_for(Role::Reporter, OTHER_UNIT);
    for (token, uri, body) in [
        (
            &reporter,
            "/api/v1/objections".to_string(),
            serde_json::json!({"record_id": record_id, "reason": "试探"}),
        ),
        (
            &other,
            format!("/api/v1/lists/{record_id}/actions"),
            serde_json::json!({"action": "exit", "reason": "试探"}),
        ),
    ] {
        let r = h.send_as(token, Method::POST, &uri, Some(body)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text());
        assert!(!r.text().contains(UNIT), "{uri}: {}", r.text());
    }
    let r = act(
        &h,
        oid,
        Role::Reporter,
        serde_json::json!({"action": "maintain", "reason": "经核实金额无误"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(!page.contains("异议处理中"));
    // The subject is told what it may do next, not only the outcome.
    let told = tokio::task::block_in_place(|| h.state.store.messages("subject", &org, 20)).unwrap();
    assert!(
        told.iter().any(|m| m.title == "异议处理结果"
            && m.body.contains("如有新的证据，可再次提出异议")
            && m.body.contains("行政复议")
            && !m.body.contains("。。")),
        "{told:?}"
    );

    // The subject leaves a mobile number for SMS (a malformed one is refused).
    let r = h
        .post_form(
            "/console/contact",
            Role::Subject,
            &[("phone", "1381234"), ("email", "")],
        )
        .await;
    assert!(r.text().contains("手机号码应为以1开头的11位数字"));
    let r = h
        .post_form(
            "/console/contact",
            Role::Subject,
            &[("phone", "138 1234 5678"), ("email", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        h.get("/console/contact", Role::Subject)
            .await
            .text()
            .contains("138****5678")
    );

    // The day the minimum period ends: the reminder reaches the subject; the unit has the item.
    set_day(&mut h, "2026-09-02", 2).await;
    let rep = jobs(&h).await;
    // Two reminders (the organisation's penalty and the person's, decided the same day); SMS to
    // the organisation's number (its reminder and the objection's answer); the person has no
    // account, so its SMS stays unaddressed (the console message is there when it logs in), as
    // does the objection answer's e-mail (the organisation left no address).
    assert_eq!(
        (rep.cases.reminders, rep.cases.sent, rep.cases.unaddressed),
        (2, 2, 2),
        "{rep:?}"
    );
    let server::OutboxTarget::File(spool) = &h.state.config.outbox else {
        panic!("the harness spools the outbox")
    };
    let spooled = std::fs::read_to_string(spool).unwrap();
    assert_eq!(spooled.lines().count(), 2, "{spooled}");
    assert!(
        spooled
            .lines()
            .all(|l| l.contains("\"recipient\":\"13812345678\"")),
        "{spooled}"
    );
    let msgs = h.get("/api/v1/messages", Role::Subject).await.json();
    assert!(msgs.to_string().contains("可申请信用修复"), "{msgs}");
    let wl = h.get("/api/v1/worklist", Role::Deciding).await.json();
    assert_eq!(wl["reminders"][0]["record_id"], record_id.as_str());
    // The other item's record withdrawn by its unit: nothing to repair, off the worklist.
    let items = wl["reminders"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{wl}");
    // Said how many there are, and paged on from an offset (the list stopped at 500, unsaid).
    assert_eq!(wl["reminders_total"], 2, "{wl}");
    let rest = h
        .get("/api/v1/worklist?reminders_from=1", Role::Deciding)
        .await
        .json();
    assert_eq!(rest["reminders"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["reminders"][0], items[1], "{rest}");
    let page = h.get("/console/cases", Role::Deciding).await.text();
    assert!(page.contains("共2条，按可修复日期排序"), "{page}");
    let past = h
        .get("/console/cases?reminders_from=50", Role::Deciding)
        .await
        .text();
    assert!(
        past.contains("共2条") && past.contains("本页超出范围"),
        "{past}"
    );
    let other = items
        .iter()
        .map(|m| m["record_id"].as_str().unwrap().to_string())
        .find(|r| *r != record_id)
        .unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/records/{other}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "决定已撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The unit that reported it sees the withdrawal it made; the public no longer sees the record.
    let rec = h
        .get(&format!("/api/v1/records/{other}"), Role::Reporter)
        .await;
    assert_eq!(rec.status, StatusCode::OK, "{}", rec.text());
    let versions = rec.json()["record"]["versions"].as_array().unwrap().clone();
    assert_eq!(versions.last().unwrap()["change"], "withdrawn");
    assert_eq!(versions.last().unwrap()["reason"], "决定已撤销");
    assert_eq!(
        h.get(&format!("/api/v1/records/{other}"), Role::Public)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let wl = h.get("/api/v1/worklist", Role::Deciding).await.json();
    let left: Vec<&str> = wl["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["record_id"].as_str().unwrap())
        .collect();
    assert_eq!(left, vec![record_id.as_str()], "{wl}");

    // Apply: without the commitment refused with the reason; with it accepted and routed.
    let r = h
        .post_json(
            "/api/v1/repairs",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "commitment": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("信用修复承诺"), "{}", r.text());
    let r = h
        .post_json(
            "/api/v1/repairs",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "commitment": true, "statement": "罚款已缴清，已完成整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()["case_id"].as_i64().unwrap();
    assert_eq!(r.json()["deadline"], "2026-09-04");
    // While it is handled the record is not offered for another application, nor counted on
    // the subject's home page as one it may make today.
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let rec = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record_id"] == record_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(rec["open_repair"], id, "{rec}");
    assert_eq!(rec["may_apply"], false, "{rec}");
    let home = h.get("/console", Role::Subject).await.text();
    assert!(
        home.contains(r#"<span class="v">0</span><span class="l">今天可申请修复</span>"#),
        "{home}"
    );
    // The signed commitment is public on the subject's page (信用承诺, 信用修复型).
    let page = h
        .get(&format!("/subjects/{org}?tab=CN"), Role::Public)
        .await
        .text();
    assert!(page.contains("信用修复型"), "commitment on the portal");
    // Evidence is checked by content.
    let r = upload(&h, id, Role::Subject, b"MZ\x90\x00 not a pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = upload(&h, id, Role::Subject, b"%PDF-1.4\n%%EOF\n").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let file_id = r.json()[0]["file_id"].as_i64().unwrap();
    let r = h
        .get(
            &format!("/api/v1/cases/{id}/files/{file_id}"),
            Role::Deciding,
        )
        .await;
    assert_eq!(r.body, b"%PDF-1.4\n%%EOF\n");
    // Saved under the name it was uploaded with (缴款凭证.pdf).
    let saved = r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        saved.contains("filename*=UTF-8''%E7%BC%B4%E6%AC%BE%E5%87%AD%E8%AF%81.pdf"),
        "{saved}"
    );
    // The unit's reporters and reviewers handle objections, not repairs: the application and the
    // subject's evidence are not theirs to read.
    for (role, uri) in [
        (Role::Reporter, format!("/api/v1/cases/{id}")),
        (
            Role::Reviewer,
            format!("/api/v1/cases/{id}/files/{file_id}"),
        ),
    ] {
        assert_eq!(
            h.get(&uri, role).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    // Hidden, and in the trail as a refusal.
    assert!(
        !h.trail("access.denied", "GET /api/v1/cases/{id}")
            .is_empty(),
        "a case hidden from a reporter is not in the trail"
    );
    let wl = h.get("/api/v1/worklist", Role::Reporter).await.json();
    assert!(
        wl["open"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] == "objection")
            && wl["reminders"].as_array().unwrap().is_empty(),
        "{wl}"
    );
    let msgs = h.get("/api/v1/messages", Role::Reporter).await.json();
    assert!(
        msgs["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["case_id"] != id),
        "{msgs}"
    );
    let deciding = h.get("/api/v1/worklist", Role::Deciding).await.json();
    assert!(
        deciding["open"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["case_id"] == id),
        "{deciding}"
    );
    let listed = h.get("/api/v1/cases", Role::Reporter).await.json();
    assert!(
        listed["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] == "objection"),
        "{listed}"
    );

    // Only the deciding unit's officers decide; they must confirm the penalty was performed.
    let r = act(
        &h,
        id,
        Role::Reporter,
        serde_json::json!({"action": "accept"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = act(
        &h,
        id,
        Role::Deciding,
        serde_json::json!({"action": "accept"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = act(
        &h,
        id,
        Role::Deciding,
        serde_json::json!({"action": "approve"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("履行行政处罚"), "{}", r.text());
    // Before approval the penalty is public everywhere.
    let before = h
        .get(
            "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
            Role::Public,
        )
        .await
        .text();
    assert!(before.contains(DECISION));
    let r = act(
        &h,
        id,
        Role::Deciding,
        serde_json::json!({"action": "approve", "performed": true, "reason": "已履行"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "approved");

    // Gone from every public view, at once.
    let page = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(!page.contains(DECISION), "portal subject page");
    let col = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(!col.contains(DECISION), "双公示 column");
    let csv = h
        .get(
            "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
            Role::Public,
        )
        .await
        .text();
    assert!(!csv.contains(DECISION), "open data");
    let file = h
        .get(&format!("/api/v1/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(!file.contains(DECISION), "subject API");
    let check = h
        .post_json(
            "/api/v1/checks",
            Role::Handling,
            serde_json::json!({"code": org, "matter": "行政许可"}),
        )
        .await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    assert!(!check.text().contains(&record_id), "check");
    assert_eq!(check.json()["verdict"], "clear");
    // The subject sees it repaired in its own file, and the decision message.
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    assert_eq!(mine["records"][0]["status"], "已修复");
    assert!(
        h.get("/api/v1/messages", Role::Subject)
            .await
            .text()
            .contains("已准予信用修复")
    );

    // The decision is shared by the next jobs pass.
    set_day(&mut h, "2026-09-02", 3).await;
    jobs(&h).await;
    let view = h
        .get(&format!("/api/v1/cases/{id}"), Role::Subject)
        .await
        .json();
    assert_eq!(view["state"], "shared");
    assert_eq!(h.trail("case.share", &format!("case:{id}")).len(), 1);
    let actions: Vec<String> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["submit", "accept", "approve", "share"]);
    // The province pulls the decision from the sharing feed, and continues after it.
    let feed = h
        .get("/api/v1/sharing/feed?after=0", Role::Admin)
        .await
        .json();
    assert_eq!(feed["items"].as_array().unwrap().len(), 1, "{feed}");
    assert!(
        feed["items"][0]["payload"]
            .as_str()
            .unwrap()
            .contains("\"outcome\":\"approved\"")
    );
    let next = feed["next_after"].as_i64().unwrap();
    let more = h
        .get(&format!("/api/v1/sharing/feed?after={next}"), Role::Admin)
        .await
        .json();
    assert!(more["items"].as_array().unwrap().is_empty());

    // Audited: the application, the decision, the evidence read.
    let audit = h.get("/api/v1/audit?limit=200", Role::Auditor).await.text();
    // A page is 1–1000 entries: asking for none or for the whole trail is refused, saying so.
    for bad in ["0", "-1", "1000000"] {
        let r = h
            .get(&format!("/api/v1/audit?limit={bad}"), Role::Auditor)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(r.text().contains("1–1000"), "{}", r.text());
    }
    for a in [
        "repair.apply",
        "case.action",
        "case.file.read",
        "objection.create",
    ] {
        assert!(audit.contains(a), "audit {a}");
    }
    // Statistics for the credit office.
    let st = h
        .get(
            "/api/v1/cases/stats?from=2026-06-01&to=2026-09-30",
            Role::Admin,
        )
        .await
        .json();
    let rows = st["rows"].as_array().unwrap();
    let repair = rows.iter().find(|r| r["kind"] == "repair").unwrap();
    assert_eq!(repair["approved"], 1);
    assert_eq!(repair["max_days"], 0);
    // Cases ended by a withdrawal are a column of their own (none here).
    assert_eq!(repair["ended"], 0);
    let objection = rows.iter().find(|r| r["kind"] == "objection").unwrap();
    assert_eq!(objection["rejected"], 1);

    // Queue depths in the metrics.
    let m = h.get("/metrics", Role::Admin).await.text();
    assert!(
        m.contains("xinyong_jobs{kind=\"repair.share\",state=\"done\"} 1"),
        "{m}"
    );
    assert!(m.contains("xinyong_outbox{state=\"sent\"}"), "{m}");
    // The console pages render for each party.
    let p = h.get("/console/my/records", Role::Subject).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.text().contains("已修复"));
    let p = h.get(&format!("/console/cases/{id}"), Role::Deciding).await;
    assert!(p.text().contains("已办结并共享"), "{}", p.text());
    let officer_events = p.text().split("id=\"events\"").nth(1).unwrap().to_string();
    // The applicant reads which office acted on its case, not the staff's accounts.
    let p = h.get(&format!("/console/cases/{id}"), Role::Subject).await;
    assert_eq!(p.status, StatusCode::OK);
    let events = p.text().split("id=\"events\"").nth(1).unwrap().to_string();
    assert!(
        events.contains("申请人") && events.contains(UNIT),
        "{events}"
    );
    assert!(
        officer_events.contains("接口令牌") || officer_events.contains("deciding"),
        "{officer_events}"
    );
    assert!(
        !events.contains("接口令牌") && !events.contains("deciding"),
        "{events}"
    );
    // The same through the API.
    let v = h
        .get(&format!("/api/v1/cases/{id}"), Role::Subject)
        .await
        .json();
    let actors: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(
        actors.contains(&"申请人") && actors.contains(&UNIT),
        "{actors:?}"
    );
    assert!(
        actors.iter().all(|a| !a.contains(':')),
        "no account or token: {actors:?}"
    );
    // Nor who opened the case or gave its files, here or in the list of its cases.
    let list = h.get("/api/v1/cases", Role::Subject).await.json();
    assert!(!list["cases"].as_array().unwrap().is_empty());
    for all in [v.to_string(), list.to_string()] {
        assert!(!all.contains("user:") && !all.contains("token:"), "{all}");
    }
    let p = h.get("/console/cases/stats", Role::Admin).await;
    assert!(p.text().contains("信用修复"));
    assert!(p.text().contains("<th>记录撤回终结</th>"));
    // Messages to parties with no number on file are counted as such, not as failures.
    let failed = m
        .lines()
        .find(|l| l.starts_with("xinyong_outbox{state=\"failed\"}"))
        .is_some_and(|l| !l.ends_with(" 0"));
    assert_eq!(p.text().contains("发送失败"), failed, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_and_objection_end_to_end_on_sqlite() {
    run(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_and_objection_end_to_end_on_postgres() {
    let h = pg_harness().await;
    run(h).await;
}

/// A routine export of the unit's case system that never took in a correction made on an upheld
/// objection does not undo it (it put the old fine back on the portal, and the case still said
/// 异议成立，已更正): the row is refused saying why, the correction stands; other rows go in.
async fn an_upheld_objections_correction_is_not_undone_by_a_stale_export(h: Harness) {
    let org = h.org.clone();
    let unit_code = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let csv = |fine: &str, no: &str| {
        penalty_csv(&[("盐城市恒泰化工有限公司", "法人及非法人组织", &org, no)])
            .replace("11320900001401484X", &unit_code)
            .replace("处罚款0.5万元,0.5", &format!("处罚款{fine}万元,{fine}"))
    };
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let record_id = mine["records"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "reason": "决定书载明罚款0.3万元"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let oid = r.json()["case_id"].as_i64().unwrap();
    jobs(&h).await;
    let import = |csv: String| {
        let s = h.state.clone();
        tokio::task::block_in_place(move || import_csv(&s, UNIT, "行政处罚", &csv))
    };
    let s = import(csv("0.3", DECISION));
    assert_eq!(s.corrected, 1, "{s:?}");
    let r = act(
        &h,
        oid,
        Role::Reporter,
        serde_json::json!({"action": "correct", "reason": "经核实决定书罚款0.3万元，已更正"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The case system's export: the old fine, and a new decision beside it.
    let stale = format!(
        "{}{}",
        csv("0.5", DECISION),
        csv("0.2", "盐环罚〔2026〕77号").lines().nth(1).unwrap()
    );
    let s = import(stale.clone());
    assert_eq!((s.created, s.corrected, s.rejected), (1, 0, 1), "{s:?}");
    let sid = s.submission_id.unwrap();
    let rejected = tokio::task::block_in_place(|| h.state.store.rejections(sid)).unwrap();
    let reason = &rejected[0].problems[0].reason;
    assert!(
        reason.contains(&format!("第{oid}号异议")) && reason.contains("未予采用"),
        "{reason}"
    );
    let public = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(
        public.contains("3000.00") && !public.contains("5000.00"),
        "{public}"
    );
    // Nor does the old content under another writing of the number: that row's record is
    // withdrawn at once, saying why, and the corrected record stands.
    let s = import(csv("0.5", "盐环罚〔2026〕第01号"));
    assert_eq!(s.created, 1, "{s:?}");
    assert!(
        s.notices
            .iter()
            .any(|n| n.contains(&format!("第{oid}号异议中核实更正")) && n.contains("不予公示")),
        "{:?}",
        s.notices
    );
    let public = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(
        public.contains("3000.00") && !public.contains("5000.00"),
        "{public}"
    );
    // Other content is a correction as any other.
    let s = import(csv("0.4", DECISION));
    assert_eq!(s.corrected, 1, "{s:?}");
    // An open objection is not ended by another writing of the number: it waits for the
    // unit's answer, and the record it is about stays. (A minute on: the forwarding job of an
    // objection is keyed by its record and time.)
    h.clock
        .set(domain::clock::Clock::now(h.clock.as_ref()) + chrono::Duration::minutes(1));
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "reason": "处罚日期有误"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let open = r.json()["case_id"].as_i64().unwrap();
    let s = import(csv("0.4", "盐环罚〔2026〕第001号"));
    assert!(
        s.notices
            .iter()
            .any(|n| n.contains(&format!("第{open}号")) && n.contains("不予公示")),
        "{:?}",
        s.notices
    );
    let case = tokio::task::block_in_place(|| h.state.store.case(open))
        .unwrap()
        .unwrap();
    assert!(
        ["submitted", "forwarded"].contains(&case.state.as_str()),
        "{}",
        case.state
    );
    // Withdrawn on an upheld objection, the decision written otherwise does not come back.
    jobs(&h).await;
    let r = act(
        &h,
        open,
        Role::Reporter,
        serde_json::json!({"action": "withdraw_record", "reason": "经核实非本主体"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let s = import(csv("0.4", "盐环罚〔2026〕0001号"));
    assert!(
        s.notices
            .iter()
            .any(|n| n.contains(&format!("第{open}号异议中核实后撤销"))),
        "{:?}",
        s.notices
    );
    let public = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(
        !public.contains(DECISION) && !public.contains("〔2026〕0001号"),
        "{public}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upheld_objections_correction_is_not_undone_on_sqlite() {
    an_upheld_objections_correction_is_not_undone_by_a_stale_export(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upheld_objections_correction_is_not_undone_on_postgres() {
    an_upheld_objections_correction_is_not_undone_by_a_stale_export(pg_harness().await).await;
}

/// An objection and a step of its case write their audit entry before they commit: when the
/// trail cannot take it, nothing is opened or moved and the answer is 503; when it can, one
/// entry says each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_or_its_step_does_not_stand_without_its_audit_entry() {
    let h = harness();
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let record_id = mine["records"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let object = || {
        h.post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "reason": "罚款金额与决定书不符"}),
        )
    };
    let open = || {
        tokio::task::block_in_place(|| h.state.store.open_case_of("objection", &record_id)).unwrap()
    };
    h.block_audit(true);
    let r = object().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(open().is_none(), "an objection opened without its entry");
    h.block_audit(false);
    let r = object().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let oid = r.json()["case_id"].as_i64().unwrap();
    assert_eq!(open().map(|c| c.case_id), Some(oid));
    let made = h.trail("objection.create", &record_id);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        made[0].entry.detail.as_deref(),
        Some(format!("case={oid}").as_str())
    );
    jobs(&h).await;
    let state = || {
        tokio::task::block_in_place(|| h.state.store.case(oid))
            .unwrap()
            .unwrap()
            .state
    };
    assert_eq!(state(), "forwarded");
    let maintain = serde_json::json!({"action": "maintain", "reason": "经核实金额无误"});
    h.block_audit(true);
    let r = act(&h, oid, Role::Reporter, maintain.clone()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.text().contains("未作任何更改"), "{}", r.text());
    assert_eq!(state(), "forwarded", "a step stood without its entry");
    h.block_audit(false);
    let r = act(&h, oid, Role::Reporter, maintain).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_ne!(state(), "forwarded");
    assert_eq!(h.outcomes("case.action", &format!("case:{oid}")), ["ok"]);
    // The entry names the step and the record: the auditor reads the trail, not the case.
    let step = h.trail("case.action", &format!("case:{oid}"));
    let said = step[0].entry.detail.clone().unwrap_or_default();
    assert!(
        said.contains("maintain（维持原记录）: 经核实金额无误")
            && said.contains(&format!("record={record_id}")),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_forms_apply_and_decide() {
    let mut h = harness();
    set_day(&mut h, "2026-09-03", 2).await;
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let record_id = mine["records"][0]["record_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{mine}"))
        .to_string();
    let page = h.get("/console/my/records", Role::Subject).await.text();
    assert!(page.contains("在线申请信用修复"), "{page}");
    // The multipart form of the page: commitment, statement, a PDF.
    let csrf = h.sessions[&Role::Subject].1.clone();
    let b = "XyB";
    // More files than the rules take: refused before the form is read whole, and the attempt
    // is on the trail with why.
    let many: String = (0..=h.state.rules.workflows.evidence.max_files)
        .map(|i| {
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p{i}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n%%EOF\n\r\n"
            )
        })
        .collect();
    let r = h
        .send(
            h.request(
                Method::POST,
                "/console/my/repairs",
                Role::Subject,
                Via::Session,
            )
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n{many}--{b}--\r\n"
            )))
            .unwrap(),
        )
        .await;
    assert!(r.text().contains("个文件"), "{}", r.text());
    let refused = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("repair.apply".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(
        refused.iter().any(|e| e.entry.outcome == "failed"
            && e.entry
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("个文件"))),
        "{refused:?}"
    );
    // A 3 MB scan: above axum's default body limit, within the rules' 10 MB.
    let scan = format!("%PDF-1.4\n{}\n%%EOF\n", " ".repeat(3 << 20));
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"record_id\"\r\n\r\n{record_id}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"commitment\"\r\n\r\nyes\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"statement\"\r\n\r\n已缴纳罚款\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"receipt.pdf\"\r\nContent-Type: application/pdf\r\n\r\n{scan}\r\n\
         --{b}--\r\n"
    );
    let r = h
        .send(
            h.request(
                Method::POST,
                "/console/my/repairs",
                Role::Subject,
                Via::Session,
            )
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let id: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
    let page = h.get(&to, Role::Subject).await.text();
    assert!(page.contains("receipt.pdf") && page.contains("信用修复承诺"));
    // The evidence it was opened with is named in its entry in the trail.
    let entry = h.trail("repair.apply", &record_id);
    let detail = entry[0].entry.detail.clone().unwrap_or_default();
    assert!(
        detail.contains(&format!("case={id}")) && detail.contains("证明材料1个：receipt.pdf"),
        "{detail}"
    );
    // Without the CSRF token the form is refused.
    let r = h
        .send(
            h.request(
                Method::POST,
                &format!("/console/cases/{id}/actions"),
                Role::Deciding,
                Via::Session,
            )
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
            .body(Body::from(format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\naccept\r\n--{b}--\r\n"
            )))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Said as a page to refresh, not as a role without the right.
    assert!(r.text().contains("页面已过期"), "{}", r.text());
    let csrf = h.sessions[&Role::Deciding].1.clone();
    let mut asked = false;
    for (action, performed) in [
        ("accept", ""),
        ("request_materials", ""),
        ("approve", "yes"),
    ] {
        if action == "approve" {
            // While the unit waits for more material its clock stops: the page says so.
            let page = h.get(&to, Role::Subject).await.text();
            assert!(page.contains("办理时限暂停"), "{page}");
            let r = h
                .post_json(
                    &format!("/api/v1/cases/{id}/actions"),
                    Role::Subject,
                    serde_json::json!({"action": "supplement", "reason": "已补充缴款凭证"}),
                )
                .await;
            assert!(r.status.is_success(), "{}", r.text());
            asked = true;
        }
        let r = h
            .send(
                h.request(
                    Method::POST,
                    &format!("/console/cases/{id}/actions"),
                    Role::Deciding,
                    Via::Session,
                )
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
                .body(Body::from(format!(
                    "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
                     --{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n{action}\r\n\
                     --{b}\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\n请补充缴款凭证。\r\n\
                     --{b}\r\nContent-Disposition: form-data; name=\"performed\"\r\n\r\n{performed}\r\n\
                     --{b}--\r\n"
                )))
                .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{action}: {}", r.text());
    }
    let c = h.state.store.case(id).unwrap().unwrap();
    assert!(asked);
    assert_eq!(c.state, "approved");
    // The subject was asked in the officer's words, once ended, to add to this application.
    let told = h
        .state
        .store
        .messages("subject", &c.subject_key, 50)
        .unwrap();
    let asked = told
        .iter()
        .find(|m| m.title.contains("请补充"))
        .expect("asked for material");
    assert!(
        asked
            .body
            .contains("请补充缴款凭证。请登录后在原申请中补充材料")
            && asked.body.contains(&format!("申请（编号{}）", c.case_id))
            && !asked.body.contains("。。"),
        "{}",
        asked.body
    );
    assert_eq!(c.performed, Some(true));
}

/// A unit's staff name their own record by its 文书号 in the console's 主动异议 form (the record
/// id is a hash no one has at hand); an unknown number says what to type instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_objects_to_its_own_record_by_its_document_number() {
    let h = harness();
    let form = |record: &str| {
        let csrf = h.sessions[&Role::Reviewer].1.clone();
        let b = "XyBoundary7";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"record_id\"\r\n\r\n{record}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\n罚款金额录入有误\r\n--{b}--\r\n"
        );
        h.request(
            Method::POST,
            "/console/my/objections",
            Role::Reviewer,
            Via::Session,
        )
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .body(Body::from(body))
        .unwrap()
    };
    let r = h.send(form("盐环罚〔2026〕99号")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(r.text().contains("记录编号"), "{}", r.text());
    let r = h.send(form("盐环罚〔2026〕1号")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let case = r.headers["location"].to_str().unwrap().to_string();
    let page = h.get(&case, Role::Reviewer).await.text();
    // The case names the record as people know it.
    assert!(page.contains("行政处罚 盐环罚〔2026〕1号"), "{page}");
    assert!(page.contains("异议处理中"), "{page}");
}

/// A subject's console home says what it has come to see: its records in publicity, what it may
/// apply for today, and its applications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subjects_home_counts_its_records_and_applications() {
    let h = harness();
    let home = h.get("/console", Role::Subject).await;
    assert_eq!(home.status, StatusCode::OK);
    let text = home.text();
    // Each figure is its value, then its label.
    let figure = |label: &str| -> String {
        let at = text
            .find(label)
            .unwrap_or_else(|| panic!("{label}: {text}"));
        text[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_string()
    };
    let records = h.get("/api/v1/my/records", Role::Subject).await.json();
    let public = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "公示中")
        .count();
    assert!(public > 0, "{records}");
    assert_eq!(figure("公示中的记录"), public.to_string());
    assert_eq!(figure("办理中的申请"), "0");
    assert!(text.contains("/console/my/records"));
}

/// A subject reads its fines in 元 under a label that says 元 (it read 罚款金额（万元）5000.00),
/// and a record withdrawn has no publicity dates left to show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subjects_records_say_yuan_and_no_window_once_withdrawn() {
    let h = harness();
    let card = |page: &str, no: &str| -> String {
        page.split("<section class=\"card record\"")
            .find(|c| c.contains(no))
            .unwrap_or_else(|| panic!("{page}"))
            .to_string()
    };
    let page = h.get("/console/my/records", Role::Subject).await.text();
    let c = card(&page, DECISION);
    assert!(c.contains("<dt>罚款金额（元）</dt><dd>5000.00</dd>"), "{c}");
    assert!(!c.contains("万元）</dt>"), "{c}");
    assert!(
        c.contains("公示截止日期") && c.contains("可申请修复日期"),
        "{c}"
    );
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let rec = &mine["records"][0];
    let item = rec["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"] == "5000.00")
        .unwrap_or_else(|| panic!("{rec}"));
    assert_eq!(item["name"], "罚款金额（元）", "{rec}");
    let id = rec["record_id"].as_str().unwrap().to_string();
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "决定已撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let rec = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{mine}"))
        .clone();
    assert_eq!(rec["status"], "已撤回", "{rec}");
    assert!(
        rec["public_ends"].is_null() && rec["repairable_from"].is_null(),
        "{rec}"
    );
    // Withdrawn when: the day is said beside it.
    let today = h.state.clock.now().format("%Y-%m-%d").to_string();
    assert_eq!(rec["ended_on"], today.as_str(), "{rec}");
    let page = h.get("/console/my/records", Role::Subject).await.text();
    let c = card(&page, DECISION);
    assert!(c.contains(&format!("已撤回（{today}）")), "{c}");
    // And what changed, when and why, as officers read it.
    let history = c
        .split("变更记录（2个版本）")
        .nth(1)
        .unwrap_or_else(|| panic!("{c}"));
    assert!(
        history.contains("撤回") && history.contains("决定已撤销"),
        "{history}"
    );
    assert!(
        !c.contains("公示截止日期") && !c.contains("可申请修复日期"),
        "{c}"
    );
}

/// A subject's records of every class are its own to see and object to in the console — a tax
/// grade it disputes, not only its penalties — while repair stays with penalties; an objection
/// to such a record counts on its home page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_objects_to_a_record_of_any_class() {
    let h = harness();
    let csv = format!(
        "纳税人名称,纳税人识别号（统一社会信用代码）,评价年度,纳税信用级别,评定日期,评定机关\n\
         盐城市恒泰化工有限公司,{},2025,B,2026-04-20,国家税务总局盐城市税务局\n",
        h.org
    );
    let s = tokio::task::block_in_place(|| {
        import_csv(&h.state, "国家税务总局盐城市税务局", "纳税信用等级", &csv)
    });
    assert_eq!(s.accepted, 1, "{s:?}");
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let grade = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["class_code"] == "NSXY")
        .unwrap_or_else(|| panic!("no tax grade in {mine}"))
        .clone();
    assert_eq!(grade["title"], "2025", "{grade}");
    assert_eq!(grade["may_apply"], false);
    // A grade below A is not on the portal but read by the banks the subject authorises: said
    // so (it read 不公示, as a 轻微 penalty no one outside reads).
    assert_eq!(grade["status"], "有效（不公示，仅依授权共享）", "{grade}");
    let record_id = grade["record_id"].as_str().unwrap().to_string();
    let page = h.get("/console/my/records", Role::Subject).await.text();
    let card = page
        .split("<section class=\"card record\"")
        .find(|c| c.contains(&record_id))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        card.contains("纳税信用等级") && card.contains("报送单位"),
        "{card}"
    );
    assert!(card.contains("对该记录提出异议"), "{card}");
    assert!(!card.contains("信用修复"), "{card}");
    // A record of a class shared on conditions (not on the portal, read by the banks the
    // subject authorises) is in force, said so, and open to objection.
    let qz = format!(
        "QZ_XDR_MC,QZ_XDR_LB,QZ_XDR_SHXYM,QZ_WSH,QZ_LB,QZ_SY,QZ_YJ,QZ_NR,QZ_JDRQ,QZ_SSJG
         盐城市恒泰化工有限公司,法人及非法人组织,{},盐环强〔2026〕9号,查封场所、设施或者财物,超标排放,《中华人民共和国行政强制法》第二十二条,查封排污设备,2026-05-20,盐城市生态环境局
",
        h.org
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政强制", &qz));
    assert_eq!(s.accepted, 1, "{s:?}");
    let page = h.get("/console/my/records", Role::Subject).await.text();
    let card = page
        .split("<section class=\"card record\"")
        .find(|c| c.contains("盐环强〔2026〕9号"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        card.contains("有效（不公示，仅依授权共享）") && card.contains("对该记录提出异议"),
        "{card}"
    );
    // Its content, as reported: what the subject objects to, and what a bank would read.
    assert!(
        card.contains("<dt>行政强制内容</dt><dd>查封排污设备</dd>"),
        "{card}"
    );
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "reason": "2025年度评价有误，已申请复评"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let home = h.get("/console", Role::Subject).await.text();
    let at = home.find("异议处理中").unwrap_or_else(|| panic!("{home}"));
    let figure = home[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    assert_eq!(figure, "1", "{home}");
}

/// 信用修复 by leaving a list early (移出严重失信主体名单): the subject applies online with its
/// commitment, the deciding unit that listed it decides, and the entry leaves the list — in the
/// next check at once, in the entry's history, and in the subject's messages.
/// The harness's organisation is put on the serious-dishonesty list (盐环信〔2026〕9号) and the
/// list index reads it.
async fn list_serious(h: &Harness) {
    let org = h.org.clone();
    let csv = format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{org},严重失信主体名单,盐环信〔2026〕9号,拒不履行行政处罚决定,《社会信用体系建设有关规定》,{UNIT},2026-03-01,2029-03-01\n"
    );
    let s = h.state.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let sum = import_csv(&s, UNIT, "严重失信主体名单", &csv);
        s.lists.refresh(&s.store, &s.platform, &s.rules).unwrap();
        sum
    })
    .await
    .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
}

async fn leave_the_list_on_application(mut h: Harness) {
    let org = h.org.clone();
    list_serious(&h).await;
    let check = async |h: &Harness| {
        let r = h
            .post_json(
                "/api/v1/checks",
                Role::Handling,
                serde_json::json!({"code": org, "matter": "政府采购"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    };
    let before = check(&h).await;
    assert_ne!(before["verdict"], "clear", "{before}");

    // The subject sees the entry as one it may apply to leave.
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let entry = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["class_code"] == "YZSX")
        .unwrap_or_else(|| panic!("no list entry in {mine}"))
        .clone();
    assert_eq!(entry["may_apply"], true, "{entry}");
    let record_id = entry["record_id"].as_str().unwrap().to_string();
    let page = h.get("/console/my/records", Role::Subject).await.text();
    assert!(page.contains("在线申请提前移出名单"), "{page}");

    let apply = async |commitment: bool| {
        h.post_json(
            "/api/v1/repairs",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "commitment": commitment, "statement": "罚款已缴清，已整改到位"}),
        )
        .await
    };
    let r = apply(false).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("信用修复承诺"), "{}", r.text());
    let r = apply(true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()["case_id"].as_i64().unwrap();
    // The commitment is public, and stays so after the entry leaves its list: it does not
    // name the list (nor its decision).
    let page = h
        .get(&format!("/subjects/{org}?tab=CN"), Role::Public)
        .await
        .text();
    assert!(page.contains("信用修复型"), "{page}");
    let file = h
        .get(&format!("/api/v1/subjects/{org}"), Role::Public)
        .await
        .json();
    let matter: Vec<String> = file["classes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "CN")
        .flat_map(|c| c["records"].as_array().unwrap().clone())
        .flat_map(|r| r["items"].as_array().unwrap().clone())
        .filter(|i| i["code"] == "CN_SX")
        .map(|i| i["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(matter.len(), 1, "{file}");
    // The commitment is registered under the unit that handles the case, but it is the
    // subject's: the unit can withdraw neither its batch nor its record.
    let batches = h.get("/api/v1/submissions", Role::Reporter).await.json();
    let signed: Vec<i64> = batches
        .as_array()
        .unwrap_or_else(|| panic!("{batches}"))
        .iter()
        .filter(|b| b["class_code"] == "CN")
        .map(|b| {
            assert_eq!(b["channel"], "case", "{b}");
            b["submission_id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(signed.len(), 1, "{batches}");
    let r = h
        .post_json(
            &format!("/api/v1/submissions/{}/withdraw", signed[0]),
            Role::Reporter,
            serde_json::json!({"reason": "误报"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("信用修复承诺"), "{}", r.text());
    let commitment_id = file["classes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "CN")
        .flat_map(|c| c["records"].as_array().unwrap().clone())
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .next()
        .unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/records/{commitment_id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "误报"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("信用修复承诺"), "{}", r.text());
    assert!(
        matter[0].contains("申请信用修复") && !matter[0].contains("名单"),
        "{matter:?}"
    );
    // Routed to the unit that listed it: another unit's officer cannot see it.
    let other = h.token_for(Role::Deciding, OTHER_UNIT);
    let probe = h
        .send_as(&other, Method::GET, &format!("/api/v1/cases/{id}"), None)
        .await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND, "{}", probe.text());
    let view = h
        .get(&format!("/api/v1/cases/{id}"), Role::Deciding)
        .await
        .json();
    assert_eq!(view["unit"], UNIT, "{view}");
    let r = act(
        &h,
        id,
        Role::Deciding,
        serde_json::json!({"action": "accept"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The unit confirms the behaviour corrected before it approves.
    let r = act(
        &h,
        id,
        Role::Deciding,
        serde_json::json!({"action": "approve"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("纠正失信行为"), "{}", r.text());
    let still = check(&h).await;
    assert_ne!(still["verdict"], "clear", "{still}");
    // The decision a moment after the listing, as in life (the index reads what changed after
    // the newest change it has seen).
    h.clock
        .set(domain::clock::Clock::now(h.clock.as_ref()) + chrono::Duration::seconds(1));
    let r = act(
        &h,
        id,
        Role::Deciding,
        serde_json::json!({"action": "approve", "performed": true, "reason": "已纠正，符合移出规定"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "approved");

    // Off the list in the next check, and in the entry's history as an exit.
    let after = check(&h).await;
    assert_eq!(after["verdict"], "clear", "{after}");
    let rec = h
        .get(&format!("/api/v1/records/{record_id}"), Role::Deciding)
        .await
        .json();
    let last = rec["record"]["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["change"], "exited", "{rec}");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("信用修复申请{id}")),
        "{last}"
    );
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let entry = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record_id"] == record_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["status"], "已移出", "{entry}");
    assert_eq!(entry["may_apply"], false, "{entry}");
    assert!(
        h.get("/api/v1/messages", Role::Subject)
            .await
            .text()
            .contains("移出严重失信主体名单")
    );
    // Subscribers hear of the exit as of the deciding unit's own.
    let s = h.state.clone();
    let events = tokio::task::spawn_blocking(move || s.store.pending_events(100).unwrap())
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.change == "exited" && e.class_code == "YZSX"),
        "{events:?}"
    );
    // Nothing left to apply for.
    let r = apply(true).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("已提前移出"), "{}", r.text());
    assert_eq!(h.trail("repair.apply", &record_id).len(), 3);

    // An entry the unit takes off its list itself while an application to leave it is open
    // ends that application, and the subject is told why.
    let csv = format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{org},重点关注名单,盐环信〔2026〕10号,一年内两次超标排放,《社会信用体系建设有关规定》,{UNIT},2026-03-01,2028-03-01\n"
    );
    let s = h.state.clone();
    let summary = tokio::task::spawn_blocking(move || import_csv(&s, UNIT, "重点关注名单", &csv))
        .await
        .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let focus = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["class_code"] == "ZDGZ")
        .unwrap_or_else(|| panic!("no focus entry in {mine}"))["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .post_json(
            "/api/v1/repairs",
            Role::Subject,
            serde_json::json!({"record_id": focus, "commitment": true, "statement": "已完成整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let open = r.json()["case_id"].as_i64().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/lists/{focus}/actions"),
            Role::Deciding,
            serde_json::json!({"action": "revoke", "reason": "认定依据不足"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let view = h
        .get(&format!("/api/v1/cases/{open}"), Role::Subject)
        .await
        .json();
    assert_eq!(view["state"], "ended", "{view}");
    assert!(
        h.get("/api/v1/messages", Role::Subject)
            .await
            .text()
            .contains("所涉名单记录的认定已由认定单位撤销"),
    );
    // The subject's own list says the listing was revoked, not that the entry "left".
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let revoked = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record_id"] == focus.as_str())
        .unwrap()
        .clone();
    assert_eq!(revoked["status"], "已撤销认定", "{revoked}");

    // An entry the province's feed brought (decided by a unit outside the city) is not offered:
    // the subject is told where to apply.
    const FEED: &str = "江苏省公共信用信息平台（回流）";
    let csv = format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{org},严重失信主体名单,苏税信〔2026〕3号,欠缴税款,《重大税收违法失信主体信息公布管理办法》,国家税务总局江苏省税务局,2026-03-01,2029-03-01\n"
    );
    let s = h.state.clone();
    let summary =
        tokio::task::spawn_blocking(move || import_csv(&s, FEED, "严重失信主体名单", &csv))
            .await
            .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let fed = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"].as_str().is_some_and(|t| t.contains("苏税信")))
        .unwrap_or_else(|| panic!("no fed entry in {mine}"))
        .clone();
    assert_eq!(fed["may_apply"], false, "{fed}");
    assert!(fed["missing"].to_string().contains("信用中国"), "{fed}");
    let r = h
        .post_json(
            "/api/v1/repairs",
            Role::Subject,
            serde_json::json!({"record_id": fed["record_id"], "commitment": true, "statement": "已缴清税款"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("请向认定单位申请"), "{}", r.text());

    // An entry that expires while an application to leave it is open: the platform's expiry
    // ends the application, and says it was the expiry (no unit acted).
    let csv = format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{org},重点关注名单,盐环信〔2026〕11号,一年内两次超标排放,《社会信用体系建设有关规定》,{UNIT},2026-03-01,2026-06-30\n"
    );
    let s = h.state.clone();
    let summary = tokio::task::spawn_blocking(move || import_csv(&s, UNIT, "重点关注名单", &csv))
        .await
        .unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let short = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"].as_str().is_some_and(|t| t.contains("11号")))
        .unwrap_or_else(|| panic!("no entry in {mine}"))["record_id"]
        .clone();
    let r = h
        .post_json(
            "/api/v1/repairs",
            Role::Subject,
            serde_json::json!({"record_id": short, "commitment": true, "statement": "已完成整改"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let open = r.json()["case_id"].as_i64().unwrap();
    set_day(&mut h, "2026-07-02", 3).await;
    jobs(&h).await;
    let view = h
        .get(&format!("/api/v1/cases/{open}"), Role::Subject)
        .await
        .json();
    assert_eq!(view["state"], "ended", "{view}");
    let ended = view["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(ended["actor"], "平台", "{view}");
    assert!(
        h.get("/api/v1/messages", Role::Subject)
            .await
            .text()
            .contains("有效期届满，已到期移出名单"),
    );
    // The unit it was routed to is told it has nothing left to decide.
    let told = h.get("/api/v1/messages", Role::Deciding).await.text();
    assert!(told.contains(&format!("（编号{open}）")), "{told}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_leaves_the_serious_list_on_application_on_sqlite() {
    leave_the_list_on_application(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_leaves_the_serious_list_on_application_on_postgres() {
    leave_the_list_on_application(pg_harness().await).await;
}

/// A deciding unit that records an early exit itself (an application received on paper) is held
/// to the least time on the list the subject's own application is held to: market regulation's
/// twelve months, counted without the listing day. An entry listed long enough leaves.
async fn a_units_early_exit_keeps_the_least_time_on_the_list(h: Harness) {
    let market = "盐城市市场监督管理局";
    let today = h.state.clock.today();
    let recent = today - chrono::Duration::days(30);
    let old = today.checked_sub_months(chrono::Months::new(13)).unwrap();
    let ends = |on: chrono::NaiveDate| domain::calendar::add_months(on, 36);
    let b17 = "91320902MA1PQ7R8X";
    let b = format!("{b17}{}", domain::ids::uscc_check_char(b17.as_bytes()));
    let a = h.org.clone();
    let csv = format!(
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{a},严重失信主体名单,盐市监认〔2026〕3号,提交虚假材料取得登记,《市场监督管理严重违法失信名单管理办法》,{market},{recent},{}\n\
         盐城市乙方贸易有限公司,法人及非法人组织,{b},严重失信主体名单,盐市监认〔2025〕8号,提交虚假材料取得登记,《市场监督管理严重违法失信名单管理办法》,{market},{old},{}\n",
        ends(recent),
        ends(old),
    );
    let s = h.state.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let sum = import_csv(&s, market, "严重失信主体名单", &csv);
        s.lists.refresh(&s.store, &s.platform, &s.rules).unwrap();
        sum
    })
    .await
    .unwrap();
    assert_eq!(summary.accepted, 2, "{summary:?}");
    let officer = h.token_for(Role::Deciding, market);
    let entry = async |code: &str| {
        let r = h
            .send_as(
                &officer,
                Method::POST,
                "/api/v1/checks",
                Some(serde_json::json!({"code": code, "matter": "政府采购"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        (
            v["verdict"].as_str().unwrap().to_string(),
            v["entries"][0]["record_id"].as_str().map(str::to_string),
        )
    };
    let exit = async |id: &str| {
        h.clock
            .set(domain::clock::Clock::now(h.clock.as_ref()) + chrono::Duration::seconds(1));
        h.send_as(
            &officer,
            Method::POST,
            &format!("/api/v1/lists/{id}/actions"),
            Some(serde_json::json!({"action": "exit", "reason": "当事人申请提前移出，经审核同意"})),
        )
        .await
    };
    let (verdict, id) = entry(&a).await;
    assert_ne!(verdict, "clear");
    let r = exit(&id.unwrap()).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let from = domain::calendar::add_months(recent, 12).succ_opt().unwrap();
    assert!(
        r.text().contains("未满12个月") && r.text().contains(&format!("自{from}起")),
        "{}",
        r.text()
    );
    assert!(r.text().contains("撤销认定"), "{}", r.text());
    assert_ne!(entry(&a).await.0, "clear", "the entry stays on its list");
    // Listed thirteen months ago: it leaves.
    let (verdict, id) = entry(&b).await;
    assert_ne!(verdict, "clear");
    let r = exit(&id.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(entry(&b).await.0, "clear");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_units_early_exit_keeps_the_least_time_on_the_list_on_sqlite() {
    a_units_early_exit_keeps_the_least_time_on_the_list(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_units_early_exit_keeps_the_least_time_on_the_list_on_postgres() {
    a_units_early_exit_keeps_the_least_time_on_the_list(pg_harness().await).await;
}

/// An objection sent to a unit with no account (nor token) to work it is flagged to the credit
/// office on the case's page, which cannot act in the unit's place; once the unit has one, it is
/// not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_is_told_of_a_case_no_one_can_work() {
    let h = harness();
    let code = h.state.rules.units.find(OTHER_UNIT).unwrap().uscc.clone();
    let csv = format!(
        "XK_XDR_MC,XK_XDR_LB,XK_XDR_SHXYM,XK_FRDB,XK_XKWS,XK_WSH,XK_XKLB,XK_NR,XK_JDRQ,XK_YXQZ,XK_YXQZI,XK_XKJG,XK_XKJGDM,XK_ZT,XK_LYDW,XK_LYDWDM\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{},张三,安全生产许可证,盐应许〔2026〕7号,普通,准予安全生产许可,2026-05-06,2026-05-06,2029-05-05,{OTHER_UNIT},{code},有效,{OTHER_UNIT},{code}\n",
        h.org
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, OTHER_UNIT, "行政许可", &csv));
    assert_eq!((s.accepted, s.rejected), (1, 0), "{s:?}");
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let record_id = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source_unit"] == OTHER_UNIT)
        .unwrap()["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": record_id, "reason": "许可证有效期有误"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()["case_id"].as_i64().unwrap();
    let page = h
        .get(&format!("/console/cases/{id}"), Role::Admin)
        .await
        .text();
    assert!(
        page.contains(&format!(
            "{OTHER_UNIT}在平台上没有可办理此申请的信息员或审核员账号"
        )),
        "{page}"
    );
    // The office's list says so on the case's line too.
    let open_line = |page: &str| -> String {
        page.split("<tr")
            .find(|l| l.contains(&format!("/console/cases/{id}\"")) && l.contains(OTHER_UNIT))
            .unwrap_or_else(|| panic!("{page}"))
            .to_string()
    };
    let list = h.get("/console/cases", Role::Admin).await.text();
    assert!(open_line(&list).contains("该单位无可办理的账号"), "{list}");
    // The unit's reporter gets a token: the warning goes.
    let _ = h.token_for(Role::Reporter, OTHER_UNIT);
    let page = h
        .get(&format!("/console/cases/{id}"), Role::Admin)
        .await
        .text();
    assert!(!page.contains("没有可办理此申请"), "{page}");
    let list = h.get("/console/cases", Role::Admin).await.text();
    assert!(!open_line(&list).contains("该单位无可办理的账号"), "{list}");
}

/// A record its unit withdrew by mistake is put back as it was (a new version, said to be a
/// restoration), public and counted again; it could only come back altered to pass as a
/// correction. One withdrawn on an upheld objection cannot; another unit cannot see it.
async fn a_record_withdrawn_by_mistake_is_restored(h: Harness) {
    let org = h.org.clone();
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let id = mine["records"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let figures = |h: &Harness| {
        tokio::task::block_in_place(|| {
            (
                h.state.store.month_figures("2026-06", &["CF"]).unwrap(),
                h.state
                    .store
                    .month_figures_recount("2026-06", &["CF"])
                    .unwrap(),
            )
        })
    };
    let accepted = |f: &Vec<store::MonthFigures>| f.iter().map(|x| x.accepted).sum::<i64>();
    let (before, _) = figures(&h);
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "错撤：应撤回的是另一条"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let public = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(!public.contains(DECISION), "withdrawn");
    // Another unit's staff cannot put it back (nor learn it exists).
    let other = h.token_for(Role::Reporter, OTHER_UNIT);
    let r = h
        .send_as(
            &other,
            Method::POST,
            &format!("/api/v1/records/{id}/restore"),
            Some(serde_json::json!({"reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // The batch's page offers it back.
    let page = h.get("/console/submissions/1", Role::Reporter).await.text();
    assert!(page.contains("/console/records/restore"), "{page}");
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/restore"),
            Role::Reporter,
            serde_json::json!({"reason": "误撤回（经办人身份证号320981199311162465）"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let public = h
        .get(&format!("/subjects/{org}"), Role::Public)
        .await
        .text();
    assert!(public.contains(DECISION), "back in publicity");
    // The reason's ID number is masked for officers of every unit too.
    let file = h
        .get(&format!("/api/v1/subjects/{org}"), Role::Handling)
        .await
        .text();
    assert!(
        !file.contains("320981199311162465") && file.contains("误撤回（经办人身份证号320981"),
        "{file}"
    );
    let rec = h
        .get(&format!("/api/v1/records/{id}"), Role::Reporter)
        .await
        .json();
    let versions = rec["record"]["versions"].as_array().unwrap();
    let last = versions.last().unwrap();
    assert_eq!(last["change_label"], "撤回后恢复", "{rec}");
    // Its batch's row says so, and may withdraw it again.
    let page = h.get("/console/submissions/1", Role::Reporter).await.text();
    let row = page
        .split("<tr>")
        .find(|r| r.contains(DECISION))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        row.contains("撤回后已恢复（现行）") && row.contains("/console/records/withdraw"),
        "{row}"
    );
    let why = last["reason"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("撤回有误，恢复原记录：误撤回（经办人身份证号320981")
            && !why.contains("199311162465"),
        "{why}"
    );
    assert_eq!(rec["record"]["status"], "public", "{rec}");
    // Counted again in 双公示 monitoring, as the recount from the versions says.
    let (after, recount) = figures(&h);
    assert_eq!(accepted(&after), accepted(&before));
    assert_eq!(accepted(&after), accepted(&recount));
    // In the trail: the other unit's attempt refused, this one done.
    let outcomes: Vec<String> = h
        .trail("record.restore", &id)
        .iter()
        .map(|e| e.entry.outcome.clone())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "ok").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/restore"),
            Role::Reporter,
            serde_json::json!({"reason": "误撤回"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("未被撤回"), "{}", r.text());

    // Withdrawn on an upheld objection: it stays withdrawn.
    let r = h
        .post_json(
            "/api/v1/objections",
            Role::Subject,
            serde_json::json!({"record_id": id, "reason": "该处罚已被复议撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let oid = r.json()["case_id"].as_i64().unwrap();
    jobs(&h).await;
    let r = act(
        &h,
        oid,
        Role::Reporter,
        serde_json::json!({"action": "withdraw_record", "reason": "经核实已复议撤销"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/restore"),
            Role::Reporter,
            serde_json::json!({"reason": "误撤回"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains(&format!("第{oid}号异议")), "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_withdrawn_by_mistake_is_restored_on_sqlite() {
    a_record_withdrawn_by_mistake_is_restored(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_withdrawn_by_mistake_is_restored_on_postgres() {
    a_record_withdrawn_by_mistake_is_restored(pg_harness().await).await;
}

/// A decision revoked by law is withdrawn from publicity and still counts as reported (the unit
/// saw its 上报率 fall and was told the decision was 未报送); brought back, it is not counted
/// twice. A withdrawal for any other reason leaves the count, as before.
async fn a_revoked_decision_withdrawn_still_counts_as_reported(h: Harness) {
    let figures = |h: &Harness| {
        tokio::task::block_in_place(|| {
            let sum = |f: Vec<store::MonthFigures>| f.iter().map(|x| x.accepted).sum::<i64>();
            (
                sum(h.state.store.month_figures("2026-06", &["CF"]).unwrap()),
                sum(h
                    .state
                    .store
                    .month_figures_recount("2026-06", &["CF"])
                    .unwrap()),
            )
        })
    };
    let (before, recount) = figures(&h);
    assert_eq!(before, recount);
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let id = mine["records"][0]["record_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "经行政复议撤销", "decision_revoked": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let public = h
        .get(&format!("/subjects/{}", h.org), Role::Public)
        .await
        .text();
    assert!(!public.contains(DECISION), "off the portal");
    assert_eq!(figures(&h), (before, before), "still reported");
    let rec = h
        .get(&format!("/api/v1/records/{id}"), Role::Reporter)
        .await
        .json();
    let last = rec["record"]["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["reason"], "决定已被依法撤销或变更：经行政复议撤销",
        "{rec}"
    );
    // Put back (the revocation itself was set aside): counted once, not twice.
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/restore"),
            Role::Reporter,
            serde_json::json!({"reason": "复议决定被撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(figures(&h), (before, before));
    // An ordinary withdrawal (reported in error) leaves the count.
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "主体报错"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(figures(&h), (before - 1, before - 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_decision_withdrawn_still_counts_on_sqlite() {
    a_revoked_decision_withdrawn_still_counts_as_reported(harness()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_decision_withdrawn_still_counts_on_postgres() {
    a_revoked_decision_withdrawn_still_counts_as_reported(pg_harness().await).await;
}

/// Found by an enterprise's review: a subject reads the measures its lists and records carry
/// today, matter by matter, with their basis and the entry behind them (nothing told it what
/// barred it from a contract); its reads of its own records name it in the trail; an officer's
/// view of a withdrawn record shows no publicity end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_reads_the_measures_in_force_for_it() {
    let h = harness();
    let org = h.org.clone();
    let before = h.get("/api/v1/my/records", Role::Subject).await.json();
    assert!(
        !before["measures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["matter"] == "政府采购" && m["effect"] == "禁止"),
        "{before}"
    );
    list_serious(&h).await;
    let mine = h.get("/api/v1/my/records", Role::Subject).await.json();
    let m = mine["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["matter"] == "政府采购" && m["effect"] == "禁止")
        .unwrap_or_else(|| panic!("{mine}"))
        .clone();
    assert!(!m["basis"].as_str().unwrap().is_empty(), "{m}");
    assert!(
        m["because"][0]
            .as_str()
            .is_some_and(|b| b.contains("盐环信〔2026〕9号")),
        "{m}"
    );
    // The same as a department's check finds.
    let r = h
        .post_json(
            "/api/v1/checks",
            Role::Handling,
            serde_json::json!({"code": org, "matter": "政府采购"}),
        )
        .await;
    let ids: Vec<String> = r.json()["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&m["measure_id"].as_str().unwrap().to_string()),
        "{ids:?} {m}"
    );
    let page = h.get("/console/my/records", Role::Subject).await.text();
    let table = page
        .split("id=\"measures\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        table.contains("政府采购") && table.contains("盐环信〔2026〕9号"),
        "{table}"
    );
    // The page is on the trail under the subject, as the API's read is.
    let entries = h.trail("cases.my_records", &org);
    assert!(
        entries
            .iter()
            .any(|e| e.entry.unit.as_deref() == Some(&format!("信用主体:{org}"))),
        "{entries:?}"
    );
    // Withdrawn, the penalty shows an officer no publicity end.
    let rec = mine["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["class_code"] == "CF")
        .unwrap_or_else(|| panic!("{mine}"))
        .clone();
    let id = rec["record_id"].as_str().unwrap();
    let r = h
        .post_json(
            &format!("/api/v1/records/{id}/withdraw"),
            Role::Reporter,
            serde_json::json!({"reason": "决定已撤销"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = h
        .get(&format!("/console/subjects?code={org}"), Role::Admin)
        .await
        .text();
    let summary = page
        .split("<summary>")
        .find(|s| s.starts_with("已撤回"))
        .unwrap_or_else(|| panic!("{page}"));
    let summary = summary.split("</summary>").next().unwrap();
    assert!(!summary.contains("公示截止"), "{summary}");
}
