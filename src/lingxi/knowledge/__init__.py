"""Knowledge base (FAQ): entries with versions and review, import/export, retrieval for the bot."""
