"""The benchmark scripts' own logic (not their figures): argument parsing, and the ID numbers the login
latency benchmark loads, which must be ones idp accepts, each different."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import cluster_throughput  # noqa: E402
import login_latency  # noqa: E402

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
