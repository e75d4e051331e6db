"""Entity and relationship extraction from English text with spaCy.

`extract(text)` returns what one document says: entities (typed, with a confidence and every
mention's character offsets) and relationships between them (a verb's lemma where the
dependency parse links two entities through one verb, `co_occurs_with` otherwise), each with
its evidence sentence. It knows nothing of owners or the database; the services resolve its
output into a user's graph.

Confidence comes from spaCy's beam-search NER run sentence by sentence: the beam's parses
are a probability distribution over analyses of the sentence, and a mention's score is the
total probability of the parses that contain exactly that span with that label
(`EntityRecognizer.scored_ents`). The scores of one entity's mentions combine by noisy-OR."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from entities.models import Entity, normalize_name

# spaCy and numpy are imported where they are used: the web process imports this module
# (through the services and the task registry) but never extracts, and should not pay
# spaCy's import time and memory in every web worker.
if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

# spaCy's OntoNotes labels to our entity types. Dates, times, quantities and numbers are not
# things a knowledge graph has nodes for, so those labels are skipped.
LABEL_TYPES: dict[str, str] = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
    "PRODUCT": "product",
    "EVENT": "event",
    "NORP": "concept",
    "WORK_OF_ART": "concept",
    "LAW": "concept",
    "LANGUAGE": "concept",
}

CO_OCCURS_WITH = "co_occurs_with"
NAME_MAX_LENGTH = Entity._meta.get_field("name").max_length
BEAM_WIDTH = 16
BEAM_DENSITY = 0.0001
# Scores are probabilities; a clipped floor keeps every stored confidence inside (0, 1].
_MIN_CONFIDENCE = 1e-6
_LEADING_ARTICLES = {"the", "a", "an"}
_SUBJECT_DEPS = {"nsubj"}
_OBJECT_DEPS = {"dobj", "attr", "oprd", "dative"}


class UnprocessableTextError(ValueError):
    """The text cannot be analysed: no letters at all, or the pipeline rejects it."""


@dataclass
class Mention:
    start: int  # character offsets in the document
    end: int
    text: str
    score: float

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text, "score": round(self.score, 6)}


@dataclass
class ExtractedEntity:
    name: str
    type: str
    label: str  # spaCy's label, e.g. "GPE"
    mentions: list[Mention] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, normalize_name(self.name))

    @property
    def confidence(self) -> float:
        return noisy_or(m.score for m in self.mentions)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "confidence": round(self.confidence, 6),
            "mentions": [m.as_dict() for m in self.mentions],
        }


@dataclass
class Evidence:
    sentence: str
    start: int  # character offsets of the sentence in the document
    end: int
    confidence: float

    def as_dict(self) -> dict:
        return {
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 6),
        }


@dataclass
class ExtractedRelationship:
    source: tuple[str, str]  # entity keys (type, normalized name)
    target: tuple[str, str]
    type: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return noisy_or(e.confidence for e in self.evidence)


@dataclass
class Extraction:
    entities: list[ExtractedEntity]
    relationships: list[ExtractedRelationship]


def noisy_or(probabilities: Iterable[float]) -> float:
    """1 - prod(1 - p): the chance that at least one of independent observations is right,
    clipped to (0, 1]."""
    miss = 1.0
    for p in probabilities:
        miss *= 1.0 - min(1.0, max(0.0, p))
    return min(1.0, max(_MIN_CONFIDENCE, 1.0 - miss))


@functools.cache
def pipeline() -> Language:
    """The spaCy pipeline, loaded once per process on first use (a worker pays the load once,
    the web process never unless it extracts)."""
    import spacy

    return spacy.load(settings.EXTRACTION_SPACY_MODEL)


def slugify_relation(text: str) -> str:
    """A verb (plus preposition) as a relationship type slug: "founded in" -> "found_in"."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")
    if not slug or not slug[0].isalpha():
        return CO_OCCURS_WITH
    return slug[:64]


