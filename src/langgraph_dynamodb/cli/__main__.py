"""``python -m langgraph_dynamodb.cli``: the command line without the console script."""

from langgraph_dynamodb.cli import console_script

console_script()
