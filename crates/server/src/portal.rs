//! The public portal 信用中国（江苏盐城）: home, search, subject pages, the 双公示 columns, the
//! lists, open data, news. Server-rendered, no JavaScript, for everyone; what it shows is only
//! what is public now, with natural persons' ID numbers masked.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use bytes::Bytes;
use chrono::NaiveDate;
use pages::{Choice, NewsBlock, NewsItem, PortalFrame, Row, Tab, Template};
use serde::Deserialize;
use store::PublicQuery;

use crate::access::{EVERYONE, Routes};
use crate::body::{ApiPath, ApiQuery};
use crate::context::{Ctx, audit};
use crate::error::ApiError;
use crate::{Shared, blocking, today};

pub fn routes(r: Routes) -> Routes {
    r.page(Method::GET, "/", EVERYONE, home)
        .page(Method::GET, "/search", EVERYONE, search_page)
        .page(Method::GET, "/subjects/{code}", EVERYONE, subject_page)
        .page(Method::GET, "/publicity/licences", EVERYONE, licences)
        .page(Method::GET, "/publicity/penalties", EVERYONE, penalties)
        .page(Method::GET, "/lists/red", EVERYONE, list_red)
        .page(Method::GET, "/lists/serious", EVERYONE, list_serious)
        .page(Method::GET, "/lists/focus", EVERYONE, list_focus)
        .page(Method::GET, "/opendata", EVERYONE, opendata)
        .page(Method::GET, "/robots.txt", EVERYONE, robots)
        .page(Method::GET, "/opendata/{file}", EVERYONE, opendata_csv)
        .page(Method::GET, "/news", EVERYONE, news)
        .page(Method::GET, "/news/{id}", EVERYONE, article)
        .page(
            Method::GET,
            "/news/{id}/attachments/{aid}",
            EVERYONE,
            attachment,
        )
}

pub const COLUMNS: [&str; 3] = ["信用动态", "政策法规", "通知公告"];

fn frame(title: &str, active: &str) -> PortalFrame {
    PortalFrame {
        title: title.into(),
        active: active.into(),
    }
}

