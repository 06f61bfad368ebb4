//! Request bodies: a streamed body as a blocking `Read` for the importer (memory bounded by a
//! few chunks, not by the size of the submission), and JSON/query/path extractors whose
//! rejections are answered in the API's own error format.

use std::io::{self, Read};

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Receives a whole request body into a temporary file, refusing more than `limit` bytes and a
/// pause longer than `idle`; the submission is opened on the store only once the body is here,
/// so a sender that trickles holds a file, not the store's one writer (every other unit's
/// submissions waited behind it, and were turned away busy).
pub async fn spool(
    body: Body,
    limit: u64,
    idle: std::time::Duration,
    unit: &str,
) -> Result<Spooled, ApiError> {
    use std::io::{Seek, Write};
    use std::sync::{Arc, Mutex, OnceLock};
    use tokio::sync::Semaphore;
    // A few bodies at a time (each up to the submission limit on disk), and two per unit, so
    // that one unit's slow senders cannot take every place: more wait their turn, and one that
    // waits too long is told why.
    static SPOOLS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    static PER_UNIT: OnceLock<Mutex<std::collections::HashMap<String, Arc<Semaphore>>>> =
        OnceLock::new();
    let wait = std::time::Duration::from_secs(60);
    let mine = PER_UNIT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(unit.to_string())
        .or_insert_with(|| Arc::new(Semaphore::new(SPOOLS_PER_UNIT)))
        .clone();
    let unit_permit = tokio::time::timeout(wait, mine.acquire_owned())
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!(
                "本单位已有{SPOOLS_PER_UNIT}个报送正在上传，请待其完成后再报送"
            ))
        })?
        .map_err(ApiError::internal)?;
    let permit = tokio::time::timeout(
        wait,
        SPOOLS
            .get_or_init(|| Arc::new(Semaphore::new(SPOOLS_AT_ONCE)))
            .clone()
            .acquire_owned(),
    )
    .await
    .map_err(|_| ApiError::Unavailable("同时上传的报送过多，请稍后再试".into()))?
    .map_err(ApiError::internal)?;
    let file = tempfile::tempfile().map_err(ApiError::internal)?;
    let mut out = io::BufWriter::with_capacity(1 << 16, file);
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    loop {
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(b))) => {
                total += b.len() as u64;
                if total > limit {
                    return Err(ApiError::too_large(limit, "请拆分后分批报送"));
                }
                // Into the page cache: a write of a piece takes microseconds.
                out.write_all(&b).map_err(ApiError::internal)?;
            }
            Ok(Some(Err(_))) => {
                return Err(ApiError::BadRequest(
                    "请求体未能完整接收（连接中断或超时），本次报送未保存".into(),
                ));
            }
            Ok(None) => break,
            Err(_) => {
                return Err(ApiError::BadRequest(format!(
                    "请求体接收超时：{}秒内没有收到数据，本次报送未保存",
                    idle.as_secs()
                )));
            }
        }
    }
    let mut file = out
        .into_inner()
        .map_err(|e| ApiError::internal(e.error()))?;
    file.rewind().map_err(ApiError::internal)?;
    Ok(Spooled {
        file,
        _permits: (permit, unit_permit),
    })
}

/// Bodies received into temporary files at once, and at once for one unit.
const SPOOLS_AT_ONCE: usize = 8;
const SPOOLS_PER_UNIT: usize = 2;

/// A received body, read back from its temporary file (deleted when this is dropped); it holds
/// its place among the bodies spooled at once until then.
pub struct Spooled {
    file: std::fs::File,
    _permits: (
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    ),
}

impl Read for Spooled {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.file.read(out)
    }
}

/// Reads a request body on a blocking thread, chunk by chunk, refusing more than `limit` bytes.
pub struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

/// The reader's error when a body passes its limit (the handler answers 413 on seeing it).
pub const TOO_LARGE: &str = "报送内容超过大小上限";

