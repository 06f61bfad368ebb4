//! The OpenAPI 3.1 document of the JSON API, generated from the handlers' declarations.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "接口令牌（信用办在控制台或用 xinyong tokens create 签发）",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every response says what it means (OpenAPI requires a description): the ones declared with a
/// status and body only get the meaning of their status.
struct Descriptions;

impl Modify for Descriptions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, r) in op.responses.responses.iter_mut() {
                    if let utoipa::openapi::RefOr::T(r) = r
                        && r.description.trim().is_empty()
                    {
                        r.description = status_meaning(status).into();
                    }
                }
            }
        }
    }
}

fn status_meaning(status: &str) -> &'static str {
    match status {
        "200" => "成功",
        "201" => "已创建",
        "204" => "成功，无内容",
        "303" => "跳转",
        "400" => "请求不正确（参数或格式错误）",
        "401" => "未登录或令牌无效、已过期、已吊销",
        "403" => "无权调用该接口或访问该对象",
        "404" => "对象不存在，或调用者无权知道其存在",
        "409" => "与当前状态冲突（如已处理、已撤回）",
        "413" => "请求体超过大小上限",
        "415" => "请求内容类型不受支持",
        "422" => "内容不符合要求（错误信息说明哪一项、为什么）",
        "429" => "请求过于频繁，按 Retry-After 稍后再试",
        "500" => "服务器内部错误（附请求号）",
        "503" => "服务暂不可用",
        _ => "应答",
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "信用（盐城）公共信用信息平台接口",
        description = "市县一体化公共信用信息系统的JSON接口。报送、查询信用档案、账号与审计。所有响应带 x-request-id；错误体为 {error: {code, message, request_id}}。",
        version = "1"
    ),
    paths(
        api::healthz, api::readyz, api::metrics, api::openapi, api::platform_key, api::me, api::catalog, api::units, api::stats,
        api::subject, api::id_number, api::record, api::records_by_decision, api::withdraw_record,
        api::create, api::list, api::detail, api::rejections_xlsx, api::withdraw, api::quality,
        api::list_accounts, api::create_account, api::disable_account, api::reset_password,
        api::list_tokens, api::create_token, api::revoke_token,
        api::search, api::verify, api::checkpoint,
        api::joint::matters, api::joint::create_check, api::joint::get_check, api::joint::feedback,
        api::joint::check_snippet, api::joint::list_action, api::joint::create_exception,
        api::joint::list_exceptions, api::joint::revoke_exception, api::joint::create_batch,
        api::joint::get_batch, api::joint::batch_csv, api::joint::batch_xlsx, api::joint::subscribe,
        api::joint::subscriptions, api::joint::unsubscribe, api::joint::set_webhook, api::joint::alerts,
        api::joint::alert_feedback, api::joint::stats,
        api::cases::my_records, api::cases::create_repair, api::cases::create_objection,
        api::cases::list_cases, api::cases::stats, api::cases::get_case, api::cases::case_action,
        api::cases::upload_file, api::cases::get_file, api::cases::worklist, api::cases::messages,
        api::cases::sharing_feed,
        api::authorisations::create_authorisation, api::authorisations::list_authorisations,
        api::authorisations::revoke_authorisation,
    ),
    modifiers(&Security, &Descriptions),
    tags(
        (name = "信用档案", description = "信用主体的档案与记录"),
        (name = "报送", description = "信源单位的报送接口（推送JSON或上传文件）"),
        (name = "目录", description = "公共信用信息目录、信源单位、统计"),
        (name = "账号", description = "账号与接口令牌"),
        (name = "审计", description = "审计日志"),
        (name = "联合奖惩", description = "逢办必查：单笔核查（查询式、嵌入式）、批量审查、名单管理、例外、订阅与触发式预警、反馈与统计"),
        (name = "信用修复与异议", description = "信用修复“一件事”（预审、申请、认定单位办理、共享）与异议（标注、转送、核实、答复），闹铃式提醒、工作台、统计"),
        (name = "信易贷授权", description = "信用主体授权金融机构查询其完整信用档案（授信融资），可随时撤回；未经授权，金融机构只能看到公开信息"),
        (name = "运维", description = "健康检查与指标"),
    )
)]
pub struct ApiDoc;

/// The document as JSON (built once), each operation saying which roles may call it — read
/// from the table the server enforces (`endpoints`), so the two cannot disagree.
pub fn document(endpoints: &[crate::access::Endpoint]) -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        roles_into(&mut doc, endpoints);
        doc.to_pretty_json().unwrap_or_else(|_| "{}".into())
    })
    .clone()
}

fn roles_into(doc: &mut utoipa::openapi::OpenApi, endpoints: &[crate::access::Endpoint]) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ] {
            let (Some(op), Some(ep)) = (
                op.as_mut(),
                endpoints
                    .iter()
                    .find(|e| !e.console && e.path == path && e.method.as_str() == method),
            ) else {
                continue;
            };
            let who = if ep.roles.contains(&auth::Role::Public) {
                "任何人，无需登录".to_string()
            } else {
                ep.roles
                    .iter()
                    .map(|r| r.label())
                    .collect::<Vec<_>>()
                    .join("、")
            };
            let line = format!("可调用角色：{who}。");
            op.description = Some(match op.description.take() {
                Some(d) if !d.trim().is_empty() => format!("{d}\n\n{line}"),
                _ => line,
            });
        }
    }
}
