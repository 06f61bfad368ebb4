//! Triggered alerts (触发式): when a subject a department subscribed to is newly listed, gets a
//! serious penalty, or leaves a list, the department is told — in the console, and by a signed
//! webhook to its own system, retried with growing pauses until it answers 2xx (or the attempts
//! run out, which the console shows). The department then reports back what it did.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crypto::KeyRing;
use serde::Serialize;
use store::{Alert, NewAlert, Store, StoreError};

/// Pauses between delivery attempts; after the last, the alert is marked failed.
pub const BACKOFF: [i64; 7] = [60, 300, 1800, 7200, 21600, 43200, 86400];

/// How an alert to a person's subscriber names the organisation the person represents.
const REPRESENTED: &str = "所任法定代表人的组织";

/// Changes that end a record's effect.
const ENDS: [&str; 5] = ["exited", "revoked", "expired", "repaired", "withdrawn"];

/// How an event reads to the unit. `previous` is the change of the record's event before this
/// one: a record that subscribers last heard of as ended, or not at all, and now comes back
/// or is corrected into force is news — listed again, or a serious penalty (a penalty's events
/// are its serious versions only, so a correction from 一般 to 严重 has no event before it).
pub fn event_of(
    class_code: &str,
    change: &str,
    previous: Option<&str>,
    lists: &[&str],
) -> Option<(&'static str, &'static str)> {
    let listed = lists.contains(&class_code);
    let news = previous.is_none_or(|p| ENDS.contains(&p));
    match change {
        "created" if listed => Some(("listed", "列入名单")),
        "created" => Some(("serious_penalty", "受到严重失信行政处罚")),
        "corrected" if listed && news => Some(("listed", "列入名单")),
        "corrected" if listed => Some(("changed", "名单信息变更（含限期整改）")),
        "corrected" if news => Some(("serious_penalty", "受到严重失信行政处罚")),
        // A listing found wrong and revoked is not a plain exit: measures taken on it are to be
        // undone (国办发〔2020〕49号 and the seeds' 信用修复 rules), so the department is told so.
        "revoked" if listed => Some(("revoked", "撤销列入决定（应消除已采取措施的影响）")),
        // Withdrawn by its unit: reported in error, as a revoked listing is — measures taken on
        // it are to be undone, not merely ended (a repair or an expiry reads the same as before).
        "withdrawn" if listed => {
            Some(("exited", "名单信息被报送单位撤回（应消除已采取措施的影响）"))
        }
        c if listed && ENDS.contains(&c) => Some(("exited", "移出名单")),
        "withdrawn" => Some((
            "penalty_ended",
            "处罚信息被报送单位撤回（应消除已采取措施的影响）",
        )),
        "repaired" => Some(("penalty_ended", "处罚信息信用修复，停止公示")),
        _ => None,
    }
}

