"""The benchmark scripts' own logic (not their figures): argument parsing, the ID numbers the login
latency benchmark loads, which must be ones idp accepts, each different, and the Python floor of
``peer_compare.py --floor`` (bench/floor_app.py), which must issue what idp issues and persist it."""
from __future__ import annotations

import base64
import hashlib
import sqlite3
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import import_key
from werkzeug.test import Client

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import cluster_throughput  # noqa: E402
import floor_app  # noqa: E402
import login_latency  # noqa: E402
import peer_compare  # noqa: E402

from idp.identity.numbers import normalize_id_number  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=login_latency.CAPACITY - 1))
def test_every_generated_id_number_is_a_valid_canonical_one(index):
    number = login_latency.id_number(index)
    assert normalize_id_number(number) == number


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=login_latency.CAPACITY - 1),
       st.integers(min_value=0, max_value=login_latency.CAPACITY - 1))
def test_distinct_indexes_give_distinct_id_numbers(a, b):
    assert (login_latency.id_number(a) == login_latency.id_number(b)) == (a == b)


def test_consecutive_indexes_cover_regions_sequences_and_dates_without_repeating():
    count = 3 * len(login_latency.REGIONS) * 1000
    numbers = [login_latency.id_number(i) for i in range(count)]
    assert len(set(numbers)) == count
    assert {n[:6] for n in numbers} == set(login_latency.REGIONS)
    assert {n[6:14] for n in numbers} == {"19500101", "19500102", "19500103"}
    assert login_latency.id_number(login_latency.CAPACITY - 1)[6:14] == "20051231"


@pytest.mark.parametrize("index", [-1, login_latency.CAPACITY])
def test_an_index_outside_the_generator_is_refused(index):
    with pytest.raises(ValueError):
        login_latency.id_number(index)


def test_the_id_numbers_use_the_official_check_character():
    # GB 11643-1999's example number
    weights_check = login_latency.CHECK[sum(int(d) * w for d, w in zip("11010519491231002", login_latency.WEIGHTS)) % 11]
    assert weights_check == "X"


@pytest.mark.parametrize("text, people", [("10000", 10_000), ("10k", 10_000), ("10K", 10_000), ("10M", 10_000_000),
                                          ("1.5M", 1_500_000), ("1", 1)])
def test_people_counts(text, people):
    assert login_latency.parse_args(["--people", text, "--measured", "1"]).people == people


@pytest.mark.parametrize("text", ["", "0", "ten", "10G", "1.0001k", "-5", "1e6", "300M"])
def test_bad_people_counts_are_refused(text, capsys):
    with pytest.raises(SystemExit):
        login_latency.parse_args(["--people", text])
    assert "--people" in capsys.readouterr().err


def test_login_latency_arguments():
    args = login_latency.parse_args([])
    assert (args.people, args.measured, args.logins, args.concurrency, args.lock) == (10_000, 200, 400, 2, None)
    quick = login_latency.parse_args(["--quick", "--people", "10M"])
    assert (quick.people, quick.measured, quick.logins) == (2000, 10, 20)
    assert login_latency.parse_args(["--lock", "/tmp/x.lock"]).lock == Path("/tmp/x.lock")


@pytest.mark.parametrize("argv", [["--people", "5", "--measured", "6"], ["--concurrency", "0"], ["--logins", "-1"]])
def test_inconsistent_login_latency_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        login_latency.parse_args(argv)


def test_cluster_arguments():
    args = cluster_throughput.parse_args([])
    assert (args.workloads, args.nodes, args.runs, args.duration) == (["cc", "rt", "login"], [1, 2, 3], 3, 10)
    assert cluster_throughput.parse_args(["--nodes", "3,1", "login"]).nodes == [3, 1]
    quick = cluster_throughput.parse_args(["--quick", "--runs", "5"])
    assert (quick.runs, quick.duration) == (1, 2)


