"""The request guard's rules as properties: which Host values are host names, how deep JSON nests."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from idp.http.request_guard import _basic_credentials, json_depth, valid_host

label = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
host_name = st.lists(label, min_size=1, max_size=4).map(".".join).filter(lambda name: len(name) <= 253)
port = st.integers(1, 65535).map(str)


@given(host_name, st.one_of(st.none(), port))
def test_host_names_with_or_without_a_port_are_valid(name, port):
    assert valid_host(name if port is None else f"{name}:{port}")


@given(st.ip_addresses(v=4), st.ip_addresses(v=6), port)
def test_ip_literals_are_valid(v4, v6, port):
    assert valid_host(str(v4)) and valid_host(f"{v4}:{port}")
    assert valid_host(f"[{v6}]") and valid_host(f"[{v6}]:{port}")


@given(host_name, st.sampled_from(["a" * 64, "", "-a", "a-", "a b", "a\x00", "ä", "a/b", "a@b"]))
def test_a_bad_label_anywhere_makes_the_host_invalid(name, bad):
    assert not valid_host(f"{name}.{bad}.gov.cn") and not valid_host(f"{bad}.{name}")


def test_a_trailing_dot_is_a_fully_qualified_name():
    assert valid_host("id.example.gov.cn.") and valid_host("localhost.:8000") and not valid_host(".")


@given(host_name, st.sampled_from(["0", "65536", "99999", "-1", "", "8o", "123456"]))
def test_bad_ports_are_invalid(name, bad):
    assert not valid_host(f"{name}:{bad}")


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


json_values = st.recursive(st.one_of(st.none(), st.integers(), st.text()),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(), inner, max_size=3)), max_leaves=20)


@settings(max_examples=300)
@given(json_values, st.booleans())
def test_json_depth_is_the_nesting_of_the_document(value, ascii_only):
    """Brackets inside strings (also escaped quotes before them) do not count."""
    assert json_depth(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")) == depth(value)


@given(st.text(min_size=1).filter(lambda s: ":" not in s and "%" not in s and s.isprintable()),
       st.text().filter(lambda s: "%" not in s and s.isprintable()))
def test_basic_credentials_of_utf8_id_and_secret_are_read(client_id, secret):
    import base64
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    assert _basic_credentials(token) == (client_id, secret)
