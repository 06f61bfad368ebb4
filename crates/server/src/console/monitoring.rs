//! 双公示 monitoring in the console: the month's figures per unit and county with rankings and
//! drill-down, the monthly bulletin (printable page and XLSX), and the units' monthly
//! self-reports of decisions made. The credit office sees the city; a unit sees itself.

use crate::body::ApiForm;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use views::bulletin::{self, COUNTY_HEADERS, UNIT_HEADERS};
use views::monitoring::{MonthReport, month_report};

use super::pages_impl::{check_csrf, fmt_time};
use super::{error_page, frame, render, see_other, urlencode};
use crate::body::{ApiPath, ApiQuery};
use crate::context::{Ctx, audit, audit_entry, audited_write, entry_first, write_carrying};
use crate::error::ApiError;
use crate::{Shared, blocking, today};

#[derive(Deserialize)]
pub struct MonthParam {
    pub month: Option<String>,
}

/// The month asked for, or the month before today (the one being reported now).
fn month_of(state: &Shared, m: &Option<String>) -> Result<String, ApiError> {
    match m.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            store::month_bounds(m)
                .map_err(|_| ApiError::BadRequest(format!("月份“{m}”应为YYYY-MM格式")))?;
            Ok(m.to_string())
        }
        None => Ok(domain::monitoring::previous_month(today(state.clock.now()))),
    }
}

/// A unit's people see their unit only.
fn own_unit(ctx: &Ctx) -> Option<String> {
    match ctx.principal.role {
        auth::Role::Admin => None,
        _ => Some(ctx.principal.unit.clone().unwrap_or_default()),
    }
}

fn summary(r: &MonthReport) -> String {
    let t = &r.total;
    // 上报率 counts at most a unit's own declared number, as the printed bulletin says: the
    // figure it divides is said when it is not the reported one (647 reported, 97.25% of 654).
    let counted = if t.reported_declared == t.reported {
        String::new()
    } else {
        format!(
            "（其中计入上报率的{}件：已自报单位报送的，每个单位至多计其自报数）",
            t.reported_declared
        )
    };
    format!(
        "{}：自报作出{}件，报送{}件{counted}，入库{}件，关联{}件，按时{}件；上报率{}，合规率{}，及时率{}，关联率{}。{}",
        r.month,
        t.produced.unwrap_or(0),
        t.reported,
        t.accepted,
        t.linked,
        t.on_time,
        bulletin::pct(t.reporting_rate()),
        bulletin::pct(t.compliance_rate()),
        bulletin::pct(t.timeliness_rate()),
        bulletin::pct(t.link_rate()),
        domain::monitoring::RANKING_METHOD,
    )
}

/// The lines below the goal; a month not ended yet names no unit for a self-report it cannot
/// file before the month is over.
fn below_rows(r: &MonthReport, today: chrono::NaiveDate) -> Vec<Vec<String>> {
    let due = r.month < domain::monitoring::month_key(today);
    r.units
        .iter()
        .filter(|u| u.figures.below_with(r.goal, due))
        .map(|u| {
            vec![
                u.county.clone(),
                u.unit.clone(),
                u.class_name.clone(),
                bulletin::shortfall_with(u, r.goal, due),
            ]
        })
        .collect()
}

fn drill_href(month: &str, unit: &str, class: &str, which: &str) -> String {
    format!(
        "/console/monitoring/records?month={month}&unit={}&class={class}&which={which}",
        urlencode(unit)
    )
}