fn page(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// The portal's message page: a heading and a line, with the status.
fn message(status: StatusCode, heading: &str, body: String) -> Response {
    let t = pages::PortalMessage {
        frame: frame(heading, ""),
        heading: heading.into(),
        body,
    };
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn not_found(what: &str) -> Response {
    message(StatusCode::NOT_FOUND, "未找到", what.into())
}

fn error(e: ApiError) -> Response {
    if let ApiError::Internal(d) = &e {
        eprintln!("{} ERROR portal: {d}", chrono::Utc::now().to_rfc3339());
    }
    message(
        e.status(),
        "请求未能完成",
        format!("{}（请求号 {}）", e, crate::error::current_request_id()),
    )
}

/// Whether an error for this path is answered as a page (the portal's and the console's), not
/// as the API's JSON.
pub fn answers_in_html(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/static/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics"))
}

/// An error that left a handler (or the router, or the rate limit) as the API's JSON, for a
/// page's address: the same status and headers (`Retry-After`), as a Chinese page.
pub async fn as_page(resp: Response) -> Response {
    let (parts, said) = error_said(resp).await;
    let heading = match parts.status {
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::TOO_MANY_REQUESTS => "访问过于频繁",
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "无权访问",
        _ => "请求未能完成",
    };
    let page = message(parts.status, heading, said);
    page_in(parts, page)
}

/// An API error's answer taken apart: its status and headers, and what it says with its
/// request id (as a page shows it).
pub async fn error_said(resp: Response) -> (axum::http::response::Parts, String) {
    let (parts, body) = resp.into_parts();
    let json: serde_json::Value = axum::body::to_bytes(body, 64 << 10)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let text = |k: &str| json["error"][k].as_str().unwrap_or_default().to_string();
    let said = format!("{}（请求号 {}）", text("message"), text("request_id"));
    (parts, said)
}

/// A page's body and type under an error's status and other headers (Retry-After).
pub fn page_in(mut parts: axum::http::response::Parts, page: Response) -> Response {
    let (page_parts, body) = page.into_parts();
    for name in [
        axum::http::header::CONTENT_TYPE,
        axum::http::header::CONTENT_LENGTH,
    ] {
        parts.headers.remove(&name);
        if let Some(v) = page_parts.headers.get(&name) {
            parts.headers.insert(name, v.clone());
        }
    }
    Response::from_parts(parts, body)
}

fn enc(s: &str) -> String {
    crate::console::urlencode(s)
}

/// The divisions to filter by. `city` names the city's own code: 市级部门 where the filter is
/// the deciding unit's, the city's name (市本级) where it is the subject's — a company is not
/// 市级.
fn counties(state: &Shared, selected: &str, city: &str) -> Vec<Choice> {
    let mut v = vec![Choice {
        value: String::new(),
        label: "全部".into(),
        selected: selected.is_empty(),
    }];
    v.extend(state.rules.divisions.divisions.iter().map(|d| Choice {
        value: d.code.clone(),
        label: if d.code == state.rules.divisions.city {
            city.to_string()
        } else {
            d.name.clone()
        },
        selected: d.code == selected,
    }));
    v
}

/// The city's own division as a subject's region: 盐城市（市本级）.
fn city_own(state: &Shared) -> String {
    let d = &state.rules.divisions;
    format!(
        "{}（市本级）",
        d.get(&d.city).map(|x| x.name.as_str()).unwrap_or("市")
    )
}

fn choices(values: &[String], selected: &str) -> Vec<Choice> {
    let mut v = vec![Choice {
        value: String::new(),
        label: "全部".into(),
        selected: selected.is_empty(),
    }];
    v.extend(values.iter().map(|x| Choice {
        value: x.clone(),
        label: x.clone(),
        selected: x == selected,
    }));
    v
}

/// Headline figures, recomputed in the background (a count over millions of records is too slow
/// for a page), and the search index kept current with new subjects.
pub async fn keep_current(state: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        let s = state.clone();
        let refresh_figures = n.is_multiple_of(30);
        // Every 10 s what changed; hourly the whole index, for what a cursor can miss.
        let rebuild = n > 0 && n.is_multiple_of(360);
        n += 1;
        let _ = tokio::task::spawn_blocking(move || {
            let _ = if rebuild {
                s.search.rebuild(&s.store)
            } else {
                s.search.refresh(&s.store)
            };
            if refresh_figures {
                let _ = compute_figures(&s);
            }
        })
        .await;
    }
}

pub fn compute_figures(state: &Shared) -> Result<(), ApiError> {
    let t = today(state.clock.now());
    let subjects_by_kind = state.store.subjects_by_kind()?;
    // Each class published whole counted once (a count over millions of records each): the
    // home page's figures and the public statistics are both read from these.
    let mut by_class: Vec<(String, i64)> = Vec::new();
    for c in state
        .rules
        .catalog
        .classes
        .iter()
        .filter(|c| c.sharing == domain::catalog::SharingScope::Public)
    {
        by_class.push((
            c.code.clone(),
            state.store.count_public(&[c.code.as_str()], t)?,
        ));
    }
    let count = |codes: &[&str]| -> i64 {
        by_class
            .iter()
            .filter(|(c, _)| codes.contains(&c.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    let orgs: i64 = subjects_by_kind
        .iter()
        .filter(|k| k.name != "natural_person")
        .map(|k| k.count)
        .sum();
    let red_shown = state
        .store
        .count_public_unless("HMD", RED_SUSPENDED_BY, t)?;
    state
        .red_shown
        .store(red_shown, std::sync::atomic::Ordering::Relaxed);
    let figures = vec![
        (
            "信用主体（法人及非法人组织、个体工商户）".to_string(),
            orgs.to_string(),
        ),
        ("行政许可（公示中）".to_string(), count(&["XK"]).to_string()),
        ("行政处罚（公示中）".to_string(), count(&["CF"]).to_string()),
        // As the list pages show them: a red entry of a subject on a serious list is not shown
        // (and not counted) while it is there.
        (
            "名单（在列）".to_string(),
            (count(&["YZSX", "SXBZXR", "ZDGZ"]) + red_shown).to_string(),
        ),
    ];
    if let Ok(mut f) = state.figures.write() {
        *f = figures;
    }
    // The statistics the public may read: subjects, and the records public now of the classes
    // published whole — not records out of their window, never published, or of classes
    // shared only on conditions, and not the platform's own counts.
    let records_by_class: Vec<store::NamedCount> = by_class
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, count)| store::NamedCount { name, count })
        .collect();
    let public = store::Stats {
        subjects: subjects_by_kind.iter().map(|k| k.count).sum(),
        subjects_by_kind,
        records: records_by_class.iter().map(|k| k.count).sum(),
        records_by_class,
        versions: None,
        submissions: None,
    };
    if let Ok(mut p) = state.public_stats.write() {
        *p = Some(public);
    }
    Ok(())
}

/// `GET /api/v1/stats` for the public (and subjects, banks): the figures kept with the home
/// page's, computed now if there are none yet.
pub fn public_stats(state: &Shared) -> Result<store::Stats, ApiError> {
    if let Some(s) = state.public_stats.read().ok().and_then(|p| p.clone()) {
        return Ok(s);
    }
    compute_figures(state)?;
    state
        .public_stats
        .read()
        .ok()
        .and_then(|p| p.clone())
        .ok_or_else(|| ApiError::internal("public statistics not computed"))
}

/// The newest public records of a class for the home page: organisations only. The home page
/// is the one page with names that search engines may index (a person's page is not), so it
/// names no natural person; the column pages list them.
fn latest_rows(state: &Shared, class: &str, n: i64) -> Result<Vec<Row>, ApiError> {
    let records = state.store.public_records(&PublicQuery {
        classes: vec![class.into()],
        today: Some(today(state.clock.now())),
        limit: n * 4,
        ..Default::default()
    })?;
    let orgs: Vec<_> = records
        .into_iter()
        .filter(|r| !r.subject_key.starts_with('P'))
        .take(n as usize)
        .collect();
    Ok(views::portal::column_rows(&state.rules, &orgs)
        .into_iter()
        .map(|r| Row {
            // Opened on the class's tab, as the column pages open it.
            href: format!("/subjects/{}?tab={class}", enc(&r.subject_key)),
            cells: vec![r.subject_name, r.decided_on],
            objection: r.under_objection,
        })
        .collect())
}

fn news_items(articles: &[store::Article]) -> Vec<NewsItem> {
    articles
        .iter()
        .map(|a| NewsItem {
            href: format!("/news/{}", a.article_id),
            title: a.title.clone(),
            column: a.column_name.clone(),
            date: a.published_on.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect()
}

async fn home(State(state): State<Shared>) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        if s.figures.read().map(|f| f.is_empty()).unwrap_or(true) {
            compute_figures(&s)?;
        }
        let t = today(s.clock.now());
        let mut news = Vec::new();
        for col in COLUMNS {
            news.push(NewsBlock {
                column: col.into(),
                href: format!("/news?column={}", enc(col)),
                items: news_items(&s.store.articles(Some(col), None, Some(t), 0, 6)?),
            });
        }
        Ok(pages::PortalHome {
            frame: frame("", "/"),
            figures: s
                .figures
                .read()
                .map(|f| {
                    f.iter()
                        .map(|(l, v)| pages::Figure {
                            label: l.clone(),
                            value: v.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            penalties: latest_rows(&s, "CF", 8)?,
            licences: latest_rows(&s, "XK", 8)?,
            news,
        })
    })
    .await;
    match r {
        Ok(p) => page(p),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct SearchParams {
    q: Option<String>,
    county: Option<String>,
    kind: Option<String>,
    industry: Option<String>,
    page: Option<usize>,
}

const PER_PAGE: usize = 20;

/// The query with resident ID numbers in it masked — 18 characters as `mask_ids_in` finds them,
/// and runs of exactly 15 digits (the old numbers) — or `None` when it holds none.
fn with_personal_numbers_masked(q: &str) -> Option<String> {
    // Whatever looks like one, valid or not (a mistyped check digit is still someone's number):
    // 17 digits and a digit or X, or the old 15 digits, standing alone — also when typed in
    // groups (320902 19900101 1234, 320902-19900101-1234): the separators between figures are
    // dropped first (the page would repeat the number whole otherwise).
    let folded = domain::text::fold_widths(q);
    let chars: Vec<char> = folded.chars().collect();
    let mut joined = String::with_capacity(folded.len());
    for (i, c) in chars.iter().enumerate() {
        let between_figures = matches!(c, ' ' | '-' | '.' | '·' | '_' | '/')
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == 'X' || *n == 'x');
        if !between_figures {
            joined.push(*c);
        }
    }
    let mut out = joined;
    let b = out.clone().into_bytes();
    let mut found = false;
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let len = match run {
            17 if matches!(b.get(i + 17), Some(b'X' | b'x')) => 18,
            15 | 18 => run,
            _ => 0,
        };
        if len > 0 {
            out.replace_range(i..i + len, &domain::ids::mask_id_number(&out[i..i + len]));
            found = true;
        }
        i += run.max(1);
    }
    found.then_some(out)
}

async fn search_page(State(state): State<Shared>, ApiQuery(p): ApiQuery<SearchParams>) -> Response {
    let mut q = p.q.unwrap_or_default().trim().to_string();
    let county = p.county.unwrap_or_default();
    let kind = p.kind.unwrap_or_default();
    let industry = p.industry.unwrap_or_default();
    let normalized = domain::ids::normalize(&q);
    // A code: straight to its page.
    if normalized.len() == 18
        && let Ok((u, _)) = domain::ids::Uscc::parse(&normalized, &state.rules.ids)
    {
        return Redirect::to(&format!("/subjects/{}", u.as_str())).into_response();
    }
    let industries: Vec<String> = state
        .rules
        .catalog
        .class_by_code("DJ")
        .and_then(|c| c.item("DJ_HY"))
        .map(|i| i.values.clone())
        .unwrap_or_default();
    let mut message = None;
    let page_no = p.page.unwrap_or(1).clamp(1, 500);
    let results = if q.is_empty() {
        // Filters alone (a county, a kind) search nothing: said, not a blank page.
        if !(county.is_empty() && kind.is_empty() && industry.is_empty()) {
            message = Some(
                "请输入名称或统一社会信用代码中的至少两个字，再按地区、类别或行业筛选。"
                    .to_string(),
            );
        }
        None
    } else if normalized.len() == 18 && normalized.as_bytes()[..17].iter().all(u8::is_ascii_digit) {
        message = Some(
            "为保护个人信息，门户不提供按公民身份号码查询，请输入企业名称或统一社会信用代码。"
                .to_string(),
        );
        // Nor does the page repeat the number it was given.
        q = domain::ids::mask_id_number(&normalized);
        None
    } else if let Some(masked) = with_personal_numbers_masked(&q) {
        // A name with an ID number beside it (18 digits, or the old 15): not searched, and
        // not repeated.
        message = Some(
            "为保护个人信息，门户不提供按公民身份号码查询，请输入企业名称或统一社会信用代码。"
                .to_string(),
        );
        q = masked;
        None
    } else if normalized.len() == 18
        && normalized.bytes().all(|b| b.is_ascii_alphanumeric())
        && normalized.bytes().any(|b| b.is_ascii_digit())
        && let Err(e) = domain::ids::Uscc::parse(&normalized, &state.rules.ids)
    {
        // A code with a mistyped character finds nothing by name either: say which.
        message = Some(format!(
            "统一社会信用代码“{normalized}”有误：{e}。请核对后重新输入。"
        ));
        None
    } else if search::query_too_long(&q) {
        message = Some(format!(
            "查询内容过长：请输入不超过{}个字、{}个词的企业名称或统一社会信用代码。",
            search::MAX_QUERY_CHARS,
            search::MAX_TERMS
        ));
        None
    } else if let Some(bad) = [
        (
            "地区",
            &county,
            !county.is_empty() && state.rules.divisions.get(&county).is_none(),
        ),
        (
            "主体类型",
            &kind,
            !matches!(kind.as_str(), "" | "organisation" | "individual_business"),
        ),
        (
            "行业",
            &industry,
            !industry.is_empty() && !industries.contains(&industry),
        ),
    ]
    .iter()
    .find(|(_, _, bad)| *bad)
    {
        // A filter no list offers (an edited address) is said to be one, not taken for a
        // person's name that found nothing.
        message = Some(format!(
            "筛选条件“{}”不是可选的{}：请从列表中选择。",
            domain::text::echo(bad.1),
            bad.0
        ));
        None
    } else {
        let f = search::Filters {
            division: Some(county.clone()).filter(|s| !s.is_empty()),
            kind: Some(kind.clone()).filter(|s| !s.is_empty()),
            industry: Some(industry.clone()).filter(|s| !s.is_empty()),
        };
        let offset = (page_no - 1) * PER_PAGE;
        // Off the runtime's threads: how long a search walks depends on how common its words
        // are (a one-character or very common word: 0.1–0.2 s over 1 M organisations).
        let (s, q) = (state.clone(), q.clone());
        match blocking(move || Ok(s.search.search(&q, &f, offset, PER_PAGE))).await {
            Ok(r) => Some(r),
            Err(e) => return error(e),
        }
    };
    let (total, hits) = match results {
        Some(r) => (r.total, r.hits),
        None => (0, Vec::new()),
    };
    // At most 500 pages are walked: past them a narrower query is the way on.
    let pages_n = total.div_ceil(PER_PAGE).clamp(1, 500);
    if total.div_ceil(PER_PAGE) > 500 && message.is_none() {
        message = Some("结果过多，只列出前500页；请增加关键词或用地区、类型、行业筛选。".into());
    }
    if total == 0 && !q.is_empty() && message.is_none() {
        message = Some(
            "没有找到匹配的信用主体。为保护个人信息，门户不提供按自然人姓名查询；自然人的公示信息见各公示栏目。"
                .into(),
        );
    }
    let link = |n: usize| {
        format!(
            "/search?q={}&county={}&kind={}&industry={}&page={n}",
            enc(&q),
            enc(&county),
            enc(&kind),
            enc(&industry)
        )
    };
    // A page past the last (an old link, a typed number) goes to the last page: not "共找到 83
    // 家" above an empty list.
    if hits.is_empty() && total > 0 && page_no > pages_n {
        return Redirect::to(&link(pages_n)).into_response();
    }
    let kinds = vec![
        Choice {
            value: String::new(),
            label: "全部".into(),
            selected: kind.is_empty(),
        },
        Choice {
            value: "organisation".into(),
            label: "法人及非法人组织".into(),
            selected: kind == "organisation",
        },
        Choice {
            value: "individual_business".into(),
            label: "个体工商户".into(),
            selected: kind == "individual_business",
        },
    ];
    // Each hit's 登记状态 as the register gives it (a 注销 or 吊销 company was shown as 已登记):
    // read for the page's hits only.
    let keys: Vec<String> = hits.iter().map(|h| h.entry.key.clone()).collect();
    let st = state.clone();
    let reg_status: std::collections::HashMap<String, String> = blocking(move || {
        let mut out = std::collections::HashMap::new();
        for k in keys {
            if let Some(s) = st.store.subject(&k)?.and_then(|s| s.reg_status) {
                out.insert(k, s);
            }
        }
        Ok(out)
    })
    .await
    .unwrap_or_default();
    page(pages::PortalSearch {
        frame: frame("信用查询", "/search"),
        counties: counties(&state, &county, &city_own(&state)),
        kinds,
        industries: choices(&industries, &industry),
        hits: hits
            .into_iter()
            .map(|h| pages::SearchHit {
                href: format!("/subjects/{}", enc(&h.entry.key)),
                pieces: h.pieces,
                code: h.entry.key.clone(),
                kind: if h.entry.kind == "individual_business" {
                    "个体工商户"
                } else {
                    "法人及非法人组织"
                }
                .into(),
                division: h
                    .entry
                    .division
                    .as_deref()
                    .and_then(|d| state.rules.divisions.get(d))
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                industry: h.entry.industry.clone().unwrap_or_default(),
                status: match (reg_status.get(&h.entry.key), h.entry.registered) {
                    (Some(s), _) => format!("登记状态：{s}"),
                    (None, true) => "已登记".into(),
                    (None, false) => "未关联登记信息".into(),
                },
            })
            .collect(),
        total,
        page: page_no.min(pages_n),
        pages: pages_n,
        prev: (page_no > 1).then(|| link(page_no.min(pages_n + 1) - 1)),
        next: (page_no < pages_n).then(|| link(page_no + 1)),
        q,
        message,
    })
}

#[derive(Deserialize)]
struct TabParam {
    tab: Option<String>,
    page: Option<usize>,
}

const CARDS_PER_PAGE: usize = 20;

async fn subject_page(
    State(state): State<Shared>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(p): ApiQuery<TabParam>,
) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        let now = s.clock.now();
        let t = today(now);
        // The portal finds organisations by code and persons only by the opaque key its own
        // pages link to: no lookup of a person by ID number.
        let n = domain::ids::normalize(&code);
        let key = if let Ok((u, _)) = domain::ids::Uscc::parse(&n, &s.rules.ids) {
            u.as_str().to_string()
        } else if n.len() == 32 && n.starts_with('P') {
            format!("P{}", n[1..].to_lowercase())
        } else {
            return Ok(None);
        };
        let Some(file) = views::credit_file(&s.store, &s.rules, &key, t, views::Audience::Public)?
        else {
            return Ok(None);
        };
        if file.subject.kind == domain::record::SubjectKind::NaturalPerson
            && file.classes.is_empty()
        {
            return Ok(None);
        }
        // Nor an organisation the register does not know, reported only in records its unit
        // withdrew (a name reported in error stayed on the portal for good); the search
        // leaves it out the same way.
        if !file.subject.registered
            && file.classes.is_empty()
            && !s.store.reported_not_withdrawn(&key)?
        {
            return Ok(None);
        }
        Ok(Some(file))
    })
    .await;
    let file = match r {
        Ok(Some(f)) => f,
        Ok(None) => return not_found("没有找到该信用主体，或其没有公示中的信息。"),
        Err(e) => return error(e),
    };
    let id = &file.subject;
    let mut facts = vec![];
    match &id.uscc {
        Some(u) => facts.push(("统一社会信用代码".to_string(), u.clone())),
        None => facts.push((
            "证件号码".to_string(),
            id.id_masked.clone().unwrap_or_default(),
        )),
    }
    facts.push(("主体类别".into(), id.kind_label.into()));
    if let Some(d) = &id.division_name {
        facts.push(("地区".into(), d.clone()));
    }
    if let Some(t) = &id.reg_type {
        facts.push(("登记类型".into(), t.clone()));
    }
    if let Some(s) = &id.reg_status {
        facts.push(("登记状态".into(), s.clone()));
    }
    if let Some(i) = &id.industry {
        facts.push(("所属行业".into(), i.clone()));
    }
    let active = p
        .tab
        .filter(|t| file.classes.iter().any(|c| &c.code == t))
        .or_else(|| file.classes.first().map(|c| c.code.clone()))
        .unwrap_or_default();
    let base = format!("/subjects/{}", enc(&id.key));
    let tabs = file
        .classes
        .iter()
        .map(|c| Tab {
            href: format!("{base}?tab={}", c.code),
            label: c.name.clone(),
            count: c.records.len(),
            active: c.code == active,
        })
        .collect();
    // A long history is paged: 20 cards a page, so a subject with a thousand penalties still
    // opens quickly on a phone.
    let in_tab = file
        .classes
        .iter()
        .find(|c| c.code == active)
        .map_or(0, |c| c.records.len());
    let pages_n = in_tab.div_ceil(CARDS_PER_PAGE).max(1);
    let page_no = p.page.unwrap_or(1).clamp(1, pages_n);
    let link = |n: usize| format!("{base}?tab={active}&page={n}");
    let (prev, next) = (
        (page_no > 1).then(|| link(page_no - 1)),
        (page_no < pages_n).then(|| link(page_no + 1)),
    );
    let cards = file
        .classes
        .iter()
        .filter(|c| c.code == active)
        .flat_map(|c| {
            c.records
                .iter()
                .skip((page_no - 1) * CARDS_PER_PAGE)
                .take(CARDS_PER_PAGE)
                .map(move |r| {
                    let title = r
                        .items
                        .iter()
                        .find(|i| {
                            [
                                "CF_WSH", "XK_WSH", "MD_WSH", "SX_AH", "CN_BH", "RY_MC", "HT_BH",
                                "QZ_WSH", "DJ_MC",
                            ]
                            .contains(&&*i.code)
                        })
                        .map(|i| i.value.clone())
                        .unwrap_or_else(|| c.name.clone());
                    pages::RecordCard {
                        title,
                        status: r.status_label.into(),
                        objection: r.under_objection,
                        items: r
                            .items
                            .iter()
                            .map(|i| (i.name.to_string(), i.shown().into_owned()))
                            .collect(),
                        repairable_from: r
                            .repairable_from
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        ends: r
                            .public_ends
                            .map(domain::record::day_shown)
                            .unwrap_or_default(),
                        penalty: c.code == "CF",
                    }
                })
        })
        .collect();
    page(pages::PortalSubject {
        frame: frame(&id.name, "/search"),
        name: id.name.clone(),
        facts,
        tabs,
        cards,
        as_of: file.as_of.to_string(),
        page: page_no,
        pages: pages_n,
        prev,
        next,
    })
}

#[derive(Deserialize, Default)]
struct ColumnParams {
    unit: Option<String>,
    county: Option<String>,
    /// The subject's own division (主体所在地区).
    subject_county: Option<String>,
    /// One of the column's lists (a class code: SXBZXR for 失信被执行人 alone).
    list: Option<String>,
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
}

fn day(s: &Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    match s.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        Some(x) => crate::api::files::parse_day(x).map(Some),
        None => Ok(None),
    }
}

struct ColumnSpec {
    classes: &'static [&'static str],
    /// Subjects on any of these lists now are left out (see `RED_SUSPENDED_BY`).
    unless_listed_in: &'static [&'static str],
    heading: &'static str,
    intro: &'static str,
    path: &'static str,
    categories: Vec<String>,
    headers: &'static [&'static str],
    tabs: Vec<Tab>,
    csv: Option<&'static str>,
}

