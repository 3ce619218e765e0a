from tests.demo.fixtures import demo_bank, demo_db, demo_session, staff_token

__all__ = ["demo_bank", "demo_db", "demo_session", "staff_token"]
