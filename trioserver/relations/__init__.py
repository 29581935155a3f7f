"""Relations between events (client-server API, "Forming relationships
between events"): parsing ``m.relates_to``, the indexer that fills
``event_relations`` from the roomserver's output stream, and the pure rules
of server-side aggregation."""

from trioserver.relations.aggregation import latest_valid_edit, thread_participated
from trioserver.relations.indexer import RelationsIndexer
from trioserver.relations.parse import relation_row

__all__ = ["RelationsIndexer", "latest_valid_edit", "relation_row", "thread_participated"]