async fn column(state: Shared, spec: ColumnSpec, p: ColumnParams) -> Response {
    let unit = p.unit.clone().unwrap_or_default();
    let county = p.county.clone().unwrap_or_default();
    let subject_county = p.subject_county.clone().unwrap_or_default();
    let category = p.category.clone().unwrap_or_default();
    let page_no = p.page.unwrap_or(1).clamp(1, 1000);
    let (from, to) = match (day(&p.from), day(&p.to)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    let s = state.clone();
    // One list of a column of several (the court's 失信被执行人 apart from the others).
    let only_list = p
        .list
        .clone()
        .filter(|l| spec.classes.len() > 1 && spec.classes.contains(&l.as_str()));
    let classes: Vec<String> = match &only_list {
        Some(l) => vec![l.clone()],
        None => spec.classes.iter().map(|c| c.to_string()).collect(),
    };
    let unless = spec.unless_listed_in;
    let (u, c, k, sc) = (
        unit.clone(),
        county.clone(),
        category.clone(),
        subject_county.clone(),
    );
    let r = blocking(move || {
        let filtered = !(u.is_empty() && c.is_empty() && k.is_empty() && sc.is_empty())
            || from.is_some()
            || to.is_some();
        let q = PublicQuery {
            classes: classes.clone(),
            today: Some(today(s.clock.now())),
            unit: Some(u).filter(|x| !x.is_empty()),
            division: Some(c).filter(|x| !x.is_empty()),
            subject_division: Some(sc).filter(|x| !x.is_empty()),
            category: Some(k).filter(|x| !x.is_empty()),
            from,
            to,
            unless_listed_in: unless.iter().map(|c| c.to_string()).collect(),
            offset: (page_no - 1) * PER_PAGE as i64,
            limit: PER_PAGE as i64 + 1,
            ..Default::default()
        };
        let records = s.store.public_records(&q)?;
        // 共 N 条 without counting on every page (a count on every filtered page put the
        // penalties page's p99 at 97-227 ms on a 1M-record store, goal 50 ms): exact on the
        // last page (the pages before and its own rows); a whole column from the counts kept
        // with the home page's figures; a filtered one only on its last page.
        use std::sync::atomic::Ordering::Relaxed;
        let total = if records.len() <= PER_PAGE {
            format!("共{}条", q.offset + records.len() as i64)
        } else if filtered {
            String::new()
        } else if !unless.is_empty() {
            // The red list: its count as shown, subjects on a serious list left out.
            if s.red_shown.load(Relaxed) < 0 {
                compute_figures(&s)?;
            }
            format!("共{}条", s.red_shown.load(Relaxed))
        } else {
            let kept: i64 = public_stats(&s)?
                .records_by_class
                .iter()
                .filter(|n| classes.contains(&n.name))
                .map(|n| n.count)
                .sum();
            format!("共{kept}条")
        };
        Ok((views::portal::column_rows(&s.rules, &records), total))
    })
    .await;
    let (mut rows, total) = match r {
        Ok(rows) => rows,
        Err(e) => return error(e),
    };
    let more = rows.len() > PER_PAGE;
    rows.truncate(PER_PAGE);
    let rows_empty = rows.is_empty();
    let query = format!(
        "list={}&unit={}&county={}&subject_county={}&category={}&from={}&to={}",
        enc(only_list.as_deref().unwrap_or_default()),
        enc(&unit),
        enc(&county),
        enc(&subject_county),
        enc(&category),
        from.map(|d| d.to_string()).unwrap_or_default(),
        to.map(|d| d.to_string()).unwrap_or_default()
    );
    let link = |n: i64| format!("{}?{query}&page={n}", spec.path);
    let list = spec
        .classes
        .iter()
        .any(|c| ["HMD", "YZSX", "SXBZXR", "ZDGZ"].contains(c));
    let units: Vec<String> = state
        .rules
        .units
        .units
        .iter()
        .filter(|u| {
            spec.classes.iter().any(|c| {
                state
                    .rules
                    .catalog
                    .class_by_code(c)
                    .is_some_and(|k| u.may_report(k))
            })
        })
        .map(|u| u.name.clone())
        .collect();
    page(pages::PortalColumn {
        frame: frame(spec.heading, spec.path),
        heading: spec.heading.into(),
        intro: spec.intro.into(),
        path: spec.path.into(),
        area_label: if list {
            "认定单位所在地区"
        } else {
            "决定机关所在地区"
        }
        .into(),
        date_label: if list { "列入日期" } else { "决定日期" }.into(),
        headers: spec.headers.iter().map(|h| h.to_string()).collect(),
        rows: rows
            .into_iter()
            .map(|r| Row {
                href: format!(
                    "/subjects/{}?tab={}",
                    enc(&r.subject_key),
                    classes_tab(&r.class_name, &state)
                ),
                cells: if list {
                    vec![
                        r.subject_name,
                        r.subject_code,
                        r.category,
                        r.content,
                        r.basis,
                        r.unit,
                        r.decided_on,
                        // A court's 失信被执行人 entry runs until the judgment is performed.
                        if r.ends.is_empty() {
                            "未定期限".into()
                        } else {
                            r.ends
                        },
                    ]
                } else if spec.classes == ["CF"] {
                    vec![
                        r.subject_name,
                        r.decision_no,
                        r.category,
                        r.content,
                        r.unit,
                        r.decided_on,
                        // As the subject page says it: a penalty that cannot be repaired.
                        if r.repairable_from.is_empty() {
                            "不适用".into()
                        } else {
                            r.repairable_from
                        },
                        r.ends,
                    ]
                } else {
                    vec![
                        r.subject_name,
                        r.decision_no,
                        r.category,
                        r.content,
                        r.unit,
                        r.decided_on,
                        r.ends,
                    ]
                },
                objection: r.under_objection,
            })
            .collect(),
        units: choices(&units, &unit),
        counties: counties(&state, &county, "市级部门"),
        subject_counties: counties(&state, &subject_county, &city_own(&state)),
        lists: if spec.classes.len() > 1 {
            let mut v = vec![Choice {
                value: String::new(),
                label: "全部".into(),
                selected: only_list.is_none(),
            }];
            v.extend(spec.classes.iter().map(|c| {
                Choice {
                    value: c.to_string(),
                    label: state
                        .rules
                        .catalog
                        .class_by_code(c)
                        .map_or_else(|| c.to_string(), |k| k.name.clone()),
                    selected: only_list.as_deref() == Some(*c),
                }
            }));
            v
        } else {
            Vec::new()
        },
        // No 类别 filter where the column has no categories to choose (the list pages).
        categories: if spec.categories.is_empty() {
            Vec::new()
        } else {
            choices(&spec.categories, &category)
        },
        from: from.map(|d| d.to_string()).unwrap_or_default(),
        to: to.map(|d| d.to_string()).unwrap_or_default(),
        beyond: (rows_empty && page_no > 1).then(|| link(1)),
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: more.then(|| link(page_no + 1)),
        page: page_no as usize,
        total,
        csv: spec.csv.map(|c| format!("{c}?{query}")),
        tabs: spec.tabs,
    })
}

fn classes_tab(class_name: &str, state: &Shared) -> String {
    state
        .rules
        .catalog
        .class(class_name)
        .map(|c| c.code.clone())
        .unwrap_or_default()
}

fn enum_values(state: &Shared, name: &str) -> Vec<String> {
    state
        .rules
        .catalog
        .enums
        .get(name)
        .cloned()
        .unwrap_or_default()
}

async fn licences(State(state): State<Shared>, ApiQuery(p): ApiQuery<ColumnParams>) -> Response {
    let spec = ColumnSpec {
        classes: &["XK"],
        unless_listed_in: &[],
        heading: "行政许可公示",
        intro: "全市各部门作出的行政许可决定，自决定之日起7个工作日内公示。许可有效期届满、撤回或撤销的不再公示。",
        path: "/publicity/licences",
        categories: enum_values(&state, "许可类别"),
        headers: &[
            "行政相对人名称",
            "决定文书号",
            "许可类别",
            "许可内容",
            "许可机关",
            "决定日期",
            "有效期至",
        ],
        tabs: Vec::new(),
        csv: Some("/opendata/licences.csv"),
    };
    column(state, spec, p).await
}

async fn penalties(State(state): State<Shared>, ApiQuery(p): ApiQuery<ColumnParams>) -> Response {
    let spec = ColumnSpec {
        classes: &["CF"],
        unless_listed_in: &[],
        heading: "行政处罚公示",
        intro: "全市各部门作出的行政处罚决定，按决定作出时适用的规定确定的期限公示（2026年4月1日起作出的按《信用修复管理办法》，此前按国家发展改革委令第58号等，市场监管部门的按市场监管总局令第45号）；信用修复、撤回或公示期届满后不再公示。",
        path: "/publicity/penalties",
        categories: enum_values(&state, "处罚类别"),
        headers: &[
            "行政相对人名称",
            "决定书文号",
            "处罚类别",
            "处罚内容",
            "处罚机关",
            "决定日期",
            "可申请修复日期",
            "公示截止日期",
        ],
        tabs: Vec::new(),
        csv: Some("/opendata/penalties.csv"),
    };
    column(state, spec, p).await
}

fn list_tabs(active: &str) -> Vec<Tab> {
    [
        ("/lists/red", "守信激励名单"),
        ("/lists/serious", "严重失信主体名单"),
        ("/lists/focus", "重点关注名单"),
    ]
    .iter()
    .map(|(h, l)| Tab {
        href: h.to_string(),
        label: l.to_string(),
        count: 0,
        active: *h == active,
    })
    .collect()
}

const LIST_HEADERS: &[&str] = &[
    "主体名称",
    "统一社会信用代码/证件号码",
    "名单类型",
    "列入原因/情形",
    "认定依据",
    "认定单位",
    "列入日期",
    "有效期至",
];

use domain::lists::{RED_SUSPENDED_BY, SERIOUS_LISTS};

async fn list_red(State(state): State<Shared>, ApiQuery(p): ApiQuery<ColumnParams>) -> Response {
    let spec = ColumnSpec {
        classes: &["HMD"],
        unless_listed_in: RED_SUSPENDED_BY,
        heading: "守信激励（红）名单",
        intro: "依法认定的守信激励对象，享受“信易+”等激励措施。同时列入严重失信主体名单（含失信被执行人）的主体，在列期间不实施守信激励，不在本名单中显示。",
        path: "/lists/red",
        categories: Vec::new(),
        headers: LIST_HEADERS,
        tabs: list_tabs("/lists/red"),
        csv: None,
    };
    column(state, spec, p).await
}

async fn list_serious(
    State(state): State<Shared>,
    ApiQuery(p): ApiQuery<ColumnParams>,
) -> Response {
    let spec = ColumnSpec {
        classes: SERIOUS_LISTS,
        unless_listed_in: &[],
        heading: "严重失信主体名单",
        intro: "依据法律、法规和党中央、国务院政策文件认定的严重失信主体，包括失信被执行人。移出名单后不再公示。",
        path: "/lists/serious",
        categories: Vec::new(),
        headers: LIST_HEADERS,
        tabs: list_tabs("/lists/serious"),
        csv: None,
    };
    column(state, spec, p).await
}

async fn list_focus(State(state): State<Shared>, ApiQuery(p): ApiQuery<ColumnParams>) -> Response {
    let spec = ColumnSpec {
        classes: &["ZDGZ"],
        unless_listed_in: &[],
        heading: "重点关注名单",
        intro: "存在失信行为、需要重点关注和限期整改的主体。",
        path: "/lists/focus",
        categories: Vec::new(),
        headers: LIST_HEADERS,
        tabs: list_tabs("/lists/focus"),
        csv: None,
    };
    column(state, spec, p).await
}

async fn opendata(State(state): State<Shared>) -> Response {
    let t = today(state.clock.now());
    let units: Vec<String> = state
        .rules
        .units
        .units
        .iter()
        .filter(|u| u.tags.iter().any(|x| x == "行政机关"))
        .map(|u| u.name.clone())
        .collect();
    page(pages::PortalOpenData {
        frame: frame("开放数据", "/opendata"),
        units: choices(&units, ""),
        counties: counties(&state, "", "市级部门"),
        from: (t - chrono::Duration::days(30)).to_string(),
        to: t.to_string(),
    })
}

/// The public 双公示 records of a date range as CSV, streamed page by page.
/// A cell a spreadsheet program would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first) gets a leading apostrophe: open data is opened by anyone, in anything.
fn defuse_formula(cell: &mut String) {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        cell.insert(0, '\'');
    }
}