/// Turns pending record events into alerts for the units subscribed to their subjects; returns
/// how many alerts were made. Safe to repeat: an alert exists once per unit and event.
pub fn detect(
    store: &Store,
    platform: &Store,
    rules: &rulebook::Rulebook,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let lists: Vec<&str> = rules.measures.list_classes().into_iter().collect();
    let mut made = 0;
    loop {
        let events = store.pending_events(500)?;
        if events.is_empty() {
            break;
        }
        let mut alerts = Vec::new();
        for e in &events {
            let Some((event, label)) =
                event_of(&e.class_code, &e.change, e.previous.as_deref(), &lists)
            else {
                continue;
            };
            // Who hears of it: the subject's own subscribers, and — a person's list entry — the
            // subscribers of the organisations the person represents, which checks hold to it
            // (seed 003 四（六）; measures with legal_rep_targets).
            let mut subs: Vec<(String, String, DateTime<Utc>, String, String)> = platform
                .subscribers(&e.subject_key)?
                .into_iter()
                .map(|(unit, l, since)| (unit, l, since, e.subject_key.clone(), String::new()))
                .collect();
            // A unit following both the person and an organisation the person represents gets
            // one alert (one per unit and event), the person's: it names the organisations too,
            // or the department following its licensee heard only of a masked ID number.
            let mut also: Vec<(String, String)> = Vec::new();
            if e.subject_key.starts_with('P') && lists.contains(&e.class_code.as_str()) {
                for (org, _) in store.represented_by(std::slice::from_ref(&e.subject_key))? {
                    for (unit, l, since) in platform.subscribers(&org)? {
                        // One alert per unit and event: its own subscription to the person
                        // first.
                        if !subs.iter().any(|s| s.0 == unit) {
                            subs.push((unit, l, since, org.clone(), "的法定代表人".into()));
                        } else if subs.iter().any(|s| s.0 == unit && s.4.is_empty()) {
                            let name = store.subject(&org)?.map(|s| s.name).unwrap_or_default();
                            also.push((unit, format!("{name}（{org}）")));
                        }
                    }
                }
            }
            // An organisation's list entry: the subscribers of the persons who represent it
            // (its registration's representative, and the one the entry names), which the
            // checks of those persons hold to it (CJ-FR-02/03/05, 限制高消费) — a department
            // following a person heard nothing when the company they run was listed.
            if !e.subject_key.starts_with('P') && lists.contains(&e.class_code.as_str()) {
                let mut reps: Vec<String> = store
                    .legal_reps_of(std::slice::from_ref(&e.subject_key))?
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect();
                reps.extend(e.legal_rep_key.clone());
                reps.sort();
                reps.dedup();
                // The organisation by name and code: the department follows the person and
                // would not know which company it is.
                let mut org = None;
                for person in reps {
                    for (unit, l, since) in platform.subscribers(&person)? {
                        if subs.iter().any(|s| s.0 == unit) {
                            continue;
                        }
                        if org.is_none() {
                            let name = store
                                .subject(&e.subject_key)?
                                .map(|s| s.name)
                                .unwrap_or_default();
                            org = Some(format!("{REPRESENTED}{name}（{}）", e.subject_key));
                        }
                        subs.push((
                            unit,
                            l,
                            since,
                            person.clone(),
                            org.clone().unwrap_or_default(),
                        ));
                    }
                }
            }
            if subs.is_empty() {
                continue;
            }
            let catalog_class = rules.catalog.class_by_code(&e.class_code);
            let class = catalog_class.map_or(e.class_code.clone(), |c| c.name.clone());
            // The 文书号 of the decision the event is about, so that the department finds it.
            let decision = catalog_class
                .and_then(|c| c.item_by_role(domain::catalog::Role::DecisionNo))
                .and_then(|item| {
                    let payload: serde_json::Value =
                        serde_json::from_str(e.payload.as_deref()?).ok()?;
                    payload[&item.code]
                        .as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_string)
                });
            // A unit hears of what happens after it subscribed, not of the subject's past.
            for (unit, subject_label, since, subject_key, whose) in subs {
                if e.at < since {
                    continue;
                }
                let orgs: Vec<&str> = also
                    .iter()
                    .filter(|(u, _)| *u == unit && whose.is_empty())
                    .map(|(_, o)| o.as_str())
                    .collect();
                let orgs = if orgs.is_empty() {
                    String::new()
                } else {
                    format!("；该人为本单位订阅的{}的法定代表人", orgs.join("、"))
                };
                let delivery = if platform.webhook(&unit)?.is_some() {
                    "pending"
                } else {
                    "console"
                };
                alerts.push(NewAlert {
                    event_seq: e.seq,
                    unit,
                    event: match whose.as_str() {
                        "" => event.to_string(),
                        w if w.starts_with(REPRESENTED) => format!("represented_org_{event}"),
                        _ => format!("legal_rep_{event}"),
                    },
                    subject_key,
                    record_id: e.record_id.clone(),
                    class_code: e.class_code.clone(),
                    detail: format!(
                        "{subject_label}{whose}{label}：{class}（{}{}，{}）{orgs}",
                        e.source_unit,
                        decision
                            .as_deref()
                            .map(|n| format!("，{n}"))
                            .unwrap_or_default(),
                        match e.decided_on {
                            // The decision's own day, named as such: the day of the event was
                            // read as the decision's.
                            Some(d) => format!("决定日期{d}"),
                            None => format!("{}报送", crate::beijing_day(e.at)),
                        }
                    ),
                    subject_label,
                    delivery: delivery.to_string(),
                });
            }
        }
        made += platform.insert_alerts(&alerts, now)?;
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        store.mark_events_processed(&seqs)?;
    }
    Ok(made)
}