@pytest.mark.parametrize("argv", [["--nodes", "4"], ["--nodes", "0"], ["--nodes", "1,1"], ["--nodes", "a"],
                                  ["jwks"], ["--runs", "0"], ["--duration", "-1"]])
def test_bad_cluster_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        cluster_throughput.parse_args(argv)


def test_the_load_runs_beside_one_node_and_anywhere_beside_more():
    assert cluster_throughput.client_cpus(1) == {1}
    assert cluster_throughput.client_cpus(2) == cluster_throughput.client_cpus(3) == {0, 1}


def test_percentiles_are_nearest_rank_in_milliseconds():
    assert cluster_throughput.percentiles([i / 1000 for i in range(1, 101)]) == (50.0, 99.0)
    assert cluster_throughput.percentiles([0.002]) == (2.0, 2.0)


# --- the Python floor (bench/floor_app.py) ---------------------------------------------------
FLOOR_ISSUER = "http://127.0.0.1:9999"


def floor_auth(client_id: str = "bench-floor", secret: str = "s3cret:with/colon") -> dict:
    value = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": "Basic " + value}


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def floor(request, tmp_path_factory):
    database = tmp_path_factory.mktemp("floor") / "floor.sqlite"
    return floor_app.FloorApp(str(database), FLOOR_ISSUER, request.param, "bench-floor", "s3cret:with/colon")


def floor_rows(app, sql: str, *params):
    with sqlite3.connect(app.database) as conn:
        return conn.execute(sql, params).fetchall()


def test_floor_client_credentials_answers_a_signed_jwt_and_stores_its_hash_with_an_audit_row(floor):
    before = floor_rows(floor, "SELECT count(*) FROM audit_events")[0][0]
    response = Client(floor).post("/token", data={"grant_type": "client_credentials", "scope": "profile"},
                                  headers=floor_auth())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 900, "profile")
    assert "refresh_token" not in body
    public = import_key(floor.public_jwk())
    assert not public.is_private
    token = jwt.decode(body["access_token"], public, algorithms=[floor.alg])
    assert token.header == {"alg": floor.alg, "typ": "at+jwt", "kid": floor.key.thumbprint()}
    claims = token.claims
    assert set(claims) == {"iss", "sub", "aud", "client_id", "iat", "exp", "jti", "scope"}
    assert (claims["iss"], claims["sub"], claims["aud"], claims["client_id"], claims["scope"]) == (
        FLOOR_ISSUER, "bench-floor", "bench-floor", "bench-floor", "profile")
    assert claims["exp"] - claims["iat"] == 900
    stored = floor_rows(floor, "SELECT client_id, scope, refresh_token_hash FROM tokens WHERE access_token_hash = ?",
                        hashlib.sha256(body["access_token"].encode()).hexdigest())
    assert stored == [("bench-floor", "profile", None)]
    audit = floor_rows(floor, "SELECT event, data FROM audit_events ORDER BY id DESC LIMIT 1")[0]
    assert audit[0] == "token.issued" and '"grant_type": "client_credentials"' in audit[1]
    assert floor_rows(floor, "SELECT count(*) FROM audit_events")[0][0] == before + 1


def rotate(client, refresh_token, headers=None):
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                       headers=headers or floor_auth())


def test_floor_rotates_a_refresh_token_once_and_refuses_its_second_use(floor):
    client = Client(floor)
    seeded = client.post("/token", data={"grant_type": floor_app.SEED_GRANT}, headers=floor_auth())
    assert seeded.status_code == 200
    first = seeded.get_json()["refresh_token"]
    rotated = rotate(client, first)
    assert rotated.status_code == 200
    second = rotated.get_json()["refresh_token"]
    assert second != first
    claims = jwt.decode(rotated.get_json()["access_token"], import_key(floor.public_jwk())).claims
    assert (claims["sub"], claims["scope"]) == (floor_app.SEED_SUBJECT, "openid profile")
    replay = rotate(client, first)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert floor_rows(floor, "SELECT refresh_used FROM tokens WHERE refresh_token_hash = ?",
                      hashlib.sha256(first.encode()).hexdigest()) == [(1,)]
    # the rotated token belongs to the same family and can itself be rotated, once
    assert rotate(client, second).status_code == 200
    assert rotate(client, second).status_code == 400
    families = floor_rows(floor, "SELECT DISTINCT family_id FROM tokens WHERE refresh_token_hash IN (?, ?)",
                          hashlib.sha256(first.encode()).hexdigest(), hashlib.sha256(second.encode()).hexdigest())
    assert len(families) == 1


