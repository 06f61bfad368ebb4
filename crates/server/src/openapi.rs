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
                // An endpoint anyone may call still answers a token it cannot take: 401 for a
                // revoked, expired or unknown one, 403 for a system's (monitoring, exchange)
                // that reads nothing else.
                if op.security.is_none() {
                    for status in ["401", "403"] {
                        op.responses
                            .responses
                            .entry(status.into())
                            .or_insert_with(|| utoipa::openapi::RefOr::T(error_response()));
                    }
                }
                for (status, r) in op.responses.responses.iter_mut() {
                    if let utoipa::openapi::RefOr::T(r) = r {
                        if r.description.trim().is_empty() {
                            r.description = status_meaning(status).into();
                        }
                        if status == "429" {
                            r.headers
                                .entry("Retry-After".into())
                                .or_insert_with(retry_after);
                        }
                    }
                }
            }
        }
    }
}

/// A response of the platform's error body, described by its status later.
fn error_response() -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// The header every 429 carries: whole seconds to wait.
fn retry_after() -> utoipa::openapi::RefOr<utoipa::openapi::header::Header> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut h = utoipa::openapi::header::Header::new(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0)),
    );
    h.description = Some("需等待的秒数，之后可再次请求".into());
    utoipa::openapi::RefOr::T(h)
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

/// The request the platform itself sends: an alert to a unit's receiver (OpenAPI 3.1
/// `webhooks`). Its facts are the code's: `joint::alerts::{signature, deliver_due}`.
struct AlertWebhook;

/// How a receiver checks a delivery, and what it may expect of it (the README says the same).
pub const WEBHOOK_DESCRIPTION: &str = "平台在单位订阅的信用主体被列入或移出名单、受到严重失信行政处罚等时，向信用办为该单位登记的接收地址（POST /api/v1/webhooks）发送此请求。\n\n\
校验：签名为 HMAC-SM3，密钥为设置接收地址时返回的共享密钥（按其ASCII文本取字节），消息为 X-Xinyong-Timestamp 的值、一个英文句点和原样的请求体字节（`<timestamp>.<body>`）；结果为64位小写十六进制，请求头 X-Xinyong-Signature 的值为 `hmac-sm3=` 加该结果。接收方应以常数时间比较签名，并拒绝时间戳与本机时间相差过大（如超过5分钟）的请求。时间戳为发送该请求时的Unix秒数，每次发送（含重试）重新取值并重新签名。\n\n\
送达：接收方应答2xx即视为送达；其他状态码、连接失败或超时（连接3秒，整个请求10秒）均为未送达，按1分钟、5分钟、30分钟、2小时、6小时、12小时、24小时的间隔重试，仍不成功则标为推送失败（重新设置接收地址后从头再发）。不跟随重定向（3xx视为未送达）。\n\n\
至少一次：接收方已收到但未及时应答的预警会再次发送，接收方应按 X-Xinyong-Alert（即 alert_id）去重。各单位的推送并行进行，同一接收地址一次只有一个请求；重试会打乱先后，顺序以 created_at 与 alert_id 为准。\n\n\
重新设置接收地址会生成新的共享密钥，旧密钥立即作废。POST /api/v1/webhooks/test 发送一条 event 为 ping、alert_id 为0的测试消息，签名方法相同。";

