"""Local imitations of outside services for the demo and the tests (loopback only)."""
