CREATE TABLE "serve_connections" ("name" TEXT PRIMARY KEY, "spec" TEXT NOT NULL, "origin" TEXT NOT NULL, "updated_at" BIGINT NOT NULL);
CREATE TABLE "serve_jobs" ("name" TEXT PRIMARY KEY, "spec" TEXT NOT NULL, "schedule" TEXT, "paused" BIGINT NOT NULL DEFAULT 0, "origin" TEXT NOT NULL, "next_due_at" BIGINT, "last_due_at" BIGINT, "updated_at" BIGINT NOT NULL);
CREATE TABLE "serve_runs" ("id" BIGSERIAL PRIMARY KEY, "job" TEXT NOT NULL, "kind" TEXT NOT NULL, "trigger" TEXT NOT NULL, "due_at" BIGINT, "queued_at" BIGINT NOT NULL, "status" TEXT NOT NULL, "started_at" BIGINT, "ended_at" BIGINT, "worker" TEXT, "lease_until" BIGINT, "fence" BIGINT NOT NULL DEFAULT 0, "counts" TEXT NOT NULL DEFAULT '{}', "requests" TEXT NOT NULL DEFAULT '{}', "errors" TEXT NOT NULL DEFAULT '[]', "store_run" BIGINT);
CREATE UNIQUE INDEX "serve_runs_one_open" ON "serve_runs" ("job") WHERE "status" IN ('queued', 'running');
CREATE INDEX "serve_runs_job" ON "serve_runs" ("job", "id");
CREATE INDEX "serve_runs_status" ON "serve_runs" ("status", "id");
CREATE TABLE "serve_logs" ("id" BIGSERIAL PRIMARY KEY, "run_id" BIGINT NOT NULL, "at" BIGINT NOT NULL, "level" TEXT NOT NULL, "object" TEXT, "message" TEXT NOT NULL);
CREATE INDEX "serve_logs_run" ON "serve_logs" ("run_id", "id");
