"""If-None-Match against a published document's entity tag (RFC 9110 13.1.2: weak comparison)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from idp.keys.service import entity_tag
from idp.protocols.oidc.published import matches

ETAG = entity_tag(b'{"keys":[]}')
tags = st.builds(entity_tag, st.binary(max_size=20))


@given(st.lists(tags, max_size=5), st.integers(min_value=0, max_value=5), st.booleans(), st.sampled_from(["", " "]))
def test_matches_exactly_when_the_tag_is_listed(others, position, weak, space):
    candidates = [tag for tag in others if tag != ETAG]
    assert not matches((", " if space else ",").join(candidates), ETAG)
    listed = list(candidates)
    listed.insert(min(position, len(listed)), ("W/" if weak else "") + ETAG)
    assert matches(("," + space).join(listed), ETAG)


@given(st.text(max_size=60))
def test_any_header_text_is_answered_without_error(header):
    assert matches(header, ETAG) in (True, False)
    assert matches(header, ETAG) is (header.strip() == "*" or ETAG in
                                     {part.strip().removeprefix("W/") for part in header.split(",")})


def test_star_and_absent_header():
    assert matches("*", ETAG) and matches(" * ", ETAG)
    assert not matches(None, ETAG) and not matches("", ETAG)


def test_entity_tag_is_quoted_and_follows_the_bytes():
    assert ETAG.startswith('"') and ETAG.endswith('"') and len(ETAG) == 34
    assert entity_tag(b"a") != entity_tag(b"b") and entity_tag(b"a") == entity_tag(b"a")
