CREATE TABLE IF NOT EXISTS "checkpoints" ("scope" TEXT NOT NULL, "endpoint" TEXT NOT NULL, "value" TEXT NOT NULL, "updated_at" TEXT NOT NULL, PRIMARY KEY ("scope", "endpoint"));
CREATE TABLE IF NOT EXISTS "runs" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "job" TEXT NOT NULL, "started_at" TEXT NOT NULL, "ended_at" TEXT, "status" TEXT NOT NULL, "counts" TEXT NOT NULL, "requests" TEXT NOT NULL, "errors" TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "id_map" ("source_system" TEXT NOT NULL, "source_id" TEXT NOT NULL, "target_system" TEXT NOT NULL, "target_id" TEXT NOT NULL, "content_hash" TEXT, "updated_at" TEXT NOT NULL, PRIMARY KEY ("source_system", "source_id", "target_system"));
CREATE INDEX IF NOT EXISTS "id_map_target_idx" ON "id_map" ("target_system", "target_id");
CREATE TABLE IF NOT EXISTS "spaces" (
  "id" TEXT NOT NULL,
  "key" TEXT,
  "name" TEXT,
  "type" TEXT,
  "status" TEXT,
  "author_id" TEXT,
  "homepage_id" TEXT,
  "current_active_alias" TEXT,
  "created_at" TEXT,
  "description" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "pages" (
  "id" TEXT NOT NULL,
  "status" TEXT,
  "title" TEXT,
  "space_id" TEXT NOT NULL,
  "parent_id" TEXT,
  "parent_type" TEXT,
  "position" INTEGER,
  "author_id" TEXT,
  "owner_id" TEXT,
  "last_owner_id" TEXT,
  "subtype" TEXT,
  "created_at" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "pages_space_id_idx" ON "pages" ("space_id");
CREATE INDEX IF NOT EXISTS "pages_parent_id_idx" ON "pages" ("parent_id");
CREATE TABLE IF NOT EXISTS "blog_posts" (
  "id" TEXT NOT NULL,
  "status" TEXT,
  "title" TEXT,
  "space_id" TEXT NOT NULL,
  "author_id" TEXT,
  "created_at" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "blog_posts_space_id_idx" ON "blog_posts" ("space_id");
CREATE TABLE IF NOT EXISTS "attachments" (
  "id" TEXT NOT NULL,
  "status" TEXT,
  "title" TEXT,
  "created_at" TEXT,
  "page_id" TEXT,
  "blog_post_id" TEXT,
  "custom_content_id" TEXT,
  "media_type" TEXT,
  "media_type_description" TEXT,
  "comment" TEXT,
  "file_id" TEXT,
  "file_size" INTEGER,
  "webui_link" TEXT,
  "download_link" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "attachments_page_id_idx" ON "attachments" ("page_id");
CREATE INDEX IF NOT EXISTS "attachments_blog_post_id_idx" ON "attachments" ("blog_post_id");
CREATE INDEX IF NOT EXISTS "attachments_custom_content_id_idx" ON "attachments" ("custom_content_id");
CREATE TABLE IF NOT EXISTS "tasks" (
  "id" TEXT NOT NULL,
  "local_id" TEXT,
  "space_id" TEXT,
  "page_id" TEXT,
  "blog_post_id" TEXT,
  "status" TEXT,
  "body_storage" TEXT,
  "created_by" TEXT,
  "assigned_to" TEXT,
  "completed_by" TEXT,
  "created_at" TEXT,
  "updated_at" TEXT,
  "due_at" TEXT,
  "completed_at" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "tasks_space_id_idx" ON "tasks" ("space_id");
CREATE INDEX IF NOT EXISTS "tasks_page_id_idx" ON "tasks" ("page_id");
CREATE INDEX IF NOT EXISTS "tasks_blog_post_id_idx" ON "tasks" ("blog_post_id");
CREATE TABLE IF NOT EXISTS "groups" (
  "id" TEXT NOT NULL,
  "name" TEXT,
  "type" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "custom_content" (
  "id" TEXT NOT NULL,
  "type" TEXT,
  "status" TEXT,
  "title" TEXT,
  "space_id" TEXT,
  "page_id" TEXT,
  "blog_post_id" TEXT,
  "custom_content_id" TEXT,
  "author_id" TEXT,
  "created_at" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "custom_content_space_id_idx" ON "custom_content" ("space_id");
CREATE INDEX IF NOT EXISTS "custom_content_page_id_idx" ON "custom_content" ("page_id");
CREATE INDEX IF NOT EXISTS "custom_content_blog_post_id_idx" ON "custom_content" ("blog_post_id");
CREATE INDEX IF NOT EXISTS "custom_content_custom_content_id_idx" ON "custom_content" ("custom_content_id");
CREATE TABLE IF NOT EXISTS "page_footer_comments" (
  "id" TEXT NOT NULL,
  "page_id" TEXT NOT NULL,
  "parent_comment_id" TEXT,
  "status" TEXT,
  "title" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "page_footer_comments_page_id_idx" ON "page_footer_comments" ("page_id");
CREATE INDEX IF NOT EXISTS "page_footer_comments_parent_comment_id_idx" ON "page_footer_comments" ("parent_comment_id");
CREATE TABLE IF NOT EXISTS "page_inline_comments" (
  "id" TEXT NOT NULL,
  "page_id" TEXT NOT NULL,
  "parent_comment_id" TEXT,
  "status" TEXT,
  "title" TEXT,
  "resolution_status" TEXT,
  "resolution_last_modifier_id" TEXT,
  "resolution_last_modified_at" TEXT,
  "inline_marker_ref" TEXT,
  "inline_original_selection" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "page_inline_comments_page_id_idx" ON "page_inline_comments" ("page_id");
CREATE INDEX IF NOT EXISTS "page_inline_comments_parent_comment_id_idx" ON "page_inline_comments" ("parent_comment_id");
CREATE TABLE IF NOT EXISTS "page_labels" (
  "page_id" TEXT NOT NULL,
  "label_id" TEXT NOT NULL,
  "name" TEXT,
  "prefix" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("page_id", "label_id")
);
CREATE INDEX IF NOT EXISTS "page_labels_page_id_idx" ON "page_labels" ("page_id");
CREATE TABLE IF NOT EXISTS "page_versions" (
  "page_id" TEXT NOT NULL,
  "number" INTEGER NOT NULL,
  "created_at" TEXT,
  "author_id" TEXT,
  "message" TEXT,
  "minor_edit" INTEGER,
  "title" TEXT,
  "body_storage" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("page_id", "number")
);
CREATE INDEX IF NOT EXISTS "page_versions_page_id_idx" ON "page_versions" ("page_id");
CREATE TABLE IF NOT EXISTS "page_content_properties" (
  "page_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "key" TEXT,
  "value" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("page_id", "id")
);
CREATE INDEX IF NOT EXISTS "page_content_properties_page_id_idx" ON "page_content_properties" ("page_id");
CREATE TABLE IF NOT EXISTS "child_pages" (
  "parent_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "status" TEXT,
  "title" TEXT,
  "space_id" TEXT,
  "child_position" INTEGER,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("parent_id", "id")
);
CREATE INDEX IF NOT EXISTS "child_pages_parent_id_idx" ON "child_pages" ("parent_id");
CREATE INDEX IF NOT EXISTS "child_pages_space_id_idx" ON "child_pages" ("space_id");
CREATE TABLE IF NOT EXISTS "blog_post_footer_comments" (
  "id" TEXT NOT NULL,
  "blog_post_id" TEXT NOT NULL,
  "parent_comment_id" TEXT,
  "status" TEXT,
  "title" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "blog_post_footer_comments_blog_post_id_idx" ON "blog_post_footer_comments" ("blog_post_id");
CREATE INDEX IF NOT EXISTS "blog_post_footer_comments_parent_comment_id_idx" ON "blog_post_footer_comments" ("parent_comment_id");
CREATE TABLE IF NOT EXISTS "blog_post_inline_comments" (
  "id" TEXT NOT NULL,
  "blog_post_id" TEXT NOT NULL,
  "parent_comment_id" TEXT,
  "status" TEXT,
  "title" TEXT,
  "resolution_status" TEXT,
  "resolution_last_modifier_id" TEXT,
  "resolution_last_modified_at" TEXT,
  "inline_marker_ref" TEXT,
  "inline_original_selection" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "body_storage" TEXT,
  "webui_link" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
CREATE INDEX IF NOT EXISTS "blog_post_inline_comments_blog_post_id_idx" ON "blog_post_inline_comments" ("blog_post_id");
CREATE INDEX IF NOT EXISTS "blog_post_inline_comments_parent_comment_id_idx" ON "blog_post_inline_comments" ("parent_comment_id");
CREATE TABLE IF NOT EXISTS "blog_post_labels" (
  "blog_post_id" TEXT NOT NULL,
  "label_id" TEXT NOT NULL,
  "name" TEXT,
  "prefix" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("blog_post_id", "label_id")
);
CREATE INDEX IF NOT EXISTS "blog_post_labels_blog_post_id_idx" ON "blog_post_labels" ("blog_post_id");
CREATE TABLE IF NOT EXISTS "blog_post_versions" (
  "blog_post_id" TEXT NOT NULL,
  "number" INTEGER NOT NULL,
  "created_at" TEXT,
  "author_id" TEXT,
  "message" TEXT,
  "minor_edit" INTEGER,
  "title" TEXT,
  "body_storage" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("blog_post_id", "number")
);
CREATE INDEX IF NOT EXISTS "blog_post_versions_blog_post_id_idx" ON "blog_post_versions" ("blog_post_id");
CREATE TABLE IF NOT EXISTS "blog_post_content_properties" (
  "blog_post_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "key" TEXT,
  "value" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("blog_post_id", "id")
);
CREATE INDEX IF NOT EXISTS "blog_post_content_properties_blog_post_id_idx" ON "blog_post_content_properties" ("blog_post_id");
CREATE TABLE IF NOT EXISTS "attachment_labels" (
  "attachment_id" TEXT NOT NULL,
  "label_id" TEXT NOT NULL,
  "name" TEXT,
  "prefix" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("attachment_id", "label_id")
);
CREATE INDEX IF NOT EXISTS "attachment_labels_attachment_id_idx" ON "attachment_labels" ("attachment_id");
CREATE TABLE IF NOT EXISTS "attachment_versions" (
  "attachment_id" TEXT NOT NULL,
  "number" INTEGER NOT NULL,
  "created_at" TEXT,
  "author_id" TEXT,
  "message" TEXT,
  "minor_edit" INTEGER,
  "title" TEXT,
  "media_type" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("attachment_id", "number")
);
CREATE INDEX IF NOT EXISTS "attachment_versions_attachment_id_idx" ON "attachment_versions" ("attachment_id");
CREATE TABLE IF NOT EXISTS "attachment_content_properties" (
  "attachment_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "key" TEXT,
  "value" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_author_id" TEXT,
  "version_message" TEXT,
  "version_minor_edit" INTEGER,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("attachment_id", "id")
);
CREATE INDEX IF NOT EXISTS "attachment_content_properties_attachment_id_idx" ON "attachment_content_properties" ("attachment_id");
CREATE TABLE IF NOT EXISTS "space_labels" (
  "space_id" TEXT NOT NULL,
  "label_id" TEXT NOT NULL,
  "name" TEXT,
  "prefix" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("space_id", "label_id")
);
CREATE INDEX IF NOT EXISTS "space_labels_space_id_idx" ON "space_labels" ("space_id");
CREATE TABLE IF NOT EXISTS "space_permissions" (
  "space_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "principal_type" TEXT,
  "principal_id" TEXT,
  "operation_key" TEXT,
  "operation_target_type" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("space_id", "id")
);
CREATE INDEX IF NOT EXISTS "space_permissions_space_id_idx" ON "space_permissions" ("space_id");
CREATE TABLE IF NOT EXISTS "space_properties" (
  "space_id" TEXT NOT NULL,
  "id" TEXT NOT NULL,
  "key" TEXT,
  "value" TEXT,
  "created_at" TEXT,
  "created_by" TEXT,
  "version_number" INTEGER,
  "version_created_at" TEXT,
  "version_created_by" TEXT,
  "version_message" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("space_id", "id")
);
CREATE INDEX IF NOT EXISTS "space_properties_space_id_idx" ON "space_properties" ("space_id");
CREATE TABLE IF NOT EXISTS "group_members" (
  "group_id" TEXT NOT NULL,
  "account_id" TEXT NOT NULL,
  "account_type" TEXT,
  "type" TEXT,
  "display_name" TEXT,
  "public_name" TEXT,
  "email" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("group_id", "account_id")
);
CREATE INDEX IF NOT EXISTS "group_members_group_id_idx" ON "group_members" ("group_id");
CREATE TABLE IF NOT EXISTS "page_ancestors" (
  "page_id" TEXT NOT NULL,
  "ancestor_id" TEXT NOT NULL,
  "ancestor_type" TEXT,
  "depth" INTEGER,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("page_id", "ancestor_id")
);
CREATE INDEX IF NOT EXISTS "page_ancestors_page_id_idx" ON "page_ancestors" ("page_id");
CREATE TABLE IF NOT EXISTS "content_restrictions" (
  "content_id" TEXT NOT NULL,
  "content_type" TEXT,
  "operation" TEXT NOT NULL,
  "subject_type" TEXT NOT NULL,
  "subject_id" TEXT NOT NULL,
  "subject_name" TEXT,
  "raw" TEXT NOT NULL,
  "synced_at" TEXT NOT NULL,
  PRIMARY KEY ("content_id", "operation", "subject_type", "subject_id")
);
CREATE INDEX IF NOT EXISTS "content_restrictions_content_id_idx" ON "content_restrictions" ("content_id");