class GatedLock:
    """The write lock, entered only once ``parties`` threads are waiting for it: every one of them has read
    the refresh token (as unused) before any of them writes."""

    def __init__(self, parties: int):
        self.lock, self.gate = threading.Lock(), threading.Barrier(parties)

    def __enter__(self):
        self.gate.wait(timeout=10)
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


def test_floor_hands_a_refresh_token_to_exactly_one_of_concurrent_requests(tmp_path):
    """Eight requests present one refresh token and all read it as unused before any of them writes: the
    conditional UPDATE in the write transaction lets one rotate it, the others get invalid_grant."""
    app = floor_app.FloorApp(str(tmp_path / "floor.sqlite"), FLOOR_ISSUER, "ES256", "bench-floor",
                             "s3cret:with/colon")
    token = Client(app).post("/token", data={"grant_type": floor_app.SEED_GRANT},
                             headers=floor_auth()).get_json()["refresh_token"]
    app.write_lock = GatedLock(8)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(rotate(Client(app), token))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200] + [400] * 7
    assert {answer.get_json().get("error") for answer in answers} == {None, "invalid_grant"}
    assert floor_rows(app, "SELECT count(*) FROM tokens")[0][0] == 2  # the seed and one rotation


def test_floor_refuses_a_refresh_token_of_another_client(tmp_path):
    database = str(tmp_path / "floor.sqlite")
    mine = floor_app.FloorApp(database, FLOOR_ISSUER, "ES256", "bench-floor", "s3cret:with/colon")
    other = floor_app.FloorApp(database, FLOOR_ISSUER, "ES256", "other", "x")
    token = Client(mine).post("/token", data={"grant_type": floor_app.SEED_GRANT},
                              headers=floor_auth()).get_json()["refresh_token"]
    refused = rotate(Client(other), token, floor_auth("other", "x"))
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert rotate(Client(mine), token).status_code == 200


@pytest.mark.parametrize("headers, data, status, error", [
    (floor_auth(secret="wrong"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
    (floor_auth(client_id="someone"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
    ({"Authorization": "Basic !!!"}, {"grant_type": "client_credentials"}, 401, "invalid_client"),
    ({"Authorization": "Bearer abc"}, {"grant_type": "client_credentials"}, 401, "invalid_client"),
    ({}, {"grant_type": "client_credentials"}, 401, "invalid_client"),
    (floor_auth(), {"grant_type": "password"}, 400, "unsupported_grant_type"),
    (floor_auth(), {}, 400, "invalid_request"),
    (floor_auth(), {"grant_type": "refresh_token"}, 400, "invalid_request"),
    (floor_auth(), {"grant_type": "refresh_token", "refresh_token": "never-issued"}, 400, "invalid_grant"),
])
def test_floor_answers_bad_token_requests_with_an_oauth_error(floor, headers, data, status, error):
    response = Client(floor).post("/token", data=data, headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")


PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
FORM_PARTS = st.sampled_from(["grant_type=", "client_credentials", "refresh_token", "&", "=", "%", "%ff", "%zz",
                              "scope=", "refresh_token=", "urn:bench:floor:seed", "\xe9", "+", ";"])


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), st.lists(FORM_PARTS, max_size=12).map(lambda p: "".join(p).encode())),
       authorization=st.one_of(st.just(floor_auth()["Authorization"]), PRINTABLE,
                               st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode())),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "text/plain", ""]))
