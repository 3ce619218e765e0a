"""Work orders (工单): lifecycle, dispatch, SLA with escalation, duplicates, self-service.

See docs/tickets.md.
"""
