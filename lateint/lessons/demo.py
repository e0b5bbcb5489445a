"""A tiny hand-written corpus for the first lessons, and a needle-in-a-haystack builder.

`demo_corpus()` returns 36 short documents on everyday topics (cooking, astronomy,
sports, history, programming, biology, geography, music), 7 queries with graded
relevance judgements, and one planted "needle": a made-up, very specific fact that
exactly one document holds and one query asks for. Two queries are traps on purpose:
"q-hottest" has a near miss (Mercury is the *closest* planet, Venus the hottest), and
"q-plants" shares almost no words with its answer (photosynthesis), so BM25 misses it
while a model that knows meaning can find it.

`needle_haystack()` hides a sentence among unrelated filler sentences. Lesson 01 uses
it to show how a single pooled vector forgets the needle as the document grows, while
token-level (late interaction) scores keep finding it.

All text here was written for this course.
"""

from __future__ import annotations

import random

from ..data import BeirDataset

NEEDLE = "The lighthouse keeper on Skellig Rock stores the spare lens in a blue tin under the third stair."
NEEDLE_QUERY = "Where does the Skellig Rock lighthouse keeper keep the spare lens?"
NEEDLE_DOC_ID = "needle"

# (doc id, text). Ids name the topic so lesson output is easy to read.
_DOCS = [
    (
        "cooking-yeast",
        "Bread dough rises because yeast eats the sugars in flour and releases carbon dioxide. The gas is trapped by gluten, which stretches like a balloon.",
    ),
    (
        "cooking-sourdough",
        "A sourdough starter is a mix of flour and water kept alive with wild yeast and bacteria. Bakers feed it daily and use a spoonful to leaven each loaf.",
    ),
    (
        "cooking-pasta",
        "Salt the pasta water generously and wait for a rolling boil. Drain the pasta a minute early and finish it in the sauce.",
    ),
    (
        "cooking-onions",
        "Caramelising onions takes patience: cook them slowly over low heat for forty minutes until they turn deep brown and sweet.",
    ),
    (
        "cooking-knife",
        "A sharp knife is safer than a dull one, because it needs less force and is less likely to slip off a tomato skin.",
    ),
    (
        "astro-venus",
        "Venus is the hottest planet in the solar system. Its thick carbon dioxide atmosphere traps heat, so the surface stays above 450 degrees Celsius.",
    ),
    (
        "astro-mercury",
        "Mercury is the planet closest to the Sun. It has almost no atmosphere, so its nights are freezing even though its days are scorching.",
    ),
    (
        "astro-saturn",
        "Saturn's rings are made of countless chunks of ice and rock, some as small as grains of sand and others as large as houses.",
    ),
    (
        "astro-moon",
        "The Moon always shows the same face to Earth because its rotation is locked to its orbit, a state called tidal locking.",
    ),
    (
        "astro-comet",
        "A comet grows a glowing tail when it nears the Sun: the heat turns its ice to gas, and the solar wind pushes the gas away.",
    ),
    (
        "sports-marathon",
        "A marathon is 42.195 kilometres long. The odd distance dates from the 1908 London Olympics, where the course ended in front of the royal box.",
    ),
    (
        "sports-offside",
        "In football, a player is offside if they are nearer the opponents' goal line than both the ball and the second-last defender when the ball is played to them.",
    ),
    (
        "sports-tennis",
        "Tennis scoring goes love, fifteen, thirty, forty and game; at forty all, a player must win two points in a row.",
    ),
    (
        "sports-chess",
        "In chess, castling moves the king two squares towards a rook and jumps the rook over it, in a single turn.",
    ),
    (
        "sports-swimming",
        "Competitive swimmers shave their bodies before big races to reduce drag in the water by a small but measurable amount.",
    ),
    (
        "history-augustus",
        "Augustus became the first Roman emperor in 27 BC, after defeating Mark Antony and Cleopatra at the battle of Actium.",
    ),
    (
        "history-printing",
        "Johannes Gutenberg's printing press, built around 1440, used movable metal type and made books far cheaper to produce.",
    ),
    (
        "history-wall",
        "The Berlin Wall fell on 9 November 1989, when East German authorities unexpectedly opened the border crossings.",
    ),
    (
        "history-pyramids",
        "The Great Pyramid of Giza was built for the pharaoh Khufu around 2560 BC and was the tallest building on Earth for almost four thousand years.",
    ),
    (
        "history-silk",
        "The Silk Road was a web of trade routes linking China to the Mediterranean, carrying silk, spices, paper and ideas.",
    ),
    (
        "prog-python-list",
        "In Python, my_list.reverse() reverses a list in place, while my_list[::-1] returns a reversed copy.",
    ),
    (
        "prog-git",
        "git commit records a snapshot of the staged changes; git push sends your commits to a remote repository.",
    ),
    (
        "prog-recursion",
        "A recursive function calls itself on a smaller input and needs a base case, or it will recurse until the stack overflows.",
    ),
    (
        "prog-hash",
        "A hash table finds a value by key in constant time on average by turning the key into an index with a hash function.",
    ),
    (
        "prog-tests",
        "Unit tests check one small piece of code in isolation, so a failing test points straight at the broken function.",
    ),
    (
        "bio-photosynthesis",
        "Photosynthesis lets green leaves capture light energy and store it as glucose, made from carbon dioxide and water, releasing oxygen.",
    ),
    (
        "bio-dna",
        "DNA is a double helix of two strands held together by base pairs: adenine with thymine and cytosine with guanine.",
    ),
    (
        "bio-octopus",
        "An octopus has three hearts and blue, copper-based blood; two hearts pump blood through the gills and one through the body.",
    ),
    (
        "bio-tardigrade",
        "Tardigrades, also called water bears, can survive being dried out for years and revive when they get wet again.",
    ),
    (
        "bio-migration",
        "Arctic terns migrate from the Arctic to the Antarctic and back every year, the longest migration of any animal.",
    ),
    (
        "geo-nile",
        "The Nile flows north through eleven countries and empties into the Mediterranean Sea through a wide delta in Egypt.",
    ),
    (
        "geo-everest",
        "Mount Everest grows by a few millimetres each year as the Indian plate keeps pushing into the Eurasian plate.",
    ),
    ("music-piano", "A standard piano has 88 keys: 52 white and 36 black, covering a little more than seven octaves."),
    (
        "music-orchestra",
        "Before a concert the orchestra tunes to an A played by the oboe, whose steady tone is easy for everyone to hear.",
    ),
    (
        "sea-lighthouse",
        "Old lighthouses burned whale oil or paraffin, and keepers trimmed the wicks through the night so the light never went out.",
    ),
    (NEEDLE_DOC_ID, NEEDLE + " Visitors are not allowed to climb the tower."),
]

