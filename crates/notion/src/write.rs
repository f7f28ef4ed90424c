//! Writes: pages, block children, deletions, file uploads, and the execution of the codec's
//! append plans.

use std::collections::HashMap;

use kb_doc::notion::model::{Block, Page};
use kb_doc::notion::{AppendPlan, BlockRef, PlanParent};
use kb_http::{Method, Part, Request};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Notion, dashed, decode};
use crate::error::NotionError;

/// Largest single-part upload (Notion: 20 MB).
pub const MAX_SINGLE_PART: usize = 20 * 1024 * 1024;
/// Longest upload file name, in bytes.
pub const MAX_FILENAME_BYTES: usize = 900;

/// The page request 0 of a [`PlanParent::NewPage`] plan creates.
#[derive(Clone, Debug)]
pub struct NewPage {
    /// Notion's parent object: `{"page_id": …}`, `{"data_source_id": …}` (2025-09-03) or
    /// `{"database_id": …}` (2022-06-28).
    pub parent: Value,
    /// A properties object (at least the title).
    pub properties: Value,
    /// The page icon (`{"type":"emoji","emoji":"📄"}`…), if any.
    pub icon: Option<Value>,
}

/// How far a plan's execution got: what [`Notion::execute_plan_resumable`] needs to go on.
/// Serialises, for checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanProgress {
    /// The page the blocks go to, once known.
    pub page_id: Option<String>,
    /// For each request done, in order: the ids of the first-level blocks it created (`None`
    /// for the page creation: the page's first children are listed when needed).
    pub created: Vec<Option<Vec<String>>>,
    /// Blocks created so far, at every level.
    pub blocks: usize,
    /// Where the plan's first-level blocks go in their parent: after this block (then after
    /// the last block each request created); `None` appends at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl PlanProgress {
    /// Requests done.
    pub fn done(&self) -> usize {
        self.created.len()
    }
}

/// What executing a plan did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanOutcome {
    /// The page the blocks went to (created by request 0, or the plan's parent).
    pub page_id: String,
    /// Requests of the plan executed (listings to resolve targets not counted).
    pub requests: usize,
    /// Blocks created, at every level.
    pub blocks: usize,
}

impl Notion {
    /// `POST /v1/pages`. `parent` is Notion's parent object, `properties` a properties
    /// object, `children` request-shaped blocks (at most 100, two levels of nesting). Not
    /// retried after a failure that may have reached Notion (it would create a second page).
    pub async fn create_page(
        &self,
        parent: Value,
        properties: Value,
        children: Vec<Value>,
    ) -> Result<Page, NotionError> {
        self.create_page_with(parent, properties, None, children)
            .await
    }

    async fn create_page_with(
        &self,
        parent: Value,
        properties: Value,
        icon: Option<Value>,
        children: Vec<Value>,
    ) -> Result<Page, NotionError> {
        let mut body = json!({"parent": parent, "properties": properties});
        if let Some(i) = icon {
            body["icon"] = i;
        }
        if !children.is_empty() {
            body["children"] = Value::Array(children);
        }
        let object = format!("new page under {}", describe_parent(&body["parent"]));
        let req = self.send_json(Method::POST, "pages", &body, object.clone())?;
        decode(&object, self.call(req).await?)
    }

    /// `PATCH /v1/pages/{id}`: properties, `in_trash`, icon, cover… Setting values is
    /// idempotent, so it is retried like a read.
    pub async fn update_page(&self, id: &str, patch: Value) -> Result<Page, NotionError> {
        let object = format!("page {id}");
        let req = self
            .send_json(
                Method::PATCH,
                &format!("pages/{}", dashed(id)),
                &patch,
                object.clone(),
            )?
            .idempotent(true);
        decode(&object, self.call(req).await?)
    }

    /// `PATCH /v1/blocks/{id}/children`; returns the created first-level blocks (the
    /// response's `results`). Not retried after a failure that may have reached Notion.
    pub async fn append_children(
        &self,
        block_id: &str,
        children: Vec<Value>,
    ) -> Result<Vec<Block>, NotionError> {
        let object = format!("block {block_id}");
        let req = self.send_json(
            Method::PATCH,
            &format!("blocks/{}/children", dashed(block_id)),
            &json!({"children": children}),
            object.clone(),
        )?;
        let v = self.call(req).await?;
        decode(
            &format!("blocks appended to {object}"),
            v.get("results").cloned().unwrap_or(Value::Null),
        )
    }

