"""Named limits, each with the reason it has the value it has."""

from __future__ import annotations

#: DynamoDB rejects items over 400 KB (names and values counted). Payloads above this
#: many bytes go to chunk items, leaving room for keys and the other attributes.
MAX_INLINE_PAYLOAD_BYTES = 350_000

#: Size of one chunk item's payload; same reason as above.
CHUNK_BYTES = 350_000

#: DynamoDB: partition keys must be under 2048 bytes. Thread ids whose escaped form is
#: longer are stored as a digest (the plain id is kept in an attribute).
MAX_THREAD_KEY_BYTES = 1024

#: DynamoDB: sort keys must be under 1024 bytes, and a writes key holds a namespace, a
#: checkpoint id and a task id. Longer namespaces and task ids become digests.
MAX_COMPONENT_KEY_BYTES = 256

#: Checkpoint ids are never digested (their order matters); LangGraph's are 36 bytes.
MAX_CHECKPOINT_ID_BYTES = 256

#: DynamoDB: at most 25 put/delete requests per BatchWriteItem.
BATCH_WRITE_MAX_ITEMS = 25

#: DynamoDB: at most 100 keys per BatchGetItem.
BATCH_GET_MAX_KEYS = 100

#: Items read by the first Query of ``get_tuple`` when the saver does not know how many
#: writes the checkpoint has: the head, its writes, and one older item that proves the
#: writes are complete. Holders further back are fetched by key.
GET_TUPLE_QUERY_LIMIT = 4

#: Items per Query page of ``list`` and of thread-wide operations. A page also stops at
#: DynamoDB's 1 MB.
LIST_QUERY_LIMIT = 200

#: A list channel that only grew is stored as the appended tail on top of the previous
#: version (an append-only delta), so a chat turn writes what it adds, not the history
#: again. A read of the value brings its keyframe (the last whole copy) and every head
#: above it in one Query, so a chain ends (the value is written whole again) when the
#: extra a read brings, the deltas plus this many bytes per head of the chain...
DELTA_HOP_BYTES = 2048

#: ...passes this many times the value's size (or :data:`DELTA_MIN_BUDGET_BYTES`, for
#: small values). Keyframes then come at geometrically growing sizes: the bytes written
#: per append stay flat however long the list grows, and a read stays within a constant
#: factor of the value's own size.
DELTA_READ_FACTOR = 2

#: Smallest budget of a chain (bytes), so that small lists are not rewritten every step.
DELTA_MIN_BUDGET_BYTES = 4096

#: And a chain never has more bases than this (a bound on the heads a read walks).
MAX_DELTA_CHAIN = 96

#: Unchanged channels whose serialized value is at most this many bytes are stored again
#: rather than referenced: cheaper than a read that has to reach the holder. Larger ones
#: are referenced however far back their holder is (a read fetches it by key).
SMALL_VALUE_INLINE_BYTES = 512

#: Rounds of "read more, then try again" a read may take to resolve one checkpoint before
#: it reports the item as corrupt (each round reads a page, chunks or holders).
MAX_RESOLVE_ROUNDS = 1000

#: How many heads back the saver's read hint may walk (covers reference depth and delta
#: chains, whose heads come with the checkpoints in between, with room to spare).
MAX_HINT_WALK = 512

#: When a value does not serialize, the error names the part of it to blame: found by
#: serializing its parts one by one, at most this many levels deep and this many parts
#: per level (the error path only; a value that serializes never pays for it).
CULPRIT_MAX_DEPTH = 8
CULPRIT_MAX_PARTS = 1000

#: Heads whose channel layout the saver remembers (for references), per saver instance.
CHANNEL_INDEX_CACHE_SIZE = 4096

#: Retries of work DynamoDB hands back (UnprocessedItems / UnprocessedKeys) before
#: giving up with a clear error; each waits with bounded, jittered backoff.
UNPROCESSED_MAX_ATTEMPTS = 10
UNPROCESSED_BASE_DELAY_S = 0.05
UNPROCESSED_MAX_DELAY_S = 2.0

