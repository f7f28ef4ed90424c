//! The state of two-way sync links (`kbridge sync`): the links, the node pairs with their base,
//! and the conflicts. Contents are JSON documents the engine defines (`kb_engine::sync`); the
//! store keeps them and answers by key, on both backends. They are kept as text, not `JSONB`:
//! documents may hold any character, U+0000 included, which `JSONB` refuses.

use serde_json::Value;

use super::{Store, db_err};
use crate::conn::{Conn, Kind};
use crate::error::{Result, StoreError};
use crate::extract::SqlValue;
use crate::schema::ColumnType;
use crate::time;

/// A sync link: a Notion tree and a Confluence tree kept equal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncLinkRow {
    /// The link's name (unique in the store).
    pub name: String,
    /// What the link joins and how (engine-defined JSON).
    pub spec: Value,
    /// Where its change detection stands (high-water marks…; engine-defined JSON).
    pub state: Value,
    pub created_at: String,
    pub updated_at: String,
}

/// One node pair of a link.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncPairRow {
    pub link: String,
    pub notion_id: String,
    pub confluence_id: String,
    /// Versions seen, hashes written, the block map (engine-defined JSON).
    pub state: Value,
    /// The document both sides last agreed on (`None` in pass-through mode).
    pub base: Option<Value>,
    /// The document each side showed when last seen (`None` in pass-through mode).
    pub notion_seen: Option<Value>,
    pub confluence_seen: Option<Value>,
}

/// A recorded conflict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncConflictRow {
    pub id: i64,
    pub link: String,
    pub notion_id: String,
    pub confluence_id: String,
    /// Both versions and the base (engine-defined JSON).
    pub detail: Value,
    pub created_at: String,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(Some(s.to_string()))
}

fn json(v: &Value) -> SqlValue {
    SqlValue::Text(Some(v.to_string()))
}

fn opt_json(v: &Option<Value>) -> SqlValue {
    SqlValue::Text(v.as_ref().map(Value::to_string))
}

