"""agent_questions.py: the held-out multi-hop questions, and that the decomposer was not fitted to them."""
import inspect
import re

import lateint.lessons.agent as agent
from lateint.lessons.agent_questions import BRIDGE_CHAINS, PARAPHRASE_TEMPLATES, bridge_dataset, paraphrase_dataset
from lateint.lessons.failures import multihop_dataset


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def trigrams(text):
    w = words(text)
    return {" ".join(w[i:i + 3]) for i in range(len(w) - 2)}


def test_held_out_sets_are_well_formed_and_new():
    template = multihop_dataset()
    para, bridges = paraphrase_dataset(), bridge_dataset()
    assert len(para.queries) == 2 * len(PARAPHRASE_TEMPLATES) == 20 and para.corpus == template.corpus
    assert len(bridges.queries) == len(BRIDGE_CHAINS) == 10 and len(bridges.corpus) == 20
    for ds in (para, bridges):
        assert all(len(r) == 2 for r in ds.qrels.values())  # every question needs two documents
        assert not set(ds.queries.values()) & set(template.queries.values())
        assert len(set(ds.queries.values())) == len(ds.queries)
    # a paraphrase asks about the person its qrels name: "<template>/<name>" -> "<name>-<fact>"
    for qid, rels in para.qrels.items():
        assert {d.split("-")[0] for d in rels} == {qid.split("/")[1]}


def test_the_decomposer_has_none_of_the_held_out_phrasings():
    source = inspect.getsource(agent)
    assert not re.search(r"import .*agent_questions|from \.agent_questions", source)
    known = set().union(*(trigrams(q) for q in multihop_dataset().queries.values()))
    text = f" {' '.join(words(source))} "
    for ds in (paraphrase_dataset(), bridge_dataset()):
        for question in ds.queries.values():
            borrowed = [g for g in trigrams(question) - known if f" {g} " in text]
            assert not borrowed, f"agent.py contains held-out phrasing {borrowed} of {question!r}"
    # the rules' vocabulary as it was when the held-out questions were written; a new word here
    # means the rules changed: write new held-out questions before measuring them again
    vocabulary = set()
    for pattern in (agent._NESTED.pattern, agent._NAME.pattern):
        vocabulary |= {w for w in words(re.sub(r"\\[A-Za-z]", " ", pattern)) if len(w) > 2}
    assert vocabulary == {"the", "person", "one", "who", "head", "clause", "verb"}
