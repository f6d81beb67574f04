"""The content domain: documents ("sprouts") that climb tiers seed -> sprout -> sapling ->
tree -> grove when their usage signals meet advancement rules.

A plugin like a team's own package: it registers through this project's entry point
(``grove_jobs.contrib.content.jobs``), and the engine, alerts and notifications never import
it. Its tables stay in the core migration chain.

- ``tables``: documents, signal events and aggregations, advancement events;
- ``rules``: the ``advancement-rule`` config type; ``evaluator``: pure rule evaluation;
- ``signals``: aggregation periods, the aggregate query and the portable upsert;
- ``repositories``: the queries and writes the handlers share;
- ``advancement_batch``, ``signal_aggregation``: its job types; ``extensions``: documents in
  the orphan cleanup and advancements in the digest;
- ``demo_content``: the seeded demo documents and signals.
"""
