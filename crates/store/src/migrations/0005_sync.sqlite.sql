CREATE TABLE IF NOT EXISTS "sync_links" ("name" TEXT PRIMARY KEY, "spec" TEXT NOT NULL, "state" TEXT NOT NULL, "created_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "sync_pairs" ("link" TEXT NOT NULL, "notion_id" TEXT NOT NULL, "confluence_id" TEXT NOT NULL, "state" TEXT NOT NULL, "base" TEXT, "notion_seen" TEXT, "confluence_seen" TEXT, "updated_at" TEXT NOT NULL, PRIMARY KEY ("link", "notion_id"));
CREATE UNIQUE INDEX IF NOT EXISTS "sync_pairs_confluence_idx" ON "sync_pairs" ("link", "confluence_id");
CREATE TABLE IF NOT EXISTS "sync_conflicts" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "link" TEXT NOT NULL, "notion_id" TEXT NOT NULL, "confluence_id" TEXT NOT NULL, "detail" TEXT NOT NULL, "created_at" TEXT NOT NULL, "resolved_at" TEXT, "resolution" TEXT);
CREATE INDEX IF NOT EXISTS "sync_conflicts_link_idx" ON "sync_conflicts" ("link", "notion_id");
