//! One error type for every endpoint. It maps to a status code and a Chinese message, carries the
//! request id, and never shows internals: a store or I/O failure is logged with the request id
//! and answered with “服务器内部错误”.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("需要登录或有效的接口令牌")]
    Unauthenticated,
    /// A token the platform issued that has been revoked or has expired: its holder is told
    /// which (401 `unauthenticated`), never so for a string the platform did not issue.
    #[error("{0}")]
    TokenLapsed(&'static str),
    #[error("当前角色无权访问此功能")]
    Forbidden,
    /// Forbidden for a reason the caller should read (403 `forbidden`).
    #[error("{0}")]
    NotYours(String),
    #[error("{0}")]
    NotFound(String),
    /// Another unit's or person's object, answered as not found so as not to say it exists;
    /// the response is marked [`Concealed`] and the refusal audited.
    #[error("{0}")]
    Concealed(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("请求过于频繁，请{0}秒后再试")]
    TooMany(u64),
    /// Over a body limit: the message names the limit and what to do (see [`ApiError::too_large`]).
    #[error("{0}")]
    TooLarge(String),
    #[error("不支持的内容类型：请按接口文档设置Content-Type（如application/json、text/csv）")]
    UnsupportedMediaType,
    /// A media type the endpoint does not take, with the ones it does.
    #[error("不支持的内容类型：{0}")]
    MediaTypeNot(String),
    #[error("不支持的请求方法")]
    MethodNotAllowed,
    #[error("服务器忙（数据库正在写入其他报送），请稍后再试")]
    Busy,
    /// Busy for a reason the caller can act on (503, Retry-After).
    #[error("{0}")]
    Unavailable(String),
    #[error("服务器内部错误")]
    Internal(String),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    // Machine-readable: unauthenticated, forbidden, not_found, bad_request, unprocessable,
    // conflict, too_many_requests, too_large, busy, internal.
    /// 机器可读的错误代码：unauthenticated、forbidden、not_found、bad_request、unprocessable、conflict、too_many_requests、too_large、unsupported_media_type、method_not_allowed、busy、internal。
    pub code: String,
    // For people, in Chinese.
    /// 面向用户的中文错误说明。
    pub message: String,
    pub request_id: String,
}

impl ApiError {
    /// 413 naming the limit in MB and what fits the route (split a file, send fewer codes).
    pub fn too_large(limit: u64, advice: &str) -> ApiError {
        ApiError::TooLarge(format!(
            "请求体超过{}的大小上限：{advice}",
            megabytes(limit)
        ))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::TokenLapsed(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::NotYours(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::Concealed(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType | ApiError::MediaTypeNot(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Busy | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated | ApiError::TokenLapsed(_) => "unauthenticated",
            ApiError::Forbidden | ApiError::NotYours(_) => "forbidden",
            ApiError::NotFound(_) | ApiError::Concealed(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooMany(_) => "too_many_requests",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType | ApiError::MediaTypeNot(_) => "unsupported_media_type",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Busy | ApiError::Unavailable(_) => "busy",
            ApiError::Internal(_) => "internal",
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::NotFound(m) => ApiError::NotFound(m),
            store::StoreError::Concealed(m) => ApiError::Concealed(m),
            store::StoreError::Refused(m) => ApiError::Conflict(m),
            store::StoreError::NotYours(m) => ApiError::NotYours(m),
            store::StoreError::Constraint(_) => ApiError::Conflict("与已有数据冲突".into()),
            store::StoreError::Busy => ApiError::Busy,
            e @ store::StoreError::AuditUnwritten(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<views::ViewError> for ApiError {
    fn from(e: views::ViewError) -> Self {
        match e {
            views::ViewError::BadCode(_) => ApiError::Unprocessable(e.to_string()),
            views::ViewError::Store(s) => s.into(),
        }
    }
}

impl From<ingest::IngestError> for ApiError {
    fn from(e: ingest::IngestError) -> Self {
        use ingest::IngestError as E;
        match e {
            E::Store(s) => s.into(),
            E::Crypto(c) => ApiError::internal(c),
            E::Xlsx(x) => ApiError::internal(x),
            E::Reader => ApiError::internal("reader thread failed"),
            // Say which unit may not report which class, not that the role is wrong.
            e @ E::NotAllowed { .. } => ApiError::NotYours(e.to_string()),
            // The trail could not take the batch's entry: nothing was stored, try again later.
            e @ E::BeforeCommit(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Unprocessable(other.to_string()),
        }
    }
}

impl From<audit::AuditError> for ApiError {
    fn from(e: audit::AuditError) -> Self {
        match e {
            // The auditor is told why the chain was not signed: it is what they look for.
            e @ audit::AuditError::Unsound { .. } => ApiError::Conflict(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

// The request id travels in a task-local so that every error can name it.
tokio::task_local! {
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        if let ApiError::Internal(detail) = &self {
            eprintln!(
                "{} ERROR request {request_id}: {detail}",
                chrono::Utc::now().to_rfc3339()
            );
        }
        let status = self.status();
        let mut resp = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code().into(),
                    message: self.to_string(),
                    request_id,
                },
            }),
        )
            .into_response();
        if matches!(self, ApiError::Concealed(_)) {
            resp.extensions_mut().insert(Concealed);
        }
        let retry = match self {
            ApiError::TooMany(secs) => Some(secs),
            ApiError::Busy | ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        if let Some(v) = retry.and_then(|secs| secs.to_string().parse().ok()) {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        // A 401 says how to authenticate (RFC 9110 §11.6.1): a bearer token.
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"xinyong\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Marks a 404 that hid another's object (the access layer audits it as a refusal).
#[derive(Debug, Clone, Copy)]
pub struct Concealed;

/// A byte count as people read a limit: 3MB, 0.06MB.
pub fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / (1u64 << 20) as f64;
    let s = format!("{mb:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}MB")
}
