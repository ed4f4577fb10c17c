"""The request combiners (``_combine``): which requests may share a BatchWriteItem or a
BatchGetItem, how they are packed, and what each caller gets back and is charged when its
request was sent together with others, alone, handed back unprocessed or in a batch that
failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError

from langgraph_dynamodb import _combine, _drivers, errors, limits, schema, steps
from langgraph_dynamodb._combine import (
    SEND_ALONE,
    Combiners,
    Waiting,
    WriteCombiner,
    combinable_entries,
    combinable_keys,
    pack,
)
from langgraph_dynamodb.flows import bulk
from langgraph_dynamodb.flows.context import TableCtx
from langgraph_dynamodb.stats import CallStats
from langgraph_dynamodb.steps import Request

TABLE = "t"
WHERE = steps.Where(TABLE, "eu-west-1", None)


def item(n: int, size: int = 10, sk: str = "") -> dict[str, Any]:
    return {
        schema.PK: {"S": f"thread-{n}"},
        schema.SK: {"S": sk or "head"},
        "v": {"B": b"x" * size},
    }


def put(n: int, **kw: Any) -> Request:
    return Request(
        "put_item", {"TableName": TABLE, "Item": item(n, **kw), "ReturnConsumedCapacity": "TOTAL"}
    )


def batch(*items: dict[str, Any]) -> Request:
    entries = [{"PutRequest": {"Item": i}} for i in items]
    return Request("batch_write_item", {"RequestItems": {TABLE: entries}})


class FakeClient:
    """Records requests; a BatchWriteItem consumes one unit per KB of each item."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail_batches: Exception | None = None
        self.hand_back: set[str] = set()
        self.refuse: set[str] = set()

    async def batch_write_item(self, **params: Any) -> dict[str, Any]:
        self.sent.append(("batch_write_item", params))
        await asyncio.sleep(0)
        if self.fail_batches is not None and len(params["RequestItems"][TABLE]) > 1:
            raise self.fail_batches
        entries = params["RequestItems"][TABLE]
        back = [e for e in entries if e["PutRequest"]["Item"][schema.PK]["S"] in self.hand_back]
        units = sum(
            max(1, -(-schema.approx_size(e["PutRequest"]["Item"]) // 1024)) for e in entries
        )
        return {
            "UnprocessedItems": {TABLE: back} if back else {},
            "ConsumedCapacity": [{"TableName": TABLE, "CapacityUnits": float(units)}],
        }

    async def put_item(self, **params: Any) -> dict[str, Any]:
        self.sent.append(("put_item", params))
        await asyncio.sleep(0)
        if params["Item"][schema.PK]["S"] in self.refuse:
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "bad item"}}, "PutItem"
            )
        return {"ConsumedCapacity": {"TableName": TABLE, "CapacityUnits": 1.0}}


# --- which requests ----------------------------------------------------------------------
def test_plain_puts_and_own_batches_are_combinable() -> None:
    assert combinable_entries(put(1), TABLE) == [{"PutRequest": {"Item": item(1)}}]
    assert combinable_entries(batch(item(1), item(2)), TABLE) is not None
    deletes = Request(
        "batch_write_item", {"RequestItems": {TABLE: [{"DeleteRequest": {"Key": item(1)}}]}}
    )
    assert combinable_entries(deletes, TABLE) is not None


@pytest.mark.parametrize(
    "request_",
    [
        Request("put_item", {"TableName": TABLE, "Item": item(1), "ConditionExpression": "x"}),
        Request("put_item", {"TableName": TABLE, "Item": item(1), "ReturnValues": "ALL_OLD"}),
        Request("put_item", {"TableName": TABLE, "Item": item(1)}, expect=("Conditional",)),
        Request("put_item", {"TableName": "other", "Item": item(1)}),
        Request("update_item", {"TableName": TABLE, "Key": item(1)}),
        Request("batch_write_item", {"RequestItems": {TABLE: [], "other": []}}),
        Request(
            "batch_write_item",
            {"RequestItems": {TABLE: [{"PutRequest": {"Item": item(1)}}]}, "X": 1},
        ),
        batch(*(item(i) for i in range(limits.BATCH_WRITE_MAX_ITEMS + 1))),
    ],
)
def test_what_depends_on_the_table_or_asks_something_back_is_not(request_: Request) -> None:
    assert combinable_entries(request_, TABLE) is None