def test_floor_answers_any_request_with_json_and_never_fails(floor, body, authorization, content_type):
    response = Client(floor).post("/token", data=body, headers={"Authorization": authorization},
                                  content_type=content_type)
    assert response.status_code in (200, 400, 401)
    assert response.headers["Content-Type"] == "application/json"
    answer = response.get_json()
    assert ("access_token" in answer) if response.status_code == 200 else ("error" in answer)


def test_floor_healthz_is_a_constant_and_other_paths_are_refused(floor):
    client = Client(floor)
    healthz = client.get("/healthz")
    assert (healthz.status_code, healthz.data) == (200, b'{"status":"ok"}\n')
    assert client.get("/token").status_code == 405
    assert client.get("/jwks").status_code == 404
    large = client.post("/token", data="a=" + "b" * floor_app.MAX_BODY, headers=floor_auth(),
                        content_type="application/x-www-form-urlencoded")
    assert large.status_code == 413


def test_floor_app_is_made_from_the_environment_when_granian_asks_for_it(tmp_path, monkeypatch):
    vars(floor_app).pop("app", None)
    monkeypatch.delenv("FLOOR_DATABASE", raising=False)
    with pytest.raises(RuntimeError, match="FLOOR_DATABASE"):
        floor_app.app  # noqa: B018 - the attribute access is what is tested
    monkeypatch.setenv("FLOOR_DATABASE", str(tmp_path / "env.sqlite"))
    monkeypatch.setenv("FLOOR_ISSUER", FLOOR_ISSUER)
    monkeypatch.setenv("FLOOR_ALG", "RS256")
    monkeypatch.setenv("FLOOR_CLIENT_ID", "bench-floor")
    monkeypatch.setenv("FLOOR_CLIENT_SECRET", "s3cret:with/colon")
    try:
        app = floor_app.app
        assert floor_app.app is app and app.alg == "RS256"
    finally:
        vars(floor_app).pop("app", None)
    response = Client(app).post("/token", data=urlencode({"grant_type": "client_credentials"}),
                                headers=floor_auth(), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


def test_peer_compare_table_has_the_floor_ratios():
    results = {("peer", "cc-es256"): [1000, 2000, 3000], ("idp SQLite", "cc-es256"): [400, 600],
               ("Python floor", "cc-es256"): [4000, 6000, 5000], ("idp SQLite", "healthz"): [3000],
               ("Python floor", "healthz"): [6000]}
    lines = peer_compare.table_lines(["cc-es256", "healthz"], "peer", ["idp SQLite"], "Python floor", results)
    assert lines[0] == ("| workload (one core) | peer | idp SQLite | Python floor | ratio SQLite | floor/peer "
                        "| SQLite/floor |")
    assert lines[2] == "| cc-es256 | 1,000–3,000 | 400–600 | 4,000–6,000 | 0.25 | 2.50 | 0.10 |"
    assert lines[3] == "| healthz |  | 3,000 | 6,000 |  |  | 0.50 |"
    plain = peer_compare.table_lines(["cc-es256"], "peer", ["idp SQLite"], None, results)
    assert plain[0] == "| workload (one core) | peer | idp SQLite | ratio SQLite |"
    assert plain[2] == "| cc-es256 | 1,000–3,000 | 400–600 | 0.25 |"


def test_peer_compare_targets_skip_what_they_do_not_serve(tmp_path):
    floor_target = peer_compare.Floor(1, tmp_path)
    peer = peer_compare.Peer(tmp_path, 2, tmp_path)
    assert [floor_target.path(w) for w in ("discovery", "jwks", "healthz", "cc-es256", "rt-es256")] == [
        None, None, "/healthz", "/token", "/token"]
    assert peer.path("healthz") is None and peer.path("jwks") == "/jwks"
