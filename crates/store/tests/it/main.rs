//! kb-store's integration tests: one conformance suite (`suite`, `twin`, `killed`) generated for
//! each backend by `store_conformance_tests!` — SQLite on a temporary file and a real PostgreSQL
//! started by `kb_testkit::postgres` — plus the docs check.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod docs;
mod errors;
mod inspect;
mod killed;
mod suite;
mod support;
mod twin;
mod upgrade;

/// One `#[tokio::test]` per suite function, for one backend (Quickwit's metastore_test_suite).
macro_rules! store_conformance_tests {
    ($module:ident, $backend:expr, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(ctx) = crate::support::Ctx::new($backend, stringify!($test)).await else {
                        return;
                    };
                    crate::suite::$test(ctx).await;
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($module:ident => $backend:expr),*) => {
        $(
            store_conformance_tests!($module, $backend, [
                migrations_apply_and_reapply,
                newer_schema_is_refused,
                upserts_are_idempotent,
                older_versions_never_overwrite_newer,
                replace_set_deletes_what_vanished,
                deletes_by_key,
                checkpoint_compare_and_set,
                failing_batch_leaves_nothing,
                bad_rows_are_named,
                raw_json_round_trips,
                large_batches_commit_in_chunks,
                concurrent_writers_across_tasks,
                runs_are_recorded,
                abandoned_runs_are_marked_interrupted,
                long_runs_keep_their_heartbeat,
                id_map_round_trips,
                ids_and_keys_filter,
                select_and_max_by,
                read_filters_and_pages,
                attachment_files_are_recorded,
                sync_state_round_trips,
                bad_rows_are_quarantined_and_released,
                typed_columns_match_the_twin,
                killed_writer_leaves_the_last_checkpoint,
            ]);
        )*
    };
}

all_backends!(
    sqlite => crate::support::Backend::Sqlite,
    postgres => crate::support::Backend::Postgres
);
