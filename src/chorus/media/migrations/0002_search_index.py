"""SQLite: an FTS5 trigram index over MediaAsset.search_text, kept in step by triggers, so a
substring search over 50,000 files does not scan them all. PostgreSQL keeps the plain LIKE
(a pg_trgm GIN index is the equivalent there; see chorus.media.queries)."""

from django.db import migrations

CREATE = [
    "CREATE VIRTUAL TABLE media_search USING fts5(search_text, content='media_mediaasset', content_rowid='id', tokenize='trigram')",
    "INSERT INTO media_search(media_search) VALUES ('rebuild')",
    """CREATE TRIGGER media_search_ai AFTER INSERT ON media_mediaasset BEGIN
         INSERT INTO media_search(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER media_search_ad AFTER DELETE ON media_mediaasset BEGIN
         INSERT INTO media_search(media_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER media_search_au AFTER UPDATE OF search_text ON media_mediaasset BEGIN
         INSERT INTO media_search(media_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
         INSERT INTO media_search(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
]
DROP = [
    "DROP TRIGGER IF EXISTS media_search_au",
    "DROP TRIGGER IF EXISTS media_search_ad",
    "DROP TRIGGER IF EXISTS media_search_ai",
    "DROP TABLE IF EXISTS media_search",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("media", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
