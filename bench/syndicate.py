"""Generate a syndicated-copy corpus from real article pages, in the format of shared/corpus/dev.

    .venv/bin/python bench/syndicate.py --seed 1 --out /tmp/gen-s1 [--stories 90]
        [--raw ../shared/corpus/raw/zyte] [--extra-raw DIR ...] [--trafilatura-tests DIR]

writes DIR/pages/<12 hex>.html.gz and DIR/truth.json (scored by shared/corpus/score.py; per-class
recall by bench/classes.py). Every story text is a real article body and every page's chrome is a
real page: a "raw" directory holds `ground-truth.json` ({id: {articleBody, url}}) and
`html/<id>.html[.gz]` (the Zyte benchmark's layout; any directory of your own pages in that layout
works, `--raw` or `--extra-raw`). `--trafilatura-tests` adds pages from a checkout of
adbar/trafilatura's tests/ (cache/*.html + evaldata.json; their text is taken from
trafilatura.extract).

A story is put into a host page by finding the element that holds the host page's own article body
(the element containing most of its ground-truth text) and replacing its content with the story's
<p> paragraphs; title, og:/twitter: titles, date meta, JSON-LD dates and rel=canonical are set to
match. Page-level `tags` name the hard classes a page belongs to (see README "Your own syndication
corpus"). The same seed gives byte-identical output; all randomness comes from random.Random(seed).
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phrases as ph

ROOT = Path(__file__).resolve().parent.parent
ZYTE = ROOT.parent / "shared" / "corpus" / "raw" / "zyte"

_WS = re.compile(r"\s+")
_SENT = re.compile(r"(?<=[.!?…»”\"])\s+(?=[A-Z0-9“\"‘'¿¡«ÀÁÉÍÓÚÄÖÜА-ЯЁ])")
_CAP = re.compile(r"\b[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*")
_DATE_KEYS = {
    "article:published_time", "article:modified_time", "og:updated_time", "og:published_time",
    "datepublished", "datemodified", "datecreated", "date", "pubdate", "publishdate", "publish-date",
    "publish_date", "dc.date", "dc.date.issued", "dcterms.date", "dcterms.created", "sailthru.date",
    "parsely-pub-date", "article.published", "article_date_original", "original-publish-date",
    "cxenseparse:recs:publishtime", "last-modified", "published_time", "release_date",
}
_LD_DATE = re.compile(r"^date(Published|Modified|Created)$|^uploadDate$")
_DATE_IN_PATH = re.compile(r"/(19|20)\d\d(/|-)\d\d?((/|-)\d\d?)?(?=/)")
_BLOCK_TAGS = {"div", "article", "section", "main", "td", "span", "font", "blockquote", "center", "p", "li", "form"}


def norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


# ---------------------------------------------------------------- sources


@dataclass
class Source:
    """One real page: its article text and, when its body element was found, a usable template."""

    sid: str  # "zyte:<id>" etc.
    url: str
    host: str
    paras: list[str]
    html: str  # cleaned page
    title: str
    site: str
    lang: str
    date: datetime | None
    body_path: str | None = None  # xpath of the element holding the article body
    chrome_links: list[str] = field(default_factory=list)
    chrome_text: list[str] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paras)


def read_html(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    m = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", data[:4000], re.I)
    enc = m.group(1).decode("ascii", "replace") if m else "utf-8"
    try:
        return data.decode(enc)
    except (LookupError, UnicodeDecodeError):
        return data.decode("utf-8", "replace")


def clean_tree(doc: Any) -> None:
    """Drop invisible bulk: comments, large scripts/styles/svg, srcset, big data-* attributes, hints."""
    for c in doc.xpath("//comment()"):
        parent = c.getparent()
        if parent is not None:
            c.drop_tree() if hasattr(c, "drop_tree") else parent.remove(c)
    for el in doc.xpath("//script|//style|//svg|//noscript|//iframe"):
        kind = (el.get("type") or "").lower()
        if el.tag == "script" and "ld+json" in kind:
            continue
        if el.tag in ("noscript", "iframe") or len(etree.tostring(el)) > 1500:
            el.drop_tree()
    for el in doc.xpath("//link[@rel]"):
        if el.get("rel", "").lower() in ("preload", "prefetch", "dns-prefetch", "preconnect", "modulepreload"):
            el.drop_tree()
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for k in list(el.attrib):
            if k in ("srcset", "data-srcset", "sizes") or (k.startswith("data-") and len(el.attrib[k]) > 120):
                del el.attrib[k]


def page_date(doc: Any, url: str) -> datetime | None:
    cands: list[str] = []
    for el in doc.xpath("//meta[@content]"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        if key in ("article:published_time", "datepublished", "date", "pubdate", "publishdate", "dc.date.issued"):
            cands.append(el.get("content"))
    for el in doc.xpath("//script[contains(@type,'ld+json')]"):
        m = re.search(r'"datePublished"\s*:\s*"([^"]+)"', el.text or "")
        if m:
            cands.append(m.group(1))
    for el in doc.xpath("//time[@datetime]"):
        cands.append(el.get("datetime"))
    for c in cands:
        d = parse_date(c)
        if d:
            return d
    m = re.search(r"/((?:19|20)\d\d)[/-](\d\d?)(?:[/-](\d\d?))?(?:/|$)", url)
    if m:
        try:
            return datetime(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1), 9, 0, tzinfo=UTC)
        except ValueError:
            return None
    return None


def parse_date(s: str) -> datetime | None:
    s = s.strip().replace("Z", "+00:00")
    for cand in (s, s[:25], s[:19], s[:10]):
        try:
            d = datetime.fromisoformat(cand)
        except ValueError:
            continue
        if d.tzinfo is None:
            d = d.replace(tzinfo=UTC)
        if 1995 <= d.year <= 2030:
            return d.astimezone(UTC).replace(microsecond=0)
    return None


def find_body(doc: Any, paras: list[str]) -> Any | None:
    """The smallest element whose text holds (almost) as much of `paras` as the whole page does."""
    keys = [(norm(p)[:45], len(p)) for p in paras if len(norm(p)) >= 20]
    if not keys:
        return None

    def score(el: Any) -> int:
        text = norm(el.text_content())
        return sum(n for k, n in keys if k in text)

    body = doc.find(".//body")
    if body is None:
        return None
    best = score(body)
    total = sum(n for _, n in keys)
    if best < 0.6 * total:
        return None
    el = body
    while True:
        kids = [(score(k), k) for k in el if isinstance(k.tag, str) and k.tag not in ("script", "style")]
        good = [(s, k) for s, k in kids if s >= 0.9 * best]
        if not good:
            break
        el = good[0][1]
    if el.tag == "p" or el.tag in ("h1", "h2", "a", "b", "strong", "em", "i"):
        el = el.getparent()
    if el.tag in ("body", "html"):
        return None
    own = len(norm(el.text_content()))
    if own > 3 * total + 3000:
        return None
    return el


def site_name(doc: Any, host: str) -> str:
    for el in doc.xpath("//meta[@property='og:site_name']"):
        name = norm(el.get("content") or "")
        if 2 < len(name) < 40:
            return name
    return host


def page_title(doc: Any, host: str, site: str) -> str:
    """og:title or <title>, without a " | Site Name" part."""
    t = ""
    for el in doc.xpath("//meta[@property='og:title']"):
        t = norm(el.get("content") or "")
        if t:
            break
    t = t or norm(doc.findtext(".//title") or "")
    parts = re.split(r"\s+[|–—-]\s+", t)

    def squash(x: str) -> str:
        return re.sub(r"[^a-z0-9]", "", x.lower())

    names = {squash(host.split(".")[0]), squash(site)}
    kept = [x for x in parts if squash(x) not in names and not any(n and n in squash(x) and len(x) < 30 for n in names)]
    return " - ".join(kept or parts)


def make_source(sid: str, url: str, body: str, raw_html: str) -> Source | None:
    paras = [norm(p) for p in re.split(r"\n\s*\n|\n", body) if norm(p)]
    if not paras or sum(len(p.split()) for p in paras) < 25:
        return None
    try:
        doc = lxml.html.document_fromstring(raw_html)
    except (etree.ParserError, ValueError):
        return None
    clean_tree(doc)
    host = (urlsplit(url).hostname or "unknown").removeprefix("www.")
    lang = (doc.get("lang") or "en")[:2].lower()
    site = site_name(doc, host)
    src = Source(sid, url, host, paras, "", page_title(doc, host, site), site, lang, page_date(doc, url))
    el = find_body(doc, paras)
    if el is not None:
        scrub_copies(doc, el, paras)
        src.body_path = doc.getroottree().getpath(el)
        for a in doc.iter("a"):
            t = norm(a.text_content())
            if 25 <= len(t) <= 110 and not is_inside(a, el):
                src.chrome_links.append(t)
        for f in doc.xpath("//footer|//*[contains(@class,'footer')]"):
            t = norm(f.text_content())
            if 40 <= len(t) <= 1500 and not is_inside(f, el):
                src.chrome_text.append(t)
                break
        src.chrome_links = list(dict.fromkeys(src.chrome_links))[:40]
    src.html = lxml.html.tostring(doc, encoding="unicode", method="html")
    return src


def scrub_copies(doc: Any, body: Any, paras: list[str]) -> None:
    """Remove the template's own article text where the page holds it a second time, outside `body`."""
    keys = [norm(p)[:45] for p in paras if len(norm(p)) >= 45]
    if not keys:
        return

    def holds(e: Any) -> bool:
        t = norm(e.text_content())
        return any(k in t for k in keys)

    ancestors = list(body.iterancestors())
    marked = []
    for e in doc.iter():
        if not isinstance(e.tag, str) or e.tag in ("html", "head", "body") or is_inside(e, body):
            continue
        if any(e is a for a in ancestors):
            continue
        if e.tag == "script" and "ld+json" in (e.get("type") or ""):
            continue  # rewritten by render()
        if holds(e) and not any(holds(c) for c in e if isinstance(c.tag, str)):
            marked.append(e)
    for e in marked:
        e.drop_tree()