impl BodyReader {
    /// `idle`: how long the body may pause between two pieces (`Config::body_idle`).
    pub fn new(body: Body, limit: u64, idle: std::time::Duration) -> BodyReader {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            let mut stream = body.into_data_stream();
            let mut total = 0u64;
            loop {
                let chunk = match tokio::time::timeout(idle, stream.next()).await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => return,
                    Err(_) => {
                        let _ = tx
                            .send(Err(format!(
                                "请求体接收超时：{}秒内没有收到数据，本次报送未保存",
                                idle.as_secs()
                            )))
                            .await;
                        return;
                    }
                };
                let item = match chunk {
                    Ok(b) => {
                        total += b.len() as u64;
                        if total > limit {
                            let _ = tx.send(Err(TOO_LARGE.to_string())).await;
                            return;
                        }
                        Ok(b)
                    }
                    // The connection broke or timed out before the body was whole.
                    Err(_) => Err("请求体未能完整接收（连接中断或超时）".to_string()),
                };
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    return;
                }
            }
        });
        BodyReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// `Json<T>` whose rejections are API errors.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<crate::access::JsonLimit>()
            .copied()
            .unwrap_or(crate::access::JsonLimit {
                bytes: 1 << 20,
                advice: crate::access::JSON_ADVICE,
            });
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(match e {
                axum::extract::rejection::JsonRejection::MissingJsonContentType(_) => {
                    ApiError::UnsupportedMediaType
                }
                axum::extract::rejection::JsonRejection::JsonDataError(d) => {
                    ApiError::Unprocessable(format!(
                        "请求内容不符合要求：{}",
                        in_chinese(&d.body_text())
                    ))
                }
                axum::extract::rejection::JsonRejection::BytesRejection(_) => {
                    ApiError::too_large(limit.bytes as u64, limit.advice)
                }
                other => ApiError::BadRequest(format!(
                    "请求体不是有效的JSON{}",
                    position(&other.body_text())
                )),
            }),
        }
    }
}

/// `Form<T>` (the console's forms) whose rejections are API errors: Chinese, with a request id,
/// shown as a page at a page's address.
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::FormRejection as R;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(ApiForm(v)),
            Err(e) => Err(match e {
                R::InvalidFormContentType(_) => ApiError::UnsupportedMediaType,
                R::FailedToDeserializeForm(d) => ApiError::Unprocessable(format!(
                    "表单内容不符合要求：{}",
                    in_chinese(&d.body_text())
                )),
                R::FailedToDeserializeFormBody(d) => ApiError::Unprocessable(format!(
                    "表单内容不符合要求：{}",
                    in_chinese(&d.body_text())
                )),
                // A console form under axum's default limit.
                R::BytesRejection(_) => ApiError::too_large(2 << 20, "请精简表单内容后重试"),
                _ => ApiError::BadRequest("表单无法读取".into()),
            }),
        }
    }
}

/// `Multipart` (the console's uploads) whose rejections are API errors in Chinese: a form sent
/// without its boundary was answered in axum's English, as plain text.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|_| {
                ApiError::BadRequest(
                    "上传内容不是有效的文件表单（multipart/form-data，缺少或有误的分隔符）；请在页面中重新选择文件后提交".into(),
                )
            })
    }
}

/// A part of an upload that could not be read (the connection cut, a malformed part), in
/// Chinese; too large is said as such.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge("上传的文件超过大小上限：请拆分或压缩文件后重试".into());
    }
    ApiError::BadRequest(
        "上传的文件表单无法读取（传输中断或格式有误）；请重新选择文件后提交".into(),
    )
}

/// A request's media type, lower-cased, without its parameters (`text/csv; charset=…` is
/// `text/csv`); empty when it has none.
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `Query<T>` whose rejections are API errors.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                ApiError::BadRequest(format!("查询参数不正确：{}", in_chinese(&e.body_text())))
            })
    }
}

/// The usual query and body faults in words the caller reads (serde's own are English).
/// "（第L行第C列）" from serde's "… at line L column C", or nothing.
fn position(text: &str) -> String {
    let Some((_, at)) = text.rsplit_once(" at line ") else {
        return String::new();
    };
    match at.split_once(" column ") {
        Some((l, c)) => format!("（第{}行第{}列）", l.trim(), c.trim()),
        None => String::new(),
    }
}

fn in_chinese(text: &str) -> String {
    let text = text
        .trim_start_matches("Failed to deserialize query string: ")
        .trim_start_matches("Failed to deserialize form body: ")
        .trim_start_matches("Failed to deserialize form: ")
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ");
    // serde_json appends where: said in Chinese after the message.
    let (text, at) = match text.rsplit_once(" at line ") {
        Some((t, _)) => (t, position(text)),
        None => (text, String::new()),
    };
    let said = in_chinese_at(text);
    format!("{said}{at}")
}

fn in_chinese_at(text: &str) -> String {
    let field = |rest: &str| rest.split('`').nth(1).unwrap_or(rest).to_string();
    let fault = |m: &str| match m {
        "invalid digit found in string" => "应为不带正负号的整数（只含数字0—9）".to_string(),
        "number too large to fit in target type" => "数值过大".to_string(),
        "cannot parse integer from empty string" => "不能为空".to_string(),
        other => in_chinese_at(other),
    };
    if let Some(rest) = text.strip_prefix("missing field ") {
        format!("缺少参数“{}”", field(rest))
    } else if let Some(rest) = text.strip_prefix("unknown field ") {
        format!("不认识的参数“{}”", field(rest))
    } else if let Some(rest) = text.strip_prefix("Invalid URL: Cannot parse ") {
        // Invalid URL: Cannot parse `abc` to a `i64`
        format!(
            "地址中的“{}”应为不带正负号的整数（只含数字0—9）",
            field(rest)
        )
    } else if let Some((name, m)) = text.split_once(": ")
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && (m.starts_with("unknown field ") || m.starts_with("missing field "))
    {
        // An unknown or missing field names itself: said once.
        in_chinese_at(m)
    } else if let Some((name, m)) = text.split_once(": ")
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        format!("参数“{name}”{}", fault(m))
    } else if let Some(rest) = text.strip_prefix("unknown variant ") {
        format!("取值“{}”无效", field(rest))
    } else if text.starts_with("invalid type: ") {
        "数据类型不对".to_string()
    } else if text.starts_with("invalid length ") {
        "数组长度不对".to_string()
    } else if text.is_ascii() {
        // Whatever else serde says stays out of a Chinese answer.
        "格式不对".to_string()
    } else {
        text.to_string()
    }
}

