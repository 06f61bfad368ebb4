//! A small client for a department's approval system (嵌入式联合奖惩): before the system
//! decides a matter for a subject it asks the platform, shows the answer (or the platform's own
//! HTML snippet) to the officer, and reports back what was done. Blocking, one dependency (an
//! HTTP client); the same calls as plain HTTP are in the README.
//!
//! ```no_run
//! let c = xinyong_client::Client::new("https://credit.example.gov.cn", "xy_…");
//! let answer = c.check("91320900MA1MB4X50R", "ZFCG")?;
//! if answer.verdict == "forbid" {
//!     // refuse, then say so
//!     c.applied(answer.check_id, &answer.measure_ids(), Some("未准予参加本次采购"))?;
//! }
//! # Ok::<(), xinyong_client::ClientError>(())
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The platform answered with an error; its message is in Chinese and names what to fix.
    #[error("平台返回{status}：{message}（请求号 {request_id}）")]
    Refused {
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    #[error("无法连接平台：{0}")]
    Transport(String),
    #[error("无法解析平台的应答：{0}")]
    Decode(String),
}

/// A measure in a check's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Measure {
    pub id: String,
    pub name: String,
    pub effect: String,
    pub effect_label: String,
    pub basis: String,
    pub body: String,
    pub via: String,
}

/// A list entry behind a measure, or a penalty (`list` 行政处罚) that triggered one.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub record_id: String,
    pub list: String,
    /// The list's category, or a penalty's 处罚类别.
    #[serde(default)]
    pub category: String,
    pub decision_no: String,
    pub deciding_unit: String,
    pub listed_on: Option<String>,
    pub valid_to: Option<String>,
    /// A penalty's decision date.
    #[serde(default)]
    pub decided_on: Option<String>,
    /// A penalty's fine in 元 (`2000000.00`).
    #[serde(default)]
    pub fine: Option<String>,
    pub under_objection: bool,
    pub via: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subject {
    pub code: String,
    pub name: String,
    pub known: bool,
}

/// The platform's answer to a check.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub check_id: i64,
    /// clear, forbid, restrict, review, supervise, incentive.
    pub verdict: String,
    pub verdict_label: String,
    pub subject: Subject,
    pub measures: Vec<Measure>,
    pub entries: Vec<Entry>,
    /// The same check as one made before under the same 办件编号 (nothing new recorded).
    #[serde(default)]
    pub repeated: bool,
}

impl Answer {
    pub fn measure_ids(&self) -> Vec<String> {
        self.measures.iter().map(|m| m.id.clone()).collect()
    }
}

pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    request_id: String,
}

impl Client {
    /// `base`: the platform's address; `token`: the department's API token. HTTPS is checked
    /// against the public (WebPKI) roots; a platform on the government intranet with a
    /// certificate from its own CA takes [`Client::with_root_certs`].
    pub fn new(base: &str, token: &str) -> Client {
        Client::with_agent(
            base,
            token,
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(15)))
                .http_status_as_error(false)
                .build()
                .into(),
        )
    }

    /// HTTPS checked against these CA certificates (PEM) only: the platform's certificate is
    /// issued by the government intranet's own CA.
    pub fn with_root_certs(base: &str, token: &str, pem: &[u8]) -> Result<Client, ClientError> {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item.map_err(|e| ClientError::Transport(format!("CA证书无法读取：{e}")))? {
                ureq::tls::PemItem::Certificate(c) => certs.push(c),
                _ => continue,
            }
        }
        if certs.is_empty() {
            return Err(ClientError::Transport("CA证书文件中没有证书".into()));
        }
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs)))
            .build();
        Ok(Client::with_agent(
            base,
            token,
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(15)))
                .http_status_as_error(false)
                .tls_config(tls)
                .build()
                .into(),
        ))
    }

    /// With an agent the caller configured (proxy, TLS, timeouts). It must not turn HTTP error
    /// statuses into errors (`http_status_as_error(false)`): the client reads the platform's
    /// Chinese message from them.
    pub fn with_agent(base: &str, token: &str, agent: ureq::Agent) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let resp = match body {
            Some(b) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .send(b.to_string()),
            None if method == "GET" => self.agent.get(&url).header("Authorization", &auth).call(),
            None => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_empty(),
        }
        .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .into_body()
            .read_to_string()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => Err(ClientError::Refused {
                status,
                code: e.error.code,
                message: e.error.message,
                request_id: e.error.request_id,
            }),
            Err(_) => Err(ClientError::Refused {
                status,
                code: String::new(),
                message: text,
                request_id: String::new(),
            }),
        }
    }

    /// Checks a subject (统一社会信用代码 or ID number) for a matter (code or name).
    pub fn check(&self, code: &str, matter: &str) -> Result<Answer, ClientError> {
        self.check_case(code, matter, None)
    }

    /// [`Client::check`] for the approval system's case `reference` (办件编号): recorded with
    /// the check, and a retry under the same number (a timeout) answers with the same check
    /// (`repeated`) instead of recording a second one.
    pub fn check_case(
        &self,
        code: &str,
        matter: &str,
        reference: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let mut body = json!({"code": code, "matter": matter, "channel": "embedded"});
        if let Some(r) = reference {
            body["reference"] = json!(r);
        }
        let text = self.call("POST", "/api/v1/checks", Some(body))?;
        serde_json::from_str(&text).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The platform's HTML fragment for the check, to show inside the approval page.
    pub fn snippet(&self, check_id: i64) -> Result<String, ClientError> {
        self.call("GET", &format!("/api/v1/checks/{check_id}/snippet"), None)
    }

    /// Reports that the listed measures were applied.
    pub fn applied(
        &self,
        check_id: i64,
        measures: &[String],
        reason: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call(
            "POST",
            &format!("/api/v1/checks/{check_id}/feedback"),
            Some(json!({"outcome": "applied", "measures": measures, "reason": reason})),
        )
        .map(|_| ())
    }

    /// Reports that the measures the check found do not apply to this case, and why (a check
    /// that found nothing takes no feedback: refused, 422).
    pub fn not_applicable(&self, check_id: i64, reason: &str) -> Result<(), ClientError> {
        self.call(
            "POST",
            &format!("/api/v1/checks/{check_id}/feedback"),
            Some(json!({"outcome": "not_applicable", "reason": reason})),
        )
        .map(|_| ())
    }
}
