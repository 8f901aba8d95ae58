from tests.connectors.graph_fake import graph, meta_apps  # noqa: F401  (fixtures)
