"""Scale-out tests: several API processes sharing state only through PostgreSQL and Redis."""
