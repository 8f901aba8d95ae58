"""The compiled matcher (one Aho-Corasick automaton for all queries) against a brute-force evaluator,
plus the parser's rules and messages."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chorus.listening.matching import Matcher, Post, QueryInvalid, QuerySpec, brute_force, parse, validate

WORDS = [
    "vote",
    "voter",
    "climat",
    "climate",
    "école",
    "ecole",
    "plan",
    "a",
    "b",
    "paris",
    "fête",
    "l'eau",
    "eau",
]
HANDLES = ["did:plc:alice", "did:plc:bob", "carol.test"]


def spec(id: int, expression: str = "", **extra) -> QuerySpec:
    return QuerySpec(id=id, workspace_id=1, expression=expression, **extra)


def post(text: str, **extra) -> Post:
    return Post(
        network=extra.pop("network", "bluesky"),
        author_id=extra.pop("author_id", "did:plc:alice"),
        text=text,
        **extra,
    )


def ids(queries, p):
    return Matcher(queries).match(p)


def test_whole_words_case_and_accents():
    queries = [spec(1, "vote"), spec(2, '"plan climat"'), spec(3, "ecole"), spec(4, "#climat")]
    assert ids(queries, post("Allez VOTER demain")) == []
    assert ids(queries, post("Go vote!")) == [1]
    assert ids(queries, post("Le Plan  Climat de la ville")) == [2]
    assert ids(queries, post("plan pour le climat")) == []
    assert ids(queries, post("Une École ouverte")) == [3]
    assert ids(queries, post("Marche pour le #Climat")) == [4]
    assert ids(queries, post("Le climat change")) == []  # "#climat" asks for the hashtag


def test_boolean_operators_and_precedence():
    queries = [
        spec(1, "climat AND NOT paris"),
        spec(2, "vote OR école"),
        spec(3, "(a OR b) plan"),
        spec(4, "a b OR plan"),
    ]
    assert ids(queries, post("climat à Lyon")) == [1]
    assert ids(queries, post("climat à Paris")) == []
    assert ids(queries, post("une école")) == [2]
    assert ids(queries, post("b et plan")) == [3, 4]
    assert ids(queries, post("a seul")) == []
    assert ids(queries, post("plan seul")) == [4]  # OR binds looser than the implicit AND


def test_filters_hashtags_mentions_authors_networks():
    queries = [
        spec(1, hashtags=["#Fete"]),
        spec(2, mentions=["did:plc:bob"]),
        spec(3, "vote", authors_exclude=["did:plc:alice"]),
        spec(4, "vote", networks=["mastodon"]),
        spec(5, authors_include=["carol.test"]),
    ]
    assert ids(queries, post("bonne fête", hashtags=("fête",))) == [1]
    assert ids(queries, post("hello", mentions=("did:plc:bob",))) == [2]
    assert ids(queries, post("vote")) == []
    assert ids(queries, post("vote", author_id="did:plc:bob")) == [3]
    assert ids(queries, post("vote", author_id="x", network="mastodon")) == [3, 4]
    assert ids(queries, post("anything", author_id="did:plc:carol", author_handle="carol.test")) == [5]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty"),
        ('"unclosed phrase', "Unclosed quote"),
        ("(vote OR climat", "not closed"),
        ("vote)", "closing parenthesis"),
        ("vote AND", "ends with an operator"),
        ("OR vote", "needs a term before it"),
        ("NOT vote", "at least one word"),
        ("vote OR NOT climat", "at least one word"),
        ('"!!!"', "no letters or digits"),
    ],
)
def test_invalid_expressions_say_why(expression, message):
    with pytest.raises(QueryInvalid, match=message):
        parse(expression)


def test_validation_of_the_other_fields():
    with pytest.raises(QueryInvalid, match="needs words"):
        validate(expression="")
    with pytest.raises(QueryInvalid, match="Unknown network"):
        validate(expression="vote", networks=["myspace"])
    with pytest.raises(QueryInvalid, match="Unknown language"):
        validate(expression="vote", languages=["xx"])
    with pytest.raises(QueryInvalid, match="not a valid entry"):
        validate(expression="", hashtags=["two words"])
    validate(expression="", hashtags=["#climat"])


# --- property test: the automaton and the brute force agree on every case ------------------------

word = st.sampled_from(WORDS)
term = st.one_of(
    word,
    st.builds(lambda w: "#" + w, st.sampled_from(["climat", "vote", "fête"])),
    st.builds(lambda a, b: f'"{a} {b}"', word, word),
)


expressions = st.recursive(
    term,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
        st.builds(lambda a, b: f"{a} NOT {b}", inner, inner),
        st.builds(lambda a, b: f"{a} {b}", inner, inner),
    ),
    max_leaves=6,
)


@st.composite
def query_specs(draw, id: int) -> QuerySpec:
    while True:
        expression = draw(st.one_of(expressions, st.just("")))
        hashtags = draw(st.lists(st.sampled_from(["climat", "vote", "fete"]), max_size=2))
        mentions = draw(st.lists(st.sampled_from(HANDLES), max_size=1))
        include = draw(st.lists(st.sampled_from(HANDLES), max_size=1))
        exclude = draw(st.lists(st.sampled_from(HANDLES), max_size=1))
        networks = draw(st.lists(st.sampled_from(["bluesky", "mastodon"]), max_size=1))
        try:
            validate(
                expression=expression,
                hashtags=hashtags,
                mentions=mentions,
                authors_include=include,
                authors_exclude=exclude,
                networks=networks,
            )
        except QueryInvalid:
            continue
        return QuerySpec(
            id=id,
            workspace_id=1,
            expression=expression,
            hashtags=hashtags,
            mentions=mentions,
            authors_include=include,
            authors_exclude=exclude,
            networks=networks,
        )


texts = st.lists(
    st.one_of(word, st.sampled_from(["#climat", "#Vote", "@carol.test", "!", ",", "ÉCOLE", "Fête", "x"])),
    max_size=12,
).map(" ".join)
posts = st.builds(
    Post,
    network=st.sampled_from(["bluesky", "mastodon"]),
    author_id=st.sampled_from(HANDLES),
    text=texts,
    hashtags=st.lists(st.sampled_from(["climat", "Vote"]), max_size=2).map(tuple),
    mentions=st.lists(st.sampled_from(HANDLES), max_size=2).map(tuple),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    count=st.integers(min_value=1, max_value=6),
    many_posts=st.lists(posts, min_size=1, max_size=5),
)
def test_matcher_agrees_with_brute_force(data, count, many_posts):
    queries = [data.draw(query_specs(i + 1)) for i in range(count)]
    matcher = Matcher(queries)
    for p in many_posts:
        assert matcher.match(p) == brute_force(queries, p), (p, [q.expression for q in queries])