pub async fn monitoring(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<MonthParam>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let month = month_of(&s, &q.month)?;
        let mut report = month_report(&s.store, &s.rules, &month)?;
        let unit = own_unit(&c);
        if let Some(u) = &unit {
            report.units.retain(|l| &l.unit == u);
            report.total = domain::monitoring::Figures::default();
            for l in &report.units {
                report.total.add(&l.figures);
            }
        }
        let warnings =
            views::monitoring::warnings(&s.store, &s.rules, unit.as_deref(), today(s.clock.now()))?;
        Ok(pages::Monitoring {
            frame: frame(&c, "双公示监测", "/console/monitoring"),
            summary: summary(&report),
            county_headers: COUNTY_HEADERS.iter().map(|h| h.to_string()).collect(),
            counties: bulletin::county_cells(&report),
            unit_headers: UNIT_HEADERS.iter().map(|h| h.to_string()).collect(),
            units: report
                .units
                .iter()
                .map(|u| pages::MonitorRow {
                    cells: bulletin::unit_cells(u),
                    drill: [
                        ("逾期", "late"),
                        ("退回", "rejected"),
                        ("未关联", "unlinked"),
                    ]
                    .iter()
                    .map(|(l, w)| (l.to_string(), drill_href(&month, &u.unit, &u.class_code, w)))
                    .collect(),
                    below: u.figures.below_with(
                        report.goal,
                        report.month < domain::monitoring::month_key(today(s.clock.now())),
                    ),
                })
                .collect(),
            below: below_rows(&report, today(s.clock.now())),
            warnings: warnings.into_iter().map(|w| w.message).collect(),
            issued: if unit.is_none() {
                s.platform
                    .bulletins(&month)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| pages::IssuedLine {
                        // Listed latest first: every other version has been replaced.
                        superseded: i > 0,
                        id: b.bulletin_id,
                        version: b.version,
                        at: fmt_time(b.issued_at),
                        by: super::pages_impl::actor_named(&s.platform, &b.issued_by),
                        reason: b.reason.unwrap_or_default(),
                        summary: b.summary,
                        sm3: b.sm3,
                        signed_message: b.signed_message,
                        signature: hex::encode(&b.signature),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            city: unit.is_none(),
            not_yet: not_yet_issuable(&s.rules, &month, today(s.clock.now())),
            month,
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

/// Why a month's bulletin cannot be issued yet, if it cannot: the month has not ended, or the
/// units' time to report it has not run out (the figures are not final: a unit still in time
/// would be named below the goal in a signed document). Said on the page in place of the
/// button, and by the refusal.
fn not_yet_issuable(
    rules: &rulebook::Rulebook,
    month: &str,
    today: chrono::NaiveDate,
) -> Option<String> {
    // Exactly YYYY-MM (month_of): months compare as strings.
    if month >= domain::monitoring::month_key(today).as_str() {
        return Some(format!("{month}尚未结束，不能印发该月通报"));
    }
    views::monitoring::report_deadline(rules, month)
        .filter(|deadline| today <= *deadline)
        .map(|deadline| {
            format!(
                "{month}的报送期限为{deadline}，期限届满后（{}起）方可印发该月通报",
                deadline.succ_opt().unwrap_or(deadline)
            )
        })
}

#[derive(Deserialize)]
pub struct DrillParams {
    pub month: Option<String>,
    pub unit: String,
    pub class: String,
    pub which: String,
}

const DRILL_LIMIT: i64 = 500;

pub async fn records(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<DrillParams>,
) -> Response {
    if own_unit(&ctx).is_some_and(|u| u != q.unit) {
        return error_page(&ctx, ApiError::Forbidden);
    }
    let (s, c) = (state.clone(), ctx.clone());
    let which = q.which.clone();
    let unit = q.unit.clone();
    let r = blocking(move || {
        let month = month_of(&s, &q.month)?;
        let class = s
            .rules
            .catalog
            .class_by_code(&q.class)
            .filter(|k| s.rules.monitoring.classes.contains(&k.code))
            .ok_or_else(|| ApiError::BadRequest(format!("“{}”不是双公示监测的信息类", q.class)))?;
        let (headers, rows, label): (Vec<&str>, Vec<Vec<String>>, &str) = match q.which.as_str() {
            "late" | "unlinked" => {
                let recs =
                    s.store
                        .month_records(&q.unit, &class.code, &month, &q.which, DRILL_LIMIT)?;
                let late = q.which == "late";
                let mut rows: Vec<Vec<String>> = Vec::new();
                let (recs, received): (Vec<_>, Vec<_>) = recs.into_iter().unzip();
                let shown = views::portal::column_rows(&s.rules, &recs);
                for ((rec, first), r) in recs.iter().zip(received).zip(shown) {
                    let mut row = vec![
                        r.decision_no,
                        r.subject_name,
                        r.subject_code,
                        r.decided_on,
                        r.content,
                    ];
                    // A late report says when it came and by how many working days, as the
                    // office tells the unit.
                    if late {
                        let got = domain::clock::beijing(first).date_naive();
                        let due = rec
                            .decided_on
                            .zip(class.report_working_days)
                            .map(|(d, n)| s.rules.calendar.add_workdays(d, n).date);
                        row.push(got.to_string());
                        row.push(match due {
                            Some(due) if got > due => format!(
                                "逾期{}个工作日（应于{due}前报送）",
                                s.rules.calendar.workdays_between(due, got).0
                            ),
                            _ => String::new(),
                        });
                    }
                    rows.push(row);
                }
                let mut headers = vec![
                    "决定文书号",
                    "主体名称",
                    "统一社会信用代码/证件号码",
                    "决定日期",
                    "内容",
                ];
                if late {
                    headers.extend(["首次报送日期", "逾期情况"]);
                }
                (
                    headers,
                    rows,
                    if q.which == "late" {
                        "逾期报送"
                    } else {
                        "未关联主体"
                    },
                )
            }
            "rejected" => {
                let rej = s
                    .store
                    .month_rejections(&q.unit, &class.code, &month, DRILL_LIMIT)?;
                // A decision refused in several batches is one: its latest refusal shown.
                let mut last: std::collections::HashMap<String, usize> = Default::default();
                for (i, (_, _, key)) in rej.iter().enumerate() {
                    if let Some(k) = key {
                        last.insert(k.clone(), i);
                    }
                }
                // Which row it was, by its number and party as the unit wrote them.
                let mut maps: std::collections::HashMap<i64, Vec<Option<String>>> =
                    Default::default();
                let mut rows = Vec::new();
                for (i, (sub, r, key)) in rej.iter().enumerate() {
                    if key.as_ref().is_some_and(|k| last.get(k) != Some(&i)) {
                        continue;
                    }
                    if !maps.contains_key(sub) {
                        let map = s
                            .store
                            .submission(*sub)?
                            .map(|x| x.header_map)
                            .unwrap_or_default();
                        maps.insert(*sub, map);
                    }
                    let (no, name) = crate::api::submissions::rejected_identity(
                        &s,
                        &class.code,
                        maps.get(sub).map(Vec::as_slice).unwrap_or_default(),
                        &r.raw_sealed,
                    );
                    rows.push(vec![
                        sub.to_string(),
                        r.row_no.to_string(),
                        no.unwrap_or_default(),
                        name.unwrap_or_default(),
                        // As the batch's page and its returned workbook say them.
                        ingest::rejects::reason_text(r),
                    ]);
                }
                (
                    vec!["报送批次", "原行号", "文书号", "主体名称", "退回原因"],
                    rows,
                    "退回",
                )
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "明细类型“{other}”无效，应为late、rejected或unlinked"
                )));
            }
        };
        let truncated = rows.len() as i64 >= DRILL_LIMIT;
        Ok(pages::Drill {
            frame: frame(&c, "监测明细", "/console/monitoring"),
            heading: format!("{} · {} · {} · {}", q.unit, class.name, month, label),
            back: format!("/console/monitoring?month={month}"),
            tabs: [
                ("逾期", "late"),
                ("退回", "rejected"),
                ("未关联", "unlinked"),
            ]
            .iter()
            .map(|(l, w)| pages::NavItem {
                href: drill_href(&month, &q.unit, &class.code, w),
                label: l.to_string(),
                active: *w == q.which,
            })
            .collect(),
            headers: headers.into_iter().map(String::from).collect(),
            rows,
            truncated,
        })
    })
    .await;
    // The drill-down shows subjects' names and records: a sensitive read.
    audit(
        &state,
        &ctx,
        "monitoring.records",
        Some(format!("unit:{unit}")),
        if r.is_ok() { "ok" } else { "failed" },
        Some(format!("which={which}")),
    )
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

fn bulletin_title(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap_or((month, ""));
    format!(
        "盐城市{}年{}月“双公示”信息报送情况通报",
        y,
        m.trim_start_matches('0')
    )
}

pub async fn bulletin_page(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<MonthParam>,
) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        let month = month_of(&s, &q.month)?;
        let report = month_report(&s.store, &s.rules, &month)?;
        // Once issued, the printed page is not the issued text: said above the title, with
        // the issued file's link (the figures here move with every later report).
        let issued = s.platform.bulletins(&month)?.into_iter().next().map(|b| {
            (
                format!(
                    "本月通报已于{}印发第{}版（通报文件SM3：{}）。本页为实时数据，可能与印发版不同；正式文本以印发版为准。",
                    fmt_time(b.issued_at),
                    b.version,
                    b.sm3
                ),
                format!("/console/bulletin/issued/{}", b.bulletin_id),
            )
        });
        Ok(pages::Bulletin {
            issued,
            title: bulletin_title(&month),
            summary: format!(
                "{}目标：上报率、合规率、及时率均为{}。",
                summary(&report),
                bulletin::pct(Some(report.goal))
            ),
            county_headers: COUNTY_HEADERS.iter().map(|h| h.to_string()).collect(),
            counties: bulletin::county_cells(&report),
            unit_headers: UNIT_HEADERS.iter().map(|h| h.to_string()).collect(),
            per_county: report
                .counties
                .iter()
                .map(|c| pages::BulletinCounty {
                    name: c.county.clone(),
                    rows: report
                        .units
                        .iter()
                        .filter(|u| u.division == c.division)
                        .map(bulletin::unit_cells)
                        .collect(),
                })
                .collect(),
            ranking: report.units.iter().map(bulletin::unit_cells).collect(),
            below_heading: report.below_heading(),
            below: below_rows(&report, today(s.clock.now())),
            rule_version: report.rule_version.clone(),
            generated: fmt_time(s.clock.now()),
            month,
        })
    })
    .await;
    audit(
        &state,
        &ctx,
        "bulletin.view",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn bulletin_xlsx(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<MonthParam>,
) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        let month = month_of(&s, &q.month)?;
        let as_of = domain::clock::beijing(s.clock.now())
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let report = month_report(&s.store, &s.rules, &month)?;
        let bytes = bulletin::workbook(&report, &bulletin_title(&month), &as_of, None)
            .map_err(ApiError::internal)?;
        Ok((month, bytes))
    })
    .await;
    audit(
        &state,
        &ctx,
        "bulletin.export",
        r.as_ref().ok().map(|(m, _)| format!("month:{m}")),
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok((month, bytes)) => {
            crate::attachment(crate::XLSX, &format!("bulletin-{month}.xlsx"), bytes)
        }
        Err(e) => error_page(&ctx, e),
    }
}

