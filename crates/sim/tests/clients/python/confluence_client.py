"""Runs the official atlassian-python-api Confluence client against the kbridge twin.

Usage: python confluence_client.py EXPECTED.json

EXPECTED.json (written by crates/sim/tests/it/python_client.rs from the twin's ground truth):
  {"url", "username", "password", "space_keys": [...], "space": KEY,
   "space_page_ids": [...], "cql": "...", "cql_ids": [...],
   "page": {"id", "title", "body"}, "children_of": ID, "children": [...],
   "comments": {"page", "ids", "first_body"}, "properties": {"page", "keys"},
   "dataset_url": the twin's ground truth (GET /__sim/confluence/dataset)}

The writes (create_page with a parent, update_page, add_comment, remove_page to the trash and
then purged) are checked against the twin's ground truth read after each step, never against
what the client itself answered alone.

The client is configured exactly as for a real site except for its URL and credentials.
Every mismatch is printed; the exit status is 1 if there was any, 0 otherwise.
"""

import json
import sys

import requests
from atlassian import Confluence


def ground_truth(url):
    r = requests.get(url, timeout=30)
    r.raise_for_status()
    return r.json()


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        exp = json.load(f)
    c = Confluence(url=exp["url"], username=exp["username"], password=exp["password"], cloud=True)
    problems = []

    def check(what, got, want):
        if got != want:
            problems.append(f"{what}: got {got!r}, expected {want!r}")
        else:
            print(f"ok: {what}")

    # 1. Every space, one per request (start/limit offsets, as the client pages).
    spaces, start = [], 0
    while True:
        page = c.get_all_spaces(start=start, limit=1)
        spaces += page["results"]
        if "next" not in page.get("_links", {}) or not page["results"]:
            break
        start += len(page["results"])
    check("space keys (get_all_spaces, limit=1)", sorted(s["key"] for s in spaces), sorted(exp["space_keys"]))

    # 2. Every page of one space, 7 at a time.
    pages, start = [], 0
    while True:
        batch = c.get_all_pages_from_space(exp["space"], start=start, limit=7)
        pages += batch
        if len(batch) < 7:
            break
        start += len(batch)
    check(f"pages of {exp['space']} (get_all_pages_from_space, limit=7)",
          sorted(p["id"] for p in pages), sorted(exp["space_page_ids"]))

    # 3. A CQL query (one page of results), and all of it.
    res = c.cql(exp["cql"], limit=1000)
    check("cql() totalSize", res.get("totalSize"), len(exp["cql_ids"]))
    check("cql() result ids", sorted(r["content"]["id"] if "content" in r else r["id"] for r in res["results"]),
          sorted(exp["cql_ids"]))

    # 4. One page with its storage body.
    page = c.get_page_by_id(exp["page"]["id"], expand="body.storage")
    check("get_page_by_id title", page.get("title"), exp["page"]["title"])
    check("get_page_by_id body.storage", page.get("body", {}).get("storage", {}).get("value"), exp["page"]["body"])

    # 5. The children of a page, comments with replies, properties (v1 calls the client makes).
    kids, start = [], 0
    while True:
        batch = c.get_page_child_by_type(exp["children_of"], type="page", start=start, limit=3)
        kids += batch
        if len(batch) < 3:
            break
        start += len(batch)
    check("get_page_child_by_type (position order)", [k["id"] for k in kids], exp["children"])
    comments = c.get_page_comments(exp["comments"]["page"], expand="body.storage", depth="all", limit=200)
    check("get_page_comments depth=all", sorted(x["id"] for x in comments["results"]),
          sorted(exp["comments"]["ids"]))
    bodies = {x["id"]: x["body"]["storage"]["value"] for x in comments["results"]}
    check("get_page_comments bodies", bodies.get(exp["comments"]["ids"][0]), exp["comments"]["first_body"])
    props = c.get_page_properties(exp["properties"]["page"])
    check("get_page_properties keys", sorted(p["key"] for p in props["results"]), sorted(exp["properties"]["keys"]))

    # 6. Writes through v1, checked against the ground truth after each step.
    def content(truth, cid):
        return next((x for x in truth["contents"] if str(x["id"]) == str(cid)), None)

    title = "Written by atlassian-python-api"
    body = "<p>from <strong>python</strong></p>"
    created = c.create_page(space=exp["space"], title=title, body=body,
                            parent_id=exp["children_of"], type="page", representation="storage")
    pid = str(created.get("id"))
    truth = ground_truth(exp["dataset_url"])
    page = content(truth, pid)
    space_id = next(s["id"] for s in truth["spaces"] if s["key"] == exp["space"])
    check("create_page: in the ground truth, under the parent, in the space",
          page and (page["title"], str(page["parentId"]), page["spaceId"], page["status"],
                    page["versions"][-1]["body"]),
          (title, exp["children_of"], space_id, "current", body))
    check("create_page answer: ancestors end with the parent",
          [str(a.get("id")) for a in created.get("ancestors", [])][-1:], [exp["children_of"]])

    edited = "<p>edited from python</p>"
    updated = c.update_page(pid, title, body=edited, representation="storage",
                            version_comment="by python")
    truth = ground_truth(exp["dataset_url"])
    page = content(truth, pid)
    check("update_page: version 2 in the ground truth with the new body and message",
          page and (len(page["versions"]), page["versions"][-1]["body"], page["versions"][-1]["message"]),
          (2, edited, "by python"))
    check("update_page answer version", (updated or {}).get("version", {}).get("number"), 2)

    com = c.add_comment(pid, "<p>a python comment</p>")
    truth = ground_truth(exp["dataset_url"])
    mine = [x for x in truth["comments"] if str(x["containerId"]) == pid]
    check("add_comment: one footer comment on the page in the ground truth",
          [(str(x["id"]), x["versions"][-1]["body"]) for x in mine],
          [(str((com or {}).get("id")), "<p>a python comment</p>")])

    c.remove_page(pid)
    truth = ground_truth(exp["dataset_url"])
    check("remove_page: trashed in the ground truth", (content(truth, pid) or {}).get("status"), "trashed")
    c.remove_page(pid, status="trashed")
    truth = ground_truth(exp["dataset_url"])
    check("remove_page(status=trashed): purged from the ground truth", content(truth, pid), None)

    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
