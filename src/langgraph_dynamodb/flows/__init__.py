"""Every saver operation, written once as a flow: a generator that yields requests
(:class:`~langgraph_dynamodb.steps.Request`) and receives their responses. No I/O here; the
sync and async drivers (:mod:`langgraph_dynamodb._drivers`) run every flow, so the two
APIs cannot drift.

================  ===========================================================
``context``       :class:`Ctx` (settings and memory of a saver), config targets
``bulk``          batched writes and reads with retries, paginated reads
``read``          the :class:`~.read.Reader` of one namespace (the one loop of
                  reads), ``get_tuple``, ``get_delta_channel_history``, a
                  checkpoint's task paths, a thread's items, rewriting a
                  head whole
``write``         ``put``, ``put_writes``, fenced writes
``listing``       ``list``, a thread's dump (for exports)
``maintenance``   ``setup``, ``delete_thread`` (tombstones), ``copy_thread``,
                  ``prune``, ``delete_for_runs`` (run markers)
``threads``       the thread directory: pages of it, whether it is complete,
                  a thread's entry written for an older table
================  ===========================================================
"""

from __future__ import annotations

from langgraph_dynamodb.flows.bulk import query_all
from langgraph_dynamodb.flows.context import Ctx, Target, target_of
from langgraph_dynamodb.flows.listing import dump_thread, list_checkpoints
from langgraph_dynamodb.flows.maintenance import (
    copy_thread,
    delete_for_runs,
    delete_thread,
    prune,
    setup,
)
from langgraph_dynamodb.flows.read import (
    delta_channel_history,
    get_tuple,
    task_paths,
    thread_items,
)
from langgraph_dynamodb.flows.threads import (
    DirectoryPage,
    directory_is_complete,
    directory_page,
    index_thread,
    mark_directory_complete,
)
from langgraph_dynamodb.flows.write import put, put_writes

__all__ = [
    "Ctx",
    "DirectoryPage",
    "Target",
    "copy_thread",
    "delete_for_runs",
    "delete_thread",
    "delta_channel_history",
    "directory_is_complete",
    "directory_page",
    "dump_thread",
    "get_tuple",
    "index_thread",
    "list_checkpoints",
    "mark_directory_complete",
    "prune",
    "put",
    "put_writes",
    "query_all",
    "setup",
    "target_of",
    "task_paths",
    "thread_items",
]