def waiting(step: Request) -> Waiting:
    entries = combinable_entries(step, TABLE)
    assert entries is not None
    loop = asyncio.new_event_loop()
    try:
        return Waiting.of(step, entries, CallStats(), loop.create_future())
    finally:
        loop.close()


def test_pack_fills_batches_in_order_without_a_key_twice() -> None:
    big = waiting(batch(*(item(100 + i) for i in range(20))))
    small = [waiting(put(i)) for i in range(8)]
    again = waiting(put(0, size=20))  # small[0]'s key, another item: not in its batch
    batches = pack([big, *small, again])
    assert [list(b.waiting) for b in batches] == [
        [big, *small[:5]],
        [*small[5:], again],
    ]
    assert all(b.count <= limits.BATCH_WRITE_MAX_ITEMS for b in batches)


def test_the_very_same_item_of_two_calls_is_sent_once() -> None:
    first, same, other = waiting(put(0)), waiting(put(0)), waiting(put(1))
    (only,) = pack([first, same, other])
    assert only.waiting == [first, same, other] and only.count == 2
    assert only.entries() == [{"PutRequest": {"Item": item(0)}}, {"PutRequest": {"Item": item(1)}}]


# --- what callers get ----------------------------------------------------------------------
async def send_all(
    combiner: WriteCombiner, steps_: list[Request]
) -> tuple[list[Any], list[CallStats]]:
    calls = [CallStats() for _ in steps_]
    got = await asyncio.gather(
        *(
            combiner.send(s, combinable_entries(s, TABLE) or [], c)
            for s, c in zip(steps_, calls, strict=True)
        )
    )
    return list(got), calls


def test_a_request_alone_in_its_turn_goes_back_to_its_caller() -> None:
    async def main() -> Any:
        client = FakeClient()
        got, _ = await send_all(WriteCombiner(client, WHERE, asyncio.get_running_loop()), [put(1)])
        return client, got

    client, got = asyncio.run(main())
    assert got == [SEND_ALONE] and client.sent == []


def test_requests_of_one_turn_share_a_batch_and_its_cost() -> None:
    async def main() -> Any:
        client = FakeClient()
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        got, calls = await send_all(combiner, [put(1), put(2, size=3000), batch(item(3), item(4))])
        return client, got, calls

    client, got, calls = asyncio.run(main())
    assert [op for op, _ in client.sent] == ["batch_write_item"]
    assert len(client.sent[0][1]["RequestItems"][TABLE]) == 4
    assert got[0] == got[1] == {}
    assert got[2] == {"UnprocessedItems": {}}
    # one request, in the first call; 6 units (1 + 3 + 1 + 1) shared by item size
    assert [c.requests for c in calls] == [{"batch_write_item": 1}, {}, {}]
    assert [c.write_units for c in calls] == [1.0, 3.0, 2.0]


def test_a_request_with_an_item_handed_back_is_sent_again_alone() -> None:
    async def main() -> Any:
        client = FakeClient()
        client.hand_back = {"thread-2"}
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        got, _ = await send_all(combiner, [put(1), put(2), put(3)])
        return got

    got = asyncio.run(main())
    assert got[1] is SEND_ALONE and got[0] is not SEND_ALONE and got[2] is not SEND_ALONE


def test_a_batch_that_fails_sends_every_request_back_alone() -> None:
    async def main() -> Any:
        client = FakeClient()
        client.fail_batches = ClientError(
            {"Error": {"Code": "ValidationException", "Message": "bad item"}}, "BatchWriteItem"
        )
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        got, calls = await send_all(combiner, [put(1), put(2)])
        return got, calls

    got, calls = asyncio.run(main())
    assert got == [SEND_ALONE, SEND_ALONE]
    # the failed request is counted once, in the first call; each counts its own re-send
    assert [(c.requests, c.errors) for c in calls] == [({"batch_write_item": 1}, 1), ({}, 0)]


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        ("ServiceUnavailable", errors.UnavailableError),
        ("ProvisionedThroughputExceededException", errors.UnavailableError),
        ("ResourceNotFoundException", errors.TableNotFoundError),
    ],
)
def test_a_batch_that_cannot_reach_the_table_fails_every_call_once(
    code: str, raised: type[Exception]
) -> None:
    async def main() -> Any:
        client = FakeClient()
        client.fail_batches = ClientError({"Error": {"Code": code, "Message": "no"}}, "X")
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        entries = [combinable_entries(put(i), TABLE) or [] for i in range(3)]
        got = await asyncio.gather(
            *(combiner.send(put(i), entries[i], CallStats()) for i in range(3)),
            return_exceptions=True,
        )
        return client, got

    client, got = asyncio.run(main())
    assert [op for op, _ in client.sent] == ["batch_write_item"]  # not again, alone
    assert all(isinstance(g, raised) for g in got)
    assert len({id(g) for g in got}) == 3 and "dynamodb:BatchWriteItem" in str(got[0])