#: Optimistic merges of a task's regular writes (a rare race) before giving up.
WRITES_MERGE_MAX_ATTEMPTS = 8

#: With ``replication_wait`` (a global table): the shortest pause between two reads of a
#: checkpoint whose parts have not replicated yet (the backoff's jitter can be near 0).
REPLICATION_MIN_PAUSE_SECONDS = 0.1

#: With a TTL, how long a namespace's tombstone hides late writes of its deleted
#: lineages at least (twice the saver's TTL if longer: a late write expires before it);
#: without a TTL, tombstones do not expire, as nothing they hide does.
TOMBSTONE_TTL_SECONDS = 30 * 24 * 3600

#: With ``fencing=True``: attempts of a write whose transaction met a concurrent one on
#: the thread's fence (``TransactionConflict``, parallel tasks of one step) before giving up.
FENCE_CONFLICT_MAX_ATTEMPTS = 10

#: Attempts of a request whose connection is refused (nothing listens at the endpoint)
#: before it fails: a few seconds of botocore's backoff, instead of its whole retry
#: budget (about 40 s of silence). Other connection errors keep the budget.
REFUSED_CONNECTION_ATTEMPTS = 3

#: With a TTL, items expire at least ``ttl`` after they are written, rounded up to a window
#: of this fraction of ``ttl``: items written in one window expire together, so a new head
#: extends the expiry of an older head it needs at most once per window (a head never
#: outlives what it is made of).
TTL_WINDOW_FRACTION = 0.5

#: Store namespace labels and keys longer than this (escaped) are stored as a digest in
#: the sort key (the plain value is in the item), so a deep namespace still fits.
STORE_LABEL_KEY_BYTES = 128

#: DynamoDB: a sort key is at most 1024 bytes.
STORE_MAX_SK_BYTES = 1024

#: DynamoDB: a read unit is one strongly consistent read of up to 4 KB (two eventually
#: consistent ones); a Query is billed on the sum of its items' sizes, rounded up.
READ_UNIT_BYTES = 4096

#: Items a store skip-scan reads in its first Query while it lists namespaces: it jumps
#: past each namespace it finds, so the reads grow with the namespaces listed, not their
#: items. A page this size holds a small namespace whole (a user's few memories) and
#: costs about what two one-item Queries would.
STORE_LIST_PAGE = 25

#: While each page of a namespace listing holds more than one namespace (small ones),
#: the next is this many times larger, or sized for the namespaces still wanted at the
#: density the page showed if that is more (up to ``STORE_LIST_PAGE_MAX`` items), so a
#: root of many small namespaces is read in a few large pages rather than a Query for
#: each: 1,000 memories of 50 users are two Queries. A page that holds a single namespace
#: sets it to what one read unit holds (at most ``STORE_LIST_PAGE``). A search without a
#: query asks first for the items it needs (this many times as many with a filter), then
#: for what the share of matches so far says the rest needs.
STORE_LIST_PAGE_GROWTH = 4

#: The largest page of a namespace listing, in items (DynamoDB also stops a page at 1 MB).
STORE_LIST_PAGE_MAX = 6400

#: The store refreshes an item's TTL on read only when that moves its expiry by more
#: than this fraction of its TTL: at most one conditional write per tenth of a TTL.
STORE_TTL_REFRESH_FRACTION = 0.1

#: The store's vector index filters by namespace prefix through one attribute per depth
#: (``ns1`` ... ``ns8``: the encoded labels of the item's first 1 ... 8 labels), so a
#: search under any prefix up to this deep is one SearchVectors; a deeper prefix is
#: ranked on the client (a search schema holds at most 18 filter attributes, and every
#: depth adds its labels again to the item).
STORE_VECTOR_PREFIX_DEPTH = 8

