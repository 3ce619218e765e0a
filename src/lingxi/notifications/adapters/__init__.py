"""Outbound ports: one Protocol per channel kind, demo adapters that write to the developer outbox."""
