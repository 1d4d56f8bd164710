"""The RFM grid: customers and their revenue per recency x frequency score cell, the RFM
segments they make, and the people behind each number (profiles/computed/scores.py
computes the scores)."""
