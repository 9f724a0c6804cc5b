"""Surveys read queries: `progress` (campaign and wave send counts) and `results`
(NPS, CSAT, CES and the rest, computed in the database)."""
