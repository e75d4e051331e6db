"""The spaCy extractor on hand-written paragraphs: entities with the right types and
confidences, verb relations with their evidence, co-occurrences, and rejected input."""

import pytest

import integrations.extraction as extraction_module
from integrations.extraction import (
    CO_OCCURS_WITH,
    UnprocessableTextError,
    extract,
    noisy_or,
    pipeline,
    slugify_relation,
)

CURIE = (
    "Marie Curie worked at the University of Paris. She was born in Warsaw. "
    "Pierre Curie founded a laboratory in Paris with Paul Langevin."
)
COMPANIES = (
    "Microsoft was founded by Bill Gates in Albuquerque in 1975. "
    "Apple Inc. opened a new office in London. Google acquired YouTube in 2006."
)


def entities_by_name(extraction):
    return {e.name: e for e in extraction.entities}


def relation(extraction, source, rel_type, target):
    names = {e.key: e.name for e in extraction.entities}
    matches = [
        r
        for r in extraction.relationships
        if names[r.source] == source and names[r.target] == target and r.type == rel_type
    ]
    return matches[0] if matches else None


def test_people_organisations_and_places_are_found_with_their_types():
    found = entities_by_name(extract(CURIE + " " + COMPANIES))
    expected = {
        "Marie Curie": "person",
        "Pierre Curie": "person",
        "Paul Langevin": "person",
        "Bill Gates": "person",
        "University of Paris": "organization",
        "Microsoft": "organization",
        "Apple Inc.": "organization",
        "Google": "organization",
        "Warsaw": "location",
        "Paris": "location",
        "Albuquerque": "location",
        "London": "location",
    }
    for name, entity_type in expected.items():
        assert name in found, f"{name} not extracted; got {sorted(found)}"
        assert found[name].type == entity_type
    for entity in found.values():
        assert 0 < entity.confidence <= 1
        assert all(0 < m.score <= 1 for m in entity.mentions)


def test_dates_and_numbers_are_not_entities():
    found = entities_by_name(extract(COMPANIES))
    assert "1975" not in found
    assert "2006" not in found


def test_mention_offsets_point_at_the_name_in_the_text():
    text = CURIE + " " + COMPANIES
    for entity in extract(text).entities:
        for mention in entity.mentions:
            assert text[mention.start : mention.end] == mention.text


def test_leading_article_is_not_part_of_the_name():
    found = entities_by_name(extract(CURIE))
    assert "University of Paris" in found
    assert "the University of Paris" not in found


def test_verb_relation_with_its_evidence_sentence():
    extraction = extract(CURIE)
    worked = relation(extraction, "Marie Curie", "work_at", "University of Paris")
    assert worked is not None
    [evidence] = worked.evidence
    assert evidence.sentence == "Marie Curie worked at the University of Paris."
    assert CURIE[evidence.start : evidence.end] == evidence.sentence
    people = entities_by_name(extraction)
    expected = people["Marie Curie"].confidence * people["University of Paris"].confidence
    assert worked.confidence == pytest.approx(expected)


def test_prepositional_and_passive_relations():
    extraction = extract(CURIE + " " + COMPANIES)
    assert relation(extraction, "Pierre Curie", "found_in", "Paris") is not None
    assert relation(extraction, "Pierre Curie", "found_with", "Paul Langevin") is not None
    # Passive voice: the agent is the source.
    assert relation(extraction, "Bill Gates", "found", "Microsoft") is not None
    assert relation(extraction, "Google", "acquire", "YouTube") is not None


def test_entities_of_one_sentence_without_a_linking_verb_co_occur_with_lower_confidence():
    extraction = extract(CURIE)
    co = relation(extraction, "Paris", CO_OCCURS_WITH, "Paul Langevin")
    assert co is not None
    verb = relation(extraction, "Pierre Curie", "found_in", "Paris")
    assert co.confidence < verb.confidence
    # Never both a verb relation and a co-occurrence for the same pair.
    assert relation(extraction, "Pierre Curie", CO_OCCURS_WITH, "Paris") is None


def test_entities_in_different_sentences_are_not_related():
    extraction = extract(CURIE)
    names = {e.key: e.name for e in extraction.entities}
    pairs = {frozenset((names[r.source], names[r.target])) for r in extraction.relationships}
    assert frozenset(("Marie Curie", "Warsaw")) not in pairs


def test_mentions_of_one_entity_combine_by_noisy_or():
    text = "Ada Lovelace met Charles Babbage in London. Ada Lovelace wrote about London."
    found = entities_by_name(extract(text))
    london = found["London"]
    assert len(london.mentions) == 2
    p1, p2 = (m.score for m in london.mentions)
    assert london.confidence == pytest.approx(1 - (1 - p1) * (1 - p2))
    assert london.confidence >= max(p1, p2)


def test_a_surname_alone_is_the_one_full_name_it_belongs_to():
    text = "Marie Curie worked in Paris. Later Curie received a prize in Stockholm."
    extraction = extract(text)
    found = entities_by_name(extraction)
    assert "Curie" not in found
    assert [m.text for m in found["Marie Curie"].mentions] == ["Marie Curie", "Curie"]
    # Relations of the surname's sentence belong to the full name.
    assert relation(extraction, "Marie Curie", "receive_in", "Stockholm") is not None


def test_noisy_or_is_clipped_to_the_unit_interval():
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([1.0, 0.2]) == 1.0
    assert 0 < noisy_or([0.0]) <= 1e-6
    assert noisy_or([1.7]) == 1.0


@pytest.mark.parametrize("text", ["12345 678", "  \n\t ", "!!! ??? ... 42"])
def test_text_without_letters_is_unprocessable(text):
    with pytest.raises(UnprocessableTextError):
        extract(text)


def test_text_the_pipeline_rejects_is_unprocessable(settings):
    nlp = pipeline()
    limit = nlp.max_length
    nlp.max_length = 50
    try:
        with pytest.raises(UnprocessableTextError):
            extract("Marie Curie worked at the University of Paris for many years.")
    finally:
        nlp.max_length = limit


def test_the_pipeline_is_loaded_once_per_process():
    assert pipeline() is pipeline()


@pytest.mark.parametrize(
    ("words", "slug"),
    [("found in", "found_in"), ("work  at", "work_at"), ("Acquire", "acquire"), ("42 x", CO_OCCURS_WITH)],
)
def test_relation_types_are_slugs(words, slug):
    assert slugify_relation(words) == slug


def test_spans_longer_than_an_entity_name_are_dropped(monkeypatch):
    monkeypatch.setattr(extraction_module, "NAME_MAX_LENGTH", 12)
    found = entities_by_name(extract(CURIE))
    assert "University of Paris" not in found  # 19 characters
    assert "Marie Curie" in found  # 11 characters
