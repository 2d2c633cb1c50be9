"""What Python's feedparser reads in each file of a corpus: the reference the
conformance suite holds hejnal to.

Reads one JSON request per line on stdin and answers one JSON line per request:
  {"path": P, "content_type": CT}
      -> {"bozo": bool, "entries": [{"title", "link", "text"}], "title": str}
  {"path": P, "content_type": CT, "rewrite_to": Q}
      -> the same for a copy of P written to Q, whose first <title> holds real
         non-ASCII text in the encoding feedparser detects in P ("title_set"
         says which; absent when the encoding cannot carry any of it).
"""

import codecs
import json
import re
import sys

import feedparser

# Text a municipal feed could carry; each encoding keeps what it can represent.
SAMPLE = "Zażółć gęślą jaźń – Kraków “Rynek” 50€ Nürnberg Straße café Київ 中文"

BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]


def read(raw, content_type):
    headers = {"content-type": content_type} if content_type else {}
    return feedparser.parse(raw, response_headers=headers)


def has_text(entry):
    if entry.get("summary"):
        return True
    return any(c.get("value") for c in entry.get("content", []))


def describe(parsed):
    return {
        "bozo": bool(parsed.bozo),
        "encoding": parsed.get("encoding", ""),
        "title": parsed.feed.get("title", ""),
        "entries": [
            {
                "title": e.get("title", ""),
                "link": e.get("link", ""),
                "text": has_text(e),
            }
            for e in parsed.entries
        ],
    }


def representable(encoding):
    kept = []
    for ch in SAMPLE:
        try:
            ch.encode(encoding)
        except (UnicodeError, LookupError):
            continue
        kept.append(ch)
    text = re.sub(r"\s+", " ", "".join(kept)).strip()
    return text if any(ord(c) > 127 for c in text) else None


def rewrite(raw, content_type, target):
    """Puts a real non-ASCII title into the first <title>, in the encoding
    feedparser detects, so that a reader that decodes wrongly shows it wrong."""
    encoding = read(raw, content_type).get("encoding") or "utf-8"
    bom, body = b"", raw
    for mark, name in BOMS:
        if raw.startswith(mark):
            bom, body, encoding = mark, raw[len(mark):], name
            break
    if encoding.lower().replace("_", "-") in ("utf-16", "utf-32"):
        encoding += "-le" if body[:1] == b"<" else "-be"
    try:
        text = body.decode(encoding)
    except (UnicodeError, LookupError):
        return None
    sample = representable(encoding)
    match = re.search(r"<title(\s[^>]*)?>([^<]*)</title>", text)
    if sample is None or match is None:
        return None
    text = text[: match.start(2)] + sample + text[match.end(2):]
    try:
        data = bom + text.encode(encoding)
    except (UnicodeError, LookupError):
        return None
    with open(target, "wb") as out:
        out.write(data)
    return sample


def main():
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["path"], "rb") as f:
            raw = f.read()
        content_type = request.get("content_type")
        answer = {"path": request["path"]}
        if "rewrite_to" in request:
            sample = rewrite(raw, content_type, request["rewrite_to"])
            if sample is None:
                print(json.dumps(answer), flush=True)
                continue
            answer["title_set"] = sample
            with open(request["rewrite_to"], "rb") as f:
                raw = f.read()
        try:
            answer.update(describe(read(raw, content_type)))
        except Exception as error:  # a crash of the reference counts as "not read"
            answer.update({"bozo": True, "error": str(error), "entries": [], "title": ""})
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
