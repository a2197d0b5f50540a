"""Team members and API keys: who may do what."""
