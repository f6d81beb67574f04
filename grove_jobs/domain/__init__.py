"""The content domain the jobs work on: documents ("sprouts") that climb tiers
seed -> sprout -> sapling -> tree -> grove when their usage signals meet advancement rules.

- ``tables``: documents, signal events and aggregations, advancement events, the outbox;
- ``evaluator``: the pure rule evaluation (no database);
- ``signals``: aggregation periods, the aggregate query and the portable upsert;
- ``repositories``: the queries and writes the handlers share;
- ``database``: one ``Database`` per worker process, opened from the run's context;
- ``demo_content``: the seeded demo documents and signals.
"""
