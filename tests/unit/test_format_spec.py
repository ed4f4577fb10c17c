"""The stored format's three spellings agree: the constants of ``schema.py``, its docstring
(the format's specification) and docs/table-design.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from langgraph_dynamodb import schema

DOC = (Path(__file__).resolve().parents[2] / "docs" / "table-design.md").read_text()
SPEC = schema.__doc__ or ""

ATTRIBUTES = {
    schema.PK: "S",
    schema.SK: "S",
    schema.KIND: "S",
    schema.PAYLOAD: "B",
    schema.CODEC: "S",
    schema.FORMAT: "N",
    schema.CHUNKS: "L",
    schema.PARENT: "B/S",
    schema.RUN_ID: "S",
    schema.THREAD: "S",
    schema.NAMESPACE: "S",
    schema.NONCE: "B",
    schema.TTL: "N",
    schema.VECTOR_ITEMS: "N",
    schema.VECTOR: "L",
    schema.HOLDER: "S",
    schema.LINEAGE: "B/S",
    schema.WATERMARK: "S",
}


def _spec_attributes() -> dict[str, str]:
    """The attribute table of the specification: name -> type."""
    rows = {}
    for line in SPEC.splitlines():
        m = re.match(r"^([a-z0-9-]+)\s+(S|N|B|L|B/S)\s+\S", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_the_specification_lists_every_attribute_with_its_type() -> None:
    rows = _spec_attributes()
    expected = dict(ATTRIBUTES)
    first, last = schema.PREFIX_ATTRIBUTES[0], schema.PREFIX_ATTRIBUTES[-1]
    expected[f"{first}-{last[len('ns') :]}"] = "S"  # "ns1-8"
    assert rows == expected


@pytest.mark.parametrize("name", [*ATTRIBUTES, *schema.PREFIX_ATTRIBUTES[:1]])
def test_the_design_page_names_every_attribute(name: str) -> None:
    assert f"`{name}`" in DOC, f"docs/table-design.md does not describe attribute {name!r}"


@pytest.mark.parametrize(
    "kind",
    [
        schema.KIND_CHECKPOINT,
        schema.KIND_WRITES,
        schema.KIND_CHUNK,
        schema.KIND_MEMORY,
        schema.KIND_DIRECTORY,
        schema.KIND_VECTOR,
        schema.KIND_CACHE,
        schema.KIND_RUN,
        schema.KIND_FENCE,
        schema.KIND_TOMBSTONE,
        schema.KIND_ACTIVITY,
    ],
)
def test_every_item_kind_is_documented(kind: str) -> None:
    kinds_row = next(line for line in DOC.splitlines() if line.startswith(f"| `{schema.KIND}` |"))
    assert f"`{kind}`" in kinds_row
    assert f"``{kind}``" in SPEC


def test_key_prefixes_and_markers_are_the_documented_ones() -> None:
    for prefix in (
        schema.THREAD_PREFIX,
        schema.CHECKPOINT_PREFIX,
        schema.CHUNK_PREFIX,
        schema.GROUP_PREFIX,
        schema.MEMORY_PREFIX,
        schema.ROOT_DIRECTORY_PK,
        schema.DIRECTORY_ENTRY,
        schema.VECTOR_PREFIX,
        schema.CACHE_PREFIX,
        schema.CACHE_ENTRY,
        schema.CACHE_DIRECTORY_PK,
    ):
        assert f'"{prefix}"' in SPEC and prefix in DOC
    assert f'"{schema.HEAD_MARK}"' in SPEC and f'"{schema.END_OF_NAMESPACE}"' in SPEC


def test_the_checkpointer_keys_in_the_docs_are_what_the_module_makes() -> None:
    assert schema.thread_pk("t1") == "t#t1#"
    assert schema.head_sk("", "A") == "c##A#~"  # c# enc(ns) enc(checkpoint) ~
    assert schema.writes_sk("ns", "A", "task", schema.write_tag(0)) == "c#ns#A#wtask#r#"
    assert schema.writes_sk("ns", "A", "task", schema.write_tag(-3)) == "c#ns#A#wtask#-3#"
    assert schema.chunk_sk("nonce", 0) == "x#nonce#00000"
    for shown in (
        "c#<ns>#<A>#~",
        "c#<ns>#<A>#w<task>#r#",
        "c#<ns>#<A>#w<task>#-3#",
        "x#<nonce>#00000",
    ):
        assert shown in DOC


def test_the_run_marker_in_the_docs_is_what_the_module_makes() -> None:
    marker = schema.run_marker("run-7", "chat-1", None)
    assert f"pk = {marker[schema.PK]['S']}` `sk = {marker[schema.SK]['S']}" in DOC
    assert schema.thread_of_run_marker(marker) == "chat-1"
    long_thread = "t" * 3000  # a digest in the key, the plain id in `tid`
    assert schema.thread_of_run_marker(schema.run_marker("r", long_thread, 5)) == long_thread
    assert schema.thread_of_run_marker(schema.key("t#x#", "c#")) is None


def test_the_store_keys_in_the_docs_are_what_the_module_makes() -> None:
    alice = ("memories", "alice")
    memory = schema.memory_sk(alice, "m0001")
    shown = {
        f"pk = {schema.group_pk(schema.group_of(alice))}": "pk = m#memories#",
        f"sk = {memory}": "sk = i#alice#!m0001#",
        f"sk = {schema.memory_sk((*alice, 'prefs'), 'theme')}": "sk = i#alice#prefs#!theme#",
        f"sk = {schema.vector_sk(memory, 0)}": "sk = v#alice#!m0001#0#",
        f"sk = {schema.vector_sk(schema.memory_sk(('docs', 'd1'), 'k'), 1)}": "sk = v#d1#!k#1#",
        f"pk = {schema.ROOT_DIRECTORY_PK}": "pk = r#",
        f"sk = {schema.directory_sk(('memories',))}": "sk = d#memories#",
        f"ns2 = {schema.prefix_value(alice)}": "ns2 = memories#alice#",
    }
    for made, documented in shown.items():
        assert made == documented
        assert documented in DOC, f"docs/table-design.md does not show {documented!r}"
    # no diagram left from an older layout (one partition per user)
    assert "pk = m#memories#alice#" not in DOC


def test_payload_fields_codecs_and_version_are_documented() -> None:
    head = '{"c": [type, bytes],'
    for text in (DOC, SPEC):
        assert head in text
    for field in (
        schema.SKELETON,
        schema.METADATA,
        schema.STORED,
        schema.STORED_VERSIONS,
        schema.REFS,
        schema.DELTAS,
        schema.TASK_PATH,
        schema.ENTRIES,
        schema.TASK_ID,
        schema.MEMORY_NAMESPACE,
        schema.MEMORY_KEY,
        schema.MEMORY_VALUE,
        schema.MEMORY_CREATED,
        schema.MEMORY_UPDATED,
        schema.MEMORY_TTL_MINUTES,
        schema.MEMORY_EMBEDDINGS,
    ):
        assert f'"{field}":' in DOC and f'"{field}":' in SPEC
    for codec in (schema.CODEC_ZSTD, schema.CODEC_ZSTD_D1):
        assert f"`{codec}`" in DOC and f"``{codec}``" in SPEC
    assert f"Payloads (format {schema.FORMAT_VERSION})" in DOC
    assert f":data:`FORMAT_VERSION` is {schema.FORMAT_VERSION}" in SPEC


def test_the_cache_keys_in_the_docs_are_what_the_module_makes() -> None:
    namespace = ("__pregel_ns_writes", "m.f", "summarize")
    pk = schema.cache_pk(namespace)
    assert pk == "n#__pregel_ns_writes#m.f#summarize#"
    assert f"pk = {pk}" in DOC
    assert schema.cache_sk("3f2a...") == "e#3f2a...#" and "sk = e#3f2a...#" in DOC
    assert f"sk = {schema.cache_directory_sk(pk)}" in DOC
    assert schema.cache_pk_of_directory_sk(schema.cache_directory_sk(pk)) == pk
    for ns in [namespace, (), ("",), ("a#b", "~x", "é")]:
        assert schema.cache_namespace_of(schema.cache_pk(ns)) == ns
    long_label = ("x" * 2000,)
    assert schema.cache_namespace_of(schema.cache_pk(long_label)) == (None,)
    assert schema.cache_namespace_of("t#thread#") is None
    assert schema.cache_pk(()) == "n#" != schema.cache_pk(("",))
    assert len({schema.cache_pk(ns) for ns in [("a", "b"), ("a#b",), ("ab",), ("a",)]}) == 4
    payload = schema.CacheEntryPayload(("json", b"1"), 12.5)
    assert schema.decode_cache_entry(schema.encode_cache_entry(payload), "e") == payload
    assert "[type, bytes, expires | None]" in SPEC
