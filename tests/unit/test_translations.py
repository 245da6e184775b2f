"""The Chinese catalog: compiled copy up to date, every message translated, locale chosen per request."""
from __future__ import annotations

import io
import re
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "idp" / "web" / "translations"
ZH_PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
ZH_MO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def load_po():
    with ZH_PO.open("rb") as handle:
        return read_po(handle, locale="zh")


def mo_translations(data: bytes) -> dict:
    """The message -> translation table of a compiled catalog, without its metadata entry."""
    catalog = GNUTranslations(io.BytesIO(data))._catalog
    return {key: value for key, value in catalog.items() if key != ""}


def source_messages():
    """(msgid, msgid_plural or None, context, where) for every message the code and templates use."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = []
    for filename, lineno, message, _comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        if isinstance(message, (tuple, list)):
            msgid, plural = message[0], message[1]
        else:
            msgid, plural = message, None
        if msgid:
            found.append((msgid, plural, context, f"{filename}:{lineno}"))
    return found


def test_compiled_catalog_matches_po():
    compiled = io.BytesIO()
    write_mo(compiled, load_po())
    expected = mo_translations(compiled.getvalue())
    assert expected, "the Chinese catalog compiles to nothing"
    committed = mo_translations(ZH_MO.read_bytes())
    stale = sorted(set(expected.items()) ^ set(committed.items()), key=str)
    assert not stale, ("messages.mo is out of date with messages.po; run "
                       "`pybabel compile -d idp/web/translations`. Differences: %r" % stale[:10])


def test_po_has_no_format_errors():
    catalog = load_po()
    problems = [(message.id, [str(error) for error in errors]) for message, errors in catalog.check()]
    assert not problems


def test_every_source_message_is_translated():
    found = source_messages()
    # The extraction reaches both the Python views and the Jinja templates.
    assert any(where.startswith("idp/web/templates/") for *_, where in found)
    assert any(".py:" in where for *_, where in found)
    catalog = load_po()
    missing = []
    for msgid, plural, context, where in found:
        message = catalog.get(msgid, context=context)
        strings = message.string if message is not None else None
        if isinstance(strings, (tuple, list)):
            translated = all(strings)
        else:
            translated = bool(strings)
        if message is None or not translated or message.fuzzy or (plural and not message.pluralizable):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, ("untranslated messages; re-extract, `pybabel update` and translate:\n"
                         + "\n".join(missing))


def test_placeholders_survive_translation():
    catalog = load_po()
    checked = 0
    for message in catalog:
        if message.id and "%(" in message.id:
            assert message.python_format
            names = set(PLACEHOLDER.findall(message.id))
            assert set(PLACEHOLDER.findall(message.string)) == names, message.id
            checked += 1
    assert checked


@pytest.fixture
def client(app):
    return app.test_client()


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "登录" in html
    assert "统一身份认证平台" in html
    assert "身份证号、手机号或邮箱" in html
    assert 'lang="zh-CN"' in html
    assert "Log in" not in html


def test_login_page_in_english_on_request(client):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in html
    assert "ID number, phone or email" in html
    assert 'lang="en"' in html
    assert "登录" not in html
    # The explicit choice is remembered for the rest of the visit.
    later = client.get("/login").get_data(as_text=True)
    assert "Log in" in later and "登录" not in later


@pytest.mark.parametrize("header", ["en-US", "en-GB,en;q=0.9", "en-US,en;q=0.9,zh-CN;q=0.5"])
def test_login_page_follows_accept_language_english(client, header):
    html = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert "Log in" in html
    assert "登录" not in html


def test_login_page_follows_accept_language_chinese(client):
    html = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).get_data(as_text=True)
    assert "登录" in html
    assert "Log in" not in html


def test_messages_from_python_code_are_translated(client):
    html = client.get("/login?tx=no-such-transaction").get_data(as_text=True)
    assert "本次登录请求已过期" in html
    english = client.get("/login?tx=no-such-transaction&lang=en").get_data(as_text=True)
    assert "This login request has expired" in english


def test_language_links_keep_the_page_and_its_parameters(app):
    html = app.test_client().get("/login?tx=abc&lang=en").get_data(as_text=True)
    assert 'href="/login?tx=abc&amp;lang=zh"' in html
    assert 'href="/login?tx=abc&amp;lang=en"' in html


def test_every_translation_function_is_imported_under_a_name_extraction_finds():
    """Messages marked with an alias the extractor does not know (``lazy_gettext as _l``) never reach the
    catalog, and the next catalog update drops their translations."""
    import ast

    from babel.messages.extract import DEFAULT_KEYWORDS
    unknown = []
    for path in (ROOT / "idp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "flask_babel":
                unknown += [f"{path.relative_to(ROOT)}: {alias.name} as {alias.asname}" for alias in node.names
                            if "gettext" in alias.name and (alias.asname or alias.name) not in DEFAULT_KEYWORDS]
    assert unknown == []
