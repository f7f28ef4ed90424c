// Runs the official Notion JS SDK against kb-sim's Notion twin, changed only in its baseUrl.
// Usage: node script.mjs <origin> <token> <expectations.json>
// The Rust test (crates/sim/tests/it/notion_sdk.rs) writes the expectations from the twin's
// ground truth. Exits 1 on the first mismatch; prints one JSON summary line on success.
import { readFileSync } from "node:fs";
import {
  Client,
  APIErrorCode,
  isNotionClientError,
  collectPaginatedAPI,
  iteratePaginatedAPI,
} from "@notionhq/client";

const [origin, token, expectPath] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectPath, "utf8"));
const notion = new Client({ auth: token, baseUrl: origin, logLevel: "error" });

function check(cond, what, got) {
  if (!cond) {
    console.error(`MISMATCH: ${what}: got ${JSON.stringify(got)}`);
    process.exit(1);
  }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const summary = {};

// users, paginated by the SDK helper
const users = await collectPaginatedAPI(notion.users.list, { page_size: 3 });
check(same(users.map((u) => u.id), expected.user_ids), "users.list ids", users.map((u) => u.id));
const me = await notion.users.me({});
check(me.type === "bot" && me.id === expected.bot_id, "users.me", me);
summary.users = users.length;

// search pages by title
const found = await notion.search({
  query: expected.search_query,
  filter: { property: "object", value: "page" },
  sort: { timestamp: "last_edited_time", direction: "descending" },
});
check(found.results.some((r) => r.id === expected.search_hit), "search hit", found.results.map((r) => r.id));
check(found.results.every((r) => r.object === "page"), "search filter", found.results.map((r) => r.object));
const sources = await notion.search({ filter: { property: "object", value: "data_source" } });
check(same(sources.results.map((r) => r.id).sort(), [...expected.data_source_ids].sort()), "search data sources", sources.results.map((r) => r.id));
summary.search = found.results.length;

// block children, page by page through the iterator
const kids = [];
for await (const b of iteratePaginatedAPI(notion.blocks.children.list, { block_id: expected.page_id, page_size: 4 })) {
  kids.push(b.id);
}
check(same(kids, expected.children_ids), "blocks.children.list ids", kids);
summary.children = kids.length;

// append children, then read them back
const appended = await notion.blocks.children.append({
  block_id: expected.page_id,
  children: expected.append_texts.map((t) => ({
    object: "block",
    type: "paragraph",
    paragraph: { rich_text: [{ type: "text", text: { content: t } }] },
  })),
});
check(appended.results.length === expected.append_texts.length, "append results", appended.results.length);
const after = await collectPaginatedAPI(notion.blocks.children.list, { block_id: expected.page_id });
const tail = after.slice(-expected.append_texts.length).map((b) => b.paragraph?.rich_text?.[0]?.plain_text);
check(same(tail, expected.append_texts), "appended texts", tail);
summary.appended = appended.results.length;

// query a data source with a filter and a sort
const rows = await collectPaginatedAPI(notion.dataSources.query, {
  data_source_id: expected.tasks_data_source,
  filter: { and: [{ property: "Done", checkbox: { equals: true } }] },
  sorts: [{ property: "Hours", direction: "descending" }],
  page_size: 5,
});
check(same(rows.map((r) => r.id), expected.done_tasks_by_hours), "dataSources.query ids", rows.map((r) => r.id));
summary.query = rows.length;

// a page as enhanced markdown (pages.retrieveMarkdown)
const md = await notion.pages.retrieveMarkdown({ page_id: expected.page_id });
check(md.object === "page_markdown" && md.id === expected.page_id && md.truncated === false, "retrieveMarkdown object", md);
const mdLines = md.markdown.split("\n");
check(mdLines[0] === expected.markdown_first_line, "markdown first line", mdLines[0]);
for (const title of expected.markdown_subpages) {
  check(mdLines.some((l) => l.startsWith("<page url=") && l.endsWith(`>${title}</page>`)), `markdown subpage ${title}`, md.markdown);
}
summary.markdown_lines = mdLines.length;

// views of every database (views.list, then views.retrieve)
const viewTypes = {};
for (const [dbId, want] of Object.entries(expected.views)) {
  const refs = await collectPaginatedAPI(notion.views.list, { database_id: dbId, page_size: 1 });
  const types = [];
  for (const r of refs) {
    const v = await notion.views.retrieve({ view_id: r.id });
    check(v.object === "view" && v.parent.database_id === dbId && v.configuration?.type === v.type, "views.retrieve", v);
    types.push(v.type);
  }
  check(same(types, want), `views of ${dbId}`, types);
  viewTypes[dbId] = types.length;
}
summary.views = Object.values(viewTypes).reduce((a, b) => a + b, 0);

// a rollup filter
const rolled = await collectPaginatedAPI(notion.dataSources.query, {
  data_source_id: expected.tasks_data_source,
  filter: { property: "Project status", rollup: { any: { status: { equals: expected.rollup_status } } } },
});
check(same(rolled.map((r) => r.id).sort(), [...expected.rollup_rows].sort()), "rollup filter ids", rolled.map((r) => r.id));
summary.rollup = rolled.length;

// pages.move: a subpage moves under another (the Rust test checks the twin's dataset after)
const moved = await notion.pages.move({
  page_id: expected.move_page,
  parent: { type: "page_id", page_id: expected.move_to },
});
check(moved.object === "page" && moved.parent?.page_id === expected.move_to, "pages.move", moved);

// comments: create on a page, then retrieve it by id
const made = await notion.comments.create({
  parent: { page_id: expected.page_id },
  rich_text: [{ type: "text", text: { content: expected.comment_text } }],
});
const again = await notion.comments.retrieve({ comment_id: made.id });
check(
  again.id === made.id && again.rich_text.map((r) => r.plain_text).join("") === expected.comment_text,
  "comments.retrieve",
  again,
);
summary.comment = made.id;

// file uploads: create one, then find it, pending, in the listing
const upload = await notion.fileUploads.create({ mode: "single_part", filename: "from-the-sdk.txt", content_type: "text/plain" });
const uploads = await collectPaginatedAPI(notion.fileUploads.list, { page_size: 2 });
check(uploads.some((u) => u.id === upload.id && u.status === "pending"), "fileUploads.list", uploads.map((u) => [u.id, u.status]));
summary.uploads = uploads.length;

// custom emojis and a data source's templates: a generated workspace has none
const emojis = await notion.customEmojis.list({});
check(Array.isArray(emojis.results) && emojis.results.length === 0 && emojis.has_more === false, "customEmojis.list", emojis);
const templates = await notion.dataSources.listTemplates({ data_source_id: expected.tasks_data_source });
check(Array.isArray(templates.templates) && templates.templates.length === 0, "dataSources.listTemplates", templates);

// a missing page is an APIResponseError with the real code
try {
  await notion.pages.retrieve({ page_id: expected.missing_page });
  check(false, "missing page", "no error");
} catch (e) {
  check(isNotionClientError(e) && e.code === APIErrorCode.ObjectNotFound, "missing page error", String(e));
}
console.log(JSON.stringify({ ok: true, ...summary }));
