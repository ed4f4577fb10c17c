"""Items out of DynamoDB's JSON responses, without botocore's per-value model walk.

botocore parses a response by walking the service model for every value: each attribute
of each item is a modelled structure, so a Query that returns 50 items costs a few
thousand Python calls on top of ``json.loads``. Items are all the saver reads, and their
wire form is simple (``{"S": ...}``, ``{"B": base64}``, ``{"L": [...]}``, ...), so
:func:`split_response` converts them directly to exactly what botocore would return, and
leaves the rest of the response (counts, keys to resume from, consumed capacity, errors)
to botocore. The saver applies it only to clients it creates (see ``_drivers``).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

#: Operations whose items are converted here, and where their items are in the response.
ITEM_OPERATIONS = {"Query": "Items", "Scan": "Items", "BatchGetItem": "Responses"}


def attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value, as botocore's parser returns it (binary values decoded)."""
    if len(value) != 1:
        raise ValueError(f"an attribute value has {len(value)} types")
    if "S" in value or "N" in value:
        return value
    if "B" in value:
        return {"B": base64.b64decode(value["B"])}
    if "L" in value:
        return {"L": [attribute_value(v) for v in value["L"]]}
    if "M" in value:
        return {"M": {k: attribute_value(v) for k, v in value["M"].items()}}
    if "BS" in value:
        return {"BS": [base64.b64decode(v) for v in value["BS"]]}
    return value  # SS, NS, BOOL, NULL: as JSON has them


def item(raw: dict[str, Any]) -> dict[str, Any]:
    """One item, attribute by attribute."""
    return {name: attribute_value(value) for name, value in raw.items()}


def split_response(operation: str, body: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """Take the items out of a successful response body.

    Args:
        operation: The DynamoDB operation name.
        body: The raw JSON body of a 200 response.

    Returns:
        The body without its items (for botocore to parse the rest) and the converted
        items under their response key; ``None`` when the operation has no items to
        take or the body is not what was expected (botocore then parses all of it).
    """
    key = ITEM_OPERATIONS.get(operation)
    if key is None:
        return None
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or key not in data:
            return None
        found = data.pop(key)
        taken: Any
        if key == "Responses":
            taken = {table: [item(i) for i in items] for table, items in found.items()}
        else:
            taken = [item(i) for i in found]
    except (ValueError, TypeError, AttributeError, binascii.Error):
        return None
    return json.dumps(data).encode("utf-8"), {key: taken}