    /// [`Notion::append_children`] placing the blocks right after the child `after` of
    /// `block_id` (`None`: at the end). Not retried after a failure that may have reached
    /// Notion.
    pub async fn append_children_after(
        &self,
        block_id: &str,
        children: Vec<Value>,
        after: Option<&str>,
    ) -> Result<Vec<Block>, NotionError> {
        let Some(after) = after else {
            return self.append_children(block_id, children).await;
        };
        let object = format!("block {block_id}");
        let req = self.send_json(
            Method::PATCH,
            &format!("blocks/{}/children", dashed(block_id)),
            &json!({"children": children, "after": dashed(after)}),
            object.clone(),
        )?;
        let v = self.call(req).await?;
        decode(
            &format!("blocks appended to {object}"),
            v.get("results").cloned().unwrap_or(Value::Null),
        )
    }

    /// `PATCH /v1/blocks/{id}`: a block's content in place (`{"paragraph": {"rich_text": …}}`;
    /// the id, comments and links to it stay). Setting values is idempotent, so it is retried
    /// like a read.
    pub async fn update_block(&self, id: &str, patch: Value) -> Result<Block, NotionError> {
        let object = format!("block {id}");
        let req = self
            .send_json(
                Method::PATCH,
                &format!("blocks/{}", dashed(id)),
                &patch,
                object.clone(),
            )?
            .idempotent(true);
        decode(&object, self.call(req).await?)
    }

