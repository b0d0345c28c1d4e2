"""Several instances serving one deployment: PostgreSQL for state, Redis for what must cross
instances (DESIGN §6). Active only with ``THREADLINE_REDIS_URL``.

    drafts.py   RedisDrafts: the DraftStore in Redis, with a TTL
    streams.py  run events in Redis Streams: the owner appends, any instance tails and replays
    control.py  requests to the instance that owns a run (cancel, approvals) over pub/sub
    node.py     Cluster: wires the above into Services and RunManager, sweeps expired leases
"""