// ----- bulletins as issued -----

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    pub csrf: String,
    pub month: String,
    #[serde(default)]
    pub reason: String,
}

/// What the platform signs for an issued bulletin: the month, its version and time, and the SM3
/// of the workbook, so that a signature names one issued bulletin and no other.
fn bulletin_message(
    month: &str,
    version: i64,
    at: chrono::DateTime<chrono::Utc>,
    sm3: &str,
) -> String {
    format!(
        "信用（盐城）双公示月通报\n月份：{month}\n版本：第{version}版\n印发时间：{}\n通报文件SM3：{sm3}\n",
        domain::clock::beijing(at).format("%Y-%m-%d %H:%M:%S")
    )
}

/// Issues a month's bulletin with its audit entry `carried` in the same transaction.
fn issue(
    s: &Shared,
    c: &Ctx,
    f: &IssueForm,
    carried: &mut store::NewAuditEntry,
) -> Result<store::IssuedBulletin, ApiError> {
    let month = month_of(s, &Some(f.month.clone()))?;
    let reason = f.reason.trim();
    if reason.chars().count() > 500 {
        return Err(ApiError::Unprocessable("更正理由不能超过500字".into()));
    }
    let now = s.clock.now();
    if let Some(why) = not_yet_issuable(&s.rules, &month, today(now)) {
        return Err(ApiError::Unprocessable(why));
    }
    let report = month_report(&s.store, &s.rules, &month)?;
    let as_of = domain::clock::beijing(now)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    // The version this will be (two issued at once cannot both take it: the store refuses the
    // second), said in the file itself.
    let prior = s.platform.bulletins(&month)?;
    let version = prior.first().map_or(1, |b| b.version + 1);
    let mut line = format!(
        "印发版本：第{version}版；印发时间：{as_of}（北京时间）；印发人：{}",
        super::pages_impl::actor_named(&s.platform, &c.principal.actor())
    );
    if let Some(last) = prior.first() {
        line.push_str(&format!(
            "；本版替代第{}版（{}印发），更正理由：{reason}",
            last.version,
            fmt_time(last.issued_at)
        ));
    }
    let workbook = bulletin::workbook(&report, &bulletin_title(&month), &as_of, Some(&line))
        .map_err(ApiError::internal)?;
    let sm3 = crypto::sm3_hex(&workbook);
    let issued = s.platform.issue_bulletin(
        &store::NewBulletin {
            month: &month,
            issued_at: now,
            issued_by: &c.principal.actor(),
            reason: (!reason.is_empty()).then_some(reason),
            summary: &summary(&report),
            rule_version: &report.rule_version,
            workbook: &workbook,
            sm3: &sm3,
        },
        |version| {
            let message = bulletin_message(&month, version, now, &sm3);
            let signature = s.keys.sign(message.as_bytes());
            (message, signature)
        },
        Some(carried),
    )?;
    Ok(issued)
}