impl Modify for AlertWebhook {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{
            HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
        };
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::openapi::{
            ContentBuilder, ObjectBuilder, PathsBuilder, Ref, Required, ResponseBuilder, Type,
        };
        let header = |name: &str, description: &str, example: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .example(Some(serde_json::Value::String(example.into())))
                .build()
        };
        let op = OperationBuilder::new()
            .summary(Some("触发式预警推送（平台发往单位的接收地址）"))
            .description(Some(WEBHOOK_DESCRIPTION))
            .tags(Some(vec!["联合奖惩".to_string()]))
            .parameter(header(
                "X-Xinyong-Alert",
                "预警编号，与请求体 alert_id 相同；按此去重",
                "1024",
            ))
            .parameter(header(
                "X-Xinyong-Timestamp",
                "发送时刻的Unix秒数（每次发送重新取值）",
                "1781064000",
            ))
            .parameter(header(
                "X-Xinyong-Signature",
                "hmac-sm3= 加 HMAC-SM3(共享密钥, \"<timestamp>.<body>\") 的小写十六进制",
                "hmac-sm3=5f0c…",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("AlertDelivery")))
                            .build(),
                    )
                    .build(),
            ))
            .response(
                "2XX",
                ResponseBuilder::new()
                    .description("已收到（视为送达；应尽快应答，处理可在其后进行）"),
            )
            .response(
                "default",
                ResponseBuilder::new().description("未送达：按退避间隔重试"),
            );
        doc.webhooks = Some(
            PathsBuilder::new()
                .path("alert", PathItem::new(HttpMethod::Post, op))
                .build(),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "盐城市公共信用信息平台接口",
        description = "市县一体化公共信用信息系统的JSON接口。报送、查询信用档案、账号与审计。所有响应带 x-request-id；错误体为 {error: {code, message, request_id}}。",
        version = "1"
    ),
    paths(
        api::healthz, api::readyz, api::metrics, api::openapi, api::platform_key, api::me, api::catalog, api::units, api::stats,
        api::subject, api::id_number, api::record, api::records_by_decision, api::withdraw_record, api::restore_record,
        api::create, api::list, api::detail, api::rejections_xlsx, api::withdraw, api::quality,
        api::list_accounts, api::create_account, api::disable_account, api::reset_password,
        api::list_tokens, api::create_token, api::revoke_token,
        api::search, api::verify, api::checkpoint,
        api::joint::matters, api::joint::create_check, api::joint::list_checks, api::joint::get_check, api::joint::feedback,
        api::joint::check_snippet, api::joint::list_action, api::joint::create_exception,
        api::joint::list_exceptions, api::joint::revoke_exception, api::joint::create_batch,
        api::joint::list_batches, api::joint::get_batch, api::joint::batch_csv, api::joint::batch_xlsx, api::joint::subscribe,
        api::joint::subscriptions, api::joint::unsubscribe, api::joint::set_webhook, api::joint::remove_webhook, api::joint::webhooks,
        api::joint::test_webhook, api::joint::alerts,
        api::joint::alert_feedback, api::joint::stats,
        api::cases::my_records, api::cases::create_repair, api::cases::create_objection,
        api::cases::list_cases, api::cases::stats, api::cases::get_case, api::cases::case_action,
        api::cases::upload_file, api::cases::get_file, api::cases::worklist, api::cases::messages,
        api::cases::sharing_feed,
        api::authorisations::create_authorisation, api::authorisations::list_authorisations,
        api::authorisations::revoke_authorisation,
    ),
    components(schemas(joint::alerts::Delivery)),
    modifiers(&Security, &Descriptions, &AlertWebhook),
    tags(
        (name = "信用档案", description = "信用主体的档案与记录"),
        (name = "报送", description = "信源单位的报送接口（推送JSON或上传文件）"),
        (name = "目录", description = "公共信用信息目录、信源单位、统计"),
        (name = "账号", description = "账号与接口令牌"),
        (name = "审计", description = "审计日志"),
        (name = "联合奖惩", description = "逢办必查：单笔核查（查询式、嵌入式）、批量审查、名单管理、例外、订阅与触发式预警、反馈与统计"),
        (name = "信用修复与异议", description = "信用修复“一件事”（预审、申请、认定单位办理、共享）与异议（标注、转送、核实、答复），闹铃式提醒、工作台、统计"),
        (name = "信易贷授权", description = "信用主体授权金融机构查询其现行有效的信用记录（授信融资），包括不向社会公示、仅依授权共享的信息，可随时撤回；未经授权，金融机构只能看到公开信息"),
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