# (query id, text, {doc id: grade}); grade 2 = answers the query, 1 = related, useful.
_QUERIES = [
    ("q-needle", NEEDLE_QUERY, {NEEDLE_DOC_ID: 2}),
    ("q-bread", "Why does bread dough rise?", {"cooking-yeast": 2, "cooking-sourdough": 1}),
    ("q-hottest", "Which planet is the hottest?", {"astro-venus": 2}),
    ("q-marathon", "How long is a marathon?", {"sports-marathon": 2}),
    ("q-reverse", "How do I reverse a list in Python?", {"prog-python-list": 2}),
    ("q-plants", "How do plants turn sunlight into food?", {"bio-photosynthesis": 2}),
    ("q-emperor", "Who was the first emperor of Rome?", {"history-augustus": 2}),
]


def demo_corpus() -> BeirDataset:
    """The demo dataset: 36 docs, 7 queries, qrels; a fresh copy on every call."""
    return BeirDataset(
        name="demo",
        corpus={did: {"title": "", "text": text} for did, text in _DOCS},
        queries={qid: text for qid, text, _ in _QUERIES},
        qrels={qid: dict(rels) for qid, _, rels in _QUERIES},
        split="test",
    )


# Unrelated everyday sentences to pad a haystack with (none mentions the needle's topic).
FILLER_SENTENCES = [
    "The bus to the city centre leaves every twenty minutes on weekdays.",
    "Our neighbour planted tomatoes along the south-facing fence this spring.",
    "The library closes early on the first Monday of each month.",
    "A light rain fell on the market square for most of the afternoon.",
    "She keeps her bicycle chain clean with an old toothbrush and some oil.",
    "The bakery on the corner sells out of croissants before nine o'clock.",
    "Most houseplants prefer to dry out a little between waterings.",
    "The school choir rehearses in the gym on Thursday evenings.",
    "He found an old postcard tucked inside a second-hand novel.",
    "The train was delayed by a fallen branch near the river bridge.",
    "Fresh basil wilts quickly if it is kept in the fridge.",
    "The museum's new wing displays pottery from several centuries.",
    "A group of students painted a mural on the side of the sports hall.",
    "The ferry timetable changes when the summer season begins.",
    "Our cat spends every sunny morning asleep on the windowsill.",
    "The town council voted to add more benches to the park.",
    "He learned to juggle three oranges during a long winter holiday.",
    "The coffee machine in the office needs descaling every few weeks.",
    "Runners gathered at the starting line long before the race began.",
    "The orchard produced more apples this year than it had in a decade.",
    "A small dog barked at every cyclist who passed the gate.",
    "The recipe calls for two eggs, a cup of milk and a pinch of salt.",
    "She repainted the kitchen chairs a cheerful shade of yellow.",
    "The city installed new streetlights along the canal path.",
    "Children built a snowman with a carrot nose in the front garden.",
    "The radio played old jazz records late into the night.",
    "Farmers brought honey, cheese and bread to the Saturday market.",
    "The hiking trail climbs steeply for the first two kilometres.",
    "He always forgets where he left his reading glasses.",
    "The printer on the second floor has been out of paper since Tuesday.",
    "A flock of geese flew south over the fields in a long V.",
    "The cinema shows a classic film every Sunday afternoon.",
    "Her grandmother knits scarves for everyone in the family each winter.",
    "The pharmacy moved to a larger shop across the street.",
    "Volunteers cleared litter from the beach after the storm.",
    "The violin teacher asks students to practise scales every day.",
    "Traffic slowed to a crawl as the football crowd left the stadium.",
    "The hotel breakfast includes pancakes, fruit and strong coffee.",
    "A new bicycle lane now runs all the way to the university.",
    "The garden centre has a sale on rose bushes this week.",
    "He writes his shopping list on the back of an envelope.",
    "The evening news reported a quiet day on the stock market.",
    "Pigeons gathered around a man eating a sandwich on a bench.",
    "The swimming pool reopens after repairs to its heating system.",
    "She prefers green tea in the morning and mint tea at night.",
    "The old clock in the hallway runs five minutes fast.",
    "Students queued outside the exam hall with nervous smiles.",
    "The ice cream van plays the same tune on every street.",
    "A carpenter fixed the squeaky hinge on the garden gate.",
    "The wind turned the pages of a newspaper left on a cafe table.",
    "Tickets for the concert sold out within an hour.",
    "The dentist recommends replacing a toothbrush every three months.",
    "Snow closed the mountain pass for most of January.",
    "The chess club meets in the back room of the community centre.",
    "He planted sunflowers that grew taller than the garden shed.",
    "The post office queue stretched out of the door at lunchtime.",
    "A street musician played the accordion outside the station.",
    "The soup tasted better on the second day.",
    "Her laptop battery lasts about six hours on a full charge.",
    "The farmer repaired a stone wall that sheep had knocked down.",
]


