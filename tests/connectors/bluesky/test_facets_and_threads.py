"""Facets carry UTF-8 byte offsets; length is counted in graphemes; threads split at boundaries."""

from __future__ import annotations

from chorus.connectors.bluesky.facets import detect_facets, grapheme_count, split_thread


def _spans(text: str) -> list[tuple[str, str]]:
    data = text.encode("utf-8")
    out = []
    for facet in detect_facets(text, lambda handle: "did:plc:alice" if handle == "alice.test" else None):
        index = facet["index"]
        out.append(
            (
                facet["features"][0]["$type"].split("#")[1],
                data[index["byteStart"] : index["byteEnd"]].decode(),
            )
        )
    return out


def test_it_counts_bytes_not_characters_after_emoji_and_accents() -> None:
    text = "Été 👨‍👩‍👧‍👦 à Paris: https://example.org/é?x=1."
    facet = detect_facets(text, lambda h: None)[0]
    prefix = "Été 👨‍👩‍👧‍👦 à Paris: "
    assert facet["index"]["byteStart"] == len(prefix.encode("utf-8"))
    assert facet["index"]["byteStart"] != len(prefix)
    assert facet["features"][0]["uri"] == "https://example.org/é?x=1"  # the final dot is not the link's


def test_it_finds_links_mentions_and_hashtags_in_order() -> None:
    text = "Merci @alice.test ❤️ pour #Solidarité! Voir www.example.org et @nobody.test #2024"
    assert _spans(text) == [
        ("mention", "@alice.test"),
        ("tag", "#Solidarité"),
        ("link", "www.example.org"),
    ]
    link = next(f for f in detect_facets(text, lambda h: None) if "link" in f["features"][0]["$type"])
    assert link["features"][0]["uri"] == "https://www.example.org"


def test_it_ignores_emails_and_url_fragments() -> None:
    assert _spans("write to team@alice.test or see https://example.org/#top") == [
        ("link", "https://example.org/#top")
    ]


def test_it_counts_graphemes_like_bluesky() -> None:
    assert grapheme_count("👨‍👩‍👧‍👦") == 1
    assert grapheme_count("🇫🇷é") == 2
    assert grapheme_count("e\u0301") == 1  # e + combining acute accent
    assert grapheme_count("x" * 300) == 300


def test_it_splits_a_long_text_at_sentence_boundaries() -> None:
    sentence = "Nous marchons ensemble pour le climat 🌍. "
    parts = split_thread(sentence * 20)
    assert len(parts) == 3
    assert all(grapheme_count(p) <= 300 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == (sentence * 20).strip()


def test_it_splits_a_text_without_spaces_mid_word() -> None:
    parts = split_thread("a" * 650)
    assert [len(p) for p in parts] == [300, 300, 50]