def test_a_call_whose_items_came_back_pays_only_for_its_own_request() -> None:
    async def main() -> Any:
        client = FakeClient()
        client.hand_back = {"thread-0"}
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        return await send_all(combiner, [put(0), put(1, size=2000), put(2)])

    got, calls = asyncio.run(main())
    assert got[0] is SEND_ALONE
    # the request (and the item handed back, a throttle) in the first call; the units of
    # what was stored (the fake bills the whole batch: 1 + 2 + 1) on the other two
    assert calls[0].requests == {"batch_write_item": 1} and calls[0].throttles == 1
    assert calls[0].write_units == 0
    assert [c.write_units for c in calls[1:]] == [pytest.approx(8 / 3), pytest.approx(4 / 3)]


def test_a_cancelled_caller_is_left_out_of_the_batch() -> None:
    async def main() -> Any:
        client = FakeClient()
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        entries = [combinable_entries(put(i), TABLE) or [] for i in range(3)]
        tasks = [
            asyncio.ensure_future(combiner.send(put(i), entries[i], CallStats())) for i in range(3)
        ]
        await asyncio.sleep(0)  # every task is waiting for the turn's end
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return client

    client = asyncio.run(main())
    sent = client.sent[0][1]["RequestItems"][TABLE]
    assert [e["PutRequest"]["Item"][schema.PK]["S"] for e in sent] == ["thread-0", "thread-2"]


# --- through the driver --------------------------------------------------------------------
def one(step: Request) -> Any:
    return (yield step)


def test_the_driver_combines_concurrent_flows_and_sends_a_lone_one_as_it_was() -> None:
    async def main() -> Any:
        client = FakeClient()
        combiner = Combiners(client, WHERE, asyncio.get_running_loop())
        stats = [CallStats() for _ in range(3)]
        await asyncio.gather(
            *(
                _drivers.run_async(one(put(i)), client, s, WHERE, combiner)
                for i, s in enumerate(stats)
            )
        )
        together = list(client.sent)
        await _drivers.run_async(one(put(9)), client, CallStats(), WHERE, combiner)
        return together, client.sent[len(together) :], stats

    together, alone, stats = asyncio.run(main())
    assert [op for op, _ in together] == ["batch_write_item"]
    assert [op for op, _ in alone] == ["put_item"]
    assert sum(s.total_requests for s in stats) == 1
    assert sum(s.write_units for s in stats) == 3.0


def test_after_a_failed_batch_each_caller_meets_its_own_error() -> None:
    async def main() -> Any:
        client = FakeClient()
        client.fail_batches = ClientError(
            {"Error": {"Code": "ValidationException", "Message": "bad item"}}, "BatchWriteItem"
        )
        client.refuse = {"thread-1"}
        combiner = Combiners(client, WHERE, asyncio.get_running_loop())
        return client, await asyncio.gather(
            *(
                _drivers.run_async(one(put(i)), client, CallStats(), WHERE, combiner)
                for i in range(3)
            ),
            return_exceptions=True,
        )

    client, results = asyncio.run(main())
    assert isinstance(results[1], errors.DynamoDBSaverError) and "bad item" in str(results[1])
    assert not isinstance(results[0], BaseException) and not isinstance(results[2], BaseException)
    assert [op for op, _ in client.sent].count("put_item") == 3


def test_chunks_stored_are_counted_in_the_call_that_stored_them() -> None:
    chunk = item(5, sk=schema.CHUNK_PREFIX + "c1")

    async def main() -> Any:
        client = FakeClient()
        client.hand_back = {"thread-6"}
        combiner = WriteCombiner(client, WHERE, asyncio.get_running_loop())
        back = item(6, sk=schema.CHUNK_PREFIX + "c2")
        return await send_all(combiner, [put(1), batch(chunk, item(5)), batch(back)])

    got, calls = asyncio.run(main())
    assert got[2] is SEND_ALONE
    assert [c.chunks_written for c in calls] == [0, 1, 0]


