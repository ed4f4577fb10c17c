"""Benchmark harness for langgraph-dynamodb against the other DynamoDB checkpointers.

Run ``python -m bench`` from the repository root (see ``bench/cli.py`` and
``docs/performance.md``). Scripts, not tests: nothing here is collected by pytest.
"""
