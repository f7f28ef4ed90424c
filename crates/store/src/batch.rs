//! What a writer hands the store: a [`Batch`] of operations committed in one transaction.

use serde_json::{Map, Value};

/// Values a caller supplies beside an object's JSON (e.g. `page_id` for a page's labels), by
/// column name.
pub type Context = Map<String, Value>;

/// One object to upsert: the table, the caller's context and the object's JSON exactly as the
/// API sent it. Typed columns are extracted from both by the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub table: String,
    pub context: Context,
    pub raw: Value,
}

impl Row {
    pub fn new(table: impl Into<String>, raw: Value) -> Row {
        Row {
            table: table.into(),
            context: Context::new(),
            raw,
        }
    }

    /// Adds a context value (`Row::new("page_labels", label).with("page_id", "42")`).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Row {
        self.context.insert(key.into(), value.into());
        self
    }
}

/// Rows whose columns equal all these values (an empty filter matches every row).
///
/// Reads ([`Store::select`](crate::Store::select), `ids`, `keys`, `rows_*_where`,
/// `select_page`) also take the other conditions: a column among values, a column among the
/// keys of another table's matching rows, and rows not written since an instant. A replace-set
/// takes equalities only (it names the set its rows belong to).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub eq: Vec<(String, Value)>,
    /// `column IN (values)` (an empty list matches nothing).
    pub any: Vec<(String, Vec<Value>)>,
    /// `column IN (SELECT key FROM table WHERE filter)`.
    pub within: Vec<Within>,
    /// Rows whose `synced_at` is before this instant (RFC 3339): not written since.
    pub synced_before: Option<String>,
}

/// `column IN (SELECT key FROM table WHERE filter)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Within {
    pub column: String,
    pub table: String,
    pub key: String,
    pub filter: Box<Filter>,
}

impl Filter {
    /// Every row.
    pub fn all() -> Filter {
        Filter::default()
    }

    /// Adds `column = value`.
    pub fn eq(mut self, column: impl Into<String>, value: impl Into<Value>) -> Filter {
        self.eq.push((column.into(), value.into()));
        self
    }

    /// Adds `column IN (values)`.
    pub fn any<V: Into<Value>>(
        mut self,
        column: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        self.any
            .push((column.into(), values.into_iter().map(Into::into).collect()));
        self
    }

    /// Adds `column IN (SELECT key FROM table WHERE filter)`: e.g. the comments of the pages
    /// of some spaces.
    pub fn within(
        mut self,
        column: impl Into<String>,
        table: impl Into<String>,
        key: impl Into<String>,
        filter: Filter,
    ) -> Filter {
        self.within.push(Within {
            column: column.into(),
            table: table.into(),
            key: key.into(),
            filter: Box::new(filter),
        });
        self
    }

    /// Keeps the rows not written since `instant` (RFC 3339): after a listing that rewrote
    /// every row it saw, those are the rows it no longer saw.
    pub fn synced_before(mut self, instant: impl Into<String>) -> Filter {
        self.synced_before = Some(instant.into());
        self
    }

    /// Whether the filter holds equalities only.
    pub fn is_equality(&self) -> bool {
        self.any.is_empty() && self.within.is_empty() && self.synced_before.is_none()
    }
}

/// What a checkpoint write expects to find (Quickwit's compare-and-set).
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Whatever is there (an unconditional write).
    Any,
    /// No checkpoint yet.
    Absent,
    /// Exactly this value (compared as JSON, not as text).
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointWrite {
    pub scope: String,
    pub endpoint: String,
    pub expect: Expect,
    /// The new value (ignored when `clear`).
    pub value: Value,
    /// Remove the checkpoint instead (a full refresh of this scope and endpoint).
    pub clear: bool,
}