/// The credit office issues the month's bulletin: the workbook as it stands now is kept, with
/// its SM3 and the platform's signature, and is what the issued version's link gives from then on.
pub async fn issue_bulletin(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<IssueForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let (s, c) = (state.clone(), ctx.clone());
    let f_month: String = f.month.chars().take(20).collect();
    let entry = audit_entry(
        &ctx,
        "bulletin.issue",
        None,
        "ok",
        Some(format!("month={f_month}")),
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        issue(&s, &c, &f, carried)
    })
    .await;
    match r {
        Ok(b) => see_other(&format!(
            "/console/monitoring?month={}",
            urlencode(&b.month)
        )),
        Err(e) => error_page(&ctx, e),
    }
}

/// An issued bulletin's workbook, byte for byte as issued.
pub async fn issued_bulletin(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        s.platform
            .bulletin_workbook(id)?
            .ok_or_else(|| ApiError::NotFound(format!("通报{id}不存在")))
    })
    .await;
    audit(
        &state,
        &ctx,
        "bulletin.export",
        Some(format!("bulletin:{id}")),
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok((b, bytes)) => crate::attachment(
            crate::XLSX,
            &format!("bulletin-{}-v{}.xlsx", b.month, b.version),
            bytes,
        ),
        Err(e) => error_page(&ctx, e),
    }
}

