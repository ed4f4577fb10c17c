"""The store: LangGraph's long-term memory (``BaseStore``) on DynamoDB.

================  ==============================================================
``keys``          the key formats of items, chunks and the directory
``schema``        the item payload's fields
``vectors``       embeddings as float32 bytes
``match``         filters, namespace conditions, ranking: ``InMemoryStore``'s rules
``items``         building and reading items and directory entries
``flows``         get, put/delete, search, list_namespaces, TTL refresh as flows
``batch``         one batch of ops as one flow (embeddings as compute steps)
``dynamodb_store``  ``DynamoDBStore``, the public class (the I/O shell)
================  ==============================================================
"""

from __future__ import annotations

from langgraph_dynamodb.store.dynamodb_store import DynamoDBStore

__all__ = ["DynamoDBStore"]
