"""Pure export and import formats: plain data in, plain data out, no ORM.

``records`` holds the shapes every writer reads (an export tree of nodes) and every
parser produces (an import tree); ``build`` turns database rows into export trees;
the writers (``oasst``, ``preferences``, ``sft``, ``parquet``) and the parsers
(``oasst_import``, ``sharegpt``) only know those shapes.
"""