# --- reads ---------------------------------------------------------------------------------
def key(n: int, sk: str = "") -> dict[str, Any]:
    return {schema.PK: {"S": f"thread-{n}"}, schema.SK: {"S": sk or "head"}}


def get(*ns: int, consistent: bool = True) -> Request:
    return Request(
        "batch_get_item",
        {
            "RequestItems": {TABLE: {"Keys": [key(n) for n in ns], "ConsistentRead": consistent}},
            "ReturnConsumedCapacity": "TOTAL",
        },
    )


class FakeReader:
    """Records BatchGetItems; holds items ``thread-<n>``/``head`` of ``sizes[n]`` bytes; a
    read consumes one unit per 4 KB of each item found, and one for a key not found."""

    def __init__(self, sizes: dict[int, int]) -> None:
        self.sent: list[dict[str, Any]] = []
        self.items = {schema.ident(key(n)): item(n, size) for n, size in sizes.items()}
        self.hand_back: set[str] = set()
        self.fail: Exception | None = None

    async def batch_get_item(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        await asyncio.sleep(0)
        spec = params["RequestItems"][TABLE]
        if self.fail is not None and len(spec["Keys"]) > 1:
            raise self.fail
        back = [k for k in spec["Keys"] if k[schema.PK]["S"] in self.hand_back]
        asked = [schema.ident(k) for k in spec["Keys"] if k not in back]
        found = [self.items[k] for k in asked if k in self.items]
        units = sum(
            max(1, -(-schema.approx_size(self.items[k]) // 4096)) if k in self.items else 1
            for k in asked
        )
        return {
            "Responses": {TABLE: found},
            "UnprocessedKeys": {TABLE: {**spec, "Keys": back}} if back else {},
            "ConsumedCapacity": [{"TableName": TABLE, "CapacityUnits": float(units)}],
        }


async def read_all(
    client: FakeReader, steps_: list[Request], **options: Any
) -> tuple[list[Any], list[CallStats]]:
    combiners = Combiners(client, WHERE, asyncio.get_running_loop(), **options)
    calls = [CallStats() for _ in steps_]
    got = await asyncio.gather(*(combiners.send(s, c) for s, c in zip(steps_, calls, strict=True)))
    return list(got), calls


def found_ns(response: Any) -> list[int]:
    return sorted(int(i[schema.PK]["S"].split("-")[1]) for i in response["Responses"][TABLE])


def test_reads_by_key_of_the_table_are_combinable() -> None:
    asked = combinable_keys(get(1, 2), TABLE)
    assert asked is not None and asked.keys == [key(1), key(2)] and asked.consistent
    eventual = combinable_keys(get(1, consistent=False), TABLE)
    assert eventual is not None and not eventual.consistent


@pytest.mark.parametrize(
    "request_",
    [
        Request("get_item", {"TableName": TABLE, "Key": key(1)}),
        Request("batch_get_item", {"RequestItems": {"other": {"Keys": [key(1)]}}}),
        Request(
            "batch_get_item",
            {"RequestItems": {TABLE: {"Keys": [key(1)], "ProjectionExpression": "pk"}}},
        ),
        Request("batch_get_item", {"RequestItems": {TABLE: {"Keys": [key(1)]}}, "X": 1}),
        Request("batch_get_item", {"RequestItems": {TABLE: {"Keys": [key(1), key(1)]}}}),
        Request("batch_get_item", {"RequestItems": {TABLE: {"Keys": []}}}),
        Request("batch_get_item", {"RequestItems": {TABLE: {"Keys": [{"x": {"S": "1"}}]}}}),
        get(*range(limits.BATCH_GET_MAX_KEYS + 1)),
        Request("batch_get_item", get(1).params, expect=("ValidationException",)),
    ],
)
def test_reads_that_project_repeat_a_key_or_reach_further_are_not(request_: Request) -> None:
    assert combinable_keys(request_, TABLE) is None


def test_reads_of_one_turn_share_a_request_each_given_its_own_items() -> None:
    async def main() -> Any:
        client = FakeReader({1: 10, 2: 5000, 3: 10})
        got, calls = await read_all(client, [get(1), get(2, 4), get(1, 3)])
        return client, got, calls

    client, got, calls = asyncio.run(main())
    assert len(client.sent) == 1  # thread-1 asked once
    assert [schema.ident(k) for k in client.sent[0]["RequestItems"][TABLE]["Keys"]] == [
        schema.ident(key(n)) for n in (1, 2, 4, 3)
    ]
    assert client.sent[0]["RequestItems"][TABLE]["ConsistentRead"] is True
    assert [found_ns(g) for g in got] == [[1], [2], [1, 3]]
    assert got[0]["Responses"][TABLE][0] is not got[2]["Responses"][TABLE][0]  # each its own
    assert got[0]["Responses"][TABLE][0] == got[2]["Responses"][TABLE][0]
    # one request, in the first call; 5 units (1 + 2 + 1 + 1) shared by what each read
    assert [c.requests for c in calls] == [{"batch_get_item": 1}, {}, {}]
    assert sum(c.read_units for c in calls) == 5.0
    assert [c.read_units for c in calls] == [
        pytest.approx(5 / 6),
        pytest.approx(2.5),
        pytest.approx(5 / 3),
    ]


def test_consistent_and_eventual_reads_are_never_combined() -> None:
    async def main() -> Any:
        client = FakeReader({1: 10, 2: 10, 3: 10})
        got, _ = await read_all(client, [get(1), get(2, consistent=False), get(3)])
        return client, got

    client, got = asyncio.run(main())
    assert got[1] is SEND_ALONE  # alone in its kind
    assert len(client.sent) == 1 and client.sent[0]["RequestItems"][TABLE]["ConsistentRead"]
    assert [found_ns(g) for g in (got[0], got[2])] == [[1], [3]]


def test_a_read_alone_or_with_combining_off_goes_back_to_its_caller() -> None:
    async def main() -> Any:
        client = FakeReader({1: 10})
        alone, _ = await read_all(client, [get(1)])
        off, _ = await read_all(client, [get(1), get(2)], reads=False)
        writes_off, _ = await read_all(client, [get(1), get(2)], writes=False)
        return client, alone, off, writes_off

    client, alone, off, writes_off = asyncio.run(main())
    assert alone == [SEND_ALONE] and off == [SEND_ALONE, SEND_ALONE]
    assert len(client.sent) == 1 and writes_off[0] is not SEND_ALONE


def test_a_read_with_a_key_handed_back_is_sent_again_alone() -> None:
    async def main() -> Any:
        client = FakeReader({1: 10, 2: 10, 3: 10})
        client.hand_back = {"thread-2"}
        return await read_all(client, [get(1), get(2, 3), get(3)])

    got, calls = asyncio.run(main())
    assert got[1] is SEND_ALONE
    assert [found_ns(g) for g in (got[0], got[2])] == [[1], [3]]
    assert calls[0].throttles == 1 and calls[1].read_units == 0


def test_a_read_batch_that_fails_sends_every_read_back_or_fails_them_all() -> None:
    async def main(code: str) -> Any:
        client = FakeReader({1: 10, 2: 10})
        client.fail = ClientError({"Error": {"Code": code, "Message": "no"}}, "BatchGetItem")
        combiners = Combiners(client, WHERE, asyncio.get_running_loop())
        return await asyncio.gather(
            *(combiners.send(get(n), CallStats()) for n in (1, 2)), return_exceptions=True
        )

    assert asyncio.run(main("ValidationException")) == [SEND_ALONE, SEND_ALONE]
    unreachable = asyncio.run(main("ServiceUnavailable"))
    assert all(isinstance(g, errors.UnavailableError) for g in unreachable)
    assert "dynamodb:BatchGetItem" in str(unreachable[0])


def test_chunks_read_are_counted_in_the_call_that_read_them() -> None:
    async def main() -> Any:
        client = FakeReader({1: 10})
        chunk = item(7, sk=schema.CHUNK_PREFIX + "c1")
        client.items[schema.ident(chunk)] = chunk
        chunk_get = Request(
            "batch_get_item",
            {
                "RequestItems": {
                    TABLE: {"Keys": [key(7, schema.CHUNK_PREFIX + "c1")], "ConsistentRead": True}
                }
            },
        )
        return await read_all(client, [get(1), chunk_get])

    got, calls = asyncio.run(main())
    assert [c.chunks_read for c in calls] == [0, 1]


def test_the_driver_combines_concurrent_reads_and_sends_a_lone_one_as_it_was() -> None:
    async def main() -> Any:
        client = FakeReader({n: 10 for n in range(5)})
        combiners = Combiners(client, WHERE, asyncio.get_running_loop())
        flows = [
            bulk.batch_get(TableCtx(table=TABLE, consistent_read=True), [key(n)]) for n in range(4)
        ]
        together = await asyncio.gather(
            *(_drivers.run_async(f, client, CallStats(), WHERE, combiners) for f in flows)
        )
        sent = len(client.sent)
        alone = await _drivers.run_async(
            bulk.batch_get(TableCtx(table=TABLE, consistent_read=True), [key(4)]),
            client,
            CallStats(),
            WHERE,
            combiners,
        )
        return together, sent, alone, client

    together, sent, alone, client = asyncio.run(main())
    assert sent == 1 and len(client.sent) == 2
    assert [[schema.ident(i) for i in t] for t in together] == [
        [schema.ident(key(n))] for n in range(4)
    ]
    assert [schema.ident(i) for i in alone] == [schema.ident(key(4))]


@pytest.mark.parametrize(
    "bad_key",
    [
        {**key(1), "extra": {"S": "x"}},
        {schema.PK: {"S": "thread-1"}, schema.SK: {"N": "1"}},
        {schema.PK: {"S": 1}, schema.SK: {"S": "head"}},
    ],
)
def test_a_read_whose_keys_are_not_the_tables_own_is_sent_alone(bad_key: Any) -> None:
    """Alone, DynamoDB refuses it and its caller meets the error; sent together, it would
    fail every call it was sent with."""
    request_ = Request("batch_get_item", {"RequestItems": {TABLE: {"Keys": [key(2), bad_key]}}})
    assert combinable_keys(request_, TABLE) is None


def test_a_write_batch_that_names_a_key_twice_is_sent_alone() -> None:
    twice = Request(
        "batch_write_item",
        {
            "RequestItems": {
                TABLE: [{"PutRequest": {"Item": item(1)}}, {"DeleteRequest": {"Key": key(1)}}]
            }
        },
    )
    assert combinable_entries(twice, TABLE) is None


def test_no_caller_is_left_waiting_when_a_response_cannot_be_read() -> None:
    class Unreadable(FakeReader):
        async def batch_get_item(self, **params: Any) -> dict[str, Any]:
            await asyncio.sleep(0)
            return {"Responses": {TABLE: [{"no key": {"S": "x"}}]}}

    async def main() -> Any:
        client = Unreadable({})
        combiners = Combiners(client, WHERE, asyncio.get_running_loop())
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        return await asyncio.wait_for(
            asyncio.gather(*(combiners.send(get(n), CallStats()) for n in (1, 2))), 5
        )

    assert asyncio.run(main()) == [SEND_ALONE, SEND_ALONE]


def test_a_caller_cancelled_while_its_read_is_out_leaves_the_request_to_the_next() -> None:
    async def main() -> Any:
        client = FakeReader({1: 10, 2: 10, 3: 10})
        combiners = Combiners(client, WHERE, asyncio.get_running_loop())
        calls = [CallStats() for _ in range(3)]
        tasks = [
            asyncio.ensure_future(combiners.send(get(n), c))
            for n, c in zip((1, 2, 3), calls, strict=True)
        ]
        while not client.sent:  # the shared request is out
            await asyncio.sleep(0)
        tasks[0].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return client, calls

    client, calls = asyncio.run(main())
    assert len(client.sent) == 1 and len(client.sent[0]["RequestItems"][TABLE]["Keys"]) == 3
    # the cancelled call was counted when it ended: the request and the units go to the others
    assert calls[0].requests == {} and calls[0].read_units == 0
    assert calls[1].requests == {"batch_get_item": 1}
    assert calls[1].read_units + calls[2].read_units == 3.0


def test_the_bytes_of_a_shared_request_are_shared_to_the_byte() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        shared = CallStats(bytes_sent=100, bytes_received=1001)
        waiting = [
            Waiting.reading(get(n), [key(n)], CallStats(), loop.create_future()) for n in (1, 2, 3)
        ]
        _combine._share_out(shared, waiting, [True] * 3, [[1]] * 3)
        return [w.call for w in waiting]

    calls = asyncio.run(main())
    assert sum(c.bytes_sent for c in calls) == 100
    assert sum(c.bytes_received for c in calls) == 1001
    assert [c.total_requests for c in calls] == [0, 0, 0]  # shared.requests is empty here