// ----- self-reports -----

fn self_reports_page(
    state: &Shared,
    ctx: &Ctx,
    month: String,
) -> Result<pages::SelfReports, ApiError> {
    let unit = own_unit(ctx);
    let classes = state
        .rules
        .monitoring
        .classes
        .iter()
        .filter_map(|c| state.rules.catalog.class_by_code(c))
        .filter(|k| {
            unit.as_deref()
                .and_then(|u| state.rules.units.find(u))
                .is_none_or(|u| u.may_report(k))
        })
        .map(|k| pages::ClassOption {
            value: k.code.clone(),
            label: k.name.clone(),
        })
        .collect::<Vec<_>>();
    let reports = state.store.self_reports(None, unit.as_deref())?;
    let mut rows = Vec::new();
    for r in reports.into_iter().take(200) {
        let classes: Vec<&str> = vec![r.class_code.as_str()];
        let reported = state
            .store
            .month_figures(&r.month, &classes)?
            .into_iter()
            .find(|f| f.source_unit == r.source_unit)
            .map_or(0, |f| f.accepted + f.rejected);
        rows.push(vec![
            r.month.clone(),
            r.source_unit.clone(),
            state
                .rules
                .catalog
                .class_by_code(&r.class_code)
                .map_or(r.class_code.clone(), |k| k.name.clone()),
            r.produced.to_string(),
            reported.to_string(),
            r.gap_reason.clone().unwrap_or_default(),
            super::pages_impl::actor_label(&r.filed_by),
            fmt_time(r.filed_at),
        ]);
    }
    Ok(pages::SelfReports {
        frame: frame(ctx, "月度自报", "/console/self-reports"),
        month,
        can_file: unit.is_some() && !classes.is_empty(),
        classes,
        class: String::new(),
        produced: String::new(),
        gap_reason: String::new(),
        rows,
    })
}