def is_inside(el: Any, anc: Any) -> bool:
    while el is not None:
        if el is anc:
            return True
        el = el.getparent()
    return False


def load_raw(raw: Path, prefix: str) -> list[Source]:
    if not (raw / "ground-truth.json").exists():
        return load_saved(raw, prefix)
    truth = json.loads((raw / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for pid in sorted(truth):
        rec = truth[pid]
        path = raw / "html" / f"{pid}.html.gz"
        if not path.exists():
            path = raw / "html" / f"{pid}.html"
        if not path.exists():
            continue
        src = make_source(f"{prefix}:{pid}", rec["url"], rec.get("articleBody") or "", read_html(path))
        if src:
            out.append(src)
    return out


def load_saved(folder: Path, prefix: str) -> list[Source]:
    """Saved pages without a ground truth (*.html, *.html.gz under `folder`): text from trafilatura.extract,
    URL from the page's rel=canonical or og:url (else https://<file name>.example/article/)."""
    import trafilatura

    out = []
    paths = sorted(p for p in folder.rglob("*") if p.name.endswith((".html", ".htm", ".html.gz")))
    for path in paths:
        raw = read_html(path)
        text = trafilatura.extract(raw, favor_precision=True, include_comments=False) or ""
        m = re.search(r'<link[^>]+rel=["\']?canonical["\']?[^>]+href=["\']([^"\']+)', raw, re.I) or \
            re.search(r'<meta[^>]+property=["\']og:url["\'][^>]+content=["\']([^"\']+)', raw, re.I)
        stem = re.sub(r"[^a-z0-9]+", "-", re.sub(r"\.html?(\.gz)?$", "", path.name.lower())).strip("-")
        url = m.group(1) if m and m.group(1).startswith("http") else f"https://{stem}.example/article/"
        src = make_source(f"{prefix}:{path.relative_to(folder).as_posix()}", url, text, raw)
        if src:
            out.append(src)
    return out


def load_trafilatura(tests: Path, limit: int, rng: random.Random) -> list[Source]:
    """Pages of adbar/trafilatura's tests/cache, their text from trafilatura.extract (optional). Comments off:
    with them, the body found for a blog's page may be its comment list, which extraction with comments off (as
    copydesk's) drops, and every story put there would vanish."""
    import trafilatura

    evaldata = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    items = sorted((url, rec["file"]) for url, rec in evaldata.items() if rec.get("file") and url.startswith("http"))
    rng.shuffle(items)
    out: list[Source] = []
    for url, name in items:
        if len(out) >= limit:
            break
        path = tests / "cache" / name
        if not path.exists():
            continue
        raw = read_html(path)
        text = trafilatura.extract(raw, favor_precision=True, include_comments=False) or ""
        if len(text.split()) < 120:
            continue
        src = make_source(f"trafilatura:{name}", url, text, raw)
        if src and src.body_path:
            out.append(src)
    return out


# ---------------------------------------------------------------- text edits


def sentences(p: str) -> list[str]:
    return [s for s in _SENT.split(p) if s]


def swap_quotes(p: str, rng: random.Random) -> str:
    if "“" in p or "’" in p:
        return p.replace("“", '"').replace("”", '"').replace("’", "'").replace("‘", "'")
    out = re.sub(r'"(\S[^"]*?)"', r"“\1”", p)
    return re.sub(r"(\w)'(\w)", r"\1’\2", out)


def reword(s: str, rng: random.Random, table: list[tuple[str, str]]) -> str:
    for a, b in table:
        if rng.random() < 0.7:
            s = re.sub(rf"\b{re.escape(a)}\b", b, s, count=1)
    return s


def shorten(s: str) -> str:
    if "," in s:
        head = s[: s.rfind(",")]
        if len(head.split()) >= 6:
            return head.rstrip() + "."
    return s


def edit_paras(paras: list[str], rng: random.Random, table: list[tuple[str, str]]) -> list[str]:
    """Reword/shorten a few sentences, drop a paragraph, split one, swap quotes (README's `edited`)."""
    out = list(paras)
    for i, p in enumerate(out):
        sents = sentences(p)
        for j, s in enumerate(sents):
            r = rng.random()
            if r < 0.25:
                sents[j] = reword(s, rng, table)
            elif r < 0.33:
                sents[j] = shorten(s)
        out[i] = " ".join(sents)
    if len(out) >= 4:
        del out[rng.randrange(1, len(out))]
    multi = [i for i, p in enumerate(out) if len(sentences(p)) >= 2]
    if multi:
        i = rng.choice(multi)
        sents = sentences(out[i])
        cut = rng.randrange(1, len(sents))
        out[i : i + 1] = [" ".join(sents[:cut]), " ".join(sents[cut:])]
    if rng.random() < 0.8:
        out = [swap_quotes(p, rng) for p in out]
    return out


def edit_headline(h: str, rng: random.Random, patterns: list[str]) -> str:
    r = rng.random()
    if r < 0.3:
        cut = re.split(r"[:,;?]\s+|\s+[–—-]\s+", h, maxsplit=1)
        if len(cut) == 2 and len(cut[0].split()) >= 3:
            return cut[rng.randint(0, 1)] if len(cut[1].split()) >= 3 else cut[0]
        return reword(h, rng, ph.REWORD) if rng.random() < 0.5 else rng.choice(patterns).format(h=h)
    if r < 0.5:
        return h[:1] + h[1:].lower() if h.isupper() is False else h.capitalize()
    return rng.choice(patterns).format(h=h)


def truncate_words(paras: list[str], lo: int, hi: int, rng: random.Random) -> list[str]:
    """The opening of a text, about lo..hi words: whole paragraphs, the last one cut at a sentence if needed."""
    target = rng.randint(lo, hi)
    out: list[str] = []
    n = 0
    for p in paras:
        w = len(p.split())
        if n + w <= target:
            out.append(p)
            n += w
            continue
        if n >= lo:
            break
        kept: list[str] = []
        for sent in sentences(p):
            if kept and n + len(sent.split()) > target:
                break
            kept.append(sent)
            n += len(sent.split())
        out.append(" ".join(kept))
        break
    return out


# ---------------------------------------------------------------- pages


@dataclass
class Page:
    name: str
    story: str
    role: str
    transform: str | None
    template: Source
    url: str
    published: datetime | None
    headline: str
    blocks: list[str]  # HTML fragments making up the article body
    paras: list[str]  # the story's text as this page carries it (before wrapping)
    encoding: str = "utf-8"
    canonical: str = "self"  # "self" | "original"
    canonical_url: str = ""
    layout: str = "article"  # "article" | "newsletter"
    tags: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    def truth(self) -> dict[str, Any]:
        t: dict[str, Any] = {
            "story": self.story,
            "role": self.role,
            "transform": self.transform,
            "host": self.template.host,
            "url": self.url,
            "published": self.published.isoformat() if self.published else None,
            "encoding": self.encoding,
            "source": self.template.sid,
        }
        if self.role != "original":
            t["canonical_link"] = self.canonical
        t.update(self.extra)
        if self.tags:
            t["tags"] = sorted(set(self.tags))
        return t


def p_html(text: str) -> str:
    return f"<p>{html.escape(text, quote=False)}</p>"


def set_meta(head: Any, attr: str, key: str, value: str) -> None:
    found = False
    for el in head.xpath(f"meta[@{attr}]"):
        if el.get(attr, "").lower() == key.lower():
            el.set("content", value)
            found = True
    if not found:
        el = etree.SubElement(head, "meta")
        el.set(attr, key)
        el.set("content", value)


def fix_ld_dates(obj: Any, value: str | None) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if _LD_DATE.match(str(k)):
                if value is not None:
                    out[k] = value
            else:
                out[k] = fix_ld_dates(v, value)
        return out
    if isinstance(obj, list):
        return [fix_ld_dates(v, value) for v in obj]
    return obj


def fix_ld_headline(obj: Any, headline: str, url: str, text: str) -> Any:
    if isinstance(obj, dict):
        return {
            k: (text if k == "articleBody" and isinstance(v, str)
                else " ".join(text.split()[:30]) if k == "description" and isinstance(v, str)
                else headline if k in ("headline", "name") and isinstance(v, str) and obj.get("@type") in
                ("NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle", "WebPage")
                else url if k == "url" and isinstance(v, str) and obj.get("@type") in
                ("NewsArticle", "Article", "BlogPosting", "WebPage")
                else fix_ld_headline(v, headline, url, text))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [fix_ld_headline(v, headline, url, text) for v in obj]
    return obj


def render(page: Page, rng: random.Random) -> bytes:
    src = page.template
    doc = lxml.html.document_fromstring(src.html)
    head = doc.find("head")
    if head is None:
        head = etree.Element("head")
        doc.insert(0, head)
    if page.layout == "newsletter":
        body = doc.find("body")
        if body is not None:
            doc.remove(body)
        doc.append(lxml.html.fragment_fromstring("".join(page.blocks), create_parent="body"))
    else:
        el = doc.getroottree().xpath(src.body_path)[0]
        for child in list(el):
            el.remove(child)
        el.text = None
        holder = lxml.html.fragment_fromstring("".join(page.blocks), create_parent="div")
        el.text = holder.text
        for child in list(holder):
            el.append(child)
        # the template's own headline (outside the body element) now names this story
        for h1 in doc.iter("h1"):
            if not is_inside(h1, el):
                for c in list(h1):
                    h1.remove(c)
                h1.text = page.headline
                break
    # title / social titles / description / url
    title = head.find("title")
    if title is None:
        title = etree.SubElement(head, "title")
    title.text = f"{page.headline} | {src.site}"
    for attr, key in (("property", "og:title"), ("name", "twitter:title")):
        set_meta(head, attr, key, page.headline)
    summary = " ".join(page.paras[0].split()[:30]) if page.paras else page.headline
    for attr, key in (("name", "description"), ("property", "og:description"), ("name", "twitter:description")):
        if head.xpath(f"meta[@{attr}='{key}']"):
            set_meta(head, attr, key, summary)
    set_meta(head, "property", "og:url", page.url)
    # dates
    stamp = page.published.isoformat() if page.published else None
    for el in doc.xpath("//meta[@content]"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or "").lower()
        if key in _DATE_KEYS:
            if stamp is None:
                el.drop_tree()
            else:
                el.set("content", stamp)
    if stamp is not None:
        set_meta(head, "property", "article:published_time", stamp)
    for el in doc.xpath("//script[contains(@type,'ld+json')]"):
        try:
            data = json.loads(el.text or "")
        except json.JSONDecodeError:
            el.drop_tree()
            continue
        data = fix_ld_headline(fix_ld_dates(data, stamp), page.headline, page.url, "\n\n".join(page.paras))
        el.text = json.dumps(data, ensure_ascii=False)
    # canonical
    for el in doc.xpath("//link[@rel]"):
        if el.get("rel", "").lower() in ("canonical", "amphtml", "shortlink", "alternate"):
            el.drop_tree()
    link = etree.SubElement(head, "link")
    link.set("rel", "canonical")
    link.set("href", page.canonical_url if page.canonical == "original" else page.url)
    # charset
    for el in head.xpath("meta[@charset]|meta[@http-equiv]"):
        if el.get("charset") is not None or (el.get("http-equiv") or "").lower() == "content-type":
            el.drop_tree()
    cs = etree.Element("meta")
    cs.set("charset", page.encoding)
    head.insert(0, cs)
    out = "<!DOCTYPE html>\n" + lxml.html.tostring(doc, encoding="unicode", method="html")
    data = out.encode(page.encoding, errors="xmlcharrefreplace")
    return gzip.compress(data, mtime=0)


# ---------------------------------------------------------------- the plan


def slug(text: str, rng: random.Random) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower().encode("ascii", "ignore").decode())
    if not words:
        words = [f"{rng.getrandbits(24):x}"]
    return "-".join(words[: rng.randint(5, 10)])


def url_on(host_src: Source, headline: str, when: datetime | None, rng: random.Random, suffix: str = "") -> str:
    """A URL on host_src's site shaped like host_src's own article URL."""
    parts = urlsplit(host_src.url)
    segs = [s for s in parts.path.split("/") if s]
    new: list[str] = []
    slugged = False
    for i, s in enumerate(segs):
        if re.fullmatch(r"(19|20)\d\d", s) and when:
            new.append(f"{when.year}")
        elif re.fullmatch(r"\d\d?", s) and when and i > 0 and re.fullmatch(r"(19|20)\d\d|\d\d?", segs[i - 1]):
            new.append(f"{when.month:02d}" if re.fullmatch(r"(19|20)\d\d", segs[i - 1]) else f"{when.day:02d}")
        elif re.fullmatch(r"\d{4,}", s):
            new.append(str(rng.randrange(10 ** (len(s) - 1), 10 ** len(s))))
        elif i == len(segs) - 1 or (len(s) > 25 and "-" in s):
            ext = re.search(r"\.(html?|php|aspx?|shtml)$", s)
            tail = re.search(r"-(\d{5,})(?=\.|$)", s)
            name = slug(headline, rng)
            if tail:
                name += f"-{rng.randrange(10**6, 10**8)}"
            new.append(name + (ext.group(0) if ext else ""))
            slugged = True
        elif re.fullmatch(r"(19|20)\d\d[-/]?\d\d[-/]?\d\d", s):
            new.append(when.strftime("%Y-%m-%d") if when else "archive")
        else:
            new.append(s)
    if not slugged:
        new.append(slug(headline, rng))
    path = "/" + "/".join(new)
    if when is None:
        path = _DATE_IN_PATH.sub("", path)
    if parts.path.endswith("/") and "." not in new[-1]:
        path += "/"
    return f"{parts.scheme or 'https'}://{parts.netloc}{path}{suffix}"


@dataclass
class Profile:
    """How one republishing site wraps what it copies; fixed for the site within a seed."""

    lang: str
    intro: str
    credit: str
    block: list[str]  # disclaimer paragraphs (+ appeal); the same on every page of the site
    variant: list[str] = field(default_factory=list)  # lines that change per page
    network: str | None = None


class Generator:
    def __init__(self, sources: list[Source], seed: int, n_stories: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_stories = n_stories
        self.sources = sources
        self.pages: list[Page] = []
        self.stories: dict[str, str] = {}  # story id -> original page name
        self.used_names: set[str] = set()
        self.used_urls: set[str] = set()
        self.profiles: dict[str, Profile] = {}
        self.text_used: set[str] = set()
        rng = self.rng
        # per-seed phrase pools: each seed uses its own subset of every pool
        self.pools: dict[str, dict[str, list[str]]] = {}
        for key, pool in (("intro", ph.INTROS), ("credit", ph.CREDITS), ("disc", ph.DISCLAIMER),
                          ("appeal", ph.APPEALS), ("more", ph.READ_MORE), ("teaser", ph.TEASER_HEADS),
                          ("lead", ph.FOLLOW_LEADS)):
            self.pools[key] = {
                lang: rng.sample(items, max(2, round(len(items) * 0.7))) if len(items) > 2 else list(items)
                for lang, items in sorted(pool.items())
            }
        self.headline_patterns = rng.sample(ph.HEADLINE_PATTERNS, 7)
        self.reword_table = rng.sample(ph.REWORD, 20)
        self.variant_lines = rng.sample(ph.VARIANT_LINES, 3)

    # ---- helpers
    def pick(self, key: str, lang: str) -> str:
        pool = self.pools[key]
        return self.rng.choice(pool.get(lang) or pool["en"])

    def new_name(self) -> str:
        while True:
            name = f"{self.rng.getrandbits(48):012x}.html.gz"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def new_story(self) -> str:
        return f"s{self.rng.getrandbits(32):08x}"

    def unique_url(self, host: Source, headline: str, when: datetime | None, suffix: str = "") -> str:
        for _ in range(20):
            u = url_on(host, headline, when, self.rng, suffix)
            if u not in self.used_urls:
                self.used_urls.add(u)
                return u
        u = url_on(host, headline, when, self.rng, suffix) + f"?p={self.rng.randrange(10**6)}"
        self.used_urls.add(u)
        return u

    def profile(self, host: Source) -> Profile:
        if host.host not in self.profiles:
            rng = self.rng
            lang = host.lang if host.lang in ph.INTROS else "en"
            disc = self.pools["disc"].get(lang) or self.pools["disc"]["en"]
            sents = rng.sample(disc, min(len(disc), rng.randint(5, 12)))
            block = []
            while sents:
                k = rng.randint(2, 4)
                block.append(" ".join(sents[:k]).format(site=host.site))
                sents = sents[k:]
            if rng.random() < 0.6:
                appeals = self.pools["appeal"].get(lang) or self.pools["appeal"]["en"]
                block += [a.format(site=host.site) for a in rng.sample(appeals, min(len(appeals), rng.randint(1, 3)))]
            self.profiles[host.host] = Profile(lang, self.pick("intro", lang), self.pick("credit", lang), block)
        return self.profiles[host.host]

    def wrap(
        self, paras: list[str], host: Source, credited: Page, when: datetime | None, page_tags: list[str]
    ) -> list[str]:
        prof = self.profile(host)
        fmt = {"src": credited.template.site, "site": host.site, "url": credited.url,
               "year": str((when or credited.published or datetime(2019, 1, 1)).year)}
        blocks = [f"<p><em>{html.escape(prof.intro.format(**fmt), quote=False)}</em></p>"]
        blocks += [p_html(p) for p in paras]
        blocks.append(f"<p><strong>{html.escape(prof.credit.format(**fmt), quote=False)}</strong></p>")
        lines = list(prof.block)
        if prof.variant:
            d = when or datetime(2019, 11, 20, tzinfo=UTC)
            vals = {"date": (d + timedelta(days=self.rng.randint(0, 40))).strftime("%B %d, %Y"),
                    "counter": str(self.rng.randrange(1000, 99999)), "name": self.rng.choice(ph.NAMES)}
            lines = [v.format(**vals) for v in prof.variant] + lines
            page_tags += ["network", "block-variant"]
        if prof.network:
            page_tags.append("network")
        cls = self.rng.choice(["disclaimer", "notice", "legal-note", "repost-policy", "site-note"])
        blocks.append(f'<div class="{cls}">' + "".join(p_html(x) for x in lines) + "</div>")
        return blocks

    def teasers(self, host: Source, exclude: Iterable[str]) -> str:
        rng = self.rng
        pool = [s.title for s in self.sources if s.title and s.title not in set(exclude)] + host.chrome_links
        items = rng.sample(pool, min(len(pool), rng.randint(3, 7)))
        head = self.pick("teaser", host.lang if host.lang in ph.TEASER_HEADS else "en").format(site=host.site)
        base = f"{urlsplit(host.url).scheme}://{urlsplit(host.url).netloc}"
        lis = "".join(f'<li><a href="{base}/{slug(t, rng)}">{html.escape(t)}</a></li>' for t in items)
        return f'<div class="related"><h3>{html.escape(head)}</h3><ul>{lis}</ul></div>'

    def add(self, page: Page) -> Page:
        if self.rng.random() < 0.1:
            page.encoding = "windows-1252"
        self.pages.append(page)
        return page

    # ---- page makers
    def original(self, story: str, src: Source, paras: list[str], when: datetime, tags: list[str],
                 teasers: bool = False) -> Page:
        blocks = [p_html(p) for p in paras]
        if teasers:
            at = self.rng.randint(1, max(1, len(blocks) - 1))
            blocks.insert(at, self.teasers(src, [src.title]))
            if self.rng.random() < 0.5:
                blocks.append(self.teasers(src, [src.title]))
        page = Page(self.new_name(), story, "original", None, src, src.url, when, src.title, blocks, paras,
                    tags=list(tags))
        self.used_urls.add(src.url)
        self.stories[story] = page.name
        return self.add(page)

    def copy(self, orig: Page, of: Page, host: Source, transform: str, tags: list[str],
             extra: dict[str, str] | None = None, same_host: bool = False) -> Page:
        """A copy of `of` (the original, or a copy when this is a copy of a copy) on `host`."""
        rng = self.rng
        base = of.paras
        headline = of.headline
        page_tags = list(tags)
        when: datetime | None = (of.published or orig.published or datetime(2019, 11, 1, tzinfo=UTC)) + \
            timedelta(hours=rng.randint(1, 24 * 6))
        if not same_host and rng.random() < 0.15:
            when = None
        paras = list(base)
        if "edited" in transform:
            paras = edit_paras(paras, rng, self.reword_table)
            headline = edit_headline(headline, rng, self.headline_patterns)
        if transform == "excerpt":
            k = rng.randint(1, min(3, max(1, len(paras) - 1)))
            while k < len(paras) - 1 and sum(len(p.split()) for p in paras[:k]) < 40:
                k += 1  # an excerpt of a few words is not an article any more
            paras = paras[:k]
            lang = host.lang if host.lang in ph.READ_MORE else "en"
            more = self.pick("more", lang).format(src=html.escape(of.template.site))
            blocks = [p_html(p) for p in paras] + [f'<p><a href="{html.escape(of.url)}">{more}</a></p>']
            if rng.random() < 0.5:
                blocks.insert(rng.randint(1, len(blocks)), self.teasers(host, [headline]))
                page_tags.append("excerpt-teasers")
        elif transform.startswith("wrapped"):
            blocks = self.wrap(paras, host, of, when, page_tags)
        else:
            blocks = [p_html(p) for p in paras]
        name = self.new_name()
        url = self.unique_url(host, headline, when)
        page = Page(name, orig.story, "copy", transform, host, url, when, headline, blocks, paras, tags=page_tags,
                    extra=dict(extra or {}))
        page.canonical_url = orig.url
        if rng.random() < 0.15:
            page.canonical = "original"
        if of is not orig:
            page.extra["via"] = of.name
            page.tags.append("via")
        if orig.role == "negative":
            page.tags.append("follow-up")
        return self.add(page)

    # ---- build
    def build(self) -> None:
        rng = self.rng
        pagesrc = [s for s in self.sources if s.body_path]
        rng.shuffle(pagesrc)
        textonly = [s for s in self.sources if not s.body_path]
        n = self.n_stories
        n_brief = max(1, round(n * 0.09))
        n_follow = max(1, round(n * 0.13))
        n_regular = max(1, n - n_brief - n_follow)

        # templates: every usable page can host copies; story sources are drawn from the same pool
        hosts_by_name: dict[str, Source] = {}
        for s in pagesrc:
            hosts_by_name.setdefault(s.host, s)
        hosts = [hosts_by_name[h] for h in sorted(hosts_by_name)]
        rng.shuffle(hosts)
        # site roles: brief sites, a network sharing one block, sites with per-page variant blocks
        brief_sites = hosts[:3]
        network = hosts[3:7]
        variant_sites = hosts[7:9]
        for h in brief_sites:
            prof = self.profile(h)
            extra = self.pools["disc"].get(prof.lang) or self.pools["disc"]["en"]
            prof.block += [" ".join(rng.sample(extra, min(len(extra), 4))).format(site=h.site) for _ in range(2)]
        net_prof = self.profile(network[0]) if network else None
        for h in network:
            prof = self.profile(h)
            if net_prof is not None:
                prof.block = [b.replace(network[0].site, "our partner network") for b in net_prof.block]
                prof.network = network[0].host
        for h in variant_sites:
            self.profile(h).variant = list(self.variant_lines)
        wrappers = brief_sites + network + variant_sites

        # story texts: same-event pairs first, then the rest
        used: set[str] = set()
        story_srcs: list[Source] = []
        pairs = self.same_event_pairs(pagesrc)
        same_event: set[str] = set()
        for a, b in pairs[: max(1, n // 25)]:
            story_srcs += [a, b]
            used |= {a.sid, b.sid}
            same_event |= {a.sid, b.sid}
        for s in pagesrc:
            if len(story_srcs) >= n_regular:
                break
            if s.sid not in used:
                story_srcs.append(s)
                used.add(s.sid)
        self.text_used = used  # texts of stories (grows with briefs and follow-up bodies below)
        rest = [s for s in pagesrc if s.sid not in used] + textonly
        rng.shuffle(rest)
        brief_srcs = [s for s in rest if s.body_path][:n_brief]
        used |= {s.sid for s in brief_srcs}
        body_srcs = [s for s in rest if s.sid not in used][:n_follow]
        used |= {s.sid for s in body_srcs}

        # regular stories
        kinds = ["short"] * max(1, n_regular // 6) + ["same-host"] * max(1, n_regular // 10) + \
            ["newsletter"] * max(1, n_regular // 14) + ["bridge"] * max(1, n_regular // 16)
        kinds += ["plain"] * max(0, len(story_srcs) - len(kinds))
        rng.shuffle(kinds)
        originals: list[Page] = []
        bridges: list[tuple[Page, Page]] = []
        for src, kind in zip(story_srcs, kinds, strict=False):
            story = self.new_story()
            when = src.date or datetime(2019, 11, rng.randint(1, 28), rng.randint(6, 20), tzinfo=UTC)
            tags = ["same-event"] if src.sid in same_event else []
            paras = src.paras
            if kind == "short" or (src.words > 2500 and rng.random() < 0.7):
                paras = truncate_words(src.paras, 100, 300, rng) if kind == "short" else \
                    truncate_words(src.paras, 700, 1500, rng)
            if kind == "short":
                tags.append("short")
            orig = self.original(story, src, paras, when, tags, teasers=(kind == "short"))
            originals.append(orig)
            others = [h for h in hosts if h.host != src.host]
            n_copies = rng.choice([0, 1, 2, 2, 3, 3, 4]) if kind == "plain" else rng.randint(1, 3)
            copies: list[Page] = []
            for _ in range(n_copies):
                tr = rng.choice(["verbatim", "wrapped", "excerpt", "edited", "wrapped+edited"])
                if kind == "short":
                    tr = rng.choice(["edited", "wrapped+edited", "edited"])
                host = rng.choice(wrappers if tr.startswith("wrapped") and rng.random() < 0.6 else others)
                if host.host == src.host:
                    host = rng.choice(others)
                copies.append(self.copy(orig, orig, host, tr, tags))
            if kind == "same-host":
                self.same_host(orig, tags)
            if kind == "newsletter":
                self.newsletter(orig, tags)
            if kind == "bridge":
                ex = self.copy(orig, orig, rng.choice(others), "excerpt", [*tags, "bridge"])
                bridges.append((orig, ex))
            # copies of copies
            if copies and rng.random() < 0.3:
                of = rng.choice(copies)
                if of.transform != "excerpt":
                    tr = rng.choice(["verbatim", "wrapped", "edited"])
                    host = rng.choice([h for h in hosts if h.host not in (src.host, of.template.host)])
                    self.copy(orig, of, host, tr, tags)

        # briefs: short real texts, each republished on the brief sites (long disclaimer, longer than the brief)
        for src in brief_srcs:
            story = self.new_story()
            paras = truncate_words(src.paras, 35, 80, rng)
            when = src.date or datetime(2019, 11, rng.randint(1, 28), 8, tzinfo=UTC)
            orig = self.original(story, src, paras, when, ["brief"])
            for h in rng.sample(brief_sites, rng.randint(1, min(2, len(brief_srcs), len(brief_sites)))):
                self.copy(orig, orig, h, "wrapped", ["brief"], extra={"hard_negative": "brief"})

        # follow-ups: another real text quoting 1-4 paragraphs of an earlier story
        quotable = [o for o in originals if len(o.paras) >= 2]
        shorts = [o for o in quotable if "short" in o.tags]
        for i, bsrc in enumerate(body_srcs):
            if not quotable:
                break
            bridge = bridges[i] if i < len(bridges) else None
            if bridge:
                quoted = bridge[0]
                k = len([b for b in bridge[1].blocks if b.startswith("<p>") and "<a " not in b])
                start = 0
            elif i % 3 == 1 and shorts:
                quoted = rng.choice(shorts)
                k = max(2, -(-len(quoted.paras) * rng.randint(60, 90) // 100))
                start = 0
            else:
                quoted = rng.choice(quotable)
                k = rng.randint(1, min(4, len(quoted.paras) - 1))
                start = rng.randint(0, len(quoted.paras) - k) if rng.random() < 0.4 else 0
            self.follow_up(bsrc, quoted, start, k, hosts, bridge is not None)

    def same_event_pairs(self, srcs: list[Source]) -> list[tuple[Source, Source]]:
        ents = {s.sid: set(_CAP.findall(" ".join(s.paras))) for s in srcs}
        pairs = []
        ordered = sorted(srcs, key=lambda s: s.sid)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                ea, eb = ents[a.sid], ents[b.sid]
                if len(ea) < 5 or len(eb) < 5 or a.host == b.host:
                    continue
                inter = len(ea & eb)
                jac = inter / len(ea | eb)
                if inter >= 6 and jac >= 0.12:
                    pairs.append((jac, a, b))
        pairs.sort(key=lambda t: (-t[0], t[1].sid, t[2].sid))
        out: list[tuple[Source, Source]] = []
        seen: set[str] = set()
        for _, a, b in pairs:
            if a.sid not in seen and b.sid not in seen:
                out.append((a, b))
                seen |= {a.sid, b.sid}
        self.rng.shuffle(out)
        return out

    def same_host(self, orig: Page, tags: list[str]) -> None:
        rng = self.rng
        src = orig.template
        style = rng.choice(["print", "amp", "category", "updated"])
        paras = list(orig.paras)
        headline = orig.headline
        when = orig.published
        transform = "verbatim"
        if style == "print":
            url = orig.url.rstrip("/") + rng.choice(["?print=1", "/print", "?view=print"])
        elif style == "amp":
            p = urlsplit(orig.url)
            url = rng.choice([f"{p.scheme}://{p.netloc}/amp{p.path}", orig.url.rstrip("/") + "/amp/",
                              f"{p.scheme}://{p.netloc}{p.path}?amp=1"])
        elif style == "category":
            p = urlsplit(orig.url)
            cat = rng.choice(["news", "world", "local", "latest", "top-stories", "business", "lifestyle"])
            url = f"{p.scheme}://{p.netloc}/{cat}{p.path}"
        else:
            transform = "edited"
            when = (orig.published or datetime(2019, 11, 1, tzinfo=UTC)) + timedelta(hours=rng.randint(2, 30))
            line = rng.choice(ph.UPDATE_LINES).format(time=when.strftime("%H:%M"))
            if rng.random() < 0.5 and len(paras) > 1:
                i = rng.randrange(len(paras))
                sents = sentences(paras[i])
                j = rng.randrange(len(sents))
                sents[j] = reword(shorten(sents[j]), rng, self.reword_table)
                paras[i] = " ".join(sents)
            paras = [line, *paras] if rng.random() < 0.5 else [*paras, line]
            url = orig.url.rstrip("/") + rng.choice(["-updated", "-1", "?updated=1", "/2"])
        self.used_urls.add(url)
        page = Page(self.new_name(), orig.story, "copy", transform, src, url, when, headline,
                    [p_html(p) for p in paras], paras, tags=[*tags, "same-host"])
        page.canonical_url = orig.url
        page.canonical = "original" if style in ("print", "amp") and rng.random() < 0.5 else "self"
        self.add(page)

    def newsletter(self, orig: Page, tags: list[str]) -> None:
        """The story inside a table-based email layout of its own site, under a lot of recurring boilerplate."""
        rng = self.rng
        src = orig.template
        fmt = {"site": html.escape(src.site), "year": str((orig.published or datetime(2019, 1, 1)).year)}
        lines = [ln.format(**fmt) for ln in rng.sample(ph.NEWSLETTER, rng.randint(6, 10))]
        links = rng.sample(src.chrome_links, min(len(src.chrome_links), rng.randint(10, 25))) or \
            [s.title for s in rng.sample(self.sources, min(12, len(self.sources)))]
        base = f"{urlsplit(src.url).scheme}://{urlsplit(src.url).netloc}"

        def row(inner: str) -> str:
            return f'<tr><td style="padding:12px;font-family:Arial">{inner}</td></tr>'

        def linkrows(items: list[str]) -> str:
            return "".join(row(f'<a href="{base}/{slug(t, rng)}">{html.escape(t)}</a>') for t in items)

        def snippets(k: int) -> str:
            # "more stories" items: a real headline and the opening words of that real article
            others = [s for s in self.sources if s.sid not in self.text_used and s.title]
            out = []
            for s in rng.sample(others, min(k, len(others))):
                words = " ".join(s.paras[0].split()[: rng.randint(30, 60)])
                more = html.escape(self.pick("more", "en").format(src=src.site))
                href = f"{base}/{slug(s.title, rng)}"
                out.append(row(f'<a href="{href}"><b>{html.escape(s.title)}</b></a><br>'
                               f'{html.escape(words)}… <a href="{href}">{more}</a>'))
            return "".join(out)

        half = len(links) // 2
        page_tags = [*tags, "newsletter"]
        outer = '<table width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center">' \
            '<table width="600" cellpadding="0" cellspacing="0">'
        if rng.random() < 0.5:
            # the story's paragraphs as <br>-separated text in one cell, between teaser rows
            story = "".join(f"{html.escape(p, quote=False)}<br><br>" for p in orig.paras)
            rows = [row(html.escape(lines[0])), row(f"<b>{html.escape(src.site)}</b>"), linkrows(links[:half]),
                    snippets(rng.randint(2, 4)),
                    row(f'<h2 style="font-size:20px">{html.escape(orig.headline)}</h2>'), row(story),
                    snippets(rng.randint(4, 8)), linkrows(links[half:])]
            rows += [row(html.escape(ln)) for ln in lines[1:]]
            rows += [row(html.escape(t)) for t in src.chrome_text[:1]]
            blocks = [outer + "".join(rows) + "</table></td></tr></table>"]
        else:
            # one <span> row per paragraph, the site's teasers and footer as <p> blocks after the table:
            # trafilatura (fast pass and full) then keeps the teasers and footer, not the story
            rows = [row(html.escape(lines[0])), row(f"<b>{html.escape(src.site)}</b>"), linkrows(links[:half]),
                    row(f'<h2 style="font-size:20px">{html.escape(orig.headline)}</h2>')]
            rows += [row(f'<span style="font-size:15px;line-height:22px">{html.escape(p, quote=False)}</span>')
                     for p in orig.paras]
            teasers = snippets(rng.randint(6, 10)).replace("<tr><td", "<p").replace("</td></tr>", "</p>")
            teasers = re.sub(r'<p style="[^"]*">', "<p>", teasers)
            foot = "".join(p_html(x) for x in [*lines[1:], *src.chrome_text[:1]])
            blocks = [outer + "".join(rows) + "</table></td></tr></table>",
                      f'<div class="content">{teasers}{foot}</div>']
            page_tags.append("newsletter-spans")
        when = (orig.published or datetime(2019, 11, 1, tzinfo=UTC)) + timedelta(hours=rng.randint(6, 48))
        p = urlsplit(orig.url)
        url = f"{p.scheme}://{p.netloc}/newsletter/{when:%Y-%m-%d}/{rng.choice(['daily', 'morning', 'weekly'])}"
        url = self.unique_url(src, orig.headline, when) if url in self.used_urls else url
        self.used_urls.add(url)
        page = Page(self.new_name(), orig.story, "copy", "wrapped", src, url, when, orig.headline, blocks,
                    list(orig.paras), layout="newsletter", tags=page_tags)
        page.canonical_url = orig.url
        self.add(page)

    def follow_up(self, bsrc: Source, quoted: Page, start: int, k: int, hosts: list[Source], bridge: bool) -> None:
        rng = self.rng
        own = truncate_words(bsrc.paras, 150, 600, rng)
        quote = quoted.paras[start : start + k]
        host = rng.choice([h for h in hosts if h.host != bsrc.host] or hosts)
        lang = host.lang if host.lang in ph.FOLLOW_LEADS else "en"
        lead = self.pick("lead", lang).format(src=quoted.template.site)
        at = rng.randint(1, max(1, min(3, len(own))))
        paras = [*own[:at], lead, *quote, *own[at:]]
        story = self.new_story()
        when = (quoted.published or datetime(2019, 11, 1, tzinfo=UTC)) + timedelta(days=rng.randint(1, 20))
        tags = ["follow-up"]
        if bridge:
            tags.append("bridge")
        quoted_words = sum(len(p.split()) for p in quoted.paras)
        if sum(len(p.split()) for p in quote) * 2 > quoted_words:
            tags.append("quotes-most")
        headline = bsrc.title or " ".join(own[0].split()[:10])
        page = Page(self.new_name(), story, "negative", "follow-up", host, self.unique_url(host, headline, when),
                    when, headline, [p_html(p) for p in paras], paras, tags=tags,
                    extra={"hard_negative": "follow-up", "quotes_story": quoted.story, "body_from": bsrc.sid})
        self.stories[story] = page.name
        self.add(page)
        # some follow-ups are republished: copies of the follow-up story
        if rng.random() < 0.4:
            for _ in range(rng.randint(1, 2)):
                h = rng.choice([x for x in hosts if x.host != host.host])
                tr = rng.choice(["verbatim", "wrapped", "edited"])
                self.copy(page, page, h, tr, [t for t in tags if t != "bridge"])

    def write(self, out: Path) -> None:
        (out / "pages").mkdir(parents=True, exist_ok=True)
        for stale in (out / "pages").glob("*.html.gz"):  # a corpus is exactly this seed's pages
            stale.unlink()
        truth: dict[str, Any] = {"split": f"syndicate-seed{self.seed}", "pages": {}, "stories": {}}
        render_rng = random.Random(self.seed * 7919 + 1)
        for page in sorted(self.pages, key=lambda p: p.name):
            (out / "pages" / page.name).write_bytes(render(page, render_rng))
            truth["pages"][page.name] = page.truth()
        truth["stories"] = {s: {"original": o} for s, o in sorted(self.stories.items())}
        (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                        encoding="utf-8")


def load_sources(raw: list[Path], trafilatura_tests: Path | None, rng: random.Random,
                 log: Callable[[str], None]) -> list[Source]:
    sources: list[Source] = []
    for i, r in enumerate(raw):
        got = load_raw(r, "zyte" if r.resolve() == ZYTE.resolve() else f"raw{i}" if i else "raw")
        log(f"{r}: {len(got)} pages, {sum(1 for s in got if s.body_path)} usable as templates")
        sources += got
    if trafilatura_tests is not None:
        got = load_trafilatura(trafilatura_tests, 120, rng)
        log(f"{trafilatura_tests}: {len(got)} pages")
        sources += got
    seen: set[str] = set()
    out = []
    for s in sources:
        if s.url not in seen:
            seen.add(s.url)
            out.append(s)
    return out


_SOURCES_CACHE: dict[tuple[str, ...], list[Source]] = {}


def generate(seed: int, out: Path, stories: int = 90, raw: list[Path] | None = None,
             trafilatura_tests: Path | None = None, quiet: bool = False) -> dict[str, Any]:
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr)

    rng = random.Random(seed)
    key = (*(str(r) for r in raw or [ZYTE]), str(trafilatura_tests), str(seed if trafilatura_tests else ""))
    if key not in _SOURCES_CACHE:  # (the trafilatura sample depends on the seed; the raw pages do not)
        _SOURCES_CACHE[key] = load_sources(raw or [ZYTE], trafilatura_tests, rng, log)
    sources = _SOURCES_CACHE[key]
    gen = Generator(sources, seed, stories)
    gen.build()
    gen.write(out)
    truth: dict[str, Any] = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    log(f"{out}: {len(truth['pages'])} pages, {len(truth['stories'])} stories")
    if len(truth["stories"]) < stories:
        log(f"only {len(truth['stories'])} of the {stories} stories asked for: add pages with --extra-raw")
    return truth



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--stories", type=int, default=90)
    ap.add_argument("--raw", type=Path, default=ZYTE,
                    help="ground-truth.json + html/<id>.html[.gz] (default: Zyte), or a folder of saved pages")
    ap.add_argument("--extra-raw", type=Path, action="append", default=[], help="more directories in that layout")
    ap.add_argument("--trafilatura-tests", type=Path, help="a checkout of adbar/trafilatura's tests/ directory")
    args = ap.parse_args(argv)
    generate(args.seed, args.out, args.stories, [args.raw, *args.extra_raw], args.trafilatura_tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
