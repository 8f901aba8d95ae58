"""Listening queries: parse, validate, and match every active query of every workspace at once.

A query's expression is words and "quoted phrases" joined by AND, OR, NOT and parentheses (two
terms side by side mean AND); a term may be a #hashtag or an @handle. Matching is case- and
accent-insensitive and works on whole words: "vote" does not match "voter", "climat" matches
"#climat". A query also lists hashtags and handles (any of them is enough), authors to include
or exclude, languages and networks.

The compiled `Matcher` puts the terms of all queries into one Aho-Corasick automaton
(pyahocorasick), finds the terms present in a post in one pass, and evaluates the boolean tree of
only those queries that contain one of them. Every expression must require at least one term
(validation refuses "NOT x" alone), so a query none of whose terms is present cannot match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
from django.utils.translation import gettext as _

MAX_EXPRESSION = 1000
MAX_TERMS = 60
MAX_LIST = 50
NETWORKS = ("bluesky", "mastodon", "x", "instagram")


class QueryInvalid(ValueError):
    pass


# --- text normalisation --------------------------------------------------------------------------

_TOKEN = re.compile(r"[#@]|[\w]+(?:[.\-][\w]+)*")


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Lower case, accents removed (é -> e), compatibility forms unified."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def tokens(text: str) -> list[str]:
    """Words, with '#' and '@' as tokens of their own so "#climat" contains the word "climat"."""
    return _TOKEN.findall(fold(text))


def padded(text: str) -> str:
    """The form the automaton scans: tokens separated and surrounded by single spaces."""
    return _join(tokens(text))


def _join(words: list[str]) -> str:
    return " " + " ".join(words) + " "


def term_key(term: str) -> str:
    return padded(term)


# --- expressions ---------------------------------------------------------------------------------

Node = tuple[Any, ...]  # ("term", key) | ("not", node) | ("and", [nodes]) | ("or", [nodes])

_LEX = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([^\s()"]+))')
_OPERATORS = {"AND", "OR", "NOT"}


def _lex(expression: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        m = _LEX.match(text, position)
        if m is None:
            raise QueryInvalid(_('Unclosed quote: every phrase needs a closing ".'))
        position = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3) is not None:
            out.append(("term", m.group(3)))
        else:
            word = m.group(4)
            out.append((word, word) if word in _OPERATORS else ("term", word))
    return out


class _Parser:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        self.i = 0
        self.terms: list[str] = []

    def peek(self) -> str | None:
        return self.items[self.i][0] if self.i < len(self.items) else None

    def take(self) -> tuple[str, str]:
        item = self.items[self.i]
        self.i += 1
        return item

    def parse(self) -> Node:
        if not self.items:
            raise QueryInvalid(_("The expression is empty."))
        node = self.or_expr()
        if self.peek() == ")":
            raise QueryInvalid(_("A closing parenthesis has no opening one."))
        if self.i != len(self.items):
            raise QueryInvalid(_("Unexpected %(word)s.") % {"word": self.items[self.i][1]})
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.peek() in ("AND", "NOT", "term", "("):
            if self.peek() == "AND":
                self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_expr(self) -> Node:
        if self.peek() == "NOT":
            self.take()
            return ("not", self.not_expr())
        return self.atom()

    def atom(self) -> Node:
        kind = self.peek()
        if kind is None:
            raise QueryInvalid(
                _("The expression ends with an operator: AND, OR and NOT need a term after them.")
            )
        if kind == "(":
            self.take()
            node = self.or_expr()
            if self.peek() != ")":
                raise QueryInvalid(_("A parenthesis is not closed."))
            self.take()
            return node
        if kind == "term":
            raw = self.take()[1]
            key = term_key(raw)
            if key.strip() == "":
                raise QueryInvalid(_("The term %(term)s has no letters or digits.") % {"term": f'"{raw}"'})
            self.terms.append(key)
            return ("term", key)
        raise QueryInvalid(
            _("%(word)s needs a term before it (write operators in capitals between terms).") % {"word": kind}
        )


def parse(expression: str) -> tuple[Node, list[str]]:
    """The boolean tree of an expression and its distinct term keys; QueryInvalid when malformed."""
    if len(expression) > MAX_EXPRESSION:
        raise QueryInvalid(
            _("The expression is too long (at most %(n)d characters).") % {"n": MAX_EXPRESSION}
        )
    parser = _Parser(_lex(expression))
    node = parser.parse()
    terms = list(dict.fromkeys(parser.terms))
    if len(terms) > MAX_TERMS:
        raise QueryInvalid(_("Too many terms (at most %(n)d).") % {"n": MAX_TERMS})
    if evaluate(node, frozenset()):
        raise QueryInvalid(
            _(
                "The expression must require at least one word: as written it matches posts that contain none of its terms."
            )
        )
    return node, terms


def evaluate(node: Node, present: frozenset[str] | set[str]) -> bool:
    kind = node[0]
    if kind == "term":
        return node[1] in present
    if kind == "not":
        return not evaluate(node[1], present)
    if kind == "and":
        return all(evaluate(child, present) for child in node[1])
    return any(evaluate(child, present) for child in node[1])


# --- a query, validated --------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """What the matcher needs of a post, whichever network it comes from."""

    network: str
    author_id: str  # Bluesky DID, Mastodon account URL
    text: str
    author_handle: str = ""
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()  # handles or DIDs from the network's facets / mentions


@dataclass
class QuerySpec:
    id: int
    workspace_id: int
    expression: str = ""
    hashtags: Sequence[str] = ()
    mentions: Sequence[str] = ()
    authors_include: Sequence[str] = ()
    authors_exclude: Sequence[str] = ()
    languages: Sequence[str] = ()
    networks: Sequence[str] = ()
    tree: Node | None = field(default=None, compare=False)
    terms: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.hashtags = [fold(h.lstrip("#")) for h in self.hashtags if h.strip("# ")]
        self.mentions = [fold(m.lstrip("@")) for m in self.mentions if m.strip("@ ")]
        self.authors_include = [fold(a.lstrip("@")) for a in self.authors_include if a.strip("@ ")]
        self.authors_exclude = [fold(a.lstrip("@")) for a in self.authors_exclude if a.strip("@ ")]
        self.languages = [x.lower() for x in self.languages if x]
        self.networks = [x.lower() for x in self.networks if x]
        if self.expression.strip():
            self.tree, self.terms = parse(self.expression)

    def filters_pass(self, post: Post, author: set[str] | None = None) -> bool:
        """`author`, when the caller has it, is `author_keys(post)`."""
        if self.networks and post.network not in self.networks:
            return False
        if author is None:
            author = author_keys(post)
        if self.authors_exclude and not author.isdisjoint(self.authors_exclude):
            return False
        return not (self.authors_include and author.isdisjoint(self.authors_include))

    def topic_matches(
        self,
        present: frozenset[str],
        post: Post,
        tags: set[str] | None = None,
        handles: set[str] | None = None,
    ) -> bool:
        """`tags` and `handles`, when the caller has them, are `hashtags_of(post)` and
        `_mentions_of(post)` (computed once per post rather than once per query)."""
        if self.tree is not None and evaluate(self.tree, present):
            return True
        if self.hashtags:
            if tags is None:
                tags = hashtags_of(post)
            if not tags.isdisjoint(self.hashtags):
                return True
        if self.mentions:
            if handles is None:
                handles = _mentions_of(post)
            if not handles.isdisjoint(self.mentions):
                return True
        has_topic = self.tree is not None or self.hashtags or self.mentions
        return not has_topic and bool(self.authors_include)


def author_keys(post: Post) -> set[str]:
    return {fold(post.author_id), fold(post.author_handle)} - {""}


def hashtags_of(post: Post, words: list[str] | None = None) -> set[str]:
    """The post's hashtags (folded, without '#'): those the network lists and those in the text."""
    found = {fold(h.lstrip("#")) for h in post.hashtags}
    words = tokens(post.text) if words is None else words
    if "#" in words:
        found.update(words[i + 1] for i, w in enumerate(words[:-1]) if w == "#")
    return found