/// Why a webhook address may not be called, if it may not: addresses that are never a
/// department's system — link-local (the cloud metadata service at 169.254.169.254), unspecified,
/// multicast — and, unless `loopback` allows it, this machine itself. Private addresses are
/// allowed: departments' systems sit on the government intranet. A name is checked as it
/// resolves now.
pub fn webhook_target_refused(url: &str, loopback: bool) -> Option<String> {
    use std::net::{IpAddr, ToSocketAddrs};
    let uri: ureq::http::Uri = match url.parse() {
        Ok(u) => u,
        Err(_) => return Some("接收地址不是有效的网址".into()),
    };
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let Some(host) = uri.host().filter(|_| scheme_ok) else {
        return Some("接收地址应为http://或https://开头的完整网址".into());
    };
    // A user name or password in the address would be shown on the page and kept in the trail:
    // the receiver checks the shared secret's signature instead.
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Some(
            "接收地址不能包含用户名或密码：接收方请用共享密钥校验推送签名（X-Xinyong-Signature）"
                .into(),
        );
    }
    // A name written with its root's dot (localhost.) is the same name.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let named_local =
        host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost");
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map(|a| a.map(|s| s.ip()).collect())
            .unwrap_or_default(),
    };
    // An IPv4 address written as IPv6 (::ffff:169.254.169.254) is that IPv4 address.
    let addrs: Vec<IpAddr> = addrs
        .into_iter()
        .map(|ip| match ip {
            IpAddr::V6(v) => v.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        })
        .collect();
    let never = |ip: &IpAddr| match ip {
        // 100.100.100.200: the metadata service of the clouds 政务云 runs on.
        IpAddr::V4(v) => {
            v.is_link_local()
                || v.is_unspecified()
                || v.is_multicast()
                || v.is_broadcast()
                || v.octets() == [100, 100, 100, 200]
        }
        IpAddr::V6(v) => {
            v.is_unspecified() || v.is_multicast() || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if addrs.iter().any(never) {
        return Some(
            "接收地址指向本机或内部保留地址（链路本地、组播等），不能作为部门系统的接收地址".into(),
        );
    }
    // The server's own addresses, loopback or not (its intranet address reaches the same
    // services a loopback address would).
    let own: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    if !loopback && (named_local || addrs.iter().any(|a| a.is_loopback() || own.contains(a))) {
        return Some("接收地址指向平台服务器本机，不能作为部门系统的接收地址".into());
    }
    None
}

/// Why a webhook address's host name cannot be used now, if it cannot: a name (not an IP
/// address) that does not resolve from this server.
pub fn webhook_host_unresolved(url: &str) -> Option<String> {
    use std::net::{IpAddr, ToSocketAddrs};
    let uri: ureq::http::Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    if host.parse::<IpAddr>().is_ok() {
        return None;
    }
    let port = uri.port_u16().unwrap_or(443);
    let resolves = (host, port)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.next().is_some());
    (!resolves).then(|| {
        format!(
            "接收地址的域名“{host}”在平台服务器上无法解析：请核对域名（内网域名须能由平台服务器解析），或改用IP地址"
        )
    })
}

