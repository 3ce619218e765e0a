"""Outbound notifications: one port for customer notices (WeChat customer-service message, app push,
SMS) with quiet hours and consent, and console notices for staff. See docs/tickets.md#notifications."""