pub async fn self_reports(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<MonthParam>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let month = month_of(&s, &q.month)?;
        self_reports_page(&s, &c, month)
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize)]
pub struct SelfReportForm {
    #[serde(default)]
    pub csrf: String,
    pub month: String,
    pub class: String,
    pub produced: String,
    #[serde(default)]
    pub gap_reason: String,
}

/// Checks and files a self-report; the reason is required when the count differs from what the
/// unit has reported for that month so far.
fn file(state: &Shared, ctx: &Ctx, f: &SelfReportForm) -> Result<String, ApiError> {
    let unit = ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?;
    let month = f.month.trim().to_string();
    let (first, next) = store::month_bounds(&month)
        .map_err(|_| ApiError::Unprocessable(format!("决定月份“{month}”应为YYYY-MM格式")))?;
    let t = today(state.clock.now());
    // A month is declared once it is over: its count is the month's, and a count taken while
    // decisions are still being made would show the unit's 上报率 complete before it is.
    if first > t {
        return Err(ApiError::Unprocessable(format!(
            "决定月份{month}尚未到来，不能自报"
        )));
    }
    if next > t {
        return Err(ApiError::Unprocessable(format!(
            "决定月份{month}尚未结束，请于{next}起自报该月作出的决定件数"
        )));
    }
    let class = state
        .rules
        .catalog
        .class_by_code(f.class.trim())
        .filter(|k| state.rules.monitoring.classes.contains(&k.code))
        .ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "信息类“{}”不在双公示监测范围内，应为行政许可或行政处罚",
                f.class
            ))
        })?;
    if !state
        .rules
        .units
        .find(&unit)
        .is_some_and(|u| u.may_report(class))
    {
        return Err(ApiError::Unprocessable(format!(
            "{unit}不报送{}，无需自报",
            class.name
        )));
    }
    let produced: i64 = f
        .produced
        .trim()
        .parse()
        .ok()
        .filter(|n| (0..=1_000_000).contains(n))
        .ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "当月作出决定件数“{}”应为0到1000000之间的整数",
                f.produced
            ))
        })?;
    let reported = state
        .store
        .month_figures(&month, &[class.code.as_str()])?
        .into_iter()
        .find(|x| x.source_unit == unit)
        .map_or(0, |x| x.accepted + x.rejected);
    let reason = f.gap_reason.trim();
    if reason.chars().count() > 500 {
        return Err(ApiError::Unprocessable("差异说明不能超过500字".into()));
    }
    if produced != reported && reason.is_empty() {
        return Err(ApiError::Unprocessable(format!(
            "自报作出{produced}件，与{month}已报送的{reported}件不一致，请填写差异说明"
        )));
    }
    let object = format!("{unit}/{}/{month}={produced}", class.code);
    // Its entry goes in before it commits (see `entry_first`).
    let entry = audit_entry(ctx, "self_report.file", Some(object.clone()), "ok", None);
    state.store.file_self_report_then(
        &store::SelfReport {
            source_unit: unit.clone(),
            class_code: class.code.clone(),
            month: month.clone(),
            produced,
            gap_reason: (!reason.is_empty()).then(|| reason.to_string()),
            filed_by: ctx.principal.actor(),
            filed_at: state.clock.now(),
        },
        &entry_first(state, ctx, entry),
    )?;
    Ok(object)
}

