"""Runs atlassian-python-api in its Server / Data Center mode against the kbridge DC twin.

Usage: python confluence_dc_client.py EXPECTED.json

EXPECTED.json (written by crates/sim/tests/it/dc_python.rs from the twin's ground truth):
  {"url": the DC base URL with its context path, "token": a personal access token,
   "space_keys": [...], "space": KEY, "space_page_ids": [...],
   "page": {"id", "title", "body", "labels": [...], "property_keys": [...]},
   "attachments": {"page", "titles"}, "group": {"name", "usernames"},
   "parent": ID, "dataset_url": the twin's ground truth (GET /__sim/confluence/dataset)}

The client is configured as for a real Data Center site (`Confluence(url, token=PAT,
cloud=False)`) and makes the reads and writes kbridge makes: spaces, the pages of a space,
a page with its storage body, labels, properties, attachments, groups and members; writes:
create_page, update_page, set_page_label, attach_content (new file, then a new version of it),
each checked against the twin's ground truth read after the step. Every mismatch is printed;
the exit status is 1 if there was any, 0 otherwise.
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
    c = Confluence(url=exp["url"], token=exp["token"], cloud=False)
    problems = []

    def check(what, got, want):
        if got != want:
            problems.append(f"{what}: got {got!r}, expected {want!r}")
        else:
            print(f"ok: {what}")

    # 1. Every space, two per request.
    spaces, start = [], 0
    while True:
        page = c.get_all_spaces(start=start, limit=2)
        spaces += page["results"]
        if "next" not in page.get("_links", {}) or not page["results"]:
            break
        start += len(page["results"])
    check("space keys (get_all_spaces, limit=2)", sorted(s["key"] for s in spaces), sorted(exp["space_keys"]))
    one = c.get_space(exp["space"])
    check("get_space key", one.get("key"), exp["space"])

    # 2. Every page of one space, 7 at a time (offsets).
    pages, start = [], 0
    while True:
        batch = c.get_all_pages_from_space(exp["space"], start=start, limit=7)
        pages += batch
        if len(batch) < 7:
            break
        start += len(batch)
    check(f"pages of {exp['space']} (get_all_pages_from_space, limit=7)",
          sorted(p["id"] for p in pages), sorted(exp["space_page_ids"]))

    # 3. One page with its body, labels and properties.
    p = exp["page"]
    page = c.get_page_by_id(p["id"], expand="body.storage,version,ancestors,space,history")
    check("get_page_by_id title", page.get("title"), p["title"])
    check("get_page_by_id body.storage", page.get("body", {}).get("storage", {}).get("value"), p["body"])
    check("get_page_by_id history.createdBy has a username and a user key",
          sorted(k for k in page["history"]["createdBy"] if k in ("username", "userKey", "accountId")),
          ["userKey", "username"])
    labels = c.get_page_labels(p["id"])
    check("get_page_labels", sorted(l["name"] for l in labels["results"]), sorted(p["labels"]))
    props = c.get_page_properties(p["id"])
    check("get_page_properties keys", sorted(x["key"] for x in props["results"]), sorted(p["property_keys"]))

    # 4. Attachments of a page (numeric ids on Data Center), groups and members by name.
    a = exp["attachments"]
    atts = c.get_attachments_from_content(a["page"], limit=200)
    check("get_attachments_from_content titles", sorted(x["title"] for x in atts["results"]), sorted(a["titles"]))
    check("attachment ids are numeric", all(str(x["id"]).isdigit() for x in atts["results"]), True)
    groups = c.get_all_groups(limit=200)
    names = [g["name"] for g in (groups if isinstance(groups, list) else groups["results"])]
    check("get_all_groups has the group", exp["group"]["name"] in names, True)
    members = c.get_group_members(exp["group"]["name"], limit=200)
    members = members if isinstance(members, list) else members["results"]
    check("get_group_members usernames", sorted(m["username"] for m in members), sorted(exp["group"]["usernames"]))

    # 5. Writes, checked against the ground truth after each step.
    def content(truth, cid):
        return next((x for x in truth["contents"] if str(x["id"]) == str(cid)), None)

    title = "Written on Data Center by atlassian-python-api"
    body = "<p>from <strong>python</strong> on DC</p>"
    created = c.create_page(space=exp["space"], title=title, body=body,
                            parent_id=exp["parent"], type="page", representation="storage")
    pid = str(created.get("id"))
    truth = ground_truth(exp["dataset_url"])
    got = content(truth, pid)
    space_id = next(s["id"] for s in truth["spaces"] if s["key"] == exp["space"])
    check("create_page: in the ground truth, under the parent, in the space",
          got and (got["title"], str(got["parentId"]), got["spaceId"], got["status"], got["versions"][-1]["body"]),
          (title, exp["parent"], space_id, "current", body))

    edited = "<p>edited from python on DC</p>"
    updated = c.update_page(pid, title, body=edited, representation="storage", version_comment="by python")
    truth = ground_truth(exp["dataset_url"])
    got = content(truth, pid)
    check("update_page: version 2 with the new body and message",
          got and (len(got["versions"]), got["versions"][-1]["body"], got["versions"][-1]["message"]),
          (2, edited, "by python"))
    check("update_page answer version", (updated or {}).get("version", {}).get("number"), 2)

    c.set_page_label(pid, "from-python")
    truth = ground_truth(exp["dataset_url"])
    all_labels = truth["labels"].values() if isinstance(truth["labels"], dict) else truth["labels"]
    label_names = {str(l["id"]): l["name"] for l in all_labels}
    got = content(truth, pid)
    check("set_page_label: in the ground truth",
          sorted(label_names.get(str(l)) for l in got["labels"]), ["from-python"])

    c.attach_content(b"first bytes", "notes.txt", content_type="text/plain", page_id=pid)
    c.attach_content(b"second bytes", "notes.txt", content_type="text/plain", page_id=pid)
    truth = ground_truth(exp["dataset_url"])
    mine = [x for x in truth["attachments"] if str(x["containerId"]) == pid]
    check("attach_content twice: one attachment with two versions",
          [(x["title"], len(x["versions"])) for x in mine], [("notes.txt", 2)])
    listed = c.get_attachments_from_content(pid, filename="notes.txt")
    check("the attachment is listed by file name", [x["title"] for x in listed["results"]], ["notes.txt"])

    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
