//! Health, metrics, the API's own description, and the public reference data.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::body::ApiPath;
use crate::context::Ctx;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking};

#[utoipa::path(get, path = "/healthz", summary = "进程存活检查", tag = "运维", responses((status = 200, description = "进程在运行", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/api/v1/platform-key", summary = "平台SM2公钥", tag = "审计",
    responses((status = 200, description = "平台SM2公钥（PEM），用于核验批量审查结果和审计检查点的签名（区分标识1234567812345678）", body = String, content_type = "text/plain"),
        (status = 429, body = ErrorBody)))]
pub async fn platform_key(State(state): State<Shared>) -> String {
    state.keys.public_key_pem()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    pub status: String,
    pub credit_schema: i64,
    pub platform_schema: i64,
}

#[utoipa::path(get, path = "/readyz", summary = "就绪检查（存储可达、结构最新）", tag = "运维", responses(
    (status = 200, description = "存储可达、结构为最新", body = Ready),
    (status = 503, description = "存储不可达或结构不是最新", body = ErrorBody)))]
pub async fn readyz(State(state): State<Shared>) -> ApiResult<Json<Ready>> {
    // Why it is not ready, when the store says so (a replaced file, an old schema); busy else.
    let not_ready = |e: store::StoreError| match e {
        store::StoreError::Refused(why) => ApiError::Unavailable(why),
        _ => ApiError::Busy,
    };
    if state
        .metrics
        .audit_failing
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(ApiError::Unavailable(
            "审计日志最近一次写入失败（需审计的请求暂不予服务）".into(),
        ));
    }
    blocking(move || {
        state.store.ready().map_err(not_ready)?;
        state.platform.ready().map_err(not_ready)?;
        Ok(Json(Ready {
            status: "ready".into(),
            credit_schema: state.store.schema_version()?,
            platform_schema: state.platform.schema_version()?,
        }))
    })
    .await
}

