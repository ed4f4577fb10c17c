"""The storage layer: how checkpoints and writes become DynamoDB items and come back.
Pure: no I/O, no state kept between calls.

Item kinds (keys, attributes and payload fields: :mod:`langgraph_dynamodb.schema`)::

    head     sk  c#<ns>#<checkpoint id>#~        the checkpoint, its metadata, and per
                                                 channel: its value, a delta on an older
                                                 head's value, or a reference to the head
                                                 that holds it
    writes   sk  c#<ns>#<checkpoint id>#w<task>#<tag>#    a task's pending writes
    chunk    sk  x#<nonce>#<seq>                 part of a payload over 350 KB

Modules, in the order a write goes through them (values become bytes in
:mod:`langgraph_dynamodb.codec`):

============  ====================================================================
``index``     per channel of a head: where its value is and what it is like
``deltas``    a grown list stored as the appended tail
``build``     what a put writes: the plan per channel, then the items of a put, a
              put_writes, a rewrite
``items``     raw items decoded lazily, for readers
``resolve``   a head's values through references and chains; the tuple
``requests``  the parameters (and expressions) of every request
============  ====================================================================
"""
