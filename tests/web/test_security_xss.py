"""XSS corpus: hostile Markdown, titles, alt questions, internal notes, office YAML and notices written by an
editor are indexed for real and shown in every view; none of them may come out as executable markup."""
from __future__ import annotations

import shutil
import urllib.parse

import html5lib
import pytest
import yaml

from tests.conftest import FIXTURE_CONTENT, TODAY
from tests.web.conftest import app_config, login

# Each payload tries to run `alert` (or load something) in a different way.
PAYLOADS = [
    "<script>alert('xss-1')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert('xss-3')>",
    "<img src=\"javascript:alert('xss-4')\">",
    "<svg onload=alert('xss-5')>",
    "<svg><script>alert('xss-6')</script></svg>",
    "<body onload=alert('xss-7')>",
    "<iframe src=\"javascript:alert('xss-8')\"></iframe>",
    "<iframe srcdoc=\"<script>alert('xss-9')</script>\"></iframe>",
    "<a href=\"javascript:alert('xss-10')\">klicka</a>",
    "<a href=\"vbscript:msgbox('xss-11')\">klicka</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxMik8L3NjcmlwdD4=\">data</a>",
    "<object data=\"data:text/html,<script>alert('xss-13')</script>\"></object>",
    "<embed src=\"javascript:alert('xss-14')\">",
    "<div style=\"background:url(javascript:alert('xss-15'))\">stil</div>",
    "<p style=\"width: expression(alert('xss-16'))\">uttryck</p>",
    "<style>@import 'javascript:alert(17)';</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-18')>",
    "<img src=x onerror=alert('xss-19')",                       # unclosed tag
    "<<script>alert('xss-20');//<</script>",
    "<scr<script>ipt>alert('xss-21')</scr</script>ipt>",
    "&lt;script&gt;alert('xss-22')&lt;/script&gt;",
    "<a href=\"jav&#x09;ascript:alert('xss-23')\">tab</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert('xss-24')\">entiteter</a>",
    "[markdown-länk](javascript:alert('xss-25'))",
    "[stora bokstäver](JaVaScRiPt:alert('xss-26'))",
    "[med mellanslag]( javascript:alert('xss-27') )",
    "![bild](javascript:alert('xss-28'))",
    "![bild](x \"onerror=alert('xss-29')\")",
    "[data-länk](data:text/html;base64,PHNjcmlwdD5hbGVydCgzMCk8L3NjcmlwdD4=)",
    "<javascript:alert('xss-31')>",
    "[ref-länk][r]\n\n[r]: javascript:alert('xss-32')",
    "[vb](vbscript:msgbox('xss-33'))",
    "<form action=\"javascript:alert('xss-34')\"><button>skicka</button></form>",
    "<input onfocus=alert('xss-35') autofocus>",
    "<details open ontoggle=alert('xss-36')>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('xss-37')\">",
    "<base href=\"javascript:alert('xss-38')//\">",
    "\"><script>alert('xss-39')</script>",
    "'\"><img src=x onerror=alert('xss-40')>",
    "<a href=\"https://ok.example\" onclick=\"alert('xss-41')\">ok</a>",
    "<!--<script>alert('xss-42')</script>-->",
    "<![CDATA[<script>alert('xss-43')</script>]]>",
    "`<script>alert('xss-44')</script>`",
]
ARTICLE = "xss-artikel"
OFFICE = "hotfull"
SEARCH = "parkeringsgift skadlig text"   # words of the hostile article's title


def _article_text() -> str:
    meta = {"id": ARTICLE, "title": f"Parkeringsgift skadlig text {PAYLOADS[0]} {PAYLOADS[2]}", "office": OFFICE,
            "alt_questions": PAYLOADS[:12], "tags": PAYLOADS[12:16], "owner": PAYLOADS[4],
            "links": [{"title": PAYLOADS[9], "url": "https://ok.example/\"><script>alert(1)</script>"}]}
    body = "\n\n".join(PAYLOADS)
    internal = "\n\n".join(PAYLOADS)
    return f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\nParkeringsgift skadlig text.\n\n{body}\n\n" \
           f"::: intern\n{internal}\n:::\n"


