"""Key formats: escaping, order, prefix-freedom, disjoint ranges, digests, limits, parsing."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import InvalidInputError
from langgraph_dynamodb.flows import target_of

# DynamoDB's key limits (bytes, UTF-8): a partition key is at most 2048 bytes, a sort
# key at most 1024 bytes.
DDB_MAX_PK_BYTES = 2048
DDB_MAX_SK_BYTES = 1024

# Characters that matter to the encoding: the terminator, the escape, every other
# character up to the escape (they are all escaped), neighbours of the escape, the head
# and writes marks, the digest mark, separators people put in ids, and non-ASCII.
SPECIAL = '#$%|:~w\x00\x01\x1f !"@`\x7f\u00e9\u2603\U0001f9f5\U0001f600\uffff'
chars = st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8"))
ids = st.text(alphabet=chars, max_size=40)
long_ids = st.builds(
    lambda s, n: s * n, st.text(alphabet=chars, min_size=1, max_size=8), st.integers(1, 700)
)
any_ids = st.one_of(ids, long_ids)
# Checkpoint ids are never digested: keep them short enough to be accepted
# (40 characters escape to at most 160 bytes).
cp_ids = st.text(alphabet=chars, min_size=1, max_size=40)
tags = st.sampled_from([schema.REGULAR_TAG, *(schema.write_tag(i) for i in (-1, -2, -3, -4))])

LOOKALIKES = ["t1", "t10", "t1#x", "t1$", "t1#", "t1\x00", "t1 ", "t", "t1~", "t1w"]


def utf8(value: str) -> int:
    return len(value.encode("utf-8"))


def enc(value: str) -> str:
    """The literal (never digested) encoding of one component, with its terminator."""
    return schema.encode_component(value, max_bytes=10**9, what="test")


def in_range(sk: str, prefix: str) -> bool:
    """Whether ``sk`` falls in the key range ``[prefix, range_end(prefix)]`` (inclusive,
    as DynamoDB's BETWEEN), compared as UTF-8 bytes, as DynamoDB does."""
    lo = prefix.encode("utf-8")
    hi = schema.range_end(prefix).encode("utf-8")
    return lo <= sk.encode("utf-8") <= hi


def keys_of(ns: str, cp: str, task: str = "task-1") -> list[str]:
    """Every sort key one checkpoint owns: its head and writes keys."""
    return [schema.head_sk(ns, cp)] + [
        schema.writes_sk(ns, cp, task, tag)
        for tag in (schema.REGULAR_TAG, schema.write_tag(-1), schema.write_tag(-4))
    ]


# --- round trips ----------------------------------------------------------------------------
@given(any_ids)
@example("")
@example("#")
@example("$")
@example("$~" + "0" * 32)
@example("a#b$c%d|e:f g\x00h\U0001f9f5")
def test_component_round_trip(value: str) -> None:
    encoded = enc(value)
    assert encoded.endswith(schema.TERMINATOR)
    parts, rest = schema.split_components(encoded)
    assert parts == [encoded[:-1]] and rest == ""
    assert not schema.is_digest(parts[0])
    assert schema.decode_component(parts[0]) == value


@given(st.lists(any_ids, max_size=5), st.text(alphabet="~wr0123456789-", max_size=3))
def test_split_components_splits_concatenated_components(values: list[str], tail: str) -> None:
    joined = "".join(enc(v) for v in values) + tail
    parts, rest = schema.split_components(joined)
    assert [schema.decode_component(p) for p in parts] == values
    assert rest == tail


@given(any_ids)
@example("#")
@example("t1#x")
def test_thread_pk_round_trip_or_digest(thread_id: str) -> None:
    pk = schema.thread_pk(thread_id)
    assert pk.startswith(schema.THREAD_PREFIX) and pk.endswith(schema.TERMINATOR)
    assert utf8(pk) < DDB_MAX_PK_BYTES
    literal = utf8(enc(thread_id)) - 1 <= limits.MAX_THREAD_KEY_BYTES
    if literal:
        assert schema.decode_thread_pk(pk) == thread_id
    else:
        assert schema.decode_thread_pk(pk) is None
        assert schema.is_digest(pk[len(schema.THREAD_PREFIX) : -1])


@given(st.text(max_size=60))
def test_decode_thread_pk_never_raises_on_foreign_keys(pk: str) -> None:
    schema.decode_thread_pk(pk)
    schema.decode_thread_pk(schema.THREAD_PREFIX + pk)
    schema.decode_thread_pk(schema.THREAD_PREFIX + pk + schema.TERMINATOR)


# --- prefix-freedom -------------------------------------------------------------------------
@given(any_ids, any_ids)
@example("t1", "t10")
@example("t1", "t1#x")
@example("t1", "t1$")
@example("a", "a\x00")
def test_encoding_is_prefix_free(a: str, b: str) -> None:
    assume(a != b)
    assert not enc(b).startswith(enc(a))
    assert not enc(a).startswith(enc(b))
    # Also with the real limits, where long values become digests.
    ca = schema.encode_component(a, max_bytes=limits.MAX_COMPONENT_KEY_BYTES, what="x")
    cb = schema.encode_component(b, max_bytes=limits.MAX_COMPONENT_KEY_BYTES, what="x")
    assert not cb.startswith(ca) and not ca.startswith(cb)
    assert not schema.thread_pk(b).startswith(schema.thread_pk(a))


@given(st.lists(any_ids, min_size=1, max_size=3), st.lists(any_ids, min_size=1, max_size=3))
def test_sequences_of_components_are_uniquely_decodable(a: list[str], b: list[str]) -> None:
    assume(a != b)
    assert "".join(map(enc, a)) != "".join(map(enc, b))


# --- order ----------------------------------------------------------------------------------
@given(ids, cp_ids, cp_ids)
@example("", "a", "a\x00")
@example("", "a", "a#")
@example("", "a!", "a%")
@example("", "a", "b")
@example("", "1f0-1", "1f0-10")
@example("", "\uffff", "\U0001f600")
def test_checkpoint_id_order_is_preserved(ns: str, a: str, b: str) -> None:
    ha, hb = schema.head_sk(ns, a), schema.head_sk(ns, b)
    assert (a < b) == (ha < hb)
    assert (a == b) == (ha == hb)
    # DynamoDB compares binary UTF-8; the order must hold there too.
    assert (a < b) == (ha.encode("utf-8") < hb.encode("utf-8"))


@given(ids, cp_ids, cp_ids, ids, tags)
def test_writes_sort_between_their_head_and_the_previous_head(
    ns: str, a: str, b: str, task: str, tag: str
) -> None:
    """Ascending: [writes of A][head of A][writes of B][head of B] for A < B."""
    assume(a < b and task)
    wa = schema.writes_sk(ns, a, task, tag)
    wb = schema.writes_sk(ns, b, task, tag)
    assert wa < schema.head_sk(ns, a) < wb < schema.head_sk(ns, b)
    assert schema.checkpoint_prefix(ns, b) <= wb


# --- disjoint ranges ------------------------------------------------------------------------
@pytest.mark.parametrize("a", LOOKALIKES)
@pytest.mark.parametrize("b", LOOKALIKES)
def test_lookalike_ids_have_disjoint_ranges(a: str, b: str) -> None:
    if a == b:
        return
    # threads: the partition key of one thread is not in the other's range
    assert not in_range(schema.thread_pk(b), schema.thread_pk(a))
    # namespaces: no sort key of namespace b is in namespace a's range
    for sk in keys_of(b, "cp"):
        assert not in_range(sk, schema.checkpoint_ns_prefix(a))
    for sk in keys_of(a, "cp"):
        assert in_range(sk, schema.checkpoint_ns_prefix(a))
    # checkpoints: no key of checkpoint b is in checkpoint a's range, in any namespace
    for ns in ("", "parent:1", a):
        for sk in keys_of(ns, b):
            assert not in_range(sk, schema.checkpoint_prefix(ns, a))
        for sk in keys_of(ns, a):
            assert in_range(sk, schema.checkpoint_prefix(ns, a))


@given(any_ids, any_ids, cp_ids, cp_ids, ids)
@settings(max_examples=200)
def test_ranges_are_disjoint_for_arbitrary_ids(
    ns_a: str, ns_b: str, cp_a: str, cp_b: str, task: str
) -> None:
    assume(task)
    if ns_a != ns_b:
        for sk in keys_of(ns_b, cp_b, task):
            assert not in_range(sk, schema.checkpoint_ns_prefix(ns_a))
        assert not in_range(schema.thread_pk(ns_b), schema.thread_pk(ns_a))
    for sk in keys_of(ns_a, cp_a, task):
        assert in_range(sk, schema.checkpoint_ns_prefix(ns_a))
        assert in_range(sk, schema.checkpoint_prefix(ns_a, cp_a))
    if cp_a != cp_b:
        for sk in keys_of(ns_a, cp_b, task):
            assert not in_range(sk, schema.checkpoint_prefix(ns_a, cp_a))


@given(any_ids)
def test_range_end_bounds_every_key_of_the_prefix(ns: str) -> None:
    prefix = schema.checkpoint_ns_prefix(ns)
    end = schema.range_end(prefix)
    assert prefix < end
    assert not end.startswith(prefix)
    # No real key can equal the (inclusive) upper bound.
    for sk in keys_of(ns, "x") + keys_of(ns, "\U0001f600" * 30):
        assert prefix <= sk < end


# --- digests and DynamoDB limits ------------------------------------------------------------
@given(long_ids, long_ids, cp_ids, long_ids, tags)
@settings(max_examples=200)
def test_keys_stay_under_dynamodb_limits(
    thread_id: str, ns: str, cp: str, task: str, tag: str
) -> None:
    assert utf8(schema.thread_pk(thread_id)) < DDB_MAX_PK_BYTES
    assert utf8(schema.head_sk(ns, cp)) < DDB_MAX_SK_BYTES
    assert utf8(schema.writes_sk(ns, cp, task, tag)) < DDB_MAX_SK_BYTES


def test_worst_case_literal_keys_stay_under_dynamodb_limits() -> None:
    """The longest components that are still kept literally, all in one key."""
    thread_id = "\x00" * (limits.MAX_THREAD_KEY_BYTES // 2)  # escapes to exactly the max
    ns = "$" * (limits.MAX_COMPONENT_KEY_BYTES // 2)
    task = "\U0001f600" * (limits.MAX_COMPONENT_KEY_BYTES // 4)
    cp = "\x01" * ((limits.MAX_CHECKPOINT_ID_BYTES - 1) // 2)
    assert schema.decode_thread_pk(schema.thread_pk(thread_id)) == thread_id
    assert not schema.is_digest(schema.checkpoint_ns_prefix(ns)[2:-1])
    sk = schema.writes_sk(ns, cp, task, schema.write_tag(-4))
    parsed = schema.parse_sk(sk)
    assert parsed is not None and not schema.is_digest(parsed.task_component or "")
    assert utf8(schema.thread_pk(thread_id)) < DDB_MAX_PK_BYTES
    assert utf8(sk) < DDB_MAX_SK_BYTES
    assert utf8(schema.head_sk(ns, cp)) < DDB_MAX_SK_BYTES


@pytest.mark.parametrize(
    "value",
    ["x" * 2000, "#" * 600, "\U0001f9f5" * 300, "$" * 129, "a" * 257],
)
def test_long_components_are_digested(value: str) -> None:
    comp = schema.checkpoint_ns_prefix(value)[len(schema.CHECKPOINT_PREFIX) : -1]
    assert schema.is_digest(comp)
    assert schema.decode_component(comp) is None
    assert len(comp) == len("$~") + 32
    # the digest is deterministic and distinguishes values
    assert schema.checkpoint_ns_prefix(value) == schema.checkpoint_ns_prefix(value)
    assert schema.checkpoint_ns_prefix(value) != schema.checkpoint_ns_prefix(value + "!")
    # a writes key with a digested task still parses
    sk = schema.writes_sk(value, "cp", value, schema.REGULAR_TAG)
    parsed = schema.parse_sk(sk)
    assert parsed is not None
    assert parsed.checkpoint_id == "cp"
    assert schema.is_digest(parsed.ns_component) and schema.is_digest(parsed.task_component or "")
    assert utf8(sk) < DDB_MAX_SK_BYTES


def test_long_thread_ids_are_digested() -> None:
    pk = schema.thread_pk("t" * 5000)
    assert schema.decode_thread_pk(pk) is None
    assert utf8(pk) < DDB_MAX_PK_BYTES
    assert schema.thread_pk("t" * 5000) != schema.thread_pk("t" * 5001)
    # exactly at the limit: still literal
    at_limit = "t" * limits.MAX_THREAD_KEY_BYTES
    assert schema.decode_thread_pk(schema.thread_pk(at_limit)) == at_limit


def test_components_at_the_limit_stay_literal() -> None:
    at = "a" * limits.MAX_COMPONENT_KEY_BYTES
    over = "a" * (limits.MAX_COMPONENT_KEY_BYTES + 1)
    assert schema.decode_component(schema.checkpoint_ns_prefix(at)[2:-1]) == at
    assert schema.is_digest(schema.checkpoint_ns_prefix(over)[2:-1])


def test_too_long_checkpoint_ids_are_rejected() -> None:
    ok = "c" * (limits.MAX_CHECKPOINT_ID_BYTES - 1)
    assert schema.parse_sk(schema.head_sk("", ok)) == schema.ParsedKey(
        schema.KIND_CHECKPOINT, "", ok
    )
    with pytest.raises(InvalidInputError, match="checkpoint_id"):
        schema.checkpoint_component("c" * limits.MAX_CHECKPOINT_ID_BYTES)
    with pytest.raises(InvalidInputError):
        schema.head_sk("", "#" * limits.MAX_CHECKPOINT_ID_BYTES)


# --- parse_sk -------------------------------------------------------------------------------
@given(any_ids, cp_ids)
@example("", "1")
@example("a#b", "c#d~")
def test_parse_sk_inverts_head_keys(ns: str, cp: str) -> None:
    parsed = schema.parse_sk(schema.head_sk(ns, cp))
    assert parsed is not None
    assert parsed.kind == schema.KIND_CHECKPOINT
    assert parsed.checkpoint_id == cp
    assert parsed.ns_component + schema.TERMINATOR == schema.checkpoint_ns_prefix(ns)[len("c#") :]
    if not schema.is_digest(parsed.ns_component):
        assert schema.decode_component(parsed.ns_component) == ns
    assert parsed.task_component is None and parsed.tag is None


@given(any_ids, cp_ids, any_ids, tags)
@example("", "1", "w", "r")
@example("ns|1", "cp#", "task#~", "-1")
def test_parse_sk_inverts_writes_keys(ns: str, cp: str, task: str, tag: str) -> None:
    assume(task)
    parsed = schema.parse_sk(schema.writes_sk(ns, cp, task, tag))
    assert parsed is not None
    assert parsed.kind == schema.KIND_WRITES
    assert parsed.checkpoint_id == cp
    assert parsed.tag == tag
    assert parsed.task_component is not None
    if not schema.is_digest(parsed.task_component):
        assert schema.decode_component(parsed.task_component) == task
    if not schema.is_digest(parsed.ns_component):
        assert schema.decode_component(parsed.ns_component) == ns


@given(st.text(max_size=60))
def test_parse_sk_never_raises(sk: str) -> None:
    schema.parse_sk(sk)
    schema.parse_sk(schema.CHECKPOINT_PREFIX + sk)


def test_parse_sk_ignores_chunks_and_foreign_keys() -> None:
    assert schema.parse_sk(schema.chunk_sk("abc", 3)) is None
    assert schema.parse_sk("other") is None
    assert schema.parse_sk("c#ns#") is None
    assert schema.parse_sk("c#ns#cp#x") is None
    assert schema.parse_sk("c#ns#$") is None
    # a digest in the checkpoint position is not a checkpoint id
    assert schema.parse_sk("c##$~" + "0" * 32 + "#~") is None


def test_chunk_keys_sort_in_sequence() -> None:
    sks = [schema.chunk_sk("n", i) for i in range(12)]
    assert sks == sorted(sks)
    assert all(sk.startswith(schema.CHUNK_PREFIX) for sk in sks)


def test_write_tags() -> None:
    assert schema.write_tag(0) == schema.write_tag(10) == schema.REGULAR_TAG
    assert schema.write_tag(-1) == "-1"
    assert schema.write_tag(-4) == "-4"


# --- invalid input --------------------------------------------------------------------------
LONE_SURROGATES = ["\ud800", "a\udfffb", "t1\udc80", "\ud83d"]


@pytest.mark.parametrize("bad", LONE_SURROGATES)
def test_lone_surrogates_are_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="surrogate"):
        schema.thread_pk(bad)
    with pytest.raises(InvalidInputError, match="surrogate"):
        schema.checkpoint_ns_prefix(bad)
    with pytest.raises(InvalidInputError, match="surrogate"):
        schema.head_sk("", bad)
    with pytest.raises(InvalidInputError, match="surrogate"):
        schema.writes_sk("", "cp", bad, schema.REGULAR_TAG)
    with pytest.raises(InvalidInputError):
        schema.thread_pk(bad * 1000)  # also when it would be digested


@given(st.text(max_size=10), st.sampled_from(LONE_SURROGATES), st.text(max_size=10))
def test_any_string_with_a_lone_surrogate_is_invalid(pre: str, bad: str, post: str) -> None:
    with pytest.raises(InvalidInputError):
        schema.thread_pk(pre + bad + post)
    with pytest.raises(InvalidInputError):
        schema.checkpoint_component(pre + bad + post)


@pytest.mark.parametrize("bad", [1, 1.5, None, b"t1", ["t1"], ("t",), object()])
def test_non_string_ids_are_invalid_input(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="must be a string"):
        schema.require_id(bad, "thread_id")
    with pytest.raises(InvalidInputError):
        target_of({"configurable": {"thread_id": bad}})
    if bad is not None:
        with pytest.raises(InvalidInputError):
            target_of({"configurable": {"thread_id": "t", "checkpoint_id": bad}})


def test_empty_ids() -> None:
    with pytest.raises(InvalidInputError, match="non-empty"):
        schema.require_id("", "thread_id")
    assert schema.require_id("", "checkpoint_ns", allow_empty=True) == ""
    with pytest.raises(InvalidInputError, match="thread_id"):
        target_of({"configurable": {}})
    with pytest.raises(InvalidInputError):
        target_of(None)
    with pytest.raises(InvalidInputError, match="checkpoint_id"):
        target_of({"configurable": {"thread_id": "t"}}, need_checkpoint=True)


def test_create_table_params_match_expected_schema() -> None:
    params = schema.create_table_params("tbl")
    attr_types = {a["AttributeName"]: a["AttributeType"] for a in params["AttributeDefinitions"]}
    key_schema = {
        (k["AttributeName"], k["KeyType"], attr_types[k["AttributeName"]])
        for k in params["KeySchema"]
    }
    assert key_schema == schema.EXPECTED_KEY_SCHEMA
    assert params["TableName"] == "tbl"
