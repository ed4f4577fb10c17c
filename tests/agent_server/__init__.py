"""docs/agent-server.md, proven: LangGraph's Agent Server (``langgraph dev``) runs the page's
project with ``DynamoDBSaver`` as its checkpointer and ``DynamoDBStore`` as its store."""
