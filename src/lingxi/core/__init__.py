"""Shared plumbing only: database, errors, masking, events (outbox), jobs, realtime, time."""