#: DynamoDB: SearchVectors returns at most 100 results (``TopK``) and has no pagination.
#: A semantic search whose ``offset + limit`` is larger is ranked on the client.
SEARCH_VECTORS_MAX_TOP_K = 100

#: Results a native semantic search asks the index for, per result it returns (at least
#: :data:`STORE_VECTOR_MIN_EXTRA` more): room for an item's several fields, expired and
#: replaced items the index has not dropped yet. With a ``filter`` it asks for the most.
STORE_VECTOR_OVERFETCH = 2
STORE_VECTOR_MIN_EXTRA = 10

#: "auto" rechecks a table whose vector index is missing, backfilling or not ACTIVE this
#: often (one DescribeTable), and an ACTIVE one this often (an index can be deleted).
STORE_VECTOR_RECHECK_UNUSABLE_S = 60.0
STORE_VECTOR_RECHECK_USABLE_S = 900.0

#: Requests a flow sends at once (a :class:`~langgraph_dynamodb.steps.Fork`): the store's
#: Queries of several groups. Below botocore's default pool of 10 connections a client.
MAX_PARALLEL_REQUESTS = 8

#: ``setup()`` polls DescribeTable until the table is ACTIVE, for at most this long.
TABLE_ACTIVE_TIMEOUT_S = 300.0
TABLE_ACTIVE_POLL_S = 1.0

#: Default size above which payloads are compressed. Low on purpose: DynamoDB bills
#: stored bytes and reads by size, and with the built-in dictionary even a ~100-byte
#: writes item shrinks (a payload that does not shrink is stored as it is).
DEFAULT_COMPRESSION_THRESHOLD_BYTES = 64

#: Default zstandard level: level 3 is zstd's own default (fast, good ratio).
DEFAULT_ZSTD_LEVEL = 3

#: Payloads up to this many bytes (before compression: most heads and writes items) are
#: compressed at least at :data:`DEFAULT_ZSTD_SMALL_LEVEL`: on a few KB it costs tens of
#: microseconds more and stores ~6% fewer bytes; larger payloads keep the faster level.
ZSTD_SMALL_PAYLOAD_BYTES = 32 * 1024
DEFAULT_ZSTD_SMALL_LEVEL = 6

#: The replay model (the ``ui`` and ``mcp`` commands) lists threads from a keys-only Scan
#: of the whole table (there is no index of threads). A table whose last Scan took up to
#: this long is listed again for every first page (always current; a few thousand
#: threads).
REPLAY_SCAN_INLINE_S = 0.5

#: A bigger one (100,000 threads: 17 s on DynamoDB Local, far less on DynamoDB) is listed
#: once; pages come from the listing kept, and a first page asks for a new one in the
#: background once the kept one is this old: paging never waits for a Scan after the
#: first, and a new thread shows a page load after. Minutes, not seconds: DynamoDB Local
#: serves other reads of the table slowly while it scans (DynamoDB does not).
REPLAY_THREAD_LISTING_S = 300.0

#: Segments of that Scan, read at once: within botocore's pool of 10 connections a client.
REPLAY_SCAN_SEGMENTS = 8

#: Segments of the Scan that renews a listing in the background: few, leaving the
#: connections and the table's capacity to the pages read meanwhile.
REPLAY_RENEW_SEGMENTS = 2

#: Threads a page with a search examines (decoding their latest checkpoint to look at its
#: metadata) before it returns what it found with a cursor: a search that matches little
#: answers in bounded time, and the next page goes on from there.
REPLAY_SEARCH_THREADS_PER_PAGE = 500

#: Reads the replay model sends at once for a page of threads (their latest checkpoints
#: and sizes): below botocore's default pool of 10 connections.
REPLAY_PARALLEL_READS = 8

#: Characters of a string (and items of a list) a checkpoint's state shows before it is
#: cut with a marker (the whole value is one more request, ``value``).
REPLAY_MAX_CHARS = 2000
REPLAY_MAX_ITEMS = 200