def _filler_stream(sentences: list[str], n: int, seed: int) -> list[str]:
    """n sentences: shuffled passes over `sentences`, repeated as often as needed.

    The first n of the stream do not depend on how long the stream is, so a haystack
    with more filler always extends one with less.
    """
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        one_pass = list(sentences)
        rng.shuffle(one_pass)
        out.extend(one_pass)
    return out[:n]


def needle_haystack(
    needle: str,
    filler_sentences: list[str] | None = None,
    n_filler: int = 10,
    seed: int = 0,
    position: str | float = "middle",
) -> str:
    """A document: `needle` among `n_filler` unrelated sentences, joined by spaces.

    filler_sentences: the pool to draw from (default FILLER_SENTENCES); when n_filler
                      is larger than the pool, the pool is reused in new shuffled passes
    seed:             the same arguments always give the same text
    position:         "start", "middle" or "end", or a fraction in [0, 1] of the filler
                      that comes before the needle

    >>> needle_haystack("The key is under the mat.", n_filler=2, position="end")  # doctest: +SKIP
    'Fresh basil wilts quickly ... The key is under the mat.'
    """
    if not isinstance(needle, str) or not needle.strip():
        raise ValueError(f"needle must be a non-empty string, got {needle!r}")
    if not isinstance(n_filler, int) or isinstance(n_filler, bool) or n_filler < 0:
        raise ValueError(f"n_filler must be an int >= 0, got {n_filler!r}")
    pool = FILLER_SENTENCES if filler_sentences is None else filler_sentences
    if isinstance(pool, str):
        raise TypeError("filler_sentences must be a list of sentences, not one string")
    if n_filler > 0 and not pool:
        raise ValueError("filler_sentences is empty; pass some sentences or use the default (None)")
    for sentence in pool:
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f"every filler sentence must be a non-empty string, got {sentence!r}")
        if needle.strip() in sentence:
            raise ValueError(f"a filler sentence already contains the needle: {sentence!r}")

    if position in ("start", "middle", "end"):
        n_before = {"start": 0, "middle": n_filler // 2, "end": n_filler}[position]
    elif isinstance(position, (int, float)) and not isinstance(position, bool) and 0 <= position <= 1:
        n_before = round(position * n_filler)
    else:
        raise ValueError(f"position must be 'start', 'middle', 'end' or a number in [0, 1], got {position!r}")

    filler = _filler_stream(list(pool), n_filler, seed)
    return " ".join(filler[:n_before] + [needle.strip()] + filler[n_before:])
