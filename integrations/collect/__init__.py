"""The Segment-compatible collection API: request parsing, message rules, storage."""
