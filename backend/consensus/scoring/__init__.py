"""Scoring: plain data in, plain results out, no ORM.

``backend.consensus.loading`` reads votes into the structures these functions take;
``backend.consensus.services`` writes what they return. The same functions score one
group or message as soon as its votes are in and a whole project in a rescore, so
both give the same results from the same votes.
"""
