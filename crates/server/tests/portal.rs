//! The public portal 信用中国（江苏盐城） and the console's 双公示 monitoring, news publishing and
//! bulletin, through the real router on a real store.

mod common;

use auth::Role;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use domain::clock::Clock;

fn record_id_of(h: &Harness, decision_no: &str) -> String {
    let recs = h
        .state
        .store
        .public_records(&store::PublicQuery {
            classes: vec!["CF".into()],
            today: Some(testkit::day("2026-06-10")),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    recs.into_iter()
        .find(|r| r.payload.contains(decision_no))
        .map(|r| r.record_id)
        .unwrap_or_else(|| panic!("{decision_no} not public"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_search_subject_and_columns() {
    let h = harness();
    let home = h.get("/", Role::Public).await;
    assert_eq!(home.status, StatusCode::OK);
    let t = home.text();
    assert!(t.contains("信用中国（江苏盐城）"), "{t}");
    for link in [
        "/publicity/licences",
        "/publicity/penalties",
        "/lists/red",
        "/lists/serious",
        "/lists/focus",
        "/opendata",
        "/news",
    ] {
        assert!(t.contains(&format!("href=\"{link}")), "home lacks {link}");
    }
    // The home page (indexable) names organisations, not the persons the columns list; its
    // links open the class's tab.
    assert!(
        !t.contains("王小明") && t.contains(&format!("/subjects/{}?tab=CF", h.org)),
        "{t}"
    );
    assert!(
        h.get("/publicity/penalties", Role::Public)
            .await
            .text()
            .contains("王小明")
    );

    // Two characters of a name find it, highlighted.
    let r = h
        .get(&format!("/search?q={}", urlencode("恒泰")), Role::Public)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let t = r.text();
    assert!(t.contains("<mark>恒泰</mark>"), "{t}");
    assert!(t.contains(&format!("/subjects/{}", h.org)));
    // A filter no list offers is said to be one (it read as a person's name finding nothing);
    // one the list offers still narrows.
    let t = h
        .get(
            &format!("/search?q={}&kind=xxx", urlencode("恒泰")),
            Role::Public,
        )
        .await
        .text();
    assert!(t.contains("不是可选的主体类型"), "{t}");
    let t = h
        .get(
            &format!("/search?q={}&kind=organisation", urlencode("恒泰")),
            Role::Public,
        )
        .await
        .text();
    assert!(t.contains(&format!("/subjects/{}", h.org)), "{t}");
    // A company struck off says so in the results, as its register does (was 已登记).
    let code = {
        let org = "MA1Y0901";
        let check = domain::ids::org_code_check(org.as_bytes()).unwrap();
        let body = format!("91320900{org}{check}");
        format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
    };
    let dj = format!(
        "DJ_MC,DJ_SHXYM,DJ_ZTLX,DJ_FRDB,DJ_FR_ZJHM,DJ_CLRQ,DJ_DJJG,DJ_DJZT\n盐城市注销示例有限公司,{code},企业,王某,,2015-05-05,盐城市市场监督管理局,注销\n"
    );
    let s = tokio::task::block_in_place(|| {
        let s = import_csv(&h.state, "盐城市市场监督管理局", "登记注册基本信息", &dj);
        h.state.search.refresh(&h.state.store).unwrap();
        s
    });
    assert_eq!(s.accepted, 1, "{s:?}");
    let t = h
        .get(
            &format!("/search?q={}", urlencode("注销示例")),
            Role::Public,
        )
        .await
        .text();
    assert!(t.contains("登记状态：注销"), "{t}");
    // A page past the last goes to the last.
    let r = h
        .get(
            &format!("/search?q={}&page=6", urlencode("恒泰")),
            Role::Public,
        )
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert!(
        r.headers[axum::http::header::LOCATION]
            .to_str()
            .unwrap()
            .ends_with("&page=1"),
        "{:?}",
        r.headers
    );
    // One character finds it too (a walk over every name).
    let t = h
        .get(&format!("/search?q={}", urlencode("泰")), Role::Public)
        .await
        .text();
    assert!(t.contains(&format!("/subjects/{}", h.org)), "{t}");
    // A word that is in no name finds nothing.
    let none = h
        .get(&format!("/search?q={}", urlencode("射阳")), Role::Public)
        .await
        .text();
    assert!(!none.contains("/subjects/"), "{none}");
    // A code goes straight to the subject.
    let r = h
        .get(&format!("/search?q={}", h.org.to_lowercase()), Role::Public)
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(
        r.headers["location"],
        format!("/subjects/{}", h.org).as_str()
    );
    // The subject's kind is its 主体类别 on its page and in the search filter alike (a
    // registration's enterprise type, when there is one, is its 登记类型).
    let page = h
        .get(&format!("/subjects/{}", h.org), Role::Public)
        .await
        .text();
    assert!(
        page.contains("主体类别") && !page.contains("主体类型"),
        "{page}"
    );
    let search = h
        .get("/search?q=%E7%9B%90%E5%9F%8E", Role::Public)
        .await
        .text();
    assert!(
        search.contains("主体类别") && !search.contains("主体类型"),
        "{search}"
    );
    // A code with its last character mistyped: told that the code is wrong — not the character
    // that would make it valid, which makes a mistyped code someone else's.
    let last = h.org.chars().last().unwrap();
    let wrong = format!("{}{}", &h.org[..17], if last == '0' { '1' } else { '0' });
    let r = h.get(&format!("/search?q={wrong}"), Role::Public).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("统一社会信用代码")
            && r.text().contains("校验码错误")
            && !r.text().contains(&format!("应为“{last}”")),
        "{}",
        r.text()
    );
    // An ID number is not a search the public may make.
    let r = h
        .get(&format!("/search?q={}", h.person), Role::Public)
        .await
        .text();
    assert!(r.contains("不提供按公民身份号码查询"), "{r}");
    assert!(!r.contains(&h.person));
    // A query of thousands of terms is answered with what to do, not searched.
    let r = h
        .get(
            &format!("/search?q={}", urlencode(&vec!["泰"; 3000].join(" "))),
            Role::Public,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let t = r.text();
    assert!(t.contains("查询内容过长"), "{t}");
    assert!(!t.contains("/subjects/"), "{t}");

    // The subject page: the penalty with its dates.
    let s = h.get(&format!("/subjects/{}", h.org), Role::Public).await;
    assert_eq!(s.status, StatusCode::OK);
    let t = s.text();
    assert!(
        t.contains("盐城市恒泰化工有限公司") && t.contains("盐环罚〔2026〕1号"),
        "{t}"
    );
    assert!(t.contains("2026-06-01"), "decision date");
    assert!(t.contains("可申请信用修复") || t.contains("可修复"), "{t}");
    // The decision's own 处罚有效期 is not read as a second end of publicity.
    assert!(
        t.contains("处罚有效期（处罚决定书载明，不是公示期限）"),
        "{t}"
    );
    assert!(t.contains("公示截止"), "{t}");

    // The penalties column, filtered by unit and by date.
    let col = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(
        col.contains("盐环罚〔2026〕1号") && col.contains("盐环罚〔2026〕2号"),
        "{col}"
    );
    assert!(!col.contains("回到第一页"));
    // The page says how many there are: what it lists, on one page.
    let total = |page: &str| -> usize {
        page.split("<span>共")
            .nth(1)
            .and_then(|t| t.split('条').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no total: {page}"))
    };
    let listed = |page: &str| page.matches("<tr><td data-label=").count();
    assert!(listed(&col) >= 2, "{col}");
    assert_eq!(total(&col), listed(&col), "{col}");
    // The fine in 元 beside the words that state it in 万元.
    assert!(col.contains("处罚款0.5万元（罚款金额5000.00元）"), "{col}");
    // And a confiscated amount likewise.
    let code = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let other = {
        let body = "91320900MA1MB4X52";
        format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
    };
    let csv = penalty_csv(&[(
        "盐城市没收示例有限公司",
        "法人及非法人组织",
        &other,
        "盐环罚〔2026〕3号",
    )])
    .replace("CF_SJLYDM\n", "CF_SJLYDM,CF_NR_WFFF\n")
    .replace(
        ",罚款,处罚款0.5万元,",
        ",罚款;没收违法所得,处罚款0.5万元，没收违法所得1.2万元,",
    )
    .replace("11320900001401484X\n", "11320900001401484X,1.2\n")
    .replace("11320900001401484X", &code);
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!((s.accepted, s.rejected), (1, 0), "{s:?}");
    let col = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(
        col.contains("没收违法所得1.2万元（罚款金额5000.00元；没收金额12000.00元）"),
        "{col}"
    );
    // A page past the last says so and leads back to the first.
    let past = h
        .get("/publicity/penalties?page=9999", Role::Public)
        .await
        .text();
    assert!(
        past.contains("已超出最后一页") && past.contains("page=1\""),
        "{past}"
    );
    assert!(!past.contains("上一页"), "{past}");
    let later = h
        .get("/publicity/penalties?from=2026-06-02", Role::Public)
        .await
        .text();
    assert!(
        !later.contains("盐环罚〔2026〕1号"),
        "a date filter after the decision hides it"
    );
    assert_eq!(total(&later), listed(&later), "{later}");
    assert!(total(&later) < total(&col), "{later}");
    let other = h
        .get(
            &format!("/publicity/penalties?unit={}", urlencode(OTHER_UNIT)),
            Role::Public,
        )
        .await
        .text();
    assert!(!other.contains("盐环罚〔2026〕1号"));
    // By the subject's own region (a county office's view of its companies): the city's
    // companies under 市本级, none under 东台市 — on the page, in its paging and in the CSV.
    let own = h
        .get("/publicity/penalties?subject_county=320900", Role::Public)
        .await
        .text();
    assert!(
        own.contains("盐环罚〔2026〕1号") && own.contains("盐城市（市本级）"),
        "{own}"
    );
    let dongtai = h
        .get("/publicity/penalties?subject_county=320981", Role::Public)
        .await
        .text();
    assert!(
        !dongtai.contains("盐环罚〔2026〕1号") && dongtai.contains("没有符合条件的公示信息"),
        "{dongtai}"
    );
    assert!(dongtai.contains("subject_county=320981&#38;"), "{dongtai}");
    let csv = h
        .get(
            "/opendata/penalties.csv?subject_county=320981&from=2026-01-01&to=2026-06-10",
            Role::Public,
        )
        .await
        .text();
    assert_eq!(csv.lines().count(), 1, "{csv}");
    let bad = h
        .get("/publicity/penalties?from=2026-13-01", Role::Public)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("YYYY-MM-DD"), "{}", bad.text());

    // Errors at a page's address are pages, in Chinese; the API keeps its JSON.
    for (uri, status, words) in [
        ("/no-such-page", StatusCode::NOT_FOUND, "未找到"),
        (
            "/publicity/penalties?page=abc",
            StatusCode::BAD_REQUEST,
            "参数“page”应为不带正负号的整数",
        ),
        (
            "/search?q=%E7%9B%90&page=-1",
            StatusCode::BAD_REQUEST,
            "参数“page”应为不带正负号的整数",
        ),
        ("/news/abc", StatusCode::BAD_REQUEST, "应为不带正负号的整数"),
    ] {
        let r = h.get(uri, Role::Public).await;
        assert_eq!(r.status, status, "{uri}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{uri}"
        );
        let t = r.text();
        assert!(
            t.contains(words) && t.contains("信用中国（江苏盐城）"),
            "{uri}: {t}"
        );
    }
    let api = h.get("/api/v1/no-such-thing", Role::Public).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json()["error"]["code"], "not_found");

    // A name that finds nothing says what the portal does not search.
    let none = h
        .get(&format!("/search?q={}", urlencode("姜娜旭")), Role::Public)
        .await
        .text();
    assert!(none.contains("不提供按自然人姓名查询"), "{none}");
    // A name with an ID number beside it (or an old 15-digit one) is not searched, and the page
    // does not repeat the number.
    let wrong = format!(
        "{}{}",
        &h.person[..17],
        if h.person.ends_with('0') { '1' } else { '0' }
    );
    for q in [
        format!("王小明 {}", h.person),
        format!("王小明 {wrong}"),
        "王小明 320902850315123".to_string(),
    ] {
        let page = h
            .get(&format!("/search?q={}", urlencode(&q)), Role::Public)
            .await
            .text();
        assert!(page.contains("不提供按公民身份号码查询"), "{page}");
        let digits = q.split(' ').nth(1).unwrap();
        assert!(!page.contains(digits), "{q}: {page}");
    }
    // Typed in groups, the number is refused and not repeated either.
    let birth = &h.person[6..14];
    for sep in [" ", "-", "."] {
        let q = format!(
            "王小明{}{sep}{birth}{sep}{}",
            &h.person[..6],
            &h.person[14..]
        );
        let page = h
            .get(&format!("/search?q={}", urlencode(&q)), Role::Public)
            .await
            .text();
        assert!(page.contains("不提供按公民身份号码查询"), "{q}: {page}");
        assert!(!page.contains(birth), "{q}: {page}");
    }
    // The lists have no 类别 to choose; their type is shown.
    let lists = h.get("/lists/serious", Role::Public).await.text();
    assert!(!lists.contains("name=\"category\""), "{lists}");
    // Each column's filters say what they read: a list's the deciding unit's area and the
    // listing date, a publicity column's the deciding body's area and the decision date.
    assert!(
        lists.contains("认定单位所在地区") && lists.contains("列入日期自"),
        "{lists}"
    );
    let penalties = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(
        penalties.contains("决定机关所在地区") && penalties.contains("决定日期自"),
        "{penalties}"
    );
    // Open data carries the platform's 公示截止期.
    let csv = h
        .get(
            "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
            Role::Public,
        )
        .await
        .text();
    let mut rdr = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let at = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "公示截止期(CF_GSJZQ)")
        .expect("the column");
    let first = rdr.records().next().expect("a row").unwrap();
    assert_eq!(first[at].len(), 10, "{:?}", &first);
    // The fine, in 元, says so beside the code the standard defines in 万元.
    let fine = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "罚款金额（元）(CF_NR_FK，标准单位为万元，此处已折算为元)")
        .expect("the fine's column");
    assert!(first[fine].ends_with(".00"), "{:?}", &first);
    // And the day its subject may apply for repair, as the page shows it.
    let repair = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "可申请信用修复日期")
        .expect("the repair column");
    let (_, records) = h.state.store.subject_file(&h.org, None).unwrap().unwrap();
    let shown: Vec<String> = records
        .iter()
        .filter_map(|r| r.current()?.repairable_from.map(|d| d.to_string()))
        .collect();
    assert!(
        rdr.records()
            .map(|r| r.unwrap()[repair].to_string())
            .chain([first[repair].to_string()])
            .any(|d| shown.contains(&d)),
        "{csv}"
    );
    // Every row says whether it is under objection.
    assert_eq!(
        rdr.headers().unwrap().iter().next_back(),
        Some("异议状态"),
        "{csv}"
    );
}

/// Open data is opened in spreadsheet programs: a cell that would run as a formula is text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_data_cells_never_run_as_formulas() {
    let h = harness();
    let org = "MA5Y0002";
    let body = format!(
        "91320900{org}{}",
        domain::ids::org_code_check(org.as_bytes()).unwrap()
    );
    let code = format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()));
    let csv = unit_penalty_csv(
        &h.state,
        &[(
            "盐城市公式化工有限公司",
            "法人及非法人组织",
            &code,
            "盐环罚〔2026〕91号",
        )],
    )
    .replace("超标排放,", "=1+2,");
    let summary = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let csv = h
        .get(
            "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
            Role::Public,
        )
        .await
        .text();
    let mut rdr = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let row = rdr
        .records()
        .map(Result::unwrap)
        .find(|r| r.iter().any(|c| c == "盐环罚〔2026〕91号"))
        .expect("the row");
    assert!(row.iter().any(|c| c == "'=1+2"), "{row:?}");
    assert!(!row.iter().any(|c| c.starts_with('=')), "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_portal_page_shows_an_id_number_in_full() {
    let h = harness();
    let masked = format!("{}********{}", &h.person[..6], &h.person[14..]);
    let mut person_page = None;
    for path in [
        "/",
        "/publicity/penalties",
        "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
    ] {
        let r = h.get(path, Role::Public).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let t = r.text();
        assert!(!t.contains(&h.person), "{path} shows the ID in full");
        if path == "/publicity/penalties" {
            // The person's page is reached through an opaque key, never the ID.
            let at = t.find("/subjects/P").expect("a link to the person's page");
            person_page = Some(t[at..].split(['"', '?']).next().unwrap().to_string());
        }
    }
    let page = person_page.unwrap();
    let r = h.get(&page, Role::Public).await;
    assert_eq!(r.status, StatusCode::OK, "{page}");
    assert!(r.text().contains("王小明") && !r.text().contains(&h.person));
    assert!(
        r.text().contains(&masked),
        "the person's page shows the masked ID {masked}"
    );
    // Typing the ID number in the address finds nothing.
    let r = h
        .get(&format!("/subjects/{}", h.person), Role::Public)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repaired_penalty_leaves_every_public_view_at_once() {
    let h = harness();
    let id = record_id_of(&h, "盐环罚〔2026〕1号");
    h.state
        .store
        .repair_record(
            &id,
            &store::Withdrawal {
                unit: UNIT,
                reason: "信用修复已核准",
                actor: "test",
                at: h.state.clock.now(),
            },
        )
        .unwrap();
    let col = h.get("/publicity/penalties", Role::Public).await.text();
    assert!(
        !col.contains("盐环罚〔2026〕1号") && col.contains("盐环罚〔2026〕2号"),
        "{col}"
    );
    let s = h
        .get(&format!("/subjects/{}", h.org), Role::Public)
        .await
        .text();
    assert!(!s.contains("盐环罚〔2026〕1号"), "{s}");
    let csv = h
        .get(
            "/opendata/penalties.csv?from=2026-01-01&to=2026-12-31",
            Role::Public,
        )
        .await
        .text();
    assert!(
        !csv.contains("盐环罚〔2026〕1号") && csv.contains("盐环罚〔2026〕2号"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_are_written_in_the_console_and_published_on_the_portal() {
    let h = harness();
    // A person's ID number in what would be published: refused, saying where (a mobile number
    // may be the office's hotline: the office decides).
    for body in ["失信当事人张某（身份证号320902198503151234）已完成整改。"] {
        let r = h
            .post_form(
                "/console/articles",
                Role::Admin,
                &[("column", "通知公告"), ("title", "通报"), ("body", body)],
            )
            .await;
        assert!(r.text().contains("不能向社会公开"), "{}", r.text());
        assert!(!r.text().contains("19850315"), "{}", r.text());
    }
    let r = h
        .post_form(
            "/console/articles",
            Role::Admin,
            &[
                ("column", "通知公告"),
                ("title", "关于开展2026年度信用修复培训的通知"),
                ("body", "第一段。\n\n第二段<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let loc = r.headers["location"].to_str().unwrap().to_string();
    let id: i64 = loc.rsplit('/').next().unwrap().parse().unwrap();
    // A draft is not public.
    assert_eq!(
        h.get(&format!("/news/{id}"), Role::Public).await.status,
        StatusCode::NOT_FOUND
    );
    let bad = h
        .post_form(
            &format!("/console/articles/{id}/publish"),
            Role::Admin,
            &[("published_on", "2026-6-1x")],
        )
        .await;
    assert!(bad.text().contains("YYYY-MM-DD"), "{}", bad.text());
    let r = h
        .post_form(
            &format!("/console/articles/{id}/publish"),
            Role::Admin,
            &[("published_on", "2026-06-09")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = h.get(&format!("/news/{id}"), Role::Public).await;
    assert_eq!(page.status, StatusCode::OK);
    let t = page.text();
    assert!(t.contains("关于开展2026年度信用修复培训的通知") && t.contains("2026-06-09"));
    assert!(!t.contains("<script>alert"), "article bodies are escaped");
    assert!(!t.contains("更新日期"), "{t}");
    // Its text changed the day after it went out: the portal says so, with the day.
    let r = h
        .post_form(
            &format!("/console/articles/{id}"),
            Role::Admin,
            &[
                ("column", "通知公告"),
                ("title", "关于开展2026年度信用修复培训的通知"),
                ("body", "第一段（时间调整）。"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let t = h.get(&format!("/news/{id}"), Role::Public).await.text();
    assert!(
        t.contains("发布日期：2026-06-09 · 更新日期：2026-06-10") && t.contains("时间调整"),
        "{t}"
    );
    assert!(
        h.get("/", Role::Public)
            .await
            .text()
            .contains("关于开展2026年度信用修复培训的通知")
    );
    let found = h
        .get(
            &format!("/news?q={}", urlencode("信用修复培训")),
            Role::Public,
        )
        .await
        .text();
    assert!(found.contains(&format!("/news/{id}")), "{found}");
    // A % or _ is searched for as written, not as a wildcard matching every article.
    for q in ["%25", "_"] {
        let page = h.get(&format!("/news?q={q}"), Role::Public).await.text();
        assert!(!page.contains(&format!("/news/{id}")), "{q}: {page}");
    }
    // A file of a few MB goes on through the form (which takes up to 20MB).
    let b = "XYBOUNDARY7";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"培训通知.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n",
        h.sessions[&Role::Admin].1
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'x', 3 << 20));
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    let r = h
        .send(
            h.request(
                Method::POST,
                &format!("/console/articles/{id}/attachments"),
                Role::Admin,
                Via::Session,
            )
            .header(
                axum::http::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(Body::from(body))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // A wrong attachment comes off again (it stayed published).
    let aid = tokio::task::block_in_place(|| {
        h.state
            .store
            .add_attachment(id, "错误.pdf", "application/pdf", b"%PDF-1.4", &|_| Ok(()))
    })
    .unwrap();
    let edit = h
        .get(&format!("/console/articles/{id}"), Role::Admin)
        .await
        .text();
    assert!(
        edit.contains(&format!("/console/articles/{id}/attachments/{aid}/remove")),
        "{edit}"
    );
    for role in [Role::Reporter, Role::Auditor] {
        let r = h
            .post_form(
                &format!("/console/articles/{id}/attachments/{aid}/remove"),
                role,
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
    let r = h
        .post_form(
            &format!("/console/articles/{id}/attachments/{aid}/remove"),
            Role::Admin,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        tokio::task::block_in_place(|| h.state.store.attachments(id))
            .unwrap()
            .iter()
            .all(|a| a.file_name != "错误.pdf")
    );
    assert_eq!(h.trail("article.detach", &format!("article:{id}")).len(), 1);
    // Others may not write.
    for role in [Role::Reporter, Role::Auditor, Role::Public] {
        let r = h
            .post_form(
                "/console/articles",
                role,
                &[("column", "通知公告"), ("title", "x"), ("body", "y")],
            )
            .await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
            "{role}: {}",
            r.status
        );
    }
    // Withdrawn: gone from the portal.
    h.post_form(
        &format!("/console/articles/{id}/withdraw"),
        Role::Admin,
        &[],
    )
    .await;
    assert_eq!(
        h.get(&format!("/news/{id}"), Role::Public).await.status,
        StatusCode::NOT_FOUND
    );
    let audited = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("article.publish".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    // With the date it was given.
    assert!(audited.iter().any(
        |e| e.entry.object.as_deref() == Some(&format!("article:{id}"))
            && e.entry.outcome == "ok"
            && e.entry.detail.as_deref() == Some("published_on=2026-06-09")
    ));
    // Written, each with one entry (before it committed), named by the article's id.
    let object = format!("article:{id}");
    assert_eq!(h.outcomes("article.create", &object), ["ok"]);
    assert_eq!(h.outcomes("article.withdraw", &object), ["ok"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_reports_monitoring_and_bulletin_in_the_console() {
    let mut h = harness();
    // June is not over (the harness's day is in June): its count cannot be declared yet.
    let r = h
        .post_form(
            "/console/self-reports",
            Role::Reporter,
            &[
                ("month", "2026-06"),
                ("class", "CF"),
                ("produced", "2"),
                ("gap_reason", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("尚未结束") && r.text().contains("2026-07-01"),
        "{}",
        r.text()
    );
    // Nor is any unit named below the goal for a self-report it cannot file yet.
    let running = h
        .get("/console/monitoring?month=2026-06", Role::Admin)
        .await
        .text();
    assert!(!running.contains("未报送月度自报"), "{running}");
    h.move_to(
        chrono::NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc(),
    )
    .await;
    // The unit declares 5 penalties in June but has reported 2: a reason is required.
    let r = h
        .post_form(
            "/console/self-reports",
            Role::Reporter,
            &[("month", "2026-06"), ("class", "CF"), ("produced", "5")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("请填写差异说明"), "{}", r.text());
    // The form comes back as it was sent (it came back empty, on 行政许可).
    assert!(
        r.text().contains("<option value=\"CF\" selected>")
            && r.text().contains("value=\"5\" required"),
        "{}",
        r.text()
    );
    let r = h
        .post_form(
            "/console/self-reports",
            Role::Reporter,
            &[
                ("month", "2026-06"),
                ("class", "CF"),
                ("produced", "-1"),
                ("gap_reason", "x"),
            ],
        )
        .await;
    assert!(r.text().contains("0到1000000"), "{}", r.text());
    let r = h
        .post_form(
            "/console/self-reports",
            Role::Reporter,
            &[
                ("month", "2026-08"),
                ("class", "CF"),
                ("produced", "1"),
                ("gap_reason", "x"),
            ],
        )
        .await;
    assert!(r.text().contains("尚未到来"), "{}", r.text());
    let r = h
        .post_form(
            "/console/self-reports",
            Role::Reporter,
            &[
                ("month", "2026-06"),
                ("class", "CF"),
                ("produced", "5"),
                ("gap_reason", "三件决定尚未送达"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // The credit office cannot file for a unit.
    let r = h
        .post_form(
            "/console/self-reports",
            Role::Admin,
            &[("month", "2026-06"), ("class", "CF"), ("produced", "2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let m = h
        .get("/console/monitoring?month=2026-06", Role::Admin)
        .await;
    assert_eq!(m.status, StatusCode::OK);
    let t = m.text();
    assert!(t.contains(UNIT) && t.contains("40.00%"), "上报率 2/5: {t}");
    // The month over, a unit that filed none is named for it.
    assert!(t.contains("未报送月度自报"), "{t}");
    assert!(t.contains("三件决定尚未送达"), "the unit's reason is shown");
    assert!(t.contains("县（市、区）排名"));
    // The unit sees its own line; a drill-down into another unit is refused.
    let mine = h
        .get("/console/monitoring?month=2026-06", Role::Reporter)
        .await
        .text();
    assert!(mine.contains(UNIT) && !mine.contains("县（市、区）排名"));
    // The drill-down (a late report) shows a record as it reads now: a corrected fine, not the
    // first report's.
    let csv = |fine: &str| {
        penalty_csv(&[(
            "盐城市监测明细有限公司",
            "法人及非法人组织",
            "91320900MA1MB4X50R",
            "盐环罚〔2026〕901号",
        )])
        .replace("处罚款0.5万元,0.5", &format!("处罚款{fine}万元,{fine}"))
        // May: June's figures below stay the unit's two.
        .replace("2026-06-01", "2026-05-04")
        .replace(
            "11320900001401484X",
            &h.state.rules.units.find(UNIT).unwrap().uscc,
        )
    };
    for fine in ["0.61", "0.62"] {
        let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv(fine)));
        assert_eq!(s.accepted, 1, "{s:?}");
    }
    let drill = h
        .get(
            &format!(
                "/console/monitoring/records?month=2026-05&unit={}&class=CF&which=late",
                urlencode(UNIT)
            ),
            Role::Reporter,
        )
        .await
        .text();
    assert!(
        drill.contains("6200.00") && !drill.contains("6100.00"),
        "{drill}"
    );
    // When it first came, and how late, as the office tells the unit.
    assert!(
        drill.contains("首次报送日期")
            && drill.contains("2026-07-01")
            && drill.contains("个工作日（应于2026-05-"),
        "{drill}"
    );
    // Rejected rows are named by their number and party, each decision once however often it
    // was refused (batch and line alone sent the clerk to open each file; a decision refused
    // twice was listed twice).
    let bad = csv("0.63")
        .replace("盐环罚〔2026〕901号", "盐环罚〔2026〕902号")
        .replace("91320900MA1MB4X50R", "91320900MA1MB4X50X");
    for _ in 0..2 {
        let again = format!("{bad}\n");
        let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &again));
        assert_eq!(s.rejected, 1, "{s:?}");
    }
    let drill = h
        .get(
            &format!(
                "/console/monitoring/records?month=2026-05&unit={}&class=CF&which=rejected",
                urlencode(UNIT)
            ),
            Role::Reporter,
        )
        .await
        .text();
    assert!(
        drill.contains("<th>文书号</th>") && drill.contains("盐城市监测明细有限公司"),
        "{drill}"
    );
    assert_eq!(drill.matches("盐环罚〔2026〕902号").count(), 1, "{drill}");
    let other = h
        .get(
            &format!(
                "/console/monitoring/records?month=2026-06&unit={}&class=CF&which=late",
                urlencode(OTHER_UNIT)
            ),
            Role::Reporter,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // ... and the refusal is in the trail, as an API request's is: a unit reading another's
    // figures is seen.
    assert!(
        h.trail("access.denied", "GET /console/monitoring/records")
            .iter()
            .any(|e| e.entry.outcome == "denied:refused"),
        "a refused console page is audited"
    );
    let bad = h
        .get("/console/monitoring?month=2026-13", Role::Admin)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The printable bulletin names the unit below 100%; the workbook is a real XLSX.
    let b = h.get("/console/bulletin?month=2026-06", Role::Admin).await;
    assert_eq!(b.status, StatusCode::OK);
    let t = b.text();
    assert!(
        t.contains("盐城市2026年6月“双公示”信息报送情况通报") && t.contains("上报率40.00%"),
        "{t}"
    );
    let x = h
        .get("/console/bulletin.xlsx?month=2026-06", Role::Admin)
        .await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.body.starts_with(b"PK"), "an XLSX is a zip");
    // Its figures are numbers (counts, and rates as percentages) that formulas can check.
    {
        use calamine::Reader;
        let mut wb: calamine::Xlsx<_> =
            calamine::Xlsx::new(std::io::Cursor::new(x.body.clone())).unwrap();
        let sheet = wb.worksheet_range("通报").unwrap();
        let floats: Vec<f64> = sheet
            .used_cells()
            .filter_map(|(_, _, v)| match v {
                calamine::Data::Float(f) => Some(*f),
                _ => None,
            })
            .collect();
        assert!(
            floats.contains(&0.4),
            "上报率 40.00% as 0.4 exactly: {floats:?}"
        );
        assert!(
            !sheet
                .used_cells()
                .any(|(_, _, v)| matches!(v, calamine::Data::String(t) if t.ends_with('%'))),
            "no rate left as text"
        );
    }
    for role in [Role::Reporter, Role::Auditor, Role::Financial] {
        assert_eq!(
            h.get("/console/bulletin.xlsx?month=2026-06", role)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    let audited = h
        .state
        .platform
        .audit_search(&store::AuditQuery {
            action: Some("bulletin.export".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(
        audited
            .iter()
            .any(|e| e.entry.object.as_deref() == Some("month:2026-06"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_history_is_paged_on_the_subject_page() {
    let h = harness();
    let nos: Vec<String> = (100..124).map(|i| format!("盐环罚〔2026〕{i}号")).collect();
    let rows: Vec<(&str, &str, &str, &str)> = nos
        .iter()
        .map(|n| {
            (
                "盐城市恒泰化工有限公司",
                "法人及非法人组织",
                h.org.as_str(),
                n.as_str(),
            )
        })
        .collect();
    let csv = unit_penalty_csv(&h.state, &rows);
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!(s.accepted, 24);
    let count = |t: &str| t.matches("<article class=\"record\">").count();
    let first = h
        .get(&format!("/subjects/{}?tab=CF", h.org), Role::Public)
        .await
        .text();
    assert_eq!(count(&first), 20, "{first}");
    assert!(
        first.contains("（25）") && first.contains("第1页，共2页"),
        "{first}"
    );
    let second = h
        .get(&format!("/subjects/{}?tab=CF&page=2", h.org), Role::Public)
        .await
        .text();
    assert_eq!(count(&second), 5);
    // Every record is on exactly one page.
    for n in nos
        .iter()
        .chain(std::iter::once(&"盐环罚〔2026〕1号".to_string()))
    {
        assert_eq!(
            first.contains(n.as_str()) as u8 + second.contains(n.as_str()) as u8,
            1,
            "{n}"
        );
    }
    // A page past the end shows the last page.
    assert_eq!(
        count(
            &h.get(&format!("/subjects/{}?tab=CF&page=99", h.org), Role::Public)
                .await
                .text()
        ),
        5
    );
}

/// A subject whose update time is older than the newest one the name index has seen (it committed
/// late, after an overlapping writer) is read at the next refresh when a submission brought it
/// (by the submission's id); a change made outside any submission waits for the hourly rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_name_index_rebuild_finds_what_the_cursor_missed() {
    let h = harness();
    let code = "91320900MA1MB4X50R".to_string();
    assert!(h.state.search.get(&code).is_some());
    let org = "MA5Y0001";
    let body = format!(
        "91320900{org}{}",
        domain::ids::org_code_check(org.as_bytes()).unwrap()
    );
    let late = format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()));
    let s = h.state.clone();
    let found = tokio::task::spawn_blocking(move || {
        let csv = unit_penalty_csv(
            &s,
            &[(
                "盐城市迟到化工有限公司",
                "法人及非法人组织",
                &late,
                "盐环罚〔2026〕90号",
            )],
        );
        let summary = import_csv(&s, UNIT, "行政处罚", &csv);
        assert_eq!(summary.accepted, 1);
        let early: chrono::DateTime<chrono::Utc> =
            chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc);
        // As if the whole submission had begun long ago and committed only now.
        s.store
            .write(|c| {
                c.execute(
                    "UPDATE subjects SET updated_at = $1 WHERE subject_key = $2",
                    &[early.into(), late.as_str().into()],
                )?;
                c.execute(
                    "UPDATE submissions SET received_at = $1
                     WHERE submission_id = (SELECT MAX(submission_id) FROM submissions)",
                    &[early.into()],
                )
            })
            .unwrap();
        s.search.refresh(&s.store).unwrap();
        let name = |s: &server::Shared| s.search.get(&late).map(|e| e.name);
        let after_refresh = name(&s);
        // Renamed outside any submission, stamped early: the refresh cannot tell; the rebuild can.
        s.store
            .write(|c| {
                c.execute(
                    "UPDATE subjects SET updated_at = $1, name = '盐城市改名化工有限公司'
                     WHERE subject_key = $2",
                    &[early.into(), late.as_str().into()],
                )
            })
            .unwrap();
        s.search.refresh(&s.store).unwrap();
        let renamed_refresh = name(&s);
        s.search.rebuild(&s.store).unwrap();
        (
            after_refresh,
            renamed_refresh,
            name(&s),
            s.search.get(&code).is_some(),
        )
    })
    .await
    .unwrap();
    let was = Some("盐城市迟到化工有限公司".to_string());
    let renamed = Some("盐城市改名化工有限公司".to_string());
    assert_eq!(found, (was.clone(), was, renamed, true));
    let page = h
        .get(&format!("/search?q={}", urlencode("改名")), Role::Public)
        .await
        .text();
    assert!(
        page.contains("盐城市<mark>改名</mark>化工有限公司"),
        "{page}"
    );
}

/// Items the catalog marks never public (证件号码) are not in the public's file at all, masked or
/// not; the full file keeps them, masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_public_items_are_left_out_of_the_public_file() {
    let h = harness();
    let key = h.state.keys.person_key("身份证", &h.person);
    let codes = |audience| {
        let f = tokio::task::block_in_place(|| {
            views::credit_file(
                &h.state.store,
                &h.state.rules,
                &key,
                h.state.clock.today(),
                audience,
            )
        })
        .unwrap()
        .expect("the person's file");
        f.classes
            .iter()
            .flat_map(|c| c.records.iter())
            .flat_map(|r| r.items.iter().map(|i| i.code.to_string()))
            .collect::<Vec<_>>()
    };
    let public = codes(views::Audience::Public);
    assert!(public.iter().any(|c| c == "CF_WSH"), "{public:?}");
    assert!(!public.iter().any(|c| c == "CF_XDR_ZJHM"), "{public:?}");
    let full = codes(views::Audience::Full);
    assert!(full.iter().any(|c| c == "CF_XDR_ZJHM"), "{full:?}");
}

/// The open-data download keeps the column's category, reads % and _ as themselves, and gives a
/// year at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_data_keeps_the_category_and_a_year_at_most() {
    let h = harness();
    let rows = |q: &str| {
        let h = &h;
        let q = q.to_string();
        async move {
            let r = h
                .get(&format!("/opendata/penalties.csv?{q}"), Role::Public)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
            r.text().lines().count() - 1
        }
    };
    let year = "from=2026-01-01&to=2026-12-31";
    assert_eq!(rows(year).await, 2);
    assert_eq!(rows(&format!("{year}&category=罚款")).await, 2);
    assert_eq!(rows(&format!("{year}&category=吊销许可证件")).await, 0);
    assert_eq!(rows(&format!("{year}&category=%25")).await, 0);
    assert_eq!(rows(&format!("{year}&category=_")).await, 0);
    let r = h
        .get(
            "/opendata/penalties.csv?from=2020-01-01&to=2026-12-31",
            Role::Public,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("一次最多下载一年"), "{}", r.text());
    // Dates the wrong way round are told as such, not as a range too long.
    let r = h
        .get(
            "/opendata/penalties.csv?from=2026-06-01&to=2026-05-01",
            Role::Public,
        )
        .await;
    assert!(
        r.text()
            .contains("结束日期2026-05-01早于开始日期2026-06-01"),
        "{}",
        r.text()
    );
}

/// The credit office reads each unit's intake and the 重错码 findings in the console; a unit's
/// staff may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_reads_data_quality_and_code_conflicts_in_the_console() {
    let h = harness();
    // The same code under a second name.
    let csv = penalty_csv(&[(
        "盐城恒泰化工公司",
        "法人及非法人组织",
        &h.org,
        "盐环罚〔2026〕77号",
    )])
    .replace(
        "11320900001401484X",
        &h.state.rules.units.find(UNIT).unwrap().uscc,
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政处罚", &csv));
    assert_eq!(s.accepted, 1, "{s:?}");
    let r = h.get("/console/quality", Role::Admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains("一码多名") && t.contains("盐城恒泰化工公司") && t.contains(&h.org),
        "{t}"
    );
    assert!(t.contains(UNIT) && t.contains("入库率"), "{t}");
    // Which classes count as on time, from the catalog (list batches counted; the note said
    // only licences and penalties did).
    assert!(
        t.contains("严重失信主体名单：决定后7个工作日内")
            && t.contains("行政处罚：决定后7个工作日内"),
        "{t}"
    );
    let r = h.get("/console/quality", Role::Reporter).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The unit that brought the second name in sees the finding on its own home page, to
    // correct at its source; a unit that reported neither name does not.
    let home = h.get("/console", Role::Reporter).await.text();
    assert!(
        home.contains("重错码待核实") && home.contains("盐城恒泰化工公司"),
        "{home}"
    );
    let other = tokio::task::block_in_place(|| {
        h.state
            .store
            .code_conflicts_of_unit("盐城市住房和城乡建设局", 20)
    })
    .unwrap();
    assert!(other.is_empty(), "{other:?}");

    // The office marks it looked into, with why: it leaves the list, the review is shown, and
    // the trail has it. Without a reason, or by another role, nothing is marked.
    let hr = &h;
    let review = |role: Role, reason: &'static str| {
        let org = hr.org.clone();
        async move {
            hr.post_form(
                "/console/quality/conflicts/review",
                role,
                &[
                    ("kind", "one_code_many_names"),
                    ("anchor", org.as_str()),
                    ("reason", reason),
                ],
            )
            .await
        }
    };
    assert_eq!(
        review(Role::Reporter, "x").await.status,
        StatusCode::FORBIDDEN
    );
    assert_ne!(review(Role::Admin, " ").await.status, StatusCode::SEE_OTHER);
    let r = review(Role::Admin, "简称，已与登记机关核实").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let t = h.get("/console/quality", Role::Admin).await.text();
    let open = t.split("一名多码").next().unwrap_or_default();
    assert!(
        !open.contains("盐城恒泰化工公司") && t.contains("简称，已与登记机关核实"),
        "{t}"
    );
    // Looked into: it leaves the unit's home page too.
    let home = h.get("/console", Role::Reporter).await.text();
    assert!(!home.contains("重错码待核实"), "{home}");
    // The review, written with its entry before it committed, and the blank one refused.
    assert_eq!(
        h.outcomes(
            "quality.conflict_review",
            &format!("one_code_many_names:{}", h.org)
        ),
        ["ok", "failed"]
    );
    // A batch withdrawn whole leaves the unit's figures, and is counted apart.
    let before = h.state.store.quality_by_unit(Some(UNIT)).unwrap()[0].clone();
    h.state
        .store
        .withdraw_submission(
            s.submission_id.unwrap(),
            &store::Withdrawal {
                unit: UNIT,
                actor: "李四",
                reason: "名称填错",
                at: h.state.clock.now(),
            },
        )
        .unwrap();
    let after = h.state.store.quality_by_unit(Some(UNIT)).unwrap()[0].clone();
    assert_eq!(
        (
            after.submissions,
            after.counts.accepted,
            after.withdrawn_submissions
        ),
        (before.submissions - 1, before.counts.accepted - 1, 1)
    );
    let t = h.get("/console/quality", Role::Admin).await.text();
    assert!(t.contains("（另有已撤回1批）"), "{t}");
}

/// The credit office issues a month's bulletin: the workbook is kept as issued, signed by the
/// platform (OpenSSL checks it), and stays what it was when the month's figures change; issuing
/// the month again is a corrected version with its reason. Only the credit office does either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issued_bulletin_stays_as_issued() {
    for mut h in [harness(), pg_harness().await] {
        let name = h.ts.name;
        // June is still running on the harness's day: nothing to issue yet.
        let r = h
            .post_form(
                "/console/bulletin/issue",
                Role::Admin,
                &[("month", "2026-06")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(r.text().contains("尚未结束"), "{name}");
        h.move_to(domain::clock::Clock::now(&testkit::clock_on("2026-07-06")))
            .await;
        // A month written otherwise than YYYY-MM is refused (it would be another string for
        // the same month, or a month not ended).
        for odd in ["2026-6", "+2026-07", "2026-07"] {
            let r = h
                .post_form("/console/bulletin/issue", Role::Admin, &[("month", odd)])
                .await;
            assert!(
                matches!(
                    r.status,
                    StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
                ),
                "{name} {odd}: {}",
                r.status
            );
        }
        for role in [Role::Reporter, Role::Auditor, Role::Handling] {
            let r = h
                .post_form("/console/bulletin/issue", role, &[("month", "2026-06")])
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} {role}");
        }
        // June has ended, but its decisions may be reported until 2026-07-09 (seven working
        // days): a unit still in time is not named in a signed bulletin.
        let june = [("month", "2026-06")];
        let r = h
            .post_form("/console/bulletin/issue", Role::Admin, &june)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            r.text().contains("报送期限为2026-07-09"),
            "{name}: {}",
            r.text()
        );
        // The refusal is on the trail with why, not only the month.
        let refused = tokio::task::block_in_place(|| {
            h.state
                .platform
                .audit_search(&store::AuditQuery {
                    action: Some("bulletin.issue".into()),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
        });
        assert!(
            refused.iter().any(|e| e.entry.outcome == "failed"
                && e.entry
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.contains("refused=") && d.contains("报送期限为2026-07-09"))),
            "{name}: {refused:?}"
        );
        // The page says so in place of the button.
        let page = h
            .get("/console/monitoring?month=2026-06", Role::Admin)
            .await
            .text();
        assert!(
            page.contains("期限届满后（2026-07-10起）方可印发")
                && !page.contains("/console/bulletin/issue"),
            "{name}: {page}"
        );
        h.move_to(domain::clock::Clock::now(&testkit::clock_on("2026-07-10")))
            .await;
        let r = h
            .post_form("/console/bulletin/issue", Role::Admin, &june)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{name}: {}", r.text());
        let page = h
            .get("/console/monitoring?month=2026-06", Role::Admin)
            .await
            .text();
        assert!(
            page.contains("第1版")
                && page.contains("下载印发版")
                && page.contains("/console/bulletin/issue"),
            "{name}"
        );
        let first = tokio::task::block_in_place(|| h.state.platform.bulletins("2026-06")).unwrap();
        assert_eq!(first.len(), 1, "{name}");
        let b = first[0].clone();
        // Issued with its entry in the same transaction, naming the version and its SM3.
        let entry = h.trail("bulletin.issue", &format!("bulletin:{}", b.bulletin_id));
        assert_eq!(entry.len(), 1, "{name}: {entry:?}");
        assert_eq!(
            entry[0].entry.detail.as_deref(),
            Some(format!("month=2026-06 version=1 sm3={}", b.sm3).as_str()),
            "{name}"
        );
        let issued = h
            .get(
                &format!("/console/bulletin/issued/{}", b.bulletin_id),
                Role::Admin,
            )
            .await;
        assert_eq!(issued.status, StatusCode::OK, "{name}");
        assert!(issued.body.starts_with(b"PK"));
        assert_eq!(crypto::sm3_hex(&issued.body), b.sm3, "{name}");
        assert!(page.contains(&b.sm3), "{name}: the page shows the SM3");
        for role in [Role::Reporter, Role::Auditor] {
            let r = h
                .get(&format!("/console/bulletin/issued/{}", b.bulletin_id), role)
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} {role}");
        }
        // OpenSSL checks the signature against the platform's public key.
        let key = h.get("/api/v1/platform-key", Role::Public).await;
        assert!(b.signed_message.contains(&b.sm3) && b.signed_message.contains("2026-06"));
        if let Err(e) =
            testkit::openssl_sm2_verifies(&key.body, b.signed_message.as_bytes(), &b.signature)
        {
            panic!("{name}: openssl: {e}");
        }

        // A June penalty reported late changes the month's figures: the live workbook follows
        // them, the issued one does not.
        let csv = unit_penalty_csv(
            &h.state,
            &[(
                "盐城市恒泰化工有限公司",
                "法人及非法人组织",
                &h.org,
                "盐环罚〔2026〕88号",
            )],
        );
        let state = h.state.clone();
        let s = tokio::task::spawn_blocking(move || import_csv(&state, UNIT, "行政处罚", &csv))
            .await
            .unwrap();
        assert_eq!(s.accepted, 1, "{name}");
        let live = h
            .get("/console/monitoring?month=2026-06", Role::Admin)
            .await
            .text();
        assert!(
            !live.contains(&format!("<p>{}</p>", b.summary)),
            "{name}: figures moved"
        );
        let again = h
            .get(
                &format!("/console/bulletin/issued/{}", b.bulletin_id),
                Role::Admin,
            )
            .await;
        assert_eq!(
            again.body, issued.body,
            "{name}: the issued workbook is unchanged"
        );

        // Issuing June again needs a reason, and makes version 2 beside version 1.
        let r = h
            .post_form(
                "/console/bulletin/issue",
                Role::Admin,
                &[("month", "2026-06")],
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{name}: {}", r.text());
        assert!(r.text().contains("更正理由"), "{name}");
        let r = h
            .post_form(
                "/console/bulletin/issue",
                Role::Admin,
                &[("month", "2026-06"), ("reason", "补报一件迟报处罚")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{name}");
        let both = tokio::task::block_in_place(|| h.state.platform.bulletins("2026-06")).unwrap();
        assert_eq!(
            both.iter().map(|b| b.version).collect::<Vec<_>>(),
            vec![2, 1],
            "{name}"
        );
        assert_ne!(
            both[0].sm3, b.sm3,
            "{name}: the corrected bulletin has the new figures"
        );
        assert_eq!(both[0].reason.as_deref(), Some("补报一件迟报处罚"));
        // The issued file says which version it is and what it replaces, wherever it goes.
        let v2 = h
            .get(
                &format!("/console/bulletin/issued/{}", both[0].bulletin_id),
                Role::Admin,
            )
            .await;
        let line = {
            use calamine::Reader;
            let mut wb: calamine::Xlsx<_> =
                calamine::Xlsx::new(std::io::Cursor::new(v2.body.clone())).unwrap();
            let sheet = wb.worksheet_range("通报").unwrap();
            sheet
                .rows()
                .flatten()
                .map(|c| c.to_string())
                .find(|c| c.starts_with("印发版本"))
                .unwrap_or_default()
        };
        assert!(
            line.contains("第2版")
                && line.contains("替代第1版")
                && line.contains("补报一件迟报处罚"),
            "{name}: {line}"
        );
        // The printed page is live figures, and says so once the month is issued.
        let print = h
            .get("/console/bulletin?month=2026-06", Role::Admin)
            .await
            .text();
        assert!(
            print.contains("印发第2版") && print.contains("本页为实时数据"),
            "{name}: {print}"
        );
        let page = h
            .get("/console/monitoring?month=2026-06", Role::Admin)
            .await
            .text();
        assert!(page.contains("第1版（已被更正版替代）"), "{name}");
        assert_eq!(
            h.trail(
                "bulletin.issue",
                &format!("bulletin:{}", both[0].bulletin_id)
            )
            .len(),
            1
        );
        // Nothing issued is changed behind the platform's back.
        let changed = tokio::task::block_in_place(|| {
            h.state
                .platform
                .write(|c| c.execute("UPDATE bulletins SET summary = 'x'", &[]))
        });
        assert!(changed.is_err(), "{name}");
    }
}

/// An address asked with a method it does not take (a form's address typed into the browser, a
/// POST to a portal page) is answered 405 in Chinese, not with an empty body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_told_in_chinese() {
    let h = harness();
    let r = h.get("/console/submissions", Role::Reporter).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.text().contains("不支持"), "{}", r.text());
    let r = h
        .send(
            h.request(Method::POST, "/lists/red", Role::Public, Via::Token)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.text().contains("不支持"), "{}", r.text());
}

/// A licence valid 长期 is stored with the national standard's 2099-12-31 and shown as 长期 on
/// the subject page, as the lists show it; the API keeps the date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_without_end_is_shown_as_long_term() {
    let h = harness();
    let code = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let csv = format!(
        "XK_XDR_MC,XK_XDR_LB,XK_XDR_SHXYM,XK_FRDB,XK_XKWS,XK_WSH,XK_XKLB,XK_NR,XK_JDRQ,XK_YXQZ,XK_YXQZI,XK_XKJG,XK_XKJGDM,XK_ZT,XK_LYDW,XK_LYDWDM\n\
         盐城市恒泰化工有限公司,法人及非法人组织,{},张三,排污许可证,盐环许〔2026〕91号,普通,准予排污许可,2026-05-06,2026-05-06,长期,{UNIT},{code},有效,{UNIT},{code}\n",
        h.org
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "行政许可", &csv));
    assert_eq!((s.accepted, s.rejected), (1, 0), "{s:?}");
    let page = h
        .get(&format!("/subjects/{}?tab=XK", h.org), Role::Public)
        .await
        .text();
    assert!(page.contains("盐环许〔2026〕91号"), "{page}");
    assert!(page.contains("<dd>长期</dd>"), "{page}");
    assert!(!page.contains("2099-12-31"), "{page}");
    let api = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Public)
        .await
        .text();
    assert!(api.contains("2099-12-31"), "{api}");
}

/// A subject on the serious list now is not published as a 守信激励 object beside it: the red
/// list leaves it out while it is listed (checks drop its incentives as well), and shows it
/// again once it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_red_list_leaves_out_a_subject_on_the_serious_list() {
    let h = harness();
    let other = {
        let body = "91320900MA1MB4X51";
        format!("{body}{}", domain::ids::uscc_check_char(body.as_bytes()))
    };
    let head =
        "MD_XDR_MC,MD_XDR_LB,MD_XDR_SHXYM,MD_MDLX,MD_WSH,MD_LRYY,MD_RDYJ,MD_RDDW,MD_LRRQ,MD_YXQZ\n";
    let red = format!(
        "{head}盐城市恒泰化工有限公司,法人及非法人组织,{},名单,盐环信〔2026〕21号,连续三年环保信用评价为绿色,《社会信用体系建设有关规定》,{UNIT},2026-03-01,2027-03-01\n\
         盐城市守信样板有限公司,法人及非法人组织,{other},名单,盐环信〔2026〕22号,连续三年环保信用评价为绿色,《社会信用体系建设有关规定》,{UNIT},2026-03-01,2027-03-01\n",
        h.org
    );
    let s = tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "守信激励（红）名单", &red));
    assert_eq!(s.accepted, 2, "{s:?}");
    let page = h.get("/lists/red", Role::Public).await.text();
    assert!(
        page.contains("盐环信〔2026〕21号") || page.contains(&h.org),
        "{page}"
    );
    let serious = format!(
        "{head}盐城市恒泰化工有限公司,法人及非法人组织,{},名单,盐环信〔2026〕23号,拒不履行行政处罚决定,《社会信用体系建设有关规定》,{UNIT},2026-05-01,2029-05-01\n",
        h.org
    );
    let s =
        tokio::task::block_in_place(|| import_csv(&h.state, UNIT, "严重失信主体名单", &serious));
    assert_eq!(s.accepted, 1, "{s:?}");
    let page = h.get("/lists/red", Role::Public).await.text();
    assert!(page.contains(&other), "{page}");
    assert!(!page.contains(&h.org), "{page}");
    // Its total is what it shows, on its first page too.
    assert!(page.contains("<span>共1条，第1页</span>"), "{page}");
    assert!(page.contains("在列期间不实施守信激励"), "{page}");
    let listed = h.get("/lists/serious", Role::Public).await.text();
    assert!(listed.contains(&h.org), "{listed}");
    // One list of the column alone: the court's 失信被执行人 list holds no such entry.
    let courts = h
        .get("/lists/serious?list=SXBZXR", Role::Public)
        .await
        .text();
    assert!(
        !courts.contains(&h.org) && courts.contains("<option value=\"SXBZXR\" selected>"),
        "{courts}"
    );
    let own = h.get("/lists/serious?list=YZSX", Role::Public).await.text();
    assert!(own.contains(&h.org), "{own}");
    // A list not of this column is no filter.
    let any = h.get("/lists/serious?list=HMD", Role::Public).await.text();
    assert!(any.contains(&h.org), "{any}");
    // Nor on its own page or in the public API; staff read the entry marked suspended.
    let page = h
        .get(&format!("/subjects/{}", h.org), Role::Public)
        .await
        .text();
    assert!(!page.contains("盐环信〔2026〕21号"), "{page}");
    let api = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Public)
        .await
        .text();
    assert!(!api.contains("盐环信〔2026〕21号"), "{api}");
    let staff = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Admin)
        .await
        .text();
    assert!(
        staff.contains("盐环信〔2026〕21号")
            && staff.contains("暂停激励（同时列入严重失信主体名单）"),
        "{staff}"
    );
    // The home page counts the entries the list pages show: the other's red entry and the
    // serious one, not the red entry set aside.
    let home = h.get("/", Role::Public).await.text();
    assert!(
        home.contains(r#"<span class="v">2</span><span class="l">名单（在列）</span>"#),
        "{home}"
    );
}

/// Search engines are told to leave persons' files, the API and the console alone (a copy
/// would outlive a record's window or repair); an organisation's page stays findable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persons_pages_are_not_for_search_engines() {
    let h = harness();
    let robots = h.get("/robots.txt", Role::Public).await;
    assert_eq!(robots.status, StatusCode::OK);
    let t = robots.text();
    assert!(
        t.contains("Disallow: /subjects/P") && t.contains("Disallow: /api/"),
        "{t}"
    );
    let tag = |r: &Reply| {
        r.headers
            .get("x-robots-tag")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let person = h
        .get("/subjects/P0123456789abcdef0123456789abcde", Role::Public)
        .await;
    assert!(
        tag(&person).is_some_and(|v| v.contains("noindex")),
        "{:?}",
        person.headers
    );
    let api = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Public)
        .await;
    assert!(tag(&api).is_some_and(|v| v.contains("noindex")));
    let org = h.get(&format!("/subjects/{}", h.org), Role::Public).await;
    assert_eq!(org.status, StatusCode::OK);
    assert_eq!(tag(&org), None);
    // The publicity columns and open data name fined persons too.
    for path in ["/publicity/penalties", "/lists/serious", "/opendata"] {
        let r = h.get(path, Role::Public).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(tag(&r).is_some_and(|v| v.contains("noindex")), "{path}");
    }
    assert!(
        t.contains("Disallow: /publicity") && t.contains("Disallow: /opendata"),
        "{t}"
    );
    // A person's number mistyped (check digit) or written in groups is not repeated whole by
    // the refusal.
    for code in ["320981199001019303", "320981-19900101-9303"] {
        let r = h
            .get(&format!("/api/v1/subjects/{code}"), Role::Public)
            .await;
        assert!(r.status.is_client_error(), "{code}: {}", r.text());
        assert!(!r.text().contains("19900101"), "{code}: {}", r.text());
    }
    // Nor by the refusal of a date box the number was typed into.
    for path in ["/publicity/penalties", "/opendata/penalties.csv"] {
        let r = h
            .get(&format!("{path}?from=320981199006279309"), Role::Public)
            .await;
        assert!(r.status.is_client_error(), "{path}: {}", r.text());
        assert!(!r.text().contains("19900627"), "{path}: {}", r.text());
    }
}

/// The public API's credit file carries what is published — dates, status, the record's items —
/// not how the platform computed the window or whether the unit reported on time; an officer
/// still reads them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_file_leaves_out_the_offices_own_fields() {
    let h = harness();
    let public = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Public)
        .await
        .json();
    let records: Vec<&serde_json::Value> = public["classes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["records"].as_array().unwrap())
        .collect();
    assert!(!records.is_empty(), "{public}");
    for r in &records {
        assert!(
            r["regime"].is_null() && r["rule_version"].is_null() && r["on_time"].is_null(),
            "{r}"
        );
        assert!(r["public_ends"].is_string(), "{r}");
    }
    let officer = h
        .get(&format!("/api/v1/subjects/{}", h.org), Role::Admin)
        .await
        .json();
    assert!(
        officer["classes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["records"].as_array().unwrap())
            .any(|r| r["regime"].is_string()),
        "{officer}"
    );
}

/// An organisation the register does not know, reported only in records its unit withdrew (a
/// name reported in error), leaves the portal: its page is not found and search no longer
/// lists it. Reported again, it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_known_only_from_withdrawn_records_leaves_the_portal() {
    let h = harness();
    let uri = format!("/search?q={}", urlencode("恒泰化工"));
    let search = || {
        h.state.search.refresh(&h.state.store).unwrap();
        h.get(&uri, Role::Public)
    };
    let page = format!("/subjects/{}", h.org);
    assert!(search().await.text().contains(&page));
    assert_eq!(h.get(&page, Role::Public).await.status, StatusCode::OK);
    let (_, records) = h.state.store.subject_file(&h.org, None).unwrap().unwrap();
    assert!(!records.is_empty());
    h.clock.set(h.clock.now() + chrono::Duration::seconds(1));
    for r in &records {
        h.state
            .store
            .withdraw_record(
                &r.record_id,
                &store::Withdrawal {
                    unit: UNIT,
                    actor: "test",
                    reason: "主体报错",
                    at: h.clock.now(),
                },
            )
            .unwrap();
    }
    let found = search().await.text();
    assert!(!found.contains(&page), "{found}");
    assert_eq!(
        h.get(&page, Role::Public).await.status,
        StatusCode::NOT_FOUND
    );
    let api = format!("/api/v1/subjects/{}", h.org);
    assert_eq!(
        h.get(&api, Role::Public).await.status,
        StatusCode::NOT_FOUND
    );
    // Staff still read it whole.
    assert_eq!(h.get(&api, Role::Admin).await.status, StatusCode::OK);
    // Reported again (its unit corrects the withdrawn record): listed again.
    h.clock.set(h.clock.now() + chrono::Duration::seconds(1));
    let uc = h.state.rules.units.find(UNIT).unwrap().uscc.clone();
    let csv = penalty_csv(&[(
        "盐城市恒泰化工有限公司",
        "法人及非法人组织",
        &h.org,
        "盐环罚〔2026〕1号",
    )])
    .replace("11320900001401484X", &uc)
    .replace("0.5", "0.6");
    let s = import_csv(&h.state, UNIT, "行政处罚", &csv);
    assert_eq!(s.corrected, 1, "{s:?}");
    assert!(search().await.text().contains(&page));
    assert_eq!(h.get(&page, Role::Public).await.status, StatusCode::OK);
}