    /// `DELETE /v1/blocks/{id}` (to the trash; pages too). Retried like any DELETE: a block
    /// already in the trash (a retry after the first attempt did arrive) counts as deleted.
    pub async fn delete_block(&self, id: &str) -> Result<(), NotionError> {
        let req = Request::new(Method::DELETE, self.url(&format!("blocks/{}", dashed(id)))?)
            .object(format!("block {id}"));
        match self.call(req).await {
            Ok(_) => Ok(()),
            Err(NotionError::Http(e))
                if e.status() == Some(400) && e.to_string().contains("archived") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Single-part upload (≤ 20 MB; the twin has no multi-part uploads, so larger files are
    /// refused with the limit named): `POST /v1/file_uploads` then `…/send`. Returns the
    /// upload's id for `{"type":"file_upload","file_upload":{"id":…}}`.
    pub async fn upload(
        &self,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<String, NotionError> {
        let refuse = |why: String| NotionError::Upload {
            filename: filename.to_string(),
            why,
        };
        if filename.is_empty() || filename.len() > MAX_FILENAME_BYTES {
            return Err(refuse(format!(
                "a file name must have 1 to {MAX_FILENAME_BYTES} bytes (it has {}): rename the file",
                filename.len()
            )));
        }
        if bytes.len() > MAX_SINGLE_PART {
            return Err(refuse(format!(
                "{} bytes is more than the {MAX_SINGLE_PART} bytes of a single-part upload (multi-part uploads are not supported yet): link the file instead",
                bytes.len()
            )));
        }
        let object = format!("upload of {filename}");
        // Creating an upload twice only leaves an unused one that expires: safe to retry.
        let create = self
            .send_json(
                Method::POST,
                "file_uploads",
                &json!({"mode": "single_part", "filename": filename, "content_type": content_type}),
                object.clone(),
            )?
            .idempotent(true);
        let created = self.call(create).await?;
        let Some(id) = created
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(NotionError::Decode {
                object,
                path: "id".into(),
                message: "the created file upload has no id".into(),
            });
        };
        let send = Request::multipart(
            Method::POST,
            self.url(&format!("file_uploads/{id}/send"))?,
            &[Part {
                name: "file",
                filename: Some(filename),
                content_type: Some(content_type),
                data: bytes,
            }],
        )
        .object(object.clone());
        let sent = match self.http().send(&send).await {
            Ok(r) => r,
            Err(e) => {
                // The bytes may have arrived before the connection broke: ask.
                let status = self
                    .call(self.get(&format!("file_uploads/{id}"), object.clone())?)
                    .await
                    .ok()
                    .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string));
                if status.as_deref() == Some("uploaded") {
                    return Ok(id);
                }
                return Err(e.into());
            }
        };
        let v: Value = sent.json(&send.method)?;
        match v.get("status").and_then(Value::as_str) {
            Some("uploaded") | None => Ok(id),
            Some(other) => Err(refuse(format!(
                "Notion says the upload is {other} after sending it: try again"
            ))),
        }
    }

    /// Executes an append plan from [`kb_doc::notion::plan`], request by request: request 0
    /// may create the page ([`PlanParent::NewPage`]: `new_page` gives its parent, properties
    /// and icon); each [`BlockRef::Created`] target is resolved from earlier responses, listing
    /// children to walk its `path`; every `file_upload.id` equal to an attachment placeholder
    /// is replaced by `uploads[placeholder]` (a missing upload fails before anything is
    /// written, naming the placeholder).
    pub async fn execute_plan(
        &self,
        plan: &AppendPlan,
        new_page: Option<NewPage>,
        uploads: &HashMap<String, String>,
    ) -> Result<PlanOutcome, NotionError> {
        let mut progress = PlanProgress::default();
        self.execute_plan_resumable(plan, new_page, uploads, &mut progress, &mut |_| true)
            .await
    }

    /// [`Notion::execute_plan`] from `progress` (empty: from the start), updating it after
    /// every request and then calling `on_step` with it: the caller saves it (it serialises)
    /// to resume after a crash, and returns `false` to stop there (the outcome then counts
    /// the requests done so far). A request whose answer was lost (a crash or a cut
    /// connection after Notion acted) is not in the progress: before resuming, the caller
    /// compares the target's children with the plan if that matters.
    pub async fn execute_plan_resumable(
        &self,
        plan: &AppendPlan,
        new_page: Option<NewPage>,
        uploads: &HashMap<String, String>,
        progress: &mut PlanProgress,
        on_step: &mut (dyn FnMut(&PlanProgress) -> bool + Send),
    ) -> Result<PlanOutcome, NotionError> {
        // Everything that can be checked is checked before the first write.
        let placeholders: Vec<&str> = plan
            .attachments
            .iter()
            .map(|a| a.placeholder.as_str())
            .collect();
        let mut bodies = Vec::with_capacity(plan.requests.len());
        for (i, r) in plan.requests.iter().enumerate() {
            let mut children = match r.body().get_mut("children").map(Value::take) {
                Some(Value::Array(c)) => c,
                _ => Vec::new(),
            };
            for c in &mut children {
                substitute(c, uploads, &placeholders, i)?;
            }
            if r.create_page && i != 0 {
                return Err(NotionError::Plan(format!(
                    "request {i} creates a page; only request 0 may"
                )));
            }
            if let BlockRef::Created { request, path } = &r.target
                && (*request >= i || path.is_empty())
            {
                return Err(NotionError::Plan(format!(
                    "request {i} appends to request {request}'s block {path:?}, which is not an earlier request's block"
                )));
            }
            bodies.push(children);
        }
        let creates = plan.requests.first().is_some_and(|r| r.create_page);
        let planned = match (&plan.parent, creates) {
            (PlanParent::PageId { page_id }, false) => Some(page_id.clone()),
            (PlanParent::NewPage, true) => None,
            (PlanParent::NewPage, false) if plan.requests.is_empty() => None,
            (p, _) => {
                return Err(NotionError::Plan(format!(
                    "the plan's parent {p:?} does not match its first request (create_page = {creates})"
                )));
            }
        };
        let done = progress.created.len();
        if done > plan.requests.len() || (done > 0 && progress.page_id.is_none()) {
            return Err(NotionError::Plan(format!(
                "the progress ({done} requests done) is not from this plan ({} requests)",
                plan.requests.len()
            )));
        }
        if progress.page_id.is_none() {
            progress.page_id = planned;
        }
        let mut new_page = new_page;
        if creates && done == 0 && new_page.is_none() {
            return Err(NotionError::Plan(
                "the plan creates a page (PlanParent::NewPage): give a NewPage with its parent and title".into(),
            ));
        }
        if plan.requests.is_empty() {
            let mut requests = 0;
            if progress.page_id.is_none()
                && let Some(np) = new_page.take()
            {
                let page = self
                    .create_page_with(np.parent, np.properties, np.icon, Vec::new())
                    .await?;
                progress.page_id = Some(page.id);
                requests = 1;
            }
            return Ok(PlanOutcome {
                page_id: progress.page_id.clone().unwrap_or_default(),
                requests,
                blocks: 0,
            });
        }
        let mut listed: HashMap<String, Vec<String>> = HashMap::new();
        for (i, (r, children)) in plan.requests.iter().zip(bodies).enumerate().skip(done) {
            let n = count(&children);
            if r.create_page {
                let np = new_page.take().ok_or_else(|| {
                    NotionError::Plan("request 0 creates the page: give a NewPage".into())
                })?;
                let page = self
                    .create_page_with(np.parent, np.properties, np.icon, children)
                    .await?;
                progress.page_id = Some(page.id);
                progress.created.push(None);
            } else {
                let page_id = progress.page_id.clone().unwrap_or_default();
                let target = match &r.target {
                    BlockRef::Parent => page_id.clone(),
                    BlockRef::Created { request, path } => {
                        self.resolve(&page_id, &progress.created, &mut listed, *request, path, i)
                            .await?
                    }
                };
                let after = match &r.target {
                    BlockRef::Parent => progress.after.clone(),
                    BlockRef::Created { .. } => None,
                };
                let res = self
                    .append_children_after(&target, children, after.as_deref())
                    .await?;
                let ids: Vec<String> = res.into_iter().filter_map(|b| b.id).collect();
                if after.is_some()
                    && let Some(last) = ids.last()
                {
                    progress.after = Some(last.clone());
                }
                progress.created.push(Some(ids));
            }
            progress.blocks += n;
            if !on_step(progress) {
                break;
            }
        }
        Ok(PlanOutcome {
            page_id: progress.page_id.clone().unwrap_or_default(),
            requests: progress.created.len(),
            blocks: progress.blocks,
        })
    }

    /// The id of the block `path` names in request `request`'s children.
    async fn resolve(
        &self,
        page_id: &str,
        created: &[Option<Vec<String>>],
        listed: &mut HashMap<String, Vec<String>>,
        request: usize,
        path: &[usize],
        at: usize,
    ) -> Result<String, NotionError> {
        let missing = |what: String| {
            NotionError::Plan(format!(
                "request {at}: target {path:?} of request {request}: {what}"
            ))
        };
        let first = match &created[request] {
            Some(ids) => ids.get(path[0]).cloned(),
            None => self
                .child_ids(page_id, listed, path[0])
                .await?
                .get(path[0])
                .cloned(),
        }
        .ok_or_else(|| missing(format!("request {request} created no block {}", path[0])))?;
        let mut id = first;
        for &k in &path[1..] {
            id = self
                .child_ids(&id, listed, k)
                .await?
                .get(k)
                .cloned()
                .ok_or_else(|| missing(format!("block {id} has no child {k}")))?;
        }
        Ok(id)
    }

    /// The ids of a block's children, listed once and again only when `need` is past the end
    /// (children appended since).
    async fn child_ids<'a>(
        &self,
        id: &str,
        listed: &'a mut HashMap<String, Vec<String>>,
        need: usize,
    ) -> Result<&'a Vec<String>, NotionError> {
        let stale = listed.get(id).is_none_or(|v| v.len() <= need);
        if stale {
            let ids = self
                .children(id)
                .await?
                .into_iter()
                .filter_map(|b| b.id)
                .collect();
            listed.insert(id.to_string(), ids);
        }
        Ok(&listed[id])
    }
}

