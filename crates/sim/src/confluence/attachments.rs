//! REST v2 sub-resources of an attachment: `/attachments/{id}/versions`, `/labels` and
//! `/properties`, which a replica needs for the `attachment_versions`, `attachment_labels` and
//! `attachment_content_properties` tables. An attachment is visible when its container is.

use axum::extract::Path;
use axum::response::Response;
use serde_json::json;

use super::Data;
use super::api::*;
use super::render;
use super::v2::{attachment_id, label_list, sort};
use crate::model::*;
use crate::time::iso;

type R = Result<Response, ApiError>;

fn find_attachment<'a>(data: &'a Data, ctx: &Ctx, id: &str) -> Result<&'a Attachment, ApiError> {
    let id = attachment_id(id)?;
    data.d
        .attachments
        .get(&id)
        .filter(|a| a.status != Status::Deleted && data.can_view(&ctx.caller, a.container_id))
        .ok_or_else(ApiError::not_found)
}

/// `GET /attachments/{id}/versions` (`AttachmentVersion`, newest first by default).
pub async fn versions(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(50, 250)?;
    let (_, desc) = sort(&ctx.q, &["modified-date"], "-modified-date")?;
    let data = ctx.conf().read();
    let a = find_attachment(&data, &ctx, &id)?;
    let items = a
        .versions
        .iter()
        .map(|v| ((SortVal::I(v.number as i64), a.id), v))
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    let results = page
        .into_iter()
        .map(|v| {
            json!({
                "createdAt": iso(v.created_at),
                "message": v.message,
                "number": v.number,
                "minorEdit": v.minor_edit,
                "authorId": v.author_id,
                "attachment": {"id": format!("att{}", a.id), "title": a.title},
            })
        })
        .collect();
    ctx.list(results, next, limit)
}

/// `GET /attachments/{id}/labels`.
pub async fn labels(ctx: Ctx, Path(id): Path<String>) -> R {
    let data = ctx.conf().read();
    let a = find_attachment(&data, &ctx, &id)?;
    label_list(&ctx, a.labels.clone(), &data.d)
}

/// `GET /attachments/{attachment-id}/properties`: the generated site gives attachments no
/// content properties, so the list is empty (with the real shape and validation).
pub async fn properties(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    sort(&ctx.q, &["key"], "key")?;
    let data = ctx.conf().read();
    find_attachment(&data, &ctx, &id)?;
    let none: Vec<((SortVal, u64), &Property)> = Vec::new();
    let (page, next) = ctx.paginate(none, false, limit)?;
    ctx.list(
        page.into_iter().map(render::property).collect(),
        next,
        limit,
    )
}
