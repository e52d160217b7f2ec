"""liveagent: the visitor side of Salesforce's Live Agent (Chat) REST API, from the shell."""

__version__ = "0.1.0"
