"""The project's app and OpenAPI document, built once for the governance tests."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from agentos.governance.document import project_subject
from agentos.governance.model import Subject


@pytest.fixture(scope="module")
def project() -> Iterator[Subject]:
    with project_subject() as subject:
        yield subject


@pytest.fixture
def planted(project: Subject) -> Subject:
    """A copy of the project's document to plant one violation in (same app)."""
    return Subject(app=project.app, spec=copy.deepcopy(project.spec))
