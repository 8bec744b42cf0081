"""The framework's floor: the least a Django + DRF claim → submit cycle can cost here.

A bare app with two models (a work item with open slots, an assignment), no real
authentication (the ``X-Volunteer`` header names the user id), no validation, audit,
policy or middleware. ``bench/load.py`` serves it exactly the way Arbor is served (the
same ASGI server command line from ``backend.common.serving``, the same worker count,
the same database settings and connection pool) and drives it with the same simulated
volunteers, so that Arbor's figures can be read as a ratio of what Django itself costs
on the same machine at the same moment.

- claim: one transaction: pick the oldest item with an open slot that this volunteer
  has not had, ``FOR UPDATE SKIP LOCKED``; take one slot with a conditional
  decrement; insert the assignment (3 statements);
- submit: one transaction of 4 statements: lock the volunteer's active assignment,
  mark it submitted with the answer, count the completion on its item, and insert a
  follow-up item (as a submitted reply creates review work in Arbor), so that work
  never runs out.
"""
