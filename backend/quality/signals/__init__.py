"""Pure data-quality signals computed on every message.

Each module is plain Python plus its library: no Django models, no database, no settings.
Each has a ``VERSION`` string that changes whenever its behaviour changes, so stored
results can say which version produced them and be recomputed when it moves on.

- ``language``: which language a text is in, and whether it contradicts the declared one.
- ``toxicity``: a 0..1 score from a per-language scorer registry (English built in).
- ``pii``: spans of e-mail addresses, phone numbers, cards, IBANs, IP addresses, secrets
  and street addresses, and a function that masks them.
- ``duplicates``: exact keys and MinHash signatures with an LSH index for near-copies.
- ``leakage``: the evaluation-set prompt a text copies, scored with sentence BLEU.
"""
