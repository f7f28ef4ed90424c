"""Runs llama-index-readers-confluence's ConfluenceReader, unmodified, against the kbridge twin.

Usage: python reader.py EXPECTED.json

EXPECTED.json (written by crates/sim/tests/it/py_loaders.rs from the twin's ground truth):
  {"url", "username", "password", "space",
   "pages": {id: {"title", "words": [...]}} (the space's current pages; words of their bodies),
   "root": ID, "subtree": [...] (the pages below ROOT, through folders too)}

The reader is configured as for a real site except for its URL and credentials and used in its
default mode: load_data(space_key=…) (v1 content listing with body.export_view), then
load_data(page_ids=[root], include_children=True) (child/page and child/folder walks). Every
mismatch is printed; the exit status is 1 if there was any.
"""

import json
import sys

from llama_index.readers.confluence import ConfluenceReader


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        exp = json.load(f)
    problems = []

    def check(what, ok, detail=""):
        if ok:
            print(f"ok: {what}")
        else:
            problems.append(f"{what}: {detail}")

    reader = ConfluenceReader(base_url=exp["url"], user_name=exp["username"],
                              password=exp["password"], cloud=True)
    docs = reader.load_data(space_key=exp["space"])
    got = {d.doc_id: d for d in docs}
    check("load_data(space_key): one document per current page",
          sorted(got) == sorted(exp["pages"]), f"{sorted(got)} != {sorted(exp['pages'])}")
    check("titles", all(got[i].metadata["title"] == p["title"] for i, p in exp["pages"].items() if i in got))
    bad = []
    for i, p in exp["pages"].items():
        text = got[i].text if i in got else ""
        missing = [w for w in p["words"] if w not in text]
        if missing:
            bad.append((i, missing[:5], text[:300]))
    check("export_view text holds every page's words", not bad, str(bad[:3]))
    tree = reader.load_data(page_ids=[exp["root"]], include_children=True)
    ids = [d.doc_id for d in tree]
    check("include_children walks pages and folders", sorted(ids) == sorted([exp["root"]] + exp["subtree"]),
          f"{sorted(ids)} != {sorted([exp['root']] + exp['subtree'])}")
    check("no page twice", len(ids) == len(set(ids)), str(ids))

    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