// What a webhook receives (its schema is the OpenAPI document's `webhooks` entry).
/// 触发式预警推送的请求体（平台发往单位登记的接收地址）。
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AlertDelivery)]
pub struct Delivery<'a> {
    /// 预警编号（与请求头 X-Xinyong-Alert 相同）。同一预警可能送达不止一次（超时后重试），接收方应按此编号去重；测试消息为0。
    pub alert_id: i64,
    /// 事件类型：listed（列入名单）、serious_penalty（受到严重失信行政处罚）、changed（名单信息变更）、revoked（撤销列入决定）、exited（移出名单）、penalty_ended（处罚信息停止公示）；订阅的组织因其法定代表人的名单变动而收到的，加前缀legal_rep_（如legal_rep_listed）；订阅的自然人因其任法定代表人的组织的名单变动而收到的，加前缀represented_org_（如represented_org_listed）；测试消息为 ping。接收方应接受未列出的新事件类型（按前缀和 event_label 处理），不要因此拒收。
    pub event: &'a str,
    /// 信用主体：名称（统一社会信用代码）。
    pub subject: &'a str,
    /// 订阅引用：组织为其统一社会信用代码；自然人为本单位专用的引用（R开头，与订阅结果、订阅列表和预警查询中的 subscriber_ref 相同）。脱敏后的身份证号可能与其他订阅的自然人相同，以此区分。
    pub subscriber_ref: &'a str,
    /// 组织的统一社会信用代码；自然人为空（null）。
    pub code: Option<&'a str>,
    /// 信用记录编号，可用于查询该记录；自然人的记录为本单位专用的引用（R开头），不能用于查询（可凭所持身份证号码查询信用档案）。
    pub record_id: &'a str,
    /// 信息类别代码（如 YZSX 严重失信主体名单、CF 行政处罚）。
    pub class_code: &'a str,
    /// 一句话说明（谁、发生了什么、哪个单位、哪天）。
    pub detail: &'a str,
    /// 预警产生时间（UTC，RFC 3339）。
    pub created_at: DateTime<Utc>,
    // Where the department reports what it did.
    /// 反馈地址：单位处理后以 POST 报告采取的措施。
    pub feedback_url: String,
}

/// The signature header value for a body sent at `timestamp` (seconds): HMAC-SM3 over
/// `timestamp.body` with the unit's secret.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut msg = format!("{timestamp}.").into_bytes();
    msg.extend_from_slice(body);
    format!("hmac-sm3={}", crypto::hmac_sm3_hex(secret.as_bytes(), &msg))
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct DeliveryReport {
    pub attempted: usize,
    pub delivered: usize,
    pub failed: usize,
    /// Claimed but not sent in this pass (its time ran out, or their receiver failed earlier
    /// in it): due again at once, their attempts unchanged.
    pub left: usize,
}

/// CA certificates that HTTPS receivers are checked against instead of the public (WebPKI)
/// roots: departments' systems on the government intranet have certificates from its own CA.
#[derive(Clone)]
pub struct WebhookCa(Arc<Vec<ureq::tls::Certificate<'static>>>);

impl WebhookCa {
    /// One or more certificates in PEM; other items (a private key) are passed over, and a file
    /// without a certificate is refused.
    pub fn from_pem(pem: &[u8]) -> Result<WebhookCa, String> {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item.map_err(|e| format!("CA证书无法读取：{e}"))? {
                ureq::tls::PemItem::Certificate(c) => certs.push(c),
                _ => continue,
            }
        }
        if certs.is_empty() {
            return Err(
                "CA证书文件中没有证书（应为PEM格式，以“-----BEGIN CERTIFICATE-----”开头）".into(),
            );
        }
        Ok(WebhookCa(Arc::new(certs)))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for WebhookCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookCa({} certificates)", self.0.len())
    }
}

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Allow receivers on this machine (a test's; never in service).
    pub loopback: bool,
    /// The intranet CA, if HTTPS receivers are not checked against the public roots.
    pub ca: Option<WebhookCa>,
    /// The whole request, answer included.
    pub timeout: Duration,
    /// Connecting (and the TLS handshake): a receiver that is down is known in seconds.
    pub connect_timeout: Duration,
    /// How long one pass may spend sending: the same pass runs the repair scheduler and list
    /// expiry. A send under way when it ends is finished (at most `timeout` more).
    pub pass_budget: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            loopback: false,
            ca: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            pass_budget: Duration::from_secs(30),
        }
    }
}

