"""chorus.core.textsignals on a labelled set of 200 short English and French sentences."""

from __future__ import annotations

import pathlib

import pytest

from chorus.core.textsignals import Sentiment, detect_language, sentiment

DATA = pathlib.Path(__file__).parent / "data" / "sentiment_en_fr.tsv"
LANGUAGE_FLOOR = 0.97
SENTIMENT_FLOOR = {"en": 0.90, "fr": 0.85}


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, label, text = line.split("\t")
            rows.append((language, label, text))
    return rows


def test_the_labelled_set_is_200_balanced_sentences():
    rows = _rows()
    assert len(rows) == 200
    assert sum(1 for r in rows if r[0] == "en") == 100
    assert {r[1] for r in rows} == {"positive", "negative", "neutral"}
    assert len({r[2] for r in rows}) == 200


def test_language_detection_accuracy_restricted_to_english_and_french(capsys):
    rows = _rows()
    right = sum(1 for language, _label, text in rows if detect_language(text, ["en", "fr"]) == language)
    accuracy = right / len(rows)
    with capsys.disabled():
        print(f"\nlanguage detection accuracy (en/fr, 200 sentences): {accuracy:.3f}")
    assert accuracy >= LANGUAGE_FLOOR


@pytest.mark.parametrize("language", ["en", "fr"])
def test_sentiment_accuracy(language, capsys):
    rows = [r for r in _rows() if r[0] == language]
    right = sum(1 for _language, label, text in rows if sentiment(text, language).label == label)
    accuracy = right / len(rows)
    with capsys.disabled():
        print(f"\nsentiment accuracy ({language}, 100 sentences, 3 classes): {accuracy:.3f}")
    assert accuracy >= SENTIMENT_FLOOR[language]


def test_other_languages_are_unknown_not_guessed():
    assert sentiment("Das ist wirklich wunderbar", "de") == Sentiment("unknown", None)
    assert sentiment("anything", None).label == "unknown"
    assert detect_language("Das ist ein wirklich schöner Tag in Berlin, finde ich", ["en", "fr"]) is None
    assert detect_language("Esto es una noticia muy buena para todos nosotros", ["en", "fr"]) is None


def test_no_letters_or_no_languages_gives_none():
    assert detect_language("https://example.org @someone.bsky.social 123 !!!", ["en", "fr"]) is None
    assert detect_language("Hello everyone, see you tonight", []) is None


def test_unknown_language_code_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown language code"):
        detect_language("hello", ["en", "klingon"])


def test_french_negation_and_links_handled():
    assert sentiment("Ce n'est pas bon du tout", "fr").label == "negative"
    assert sentiment("Franchement pas mal, ce nouveau site", "fr").label == "positive"
    assert sentiment("Bravo !! https://example.org/x @asso.bsky.social", "fr").label == "positive"
    positive = sentiment("C'est très bien", "fr")
    assert positive.score is not None and 0 < positive.score <= 1