def extract(text: str) -> Extraction:
    """Extracts the entities and relationships of one English document."""
    if not any(ch.isalpha() for ch in text):
        raise UnprocessableTextError("The text contains no letters.")
    nlp = pipeline()
    try:
        # NER runs below with a beam per sentence; the greedy pass would be thrown away.
        doc = nlp(text, disable=["ner"])
    except ValueError as exc:  # spaCy's E088 (too long) and other input errors
        raise UnprocessableTextError(str(exc)) from exc

    sentences = [s for s in doc.sents if any(t.is_alpha for t in s)]
    entities: dict[tuple[str, str], ExtractedEntity] = {}
    spans_by_sentence: list[list[tuple[Span, ExtractedEntity, float]]] = []
    for scored in _beam_entities(sentences):
        found = []
        for span, label, score in scored:
            entity = _entity_for(entities, span, label)
            entity.mentions.append(Mention(span.start_char, span.end_char, span.text, min(1.0, score)))
            found.append((span, entity, min(1.0, score)))
        spans_by_sentence.append(found)

    moved = _attach_surnames(entities)
    relationships: dict[tuple, ExtractedRelationship] = {}
    for sentence, mentions in zip(sentences, spans_by_sentence, strict=True):
        found = [(span, moved.get(entity.key, entity), score) for span, entity, score in mentions]
        for source, target, rel_type, confidence in _sentence_relations(found):
            if source.key == target.key:
                continue
            rel = relationships.setdefault(
                (source.key, target.key, rel_type),
                ExtractedRelationship(source=source.key, target=target.key, type=rel_type),
            )
            rel.evidence.append(Evidence(sentence.text, sentence.start_char, sentence.end_char, confidence))
    return Extraction(entities=list(entities.values()), relationships=list(relationships.values()))


def _beam_entities(sentences: list[Span]) -> list[list[tuple[Span, str, float]]]:
    """Per sentence: non-overlapping entity spans (in the document's tokens) with their label
    and beam probability, best first where candidates overlap."""
    if not sentences:
        return []
    ner = pipeline().get_pipe("ner")
    beams = _normalized_beam_parse(ner, [s.as_doc() for s in sentences])
    floor = settings.EXTRACTION_MIN_MENTION_SCORE
    out = []
    for sentence, scores in zip(sentences, ner.scored_ents(beams), strict=True):
        taken: list[tuple[int, int]] = []
        chosen = []
        for (start, end, label), score in sorted(scores.items(), key=lambda item: -item[1]):
            if score < floor or label not in LABEL_TYPES:
                continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            span = _trim(sentence.doc[sentence.start + start : sentence.start + end])
            if span is None:
                continue
            taken.append((start, end))
            chosen.append((span, label, score))
        chosen.sort(key=lambda item: item[0].start)
        out.append(chosen)
    return out


def _normalized_beam_parse(ner, docs: list[Doc]) -> list:
    """`EntityRecognizer.beam_parse` with each step's action scores log-softmax normalised.

    spaCy's own `beam_parse` ranks parses by the sum of raw action scores. The shipped
    pipelines are trained greedily (a softmax per step), so raw scores are not comparable
    across paths: long runs of "inside" actions accumulate and the beam settles on spans that
    cover a whole sentence. Normalising every step makes a path's score its log-probability
    under the model the pipeline was trained as, and the beam's parse probabilities then agree
    with the greedy decoding where it is sure and spread out where it is not."""
    import numpy
    from spacy.pipeline._parser_internals import _beam_utils

    batch = _beam_utils.BeamBatch(
        ner.moves, ner.moves.init_batch(docs), None, BEAM_WIDTH, density=BEAM_DENSITY
    )
    model = ner.model.predict(docs)
    while not batch.is_done:
        states = batch.get_unfinished_states()
        if not states:
            break
        scores = model.predict(states)
        scores = scores - scores.max(axis=1, keepdims=True)
        scores = scores - numpy.log(numpy.exp(scores).sum(axis=1, keepdims=True))
        batch.advance(numpy.ascontiguousarray(scores, dtype="float32"))
    model.clear_memory()
    return list(batch)


def _trim(span: Span) -> Span | None:
    """Drops a leading article and a trailing possessive or punctuation: "the University of
    Paris's" names "University of Paris"."""
    start, end = span.start, span.end
    doc = span.doc
    while start < end and (doc[start].lower_ in _LEADING_ARTICLES or doc[start].is_punct):
        start += 1
    while end > start and (doc[end - 1].tag_ == "POS" or doc[end - 1].is_punct):
        end -= 1
    if start == end or not any(t.is_alpha for t in doc[start:end]):
        return None
    trimmed = doc[start:end]
    # A "name" longer than an entity name may be is a runaway span, not a name.
    return trimmed if len(trimmed.text) <= NAME_MAX_LENGTH else None


def _entity_for(entities: dict, span: Span, label: str) -> ExtractedEntity:
    entity_type = LABEL_TYPES[label]
    name = " ".join(span.text.split())
    key = (entity_type, normalize_name(name))
    if key not in entities:
        entities[key] = ExtractedEntity(name=name, type=entity_type, label=label)
    return entities[key]