impl WebhookOptions {
    fn agent(&self) -> ureq::Agent {
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .timeout_connect(Some(self.connect_timeout))
            .http_status_as_error(false)
            // A redirect is an answer (3xx, not delivered): the signed body is not sent on to an
            // address nobody checked.
            .max_redirects(0);
        if let Some(ca) = &self.ca {
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(ca.0.clone()))
                    .build(),
            );
        }
        config.build().into()
    }

    /// A transport failure as the unit reads it.
    fn failure(&self, e: &ureq::Error) -> String {
        use ureq::Timeout;
        let secs = |d: Duration| d.as_secs_f64().max(1.0).round() as u64;
        match e {
            ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => {
                format!("无法送达：连接超时（{}秒）", secs(self.connect_timeout))
            }
            ureq::Error::Timeout(_) => format!("无法送达：超时（{}秒）", secs(self.timeout)),
            ureq::Error::HostNotFound => "无法送达：接收地址的域名无法解析".into(),
            // The resolver's own words are English (failed to lookup address information …).
            ureq::Error::Io(io) if io.to_string().contains("lookup address") => {
                "无法送达：接收地址的域名无法解析".into()
            }
            ureq::Error::ConnectionFailed => "无法送达：无法连接接收方".into(),
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "无法送达：接收方拒绝连接".into(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                    "无法送达：接收方中断了连接".into()
                }
                std::io::ErrorKind::TimedOut => {
                    format!("无法送达：超时（{}秒）", secs(self.timeout))
                }
                // What rustls reports a certificate it refused (UnknownIssuer …) as.
                std::io::ErrorKind::InvalidData => tls_refused(io),
                _ => format!("无法送达：网络错误（{:?}）", io.kind()),
            },
            ureq::Error::Rustls(t) => tls_refused(t),
            ureq::Error::Tls(t) => format!("无法送达：HTTPS握手失败（{t}）"),
            other => format!("无法送达：{other}"),
        }
    }
}

fn tls_refused(e: &dyn std::fmt::Display) -> String {
    format!(
        "无法送达：HTTPS证书校验或握手失败（{e}）；接收方的证书由内网CA签发时，平台须以 --webhook-ca 指定该CA"
    )
}

/// Alerts claimed at once, and of one unit's at most: a unit's backlog does not fill the claim
/// while other units' alerts wait.
const CLAIM: i64 = 100;
const CLAIM_PER_UNIT: i64 = 20;
/// Claims per pass at most; the rest wait for the next pass.
const ROUNDS: usize = 5;
/// Receivers sent to at once (one request in flight to each).
const PARALLEL: usize = 8;