def _mentions_of(post: Post, words: list[str] | None = None) -> set[str]:
    found = {fold(m.lstrip("@")) for m in post.mentions}
    words = tokens(post.text) if words is None else words
    if "@" in words:
        found.update(words[i + 1] for i, w in enumerate(words[:-1]) if w == "@")
    return found


def validate(
    *,
    expression: str,
    hashtags: Iterable[str] = (),
    mentions: Iterable[str] = (),
    authors_include: Iterable[str] = (),
    authors_exclude: Iterable[str] = (),
    languages: Iterable[str] = (),
    networks: Iterable[str] = (),
) -> None:
    """QueryInvalid with a message a person can act on, or nothing."""
    from chorus.core.textsignals import known_languages

    lists = {
        _("hashtags"): list(hashtags),
        _("mentions"): list(mentions),
        _("authors to include"): list(authors_include),
        _("authors to exclude"): list(authors_exclude),
    }
    for label, values in lists.items():
        if len(values) > MAX_LIST:
            raise QueryInvalid(_("Too many %(what)s (at most %(n)d).") % {"what": label, "n": MAX_LIST})
        for value in values:
            if not re.fullmatch(r"[#@]?[\w.:\-]{1,253}", value.strip()):
                raise QueryInvalid(
                    _("%(value)s is not a valid entry for %(what)s (one word, no spaces).")
                    % {"value": value, "what": label}
                )
    bad_networks = sorted(set(networks) - set(NETWORKS))
    if bad_networks:
        raise QueryInvalid(_("Unknown network: %(name)s.") % {"name": ", ".join(bad_networks)})
    bad_languages = sorted({x.lower() for x in languages} - known_languages())
    if bad_languages:
        raise QueryInvalid(_("Unknown language code: %(code)s.") % {"code": ", ".join(bad_languages)})
    if expression.strip():
        parse(expression)
    elif not (lists[_("hashtags")] or lists[_("mentions")] or lists[_("authors to include")]):
        raise QueryInvalid(_("A query needs words, hashtags, mentions or authors to include."))