pub async fn file_self_report(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<SelfReportForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let (s, c) = (state.clone(), ctx.clone());
    let month = f.month.clone();
    let r = blocking(move || match file(&s, &c, &f) {
        Ok(obj) => Ok(Ok(obj)),
        Err(e @ (ApiError::Unprocessable(_) | ApiError::BadRequest(_))) => {
            let mut page = self_reports_page(&s, &c, f.month.clone())?;
            page.frame.error = Some(e.to_string());
            // The form as it was sent: the clerk corrects one field, not all three.
            page.class = f.class.trim().to_string();
            page.produced = f.produced.trim().to_string();
            page.gap_reason = f.gap_reason.clone();
            Ok(Err(page))
        }
        Err(e) => Err(e),
    })
    .await;
    // One filed wrote its entry before it committed; one refused is entered as such.
    if !matches!(r, Ok(Ok(_))) && !ctx.write_undone.load(std::sync::atomic::Ordering::SeqCst) {
        audit(&state, &ctx, "self_report.file", None, "failed", None).await;
    }
    match r {
        Ok(Ok(_)) => see_other(&format!(
            "/console/self-reports?month={}",
            urlencode(&month)
        )),
        Ok(Err(page)) => render(StatusCode::UNPROCESSABLE_ENTITY, page),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ConflictReviewForm {
    #[serde(default)]
    pub csrf: String,
    pub kind: String,
    pub anchor: String,
    pub reason: String,
}

/// The credit office marks a 重错码 finding as looked into (the unit corrected it, or both names
/// are right), with why: it leaves the list until another name or code is reported under it.
pub async fn review_conflict(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<ConflictReviewForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let reason = f.reason.trim().to_string();
    let entry = audit_entry(
        &ctx,
        "quality.conflict_review",
        Some(format!("{}:{}", f.kind, f.anchor)),
        "ok",
        Some(reason.clone()),
    );
    let (s, c, actor, kind, anchor, why, e) = (
        state.clone(),
        ctx.clone(),
        ctx.principal.actor(),
        f.kind.clone(),
        f.anchor.clone(),
        reason,
        entry.clone(),
    );
    let r = blocking(move || {
        if why.is_empty() || why.chars().count() > 500 {
            return Err(ApiError::Unprocessable(
                "请填写核实情况（不超过500字）".into(),
            ));
        }
        // Its entry goes in before it commits (see `entry_first`).
        let first = entry_first(&s, &c, e);
        Ok(s.store.review_code_conflict_then(
            &kind,
            &anchor,
            &actor,
            &why,
            s.clock.now(),
            &first,
        )?)
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(_) => see_other("/console/quality"),
        Err(e) => error_page(&ctx, e),
    }
}

/// How many of each kind of 重错码 finding the quality page lists.
const CONFLICTS_SHOWN: i64 = 200;

/// Data quality for the credit office: each unit's intake (入库率, 关联率) over every batch it
/// sent, and the 重错码 findings (one code under several names, one name under several codes)
/// for the units to correct.
/// A store key as a unit or officer reads it: a person's key is named as such, never as an
/// ID number.
fn conflict_code(k: &str) -> String {
    if k.starts_with('P') {
        format!("自然人（{k}）")
    } else {
        k.to_string()
    }
}

/// 重错码 findings as the rows a unit's home page lists: 类型, 代码, 名称, 报送单位.
pub(super) fn conflict_cells(conflicts: &[store::CodeConflict]) -> Vec<Vec<String>> {
    conflicts
        .iter()
        .map(|x| {
            let one_code = x.kind == "one_code_many_names";
            vec![
                if one_code {
                    "一码多名"
                } else {
                    "一名多码"
                }
                .to_string(),
                x.subject_keys
                    .iter()
                    .map(|k| conflict_code(k))
                    .collect::<Vec<_>>()
                    .join("、"),
                x.names.join("；"),
                x.units.join("、"),
            ]
        })
        .collect()
}

pub async fn quality(State(state): State<Shared>, ctx: Ctx) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        // The same rounding as the unit's home page and `xinyong quality` (two decimals).
        let pct = super::pages_impl::rate;
        let units = s
            .store
            .quality_by_unit(None)?
            .into_iter()
            .map(|q| {
                let k = q.counts;
                vec![
                    q.source_unit,
                    if q.withdrawn_submissions > 0 {
                        format!(
                            "{}（另有已撤回{}批）",
                            q.submissions, q.withdrawn_submissions
                        )
                    } else {
                        q.submissions.to_string()
                    },
                    k.rows_read.to_string(),
                    k.accepted.to_string(),
                    k.rejected.to_string(),
                    pct(k.accepted, k.rows_read),
                    k.linked.to_string(),
                    pct(k.linked, k.accepted),
                    k.on_time.to_string(),
                ]
            })
            .collect();
        let conflicts = s.store.code_conflicts(CONFLICTS_SHOWN)?;
        let code = conflict_code;
        let (mut one_code, mut one_name) = (Vec::new(), Vec::new());
        for x in &conflicts {
            let keys = x
                .subject_keys
                .iter()
                .map(|k| code(k))
                .collect::<Vec<_>>()
                .join("、");
            if x.kind == "one_code_many_names" {
                one_code.push(pages::ConflictRow {
                    cells: vec![keys, x.names.join("；"), x.units.join("、")],
                    kind: x.kind.clone(),
                    anchor: x.subject_keys.first().cloned().unwrap_or_default(),
                });
            } else {
                one_name.push(pages::ConflictRow {
                    cells: vec![x.names.join("；"), keys, x.units.join("、")],
                    kind: x.kind.clone(),
                    anchor: x.names.first().cloned().unwrap_or_default(),
                });
            }
        }
        let reviewed = s
            .store
            .code_conflict_reviews(20)?
            .into_iter()
            .map(|r| {
                vec![
                    fmt_time(r.reviewed_at),
                    if r.kind == "one_code_many_names" {
                        "一码多名"
                    } else {
                        "一名多码"
                    }
                    .to_string(),
                    code(&r.anchor),
                    r.members
                        .iter()
                        .map(|m| code(m))
                        .collect::<Vec<_>>()
                        .join("；"),
                    super::pages_impl::actor_label(&r.actor),
                    r.reason,
                ]
            })
            .collect();
        Ok(pages::QualityPage {
            timed: s
                .rules
                .catalog
                .classes
                .iter()
                .filter_map(|c| {
                    c.report_working_days
                        .map(|d| format!("{}：决定后{d}个工作日内", c.name))
                })
                .collect::<Vec<_>>()
                .join("、"),
            frame: frame(&c, "数据质量与重错码", "/console/quality"),
            truncated: one_code.len() as i64 >= CONFLICTS_SHOWN
                || one_name.len() as i64 >= CONFLICTS_SHOWN,
            units,
            one_code,
            one_name,
            reviewed,
            limit: CONFLICTS_SHOWN,
        })
    })
    .await;
    audit(
        &state,
        &ctx,
        "quality.read",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}