/// `page 1f…` / `data source 2a…` for messages.
fn describe_parent(p: &Value) -> String {
    for k in ["page_id", "data_source_id", "database_id", "block_id"] {
        if let Some(id) = p.get(k).and_then(Value::as_str) {
            return format!("{} {id}", k.trim_end_matches("_id").replace('_', " "));
        }
    }
    if p.get("workspace").is_some() {
        return "the workspace".into();
    }
    p.to_string()
}

/// Blocks in a request, at every level (children sit inside the type object).
fn count(children: &[Value]) -> usize {
    children
        .iter()
        .map(|c| {
            let nested = c
                .get("type")
                .and_then(Value::as_str)
                .and_then(|t| c.get(t))
                .and_then(|d| d.get("children"))
                .and_then(Value::as_array)
                .map_or(0, |a| count(a));
            1 + nested
        })
        .sum()
}

/// Replaces attachment placeholders in `file_upload.id` by the uploads' ids.
fn substitute(
    v: &mut Value,
    uploads: &HashMap<String, String>,
    placeholders: &[&str],
    request: usize,
) -> Result<(), NotionError> {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(fu)) = m.get_mut("file_upload")
                && let Some(Value::String(id)) = fu.get_mut("id")
            {
                if let Some(real) = uploads.get(id.as_str()) {
                    *id = real.clone();
                } else if placeholders.contains(&id.as_str()) || id.starts_with("kbridge-") {
                    return Err(NotionError::Plan(format!(
                        "request {request} needs the upload of {id}, which is not in the uploads: upload the attachment (Notion::upload) and map its placeholder to the upload id"
                    )));
                }
            }
            for (_, x) in m.iter_mut() {
                substitute(x, uploads, placeholders, request)?;
            }
        }
        Value::Array(a) => {
            for x in a {
                substitute(x, uploads, placeholders, request)?;
            }
        }
        _ => {}
    }
    Ok(())
}