def _office_text() -> str:
    office = {"name": f"Hotfull förvaltning {PAYLOADS[0]}", "description": PAYLOADS[2], "group": PAYLOADS[4],
              "phone": "08-508 11 000 <script>alert(1)</script>", "email": "a@b.se\"><script>alert(1)</script>",
              "web": "https://ok.example/\"><script>alert('xss-web')</script>", "referral": " ".join(PAYLOADS[:10]),
              "hours": {"mon": "08:00-16:30"},
              "exceptions": [{"date": "2026-11-25", "hours": "closed", "note": PAYLOADS[1]}]}
    return yaml.safe_dump(office, allow_unicode=True)


def _notice_text(audience: str) -> str:
    meta = {"id": f"xss-{audience}", "title": f"Störning {PAYLOADS[3]}", "audience": audience,
            "offices": [OFFICE], "valid_from": "2026-01-01", "valid_until": "2099-12-31"}
    return f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\n" + "\n\n".join(PAYLOADS) + "\n"


@pytest.fixture(scope="module")
def hostile_app_config(tmp_path_factory, encoder):
    """A copy of the fixture corpus plus the hostile files, indexed with the real model."""
    from indexer.build import build_index
    from search.searcher import Searcher

    root = tmp_path_factory.mktemp("hostile")
    content = root / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    (content / OFFICE).mkdir()
    (content / OFFICE / "_office.yaml").write_text(_office_text(), encoding="utf-8")
    (content / OFFICE / f"{ARTICLE}.md").write_text(_article_text(), encoding="utf-8")
    for audience in ("public", "internal"):
        (content / "_notices" / f"xss-{audience}.md").write_text(_notice_text(audience), encoding="utf-8")
    data = root / "data"
    build_index(content, data, encoder, today=TODAY)
    searcher = Searcher(data, encoder, today=TODAY)
    assert ARTICLE in searcher.snapshot.articles, "the hostile article must be indexed, not rejected"
    return searcher, data


@pytest.fixture
def hostile_app(hostile_app_config, tmp_path):
    from web import accounts, create_app

    searcher, data = hostile_app_config
    app = create_app(app_config(searcher, data, tmp_path, KB_RATE_LIMITS="false"))
    with app.app_context():
        accounts.create_user("hanna", "ett-långt-lösenord", "handler")
    return app


# Tags our templates never use: any of them in a response came from content.
FOREIGN_TAGS = {"iframe", "object", "embed", "frame", "frameset", "applet", "base", "style", "svg", "math", "img",
                "video", "audio", "source"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "poster", "background"}
# Payloads that are not executable even as raw HTML (Markdown syntax, escaped text, comments, an unfinished tag).
NOT_RAW_HTML_ATTACKS = {18, 20, 21, 24, 25, 26, 27, 28, 29, 30, 31, 32, 41, 42}


def _scheme(value: str) -> str:
    # Browsers ignore whitespace and control characters inside a scheme; so do we before comparing.
    cleaned = "".join(c for c in urllib.parse.unquote(value) if c > " ").lower()
    return cleaned.split(":", 1)[0] if ":" in cleaned else ""


def executable(html: str) -> list[str]:
    """Everything in `html` a browser could run: foreign script, on* handlers, javascript:/data: URLs, ..."""
    found = []
    for element in html5lib.parse(html, namespaceHTMLElements=False).iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()     # svg and math elements carry their namespace
        attrs = {name.rsplit("}", 1)[-1].lower(): value for name, value in element.attrib.items()}
        if tag == "script":
            if not attrs.get("src", "").startswith("/static/js/") or (element.text or "").strip():
                found.append(f"<script {attrs}>{element.text}")
        elif tag in FOREIGN_TAGS:
            found.append(f"<{tag} {attrs}>")
        elif tag == "meta" and "http-equiv" in attrs:
            found.append(f"<meta {attrs}>")
        elif tag == "link" and not attrs.get("href", "").startswith("/static/"):
            found.append(f"<link {attrs}>")
        elif tag == "form" and not attrs.get("action", "/").startswith("/"):
            found.append(f"<form {attrs}>")
        for name, value in attrs.items():
            if name.startswith("on") or name == "style":
                found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and _scheme(value) in {"javascript", "vbscript", "data", "livescript"}:
                found.append(f"<{tag} {name}={value!r}>")
    return found


