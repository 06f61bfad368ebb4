//! The credit office writes and publishes the portal's news and policies (信用动态, 政策法规,
//! 通知公告): drafts, publication on a date, withdrawal, attachments.

use crate::body::ApiForm;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::pages_impl::{check_csrf, fmt_time};
use super::{error_page, frame, render, see_other};
use crate::body::ApiPath;
use crate::context::{Ctx, audit_entry, audited_write, entry_first, record_first};
use crate::error::ApiError;
use crate::portal::COLUMNS;
use crate::{Shared, blocking, today};

/// Attachments the portal will serve: documents and images, nothing executable.
const ATTACHMENT_TYPES: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("wps", "application/vnd.ms-works"),
    ("ofd", "application/ofd"),
    ("zip", "application/zip"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
];
pub const MAX_ATTACHMENT: usize = 20 * 1024 * 1024;

/// A file's size as people read it: bytes under 1 KB (not "0.0 KB"), then KB, then MB.
pub fn size_label(n: i64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / 1048576.0)
    } else if n >= 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{n} 字节")
    }
}

fn status_label(s: &str) -> &'static str {
    match s {
        "published" => "已发布",
        "withdrawn" => "已撤下",
        _ => "草稿",
    }
}

/// A published article dated ahead shows on the portal from its day: said so, not 已发布.
fn status_shown(s: &str, on: Option<NaiveDate>, today: NaiveDate) -> String {
    match on {
        Some(d) if s == "published" && d > today => format!("定时发布（{d}起在门户显示）"),
        _ => status_label(s).into(),
    }
}

pub async fn list(State(state): State<Shared>, ctx: Ctx) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let rows = s
            .store
            .articles(None, None, None, 0, 500)?
            .into_iter()
            .map(|a| pages::ArticleRow {
                id: a.article_id,
                column: a.column_name,
                title: a.title,
                status: status_shown(&a.status, a.published_on, today(s.clock.now())),
                published_on: a.published_on.map(|d| d.to_string()).unwrap_or_default(),
                updated: fmt_time(a.updated_at),
            })
            .collect();
        Ok(pages::Articles {
            frame: frame(&c, "文章发布", "/console/articles"),
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows,
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize)]
pub struct ArticleForm {
    #[serde(default)]
    pub csrf: String,
    pub column: String,
    pub title: String,
    pub body: String,
}

fn checked(f: &ArticleForm) -> Result<(String, String, String), ApiError> {
    let column = f.column.trim();
    if !COLUMNS.contains(&column) {
        return Err(ApiError::Unprocessable(format!(
            "栏目“{column}”无效，应为{}之一",
            COLUMNS.join("、")
        )));
    }
    let title = f.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::Unprocessable(
            "标题不能为空，且不超过200字".into(),
        ));
    }
    let body = f.body.trim().replace("\r\n", "\n");
    if body.is_empty() || body.chars().count() > 100_000 {
        return Err(ApiError::Unprocessable(
            "正文不能为空，且不超过100000字".into(),
        ));
    }
    // What the portal publishes is public: a person's ID number in it is the office's to take
    // out (or write masked), not the portal's to show. (A mobile number may be the office's own
    // hotline: the office decides.)
    for (part, text) in [("标题", title), ("正文", body.as_str())] {
        if let std::borrow::Cow::Owned(masked) = domain::ids::mask_ids_in(text) {
            let at = text
                .char_indices()
                .zip(masked.chars())
                .find(|((_, a), b)| a != b)
                .map_or(0, |((i, _), _)| i);
            let near: String = text[text.floor_char_boundary(at.saturating_sub(30))..]
                .chars()
                .take(20)
                .collect();
            return Err(ApiError::Unprocessable(format!(
                "{part}中含有公民身份号码（“{}…”附近），不能向社会公开：请删除，或写成脱敏形式（如 320902********1234）后再保存",
                domain::ids::mask_ids_in(&near)
            )));
        }
    }
    Ok((column.to_string(), title.to_string(), body))
}