def _attach_surnames(
    entities: dict[tuple[str, str], ExtractedEntity],
) -> dict[tuple[str, str], ExtractedEntity]:
    """A one-word person ("Curie") that is the last name of exactly one full name in the same
    document ("Marie Curie") is that person: its mentions move to the full name. Returns the
    full name each removed key now stands for."""
    moved: dict[tuple[str, str], ExtractedEntity] = {}
    full_names: dict[str, list[ExtractedEntity]] = {}
    for entity in entities.values():
        parts = entity.key[1].split()
        if entity.type == "person" and len(parts) > 1:
            full_names.setdefault(parts[-1], []).append(entity)
    for key, entity in list(entities.items()):
        parts = key[1].split()
        owners = full_names.get(parts[0], []) if entity.type == "person" and len(parts) == 1 else []
        if len(owners) == 1:
            owners[0].mentions.extend(entity.mentions)
            moved[key] = owners[0]
            del entities[key]
    for entity in entities.values():
        entity.mentions.sort(key=lambda m: m.start)
    return moved


def _argument(root: Token) -> tuple[Token, str, str] | None:
    """Where an entity's head token hangs off a verb: (verb, role, preposition).

    Roles: "subject" (active subject or passive agent) and "object" (direct object, passive
    subject, or object of a preposition attached to the verb). Conjuncts and appositions
    take the role of the word they hang off ("Marie and Pierre worked ...")."""
    token = root
    for _ in range(4):
        if token.dep_ in {"conj", "appos"} and token.head is not token:
            token = token.head
        else:
            break
    head = token.head
    if token.dep_ in _SUBJECT_DEPS and head.pos_ == "VERB":
        return head, "subject", ""
    if token.dep_ == "nsubjpass" and head.pos_ == "VERB":
        return head, "passive_subject", ""
    if token.dep_ in _OBJECT_DEPS and head.pos_ == "VERB":
        return head, "object", ""
    if token.dep_ == "pobj" and head.dep_ == "agent" and head.head.pos_ == "VERB":
        return head.head, "agent", ""
    if token.dep_ == "pobj" and head.dep_ == "prep" and head.head.pos_ == "VERB":
        return head.head, "object", head.lower_
    return None


def _sentence_relations(found: list[tuple[Span, ExtractedEntity, float]]):
    """Relations of one sentence as (source, target, type, confidence).

    A verb linking two entities (subject -> object, agent -> passive subject, passive subject
    -> prepositional object) gives a relation typed by the verb's lemma (plus preposition);
    its confidence is p_source * p_target, the chance that both mentions are right. Entity
    pairs of the sentence that no verb links co-occur, with confidence
    w * p_source * p_target (w = EXTRACTION_COOCCURRENCE_WEIGHT)."""
    by_verb: dict[int, list[tuple[str, str, ExtractedEntity, float]]] = {}
    for span, entity, score in found:
        argument = _argument(span.root)
        if argument is not None:
            verb, role, prep = argument
            by_verb.setdefault(verb.i, []).append((role, prep, entity, score))

    linked: set[frozenset] = set()
    doc = found[0][0].doc if found else None
    for verb_index, arguments in by_verb.items():
        lemma = doc[verb_index].lemma_
        sources = [a for a in arguments if a[0] in {"subject", "agent"}]
        passive = [a for a in arguments if a[0] == "passive_subject"]
        objects = [a for a in arguments if a[0] == "object"]
        pairs = []
        for _, _, source, s_score in sources:
            for _, prep, target, t_score in objects + passive:
                pairs.append((source, target, prep, s_score * t_score))
        if not sources:
            for _, _, source, s_score in passive:
                for _, prep, target, t_score in objects:
                    if prep:
                        pairs.append((source, target, prep, s_score * t_score))
        for source, target, prep, confidence in pairs:
            if source.key == target.key:
                continue
            linked.add(frozenset((source.key, target.key)))
            yield source, target, slugify_relation(f"{lemma} {prep}"), confidence

    weight = settings.EXTRACTION_COOCCURRENCE_WEIGHT
    for i, (_, first, p_first) in enumerate(found):
        for _, second, p_second in found[i + 1 :]:
            pair = frozenset((first.key, second.key))
            if len(pair) == 2 and pair not in linked:
                linked.add(pair)
                yield first, second, CO_OCCURS_WITH, weight * p_first * p_second
