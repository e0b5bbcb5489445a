"""HELD-OUT multi-hop questions for evaluating the agent loop (lesson 06b, ``benchmarks/agent.py``).

**Held out: do not tune** :mod:`lateint.lessons.agent` **to these.** They were written after the
rule-based decomposer, without changing it, to measure how it does on questions it was not written
for. ``tests/test_agent_questions.py`` checks that the decomposer's code shares none of their
phrasings. If you extend the decomposer, write new held-out questions before you measure it again.

Two sets, each a :class:`~lateint.data.BeirDataset` whose qrels name the two documents a
question needs:

* :func:`paraphrase_dataset`: the 30 documents of :func:`~lateint.lessons.failures.multihop_dataset`
  (ten people, one fact per document) and 20 questions in ten other phrasings, some asking for
  relation pairs the original template never used ("Where does the owner of the green canoe
  live?"). Same corpus, so the same vocabulary traps.
* :func:`bridge_dataset`: a separate corpus of 10 two-document chains in free prose (a kettle and
  its maker, the maker's headquarters; a novel and its author, the author's birthplace...) and one
  question per chain. Nothing was planted in it: no document was written to attract a question's
  words or to avoid them, so a single search may find both documents, and any gain of the loop is
  not built in.
"""

from __future__ import annotations

from ..data import BeirDataset
from .failures import multihop_dataset
from .probe_texts import PEOPLE

__all__ = ["PARAPHRASE_TEMPLATES", "BRIDGE_CHAINS", "paraphrase_dataset", "bridge_dataset"]

# (template id, question with {name}'s slots filled from PEOPLE: {thing}, {instrument}, {town},
#  the two facts it needs, in the order a reader would look them up).
PARAPHRASE_TEMPLATES = [
    ("owner-home", "Where does the owner of the {thing} live?", ("owns", "lives")),
    ("whoever-owns", "What instrument is played by whoever owns the {thing}?", ("owns", "plays")),
    ("player-town", "The {instrument} player lives in which town?", ("plays", "lives")),
    ("home-to", "Which city is home to the person that plays the {instrument}?", ("plays", "lives")),
    ("has-the", "Whoever has the {thing}: what do they play?", ("owns", "plays")),
    ("who-owns-live", "In which city does the person who owns the {thing} live?", ("owns", "lives")),
    ("who-lives-own", "What does the person who lives in {town} own?", ("lives", "owns")),
    ("resident-plays", "Someone lives in {town}. Which instrument do they play?", ("lives", "plays")),
    ("possessive", "Tell me the home town of the {thing}'s owner.", ("owns", "lives")),
    ("belongs-to", "Which instrument belongs to the one who lives in {town}?", ("lives", "plays")),
]

# (chain id, first document, second document, question needing both).
BRIDGE_CHAINS = [
    ("kettle",
     "The Zephyr kettle is made by Holmvik, a Swedish maker of small kitchen appliances.",
     "Holmvik was founded in 1961 and has its headquarters in Malmö.",
     "In which city is the maker of the Zephyr kettle based?"),
    ("novel",
     "The novel The Salt Road was written by Agnes Varga and published in 2004.",
     "Agnes Varga was born in Szeged and studied law before she turned to fiction.",
     "Where was the author of The Salt Road born?"),
    ("bridge",
     "The Kestrel footbridge was designed by the engineer Tobias Lund.",
     "Tobias Lund studied civil engineering at the technical university in Delft.",
     "Where did the engineer who designed the Kestrel footbridge study?"),
    ("song",
     "The song Paper Lanterns is performed by the folk band Northgate.",
     "Northgate formed in Leeds in 2009 and has released four albums since.",
     "In what year did the band behind Paper Lanterns form?"),
    ("comet",
     "Comet Varro-2 was discovered in 2017 by the astronomer Hana Okafor.",
     "Hana Okafor works at the observatory on La Palma, in the Canary Islands.",
     "At which observatory does the astronomer who discovered comet Varro-2 work?"),
    ("school",
     "The head teacher of Clearwater Academy is Daniel Roos.",
     "Daniel Roos coaches the regional chess team on Saturday mornings.",
     "What does the head teacher of Clearwater Academy coach?"),
    ("painting",
     "The painting Harbour at Dusk hangs in the Ostrava Museum of Art.",
     "The Ostrava Museum of Art is open every day except Monday.",
     "On which day is the museum that shows Harbour at Dusk closed?"),
    ("ship",
     "The research vessel Aurora is commanded by Captain Ilse Brandt.",
     "Ilse Brandt grew up on a farm near Aarhus.",
     "Near which city did the captain of the Aurora grow up?"),
    ("recipe",
     "The nettle soup recipe in the club's cookbook came from Rosa Mendes.",
     "Rosa Mendes sells vegetables and herbs at the Saturday market.",
     "What does the person who gave the club its nettle soup recipe sell?"),
    ("bakery",
     "The Larch Street bakery is owned by Yusuf Demir.",
     "Yusuf Demir learned to bake in his uncle's shop in Izmir.",
     "Where did the owner of the Larch Street bakery learn to bake?"),
]


def paraphrase_dataset() -> BeirDataset:
    """20 held-out questions over the 30 documents of ``multihop_dataset()``: each of the ten
    templates of :data:`PARAPHRASE_TEMPLATES`, asked about two people (person ``i`` and ``i + 5``).

    Query ids are ``"<template id>/<name>"`` (lower case); doc ids as in ``multihop_dataset()``.
    """
    corpus = multihop_dataset().corpus
    queries, qrels = {}, {}
    for t, (template_id, template, facts) in enumerate(PARAPHRASE_TEMPLATES):
        for person in (PEOPLE[t], PEOPLE[(t + 5) % len(PEOPLE)]):
            name, thing, instrument, town = person[:4]
            qid = f"{template_id}/{name.lower()}"
            queries[qid] = template.format(thing=thing, instrument=instrument, town=town)
            qrels[qid] = {f"{name.lower()}-{fact}": 1 for fact in facts}
    return BeirDataset("multihop-paraphrases (held out)", dict(corpus), queries, qrels)


def bridge_dataset() -> BeirDataset:
    """10 held-out questions over the 20 documents of :data:`BRIDGE_CHAINS`, one per chain.

    Doc ids are ``"<chain>-1"`` / ``"<chain>-2"``; query ids are the chain ids.
    """
    corpus, queries, qrels = {}, {}, {}
    for chain, first, second, question in BRIDGE_CHAINS:
        corpus[f"{chain}-1"] = {"title": "", "text": first}
        corpus[f"{chain}-2"] = {"title": "", "text": second}
        queries[chain] = question
        qrels[chain] = {f"{chain}-1": 1, f"{chain}-2": 1}
    return BeirDataset("bridges (held out)", corpus, queries, qrels)