#[utoipa::path(get, path = "/metrics", summary = "Prometheus指标", tag = "运维", security(("token" = [])), responses(
    (status = 200, description = "Prometheus文本格式", body = String, content_type = "text/plain"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn metrics(State(state): State<Shared>) -> Response {
    let mut text = state.metrics.render(
        state.audit.queue.load(std::sync::atomic::Ordering::Relaxed),
        state
            .audit
            .written
            .load(std::sync::atomic::Ordering::Relaxed),
        state
            .checks
            .queue
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    // Queue depths of the repair and objection work: jobs and the SMS/email outbox, by state.
    let s = state.clone();
    if let Ok(Ok((jobs, outbox))) = tokio::task::spawn_blocking(move || {
        Ok::<_, store::StoreError>((s.store.job_counts()?, s.store.outbox_counts()?))
    })
    .await
    {
        use std::fmt::Write;
        let _ = writeln!(
            text,
            "# HELP xinyong_jobs Scheduler jobs by kind and state."
        );
        let _ = writeln!(text, "# TYPE xinyong_jobs gauge");
        for (kind, st, n) in jobs {
            let _ = writeln!(text, "xinyong_jobs{{kind=\"{kind}\",state=\"{st}\"}} {n}");
        }
        let _ = writeln!(text, "# HELP xinyong_outbox Outgoing SMS/email by state.");
        let _ = writeln!(text, "# TYPE xinyong_outbox gauge");
        for (st, n) in outbox {
            let _ = writeln!(text, "xinyong_outbox{{state=\"{st}\"}} {n}");
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/openapi.json", summary = "本接口文档（OpenAPI 3.1）", tag = "运维", responses((status = 200, description = "OpenAPI 3.1 文档", body = Object)))]
pub async fn openapi(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(&state.endpoints),
    )
        .into_response()
}

pub async fn docs() -> ApiResult<Html<String>> {
    use pages::Template;
    pages::ApiDocs {}
        .render()
        .map(Html)
        .map_err(ApiError::internal)
}

#[utoipa::path(get, path = "/api/v1/me", summary = "当前调用者", tag = "账号", security(("token" = [])), responses(
    (status = 200, description = "当前调用者", body = auth::Principal),
    (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn me(ctx: Ctx) -> Json<auth::Principal> {
    Json((*ctx.principal).clone())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemInfo {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub required: String,
    pub values: Vec<String>,
    pub old_codes: Vec<String>,
    pub public: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClassInfo {
    pub code: String,
    pub name: String,
    pub category: u32,
    pub category_name: String,
    pub sharing: String,
    pub update: String,
    pub report_working_days: Option<u32>,
    pub sources: Vec<String>,
    pub items: Vec<ItemInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CatalogInfo {
    pub version: String,
    pub basis: String,
    pub classes: Vec<ClassInfo>,
}

#[utoipa::path(get, path = "/api/v1/catalog", summary = "公共信用信息目录", tag = "目录", responses(
    (status = 200, description = "公共信用信息目录", body = CatalogInfo), (status = 429, body = ErrorBody)))]
pub async fn catalog(State(state): State<Shared>) -> Json<CatalogInfo> {
    let c = &state.rules.catalog;
    Json(CatalogInfo {
        version: c.version.clone(),
        basis: c.basis.clone(),
        classes: c
            .classes
            .iter()
            .map(|k| ClassInfo {
                code: k.code.clone(),
                name: k.name.clone(),
                category: k.category,
                category_name: c
                    .categories
                    .iter()
                    .find(|x| x.no == k.category)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                sharing: k.sharing.as_str().into(),
                update: k.update.clone(),
                report_working_days: k.report_working_days,
                sources: k.sources.clone(),
                items: k
                    .items
                    .iter()
                    .map(|i| ItemInfo {
                        code: i.code.clone(),
                        name: i.name.clone(),
                        ty: format!("{:?}", i.ty).to_lowercase(),
                        required: format!("{:?}", i.required).to_lowercase(),
                        values: c.values(i).to_vec(),
                        old_codes: i.old.clone(),
                        public: i.public,
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnitInfo {
    pub name: String,
    pub short: String,
    pub division: String,
    pub division_name: String,
    pub tags: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/units", summary = "信源单位", tag = "目录", responses(
    (status = 200, description = "信源单位", body = Vec<UnitInfo>), (status = 429, body = ErrorBody)))]
pub async fn units(State(state): State<Shared>) -> Json<Vec<UnitInfo>> {
    Json(
        state
            .rules
            .units
            .units
            .iter()
            .map(|u| UnitInfo {
                name: u.name.clone(),
                short: u.short.clone(),
                division: u.division.clone(),
                division_name: state
                    .rules
                    .divisions
                    .get(&u.division)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                tags: u.tags.clone(),
            })
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/v1/stats", summary = "主体与现行记录统计", tag = "目录", responses(
    (status = 200, description = "主体与现行记录数。公众（及信用主体、金融机构）读到的是公示中的数：仅“公开”类信息、在公示期内的记录，每几分钟更新一次，versions 与 submissions 为0；平台工作人员读到全部现行记录的即时数", body = store::Stats), (status = 429, body = ErrorBody)))]
pub async fn stats(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<store::Stats>> {
    use auth::Role;
    // A count over every record is staff's (and slow on a large store): the public reads
    // the figures kept with the home page's, of what it may see.
    let public = matches!(
        ctx.principal.role,
        Role::Public | Role::Subject | Role::Financial
    );
    blocking(move || {
        Ok(Json(if public {
            crate::portal::public_stats(&state)?
        } else {
            state.store.stats()?
        }))
    })
    .await
}

const SWAGGER_JS: &[u8] = include_bytes!("../../static/swagger/swagger-ui-bundle.js");
const SWAGGER_CSS: &[u8] = include_bytes!("../../static/swagger/swagger-ui.css");
const SWAGGER_INIT: &[u8] = include_bytes!("../../static/swagger-init.js");
const CONSOLE_CSS: &[u8] = include_bytes!("../../static/console.css");
const PORTAL_CSS: &[u8] = include_bytes!("../../static/portal.css");

/// Vendored front-end files, compiled into the binary (no CDN).
pub async fn static_file(ApiPath(path): ApiPath<String>) -> Response {
    let (body, ty): (&'static [u8], &str) = match path.as_str() {
        "swagger/swagger-ui-bundle.js" => (SWAGGER_JS, "text/javascript; charset=utf-8"),
        "swagger/swagger-ui.css" => (SWAGGER_CSS, "text/css; charset=utf-8"),
        "swagger-init.js" => (SWAGGER_INIT, "text/javascript; charset=utf-8"),
        "console.css" => (CONSOLE_CSS, "text/css; charset=utf-8"),
        "portal.css" => (PORTAL_CSS, "text/css; charset=utf-8"),
        _ => return ApiError::NotFound("没有这个文件".into()).into_response(),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("没有这个地址".into())
}

/// An address asked with a method it does not take: said in Chinese, with the methods it does
/// take in `Allow` (RFC 9110 §15.5.6), read from the table of endpoints.
pub async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<crate::Shared>,
    path: Option<axum::extract::MatchedPath>,
) -> Response {
    let mut resp = ApiError::MethodNotAllowed.into_response();
    if let Some(p) = path {
        let mut allowed: Vec<&str> = state
            .endpoints
            .iter()
            .filter(|e| e.path == p.as_str())
            .map(|e| e.method.as_str())
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        if let Ok(v) = allowed.join(", ").parse() {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    resp
}