/// Sends the alerts due now. Each is claimed first (its next attempt moved 5 minutes on, well
/// past the pass's budget and a last send's timeout) so that two servers do not both send it.
/// Receivers (webhook addresses) are sent to side by side, up to [`PARALLEL`] at once, one
/// request at a time to each, its alerts in order: one slow or dead receiver holds only itself.
/// A 2xx answer marks an alert delivered; anything else, a timeout too, schedules its next
/// attempt by [`BACKOFF`] (at least once: a receiver that timed out may have taken it, and gets
/// it again), and that receiver is sent nothing more in this pass. What the pass's budget leaves
/// unsent is given back, due at once, its attempts unchanged.
pub fn deliver_due(
    platform: &Store,
    keys: &KeyRing,
    now: DateTime<Utc>,
    public_base: &str,
    opts: &WebhookOptions,
) -> Result<DeliveryReport, StoreError> {
    let agent = opts.agent();
    let started = std::time::Instant::now();
    // The clock of the pass (a test's is set by hand) moved on by the time spent in it: each
    // request is stamped as it is sent.
    let clock = || now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
    let report = Mutex::new(DeliveryReport::default());
    let left: Mutex<Vec<i64>> = Mutex::new(Vec::new());
    // Receivers that failed in this pass: their later alerts wait for the next.
    let failed: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let mut hooks: HashMap<String, Option<Hook>> = HashMap::new();
    let mut outcome = Ok(());
    for _ in 0..ROUNDS {
        if started.elapsed() >= opts.pass_budget {
            break;
        }
        let at = clock();
        let due = platform.claim_due_alerts(
            at,
            at + chrono::Duration::minutes(5),
            CLAIM,
            CLAIM_PER_UNIT,
        )?;
        if due.is_empty() {
            break;
        }
        // One queue per receiver, in the order its alerts became due.
        let mut queues: Vec<(String, Queue)> = Vec::new();
        for a in due {
            // The body names a person by the unit's own reference, never by the person's key.
            let a = a.refer(|u, k| keys.subscriber_ref(u, k));
            let hook = match hooks.get(&a.unit) {
                Some(h) => h.clone(),
                None => {
                    let h = hook_of(platform, keys, &a.unit)?;
                    hooks.insert(a.unit.clone(), h.clone());
                    h
                }
            };
            let hook = hook.ok_or_else(|| "该单位已删除接收地址".to_string());
            let receiver = hook
                .as_ref()
                .map_or_else(|_| a.unit.clone(), |h| h.url.clone());
            match queues.iter_mut().find(|(r, _)| *r == receiver) {
                Some((_, q)) => q.push((a, hook)),
                None => queues.push((receiver, vec![(a, hook)])),
            }
        }
        let work = Mutex::new(queues.into_iter().collect::<VecDeque<_>>());
        let first_error: Mutex<Option<StoreError>> = Mutex::new(None);
        let workers = PARALLEL.min(lock(&work).len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        // Its own statement: a guard in a `while let` would be held through
                        // the body, and the receivers sent to one at a time.
                        let next = lock(&work).pop_front();
                        let Some((receiver, queue)) = next else {
                            break;
                        };
                        let r = deliver_to(
                            &agent,
                            platform,
                            opts,
                            public_base,
                            &clock,
                            started,
                            &receiver,
                            queue,
                            &report,
                            &left,
                            &failed,
                        );
                        if let Err(e) = r {
                            lock(&first_error).get_or_insert(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            outcome = Err(e);
            break;
        }
    }
    // Given back even after a store error: they would otherwise wait out the claim.
    let left = left.into_inner().unwrap_or_else(|p| p.into_inner());
    platform.release_alerts(&left, now)?;
    outcome?;
    let mut r = report.into_inner().unwrap_or_else(|p| p.into_inner());
    r.left = left.len();
    Ok(r)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One receiver's alerts in order, each with its unit's receiver (or why there is none).
type Queue = Vec<(Alert, Result<Hook, String>)>;

/// A unit's receiver with its secret unsealed.
#[derive(Clone)]
struct Hook {
    url: String,
    secret: String,
}

fn hook_of(platform: &Store, keys: &KeyRing, unit: &str) -> Result<Option<Hook>, StoreError> {
    let Some(hook) = platform.webhook(unit)? else {
        return Ok(None);
    };
    let secret = keys
        .decrypt(&hook.secret_sealed)
        .ok()
        .and_then(|s| String::from_utf8(s).ok())
        .unwrap_or_default();
    Ok(Some(Hook {
        url: hook.url,
        secret,
    }))
}

/// One receiver's alerts, one after another, until one fails or the pass's time is up.
#[allow(clippy::too_many_arguments)]
fn deliver_to(
    agent: &ureq::Agent,
    platform: &Store,
    opts: &WebhookOptions,
    public_base: &str,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
    started: std::time::Instant,
    receiver: &str,
    queue: Queue,
    report: &Mutex<DeliveryReport>,
    left: &Mutex<Vec<i64>>,
    failed: &Mutex<HashSet<String>>,
) -> Result<(), StoreError> {
    let mut queue = queue.into_iter();
    while let Some((a, hook)) = queue.next() {
        if started.elapsed() >= opts.pass_budget || lock(failed).contains(receiver) {
            lock(left).extend(std::iter::once(a.alert_id).chain(queue.map(|(a, _)| a.alert_id)));
            return Ok(());
        }
        let sent = hook.and_then(|h| send(agent, opts, &h, &a, clock, public_base));
        let at = clock();
        lock(report).attempted += 1;
        match sent {
            Ok(()) => {
                lock(report).delivered += 1;
                platform.alert_attempt(a.alert_id, true, None, None, at)?;
            }
            Err(e) => {
                let next = BACKOFF
                    .get(a.attempts as usize)
                    .map(|s| at + chrono::Duration::seconds(*s));
                if next.is_none() {
                    lock(report).failed += 1;
                }
                lock(failed).insert(receiver.to_string());
                platform.alert_attempt(a.alert_id, false, Some(&e), next, at)?;
            }
        }
    }
    Ok(())
}

fn send(
    agent: &ureq::Agent,
    opts: &WebhookOptions,
    hook: &Hook,
    a: &Alert,
    clock: &dyn Fn() -> DateTime<Utc>,
    public_base: &str,
) -> Result<(), String> {
    let body = serde_json::to_vec(&Delivery {
        alert_id: a.alert_id,
        event: &a.event,
        subject: &a.subject_label,
        subscriber_ref: &a.subscriber_ref,
        code: a.code.as_deref(),
        record_id: &a.record_ref,
        class_code: &a.class_code,
        detail: &a.detail,
        created_at: a.created_at,
        feedback_url: format!("{public_base}/api/v1/alerts/{}/feedback", a.alert_id),
    })
    .map_err(|e| e.to_string())?;
    let status = post_signed(agent, opts, hook, &a.alert_id.to_string(), &body, clock)?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("接收方返回HTTP {status}"))
    }
}

/// POSTs a body to the receiver, stamped and signed now; the HTTP status it answered.
fn post_signed(
    agent: &ureq::Agent,
    opts: &WebhookOptions,
    hook: &Hook,
    alert: &str,
    body: &[u8],
    clock: &dyn Fn() -> DateTime<Utc>,
) -> Result<u16, String> {
    // Checked again as the name resolves now (it may have changed since it was set, and an
    // address set before these checks existed was never checked).
    if let Some(why) = webhook_target_refused(&hook.url, opts.loopback) {
        return Err(why);
    }
    if hook.secret.is_empty() {
        return Err("接收地址的密钥无法解密，请重新设置接收地址".into());
    }
    let ts = clock().timestamp();
    let resp = agent
        .post(&hook.url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("X-Xinyong-Alert", alert)
        .header("X-Xinyong-Timestamp", ts.to_string())
        .header("X-Xinyong-Signature", signature(&hook.secret, ts, body))
        .send(body)
        .map_err(|e| opts.failure(&e))?;
    Ok(resp.status().as_u16())
}

/// What a test delivery (`ping`) met.
#[derive(Debug, Clone, Serialize)]
pub struct PingOutcome {
    pub url: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    pub delivered: bool,
    /// Why it was not delivered.
    pub error: Option<String>,
}

/// What a test delivery carries: `event` "ping" and `alert_id` 0 (no alert has it).
#[derive(Debug, Serialize)]
pub struct Ping<'a> {
    pub alert_id: i64,
    pub event: &'a str,
    pub unit: &'a str,
    pub detail: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Sends a signed `ping` to the unit's receiver now, as an alert is sent; None if the unit has
/// set no receiver.
pub fn ping(
    platform: &Store,
    keys: &KeyRing,
    unit: &str,
    now: DateTime<Utc>,
    opts: &WebhookOptions,
) -> Result<Option<PingOutcome>, StoreError> {
    let Some(hook) = hook_of(platform, keys, unit)? else {
        return Ok(None);
    };
    let body = serde_json::to_vec(&Ping {
        alert_id: 0,
        event: "ping",
        unit,
        detail: "预警推送测试：收到此消息说明接收地址可用，应答2xx即可，无需处理",
        created_at: now,
    })
    .map_err(|e| StoreError::Decode(e.to_string()))?;
    let started = std::time::Instant::now();
    let clock = || now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
    let sent = post_signed(&opts.agent(), opts, &hook, "0", &body, &clock);
    Ok(Some(match sent {
        Ok(status) => PingOutcome {
            url: hook.url,
            status: Some(status),
            delivered: (200..300).contains(&status),
            error: (!(200..300).contains(&status)).then(|| format!("接收方返回HTTP {status}")),
        },
        Err(e) => PingOutcome {
            url: hook.url,
            status: None,
            delivered: false,
            error: Some(e),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::{event_of, webhook_target_refused};

    #[test]
    fn the_machines_own_name_with_its_roots_dot_is_refused() {
        for url in [
            "http://localhost:18999/a",
            "http://LOCALHOST.:18999/a",
            "http://127.0.0.1./a",
        ] {
            let why = webhook_target_refused(url, false).unwrap_or_default();
            assert!(why.contains("本机"), "{url}: {why:?}");
        }
        let why = webhook_target_refused("http://ops:pw@10.7.7.7/hook", false).unwrap_or_default();
        assert!(why.contains("不能包含用户名或密码"), "{why}");
    }

    #[test]
    fn the_servers_own_addresses_are_refused_as_webhook_targets() {
        let own: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
            .unwrap()
            .into_iter()
            .map(|i| i.ip())
            .filter(|ip| !ip.is_loopback())
            .collect();
        for ip in &own {
            let url = match ip {
                std::net::IpAddr::V4(v) => format!("http://{v}:18932/hook"),
                std::net::IpAddr::V6(v) => format!("http://[{v}]:18932/hook"),
            };
            let why = webhook_target_refused(&url, false).unwrap_or_default();
            assert!(why.contains("本机"), "{url}: {why:?}");
        }
        // The address this machine sends from (found by routing, nothing is sent) is among
        // them and refused: the check above is not empty on a machine with a network.
        if let Some(local) = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect("198.51.100.1:9").map(|_| s))
            .and_then(|s| s.local_addr())
            .ok()
            .map(|a| a.ip())
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        {
            assert!(own.contains(&local), "{local} not among {own:?}");
            let why = webhook_target_refused(&format!("http://{local}:18932/hook"), false);
            assert!(why.is_some_and(|w| w.contains("本机")), "{local}");
        }
        // An address that is no one's here is a department's.
        assert_eq!(
            webhook_target_refused("http://198.51.100.77:8080/hook", false),
            None
        );
    }

    const LISTS: &[&str] = &["YZSX", "HMD", "ZDGZ", "SXBZXR"];

    fn event(class: &str, change: &str, previous: Option<&str>) -> Option<&'static str> {
        event_of(class, change, previous, LISTS).map(|(e, _)| e)
    }

    #[test]
    fn a_record_back_in_force_is_news_and_a_plain_correction_is_not() {
        // Penalties: only serious versions have events.
        assert_eq!(event("CF", "created", None), Some("serious_penalty"));
        // Corrected from 一般 to 严重: no event before it.
        assert_eq!(event("CF", "corrected", None), Some("serious_penalty"));
        // Withdrawn, then reported again (stored as a correction).
        assert_eq!(
            event("CF", "corrected", Some("withdrawn")),
            Some("serious_penalty")
        );
        // A serious penalty corrected and still serious: already known.
        assert_eq!(event("CF", "corrected", Some("created")), None);
        assert_eq!(
            event("CF", "withdrawn", Some("created")),
            Some("penalty_ended")
        );
        // Lists.
        assert_eq!(event("YZSX", "created", None), Some("listed"));
        assert_eq!(event("YZSX", "exited", Some("created")), Some("exited"));
        // Revoked after an exit: a second, different word, not another "exited".
        assert_eq!(event("YZSX", "revoked", Some("exited")), Some("revoked"));
        assert_eq!(event("YZSX", "corrected", Some("created")), Some("changed"));
        assert_eq!(
            event("YZSX", "corrected", Some("withdrawn")),
            Some("listed")
        );
        assert_eq!(event("YZSX", "corrected", Some("expired")), Some("listed"));
        assert_eq!(event("YZSX", "expired", Some("corrected")), Some("exited"));
    }
}
