"""State that must be shared by every worker on every host.

* `redis_client`: the optional Redis connection (`PROMPTSMITH_REDIS_URL`), key naming.
* `cache`: `Cache` (bytes with a TTL) in Redis, or in-process without Redis.
* `ratelimit`: per-user / per-org / per-institution token buckets, atomic in
  Redis (a Lua script), or in-process without Redis.

Without Redis everything here still works, but per process: each worker has its
own caches and its own rate-limit budget.
"""
