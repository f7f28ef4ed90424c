"""Runs langchain-community's ConfluenceLoader, unmodified, against the kbridge twin.

Usage: python loader.py EXPECTED.json

EXPECTED.json (written by crates/sim/tests/it/py_loaders.rs from the twin's ground truth):
  {"url", "username", "password", "space",
   "pages": {id: title} (the space's current pages without read restrictions),
   "checks": [{"id", "words": [...], "what"}]: words each of these pages' documents must hold
             (comment text, the text of its PDF attachments read back by OCR, DOCX text,
             attachment titles),
   "ocr": [{"id", "words": [...]}]: PDF words, of which OCR must find at least 80 %}

The loader is configured as for a real site except for its URL and credentials, with
include_comments=True and include_attachments=True (PDFs go through pdf2image and
tesseract, images through tesseract, DOCX through docx2txt). Every mismatch is printed; the
exit status is 1 if there was any.
"""

import json
import sys

from langchain_community.document_loaders import ConfluenceLoader


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        exp = json.load(f)
    problems = []

    def check(what, ok, detail=""):
        if ok:
            print(f"ok: {what}")
        else:
            problems.append(f"{what}: {detail}")

    loader = ConfluenceLoader(
        url=exp["url"],
        username=exp["username"],
        api_key=exp["password"],
        cloud=True,
        space_key=exp["space"],
        include_comments=True,
        include_attachments=True,
        limit=10,
    )
    docs = loader.load()
    got = {d.metadata["id"]: d for d in docs}
    check("one document per public page of the space (paged 10 at a time)",
          sorted(got) == sorted(exp["pages"]), f"{sorted(got)} != {sorted(exp['pages'])}")
    check("titles", all(got[i].metadata["title"] == t for i, t in exp["pages"].items() if i in got),
          str([(i, got[i].metadata["title"], t) for i, t in exp["pages"].items()
               if i in got and got[i].metadata["title"] != t]))
    check("source links to the page", all(
        d.metadata["source"].startswith(exp["url"].rstrip("/")) and d.metadata["id"] in d.metadata["source"]
        for d in docs), str([d.metadata["source"] for d in docs][:3]))
    for c in exp["checks"]:
        text = got[c["id"]].page_content if c["id"] in got else ""
        missing = [w for w in c["words"] if w not in text]
        check(f"{c['what']} in page {c['id']}", not missing, f"missing {missing} in {text[-600:]!r}")
    for c in exp["ocr"]:
        text = (got[c["id"]].page_content if c["id"] in got else "").lower()
        found = [w for w in c["words"] if w.lower() in text]
        check(f"PDF text read back by OCR in page {c['id']} ({len(found)}/{len(c['words'])})",
              len(found) >= 0.8 * len(c["words"]),
              f"found {found} of {c['words']} in {text[-800:]!r}")

    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
