CREATE TABLE IF NOT EXISTS "km_articles" (
  "id" TEXT NOT NULL,
  "source" TEXT,
  "source_id" TEXT,
  "kind" TEXT,
  "space_key" TEXT,
  "url" TEXT,
  "title" TEXT,
  "author" TEXT,
  "created_at" TIMESTAMPTZ,
  "updated_at" TIMESTAMPTZ,
  "category" TEXT,
  "tags" JSONB,
  "custom_fields" JSONB,
  "source_version" BIGINT,
  "access" TEXT,
  "content_hash" TEXT,
  "source_hash" TEXT,
  "run_id" BIGINT,
  "body_markdown" TEXT,
  "body_html" TEXT,
  "body_text" TEXT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "km_articles_source_id_idx" ON "km_articles" ("source_id");
CREATE INDEX IF NOT EXISTS "km_articles_space_key_idx" ON "km_articles" ("space_key");
CREATE TABLE IF NOT EXISTS "km_access" (
  "article_id" TEXT NOT NULL,
  "level" BIGINT NOT NULL,
  "principal" TEXT NOT NULL,
  "source_id" TEXT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("article_id", "level", "principal")
);
CREATE INDEX IF NOT EXISTS "km_access_article_id_idx" ON "km_access" ("article_id");
CREATE TABLE IF NOT EXISTS "km_attachments" (
  "id" TEXT NOT NULL,
  "article_id" TEXT,
  "file_name" TEXT,
  "media_type" TEXT,
  "sha256" TEXT,
  "size" BIGINT,
  "path" TEXT,
  "extraction" TEXT,
  "text" TEXT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "km_attachments_article_id_idx" ON "km_attachments" ("article_id");
CREATE TABLE IF NOT EXISTS "km_principals" (
  "id" TEXT NOT NULL,
  "kind" TEXT,
  "name" TEXT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "km_members" (
  "principal" TEXT NOT NULL,
  "member" TEXT NOT NULL,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("principal", "member")
);
CREATE INDEX IF NOT EXISTS "km_members_principal_idx" ON "km_members" ("principal");
CREATE INDEX IF NOT EXISTS "km_members_member_idx" ON "km_members" ("member");
CREATE TABLE IF NOT EXISTS "km_log" (
  "id" TEXT NOT NULL,
  "run_id" BIGINT NOT NULL,
  "at" TIMESTAMPTZ,
  "level" TEXT,
  "object" TEXT,
  "message" TEXT,
  "hint" TEXT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "km_log_run_id_idx" ON "km_log" ("run_id");
CREATE TABLE IF NOT EXISTS "km_failures" (
  "object" TEXT NOT NULL,
  "run_id" BIGINT,
  "attempts" BIGINT,
  "message" TEXT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("object")
);
CREATE TABLE IF NOT EXISTS "restriction_reads" (
  "content_id" TEXT NOT NULL,
  "content_type" TEXT,
  "version_number" BIGINT,
  "raw" JSONB NOT NULL,
  "synced_at" TIMESTAMPTZ NOT NULL,
  PRIMARY KEY ("content_id")
);
