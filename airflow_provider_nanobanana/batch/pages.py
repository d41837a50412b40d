"""A batch's item records, kept in pages so that no stored value grows with the batch.

Airflow caps each stored value at 64 KB by default and sends every write through its API server,
so one document for a whole catalogue would pass the cap at a few hundred items and cost bytes
that grow with the square of the batch. Records are therefore stored by index range, one value
per page of :data:`PAGE_ITEMS` items (``<name>.p<start>``), and a step writes only the pages it
changed. Jobs are sent in index order, so the items in flight are a window of a few pages; the
pages holding an item that is not final (``open``) are all a step reads. A page that outgrows
:data:`~airflow_provider_nanobanana.ledger.store.VALUE_BUDGET` (long keys, four images an item)
is split in two at its middle item; the extra page starts (``splits``) are kept by the caller
with the rest of its head.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_provider_nanobanana.ledger.store import VALUE_BUDGET, TaskInstanceStore

PAGE_ITEMS = 25


class PagedRecords:
    """Records by item index, loaded page by page through ``store`` under ``name``.

    Pages start at every multiple of :data:`PAGE_ITEMS` and at each of ``splits``.

    :param extent: items from this index on have no record yet: a page starting there or later is
        new and not read, a page before it must exist, and a record found at or past it was
        written for a wave whose head never was (the worker was lost between the two), so it is
        dropped.
    :param open_pages: the pages holding a record that is not final.
    """

    def __init__(
        self,
        store: TaskInstanceStore,
        name: str,
        extent: int = 0,
        splits: Iterable[int] = (),
        open_pages: Iterable[int] = (),
    ) -> None:
        self._store, self._name = store, name
        self.extent = extent
        self.splits = sorted(splits)
        self.open_pages = set(open_pages)
        self._loaded: dict[int, dict[int, dict[str, Any]]] = {}
        self._dirty: set[int] = set()

    def page_of(self, index: int) -> int:
        start = index - index % PAGE_ITEMS
        split = self.splits[bisect.bisect_right(self.splits, index) - 1] if self.splits else -1
        return max(start, split)

    def page_starts(self) -> list[int]:
        regular = range(0, self.extent, PAGE_ITEMS)
        return sorted({*regular, *(split for split in self.splits if split < self.extent)})

    # -- reading ---------------------------------------------------------------------------------

    def get(self, index: int) -> dict[str, Any] | None:
        return self._page(self.page_of(index)).get(index)

    def _page(self, start: int) -> dict[int, dict[str, Any]]:
        if start not in self._loaded:
            stored = self._store.get(self._key(start), expected=True) if start < self.extent else None
            records = ((int(index), record) for index, record in (stored or {}).items())
            self._loaded[start] = {index: record for index, record in records if index < self.extent}
        return self._loaded[start]

    def open_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every record of the open pages, in index order (finished ones included)."""
        for start in sorted(self.open_pages):
            yield from sorted(self._page(start).items())

    def all_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every record in index order, a page at a time: what the manifest and a new try read.
        Pages not open are dropped from memory once read."""
        for start in self.page_starts():
            page = self._page(start)
            yield from sorted(page.items())
            if start not in self.open_pages and start not in self._dirty:
                self._loaded.pop(start, None)

    # -- writing ---------------------------------------------------------------------------------

    def put(self, index: int, record: dict[str, Any], *, is_open: bool) -> None:
        start = self.page_of(index)
        self._page(start)[index] = record
        self.extent = max(self.extent, index + 1)
        self._dirty.add(start)
        if is_open:
            self.open_pages.add(start)

    def flush(self, is_open: Any) -> None:
        """Write every changed page (splitting one that outgrew the budget), then forget pages
        with nothing open; ``is_open(record)`` says which records keep a page open."""
        for start in sorted(self._dirty):
            self._write(start)
        self._dirty.clear()
        for start in list(self.open_pages):
            if not any(is_open(record) for record in self._page(start).values()):
                self.open_pages.discard(start)
        for start in list(self._loaded):
            if start not in self.open_pages:
                del self._loaded[start]

    def _write(self, start: int) -> None:
        page = self._loaded[start]
        text = {str(index): record for index, record in sorted(page.items())}
        if len(json.dumps(text)) > VALUE_BUDGET and len(page) > 1:
            middle = sorted(page)[len(page) // 2]
            bisect.insort(self.splits, middle)
            self._loaded[middle] = {index: page.pop(index) for index in list(page) if index >= middle}
            if start in self.open_pages:
                self.open_pages.add(middle)
            self._write(start)
            self._write(middle)
            return
        self._store.set(self._key(start), text)

    def delete_all(self) -> None:
        for start in self.page_starts():
            self._store.delete(self._key(start))
        self._loaded.clear()
        self._dirty.clear()

    def _key(self, start: int) -> str:
        return f"{self._name}.p{start}"