# --- the compiled matcher ------------------------------------------------------------------------


class Matcher:
    """All active queries in one automaton. `match(post)` returns the ids of the queries it matches
    (before the language filter, which needs the post's detected language: see `language_filter`)."""

    def __init__(self, queries: Iterable[QuerySpec]) -> None:
        self.queries = {q.id: q for q in queries}
        self.automaton: Any = ahocorasick.Automaton()
        by_term: dict[str, set[int]] = {}
        self.by_hashtag: dict[str, set[int]] = {}
        self.by_mention: dict[str, set[int]] = {}
        self.by_author: dict[str, set[int]] = {}
        for q in self.queries.values():
            for term in q.terms:
                by_term.setdefault(term, set()).add(q.id)
            for tag in q.hashtags:
                self.by_hashtag.setdefault(tag, set()).add(q.id)
            for handle in q.mentions:
                self.by_mention.setdefault(handle, set()).add(q.id)
            if not (q.tree is not None or q.hashtags or q.mentions):
                for author in q.authors_include:
                    self.by_author.setdefault(author, set()).add(q.id)
        for term, ids in by_term.items():
            self.automaton.add_word(term, (term, frozenset(ids)))
        self.empty = not by_term
        if not self.empty:
            self.automaton.make_automaton()
        # The screen: one word of every term (its longest), every hashtag and every handle, found
        # as plain substrings of the folded text. Every token of a post is a substring of its folded
        # text, so a post in which the screen finds nothing has none of the terms, none of the
        # hashtags and none of the handles in its text: most of the firehose is turned away here,
        # before it is split into words (which cost more than this scan).
        self.screen: Any = None
        screen_words = {max(term.split(), key=len) for term in by_term}
        screen_words.update(self.by_hashtag)
        screen_words.update(self.by_mention)
        screen_words.discard("")
        if screen_words:
            self.screen = ahocorasick.Automaton()
            for word in screen_words:
                self.screen.add_word(word, None)
            self.screen.make_automaton()

    def __len__(self) -> int:
        return len(self.queries)

    def screen_text(self, folded: str) -> bool:
        """Whether a folded text holds one word of a term, a hashtag or a handle (as a substring)."""
        if self.screen is not None:
            for _hit in self.screen.iter(folded):
                return True
        return False

    def may_match(self, folded: str, post: Post) -> bool:
        """False when no query can match the post (`folded` is `fold(post.text)`); cheap."""
        if self.screen_text(folded):
            return True
        if (self.by_hashtag and post.hashtags) or (self.by_mention and post.mentions):
            return True
        if self.by_author:
            return fold(post.author_id) in self.by_author or fold(post.author_handle) in self.by_author
        return False

    def match(self, post: Post, folded: str | None = None) -> list[int]:
        """`folded`, when the caller has it already, is `fold(post.text)`."""
        if folded is None:
            folded = fold(post.text)
        if not self.may_match(folded, post):
            return []
        candidates: set[int] = set()
        present: set[str] = set()
        words = _TOKEN.findall(folded)
        if not self.empty and words:
            for _end, (term, ids) in self.automaton.iter(_join(words)):
                present.add(term)
                candidates.update(ids)
        # The post's hashtags, handles and author keys, worked out once for all its candidates.
        tags = hashtags_of(post, words)
        handles = _mentions_of(post, words)
        author = author_keys(post)
        if self.by_hashtag:
            for tag in tags:
                candidates.update(self.by_hashtag.get(tag, ()))
        if self.by_mention:
            for handle in handles:
                candidates.update(self.by_mention.get(handle, ()))
        if self.by_author:
            for key in author:
                candidates.update(self.by_author.get(key, ()))
        if not candidates:
            return []
        found = frozenset(present)
        matched = []
        for query_id in candidates:
            q = self.queries[query_id]
            if q.filters_pass(post, author) and q.topic_matches(found, post, tags, handles):
                matched.append(query_id)
        matched.sort()
        return matched

    @staticmethod
    def language_filter(query: QuerySpec, language: str | None) -> bool:
        return not query.languages or language in query.languages


def brute_force(queries: Iterable[QuerySpec], post: Post) -> list[int]:
    """The reference the property test compares `Matcher` with: every query, every term, by `in`."""
    text = padded(post.text)
    out = []
    for q in queries:
        present = frozenset(t for t in q.terms if t in text)
        if q.filters_pass(post) and q.topic_matches(present, post):
            out.append(q.id)
    return sorted(out)