async fn opendata_csv(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(file): ApiPath<String>,
    ApiQuery(p): ApiQuery<ColumnParams>,
) -> Response {
    let class = match file.as_str() {
        "penalties.csv" => "CF",
        "licences.csv" => "XK",
        _ => return not_found("没有这个数据集。"),
    };
    let (from, to) = match (day(&p.from), day(&p.to)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    // A year at most per download (the form asks for both dates; a link without them gives the
    // year to today): the whole store in one response is not open data, it is a dump.
    let to = to.unwrap_or_else(|| today(state.clock.now()));
    let from = from.unwrap_or(to - chrono::Days::new(365));
    if to < from {
        return error(ApiError::Unprocessable(format!(
            "起止日期有误：结束日期{to}早于开始日期{from}"
        )));
    }
    if (to - from).num_days() > 366 {
        return error(ApiError::Unprocessable(format!(
            "一次最多下载一年（366天）的数据，所选{from}至{to}超过一年：请分段下载"
        )));
    }
    let (from, to) = (Some(from), Some(to));
    let category = p.category.clone().filter(|x| !x.is_empty());
    let Some(class_def) = state.rules.catalog.class_by_code(class).cloned() else {
        return not_found("没有这个数据集。");
    };
    audit(
        &state,
        &ctx,
        "opendata.download",
        Some(file.clone()),
        "ok",
        // Read as a person reads it (the trail showed Some(2025-12-07) and None).
        Some(format!(
            "from={} to={} unit={}",
            from.map_or("-".to_string(), |d| d.to_string()),
            to.map_or("-".to_string(), |d| d.to_string()),
            p.unit.as_deref().unwrap_or("-")
        )),
    )
    .await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let s = state.clone();
    let (unit, county, subject_county) = (
        p.unit.clone().filter(|x| !x.is_empty()),
        p.county.clone().filter(|x| !x.is_empty()),
        p.subject_county.clone().filter(|x| !x.is_empty()),
    );
    tokio::task::spawn_blocking(move || {
        let columns = views::portal::open_columns(&class_def);
        let mut header: Vec<String> = vec!["记录编号".into()];
        // A 万元 item of the national standard is published in 元: said beside its code, so
        // that a reader mapping by code does not take the figures for 万元.
        header.extend(columns.iter().map(|(code, name)| {
            let wan = class_def
                .items
                .iter()
                .any(|i| &i.code == code && i.ty == domain::catalog::ItemType::Wan);
            if wan {
                format!("{name}({code}，标准单位为万元，此处已折算为元)")
            } else {
                format!("{name}({code})")
            }
        }));
        // A penalty's 可申请信用修复日期, as its web page shows it (the portal's own column,
        // not an item of the standard).
        let repairable = class_def.code == "CF";
        if repairable {
            header.push("可申请信用修复日期".into());
        }
        // A record under objection is labelled wherever it is shown (rules: 异议处理中).
        header.push("异议状态".into());
        let ends_code = class_def
            .index_of_role(domain::catalog::Role::PublicityEnd)
            .map(|i| class_def.items[i].code.clone());
        let ends_at = columns
            .iter()
            .position(|(code, _)| Some(code) == ends_code.as_ref());
        let mut after = None;
        loop {
            let mut w = csv::Writer::from_writer(Vec::new());
            if after.is_none() {
                let _ = w.write_record(&header);
            }
            let page = match s.store.public_records(&PublicQuery {
                classes: vec![class_def.code.clone()],
                today: Some(today(s.clock.now())),
                unit: unit.clone(),
                division: county.clone(),
                subject_division: subject_county.clone(),
                from,
                to,
                category: category.clone(),
                after: after.clone(),
                limit: 2000,
                ..Default::default()
            }) {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            for r in &page {
                let mut rec = vec![r.record_id.clone()];
                rec.extend(views::portal::open_values(
                    &columns,
                    &r.payload,
                    r.decided_on,
                ));
                // 公示截止期 is the platform's: the window it computed (units mostly leave the
                // item empty), as the web page shows it.
                if let (Some(i), Some(d)) = (ends_at, r.public_ends) {
                    rec[i + 1] = d.to_string();
                }
                if repairable {
                    rec.push(
                        r.repairable_from
                            .map_or_else(|| "不适用".to_string(), |d| d.to_string()),
                    );
                }
                rec.push(
                    if r.under_objection {
                        "异议处理中"
                    } else {
                        ""
                    }
                    .into(),
                );
                for cell in &mut rec {
                    defuse_formula(cell);
                }
                let _ = w.write_record(&rec);
            }
            let buf = w.into_inner().unwrap_or_default();
            // The UTF-8 byte order mark tells spreadsheet programs how to read the Chinese.
            let chunk = if after.is_none() {
                let mut b = vec![0xEF, 0xBB, 0xBF];
                b.extend(buf);
                b
            } else {
                buf
            };
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return;
            }
            match page.last() {
                Some(last) if page.len() == 2000 => {
                    after = last
                        .decided_on
                        .map(|d| (d, last.subject_key.clone(), last.record_key.clone()));
                    if after.is_none() {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[derive(Deserialize)]
struct NewsParams {
    column: Option<String>,
    q: Option<String>,
    page: Option<i64>,
}

async fn news(State(state): State<Shared>, ApiQuery(p): ApiQuery<NewsParams>) -> Response {
    let column = p
        .column
        .filter(|c| COLUMNS.contains(&c.as_str()))
        .unwrap_or_default();
    let q = p.q.unwrap_or_default().trim().to_string();
    let page_no = p.page.unwrap_or(1).clamp(1, 1000);
    let s = state.clone();
    let (c2, q2) = (column.clone(), q.clone());
    let r = blocking(move || {
        Ok(s.store.articles(
            Some(&c2).filter(|c| !c.is_empty()).map(String::as_str),
            Some(&q2).filter(|c| !c.is_empty()).map(String::as_str),
            Some(today(s.clock.now())),
            (page_no - 1) * 20,
            21,
        )?)
    })
    .await;
    let mut list = match r {
        Ok(l) => l,
        Err(e) => return error(e),
    };
    let more = list.len() > 20;
    list.truncate(20);
    let link = |n: i64| format!("/news?column={}&q={}&page={n}", enc(&column), enc(&q));
    let mut tabs = vec![Tab {
        href: "/news".into(),
        label: "全部".into(),
        count: 0,
        active: column.is_empty(),
    }];
    tabs.extend(COLUMNS.iter().map(|c| Tab {
        href: format!("/news?column={}", enc(c)),
        label: c.to_string(),
        count: 0,
        active: column == *c,
    }));
    page(pages::PortalNews {
        frame: frame(
            if column.is_empty() {
                "信用动态与政策"
            } else {
                &column
            },
            "/news",
        ),
        heading: if column.is_empty() {
            "信用动态与政策".into()
        } else {
            column.clone()
        },
        column: column.clone(),
        q: q.clone(),
        items: news_items(&list),
        tabs,
        page: page_no,
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: more.then(|| link(page_no + 1)),
    })
}

fn published(a: &store::Article, today: NaiveDate) -> bool {
    a.status == "published" && a.published_on.is_some_and(|d| d <= today)
}

/// Tells crawlers to leave persons' files, the API and the console alone.
async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::headers::ROBOTS_TXT,
    )
        .into_response()
}

async fn article(State(state): State<Shared>, ApiPath(id): ApiPath<i64>) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        let Some(a) = s.store.article(id)? else {
            return Ok(None);
        };
        if !published(&a, today(s.clock.now())) {
            return Ok(None);
        }
        let files = s.store.attachments(id)?;
        Ok(Some((a, files)))
    })
    .await;
    match r {
        Ok(Some((a, files))) => page(pages::PortalArticle {
            frame: frame(&a.title, "/news"),
            title: a.title.clone(),
            column: a.column_name.clone(),
            date: a.published_on.map(|d| d.to_string()).unwrap_or_default(),
            // A change to the text after the day it went out is said, with its day (an edit
            // before a scheduled day is part of what was published).
            edited: a
                .edited_at
                .map(|t| domain::clock::beijing(t).date_naive())
                .filter(|d| a.published_on.is_some_and(|p| *d > p))
                .map(|d| d.to_string()),
            paragraphs: a
                .body
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            attachments: files
                .iter()
                .map(|f| {
                    (
                        format!("/news/{}/attachments/{}", a.article_id, f.attachment_id),
                        f.file_name.clone(),
                        crate::console::articles::size_label(f.byte_size),
                    )
                })
                .collect(),
        }),
        Ok(None) => not_found("没有这篇文章。"),
        Err(e) => error(e),
    }
}

async fn attachment(
    State(state): State<Shared>,
    ApiPath((id, aid)): ApiPath<(i64, i64)>,
) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        let Some(a) = s.store.article(id)? else {
            return Ok(None);
        };
        if !published(&a, today(s.clock.now())) {
            return Ok(None);
        }
        Ok(s.store.attachment_data(id, aid)?)
    })
    .await;
    match r {
        Ok(Some((meta, data))) => (
            [
                (header::CONTENT_TYPE, meta.content_type.clone()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename*=UTF-8''{}", enc(&meta.file_name)),
                ),
            ],
            data,
        )
            .into_response(),
        Ok(None) => not_found("没有这个附件。"),
        Err(e) => error(e),
    }
}
