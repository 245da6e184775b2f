"""The account page shows the sections features add (core.account_sections), for the person logged in."""
from __future__ import annotations

from jinja2 import DictLoader, ChoiceLoader


def test_a_feature_adds_its_section_to_the_account_page(app, browser, citizen):
    app.jinja_loader = ChoiceLoader([app.jinja_loader, DictLoader({
        "account/example.html": '<section id="example">{{ section.greeting }} {{ person.name }}</section>'})])
    seen = []

    def section(person, session):
        seen.append((person.public_id, session.person_id == person.id))
        return {"template": "account/example.html", "greeting": "Second factors of"}

    app.extensions["idp"].account_sections.extend([section, lambda person, session: None])
    assert browser.login("/login").status_code == 302
    page = browser.client.get("/account").get_data(as_text=True)
    assert '<section id="example">Second factors of 张三</section>' in page
    assert seen == [(citizen, True)]