pub async fn create(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<ArticleForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let (s, c, actor) = (state.clone(), ctx.clone(), ctx.principal.actor());
    let r = blocking(move || {
        let (column, title, body) = checked(&f)?;
        // Its entry goes in before it commits (see `entry_first`), named by the new id.
        let first = |id| {
            let entry = audit_entry(
                &c,
                "article.create",
                Some(format!("article:{id}")),
                "ok",
                None,
            );
            record_first(&s, &c, entry)
        };
        Ok(s.store
            .create_article(&column, &title, &body, &actor, s.clock.now(), &first)?)
    })
    .await;
    let entry = audit_entry(&ctx, "article.create", None, "ok", None);
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(id) => see_other(&format!("/console/articles/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn edit(State(state): State<Shared>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let a = s
            .store
            .article(id)?
            .ok_or_else(|| ApiError::NotFound(format!("文章{id}不存在")))?;
        let attachments = s
            .store
            .attachments(id)?
            .into_iter()
            .map(|x| {
                (
                    format!("/console/articles/{id}/attachments/{}", x.attachment_id),
                    x.file_name,
                    size_label(x.byte_size),
                )
            })
            .collect();
        Ok(pages::ArticleEdit {
            frame: frame(&c, "编辑文章", "/console/articles"),
            id,
            column: a.column_name,
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            title: a.title,
            body: a.body,
            published: a.status == "published",
            published_on: a.published_on.map(|d| d.to_string()).unwrap_or_default(),
            today: today(s.clock.now()).to_string(),
            attachments,
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn update(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<ArticleForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    // The trail keeps what the article became (its title and its text's SM3): a published
    // notice changed later can be told from what was first published.
    let said = checked(&f)
        .map(|(column, title, body)| {
            format!(
                "column={column} title={title} body_sm3={}",
                crypto::sm3_hex(body.as_bytes())
            )
        })
        .ok();
    let entry = audit_entry(
        &ctx,
        "article.update",
        Some(format!("article:{id}")),
        "ok",
        said,
    );
    let (s, first) = (state.clone(), entry_first(&state, &ctx, entry.clone()));
    let r = blocking(move || {
        let (column, title, body) = checked(&f)?;
        Ok(s.store
            .update_article(id, &column, &title, &body, s.clock.now(), &first)?)
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(()) => see_other(&format!("/console/articles/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub published_on: String,
}

pub async fn publish(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<PublishForm>,
) -> Response {
    set_status(state, ctx, id, f, "published").await
}

pub async fn withdraw(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<PublishForm>,
) -> Response {
    set_status(state, ctx, id, f, "withdrawn").await
}

async fn set_status(
    state: Shared,
    ctx: Ctx,
    id: i64,
    f: PublishForm,
    status: &'static str,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let action = if status == "published" {
        "article.publish"
    } else {
        "article.withdraw"
    };
    let on = if status == "published" {
        let d = f.published_on.trim();
        Some(if d.is_empty() {
            today(state.clock.now())
        } else {
            match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) => d,
                Err(_) => {
                    return error_page(
                        &ctx,
                        ApiError::Unprocessable(format!("发布日期“{d}”应为YYYY-MM-DD格式")),
                    );
                }
            }
        })
    } else {
        None
    };
    // The date chosen is on the trail (a notice dated before or after the day it went out).
    let entry = audit_entry(
        &ctx,
        action,
        Some(format!("article:{id}")),
        "ok",
        on.map(|d| format!("published_on={d}")),
    );
    let (s, first) = (state.clone(), entry_first(&state, &ctx, entry.clone()));
    let r = blocking(move || {
        s.store
            .set_article_status(id, status, on, s.clock.now(), &first)?;
        Ok(())
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(()) => see_other(&format!("/console/articles/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn upload(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    crate::body::ApiMultipart(mut mp): crate::body::ApiMultipart,
) -> Response {
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("file") => {
                    let name = field.file_name().unwrap_or("附件").to_string();
                    match field.bytes().await {
                        Ok(b) => file = Some((name, b.to_vec())),
                        Err(e) => return error_page(&ctx, crate::body::multipart_error(e)),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return error_page(&ctx, crate::body::multipart_error(e)),
        }
    }
    if let Err(e) = check_csrf(&ctx, &csrf) {
        return error_page(&ctx, e);
    }
    let Some((name, data)) = file else {
        return error_page(&ctx, ApiError::Unprocessable("没有收到附件文件".into()));
    };
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        // Keep only the last path component a browser may send, and nothing that breaks a header.
        let name = crate::body::upload_name(Some(&name), "附件");
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let Some((_, ctype)) = ATTACHMENT_TYPES.iter().find(|(e, _)| *e == ext) else {
            return Err(ApiError::Unprocessable(format!(
                "附件“{name}”的类型不允许，应为{}",
                ATTACHMENT_TYPES
                    .iter()
                    .map(|(e, _)| *e)
                    .collect::<Vec<_>>()
                    .join("、")
            )));
        };
        if data.is_empty() || data.len() > MAX_ATTACHMENT {
            return Err(ApiError::Unprocessable("附件不能为空，且不超过20MB".into()));
        }
        s.store
            .article(id)?
            .ok_or_else(|| ApiError::NotFound(format!("文章{id}不存在")))?;
        // Its entry goes in before it commits (see `entry_first`), naming the attachment.
        let first = |a| {
            let detail = Some(format!("attachment={a}"));
            let entry = audit_entry(
                &c,
                "article.attach",
                Some(format!("article:{id}")),
                "ok",
                detail,
            );
            record_first(&s, &c, entry)
        };
        Ok(s.store.add_attachment(id, &name, ctype, &data, &first)?)
    })
    .await;
    let entry = audit_entry(
        &ctx,
        "article.attach",
        Some(format!("article:{id}")),
        "ok",
        None,
    );
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(_) => see_other(&format!("/console/articles/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

/// Removes an attachment (a wrong file uploaded could not be taken off a published article).
pub async fn remove_attachment(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath((id, aid)): ApiPath<(i64, i64)>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> Response {
    if let Err(e) = super::pages_impl::check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let entry = audit_entry(
        &ctx,
        "article.detach",
        Some(format!("article:{id}")),
        "ok",
        Some(format!("attachment={aid}")),
    );
    let (s, c, e) = (state.clone(), ctx.clone(), entry.clone());
    let r = blocking(move || {
        let removed = s
            .store
            .remove_attachment(id, aid, &|| record_first(&s, &c, e.clone()))?;
        if removed {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("附件{aid}不存在")))
        }
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(()) => see_other(&format!("/console/articles/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// A draft's attachment, for the office to check before publishing.
pub async fn attachment(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath((id, aid)): ApiPath<(i64, i64)>,
) -> Response {
    let s = state.clone();
    let r = blocking(move || {
        s.store
            .attachment_data(id, aid)?
            .ok_or_else(|| ApiError::NotFound(format!("附件{aid}不存在")))
    })
    .await;
    match r {
        Ok((a, data)) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename*=UTF-8''{}",
                        super::urlencode(&a.file_name)
                    ),
                ),
            ],
            data,
        )
            .into_response(),
        Err(e) => error_page(&ctx, e),
    }
}

#[cfg(test)]
mod tests {
    use super::size_label;

    #[test]
    fn small_files_are_sized_in_bytes_not_zero_kb() {
        assert_eq!(size_label(58), "58 字节");
        assert_eq!(size_label(1536), "1.5 KB");
        assert_eq!(size_label(3 * 1024 * 1024), "3.0 MB");
    }
}
