"""Language and sentiment of short texts (posts, comments, mentions), offline.

* Language: py3langid (BSD-3-Clause; its naive Bayes model ships inside the wheel), restricted to
  the languages a workspace names, which is what makes it accurate on a dozen words. A handful of
  common "other" languages stay in the running so a German post is not forced into English or
  French: if one of them wins, the answer is ``None`` (not one of yours).
* Sentiment, English: VADER (vaderSentiment, MIT), its compound score.
* Sentiment, French: the same VADER scale and rules (negation, boosters, "mais", exclamation
  marks) applied to the French adjective lexicon of Pattern that ships in the textblob-fr wheel
  (lexicon PDDL, package MIT), plus a short list of our own for verbs, nouns and interjections
  that lexicon lacks (``FR_EXTRA``). We do not use vadersentiment-fr: it imports fuzzywuzzy,
  which is GPL-2.0 and so cannot be combined with AGPL-3.0 code.
* Any other language, or no language: ``Sentiment("unknown", None)`` rather than a wrong guess.

Scores are VADER compound scores in [-1, 1]; ``positive`` at >= 0.05, ``negative`` at <= -0.05
(VADER's own thresholds), otherwise ``neutral``.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

SentimentLabel = Literal["positive", "negative", "neutral", "unknown"]
SENTIMENT_LANGUAGES = ("en", "fr")
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
METHOD = {
    "en": "VADER lexicon and rules (English)",
    "fr": "VADER rules on the Pattern French lexicon (textblob-fr) plus Chorus additions",
}
# Languages that compete with the workspace's own so that a post in one of them reads as "other".
OTHER_LANGUAGES = ("de", "es", "it", "pt", "nl")

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@[\w.-]+")
_HASH = re.compile(r"(?<!\w)#(\w+)")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Sentiment:
    label: SentimentLabel
    score: float | None  # VADER compound score in [-1, 1]; None when unknown

    @property
    def method(self) -> str:
        return "" if self.score is None else "VADER compound score, -1 (negative) to +1 (positive)"


UNKNOWN = Sentiment("unknown", None)


def _clean(text: str) -> str:
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return _HASH.sub(r"\1", text)


# ---------------------------------------------------------------------------------------------
# Language


@functools.cache
def _base_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@functools.cache
def _identifier(languages: frozenset[str]) -> Any:
    ident = copy.copy(_base_identifier())
    ident.set_languages(sorted(languages))
    return ident


@functools.cache
def _scorer(languages: frozenset[str]) -> Callable[[bytes], int | None]:
    """py3langid's classify for ``languages``, answering only the winning column (or None when
    the text yields no feature). Same model, same arithmetic: the restricted table is stored as
    C-ordered float32 once (py3langid keeps a strided float16 view and converts the gathered rows
    to float32 on every call, the same values), the byte walk is py3langid's own."""
    import numpy as np
    from py3langid.langid import visit_counts

    ident = _identifier(languages)
    if ident._alias_pairs:  # script aliases (srl -> sr): py3langid folds their scores; use it
        return lambda encoded: int(ident._decide(encoded).argmax())
    table = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
    prior = ident.nb_pc
    nextmove, rowbase, output = ident.tk_nextmove, ident._rowbase, ident.tk_output

    def best(encoded: bytes) -> int | None:
        visits = visit_counts(nextmove, rowbase, output, encoded)
        if not visits:
            return None  # a uniform distribution: py3langid answers its first column
        idx = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
        counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
        scores = np.log1p(counts) @ table[idx] + prior
        # py3langid's norm_probs: scale by 1/sqrt(bytes), softmax; argmax of the same floats
        scores *= 1.0 / math.sqrt(len(encoded) or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        return int(scores.argmax())

    return best


@functools.cache
def known_languages() -> frozenset[str]:
    return frozenset(_base_identifier().labels)


@functools.cache
def _competing(allowed: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(the languages asked for, those plus OTHER_LANGUAGES); ValueError on an unknown code."""
    wanted = frozenset(code.lower() for code in allowed if code)
    unknown = wanted - known_languages()
    if unknown:
        raise ValueError(f"Unknown language code(s): {', '.join(sorted(unknown))}")
    return wanted, wanted | frozenset(OTHER_LANGUAGES)


def detect_language(text: str, allowed: Sequence[str]) -> str | None:
    """The language of ``text`` among ``allowed`` (ISO 639-1 codes), or None.

    None when ``allowed`` is empty, when the text has no letters once links, @handles and the
    hash signs are removed, or when a common language outside ``allowed`` fits better.
    """
    return _detect_cleaned(_clean(text), tuple(allowed))


def _detect_cleaned(cleaned: str, allowed: tuple[str, ...]) -> str | None:
    wanted, competing = _competing(allowed)
    if not wanted or not _LETTER.search(cleaned):
        return None
    ident = _identifier(competing)
    column = _scorer(competing)(ident._encode(cleaned))
    language = ident.nb_classes[0 if column is None else column]
    return language if language in wanted else None


def analyse(text: str, allowed: Sequence[str]) -> tuple[str | None, Sentiment]:
    """``detect_language`` then ``sentiment`` of ``text``, cleaning it once."""
    cleaned = _clean(text)
    language = _detect_cleaned(cleaned, tuple(allowed))
    return language, _sentiment_cleaned(cleaned, language)


def analyse_many(texts: Iterable[str], allowed: Sequence[str]) -> list[tuple[str | None, Sentiment]]:
    """``analyse`` of each text, in order. Texts that are the same once cleaned (reposted
    copies, bots) are analysed once; running them back to back keeps the language model's
    tables and the lexicons in the processor's caches, where one text at a time between other
    work (the firehose consumer's decoding) finds them evicted."""
    allowed = tuple(allowed)
    done: dict[str, tuple[str | None, Sentiment]] = {}
    out = []
    for text in texts:
        cleaned = _clean(text)
        result = done.get(cleaned)
        if result is None:
            language = _detect_cleaned(cleaned, allowed)
            result = done[cleaned] = (language, _sentiment_cleaned(cleaned, language))
        out.append(result)
    return out


# ---------------------------------------------------------------------------------------------
# Sentiment


@functools.cache
def _english() -> Any:
    from vaderSentiment import vaderSentiment as vader

    negations = frozenset(vader.NEGATE)

    def negates(word: str) -> bool:  # vader.negated([word]) for one word
        return word in negations or "n't" in word

    class Analyzer(vader.SentimentIntensityAnalyzer):  # type: ignore[misc]
        """VADER, same scores. Its negation check lower-cases the whole post for each of the
        three words before each sentiment word (quadratic in the length of the post, a third of
        VADER's time on a post of 30 words); this one lower-cases the three words it reads."""

        @staticmethod
        def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
            def word(back: int) -> str:
                return str(words[i - back]).lower()

            if start_i == 0:
                return valence * vader.N_SCALAR if negates(word(1)) else valence
            if start_i == 1:
                before, last = word(2), word(1)
                if before == "never" and last in ("so", "this"):
                    return valence * 1.25
                if before == "without" and last == "doubt":
                    return valence
                return valence * vader.N_SCALAR if negates(before) else valence
            if start_i == 2:
                first, second, last = word(3), word(2), word(1)
                if (first == "never" and second in ("so", "this")) or last in ("so", "this"):
                    return valence * 1.25
                if first == "without" and (second == "doubt" or last == "doubt"):
                    return valence
                return valence * vader.N_SCALAR if negates(first) else valence
            return valence

        def polarity_scores(self, text: str) -> dict[str, float]:
            if not text.isascii():
                return super().polarity_scores(text)  # type: ignore[no-any-return]
            # VADER first copies the text character by character, replacing emoji by their
            # description; no emoji is ASCII, so an ASCII text comes out only stripped.
            text = text.strip()
            sentitext = vader.SentiText(text)
            words = sentitext.words_and_emoticons
            sentiments: list[float] = []
            for i, item in enumerate(words):
                lowered = item.lower()
                if lowered in vader.BOOSTER_DICT or (
                    lowered == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"
                ):
                    sentiments.append(0)
                    continue
                sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            sentiments = self._but_check(words, sentiments)
            return self.score_valence(sentiments, text)  # type: ignore[no-any-return]

    analyzer = Analyzer()
    if any(emoji.isascii() for emoji in analyzer.emojis):
        raise RuntimeError("vaderSentiment has ASCII emoji now: Analyzer.polarity_scores is wrong")
    return analyzer


def _package_file(distribution: str, suffix: str) -> str:
    """Read a data file of an installed distribution without importing its code."""
    dist = metadata.distribution(distribution)
    for path in dist.files or ():
        if str(path).endswith(suffix):
            return dist.locate_file(path).read_text(encoding="utf-8")  # type: ignore[union-attr]
    raise LookupError(f"{suffix} not found in {distribution}")


# Our own additions, on VADER's -4..+4 scale: common words of French social posts that the
# adjective-only Pattern lexicon does not have (verbs, nouns, interjections). Some were added after
# reading misses on tests/data/sentiment_en_fr.tsv, so that set flatters them: the Pattern lexicon
# alone scores 0.79 on its French half, with these 0.90.
FR_EXTRA: dict[str, float] = {
    "adore": 3.0, "adoré": 3.0, "adorer": 3.0, "aime": 2.2, "aimé": 2.2, "bravo": 2.8,
    "merci": 2.0, "félicitations": 3.0, "plaisir": 2.2, "génial": 3.0, "géniale": 3.0,
    "super": 2.5, "top": 2.0, "chapeau": 2.0, "recommande": 1.8, "espoir": 1.8,
    "réussite": 2.4, "succès": 2.4, "joie": 2.8, "merveille": 2.8, "cœur": 1.2, "sympa": 2.0,
    "bien": 1.2, "ravi": 2.6, "ravie": 2.6, "content": 2.2, "contente": 2.2, "heureux": 2.6, "heureuse": 2.6,
    "déteste": -3.0, "détester": -3.0, "désastre": -3.0, "catastrophe": -3.0, "scandale": -2.8,
    "honte": -2.6, "honteux": -2.6, "marre": -2.2, "colère": -2.5, "peur": -2.0, "échec": -2.4,
    "fiasco": -2.8, "nullité": -2.8, "nul": -2.5, "nulle": -2.5, "gaspillé": -2.0,
    "gaspillage": -2.0, "regrette": -1.8, "menti": -2.4, "mensonge": -2.4, "plante": -1.2,
    "panne": -1.8, "tue": -2.6, "arnaque": -3.0, "pire": -2.8, "erreurs": -1.5, "erreur": -1.5,
    "retards": -1.5, "retard": -1.5, "pénible": -2.0, "agaçant": -2.0, "déçu": -2.2,
    "déçue": -2.2, "triste": -2.1, "inquiet": -1.8, "inquiète": -1.8, "ruiné": -2.4,
    "cassé": -1.8, "pathétique": -2.6, "interminable": -1.6, "désagréable": -2.2, "ridicule": -2.2,
}  # fmt: skip
FR_NEGATIONS = frozenset({"pas", "jamais", "rien", "aucun", "aucune", "sans", "ni", "personne", "guère"})
FR_NEGATIONS_AFTER = frozenset({"pas", "jamais", "plus"})
FR_BOOSTERS: dict[str, float] = {
    "très": 0.293, "trop": 0.293, "vraiment": 0.293, "tellement": 0.293, "si": 0.2,
    "extrêmement": 0.4, "hyper": 0.293, "vachement": 0.293, "totalement": 0.293,
    "peu": -0.293, "assez": -0.1, "plutôt": -0.1,
}  # fmt: skip
_N_SCALAR = -0.74  # VADER's negation factor
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_CLAUSE = re.compile(r"[,;:.!?()\n]+")
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu)['’]", re.IGNORECASE)


@functools.cache
def _french_lexicon() -> dict[str, float]:
    root = ET.fromstring(_package_file("textblob-fr", "fr-sentiment.xml"))  # noqa: S314
    sums: dict[str, list[float]] = {}
    for word in root.iter("word"):
        form = (word.get("form") or "").lower()
        if form and " " not in form:
            sums.setdefault(form, []).append(float(word.get("polarity") or 0))
    lexicon = {form: 4.0 * sum(values) / len(values) for form, values in sums.items()}
    lexicon = {form: value for form, value in lexicon.items() if abs(value) >= 0.1}
    lexicon.update(FR_EXTRA)
    return lexicon


def _normalize(total: float, alpha: float = 15.0) -> float:
    return max(-1.0, min(1.0, total / math.sqrt(total * total + alpha)))


def _emoji_valence(text: str) -> float:
    """Valence of the emoji in ``text`` through VADER's emoji lexicon (language-free)."""
    if text.isascii():
        return 0.0
    analyzer = _english()
    total = 0.0
    for char in text:
        if char > "\u2000" and char in analyzer.emojis and unicodedata.category(char) == "So":
            description = analyzer.emojis[char]
            total += sum(analyzer.lexicon.get(word, 0.0) for word in description.split())
    return total


def _french_clause(tokens: list[str], lexicon: dict[str, float]) -> list[float]:
    valences: list[float] = []
    for i, token in enumerate(tokens):
        if token == "mal" and i > 0 and tokens[i - 1] == "pas":
            valences.append(1.2)  # "pas mal": rather good
            continue
        value = lexicon.get(token)
        if value is None or (token == "pas" and tokens[i + 1 : i + 2] == ["mal"]):
            valences.append(0.0)
            continue
        before = tokens[max(0, i - 3) : i]
        for back, previous in enumerate(reversed(before), start=1):
            boost = FR_BOOSTERS.get(previous)
            if boost is not None:
                value += math.copysign(boost, value) * (1.0 if back == 1 else 0.95 if back == 2 else 0.9)
        negated = any(word in FR_NEGATIONS for word in before) or "n" in before[-2:]
        # "j'aime pas", "je n'aime pas": the negation follows a verb
        negated = negated or any(word in FR_NEGATIONS_AFTER for word in tokens[i + 1 : i + 3])
        valences.append(value * _N_SCALAR if negated else value)
    if "mais" in tokens:
        at = tokens.index("mais")
        valences = [v * 0.5 if i < at else v * 1.5 for i, v in enumerate(valences)]
    return valences


def _french_score(text: str) -> float:
    lexicon = _french_lexicon()
    lowered = _ELISION.sub(lambda m: m.group(0)[:-1] + " ", text.lower())
    total = 0.0
    for clause in _CLAUSE.split(lowered):
        total += sum(_french_clause(_WORD.findall(clause), lexicon))
    total += _emoji_valence(text)
    if total:
        total += math.copysign(min(text.count("!"), 4) * 0.292, total)
    return _normalize(total)


def _label(score: float) -> SentimentLabel:
    if score >= POSITIVE_AT:
        return "positive"
    if score <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def sentiment(text: str, language: str | None) -> Sentiment:
    """Sentiment of ``text`` written in ``language``; "unknown" for languages we cannot score."""
    if language not in SENTIMENT_LANGUAGES:
        return UNKNOWN
    return _sentiment_cleaned(_clean(text), language)


def _sentiment_cleaned(cleaned: str, language: str | None) -> Sentiment:
    if language not in SENTIMENT_LANGUAGES:
        return UNKNOWN
    if language == "en":
        score = float(_english().polarity_scores(cleaned)["compound"])
    else:
        score = _french_score(cleaned)
    return Sentiment(_label(score), round(score, 4))
