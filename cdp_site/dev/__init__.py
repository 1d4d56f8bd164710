"""Development tooling: the embedded PostgreSQL and Redis, the test and benchmark wrapper
(devservices), and the supervisor behind `manage.py up` (runner). None of it runs in
a production deployment."""