/// A row of the id map: an object of one system and its counterpart in another.
#[derive(Debug, Clone, PartialEq)]
pub struct IdMapEntry {
    pub source_system: String,
    pub source_id: String,
    pub target_system: String,
    pub target_id: String,
    /// A hash of the content last written to the target (echo suppression, change detection).
    pub content_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Insert or update one object (an older version never replaces a newer one).
    Upsert(Row),
    /// Delete the row with this primary key (values in key order).
    Delete { table: String, key: Vec<Value> },
    /// The rows of `table` matching `filter` are now exactly `rows`: upsert them and delete the
    /// matching rows that are not among them. Every row must match the filter.
    ReplaceSet {
        table: String,
        filter: Filter,
        rows: Vec<Row>,
    },
    /// Write a checkpoint, compare-and-set.
    Checkpoint(CheckpointWrite),
    /// Record an id mapping.
    MapId(IdMapEntry),
}

/// Operations committed together, in order, in one transaction: all or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub ops: Vec<Op>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    pub fn upsert(&mut self, row: Row) -> &mut Batch {
        self.ops.push(Op::Upsert(row));
        self
    }
    pub fn upsert_all(&mut self, rows: impl IntoIterator<Item = Row>) -> &mut Batch {
        self.ops.extend(rows.into_iter().map(Op::Upsert));
        self
    }
    pub fn delete(&mut self, table: impl Into<String>, key: Vec<Value>) -> &mut Batch {
        self.ops.push(Op::Delete {
            table: table.into(),
            key,
        });
        self
    }
    pub fn replace_set(
        &mut self,
        table: impl Into<String>,
        filter: Filter,
        rows: Vec<Row>,
    ) -> &mut Batch {
        self.ops.push(Op::ReplaceSet {
            table: table.into(),
            filter,
            rows,
        });
        self
    }
    /// Writes a checkpoint whatever its current value.
    pub fn set_checkpoint(
        &mut self,
        scope: impl Into<String>,
        endpoint: impl Into<String>,
        value: Value,
    ) -> &mut Batch {
        self.checkpoint(scope, endpoint, Expect::Any, value)
    }
    /// Moves a checkpoint from `expected` (`None`: there is none yet) to `value`; if the stored
    /// value differs, the whole batch fails with `StoreError::CheckpointConflict`.
    pub fn advance_checkpoint(
        &mut self,
        scope: impl Into<String>,
        endpoint: impl Into<String>,
        expected: Option<Value>,
        value: Value,
    ) -> &mut Batch {
        let expect = match expected {
            None => Expect::Absent,
            Some(v) => Expect::Value(v),
        };
        self.checkpoint(scope, endpoint, expect, value)
    }
    pub fn checkpoint(
        &mut self,
        scope: impl Into<String>,
        endpoint: impl Into<String>,
        expect: Expect,
        value: Value,
    ) -> &mut Batch {
        self.ops.push(Op::Checkpoint(CheckpointWrite {
            scope: scope.into(),
            endpoint: endpoint.into(),
            expect,
            value,
            clear: false,
        }));
        self
    }
    /// Removes a checkpoint (the next run of this scope and endpoint starts from scratch), if
    /// it is what `expect` says.
    pub fn clear_checkpoint(
        &mut self,
        scope: impl Into<String>,
        endpoint: impl Into<String>,
        expect: Expect,
    ) -> &mut Batch {
        self.ops.push(Op::Checkpoint(CheckpointWrite {
            scope: scope.into(),
            endpoint: endpoint.into(),
            expect,
            value: Value::Null,
            clear: true,
        }));
        self
    }
    pub fn map_id(&mut self, entry: IdMapEntry) -> &mut Batch {
        self.ops.push(Op::MapId(entry));
        self
    }
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommitSummary {
    /// Rows inserted or updated.
    pub written: u64,
    /// Upserts ignored because the stored row has a newer version (or a duplicate in the batch
    /// did).
    pub stale: u64,
    /// Rows deleted (by key or by a replace-set).
    pub deleted: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Rows set aside in the quarantine instead of stored
    /// ([`Store::commit_quarantining`](crate::Store::commit_quarantining) only).
    pub quarantined: u64,
    /// Quarantined records that stored this time and left the quarantine.
    pub released: u64,
}