impl Store {
    fn corrupt(&self, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            db: self.describe().to_string(),
            what: what.into(),
        }
    }

    fn need_str(&self, v: &Value, what: &str) -> Result<String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.corrupt(format!("{what} is missing")))
    }

    /// Every id-map entry as `(source_system, source_id, target_system, target_id)`: the pairs
    /// earlier migrations made, which a sync link adopts.
    pub async fn id_map_entries(&self) -> Result<Vec<(String, String, String, String)>> {
        let sql = "SELECT \"source_system\", \"source_id\", \"target_system\", \"target_id\" \
                   FROM \"id_map\" ORDER BY 1, 2, 3";
        let kinds = [Kind::Text, Kind::Text, Kind::Text, Kind::Text];
        let rows = with_conn!(self, c, db => c.fetch(db, sql, &[], &kinds).await)?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    self.need_str(&r[0], "an id-map entry's source system")?,
                    self.need_str(&r[1], "an id-map entry's source id")?,
                    self.need_str(&r[2], "an id-map entry's target system")?,
                    self.need_str(&r[3], "an id-map entry's target id")?,
                ))
            })
            .collect()
    }

    /// Creates or replaces the link `row.name` (its `created_at` is kept on replace).
    pub async fn put_sync_link(&self, row: &SyncLinkRow) -> Result<()> {
        let d = self.dialect();
        let sql = format!(
            "INSERT INTO \"sync_links\" (\"name\", \"spec\", \"state\", \"created_at\", \"updated_at\") \
             VALUES ($1, {}, {}, {}, {}) ON CONFLICT (\"name\") DO UPDATE SET \
             \"spec\" = excluded.\"spec\", \"state\" = excluded.\"state\", \"updated_at\" = excluded.\"updated_at\"",
            "$2",
            "$3",
            d.param(ColumnType::Timestamp, 4),
            d.param(ColumnType::Timestamp, 5),
        );
        let now = time::now();
        let args = [
            text(&row.name),
            json(&row.spec),
            json(&row.state),
            text(&now),
            text(&now),
        ];
        with_conn!(self, c, db => c
            .execute(&sql, &args)
            .await
            .map_err(db_err(db, format!("saving sync link {}", row.name))))?;
        Ok(())
    }

    /// Every link, by name.
    pub async fn sync_links(&self) -> Result<Vec<SyncLinkRow>> {
        self.sync_links_where("", &[]).await
    }

    /// The link named `name`.
    pub async fn sync_link(&self, name: &str) -> Result<Option<SyncLinkRow>> {
        Ok(self
            .sync_links_where("WHERE \"name\" = $1", &[text(name)])
            .await?
            .into_iter()
            .next())
    }

    async fn sync_links_where(&self, filter: &str, args: &[SqlValue]) -> Result<Vec<SyncLinkRow>> {
        let d = self.dialect();
        let sql = format!(
            "SELECT \"name\", {}, {}, {}, {} FROM \"sync_links\" {filter} ORDER BY \"name\"",
            "\"spec\"",
            "\"state\"",
            d.read(ColumnType::Timestamp, "created_at"),
            d.read(ColumnType::Timestamp, "updated_at"),
        );
        let kinds = [Kind::Text, Kind::Json, Kind::Json, Kind::Text, Kind::Text];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, args, &kinds).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(SyncLinkRow {
                    name: self.need_str(&r[0], "a sync link's name")?,
                    spec: r[1].clone(),
                    state: r[2].clone(),
                    created_at: self.need_str(&r[3], "a sync link's created_at")?,
                    updated_at: self.need_str(&r[4], "a sync link's updated_at")?,
                })
            })
            .collect()
    }

    /// Saves only the change-detection state of link `name`.
    pub async fn put_sync_link_state(&self, name: &str, state: &Value) -> Result<()> {
        let d = self.dialect();
        let sql = format!(
            "UPDATE \"sync_links\" SET \"state\" = {}, \"updated_at\" = {} WHERE \"name\" = $3",
            "$1",
            d.param(ColumnType::Timestamp, 2),
        );
        let args = [json(state), text(&time::now()), text(name)];
        let n = with_conn!(self, c, db => c
            .execute(&sql, &args)
            .await
            .map_err(db_err(db, format!("saving the state of sync link {name}"))))?;
        if n == 0 {
            return Err(self.corrupt(format!("sync link {name} disappeared while it ran")));
        }
        Ok(())
    }

    /// Removes link `name` with its pairs and conflicts; whether it existed.
    pub async fn delete_sync_link(&self, name: &str) -> Result<bool> {
        let n = in_tx!(self, c, db => async {
            for t in ["sync_conflicts", "sync_pairs"] {
                c.execute(&format!("DELETE FROM \"{t}\" WHERE \"link\" = $1"), &[text(name)])
                    .await
                    .map_err(db_err(db, format!("removing sync link {name}")))?;
            }
            c.execute("DELETE FROM \"sync_links\" WHERE \"name\" = $1", &[text(name)])
                .await
                .map_err(db_err(db, format!("removing sync link {name}")))
        }.await)?;
        Ok(n > 0)
    }

    /// Creates or replaces the pair of `row.notion_id` in `row.link`.
    pub async fn put_sync_pair(&self, row: &SyncPairRow) -> Result<()> {
        let d = self.dialect();
        let sql = format!(
            "INSERT INTO \"sync_pairs\" (\"link\", \"notion_id\", \"confluence_id\", \"state\", \"base\", \
             \"notion_seen\", \"confluence_seen\", \"updated_at\") VALUES ($1, $2, $3, {}, {}, {}, {}, {}) \
             ON CONFLICT (\"link\", \"notion_id\") DO UPDATE SET \"confluence_id\" = excluded.\"confluence_id\", \
             \"state\" = excluded.\"state\", \"base\" = excluded.\"base\", \"notion_seen\" = excluded.\"notion_seen\", \
             \"confluence_seen\" = excluded.\"confluence_seen\", \"updated_at\" = excluded.\"updated_at\"",
            "$4",
            "$5",
            "$6",
            "$7",
            d.param(ColumnType::Timestamp, 8),
        );
        let args = [
            text(&row.link),
            text(&row.notion_id),
            text(&row.confluence_id),
            json(&row.state),
            opt_json(&row.base),
            opt_json(&row.notion_seen),
            opt_json(&row.confluence_seen),
            text(&time::now()),
        ];
        with_conn!(self, c, db => c
        .execute(&sql, &args)
        .await
        .map_err(db_err(db, format!(
            "saving the sync pair of Notion page {} and Confluence page {}",
            row.notion_id, row.confluence_id
        ))))?;
        Ok(())
    }

    /// Removes the pair of Notion page `notion_id` from `link`.
    pub async fn delete_sync_pair(&self, link: &str, notion_id: &str) -> Result<()> {
        with_conn!(self, c, db => c
            .execute(
                "DELETE FROM \"sync_pairs\" WHERE \"link\" = $1 AND \"notion_id\" = $2",
                &[text(link), text(notion_id)],
            )
            .await
            .map_err(db_err(db, format!("removing the sync pair of Notion page {notion_id}"))))?;
        Ok(())
    }

    /// Every pair of `link`, by Notion id.
    pub async fn sync_pairs(&self, link: &str) -> Result<Vec<SyncPairRow>> {
        let sql = format!(
            "SELECT \"link\", \"notion_id\", \"confluence_id\", {}, {}, {}, {} FROM \"sync_pairs\" \
             WHERE \"link\" = $1 ORDER BY \"notion_id\"",
            "\"state\"", "\"base\"", "\"notion_seen\"", "\"confluence_seen\"",
        );
        let kinds = [
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Json,
            Kind::Json,
            Kind::Json,
            Kind::Json,
        ];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &[text(link)], &kinds).await)?;
        let some = |v: &Value| (!v.is_null()).then(|| v.clone());
        rows.into_iter()
            .map(|r| {
                Ok(SyncPairRow {
                    link: self.need_str(&r[0], "a sync pair's link")?,
                    notion_id: self.need_str(&r[1], "a sync pair's Notion id")?,
                    confluence_id: self.need_str(&r[2], "a sync pair's Confluence id")?,
                    state: r[3].clone(),
                    base: some(&r[4]),
                    notion_seen: some(&r[5]),
                    confluence_seen: some(&r[6]),
                })
            })
            .collect()
    }

    /// Records a conflict; its id.
    pub async fn add_sync_conflict(
        &self,
        link: &str,
        notion_id: &str,
        confluence_id: &str,
        detail: &Value,
    ) -> Result<i64> {
        let d = self.dialect();
        let sql = format!(
            "INSERT INTO \"sync_conflicts\" (\"link\", \"notion_id\", \"confluence_id\", \"detail\", \"created_at\") \
             VALUES ($1, $2, $3, {}, {}) RETURNING \"id\"",
            "$4",
            d.param(ColumnType::Timestamp, 5),
        );
        let args = [
            text(link),
            text(notion_id),
            text(confluence_id),
            json(detail),
            text(&time::now()),
        ];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &[Kind::Int]).await)?;
        rows.first()
            .and_then(|r| r[0].as_i64())
            .ok_or_else(|| self.corrupt("recording a conflict returned no id"))
    }

    /// Conflicts of `link` (every link when `None`), the open ones only when `open_only`.
    pub async fn sync_conflicts(
        &self,
        link: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<SyncConflictRow>> {
        let d = self.dialect();
        let mut filter = Vec::new();
        let mut args = Vec::new();
        if let Some(l) = link {
            filter.push("\"link\" = $1");
            args.push(text(l));
        }
        if open_only {
            filter.push("\"resolved_at\" IS NULL");
        }
        let filter = if filter.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filter.join(" AND "))
        };
        let sql = format!(
            "SELECT \"id\", \"link\", \"notion_id\", \"confluence_id\", {}, {}, {}, \"resolution\" \
             FROM \"sync_conflicts\" {filter} ORDER BY \"id\"",
            "\"detail\"",
            d.read(ColumnType::Timestamp, "created_at"),
            d.read(ColumnType::Timestamp, "resolved_at"),
        );
        let kinds = [
            Kind::Int,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Json,
            Kind::Text,
            Kind::Text,
            Kind::Text,
        ];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &kinds).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(SyncConflictRow {
                    id: r[0]
                        .as_i64()
                        .ok_or_else(|| self.corrupt("a sync conflict has no id"))?,
                    link: self.need_str(&r[1], "a sync conflict's link")?,
                    notion_id: self.need_str(&r[2], "a sync conflict's Notion id")?,
                    confluence_id: self.need_str(&r[3], "a sync conflict's Confluence id")?,
                    detail: r[4].clone(),
                    created_at: self.need_str(&r[5], "a sync conflict's created_at")?,
                    resolved_at: r[6].as_str().map(str::to_string),
                    resolution: r[7].as_str().map(str::to_string),
                })
            })
            .collect()
    }

    /// Marks conflict `id` resolved with `resolution`; whether it was open.
    pub async fn resolve_sync_conflict(&self, id: i64, resolution: &str) -> Result<bool> {
        let d = self.dialect();
        let sql = format!(
            "UPDATE \"sync_conflicts\" SET \"resolved_at\" = {}, \"resolution\" = $2 \
             WHERE \"id\" = $3 AND \"resolved_at\" IS NULL",
            d.param(ColumnType::Timestamp, 1)
        );
        let args = [
            text(&time::now()),
            text(resolution),
            SqlValue::Int(Some(id)),
        ];
        let n = with_conn!(self, c, db => c
            .execute(&sql, &args)
            .await
            .map_err(db_err(db, format!("resolving sync conflict {id}"))))?;
        Ok(n > 0)
    }
}
