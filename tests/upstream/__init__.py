"""LangGraph's own tests, from the sdist of the installed langgraph, run on our classes."""
