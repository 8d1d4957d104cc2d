"""schemathesis hooks for the full run, as in the test suite (tests/support/st.py): a
request generated as valid honours the cross-field rules the document lists, and no admin
action takes the one server of the run out of service."""

from __future__ import annotations

from typing import Any

import schemathesis

from tests.support.st import wanted


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    raw = case.operation.schema.raw_schema
    return wanted(case, raw.get("components", {}).get("schemas", {}))