/// `Path<T>` whose rejections are API errors.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| {
                ApiError::BadRequest(format!("路径参数不正确：{}", in_chinese(&e.body_text())))
            })
    }
}

/// A large JSON answer (a credit file is tens of KiB): serialized into one buffer sized for it
/// up front, instead of axum's `Json`, which starts at 128 bytes and grows by copying.
pub struct LargeJson<T>(pub T);

/// Room for a typical credit file (about 10 records) in one allocation.
const LARGE_JSON_CAPACITY: usize = 48 * 1024;

impl<T: serde::Serialize> axum::response::IntoResponse for LargeJson<T> {
    fn into_response(self) -> axum::response::Response {
        let mut buf = Vec::with_capacity(LARGE_JSON_CAPACITY);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                buf,
            )
                .into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_said_in_chinese_with_where() {
        assert_eq!(
            in_chinese(
                "Failed to deserialize the JSON body into the target type: missing field `reason` at line 1 column 2"
            ),
            "缺少参数“reason”（第1行第2列）"
        );
        assert_eq!(
            in_chinese("Failed to deserialize query string: limit: invalid digit found in string"),
            "参数“limit”应为不带正负号的整数（只含数字0—9）"
        );
        assert_eq!(
            in_chinese("invalid type: integer `42`, expected a string at line 1 column 12"),
            "数据类型不对（第1行第12列）"
        );
        assert_eq!(
            in_chinese("action: unknown variant `fly`, expected one of `exit`, `revoke`"),
            "参数“action”取值“fly”无效"
        );
        assert_eq!(in_chinese("trailing characters"), "格式不对");
        // An unknown field under a path: named once.
        assert_eq!(
            in_chinese("referenc: unknown field `referenc`, expected one of `code`, `matter`"),
            "不认识的参数“referenc”"
        );
        assert_eq!(
            position("Failed to parse the request body as JSON: expected value at line 3 column 7"),
            "（第3行第7列）"
        );
        assert_eq!(position("no position"), "");
    }
}

/// The name an uploaded file is kept and shown under: the last part of the path a browser may
/// send, without control characters, direction overrides (U+202E shows 附件[RLO]fdp.exe as
/// 附件exe.pdf) or quotes, at most 120 characters with its extension kept (`default` when
/// nothing is left).
pub fn upload_name(sent: Option<&str>, default: &str) -> String {
    const MAX: usize = 120;
    let name: Vec<char> = sent
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| {
            !c.is_control()
                && *c != '"'
                && !matches!(
                    *c,
                    '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                )
        })
        .collect();
    let name: String = if name.len() <= MAX {
        name.into_iter().collect()
    } else {
        // The extension says what the file is: cut the stem, not it.
        let dot = name
            .iter()
            .rposition(|c| *c == '.')
            .filter(|d| name.len() - d <= 10);
        match dot {
            Some(d) => name[..MAX - (name.len() - d)]
                .iter()
                .chain(&name[d..])
                .collect(),
            None => name[..MAX].iter().collect(),
        }
    };
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        default.to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod upload_name_tests {
    use super::upload_name;

    #[test]
    fn an_upload_keeps_only_its_own_name() {
        assert_eq!(
            upload_name(Some("..\\..\\<img>\"\r\nX: 1/../../etc/passwd"), "x.csv"),
            "passwd"
        );
        assert_eq!(upload_name(Some("C:\\报送\\处罚.csv"), "x.csv"), "处罚.csv");
        assert_eq!(upload_name(Some("a/.."), "x.csv"), "x.csv");
        assert_eq!(upload_name(None, "x.csv"), "x.csv");
        assert_eq!(
            upload_name(Some(&"长".repeat(300)), "x").chars().count(),
            120
        );
        let long = upload_name(Some(&format!("{}.pdf", "长".repeat(130))), "x");
        assert!(
            long.ends_with(".pdf") && long.chars().count() == 120,
            "{long}"
        );
        assert_eq!(upload_name(Some("附件\u{202e}fdp.exe"), "x"), "附件fdp.exe");
    }
}