def test_the_checker_catches_each_kind_of_attack():
    assert len(PAYLOADS) >= 30
    missed = [p for i, p in enumerate(PAYLOADS) if i not in NOT_RAW_HTML_ATTACKS and not executable(p)]
    assert not missed
    assert not executable('<script src="/static/js/live.js" defer></script><a href="https://x.se">x</a>'
                          '<form method="post" action="/sprak"><input name="lang"></form>')


def _pages(app) -> dict[str, str]:
    """Every view that shows the hostile content: resident, handler, API."""
    resident, handler = app.test_client(), app.test_client()
    assert login(handler, "hanna", "ett-långt-lösenord").status_code == 303
    query = urllib.parse.quote(SEARCH)
    pages = {}
    for url in ("/", f"/sok?q={query}", f"/artikel/{ARTICLE}", f"/omrade/{OFFICE}", f"/sok?q={query}&office={OFFICE}"):
        pages[url] = resident.get(url)
    for url in (f"/handlaggare/?q={query}", f"/handlaggare/artikel/{ARTICLE}", f"/handlaggare/?q={query}&office={OFFICE}"):
        pages["H " + url] = handler.get(url)
    for url in (f"/sok.json?q={query}",):
        pages[url] = resident.get(url)
    pages["H /handlaggare/sok.json"] = handler.get(f"/handlaggare/sok.json?q={query}")
    for audience in ("public", "internal"):
        client = handler if audience == "internal" else resident
        for url in (f"/api/v1/search?q={query}", f"/api/v1/articles/{ARTICLE}", "/api/v1/offices", "/api/v1/notices"):
            pages[f"{audience} {url}"] = client.get(url + ("&" if "?" in url else "?") + f"audience={audience}")
    return pages


def _html_parts(response) -> list[str]:
    """The HTML a browser would render: the page, or the HTML carried inside a JSON answer."""
    if response.mimetype == "text/html":
        return [response.get_data(as_text=True)]
    parts = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in {"html", "snippet", "internal_notes"}:
            parts.append(value)

    walk(response.get_json())
    return parts


def test_no_view_returns_executable_markup(hostile_app):
    pages = _pages(hostile_app)
    for name, response in pages.items():
        assert response.status_code == 200, name
        for part in _html_parts(response):
            assert not executable(part), f"{name}: {executable(part)[:3]}"
    # The hostile content was really shown, as text: the views are not vacuous.
    article = pages[f"/artikel/{ARTICLE}"].get_data(as_text=True)
    assert "Parkeringsgift skadlig text" in article and "&lt;script&gt;" in article
    assert ARTICLE in {h["id"] for h in pages[f"public /api/v1/search?q={urllib.parse.quote(SEARCH)}"].get_json()["hits"]}
    handler_article = pages[f"H /handlaggare/artikel/{ARTICLE}"].get_data(as_text=True)
    assert "Hotfull förvaltning" in handler_article


def test_api_links_and_office_web_address_are_http_only(hostile_app):
    """Links an API consumer would put in an href are http(s) only, whatever an editor wrote."""
    client = hostile_app.test_client()
    body = client.get(f"/api/v1/articles/{ARTICLE}").get_json()
    assert body["links"] and all(link["url"].startswith("https://") for link in body["links"])
    office = next(o for o in client.get("/api/v1/offices").get_json()["offices"] if o["key"] == OFFICE)
    assert not office["web"] or office["web"].startswith(("https://", "http://"))


def test_an_office_web_address_that_is_not_http_is_reported(tmp_path):
    from kb.loader import load_content

    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    office = content / "parkering" / "_office.yaml"
    office.write_text(office.read_text(encoding="utf-8").replace("web: https://start.stockholm/parkering/",
                                                                 "web: javascript:alert(1)"), encoding="utf-8")
    problems = [str(issue) for issue in load_content(content, today=TODAY).errors]
    assert any(p.startswith("content/parkering/_office.yaml:6: web must be an http(s) URL") for p in problems)
