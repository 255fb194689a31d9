"""The routing rule: shares follow weights, keys stick, weight changes move few keys."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from windlass.entities import Deployment, Variant
from windlass.exceptions import InvalidInput
from windlass.serving.deployments import TrafficSplit, choose_variant
from windlass_testing import run_fresh

KEYS = [f"user-{i}" for i in range(20_000)]


def split(**weights: float) -> TrafficSplit:
    return TrafficSplit(
        [
            Variant(name, f"models:/m/{i + 1}", weight)
            for i, (name, weight) in enumerate(weights.items())
        ]
    )


def routed(traffic: TrafficSplit, keys: list[str] = KEYS) -> dict[str, str]:
    return {key: traffic.choose(key).name for key in keys}


def shares(choices: list[str]) -> dict[str, float]:
    counts = Counter(choices)
    return {name: count / len(choices) for name, count in counts.items()}


def test_keys_split_by_weight() -> None:
    assert shares(list(routed(split(champion=90, challenger=10)).values())) == pytest.approx(
        {"champion": 0.9, "challenger": 0.1}, abs=0.015
    )
    assert shares(list(routed(split(a=50, b=30, c=20)).values())) == pytest.approx(
        {"a": 0.5, "b": 0.3, "c": 0.2}, abs=0.015
    )
    # Weights are relative: 9 and 1 split like 90 and 10.
    assert routed(split(champion=9, challenger=1)) == routed(split(champion=90, challenger=10))


def test_random_picks_split_by_weight_and_follow_the_rng() -> None:
    traffic = split(champion=90, challenger=10)
    picks = [traffic.choose(None, random.Random(7)).name for _ in range(10)]
    assert picks == [traffic.choose(None, random.Random(7)).name for _ in range(10)]
    rng = random.Random(20261122)
    assert shares([traffic.choose(None, rng).name for _ in range(20_000)]) == pytest.approx(
        {"champion": 0.9, "challenger": 0.1}, abs=0.015
    )
    assert shares([traffic.choose().name for _ in range(20_000)]) == pytest.approx(
        {"champion": 0.9, "challenger": 0.1}, abs=0.015
    )


def test_a_key_sticks_to_its_variant() -> None:
    traffic = split(champion=50, challenger=50)
    first = routed(traffic)
    assert all(traffic.choose(key).name == name for key, name in list(first.items())[:2000])
    assert routed(split(champion=50, challenger=50)) == first  # a new split, same answers
    # The order variants are listed in does not matter.
    assert routed(TrafficSplit(list(reversed(traffic.variants)))) == first


def test_other_processes_route_keys_the_same_way() -> None:
    # Replicas behind a load balancer must agree: the hash is stable across processes.
    code = (
        "import json; from windlass.entities import Variant;"
        "from windlass.serving.deployments import TrafficSplit;"
        "t = TrafficSplit([Variant('champion', 'models:/m/1', 70),"
        " Variant('challenger', 'models:/m/2', 30)]);"
        "print(json.dumps([t.choose(f'user-{i}').name for i in range(500)]))"
    )
    here = [name for name in routed(split(champion=70, challenger=30), KEYS[:500]).values()]
    assert json.loads(run_fresh(code, env={"PYTHONHASHSEED": "123"}).stdout) == here


def test_zero_weights_are_never_chosen() -> None:
    traffic = split(champion=100, paused=0, challenger=0)
    assert set(routed(traffic).values()) == {"champion"}
    assert {traffic.choose(None).name for _ in range(2000)} == {"champion"}
    three = split(a=1, off=0, b=1)
    assert set(routed(three).values()) == {"a", "b"}
    assert {three.choose(None).name for _ in range(2000)} == {"a", "b"}
    with pytest.raises(InvalidInput, match="positive weight"):
        split(a=0, b=0)
    with pytest.raises(InvalidInput):
        TrafficSplit([])


def test_moving_ten_percent_moves_ten_percent_of_keys() -> None:
    before = routed(split(champion=90, challenger=10))
    after = routed(split(champion=80, challenger=20))
    moved = [key for key in KEYS if before[key] != after[key]]
    assert len(moved) / len(KEYS) == pytest.approx(0.10, abs=0.015)
    # Every moved key went to the variant that gained weight; none went the other way.
    assert {(before[k], after[k]) for k in moved} == {("champion", "challenger")}


def test_changing_one_weight_leaves_the_other_variants_keys_alone() -> None:
    before = routed(split(a=50, b=30, c=20))
    after = routed(split(a=50, b=10, c=20))  # b gives up 20 points
    moved = [key for key in KEYS if before[key] != after[key]]
    assert {before[k] for k in moved} == {"b"}  # only b's keys move (30% -> 10/80 = 12.5%)...
    assert len(moved) / len(KEYS) == pytest.approx(0.3 - 10 / 80, abs=0.015)
    # ...and a key of a or c never changes variant.
    assert all(after[k] == before[k] for k in KEYS if before[k] in ("a", "c"))
    # Adding a variant takes its share from every variant, moving no key between the others.
    grown = routed(split(a=50, b=30, c=20, d=25))
    assert all(grown[k] in (before[k], "d") for k in KEYS)
    assert sum(name == "d" for name in grown.values()) / len(KEYS) == pytest.approx(0.2, abs=0.015)


def test_promote_then_rollback_restores_every_key() -> None:
    split_before = split(champion=90, challenger=10)
    before = routed(split_before)
    assert set(routed(split(champion=0, challenger=100)).values()) == {"challenger"}
    assert routed(split(champion=90, challenger=10)) == before


def test_single_variant_and_helpers() -> None:
    only = split(solo=3)
    assert only.choose("any").name == "solo" and only.choose().name == "solo"
    variants = [Variant("champion", "models:/m/1", 90), Variant("challenger", "models:/m/2", 10)]
    assert all(
        choose_variant(variants, key) == TrafficSplit(variants).choose(key) for key in KEYS[:500]
    )
    assert choose_variant(variants, None, random.Random(1)) in variants
    deployment = Deployment(
        id="0" * 32,
        project_id="1" * 32,
        name="prod",
        variants=variants,
        revision=1,
        created_at=0,
        updated_at=0,
    )
    assert TrafficSplit.of(deployment).variants == tuple(variants)
    assert choose_variant(variants, "") in variants
    assert choose_variant(variants, "ключ-🙂") in variants
